import Foundation
import RedressIR
import RedressEvents
import RedressEngine

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
    /// Some replay's cost did not fit in 64-bit minor units (see `Report.overflowed`).
    public var overflowed = false

    /// Replays `events` once per value; the parameter's default is replaced in the program.
    public static func run(_ simulation: Simulation, parameter: String, values: [RuntimeValue], events: [Event], deadLetters: Int) -> Sweep {
        let program = simulation.program
        let index = program.parameters.firstIndex { $0.name == parameter } ?? 0
        var points: [Point] = []
        var overflowed = false
        for value in values {
            var changed = program
            changed.parameters[index].value = value
            var run = simulation
            run.program = changed
            let report = run.replay(events, deadLetters: deadLetters)
            overflowed = overflowed || report.overflowed
            points.append(Point(value: ValueText.describe(value, program: program), decisions: report.decisions,
                                cost: report.money(report.cost), costMinor: report.cost))
        }
        var sweep = Sweep(parameter: parameter, points: points)
        sweep.overflowed = overflowed
        return sweep
    }

    /// The cost curve as an aligned table; with `colour`, ANSI codes around padded text (headings
    /// bold, costs highlighted), so removing them gives exactly the uncoloured table.
    public func table(colour: Bool = false) -> String {
        let style = TableStyle(enabled: colour)
        let width = max(parameter.count, points.map(\.value.count).max() ?? 0)
        var out = "\n" + style.bold("sweep of \(parameter)") + "\n"
            + style.bold(parameter.padding(toLength: width, withPad: " ", startingAt: 0) + "   decisions          cost") + "\n"
        for point in points {
            let count = String(point.decisions)
            let row = point.value.padding(toLength: width, withPad: " ", startingAt: 0) + "   " + String(repeating: " ", count: max(0, 9 - count.count))
                + count + "  "
            let cost = String(repeating: " ", count: max(0, 12 - point.cost.count)) + point.cost
            out += (point.costMinor == 0 ? style.dim(row + cost) : row + style.bold(cost)) + "\n"
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
