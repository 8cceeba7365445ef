import RedressIR

/// Everything the engine remembers between events. Codable, so `run --state` can keep it in
/// SQLite and a restarted process continues exactly where the last checkpoint left off.
public struct EngineState: Codable, Sendable, Equatable {
    /// The latest event time seen; deadlines before it have fired.
    public var clock: Int64 = .min
    /// Input lines consumed (the position a restart resumes after).
    public var position: Int = 0
    /// Times of accepted decisions per limit and key (`r3.0|order-7`, `p1|customer-9`).
    public var limitUses: [String: [Int64]] = [:]
    /// Times and amounts (minor units) granted per cap and key.
    public var capUses: [String: [[Int64]]] = [:]
    /// Times a group held a decision, per group and key.
    public var groupUses: [String: [Int64]] = [:]
    /// Accepted decisions per rule and subject (the occurrence of the next idempotency key).
    public var occurrences: [String: Int] = [:]
    /// History for aggregates, per aggregate and key: [time, matched (0/1), value].
    public var history: [String: [[Int64]]] = [:]
    /// Absence rules waiting for their deadline, by `rule|subject` (a later trigger for the same
    /// subject keeps the first deadline).
    public var pending: [String: Pending] = [:]
    /// When an absence rule's awaited event last arrived, per rule and subject (`rule|subject`):
    /// a trigger after it has nothing to wait for (docs/language.md, "Absence").
    public var answered: [String: Int64] = [:]
    /// Conditions that could not be decided, per rule and missing field.
    public var misses: [String: Int] = [:]
    public var statistics = Statistics()

    public struct Pending: Codable, Sendable, Equatable {
        public var deadline: Int64
        public var awaitedEvent: Int
        public var keySlot: Int
        public var draft: Draft
        public static func == (a: Pending, b: Pending) -> Bool {
            a.deadline == b.deadline && a.draft.rule == b.draft.rule && a.draft.subjectKey == b.draft.subjectKey
        }
    }

    public struct Statistics: Codable, Sendable, Equatable {
        public var events = 0
        public var eventsByType: [String: Int] = [:]
        public var decisions = 0
        public var heldBack: [String: Int] = [:]
    }

    public init() {}
}

/// Why a rule did not decide (or did), for `explain` and the held-back counts.
public enum Outcome: Equatable, Sendable {
    case decided
    case notTriggered
    case conditionFalse
    case conditionUnknown(missing: [String])
    case waiting(deadline: Int64)
    case inactive
    case notInRollout
    case limit(String)
    case cap(String)
    case group(String)
    case missingKey(String)
    /// An absence rule whose awaited event had already arrived for the subject (at this time).
    case answered(at: Int64)
}

/// The one evaluator: `run`, `explain`, the simulator and the rule tests all call it.
///
/// For each event, in this order: deadlines that passed fire; the event cancels the absence
/// rules it answers; history aggregates take the event in; the rules its type triggers are
/// evaluated in rule order; policies decide which drafts become decisions (active dates,
/// rollout, limits, exclusive groups, caps). The same input gives the same decisions.
public final class Engine {
    public let program: Program
    public var state: EngineState
    public let frame: Frame
    let conditions: [Compiled?]
    let amounts: [[Compiled?]]
    /// By rule and action: an amount written as a constant (`refund 5 EUR`), with its text made
    /// once here rather than per decision.
    let constantAmounts: [[(value: RuntimeValue, text: String)?]]
    let channels: [[Compiled?]]
    let rollouts: [Compiled?]
    let deadlines: [Compiled?]
    let aggregateFilters: [Compiled?]
    let aggregateValues: [Compiled?]
    /// By rule and action: the template's default channel, for actions that name a template
    /// and choose no channel (looked up once here, not per decision).
    let defaultChannels: [[String?]]
    /// Aggregates by the event type that feeds them.
    let aggregatesByEvent: [[Int]]
    /// Rules by the event type they await (absence).
    let awaitingRules: [[Int]]
    var aggregateCache: [Int: RuntimeValue] = [:]
    var currentTime: Int64 = 0
    /// Pending deadlines in time order (the state's dictionary has no order).
    var queue = DeadlineQueue()

    /// Slots whose values each decision carries in `dimensions` (the simulator's `--by`).
    public var reportSlots: [Int] = []

    /// False for a caller that reads neither a decision's idempotency key nor its formatted times
    /// (the simulator counts decisions by `milliseconds`): both are then left empty rather than
    /// built per decision.
    public var formatsDecisions = true

    /// Outcomes of the last event, per rule (only when `recordOutcomes` is set, for explain).
    public var recordOutcomes = false
    public private(set) var outcomes: [Int: Outcome] = [:]

