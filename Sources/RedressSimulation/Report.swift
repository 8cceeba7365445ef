import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressSyntax

/// What a replay projects: counts and costs, broken down by rule, action, week and month.
/// Costs are in minor units of the catalog's currency; every list is in a fixed order, so the
/// same input gives the same report, byte for byte.
public struct Report: Sendable {
    public struct Line: Sendable, Codable, Equatable {
        public var key: String
        public var decisions: Int
        public var cost: Int64

        /// Counts a decision and its cost; false when the cost no longer fits in 64 bits.
        @discardableResult mutating func add(cost: Int64) -> Bool {
            decisions += 1
            return Report.accumulate(&self.cost, cost)
        }
    }

    let program: Program
    public var events = 0
    public var eventsByType: [String: Int] = [:]
    public var deadLetters = 0
    public var outOfOrder = 0
    public var decisions = 0
    public var cost: Int64 = 0
    /// Money in other currencies than the catalog's, not converted: currency → minor units.
    public var unconverted: [String: Int64] = [:]
    var byRule: [String: Line] = [:]
    var byAction: [String: Line] = [:]
    var byWeek: [String: Line] = [:]
    var byMonth: [String: Line] = [:]
    /// Cost per rule and week, for the chart of cost over time.
    var byRuleWeek: [String: [String: Int64]] = [:]
    public var heldBack: [String: Int] = [:]
    public var missing: [String: Int] = [:]
    public var pending = 0
    /// `--by`: the fields, and the cost per combination of their values.
    public var byFields: [String] = []
    var byDimension: [String: Line] = [:]
    /// Customers some rule decided for, and the ten with the most compensation.
    var customers = 0
    public internal(set) var topCustomers: [Line] = []
    /// Subjects some rule decided on, and the rules of those more than one rule decided on.
    var subjects = 0
    /// Where the outcome's key and the order's key sit in a decision's `dimensions` (after `--by`).
    var outcomeIndex: Int? = nil
    var orderIndex: Int? = nil
    /// Orders a decision was about or made for (from the triggering event's order).
    var orders = 0
    var rulesBySubject: [String: Set<String>] = [:]
    var costs: [Int64] = []
    public var budget: Int64? = nil
    /// Decisions held back, and what they would have cost, by the kind of policy (limit, cap,
    /// group, rollout, missing key).
    public var savedByPolicy: [Line] = []
    /// A decision a policy held back: the rule and its subject.
    public struct HeldBackExample: Sendable, Equatable {
        public var rule: String
        public var subject: String
    }
    /// How many decisions per policy are kept as examples.
    public static let heldBackExampleCount = 3
    /// The first decisions each policy held back, by the keys of `savedByPolicy` (the workbench
    /// shows them; the table, JSON and CSV do not).
    public var heldBackExamples: [String: [HeldBackExample]] = [:]
    /// Decisions of seasonal rules outside their `active … until …` dates, and what they would
    /// have cost, by rule. Not money saved by a policy: the rule is simply not in force then.
    public var outOfSeason: [Line] = []
    /// `--outcome`: the last value of the outcome field per key, and the keys each rule compensated.
    public var outcomeField: String? = nil
    var outcomes: [String: RuntimeValue] = [:]
    var compensatedKeys: [String: Set<String>] = [:]

    mutating func recordOutcome(key: String, value: RuntimeValue) { outcomes[key] = value }

    public struct OutcomeLine: Sendable, Codable, Equatable {
        public var group: String
        public var keys: Int
        public var average: String
    }

