import RedressIR

/// The engine's state of one program made fit for another (a rule set reloaded by `serve`):
/// what belongs to a rule that keeps its name goes with it to its new place.
///
/// Most keys of the persisted state hold indices into the program (`r3.0|` the first limit of
/// the fourth rule, `p1|` a rule-set policy, `g0|` a group, `a2|` an aggregate, `3|order-7` a
/// pending deadline); a new program numbers them afresh, so each entry is moved to the index of
/// the same thing in the new program, matched by name, or dropped when there is none (an index
/// left as it was would be read as something else). Entries keyed by a rule's name (its
/// decisions per subject, which number the idempotency keys, and its misses) are kept
/// whatever the new program holds: a rule removed and added back goes on numbering its
/// decisions, so it never repeats an idempotency key a consumer already applied.
///
/// What counts as the same:
/// - a rule: its name; its limits and caps by position, when they count by the same key (and a
///   cap in the same currency) — a changed amount or window then applies to the uses so far;
/// - a rule-set policy: the same kind, key and currency, in order of appearance;
/// - a group: its name and key;
/// - a history aggregate: the same function, event, key, window, filter and value (fields by
///   name), else its history starts empty;
/// - a pending absence deadline: its rule (by name) still awaits the same event; it keeps the
///   deadline and the decision it was given when it triggered.
public enum StateMigration {
    /// What moved and what was dropped, by kind of entry.
    public struct Summary: Sendable, Equatable {
        public var carried = 0
        public var dropped = 0
        /// Rules of the old program that the new one has by name, and those it has not.
        public var rulesKept: [String] = []
        public var rulesRemoved: [String] = []
        public var rulesAdded: [String] = []
        public var pendingCarried = 0
        public var pendingDropped = 0
        public var historyDropped = 0

        public init() {}
    }