    public init(program: Program, state: EngineState = EngineState()) {
        self.program = program
        self.state = state
        frame = Frame(program: program)
        conditions = program.rules.map { $0.condition.map { Compiler.compile($0, program: program) } }
        amounts = program.rules.map { $0.actions.map { $0.amount.map { Compiler.compile($0, program: program) } } }
        constantAmounts = program.rules.map { rule in
            rule.actions.map { action in
                guard let node = action.amount, node.operation == .constant, let value = node.value, !value.isMissing else { return nil }
                return (value, ValueText.describe(value, program: program))
            }
        }
        channels = program.rules.map { $0.actions.map { $0.channelValue.map { Compiler.compile($0, program: program) } } }
        rollouts = program.rules.map { $0.rollout.map { Compiler.compile($0, program: program) } }
        deadlines = program.rules.map { $0.absence?.deadline.map { Compiler.compile($0, program: program) } }
        aggregateFilters = program.aggregates.map { $0.filter.map { Compiler.compile($0, program: program) } }
        aggregateValues = program.aggregates.map { $0.value.map { Compiler.compile($0, program: program) } }
        defaultChannels = program.rules.map { rule in
            rule.actions.map { action in
                guard action.verb == "send" || action.amount == nil, let name = action.name,
                      let channel = program.catalog.templates[name], !channel.isEmpty else { return nil }
                return channel
            }
        }
        var byEvent = [[Int]](repeating: [], count: program.events.count)
        for (index, aggregate) in program.aggregates.enumerated() { byEvent[aggregate.event].append(index) }
        aggregatesByEvent = byEvent
        var awaiting = [[Int]](repeating: [], count: program.events.count)
        for (index, rule) in program.rules.enumerated() { if let absence = rule.absence { awaiting[absence.event].append(index) } }
        awaitingRules = awaiting
        eventNames = program.events.map(\.name)
        branchIndex = program.dispatch.map { dispatch in
            dispatch.branches.map { branch in
                var table: [DispatchKey: [Int]] = [:]
                for (values, rules) in zip(branch.values, branch.rules) {
                    var key = DispatchKey()
                    for (place, value) in values.prefix(DispatchKey.width).enumerated() { key[place] = value }
                    table[key, default: []] += rules
                }
                for key in table.keys { table[key]?.sort() }
                return table
            }
        }
        let enumBranches = zip(program.dispatch, branchIndex).map { dispatch, tables in
            zip(dispatch.branches, tables).map { branch, table -> (unit: Int32, rules: [[Int]])? in
                guard branch.slots.count == 1, program.slots[branch.slots[0]].kind == .enumCase else { return nil }
                let unit = program.slots[branch.slots[0]].unit
                let size = program.enums.indices.contains(Int(unit)) ? program.enums[Int(unit)].cases.count : 0
                var rules = [[Int]](repeating: [], count: size)
                for (key, list) in table {
                    guard key.a.kind == .enumCase, key.a.unit == unit, key.a.bits >= 0, key.a.bits < Int64(size) else { return nil }
                    rules[Int(key.a.bits)] = list
                }
                return (unit, rules)
            }
        }
        enumBranchUnits = enumBranches.map { $0.map { $0?.unit } }
        enumBranchRules = enumBranches.map { $0.map { $0?.rules ?? [] } }
        typeCounts = [Int](repeating: 0, count: program.events.count)
        for (key, pending) in state.pending { queue.insert((pending.deadline, key)) }
        let spaces = Engine.namespaces(program)
        prefixes = spaces.prefixes
        ruleLimitSpaces = spaces.limits
        ruleCapSpaces = spaces.caps
        policySpaces = spaces.policies
        groupSpaces = spaces.groups
        occurrenceSpaces = spaces.occurrences
        foreign.limitUses = load(state.limitUses, into: limitUses, spaces: spaces.limits.flatMap { $0 } + spaces.policies)
        foreign.capUses = load(state.capUses, into: capUses, spaces: spaces.caps.flatMap { $0 } + spaces.policies)
        foreign.groupUses = load(state.groupUses, into: groupUses, spaces: spaces.groups)
        foreign.occurrences = load(state.occurrences, into: occurrences, spaces: spaces.occurrences)
        // The tables are the memory now; `state` gets them back at each snapshot.
        self.state.limitUses = [:]
        self.state.capUses = [:]
        self.state.groupUses = [:]
        self.state.occurrences = [:]
        frame.aggregate = { [unowned self] index in self.aggregateValue(index) }
    }

    let eventNames: [String]
    /// Events per type since the last `statistics` read (a dictionary update per event would cost more).
    var typeCounts: [Int]

    // The memory per key (limits, caps, groups, occurrences) lives in hash tables keyed by a
    // namespace number and the key's text, not in `state`'s dictionaries of glued strings
    // (`r3.0|order-7`): several lookups per decision, see KeyTable. `snapshot()` writes them
    // back into `state` in the persisted format, and `init` reads them from it; `takeChanges()`
    // gives a checkpoint only the entries written since the last one.
    let limitUses = KeyTable<[Int64]>()
    let capUses = KeyTable<[[Int64]]>()
    let groupUses = KeyTable<[Int64]>()
    let occurrences = KeyTable<Int>()
    /// By namespace: the prefix its keys carry in `state` (`r3.0|`, `p1|`, `g0|`, `late|`).
    let prefixes: [String]
    /// Namespaces: by rule and limit, by rule and cap, by rule-set policy, by group, by rule.
    let ruleLimitSpaces: [[Int32]]
    let ruleCapSpaces: [[Int32]]
    let policySpaces: [Int32]
    let groupSpaces: [Int32]
    let occurrenceSpaces: [Int32]
    /// Entries of a loaded state that no namespace of this program claims: kept as they were.
    var foreign = EngineState()
    /// Keys written since the last checkpoint (StateChanges.swift); nil, and nothing recorded,
    /// unless a caller that checkpoints asked for them.
    var changed: ChangedKeys? = nil

    static func namespaces(_ program: Program) -> (prefixes: [String], limits: [[Int32]], caps: [[Int32]], policies: [Int32], groups: [Int32], occurrences: [Int32]) {
        var prefixes: [String] = []
        func space(_ prefix: String) -> Int32 {
            prefixes.append(prefix)
            return Int32(prefixes.count - 1)
        }
        let limits = program.rules.indices.map { rule in program.rules[rule].limits.indices.map { space("r\(rule).\($0)|") } }
        let caps = program.rules.indices.map { rule in program.rules[rule].caps.indices.map { space("r\(rule).c\($0)|") } }
        let policies = program.policies.indices.map { space("p\($0)|") }
        let groups = program.groups.indices.map { space("g\($0)|") }
        let occurrences = program.rules.map { space($0.name + "|") }
        return (prefixes, limits, caps, policies, groups, occurrences)
    }