    /// The outcome's average for the keys compensated (all rules, then each rule) and for the rest.
    public var outcomeComparison: [OutcomeLine] {
        guard outcomeField != nil, !outcomes.isEmpty else { return [] }
        func average(_ keys: [String]) -> OutcomeLine? {
            let values = keys.compactMap { outcomes[$0] }
            guard let first = values.first else { return nil }
            let total = values.reduce(Int64(0)) { $0 + $1.bits }
            // Two decimals, exactly: total / count in the value's own units.
            let scale: Int64 = first.kind == .integer ? 1 : FixedPoint.scale
            let hundredths = FixedPoint.multiplyDivide(total, 100, Int64(values.count) * scale) ?? 0
            let text = ValueText.fixed(hundredths, places: 2, trim: false)
            return OutcomeLine(group: "", keys: values.count, average: text)
        }
        let all = Set(compensatedKeys.values.flatMap { $0 })
        var lines: [OutcomeLine] = []
        if var line = average(Array(all)) { line.group = "compensated"; lines.append(line) }
        if var line = average(outcomes.keys.filter { !all.contains($0) }) { line.group = "everyone else"; lines.append(line) }
        for (rule, keys) in compensatedKeys.sorted(by: { $0.key < $1.key }) {
            if var line = average(Array(keys)) { line.group = rule; lines.append(line) }
        }
        return lines
    }
    /// When the cumulative cost first went over the budget (decision time).
    public var budgetExhausted: String? = nil

    init(program: Program) {
        self.program = program
    }

    /// Adds exactly; when the sum no longer fits in 64-bit minor units it stays at the bound and
    /// the caller is told (the report then refuses to total, see `overflowed`).
    static func accumulate(_ value: inout Int64, _ amount: Int64) -> Bool {
        let (sum, overflow) = value.addingReportingOverflow(amount)
        value = overflow ? (amount > 0 ? .max : .min) : sum
        return !overflow && sum != .max && sum != .min
    }

    /// Set when some amount or total did not fit in 64-bit minor units: the report's numbers are
    /// then not exact, and `simulate` says so instead of printing them.
    public internal(set) var overflowed = false

    public var dimensions: [Line] {
        byDimension.values.map { line in
            var shown = line
            shown.key = line.key.split(separator: "\u{1F}", omittingEmptySubsequences: false).map { value in
                value.contains(",") || value.contains("\"") ? "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : String(value)
            }.joined(separator: ", ")
            return shown
        }.sorted { ($1.cost, $0.key) < ($0.cost, $1.key) }
    }

    /// Subjects decided on by more than one rule, and how often each pair of rules met.
    public var overlap: (subjects: Int, pairs: [Line]) {
        var pairs: [String: Int] = [:]
        var shared = 0
        for rules in rulesBySubject.values where rules.count > 1 {
            shared += 1
            let sorted = rules.sorted()
            for i in sorted.indices { for j in sorted.indices where j > i { pairs["\(sorted[i]) + \(sorted[j])", default: 0] += 1 } }
        }
        return (shared, pairs.map { Line(key: $0.key, decisions: $0.value, cost: 0) }.sorted { ($1.decisions, $0.key) < ($0.decisions, $1.key) })
    }

    /// Decisions by cost, in buckets of the catalog currency's major unit (upper bound included).
    public var distribution: [Line] {
        var unit: Int64 = 1
        for _ in 0..<currency.minorUnits { unit *= 10 }
        let edges: [Int64] = [0, 1, 2, 5, 10, 20, 50, 100]
        var lines: [Line] = []
        let free = costs.filter { $0 <= 0 }
        if !free.isEmpty { lines.append(Line(key: "free", decisions: free.count, cost: 0)) }
        for (index, low) in edges.enumerated() {
            let high = index + 1 < edges.count ? edges[index + 1] : nil
            let bucket = costs.filter { cost in cost > low * unit && (high.map { cost <= $0 * unit } ?? true) }
            guard !bucket.isEmpty else { continue }
            let label = high.map { "\(low) – \($0) \(currency.code)" } ?? "over \(low) \(currency.code)"
            lines.append(Line(key: label, decisions: bucket.count, cost: bucket.reduce(0, +)))
        }
        return lines
    }

