import RedressIR
import RedressEvents

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
    /// When each of `occurrences` was last counted (retention); a state written before there
    /// were such times has none, and its counts are then taken as last used at its clock.
    public var occurrenceTimes: [String: Int64] = [:]
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
    public internal(set) var outcomes: [Int: Outcome] = [:]

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
        aggregateSpaces = spaces.aggregates
        // In the order `namespaces` numbers them.
        spaceWindows = program.rules.flatMap { $0.limits.map(\.windowMilliseconds) } + program.rules.flatMap { $0.caps.map(\.windowMilliseconds) }
            + program.policies.map(\.windowMilliseconds) + program.groups.map(\.windowMilliseconds)
            + program.rules.map { _ -> Int64? in nil } + program.aggregates.map { Optional($0.windowMilliseconds) }
        readsHistory = program.rules.map { $0.condition?.contains { $0.operation == .aggregate } ?? false }
        recordedStamp = [Int](repeating: -1, count: program.aggregates.count)
        recordedEntry = [Int](repeating: -1, count: program.aggregates.count)
        foreign.limitUses = load(state.limitUses, into: limitUses, spaces: spaces.limits.flatMap { $0 } + spaces.policies, as: StoredWindow.times)
        foreign.capUses = load(state.capUses, into: capUses, spaces: spaces.caps.flatMap { $0 } + spaces.policies, as: StoredWindow.grants)
        foreign.groupUses = load(state.groupUses, into: groupUses, spaces: spaces.groups, as: StoredWindow.times)
        let clock = state.clock
        let times = state.occurrenceTimes
        var foreignTimes: [String: Int64] = [:]
        // With the time each count was last used, where the state has it (else its clock).
        foreign.occurrences = load(state.occurrences, into: occurrences, spaces: spaces.occurrences) { key, count in
            Occurrence(count: count, last: times[key] ?? clock)
        }
        for key in foreign.occurrences.keys { if let time = times[key] { foreignTimes[key] = time } }
        foreign.occurrenceTimes = foreignTimes
        foreign.history = load(state.history, into: history, spaces: spaces.aggregates, as: StoredWindow.events)
        // The tables are the memory now; `state` gets them back at each snapshot.
        self.state.limitUses = [:]
        self.state.capUses = [:]
        self.state.groupUses = [:]
        self.state.occurrences = [:]
        self.state.occurrenceTimes = [:]
        horizon = retentionHorizon(at: state.clock)
        self.state.history = [:]
        frame.aggregate = { [unowned self] index in self.aggregateValue(index) }
    }

    let eventNames: [String]
    /// Events per type since the last `statistics` read (a dictionary update per event would cost more).
    var typeCounts: [Int]

    // The memory per key (limits, caps, groups, occurrences, history) lives in hash tables keyed
    // by a namespace number and the key's text, not in `state`'s dictionaries of glued strings
    // (`r3.0|order-7`): several lookups per decision, see KeyTable. What is kept over time is a
    // SlidingWindow per key, read and updated in amortised O(1) per event. `snapshot()` writes
    // the tables back into `state` in the persisted format, and `init` reads them from it;
    // `takeChanges()` converts only the entries written since the last checkpoint.
    let limitUses = KeyTable<SlidingWindow>()
    let capUses = KeyTable<SlidingWindow>()
    let groupUses = KeyTable<SlidingWindow>()
    let occurrences = KeyTable<Occurrence>()
    /// History aggregates' events, per aggregate (namespace) and `per` key.
    let history = KeyTable<SlidingWindow>()
    /// By namespace: the prefix its keys carry in `state` (`r3.0|`, `p1|`, `g0|`, `late|`, `a2|`).
    let prefixes: [String]
    /// Namespaces: by rule and limit, by rule and cap, by rule-set policy, by group, by rule, by aggregate.
    let ruleLimitSpaces: [[Int32]]
    let ruleCapSpaces: [[Int32]]
    let policySpaces: [Int32]
    let groupSpaces: [Int32]
    let occurrenceSpaces: [Int32]
    let aggregateSpaces: [Int32]
    /// By namespace: the window of its limit, cap, policy, group or aggregate (nil: none).
    let spaceWindows: [Int64?]

    // Retention (Retention.swift).
    /// How long a key without a window is kept after its last use, in event time (nil: for
    /// ever). Set it before the first event.
    public var retention: Int64? = Engine.defaultRetention {
        didSet { horizon = retentionHorizon(at: state.clock) }
    }
    /// Keys without a window last used at or before this time are forgotten.
    var horizon: Int64 = .min
    /// Keys the retention period dropped in this process, and the horizon of the last sweep that
    /// dropped any (they had not been used since).
    public internal(set) var retentionDropped = 0
    public internal(set) var retentionDroppedBefore: Int64? = nil

    /// Entries of a loaded state that no namespace of this program claims: kept as they were.
    var foreign = EngineState()
    /// Keys written since the last checkpoint (StateChanges.swift); nil, and nothing recorded,
    /// unless a caller that checkpoints asked for them.
    var changed: ChangedKeys? = nil

    // History (History.swift): per aggregate, the number of the event that last recorded into
    // it and the table entry it recorded into, so that reading it for the same event needs no
    // second lookup of the key.
    var eventNumber = 0
    var recordedStamp: [Int]
    var recordedEntry: [Int]

    // The dispatch index (Dispatch.swift).
    var candidateBuffer: [Int] = []
    /// Per event type and branch: the branch's values → its rules, as a hash table.
    let branchIndex: [[[DispatchKey: [Int]]]]
    /// The same for branches testing one enum field (`customer.tier == VIP`), as arrays by case:
    /// the most common dispatch, without hashing per event. The enum's index (nil for other
    /// branches) and the rules by case, in two tables: an optional tuple of arrays would be
    /// copied per event.
    let enumBranchUnits: [[Int32?]]
    let enumBranchRules: [[[[Int]]]]

    // Policies (Policies.swift): drafts by position, in two buffers reused per event.
    var eligible: [Int] = []
    var winners: [Int] = []

    /// Rules whose condition reads a history aggregate: only the engine can evaluate it (Screening.swift).
    let readsHistory: [Bool]

    static func namespaces(_ program: Program) -> (prefixes: [String], limits: [[Int32]], caps: [[Int32]], policies: [Int32], groups: [Int32],
                                                   occurrences: [Int32], aggregates: [Int32]) {
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
        let aggregates = program.aggregates.indices.map { space("a\($0)|") }
        return (prefixes, limits, caps, policies, groups, occurrences, aggregates)
    }

    /// Moves persisted entries (`prefix` + key) into a table, converted; returns those no
    /// namespace claims, as they were.
    func load<Stored, Value>(_ entries: [String: Stored], into table: KeyTable<Value>, spaces: [Int32], as convert: (Stored) -> Value) -> [String: Stored] {
        load(entries, into: table, spaces: spaces) { _, stored in convert(stored) }
    }

    /// The same, converting with the persisted key at hand.
    func load<Stored, Value>(_ entries: [String: Stored], into table: KeyTable<Value>, spaces: [Int32], keyed convert: (String, Stored) -> Value) -> [String: Stored] {
        var rest: [String: Stored] = [:]
        // Sorted: the table's entry order (and so a later snapshot's work) does not depend on
        // the dictionary's.
        for (key, stored) in entries.sorted(by: { $0.key < $1.key }) {
            if let space = spaces.first(where: { key.hasPrefix(prefixes[Int($0)]) }) {
                let value = convert(key, stored)
                let entry = table.entry(space, String(key.dropFirst(prefixes[Int(space)].count)), default: value)
                table[entry: entry] = value
            } else {
                rest[key] = stored
            }
        }
        return rest
    }

    /// The persisted key of a table entry (`r3.0|order-7`).
    func persistedKey<Value>(_ table: KeyTable<Value>, _ entry: Int) -> String {
        prefixes[Int(table.namespace(at: entry))] + table.key(at: entry)
    }

    func persisted<Stored, Value>(_ table: KeyTable<Value>, _ foreign: [String: Stored], as convert: (Value) -> Stored) -> [String: Stored] {
        var result = foreign
        result.reserveCapacity(foreign.count + table.count)
        for entry in 0..<table.count { result[persistedKey(table, entry)] = convert(table[entry: entry]) }
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
        copy.limitUses = persisted(limitUses, foreign.limitUses, as: StoredWindow.times)
        copy.capUses = persisted(capUses, foreign.capUses, as: StoredWindow.grants)
        copy.groupUses = persisted(groupUses, foreign.groupUses, as: StoredWindow.times)
        copy.occurrences = persisted(occurrences, foreign.occurrences) { $0.count }
        copy.occurrenceTimes = persisted(occurrences, foreign.occurrenceTimes) { $0.last }
        copy.history = persisted(history, foreign.history, as: StoredWindow.events)
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
        process(lent, line: lent.pointee.line)
    }

    /// The same, the event numbered `line` (its position in the engine's input) whatever its own
    /// `line` says: `serve` reads events numbered by their line in the request, and renumbering
    /// a copy of each retained and released its arrays (6% of its evaluator's thread).
    public func process(_ event: Event, line: Int) -> [Decision] {
        withUnsafePointer(to: event) { process($0, line: line) }
    }

    func process(_ lent: UnsafePointer<Event>, line: Int) -> [Decision] {
        var decisions = advance(to: lent.pointee.time)
        currentTime = lent.pointee.time
        if !aggregateCache.isEmpty { aggregateCache.removeAll(keepingCapacity: true) }
        if recordOutcomes { outcomes.removeAll() }
        observe(lent.pointee.time)
        // Retention looks back from this event's time (earlier than the clock when the input is
        // out of time order: its keys are then judged by its own time).
        horizon = retentionHorizon(at: lent.pointee.time)
        state.statistics.events += 1
        eventNumber += 1
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
                let earlier = state.answered.updateValue(lent.pointee.time, forKey: key)
                noteChange(\.answered, \.unstoredAnswered, key, present: earlier != nil)
                if let pending = state.pending[key], pending.deadline >= lent.pointee.time {
                    state.pending[key] = nil
                    noteChange(\.pending, \.unstoredPending, key, present: true)
                }
            }
        }
        for aggregate in aggregatesByEvent[lent.pointee.type] { record(aggregate, at: lent.pointee.time) }

        var drafts: [Draft] = []
        // Formatted only when some rule decides: most events decide nothing.
        var formatted: Decision.EventReference? = nil
        func reference() -> Decision.EventReference {
            if let formatted { return formatted }
            let made = Decision.EventReference(type: eventNames[lent.pointee.type], id: lent.pointee.id.isEmpty ? "line \(line)" : lent.pointee.id,
                                               line: line, time: formatsDecisions ? TimeFormat.format(timestamp: lent.pointee.time) : "",
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
                        let earlier = state.misses[key]
                        state.misses[key] = (earlier ?? 0) + 1
                        noteChange(\.misses, \.unstoredMisses, key, present: earlier != nil)
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
                if let answered = state.answered[key], answered <= lent.pointee.time, answered > horizon {
                    note(index, .answered(at: answered))
                    continue
                }
                if state.pending[key] == nil {
                    state.pending[key] = EngineState.Pending(deadline: deadline, awaitedEvent: absence.event,
                                                             keySlot: program.rules[index].subjectKey.slot, draft: draft)
                    noteChange(\.pending, \.unstoredPending, key, present: false)
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

    /// Room for about `keys` subjects in the memory per key that most rules use (limits and
    /// occurrences): a replay that expects many decisions saves growing the tables as it goes.
    public func reserve(keys: Int) {
        if program.rules.contains(where: { !$0.limits.isEmpty }) {
            limitUses.reserve(keys)
            occurrences.reserve(keys)
        }
    }
}
