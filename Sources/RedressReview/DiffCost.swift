import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressSimulation

/// The projected cost of the old and the new rule set over the same events, from the
/// simulator's `Comparison` (what `simulate --baseline` shows), with renamed rules on one row.
/// Money is in minor units of the catalog's currency; the texts are for reading.
public struct CostDiff: Sendable, Codable, Equatable {
    public struct Row: Sendable, Codable, Equatable {
        /// The rule's name in the new rule set (the old name for a removed rule).
        public var rule: String
        /// The old name of a renamed rule.
        public var oldName: String?
        public var oldDecisions: Int
        public var decisions: Int
        public var oldCost: String
        public var oldCostMinor: Int64
        public var cost: String
        public var costMinor: Int64
        public var delta: String
        public var deltaMinor: Int64
    }

    public var currency: String
    public var events: Int
    public var deadLetters: Int
    public var oldDecisions: Int
    public var decisions: Int
    public var oldCost: String
    public var oldCostMinor: Int64
    public var cost: String
    public var costMinor: Int64
    public var delta: String
    public var deltaMinor: Int64
    /// The change relative to the old cost, one decimal (`+12.3%`); absent when the old cost is zero.
    public var deltaPercent: String?
    /// Largest change first, then by name.
    public var byRule: [Row]

    /// `renames`: old name → new name, so a renamed rule's cost is compared with itself.
    public init(comparison: Comparison, currency: Program.Currency, renames: [String: String] = [:]) {
        let money = MoneyText(currency: currency)
        self.currency = currency.code
        events = comparison.current.events
        deadLetters = comparison.current.deadLetters
        oldDecisions = comparison.baseline.decisions
        decisions = comparison.current.decisions
        oldCostMinor = comparison.baseline.cost
        costMinor = comparison.current.cost
        deltaMinor = costMinor - oldCostMinor
        oldCost = money.plain(oldCostMinor)
        cost = money.plain(costMinor)
        delta = money.signed(deltaMinor)
        deltaPercent = CostDiff.percent(deltaMinor, of: oldCostMinor)
        // The old numbers of each row go to the rule's new name, the new numbers stay where they are.
        struct Tally { var rule: String, baselineDecisions = 0, decisions = 0, baselineCost: Int64 = 0, cost: Int64 = 0, delta: Int64 = 0 }
        var rows: [String: Tally] = [:]
        func empty(_ name: String) -> Tally { Tally(rule: name) }
        for row in comparison.rows {
            let name = renames[row.rule] ?? row.rule
            rows[name, default: empty(name)].baselineDecisions += row.baselineDecisions
            rows[name, default: empty(name)].baselineCost += row.baselineCost
            rows[row.rule, default: empty(row.rule)].decisions += row.decisions
            rows[row.rule, default: empty(row.rule)].cost += row.cost
        }
        let oldNames = Dictionary(renames.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
        for (name, row) in rows { rows[name]?.delta = row.cost - row.baselineCost }
        rows = rows.filter { $0.value.decisions != 0 || $0.value.baselineDecisions != 0 || $0.value.cost != 0 || $0.value.baselineCost != 0 }
        byRule = rows.values.sorted { (abs($1.delta), $0.rule) < (abs($0.delta), $1.rule) }.map { row in
            Row(rule: row.rule, oldName: oldNames[row.rule], oldDecisions: row.baselineDecisions, decisions: row.decisions,
                oldCost: money.plain(row.baselineCost), oldCostMinor: row.baselineCost, cost: money.plain(row.cost), costMinor: row.cost,
                delta: money.signed(row.delta), deltaMinor: row.delta)
        }
    }

    /// Replays the same events through both programs (each read with its own program's slots).
    public static func replay(old: Program, new: Program, oldEvents: [Event], newEvents: [Event], oldDeadLetters: Int, newDeadLetters: Int,
                              renames: [String: String] = [:], rates: [String: Int64] = [:], shouldStop: () -> Bool = { false }) -> CostDiff? {
        var before = Simulation(program: old), after = Simulation(program: new)
        before.rates = rates
        after.rates = rates
        // nil as well when `shouldStop` said stop (a workbench cancelled the replay).
        guard let current = after.replay(newEvents, deadLetters: newDeadLetters, shouldStop: shouldStop),
              let baseline = before.replay(oldEvents, deadLetters: oldDeadLetters, shouldStop: shouldStop) else { return nil }
        let comparison = Comparison(current: current, baseline: baseline)
        // Costs beyond 64-bit minor units cannot be totalled exactly: no cost rather than a wrong one.
        guard !comparison.current.overflowed, !comparison.baseline.overflowed else { return nil }
        return CostDiff(comparison: comparison, currency: new.currencies[Int(new.catalog.currency)], renames: renames)
    }

    /// `+12.3%`, rounded half away from zero; exact decimal arithmetic, never floating point.
    static func percent(_ delta: Int64, of base: Int64) -> String? {
        guard base != 0 else { return nil }
        var value = Decimal(delta) * 100 / Decimal(base)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 1, .plain)
        var text = "\(rounded)"
        if !text.contains(".") { text += ".0" }
        return (delta > 0 ? "+" : "") + text + "%"
    }
}

/// Money in minor units written for people: `1,234.50 EUR`, `+5.00 EUR`, `-2.50 EUR`.
struct MoneyText {
    var currency: Program.Currency

    func plain(_ minor: Int64) -> String {
        let negative = minor < 0
        let magnitude = minor.magnitude
        var scale: UInt64 = 1
        for _ in 0..<max(0, currency.minorUnits) { scale *= 10 }
        var whole = String(magnitude / scale)
        // Thousands separators, from the right.
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole = String(whole.dropLast(3))
        }
        grouped = whole + grouped
        if currency.minorUnits > 0 {
            let fraction = String(magnitude % scale)
            grouped += "." + String(repeating: "0", count: currency.minorUnits - fraction.count) + fraction
        }
        return (negative ? "-" : "") + grouped + " " + currency.code
    }

    func signed(_ minor: Int64) -> String { (minor > 0 ? "+" : "") + plain(minor) }
}