    /// Moves persisted entries (`prefix` + key) into a table; returns those no namespace claims.
    func load<Value>(_ entries: [String: Value], into table: KeyTable<Value>, spaces: [Int32]) -> [String: Value] {
        var rest: [String: Value] = [:]
        // Sorted: the table's entry order (and so a later snapshot's work) does not depend on
        // the dictionary's.
        for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
            if let space = spaces.first(where: { key.hasPrefix(prefixes[Int($0)]) }) {
                let entry = table.entry(space, String(key.dropFirst(prefixes[Int(space)].count)), default: value)
                table[entry: entry] = value
            } else {
                rest[key] = value
            }
        }
        return rest
    }

    func persisted<Value>(_ table: KeyTable<Value>, _ foreign: [String: Value]) -> [String: Value] {
        var result = foreign
        result.reserveCapacity(foreign.count + table.count)
        for entry in 0..<table.count { result[prefixes[Int(table.namespace(at: entry))] + table.key(at: entry)] = table[entry: entry] }
        return result
    }

    /// The statistics, with the per-type counts folded in.
    public var statistics: EngineState.Statistics {
        flushTypeCounts()
        return state.statistics
    }

    /// The state with everything folded in, for a checkpoint.
    public func snapshot() -> EngineState {
        flushTypeCounts()
        var copy = state
        copy.limitUses = persisted(limitUses, foreign.limitUses)
        copy.capUses = persisted(capUses, foreign.capUses)
        copy.groupUses = persisted(groupUses, foreign.groupUses)
        copy.occurrences = persisted(occurrences, foreign.occurrences)
        return copy
    }

    func flushTypeCounts() {
        for (type, count) in typeCounts.enumerated() where count > 0 {
            state.statistics.eventsByType[eventNames[type], default: 0] += count
            typeCounts[type] = 0
        }
    }

    // MARK: - Events

    /// Evaluates one event and returns the decisions it causes, deadlines that passed first.
    public func process(_ event: Event) -> [Decision] {
        withUnsafePointer(to: event) { process($0) }
    }

    /// The same for an event lent by pointer (valid during the call): the chunked reader's
    /// batches hand events over this way, because reading an event through a pointer into a
    /// by-value parameter copies it (retaining and releasing its arrays, per event).
    public func process(_ lent: UnsafePointer<Event>) -> [Decision] {
        var decisions = advance(to: lent.pointee.time)
        currentTime = lent.pointee.time
        if !aggregateCache.isEmpty { aggregateCache.removeAll(keepingCapacity: true) }
        if recordOutcomes { outcomes.removeAll() }
        state.statistics.events += 1
        typeCounts[lent.pointee.type] += 1
        // Dispatch reads the event's slots where they are; the frame is loaded only when something
        // will read it. Most events match no rule (the wrong type or tier), and loading copies the
        // slots and retains the strings that the parsing thread just wrote.
        let candidateCount = candidates(lent.pointee.type, lent)
        let awaiting = !awaitingRules[lent.pointee.type].isEmpty
        if candidateCount > 0 || awaiting || !aggregatesByEvent[lent.pointee.type].isEmpty || recordOutcomes { frame.load(lent) }

        // The awaited event arrived: an absence rule waiting for it (by its deadline) will not fire
        // for this subject, and one triggered later for it has nothing to wait for.
        if awaiting {
            for rule in awaitingRules[lent.pointee.type] {
                let subject = frame.slots[program.rules[rule].subjectKey.slot]
                guard !subject.isMissing else { continue }
                let key = "\(rule)|\(keyText(subject))"
                state.answered[key] = lent.pointee.time
                changed?.answered.insert(key)
                if let pending = state.pending[key], pending.deadline >= lent.pointee.time {
                    state.pending[key] = nil
                    changed?.pending.insert(key)
                }
            }
        }
        for aggregate in aggregatesByEvent[lent.pointee.type] { record(aggregate, at: lent.pointee.time) }

        var drafts: [Draft] = []
        // Formatted only when some rule decides: most events decide nothing.
        var formatted: Decision.EventReference? = nil
        func reference() -> Decision.EventReference {
            if let formatted { return formatted }
            let made = Decision.EventReference(type: eventNames[lent.pointee.type], id: lent.pointee.id.isEmpty ? "line \(lent.pointee.line)" : lent.pointee.id,
                                               line: lent.pointee.line, time: formatsDecisions ? TimeFormat.format(timestamp: lent.pointee.time) : "",
                                               milliseconds: lent.pointee.time)
            formatted = made
            return made
        }
        // Rules are read in place (`program.rules[index].field`), never bound to a local: a copy
        // of the struct retains and releases each of its arrays, per event.
        for position in 0..<candidateCount {
            let index = candidateBuffer[position]
            let verdict = conditions[index].map { $0(frame) } ?? .true
            if verdict != .true {
                if verdict.isMissing {
                    let missing = program.rules[index].reads.filter { frame.slots[$0].isMissing }.map(slotName)
                    let name = program.rules[index].name
                    for field in missing {
                        let key = "\(name)|\(field)"
                        state.misses[key, default: 0] += 1
                        changed?.misses.insert(key)
                    }
                    note(index, .conditionUnknown(missing: missing))
                } else {
                    note(index, .conditionFalse)
                }
                continue
            }
            guard let draft = makeDraft(index, reference: reference()) else { continue }
            if let absence = program.rules[index].absence {
                var deadline: Int64? = nil
                if let within = absence.withinMilliseconds { deadline = lent.pointee.time + within }
                if let at = deadlines[index]?(frame), at.kind == .timestamp { deadline = at.bits }
                guard let deadline else {
                    note(index, .conditionUnknown(missing: ["deadline"]))
                    continue
                }
                let key = "\(index)|\(draft.subjectKey)"
                // "Not shipped within 72h of approval" when the parcel left before the approval was
                // recorded: it was shipped, so there is nothing to notice (docs/language.md, "Absence").
                if let answered = state.answered[key], answered <= lent.pointee.time {
                    note(index, .answered(at: answered))
                    continue
                }
                if state.pending[key] == nil {
                    state.pending[key] = EngineState.Pending(deadline: deadline, awaitedEvent: absence.event,
                                                             keySlot: program.rules[index].subjectKey.slot, draft: draft)
                    changed?.pending.insert(key)
                    queue.insert((deadline, key))
                }
                note(index, .waiting(deadline: deadline))
                continue
            }
            drafts.append(draft)
        }
        if decisions.isEmpty { decisions = decide(drafts, at: lent.pointee.time) } else { decisions += decide(drafts, at: lent.pointee.time) }
        state.clock = max(state.clock, lent.pointee.time)
        return decisions
    }

    /// The earliest deadline waiting in the queue (possibly one cancelled since, which `advance`
    /// then skips): what a run on a wall-clock watermark waits for while its input is quiet.
    public var nextDeadline: Int64? { queue.first?.deadline }

    /// Fires the absence rules whose deadline is before `time` (event time only moves forward).
    public func advance(to time: Int64) -> [Decision] {
        guard let first = queue.first, first.deadline < time else { return [] }
        var due: [EngineState.Pending] = []
        while let next = queue.first, next.deadline < time {
            queue.removeFirst()
            // Entries whose pending was cancelled (or replaced) are skipped.
            if let pending = state.pending[next.key], pending.deadline == next.deadline {
                due.append(pending)
                state.pending[next.key] = nil
                changed?.pending.insert(next.key)
            }
        }
        guard !due.isEmpty else { return [] }
        var decisions: [Decision] = []
        // One batch per deadline, in deadline order, then rule order.
        let ordered = due.sorted { ($0.deadline, $0.draft.rule, $0.draft.subjectKey) < ($1.deadline, $1.draft.rule, $1.draft.subjectKey) }
        var start = 0
        while start < ordered.count {
            var end = start
            while end < ordered.count, ordered[end].deadline == ordered[start].deadline { end += 1 }
            decisions += decide(ordered[start..<end].map(\.draft), at: ordered[start].deadline)
            start = end
        }
        return decisions
    }

    /// Fills `candidateBuffer` with the rules triggered by `type` that the event's values can
    /// match, in rule order, and returns how many. One reused buffer, read by position, and the
    /// program's dispatch read in place: this runs for every event, and copying the dispatch
    /// struct or returning an array would retain and release its arrays each time.
    func candidates(_ type: Int, _ event: UnsafePointer<Event>) -> Int {
        candidateBuffer.removeAll(keepingCapacity: true)
        let sources = forEachTriggered(type, event) { candidateBuffer.append($0) }
        if sources > 1 { candidateBuffer.sort() }
        if recordOutcomes {
            // A rule of a branch whose values the event does not hold was decided by dispatch: false.
            let found = Set(candidateBuffer)
            for branch in program.dispatch[type].branches.indices {
                for list in program.dispatch[type].branches[branch].rules { for rule in list where !found.contains(rule) { note(rule, .conditionFalse) } }
            }
            markNotTriggered(except: candidateBuffer)
        }
        return candidateBuffer.count
    }

    /// Calls `body` with each rule `type` triggers that the event's dispatched values can match
    /// (not in rule order) and returns from how many lists they came. Reads only tables built in
    /// `init`: the screen calls it on parsing threads while the engine runs.
    @inline(__always) func forEachTriggered(_ type: Int, _ event: UnsafePointer<Event>, _ body: (Int) -> Void) -> Int {
        for position in program.dispatch[type].always.indices { body(program.dispatch[type].always[position]) }
        var sources = program.dispatch[type].always.isEmpty ? 0 : 1
        for position in 0..<program.dispatch[type].branches.count {
            var key = DispatchKey()
            var missing = false
            let slotCount = min(program.dispatch[type].branches[position].slots.count, DispatchKey.width)
            for place in 0..<slotCount {
                let slot = program.dispatch[type].branches[position].slots[place]
                let value = slot < event.pointee.slots.count ? event.pointee.slots[slot] : .missing
                if value.isMissing { missing = true; break }
                key[place] = value
            }
            if missing {
                // Evaluate them all, so the missing field is counted where it decides.
                for list in program.dispatch[type].branches[position].rules {
                    for rule in list { body(rule) }
                    sources += 1
                }
            } else if let unit = enumBranchUnits[type][position] {
                let value = key.a
                if value.kind == .enumCase, value.unit == unit, value.bits >= 0, value.bits < Int64(enumBranchRules[type][position].count),
                   !enumBranchRules[type][position][Int(value.bits)].isEmpty {
                    for rule in enumBranchRules[type][position][Int(value.bits)] { body(rule) }
                    sources += 1
                }
            } else if let matched = branchIndex[type][position][key] {
                for rule in matched { body(rule) }
                sources += 1
            }
        }
        return sources
    }

    var candidateBuffer: [Int] = []
    /// Per event type and branch: the branch's values → its rules, as a hash table.
    let branchIndex: [[[DispatchKey: [Int]]]]
    /// The same for branches testing one enum field (`customer.tier == VIP`), as arrays by case:
    /// the most common dispatch, without hashing per event. The enum's index (nil for other
    /// branches) and the rules by case, in two tables: an optional tuple of arrays would be
    /// copied per event.
    let enumBranchUnits: [[Int32?]]
    let enumBranchRules: [[[[Int]]]]

    func markNotTriggered(except rules: [Int]) {
        let tried = Set(rules)
        for index in program.rules.indices where !tried.contains(index) && outcomes[index] == nil { outcomes[index] = .notTriggered }
    }

    @inline(__always) func note(_ rule: Int, _ outcome: Outcome) {
        if recordOutcomes { outcomes[rule] = outcome }
        if case .decided = outcome { return }
        switch outcome {
        case .limit, .cap, .group, .inactive, .notInRollout, .missingKey:
            state.statistics.heldBack["\(program.rules[rule].name)|\(Engine.reason(outcome))", default: 0] += 1
        default: break
        }
    }

    /// Called with every draft a policy held back (the simulator prices what policies saved).
    public var heldBack: ((Draft, Outcome) -> Void)? = nil

    func hold(_ draft: Draft, _ outcome: Outcome) {
        note(draft.rule, outcome)
        heldBack?(draft, outcome)
    }

    public static func reason(_ outcome: Outcome) -> String {
        switch outcome {
        case .decided: "decided"
        case .notTriggered: "not triggered"
        case .conditionFalse: "condition false"
        case .conditionUnknown: "condition unknown"
        case .waiting: "waiting"
        case .inactive: "inactive"
        case .notInRollout: "rollout"
        case .limit: "limit"
        case .cap: "cap"
        case .group: "group"
        case .missingKey: "missing key"
        case .answered: "already answered"
        }
    }

    public func slotName(_ slot: Int) -> String {
        let definition = program.slots[slot]
        return "\(program.entities[definition.entity].name).\(definition.field)"
    }

    /// The text of a key value (ids are strings; any other field prints as written).
    func keyText(_ value: RuntimeValue) -> String {
        value.kind == .string ? String(frame.string(value)) : ValueText.describe(value, program: program)
    }

    // MARK: - Screening

    /// Rules whose condition reads a history aggregate: only the engine can evaluate it.
    lazy var readsHistory: [Bool] = program.rules.map { $0.condition?.contains { $0.operation == .aggregate } ?? false }

    /// Room for about `keys` subjects in the memory per key that most rules use (limits and
    /// occurrences): a replay that expects many decisions saves growing the tables as it goes.
    public func reserve(keys: Int) {
        if program.rules.contains(where: { !$0.limits.isEmpty }) {
            limitUses.reserve(keys)
            occurrences.reserve(keys)
        }
    }

    /// A screen for one parsing thread, or nil when every event must reach the engine (it
    /// records per-rule outcomes for `explain`). Make screens before the replay starts, after
    /// the parameters are set.
    public func screen() -> EventScreen? {
        recordOutcomes ? nil : EventScreen(engine: self)
    }

    /// Counts events a screen held back (`count` of them, `byType` by event type, the latest at
    /// `latest`): they trigger nothing, so only the statistics and the clock see them. Deadlines
    /// fire at the next event processed (or `advance`), with the same times and in the same order.
    public func skip(count: Int, byType: [Int], latest: Int64) {
        guard count > 0 else { return }
        state.statistics.events += count
        for type in byType.indices where type < typeCounts.count { typeCounts[type] += byType[type] }
        state.clock = max(state.clock, latest)
    }

    // MARK: - Drafts

    func makeDraft(_ index: Int, reference: Decision.EventReference) -> Draft? {
        let subject = frame.slots[program.rules[index].subjectKey.slot]
        guard !subject.isMissing else {
            note(index, .missingKey(program.rules[index].subjectKey.text))
            return nil
        }
        var actions: [Decision.Action] = []
        actions.reserveCapacity(program.rules[index].actions.count)
        var money = MoneyByCurrency()
        // Actions read in place (a copy of each would retain and release its strings and nodes).
        for position in program.rules[index].actions.indices {
            // Each field worked out first and the action made once: setting them on a local
            // action copied it (and its strings) again on append.
            var amountText: String? = nil
            var amountValue: RuntimeValue? = nil
            if let constant = constantAmounts[index][position] {
                (amountText, amountValue) = (constant.text, constant.value)
            } else if let amount = amounts[index][position] {
                let value = amount(frame)
                guard !value.isMissing else {
                    note(index, .conditionUnknown(missing: ["amount of \(program.rules[index].actions[position].verb)"]))
                    return nil
                }
                (amountText, amountValue) = (ValueText.describe(value, program: program), value)
            }
            if let value = amountValue, value.kind == .money {
                // Saturating: a sum beyond 64 bits stays at the bound (the report then says it overflowed).
                let (sum, overflow) = (money[value.unit] ?? 0).addingReportingOverflow(value.bits)
                money[value.unit] = overflow ? (value.bits > 0 ? .max : .min) : sum
            }
            var channel = program.rules[index].actions[position].channel
            if let computed = channels[index][position] {
                let value = computed(frame)
                channel = value.isMissing ? nil : ValueText.describe(value, program: program)
            }
            if channel == nil, let fallback = defaultChannels[index][position] { channel = fallback }
            actions.append(Decision.Action(verb: program.rules[index].actions[position].verb, amount: amountText,
                                           argument: program.rules[index].actions[position].name, channel: channel, value: amountValue))
        }
        // Key values for the policies; a policy whose key this event does not have does not apply.
        var keys = PolicyKeys()
        func key(_ slot: Int) {
            let value = frame.slots[slot]
            if !value.isMissing { keys[slot] = keyText(value) }
        }
        for policy in program.rules[index].limits { key(policy.key.slot) }
        for policy in program.rules[index].caps { key(policy.key.slot) }
        for policy in program.policies { key(policy.key.slot) }
        if let group = program.rules[index].group { key(program.groups[group].key.slot) }
        var customer: String? = nil
        if let slot = program.rules[index].customerKey?.slot, !frame.slots[slot].isMissing { customer = keyText(frame.slots[slot]) }
        let draft = Draft(rule: index, subjectKey: keyText(subject), customerKey: customer, event: reference,
                          actions: actions, money: money, keys: keys,
                          dimensions: reportSlots.isEmpty ? [] : reportSlots.map { slot in frame.slots[slot].isMissing ? "(missing)" : keyText(frame.slots[slot]) })
        // Rollout is decided here, where the customer is known; it never changes for a customer.
        // A customer outside it is held back like any policy (the simulator prices what it saved).
        if let rollout = rollouts[index] {
            let share = rollout(frame)
            guard let customer, share.kind == .percent, Engine.inRollout(rule: program.rules[index].name, customer: customer, millionths: share.bits) else {
                hold(draft, .notInRollout)
                return nil
            }
        }
        return draft
    }

    /// Stable rollout: FNV-1a of the rule name and the customer's key, as a share in millionths.
    public static func inRollout(rule: String, customer: String, millionths: Int64) -> Bool {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in rule.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        hash = (hash ^ 0x1F) &* 0x0000_0100_0000_01B3
        for byte in customer.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return Int64(hash % 1_000_000) < millionths
    }

    // MARK: - Policies

    /// Uses of a limit, cap or group key inside the window ending at `time`.
    @inline(__always) func recent(_ table: KeyTable<[Int64]>, _ space: Int32, _ key: String, window: Int64?, at time: Int64) -> Int {
        guard let entry = table.find(space, key) else { return 0 }
        guard let window else { return table[entry: entry].count }
        return table[entry: entry].reduce(0) { $0 + ($1 > time - window ? 1 : 0) }
    }

    var eligible: [Int] = []
    var winners: [Int] = []

    func decide(_ drafts: [Draft], at time: Int64) -> [Decision] {
        guard !drafts.isEmpty else { return [] }
        // Drafts are referred to by position, in two reused buffers: no allocation per decision.
        // Active dates and rule limits decide who competes at all.
        eligible.removeAll(keepingCapacity: true)
        for index in drafts.indices {
            let draft = drafts[index]
            if let from = program.rules[draft.rule].activeFrom, time < from { hold(draft, .inactive); continue }
            if let until = program.rules[draft.rule].activeUntil, time >= until { hold(draft, .inactive); continue }
            var blocked = -1
            for position in program.rules[draft.rule].limits.indices {
                guard let key = draft.keys[program.rules[draft.rule].limits[position].key.slot] else { continue }
                if recent(limitUses, ruleLimitSpaces[draft.rule][position], key, window: program.rules[draft.rule].limits[position].windowMilliseconds,
                          at: time) >= program.rules[draft.rule].limits[position].amount {
                    blocked = position
                    break
                }
            }
            if blocked >= 0 {
                let limit = program.rules[draft.rule].limits[blocked]
                hold(draft, .limit("limit \(limit.amount) per \(limit.key.text)"))
                continue
            }
            eligible.append(index)
        }
        // Exclusive groups: one winner per group and key; a key the group already used blocks all.
        winners.removeAll(keepingCapacity: true)
        var contested: [Int] = []
        for index in eligible {
            let draft = drafts[index]
            guard let groupIndex = program.rules[draft.rule].group, let groupKey = draft.keys[program.groups[groupIndex].key.slot] else {
                winners.append(index)
                continue
            }
            let group = program.groups[groupIndex]
            if recent(groupUses, groupSpaces[groupIndex], groupKey, window: group.windowMilliseconds, at: time) > 0 {
                hold(draft, .group("\(group.name) already decided for this \(group.key.text)"))
                continue
            }
            // The winner so far for this group and key (a few drafts per event: a linear search).
            if let position = contested.first(where: { program.rules[drafts[winners[$0]].rule].group == groupIndex
                    && drafts[winners[$0]].keys[program.groups[groupIndex].key.slot] == groupKey }) {
                let current = drafts[winners[position]]
                if beats(draft, current, order: group.order) {
                    hold(current, .group("\(group.name): `\(program.rules[draft.rule].name)` wins"))
                    winners[position] = index
                } else {
                    hold(draft, .group("\(group.name): `\(program.rules[current.rule].name)` wins"))
                }
            } else {
                contested.append(winners.count)
                winners.append(index)
            }
        }
        if winners.count > 1 { winners.sort { drafts[$0].rule < drafts[$1].rule } }
        // Caps and rule-set limits, in rule order; each accepted decision counts for the next.
        var decisions: [Decision] = []
        decisions.reserveCapacity(winners.count)
        for index in winners {
            let draft = drafts[index]
            var blocked: Outcome? = nil
            for (position, cap) in program.rules[draft.rule].caps.enumerated() where blocked == nil {
                guard let capKey = draft.keys[cap.key.slot] else { continue }
                if exceeds(cap, ruleCapSpaces[draft.rule][position], capKey, draft: draft, at: time) {
                    blocked = .cap("cap \(ValueText.describe(RuntimeValue(.money, cap.amount, unit: cap.currency ?? 0), program: program)) per \(cap.key.text)")
                }
            }
            for (position, policy) in program.policies.enumerated() where blocked == nil {
                guard let policyKey = draft.keys[policy.key.slot] else { continue }
                switch policy.kind {
                case .cap:
                    if exceeds(policy, policySpaces[position], policyKey, draft: draft, at: time) {
                        blocked = .cap("policy cap \(ValueText.describe(RuntimeValue(.money, policy.amount, unit: policy.currency ?? 0), program: program)) per \(policy.key.text)")
                    }
                case .limit:
                    if recent(limitUses, policySpaces[position], policyKey, window: policy.windowMilliseconds, at: time) >= policy.amount {
                        blocked = .limit("policy limit \(policy.amount) per \(policy.key.text)")
                    }
                }
            }
            if let blocked {
                hold(draft, blocked)
                continue
            }
            decisions.append(accept(draft, at: time))
        }
        return decisions
    }

    func beats(_ a: Draft, _ b: Draft, order: Program.Group.Order) -> Bool {
        let (ra, rb) = (program.rules[a.rule], program.rules[b.rule])
        if order == .amount {
            let (ma, mb) = (a.money.total, b.money.total)
            if ma != mb { return ma > mb }
        }
        if ra.priority != rb.priority { return ra.priority > rb.priority }
        return a.rule < b.rule
    }

    func exceeds(_ cap: Program.Policy, _ space: Int32, _ key: String, draft: Draft, at time: Int64) -> Bool {
        let unit = cap.currency ?? 0
        let amount = draft.money[unit] ?? 0
        guard amount > 0 else { return false }
        let used = (capUses[space, key] ?? []).reduce(Int64(0)) { sum, entry in
            entry.count == 2 && (cap.windowMilliseconds.map { entry[0] > time - $0 } ?? true) ? sum + entry[1] : sum
        }
        return used + amount > cap.amount
    }

    /// Records an accepted draft in the state and turns it into a decision.
    func accept(_ draft: Draft, at time: Int64) -> Decision {
        for (position, limit) in program.rules[draft.rule].limits.enumerated() {
            guard let key = draft.keys[limit.key.slot] else { continue }
            let entry = limitUses.entry(ruleLimitSpaces[draft.rule][position], key, default: [])
            append(limitUses, entry, time, window: limit.windowMilliseconds)
            changed?.limitUses.insert(entry)
        }
        for (position, cap) in program.rules[draft.rule].caps.enumerated() {
            let amount = draft.money[cap.currency ?? 0] ?? 0
            guard amount > 0, let key = draft.keys[cap.key.slot] else { continue }
            let entry = capUses.entry(ruleCapSpaces[draft.rule][position], key, default: [])
            capUses[entry: entry].append([time, amount])
            changed?.capUses.insert(entry)
        }
        for (position, policy) in program.policies.enumerated() {
            guard let policyKey = draft.keys[policy.key.slot] else { continue }
            switch policy.kind {
            case .cap:
                let amount = draft.money[policy.currency ?? 0] ?? 0
                guard amount > 0 else { continue }
                let entry = capUses.entry(policySpaces[position], policyKey, default: [])
                capUses[entry: entry].append([time, amount])
                changed?.capUses.insert(entry)
            case .limit:
                let entry = limitUses.entry(policySpaces[position], policyKey, default: [])
                append(limitUses, entry, time, window: policy.windowMilliseconds)
                changed?.limitUses.insert(entry)
            }
        }
        if let groupIndex = program.rules[draft.rule].group, let key = draft.keys[program.groups[groupIndex].key.slot] {
            let entry = groupUses.entry(groupSpaces[groupIndex], key, default: [])
            append(groupUses, entry, time, window: program.groups[groupIndex].windowMilliseconds)
            changed?.groupUses.insert(entry)
        }
        let subject = program.entities[program.rules[draft.rule].subject].name
        let ruleName = program.rules[draft.rule].name
        state.statistics.decisions += 1
        note(draft.rule, .decided)
        // A rule with limits counts its decisions per subject: the n-th is occurrence n. A rule
        // without limits (`limit none`) keeps no memory per subject, so its occurrence is named
        // by the triggering event instead; either way the same input gives the same key.
        var occurrence = 0
        if !program.rules[draft.rule].limits.isEmpty {
            let entry = occurrences.entry(occurrenceSpaces[draft.rule], draft.subjectKey, default: 0)
            occurrence = occurrences[entry: entry] + 1
            occurrences[entry: entry] = occurrence
            changed?.occurrences.insert(entry)
        }
        var key = ""
        if formatsDecisions {
            if program.rules[draft.rule].limits.isEmpty {
                key = ruleName + "|" + subject + ":" + draft.subjectKey + "|@" + draft.event.id
            } else {
                // Built in one buffer: the chain of `+` made a string per step, per decision.
                key.reserveCapacity(ruleName.utf8.count + subject.utf8.count + draft.subjectKey.utf8.count + 24)
                key += ruleName
                key += "|"
                key += subject
                key += ":"
                key += draft.subjectKey
                key += "|"
                key += String(occurrence)
            }
        }
        // Most decisions are made at their event's time, already formatted for the reference.
        let text = !formatsDecisions ? "" : time == draft.event.milliseconds ? draft.event.time : TimeFormat.format(timestamp: time)
        return Decision(rule: ruleName, subject: Decision.Subject(entity: subject, key: draft.subjectKey), customer: draft.customerKey,
                        event: draft.event, time: text, milliseconds: time, actions: draft.actions,
                        occurrence: occurrence, dimensions: draft.dimensions, key: key, ruleIndex: draft.rule)
    }

    /// Adds a use; without a window only the count matters, so one entry per use is kept
    /// (old entries of windowed keys are dropped as they expire).
    @inline(__always) func append(_ table: KeyTable<[Int64]>, _ entry: Int, _ time: Int64, window: Int64?) {
        if let window { table[entry: entry].removeAll { $0 <= time - window } }
        table[entry: entry].append(time)
    }

    // MARK: - History

    func record(_ index: Int, at time: Int64) {
        let aggregate = program.aggregates[index]
        let keyValue = frame.slots[aggregate.per.slot]
        guard !keyValue.isMissing else { return }
        let matched: Int64 = aggregateFilters[index].map { $0(frame) == .true ? 1 : 0 } ?? 1
        var value: Int64 = 0
        if let compute = aggregateValues[index] {
            let v = compute(frame)
            value = v.isMissing ? 0 : v.bits
        }
        let key = "a\(index)|\(keyText(keyValue))"
        var entries = state.history[key] ?? []
        entries.removeAll { $0[0] <= time - aggregate.windowMilliseconds }
        entries.append([time, matched, value])
        state.history[key] = entries
        changed?.history.insert(key)
    }

    /// The aggregate's value for the current event's key, over the window ending now
    /// (the current event included).
    func aggregateValue(_ index: Int) -> RuntimeValue {
        if let cached = aggregateCache[index] { return cached }
        let aggregate = program.aggregates[index]
        let keyValue = frame.slots[aggregate.per.slot]
        guard !keyValue.isMissing else { return .missing }
        let entries = (state.history["a\(index)|\(keyText(keyValue))"] ?? []).filter { $0[0] > currentTime - aggregate.windowMilliseconds }
        let value: RuntimeValue
        switch aggregate.function {
        case .count:
            value = RuntimeValue(.integer, entries.reduce(0) { $0 + $1[1] })
        case .share:
            let matched = entries.reduce(0) { $0 + $1[1] }
            value = entries.isEmpty ? .missing
                : RuntimeValue(.percent, FixedPoint.multiplyDivide(matched, 1_000_000, Int64(entries.count)) ?? 0)
        case .sum:
            let total = entries.reduce(Int64(0)) { $0 + ($1[1] == 1 ? $1[2] : 0) }
            let kind = aggregate.value.map { node -> (RuntimeValue.Kind, Int32) in
                if let slot = node.index, node.operation == .slot { return (program.slots[slot].kind, program.slots[slot].unit) }
                return (.integer, 0)
            } ?? (.integer, 0)
            value = RuntimeValue(kind.0, total, unit: kind.1)
        }
        aggregateCache[index] = value
        return value
    }
}