    mutating func finish(_ engine: Engine) {
        let statistics = engine.statistics
        events = statistics.events
        eventsByType = statistics.eventsByType
        // Out-of-season decisions are not held back by a policy: they are `outOfSeason`.
        heldBack = statistics.heldBack.filter { !$0.key.hasSuffix("|" + Engine.reason(.inactive)) }
        missing = engine.state.misses
        pending = engine.state.pending.count
    }

    /// ISO 8601 week of a time, `2026-W47`.
    static func week(_ ms: Int64) -> String {
        let days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let weekday = ((days % 7) + 10) % 7  // Monday = 0 (1970-01-01 was a Thursday)
        let thursday = days - weekday + 3
        let (year, _, _) = TimeFormat.civil(fromDays: thursday)
        let first = TimeFormat.daysFromCivil(year, 1, 1)
        let week = (thursday - first) / 7 + 1
        return "\(year)-W\(week < 10 ? "0" : "")\(week)"
    }

    public var rules: [Line] { byRule.values.sorted { ($1.cost, $0.key) < ($0.cost, $1.key) } }
    public var actions: [Line] { byAction.values.sorted { ($1.cost, $0.key) < ($0.cost, $1.key) } }
    public var weeks: [Line] { byWeek.values.sorted { $0.key < $1.key } }
    public var months: [Line] { byMonth.values.sorted { $0.key < $1.key } }
    public var customersAffected: Int { customers }
    public var subjectsAffected: Int { subjects }
    /// Distinct orders of the triggering events of decisions (nil without orders in the schema).
    public var ordersAffected: Int? { orderIndex == nil ? nil : orders }

    /// An amount in minor units of the currency `code` (one of the program's), as text.
    public func money(_ minor: Int64, code: String) -> String {
        ValueText.describe(RuntimeValue(.money, minor, unit: Int32(program.currencies.firstIndex { $0.code == code } ?? 0)), program: program)
    }

    public var currency: Program.Currency { program.currencies[Int(program.catalog.currency)] }

    public func money(_ minor: Int64) -> String {
        ValueText.describe(RuntimeValue(.money, minor, unit: program.catalog.currency), program: program)
    }

    // MARK: - Rendering

