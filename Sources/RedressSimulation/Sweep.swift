import Foundation
import RedressIR
import RedressRuntime

/// One replay per value of a rule parameter: how the projected cost follows a threshold.
public struct Sweep: Sendable {
    public struct Point: Sendable, Codable, Equatable {
        public var value: String
        public var decisions: Int
        public var cost: String
        public var costMinor: Int64
    }

    public let parameter: String
    public let points: [Point]

    /// Replays `events` once per value; the parameter's default is replaced in the program.
    public static func run(_ simulation: Simulation, parameter: String, values: [RuntimeValue], events: [Event], deadLetters: Int) -> Sweep {
        let program = simulation.program
        let index = program.parameters.firstIndex { $0.name == parameter } ?? 0
        var points: [Point] = []
        for value in values {
            var changed = program
            changed.parameters[index].value = value
            var run = simulation
            run.program = changed
            let report = run.replay(events, deadLetters: deadLetters)
            points.append(Point(value: ValueText.describe(value, program: program), decisions: report.decisions,
                                cost: report.money(report.cost), costMinor: report.cost))
        }
        return Sweep(parameter: parameter, points: points)
    }

    public func table() -> String {
        let width = max(parameter.count, points.map(\.value.count).max() ?? 0)
        var out = "\nsweep of \(parameter)\n" + parameter.padding(toLength: width, withPad: " ", startingAt: 0) + "   decisions          cost\n"
        for point in points {
            let count = String(point.decisions)
            out += point.value.padding(toLength: width, withPad: " ", startingAt: 0) + "   " + String(repeating: " ", count: max(0, 9 - count.count))
                + count + "  " + String(repeating: " ", count: max(0, 12 - point.cost.count)) + point.cost + "\n"
        }
        return out
    }

    struct JSONSweep: Encodable {
        var version = 1
        var parameter: String
        var points: [Point]
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(JSONSweep(parameter: parameter, points: points))) ?? Data(), as: UTF8.self) + "\n"
    }
}
