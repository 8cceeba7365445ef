import RedressIR
import RedressEvents
import RedressEngine

/// The report's counters while a replay runs: every decision passes through `add`.
///
/// Kept apart from `Report` (a value) because the hot counters are tables indexed by number —
/// per rule, per action verb, per week and month seen — and hash tables per customer, subject
/// and order (`KeyTable`), instead of dictionaries keyed by strings: about fifteen string
/// lookups per decision were most of a replay's cost. `fold(into:)` turns them into the
/// report's lines once, at the end.
final class Tally {
    let program: Program
    /// By rule index.
    var rules: [Report.Line]
    /// By action verb (a handful: searched linearly).
    var actions: [Report.Line] = []
    var weeks: [Report.Line] = []
    var months: [Report.Line] = []
    var weekPositions: [String: Int] = [:]
    var monthPositions: [String: Int] = [:]
    /// By week position, then rule index: the cost, or nil when the rule decided nothing that week.
    var ruleWeeks: [[Int64?]] = []
    /// The last decision's day and the positions of its week and month.
    var day: (day: Int64, week: Int, month: Int) = (.min, 0, 0)
    /// Per customer key: decisions and cost.
    let customers = KeyTable<(decisions: Int, cost: Int64)>(capacity: 1 << 12)
    /// Per subject (namespace: the subject's entity): the first rule that decided on it. The
    /// full set of rules is kept only for subjects more than one rule decided on (the overlap).
    let subjects = KeyTable<Int>(capacity: 1 << 12)
    var rulesBySubject: [String: Set<String>] = [:]
    let orders = KeyTable<Bool>(capacity: 1 << 12)

    init(program: Program) {
        self.program = program
        rules = program.rules.map { Report.Line(key: $0.name, decisions: 0, cost: 0) }
    }

    func reserve(keys: Int) {
        customers.reserve(keys)
        subjects.reserve(keys)
        if program.entities.contains(where: { $0.name == "order" }) { orders.reserve(keys) }
    }