    /// An aligned table for the terminal. With `colour`, ANSI escape codes are added around text
    /// that is already padded (headings bold, totals highlighted, empty rows dim), so the columns
    /// line up the same and removing the codes gives exactly the uncoloured table.
    public func table(colour: Bool = false) -> String {
        let style = TableStyle(enabled: colour)
        var out = ""
        out += "events read       \(events)" + (deadLetters > 0 ? style.red(" (\(deadLetters) bad lines)") : "")
            + (outOfOrder > 0 ? style.yellow(" (\(outOfOrder) out of time order, replayed sorted)") : "") + "\n"
        for (type, count) in eventsByType.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
            out += style.dim("  \(type.padding(toLength: 24, withPad: " ", startingAt: 0)) \(count)") + "\n"
        }
        out += "decisions         " + style.bold("\(decisions)") + "\n"
        out += "customers         \(customersAffected)\n"
        if let ordersAffected { out += "orders            \(ordersAffected)\n" }
        out += "subjects          \(subjectsAffected)\n"
        out += "projected cost    " + style.total(money(cost)) + "\n"
        for (code, minor) in unconverted.sorted(by: { $0.key < $1.key }) {
            out += "  not converted   \(money(minor, code: code))\n"
        }
        func section(_ title: String, _ lines: [Line]) {
            guard !lines.isEmpty else { return }
            // Keys come from the events (`--by` values, customer ids): shown, never obeyed.
            let lines = lines.map { Line(key: TerminalText.visible($0.key), decisions: $0.decisions, cost: $0.cost) }
            let width = max(title.count, lines.map(\.key.count).max() ?? 0)
            out += "\n" + style.bold(title.padding(toLength: width, withPad: " ", startingAt: 0) + "   decisions         cost") + "\n"
            for line in lines {
                let count = String(line.decisions)
                let price = money(line.cost)
                let row = line.key.padding(toLength: width, withPad: " ", startingAt: 0) + "   "
                    + String(repeating: " ", count: max(0, 9 - count.count)) + count + "  "
                let cost = String(repeating: " ", count: max(0, 11 - price.count)) + price
                // Rows that cost nothing are dim; the cost column stands out on the others.
                out += (line.cost == 0 ? style.dim(row + cost) : row + style.bold(cost)) + "\n"
            }
        }
        if let budget {
            out += "budget            \(money(budget)): " + (budgetExhausted.map { style.red("runs out at \($0)") } ?? style.green("enough")) + "\n"
        }
        section("rule", rules)
        section("action", actions)
        if !byFields.isEmpty { section(byFields.joined(separator: ", "), dimensions) }
        section("month", months)
        section("week", weeks)
        section("held back by", savedByPolicy)
        section("out of season (not active)", outOfSeason)
        if let outcomeField, !outcomeComparison.isEmpty {
            let width = max(outcomeField.count, outcomeComparison.map(\.group.count).max() ?? 0)
            out += "\n" + style.bold(outcomeField.padding(toLength: width + 2, withPad: " ", startingAt: 0) + "   average   count") + "\n"
            for line in outcomeComparison {
                // Rules are listed under the two totals, indented.
                let group = line.group == "compensated" || line.group == "everyone else" ? line.group : "  " + line.group
                out += group.padding(toLength: width + 2, withPad: " ", startingAt: 0)
                    + "   " + line.average.padding(toLength: 7, withPad: " ", startingAt: 0) + "   \(line.keys)\n"
            }
        }
        section("top customer", topCustomers)
        section("decision cost", distribution)
        let (shared, pairs) = overlap
        if shared > 0 {
            out += "\n" + style.bold("\(shared) subject\(shared == 1 ? "" : "s") decided on by more than one rule") + "\n"
            for pair in pairs.prefix(10) { out += "  \(pair.key): \(pair.decisions)\n" }
        }
        if !heldBack.isEmpty {
            out += "\n" + style.bold("held back by policies") + "\n"
            for (key, count) in heldBack.sorted(by: { $0.key < $1.key }) { out += "  \(key.replacingOccurrences(of: "|", with: ": ")) \(count)\n" }
        }
        if !missing.isEmpty {
            out += "\n" + style.bold("conditions left undecided by missing data") + "\n"
            for (key, count) in missing.sorted(by: { $0.key < $1.key }) { out += "  \(key.replacingOccurrences(of: "|", with: ": ")) \(count)\n" }
        }
        if pending > 0 { out += "\n" + style.dim("\(pending) absence deadline\(pending == 1 ? "" : "s") after the end of the data (not counted)") + "\n" }
        return out
    }

    struct JSONReport: Encodable {
        var version = 1
        var currency: String
        var events: Int
        var eventsByType: [String: Int]
        var deadLetters: Int
        var outOfOrder: Int
        var decisions: Int
        var customers: Int
        var orders: Int?
        var subjects: Int
        var cost: String
        var costMinor: Int64
        var unconverted: [String: Int64]
        var byRule: [Line]
        var byAction: [Line]
        var byMonth: [Line]
        var byWeek: [Line]
        var heldBack: [String: Int]
        var missing: [String: Int]
        var pendingDeadlines: Int
        var byFields: [String]
        var byField: [Line]
        var topCustomers: [Line]
        var distribution: [Line]
        var overlapSubjects: Int
        var overlapPairs: [Line]
        var budget: String?
        var budgetExhaustedAt: String?
        var savedByPolicy: [Line]
        var outOfSeason: [Line]
        var outcome: String?
        var outcomeComparison: [OutcomeLine]
    }

    /// The breakdowns as CSV, one line per row of every section: `section,key,decisions,cost,cost_minor`
    /// (RFC 4180 quoting), for spreadsheets.
    public func csv() -> String {
        func field(_ text: String) -> String {
            // By scalar: `\r\n` is one Character, equal to neither `\r` nor `\n`.
            text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var out = "section,key,decisions,cost,cost_minor\r\n"
        out += "total,all,\(decisions),\(field(money(cost))),\(cost)\r\n"
        let sections: [(String, [Line])] = [
            ("rule", rules), ("action", actions), ("month", months), ("week", weeks),
            (byFields.isEmpty ? "by" : "by " + byFields.joined(separator: "+"), dimensions), ("top customer", topCustomers),
            ("decision cost", distribution), ("held back by", savedByPolicy), ("out of season", outOfSeason),
        ]
        for (section, lines) in sections {
            for line in lines {
                out += "\(field(section)),\(field(line.key)),\(line.decisions),\(field(money(line.cost))),\(line.cost)\r\n"
            }
        }
        return out
    }

    /// The report as JSON (schema in docs/simulation.md); keys sorted, lists in fixed order.
    public func json() -> String {
        let report = JSONReport(
            currency: currency.code, events: events, eventsByType: eventsByType, deadLetters: deadLetters, outOfOrder: outOfOrder,
            decisions: decisions, customers: customersAffected, orders: ordersAffected, subjects: subjectsAffected, cost: money(cost), costMinor: cost,
            unconverted: unconverted, byRule: rules, byAction: actions, byMonth: months, byWeek: weeks, heldBack: heldBack,
            missing: missing, pendingDeadlines: pending, byFields: byFields, byField: dimensions, topCustomers: topCustomers,
            distribution: distribution, overlapSubjects: overlap.subjects, overlapPairs: overlap.pairs,
            budget: budget.map(money), budgetExhaustedAt: budgetExhausted, savedByPolicy: savedByPolicy,
            outOfSeason: outOfSeason, outcome: outcomeField, outcomeComparison: outcomeComparison)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(report)) ?? Data(), as: UTF8.self) + "\n"
    }
}