/// A binary min-heap of (deadline, pending key): the next deadline in O(1), insertion and
/// removal in O(log n), so many waiting absence rules cost nothing per event.
struct DeadlineQueue {
    private var heap: [(deadline: Int64, key: String)] = []

    var first: (deadline: Int64, key: String)? { heap.first }

    private static func less(_ a: (deadline: Int64, key: String), _ b: (deadline: Int64, key: String)) -> Bool {
        (a.deadline, a.key) < (b.deadline, b.key)
    }

    mutating func insert(_ entry: (Int64, String)) {
        heap.append((entry.0, entry.1))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeFirst() {
        guard !heap.isEmpty else { return }
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, Self.less(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count, Self.less(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

/// The values of up to four tested slots, as one hash key without an allocation per event.
/// Rules testing more slots are filed under their first four; their condition checks the rest.
struct DispatchKey: Hashable {
    static let width = 4
    var a = RuntimeValue.missing, b = RuntimeValue.missing, c = RuntimeValue.missing, d = RuntimeValue.missing
    subscript(place: Int) -> RuntimeValue {
        get { [a, b, c, d][place] }
        set {
            switch place {
            case 0: a = newValue
            case 1: b = newValue
            case 2: c = newValue
            default: d = newValue
            }
        }
    }
}

/// Decides on a parsing thread whether an event can matter to the engine, so that the engine's
/// thread sees only those (a replay's wall time is bound by that one thread, and most events
/// trigger nothing). It holds an event back only when the engine would do nothing with it but
/// count it: no aggregate takes it in, no absence rule awaits its type, and every rule it
/// triggers has a condition, without history, that is false on it (true or unknown lets it
/// through, so misses are counted where they were). Conditions run on the screen's own frame;
/// the engine's tables it reads never change after `init`.
public final class EventScreen: @unchecked Sendable {
    let engine: Engine
    let frame: Frame
    let readsHistory: [Bool]
    /// By rule: its condition reads a string field of the event. Only for those does the frame
    /// take the event's strings (shared with the parser, retained and released each time).
    let ruleReadsStrings: [Bool]
    /// Some condition reads strings: the parser must make them before the screen runs.
    public let readsStrings: Bool

    init(engine: Engine) {
        self.engine = engine
        frame = Frame(program: engine.program)
        frame.parameters = engine.frame.parameters
        readsHistory = engine.readsHistory
        let program = engine.program
        ruleReadsStrings = program.rules.map { rule in
            rule.condition?.contains { node in
                guard node.operation == .slot, let slot = node.index else { return false }
                guard program.slots.indices.contains(slot) else { return true }
                return program.slots[slot].kind == .string || program.slots[slot].kind == .list
            } ?? false
        }
        readsStrings = ruleReadsStrings.contains(true)
    }

    /// True when the engine must see the event.
    public func admits(_ event: UnsafePointer<Event>) -> Bool {
        let type = event.pointee.type
        guard engine.aggregatesByEvent[type].isEmpty, engine.awaitingRules[type].isEmpty else { return true }
        var admitted = false
        var loaded = false
        var withStrings = false
        _ = engine.forEachTriggered(type, event) { rule in
            guard !admitted else { return }
            guard let condition = engine.conditions[rule], !readsHistory[rule] else {
                admitted = true
                return
            }
            if !loaded {
                event.pointee.slots.withUnsafeBufferPointer { _ = frame.slots.update(fromContentsOf: $0) }
                loaded = true
            }
            if ruleReadsStrings[rule], !withStrings {
                frame.strings = event.pointee.strings
                withStrings = true
            }
            if condition(frame) != .false { admitted = true }
        }
        // The frame lets go of the event's strings: shared, the parser's next reuse of the
        // event would copy them.
        if withStrings { frame.strings = [] }
        return admitted
    }
}