    /// `state`: the old engine's `snapshot()`.
    public static func carry(_ state: EngineState, from old: Program, to new: Program) -> (EngineState, Summary) {
        var summary = Summary()
        let newRules = Dictionary(new.rules.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        let oldNames = Set(old.rules.map(\.name))
        let ruleMap: [Int: Int] = Dictionary(uniqueKeysWithValues: old.rules.enumerated().compactMap { index, rule in
            newRules[rule.name].map { (index, $0) }
        })
        summary.rulesKept = old.rules.map(\.name).filter { newRules[$0] != nil }
        summary.rulesRemoved = old.rules.map(\.name).filter { newRules[$0] == nil }
        summary.rulesAdded = new.rules.map(\.name).filter { !oldNames.contains($0) }

        // Prefix maps: an old prefix (`r3.0|`) to the new one (`r5.0|`), for everything that matched.
        var limitPrefixes: [String: String] = [:]
        var capPrefixes: [String: String] = [:]
        for (from, to) in ruleMap {
            for (position, limit) in old.rules[from].limits.enumerated() where new.rules[to].limits.indices.contains(position) {
                if new.rules[to].limits[position].key.text == limit.key.text { limitPrefixes["r\(from).\(position)|"] = "r\(to).\(position)|" }
            }
            for (position, cap) in old.rules[from].caps.enumerated() where new.rules[to].caps.indices.contains(position) {
                let other = new.rules[to].caps[position]
                if other.key.text == cap.key.text, currency(cap.currency, old) == currency(other.currency, new) {
                    capPrefixes["r\(from).c\(position)|"] = "r\(to).c\(position)|"
                }
            }
        }
        var taken = Set<Int>()
        for (from, policy) in old.policies.enumerated() {
            guard let to = new.policies.indices.first(where: { index in
                !taken.contains(index) && new.policies[index].kind == policy.kind && new.policies[index].key.text == policy.key.text
                    && currency(new.policies[index].currency, new) == currency(policy.currency, old)
            }) else { continue }
            taken.insert(to)
            if policy.kind == .limit { limitPrefixes["p\(from)|"] = "p\(to)|" } else { capPrefixes["p\(from)|"] = "p\(to)|" }
        }
        var groupPrefixes: [String: String] = [:]
        for (from, group) in old.groups.enumerated() {
            if let to = new.groups.firstIndex(where: { $0.name == group.name && $0.key.text == group.key.text }) {
                groupPrefixes["g\(from)|"] = "g\(to)|"
            }
        }
        var aggregatePrefixes: [String: String] = [:]
        let newAggregates = new.aggregates.map { canonical($0, new) }
        for (from, aggregate) in old.aggregates.enumerated() {
            if let to = newAggregates.firstIndex(of: canonical(aggregate, old)) { aggregatePrefixes["a\(from)|"] = "a\(to)|" }
        }

        var moved = state
        func move<Value>(_ entries: [String: Value], _ prefixes: [String: String]) -> [String: Value] {
            var result: [String: Value] = [:]
            result.reserveCapacity(entries.count)
            for (key, value) in entries {
                guard let bar = key.firstIndex(of: "|"), let to = prefixes[String(key[...bar])] else {
                    summary.dropped += 1
                    continue
                }
                result[to + key[key.index(after: bar)...]] = value
                summary.carried += 1
            }
            return result
        }
        moved.limitUses = move(state.limitUses, limitPrefixes)
        moved.capUses = move(state.capUses, capPrefixes)
        moved.groupUses = move(state.groupUses, groupPrefixes)
        let historyBefore = summary.dropped
        moved.history = move(state.history, aggregatePrefixes)
        summary.historyDropped = summary.dropped - historyBefore
        // Keyed by rule name: kept as they are.
        summary.carried += state.occurrences.count + state.misses.count

        // `rule|subject` by rule index: answered absences and pending deadlines.
        func ruleKey(_ key: String) -> String? {
            guard let bar = key.firstIndex(of: "|"), let from = Int(key[..<bar]), let to = ruleMap[from] else { return nil }
            return "\(to)" + key[bar...]
        }
        moved.answered = [:]
        for (key, time) in state.answered {
            if let to = ruleKey(key) { moved.answered[to] = time; summary.carried += 1 } else { summary.dropped += 1 }
        }
        moved.pending = [:]
        for (key, pending) in state.pending {
            if let to = ruleKey(key), let carried = carry(pending, from: old, to: new, ruleMap: ruleMap) {
                moved.pending[to] = carried
                summary.pendingCarried += 1
            } else {
                summary.pendingDropped += 1
            }
        }
        return (moved, summary)
    }

    static func currency(_ index: Int32?, _ program: Program) -> String? {
        index.flatMap { program.currencies.indices.contains(Int($0)) ? program.currencies[Int($0)].code : nil }
    }

    static func slotName(_ slot: Int, _ program: Program) -> String? {
        guard program.slots.indices.contains(slot) else { return nil }
        let entity = program.slots[slot].entity
        guard program.entities.indices.contains(entity) else { return nil }
        return program.entities[entity].name + "." + program.slots[slot].field
    }

    /// A pending deadline with its indices (rule, awaited event, slots of the policy keys,
    /// currencies) translated into the new program's; nil when the new rule awaits another
    /// event, or a slot or currency it holds is not in the new program.
    static func carry(_ pending: EngineState.Pending, from old: Program, to new: Program, ruleMap: [Int: Int]) -> EngineState.Pending? {
        let draft = pending.draft
        guard let rule = ruleMap[draft.rule], let absence = new.rules[rule].absence,
              old.events.indices.contains(pending.awaitedEvent), new.events.indices.contains(absence.event),
              new.events[absence.event].name == old.events[pending.awaitedEvent].name,
              let keySlot = slotName(pending.keySlot, old).flatMap(new.slot(named:)) else { return nil }
        var keys: [Int: String] = [:]
        for (slot, text) in draft.keys.dictionary {
            guard let to = slotName(slot, old).flatMap(new.slot(named:)) else { return nil }
            keys[to] = text
        }
        var money: [Int32: Int64] = [:]
        for (unit, amount) in draft.money.dictionary {
            guard let code = currency(unit, old), let to = new.currencies.firstIndex(where: { $0.code == code }) else { return nil }
            money[Int32(to)] = amount
        }
        let moved = Draft(rule: rule, subjectKey: draft.subjectKey, customerKey: draft.customerKey, event: draft.event,
                          actions: draft.actions, money: MoneyByCurrency(money), keys: PolicyKeys(keys), dimensions: draft.dimensions)
        return EngineState.Pending(deadline: pending.deadline, awaitedEvent: absence.event, keySlot: keySlot, draft: moved)
    }

    /// An aggregate described without the program's numbering: fields by name, constants as
    /// the language writes them, the event by name.
    static func canonical(_ aggregate: Program.Aggregate, _ program: Program) -> String {
        let event = program.events.indices.contains(aggregate.event) ? program.events[aggregate.event].name : "?"
        return "\(aggregate.function.rawValue) \(event) per \(aggregate.per.text) within \(aggregate.windowMilliseconds)"
            + " value " + (aggregate.value.map { canonical($0, program) } ?? "-")
            + " where " + (aggregate.filter.map { canonical($0, program) } ?? "-")
    }

    static func canonical(_ node: Node, _ program: Program) -> String {
        var text = "(" + node.operation.rawValue
        if let symbol = node.symbol { text += " " + symbol.text }
        if let value = node.value { text += " " + ValueText.describe(value, program: program, strings: program.strings) }
        if let index = node.index {
            switch node.operation {
            case .slot: text += " " + (slotName(index, program) ?? "?\(index)")
            case .parameter: text += " " + (program.parameters.indices.contains(index) ? program.parameters[index].name : "?\(index)")
            case .table: text += " " + (program.tables.indices.contains(index) ? program.tables[index].name : "?\(index)")
            // Another aggregate: its own description, so that renumbering does not hide a change.
            case .aggregate: text += " " + (program.aggregates.indices.contains(index) ? canonical(program.aggregates[index], program) : "?\(index)")
            default: text += " #\(index)"
            }
        }
        for child in node.children { text += " " + canonical(child, program) }
        for arm in node.arms ?? [] {
            text += " [" + arm.patterns.map { canonical($0, program) }.joined(separator: " ") + " => " + canonical(arm.value, program) + "]"
        }
        if let otherwise = node.otherwise { text += " else " + canonical(otherwise, program) }
        return text + ")"
    }
}

extension Engine {
    /// How many keys the state holds (limits, caps, groups, decisions per subject, history,
    /// pending and answered absences, misses), for a gauge. Counts only; nothing is converted.
    public var stateKeyCount: Int {
        limitUses.count + capUses.count + groupUses.count + occurrences.count + history.count
            + foreign.limitUses.count + foreign.capUses.count + foreign.groupUses.count + foreign.occurrences.count + foreign.history.count
            + state.pending.count + state.answered.count + state.misses.count
    }
}
