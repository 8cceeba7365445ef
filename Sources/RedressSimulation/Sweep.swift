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
        // Never stopped, so never nil.
        run(simulation, parameter: parameter, values: values, events: events, deadLetters: deadLetters, shouldStop: { false })
            ?? Sweep(parameter: parameter, points: [])
    }

    /// The same, nil when `shouldStop` said stop during one of the replays.
    public static func run(_ simulation: Simulation, parameter: String, values: [RuntimeValue], events: [Event], deadLetters: Int,
                           shouldStop: () -> Bool) -> Sweep? {
        let program = simulation.program
        let index = program.parameters.firstIndex { $0.name == parameter } ?? 0
        var points: [Point] = []
        var overflowed = false
        for value in values {
            var changed = program
            changed.parameters[index].value = value
            var run = simulation
            run.program = changed
            guard let report = run.replay(events, deadLetters: deadLetters, shouldStop: shouldStop) else { return nil }
            overflowed = overflowed || report.overflowed
            points.append(Point(value: ValueText.describe(value, program: program), decisions: report.decisions,
                                cost: report.money(report.cost), costMinor: report.cost))
        }
        var sweep = Sweep(parameter: parameter, points: points)
        sweep.overflowed = overflowed
        return sweep
    }

    /// Why `values(_:program:)` refused a sweep: the message names the parameters or the
    /// expected way of writing the value.
    public struct ValueProblem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// `NAME=V1,V2,…`: the parameter and its values, written as in rules (`2d`, `5 EUR`, `5%`, `3`).
    /// Exact: a value with more decimals than its unit keeps is refused, never rounded.
    public static func values(_ text: String, program: Program) throws(ValueProblem) -> (parameter: String, values: [RuntimeValue]) {
        guard let equals = text.firstIndex(of: "="), let parameter = program.parameters.first(where: { $0.name == String(text[..<equals]) }) else {
            throw ValueProblem(description: "--sweep takes NAME=V1,V2,… with NAME a parameter of the rule set (\(program.parameters.map(\.name).joined(separator: ", ")))")
        }
        var values: [RuntimeValue] = []
        for item in text[text.index(after: equals)...].split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let kind = parameter.value.kind
            func scaled(_ number: String, _ places: Int) -> Int64? {
                Decimal(string: number).flatMap { FixedPoint.exact($0, places: places) }
            }
            var value: RuntimeValue? = nil
            switch kind {
            case .duration: value = TimeFormat.duration(item).map { RuntimeValue(.duration, $0) }
            case .integer: value = Int64(item).map { RuntimeValue(.integer, $0) }
            case .decimal: value = scaled(item, 6).map { RuntimeValue(.decimal, $0) }
            case .percent where item.hasSuffix("%"): value = scaled(String(item.dropLast()), 4).map { RuntimeValue(.percent, $0) }
            case .money:
                let currency = program.currencies[Int(parameter.value.unit)]
                let parts = item.split(separator: " ")
                if parts.count == 2, String(parts[1]) == currency.code {
                    value = scaled(String(parts[0]), currency.minorUnits).map { RuntimeValue(.money, $0, unit: parameter.value.unit) }
                }
            default: break
            }
            guard let value else {
                throw ValueProblem(description: "--sweep \(parameter.name): `\(item)` is not a \(parameter.type) (write it as in a rule, e.g. `\(ValueText.describe(parameter.value, program: program))`)")
            }
            values.append(value)
        }
        guard !values.isEmpty else {
            throw ValueProblem(description: "--sweep \(parameter.name)= needs at least one value, e.g. \(parameter.name)=\(ValueText.describe(parameter.value, program: program))")
        }
        return (parameter.name, values)
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