/// ANSI styles for the terminal tables; each wraps text that is already padded, and does nothing
/// when colour is off.
struct TableStyle: Sendable {
    var enabled: Bool
    func wrap(_ text: String, _ code: String) -> String { enabled && !text.isEmpty ? "\u{1B}[\(code)m" + text + "\u{1B}[0m" : text }
    func bold(_ text: String) -> String { wrap(text, "1") }
    func dim(_ text: String) -> String { wrap(text, "2") }
    func red(_ text: String) -> String { wrap(text, "31") }
    func green(_ text: String) -> String { wrap(text, "32") }
    func yellow(_ text: String) -> String { wrap(text, "33") }
    /// A total: bold cyan.
    func total(_ text: String) -> String { wrap(text, "1;36") }
    /// A change in cost: more is red, less is green, none is dim.
    func delta(_ text: String, _ minor: Int64) -> String { minor > 0 ? red(text) : minor < 0 ? green(text) : dim(text) }
}

/// The progress bar `simulate` draws on standard error while a long file streams through (only on
/// a terminal): `simulate [█████████░░░░░░░░░░░]  45%  450,000 events`.
public enum ProgressBar {
    public static func line(done: Int64, total: Int64, events: Int, width: Int = 24) -> String {
        let share = total > 0 ? min(max(done, 0), total) * 100 / total : 0
        let filled = Int(share) * width / 100
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let percent = String(share)
        return "simulate [\(bar)] \(String(repeating: " ", count: max(0, 3 - percent.count)))\(percent)%  \(grouped(events)) events"
    }

    /// 1234567 → `1,234,567`.
    static func grouped(_ number: Int) -> String {
        let digits = Array(String(number.magnitude))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (number < 0 ? "-" : "") + out
    }
}