    func add(_ decision: Decision, pricing: Pricing, to report: inout Report) {
        report.decisions += 1
        var total: Int64 = 0
        var exact = true
        // Actions read in place: a copy of each would retain and release its strings.
        for index in decision.actions.indices {
            let cost = pricing.cost(decision.actions[index])
            if let cost {
                exact = Report.accumulate(&total, cost) && exact
            } else if let value = decision.actions[index].value {
                exact = Report.accumulate(&report.unconverted[program.currencies[Int(value.unit)].code, default: 0], value.bits) && exact
            }
            let position = actions.firstIndex { $0.key == decision.actions[index].verb } ?? {
                actions.append(Report.Line(key: decision.actions[index].verb, decisions: 0, cost: 0))
                return actions.count - 1
            }()
            exact = actions[position].add(cost: cost ?? 0) && exact
        }
        exact = Report.accumulate(&report.cost, total) && exact
        let rule = decision.ruleIndex
        if rules.indices.contains(rule) {
            exact = rules[rule].add(cost: total) && exact
        }
        // Month and week names change at most daily: their positions are looked up once a day.
        let dayNumber = decision.milliseconds >= 0 ? decision.milliseconds / 86_400_000 : (decision.milliseconds - 86_399_999) / 86_400_000
        if dayNumber != day.day {
            // (Decisions carry no formatted time in a replay: `Engine.formatsDecisions`.)
            let month = String(TimeFormat.format(timestamp: decision.milliseconds).prefix(7)), week = Report.week(decision.milliseconds)
            let monthPosition = monthPositions[month] ?? {
                months.append(Report.Line(key: month, decisions: 0, cost: 0))
                monthPositions[month] = months.count - 1
                return months.count - 1
            }()
            let weekPosition = weekPositions[week] ?? {
                weeks.append(Report.Line(key: week, decisions: 0, cost: 0))
                ruleWeeks.append([Int64?](repeating: nil, count: rules.count))
                weekPositions[week] = weeks.count - 1
                return weeks.count - 1
            }()
            day = (dayNumber, weekPosition, monthPosition)
        }
        exact = months[day.month].add(cost: total) && exact
        exact = weeks[day.week].add(cost: total) && exact
        if rules.indices.contains(rule) {
            var cell = ruleWeeks[day.week][rule] ?? 0
            exact = Report.accumulate(&cell, total) && exact
            ruleWeeks[day.week][rule] = cell
        }
        if !exact { report.overflowed = true }
        // The three tables' searches begin together: their first reads, usually cache misses in
        // large tables, overlap.
        let entity = Int32(rules.indices.contains(rule) ? program.rules[rule].subject : -1)
        let order = report.orderIndex.flatMap { $0 < decision.dimensions.count && decision.dimensions[$0] != "(missing)" ? decision.dimensions[$0] : nil }
        let customerSearch = decision.customer.map { customers.begin(0, $0) }
        let subjectSearch = subjects.begin(entity, decision.subject.key)
        let orderSearch = order.map { orders.begin(0, $0) }
        if let customer = decision.customer, let customerSearch {
            let entry = customers.entry(0, customer, customerSearch, default: (0, 0))
            customers[entry: entry].decisions += 1
            if !Report.accumulate(&customers[entry: entry].cost, total) { report.overflowed = true }
        }
        let entry = subjects.entry(entity, decision.subject.key, subjectSearch, default: rule)
        let first = subjects[entry: entry]
        if first != rule {
            rulesBySubject[decision.subject.entity + ":" + decision.subject.key, default: [rules.indices.contains(first) ? rules[first].key : decision.rule]]
                .insert(decision.rule)
        }
        // Grouped by the values themselves (a unit separator cannot occur in them), shown joined by
        // ", " — with quotes around a value that holds a comma, so no two groups read the same.
        if !report.byFields.isEmpty {
            let key = decision.dimensions.prefix(report.byFields.count).joined(separator: "\u{1F}")
            if !report.byDimension[key, default: Report.Line(key: key, decisions: 0, cost: 0)].add(cost: total) { report.overflowed = true }
        }
        if report.outcomeField != nil, let index = report.outcomeIndex, index < decision.dimensions.count {
            report.compensatedKeys[decision.rule, default: []].insert(decision.dimensions[index])
        }
        if let order, let orderSearch { _ = orders.entry(0, order, orderSearch, default: true) }
        report.costs.append(total)
        if let budget = report.budget, report.budgetExhausted == nil, report.cost > budget { report.budgetExhausted = TimeFormat.format(timestamp: decision.milliseconds) }
    }

    /// Writes the counters into the report's lines.
    func fold(into report: inout Report) {
        report.byRule = Dictionary(uniqueKeysWithValues: rules.filter { $0.decisions > 0 }.map { ($0.key, $0) })
        report.byAction = Dictionary(uniqueKeysWithValues: actions.map { ($0.key, $0) })
        report.byWeek = Dictionary(uniqueKeysWithValues: weeks.map { ($0.key, $0) })
        report.byMonth = Dictionary(uniqueKeysWithValues: months.map { ($0.key, $0) })
        var byRuleWeek: [String: [String: Int64]] = [:]
        for (week, costs) in zip(weeks, ruleWeeks) {
            for (rule, cost) in costs.enumerated() { if let cost { byRuleWeek[rules[rule].key, default: [:]][week.key] = cost } }
        }
        report.byRuleWeek = byRuleWeek
        report.customers = customers.count
        // The ten customers with the most compensation (ties by key), in one pass.
        var top: [Report.Line] = []
        func before(_ a: Report.Line, _ b: Report.Line) -> Bool { (b.cost, a.key) < (a.cost, b.key) }
        for entry in 0..<customers.count {
            let line = Report.Line(key: customers.key(at: entry), decisions: customers[entry: entry].decisions, cost: customers[entry: entry].cost)
            if top.count == 10, let last = top.last, !before(line, last) { continue }
            let position = top.firstIndex { before(line, $0) } ?? top.count
            top.insert(line, at: position)
            if top.count > 10 { top.removeLast() }
        }
        report.topCustomers = top
        report.subjects = subjects.count
        report.rulesBySubject = rulesBySubject
        report.orders = orders.count
    }
}
