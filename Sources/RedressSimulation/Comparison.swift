import Foundation
import RedressIR
import RedressEvents
import RedressEngine

/// Two replays of the same events — the rule set under review and a baseline — side by side:
/// the cost of both and the difference, in total and per rule. Both must price in one currency.
public struct Comparison: Sendable {
    public struct Row: Sendable, Codable, Equatable {
        public var rule: String
        public var baselineDecisions: Int
        public var decisions: Int
        public var baselineCost: Int64
        public var cost: Int64
        public var delta: Int64

        /// `serve`'s shadow report builds its rows live (the active set as the baseline).
        public init(rule: String, baselineDecisions: Int, decisions: Int, baselineCost: Int64, cost: Int64) {
            self.rule = rule
            self.baselineDecisions = baselineDecisions
            self.decisions = decisions
            self.baselineCost = baselineCost
            self.cost = cost
            // Saturating: a difference past Int64 is shown at the bound rather than trapping.
            let (difference, overflow) = cost.subtractingReportingOverflow(baselineCost)
            delta = overflow ? (cost < baselineCost ? -.max : .max) : difference
        }

        /// The order of the rows: the largest change first, then by name.
        public static func largerChangeFirst(_ a: Row, _ b: Row) -> Bool {
            (abs(b.delta), a.rule) < (abs(a.delta), b.rule)
        }
    }

    public let current: Report
    public let baseline: Report

    public init(current: Report, baseline: Report) {
        self.current = current
        self.baseline = baseline
    }

    /// One row per rule of either rule set, by the size of the change (largest first).
    public var rows: [Row] {
        let names = Set(current.rules.map(\.key) + baseline.rules.map(\.key))
        return names.map { name in
            let now = current.rules.first { $0.key == name }, before = baseline.rules.first { $0.key == name }
            return Row(rule: name, baselineDecisions: before?.decisions ?? 0, decisions: now?.decisions ?? 0,
                       baselineCost: before?.cost ?? 0, cost: now?.cost ?? 0)
        }.sorted(by: Row.largerChangeFirst)
    }

    public var delta: Int64 { current.cost - baseline.cost }

    public func signed(_ minor: Int64) -> String { (minor > 0 ? "+" : "") + current.money(minor) }

    /// The comparison as an aligned table; with `colour`, ANSI codes around padded text (more cost
    /// red, less green, unchanged rules dim), so removing them gives exactly the uncoloured table.
    public func table(colour: Bool = false) -> String {
        let style = TableStyle(enabled: colour)
        var out = style.bold("compared with the baseline") + "\n"
        out += "  baseline cost   \(current.money(baseline.cost))   (\(baseline.decisions) decisions)\n"
        out += "  this rule set   " + style.total(current.money(current.cost)) + "   (\(current.decisions) decisions)\n"
        out += "  difference      " + style.delta(signed(delta), delta) + "\n"
        // Money neither side could price (another currency, no --rates) is outside both totals: say so.
        for (label, report) in [("baseline", baseline), ("this rule set", current)] {
            for (code, minor) in report.unconverted.sorted(by: { $0.key < $1.key }) {
                out += "  \(label) also pays \(report.money(minor, code: code)) not converted (no rate for \(code))\n"
            }
        }
        out += "\n"
        let rows = self.rows
        let width = max(4, rows.map(\.rule.count).max() ?? 0)
        out += style.bold("rule".padding(toLength: width, withPad: " ", startingAt: 0) + "   baseline          this       difference") + "\n"
        for row in rows {
            func right(_ text: String, _ size: Int) -> String { String(repeating: " ", count: max(0, size - text.count)) + text }
            let line = row.rule.padding(toLength: width, withPad: " ", startingAt: 0) + "   " + right(current.money(row.baselineCost), 12)
                + "  " + right(current.money(row.cost), 12) + "  "
            out += (row.delta == 0 ? style.dim(line + right(signed(row.delta), 14)) : line + style.delta(right(signed(row.delta), 14), row.delta)) + "\n"
        }
        return out
    }

    struct JSONComparison: Encodable {
        var version = 1
        var currency: String
        var baselineCost: String
        var baselineCostMinor: Int64
        var cost: String
        var costMinor: Int64
        var delta: String
        var deltaMinor: Int64
        var byRule: [Row]
        /// Money in other currencies without a rate, outside the totals: currency → minor units.
        var baselineUnconverted: [String: Int64]
        var unconverted: [String: Int64]
    }

    public func json() -> String {
        let value = JSONComparison(currency: current.currency.code, baselineCost: current.money(baseline.cost), baselineCostMinor: baseline.cost,
                                   cost: current.money(current.cost), costMinor: current.cost, delta: signed(delta), deltaMinor: delta, byRule: rows,
                                   baselineUnconverted: baseline.unconverted, unconverted: current.unconverted)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self) + "\n"
    }
}
