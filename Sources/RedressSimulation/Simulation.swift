import RedressIR
import RedressEvents
import RedressEngine
import RedressRuntime

/// Replays historical events through the engine (the same one `run` uses, with event time as
/// the clock) and prices every decision with the catalog's cost model.
///
/// Events are replayed in event-time order: they are read into memory and sorted by time,
/// keeping the input order for equal times, so unsorted input gives the same result as sorted.
/// After the last event, deadlines up to its time fire (the data's clock stops there).
public struct Simulation {
    public var program: Program
    /// Fields (`customer.tier`) to break the cost down by; they must have slots in the program.
    public var by: [String] = []
    /// A budget in minor units of the catalog's currency: the report says when it runs out.
    public var budget: Int64? = nil
    /// An outcome field (`review.score`) and the entity to match it per (`order`): the report
    /// compares the outcome of what the rules compensated with everyone else's.
    public var outcome: (field: String, per: String)? = nil
    /// Exchange rates into the catalog's currency, in millionths (1 USD = 0.92 EUR is 920_000),
    /// by currency code.
    public var rates: [String: Int64] = [:]

    public init(program: Program, by: [String] = [], budget: Int64? = nil) {
        self.program = program
        self.by = by
        self.budget = budget
    }

    /// Replays `events` (any order) and returns the report.
    public func replay(_ events: [Event], deadLetters: Int = 0) -> Report {
        // Never stopped, so never nil.
        replay(events, deadLetters: deadLetters, shouldStop: { false }) ?? Report(program: program)
    }

    /// The same, asking `shouldStop` every 4,096 events: nil when it said stop (a workbench
    /// cancels a long replay this way).
    public func replay(_ events: [Event], deadLetters: Int = 0, shouldStop: () -> Bool) -> Report? {
        let ordered = events.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        let replay = Replay(self)
        for (index, event) in ordered.enumerated() {
            if index & 4095 == 0, shouldStop() { return nil }
            replay.feed(event)
        }
        var report = replay.finish(deadLetters: deadLetters)
        report.outOfOrder = zip(events, events.dropFirst()).filter { $0.time > $1.time }.count
        return report
    }

    var pricing: Pricing { Pricing(program: program, rates: rates) }
}

/// A replay fed one event at a time, in time order: what `simulate` streams when its input is
/// already sorted, so memory does not grow with the length of the input.
public final class Replay {
    let simulation: Simulation
    let engine: Engine
    var report: Report
    let tally: Tally
    var outcomeSlots: (value: Int, key: Int)? = nil
    var saved: [String: Report.Line] = [:]
    /// The first decisions each policy held back, by policy (what a reader checks the saving against).
    var heldBackExamples: [String: [Report.HeldBackExample]] = [:]
    /// Decisions of seasonal rules outside their `active` dates, by rule: not saved by a policy.
    var outOfSeason: [String: Report.Line] = [:]
    let pricing: Pricing
    /// The latest event time fed; an earlier one means the input is not sorted.
    public private(set) var lastTime: Int64 = .min

    public init(_ simulation: Simulation) {
        self.simulation = simulation
        let program = simulation.program
        engine = Engine(program: program)
        // The tally reads neither idempotency keys nor formatted times.
        engine.formatsDecisions = false
        pricing = simulation.pricing
        engine.reportSlots = simulation.by.compactMap { program.slot(named: $0) }
        report = Report(program: program)
        tally = Tally(program: program)
        // The outcome's key travels with each decision as one more (hidden) dimension.
        if let outcome = simulation.outcome, let value = program.slot(named: outcome.field),
           let entity = program.entities.first(where: { $0.name == outcome.per }), let key = program.slot(named: "\(entity.name).\(entity.key)") {
            outcomeSlots = (value, key)
            report.outcomeIndex = engine.reportSlots.count
            engine.reportSlots.append(key)
        }
        // So does the order's key, when the schema has orders (the caller asks for its slot): the
        // report counts the orders affected whatever entity the rules decide about.
        if let order = program.entities.first(where: { $0.name == "order" }), let key = program.slot(named: "order.\(order.key)") {
            report.orderIndex = engine.reportSlots.count
            engine.reportSlots.append(key)
        }
        report.byFields = simulation.by
        report.budget = simulation.budget
        report.outcomeField = simulation.outcome.map { "\($0.field) per \($0.per)" }
        // What policies saved: the price of each decision they held back. A seasonal rule outside
        // its `active` dates is not held back by a policy that saves money — it is not in force —
        // so its decisions are counted apart, by rule ("out of season"), and never as savings.
        let ruleNames = program.rules.map(\.name)
        engine.heldBack = { [unowned self] draft, outcome in
            var cost: Int64 = 0
            var exact = true
            for action in draft.actions { exact = Report.accumulate(&cost, self.pricing.cost(action) ?? 0) && exact }
            if case .inactive = outcome {
                let rule = ruleNames.indices.contains(draft.rule) ? ruleNames[draft.rule] : "?"
                exact = self.outOfSeason[rule, default: Report.Line(key: rule, decisions: 0, cost: 0)].add(cost: cost) && exact
            } else {
                let key = Engine.reason(outcome)
                exact = self.saved[key, default: Report.Line(key: key, decisions: 0, cost: 0)].add(cost: cost) && exact
                if self.heldBackExamples[key, default: []].count < Report.heldBackExampleCount {
                    let rule = ruleNames.indices.contains(draft.rule) ? ruleNames[draft.rule] : "?"
                    self.heldBackExamples[key, default: []].append(Report.HeldBackExample(rule: rule, subject: draft.subjectKey))
                }
            }
            if !exact { self.report.overflowed = true }
        }
    }

    /// The same for an event lent by pointer (the chunked reader's batches): not copied.
    public func feed(_ event: UnsafePointer<Event>) {
        lastTime = max(lastTime, event.pointee.time)
        if let (value, key) = outcomeSlots, !event.pointee.slots[value].isMissing, !event.pointee.slots[key].isMissing {
            // The program is bound only here: a copy of it retains and releases all its arrays.
            let program = simulation.program
            let keyValue = event.pointee.slots[key]
            let text = keyValue.kind == .string ? String(event.pointee.string(keyValue, program: program))
                : ValueText.describe(keyValue, program: program, strings: event.pointee.strings)
            report.recordOutcome(key: text, value: event.pointee.slots[value])
        }
        for decision in engine.process(event) { tally.add(decision, pricing: pricing, to: &report) }
    }

    public func feed(_ event: Event) {
        withUnsafePointer(to: event) { feed($0) }
    }

    /// Makes room for the keys (subjects, customers, orders) that `events` events may bring, so
    /// that the tables do not grow one doubling at a time during the replay. An estimate: a
    /// sixteenth of the events, at most 262,144 (more simply grows as before).
    public func reserve(events: Int) {
        let keys = min(max(events / 16, 16), 1 << 18)
        engine.reserve(keys: keys)
        tally.reserve(keys: keys)
    }

    /// A screen for one parsing thread (`ChunkedEventPipeline`), or nil when every event must be
    /// fed: the outcome field is read from events that trigger no rule.
    public func screen() -> EventScreen? {
        outcomeSlots == nil ? engine.screen() : nil
    }

    /// Takes in what a chunk's screen held back (events that trigger nothing: only counted).
    public func skip(_ screened: ChunkedEventPipeline.Screened) {
        engine.skip(count: screened.count, byType: screened.byType, latest: screened.latest)
        lastTime = max(lastTime, screened.latest)
    }

    /// Fires the deadlines up to the last event's time and returns the report.
    public func finish(deadLetters: Int) -> Report {
        if lastTime != .min {
            for decision in engine.advance(to: lastTime + 1) { tally.add(decision, pricing: pricing, to: &report) }
        }
        report.deadLetters = deadLetters
        report.finish(engine)
        tally.fold(into: &report)
        report.savedByPolicy = saved.values.sorted { ($1.cost, $0.key) < ($0.cost, $1.key) }
        report.heldBackExamples = heldBackExamples
        report.outOfSeason = outOfSeason.values.sorted { ($1.cost, $0.key) < ($0.cost, $1.key) }
        return report
    }
}

extension Replay {
    /// How a streamed replay ended.
    public enum Streamed {
        case report(Report)
        /// An event was earlier than one before it: the caller replays from memory, sorted.
        case unsorted
        /// The input could not be read (the message says why).
        case failed(String)
    }

    /// Replays `source` as it is read, in one pass, so memory does not grow with the input:
    /// for input already in time order, which is checked as it goes. Events are lent in place
    /// (no copy per event). On a file the parsing threads hold back the events that trigger
    /// nothing (most of them); the order is then checked per chunk, from the times of all its
    /// events, before any of them is fed. `progress` is called every 10,000 events (and dead
    /// letters) with how many there were so far.
    public func stream(_ source: LendingSource, progress: ((Int) -> Void)? = nil) -> Streamed {
        // JSON-lines events are a few hundred bytes each.
        if source.size > 0 { reserve(events: Int(source.size / 256)) }
        var bad = 0
        var sorted = true
        var count = 0
        func counted() {
            count += 1
            if let progress, count % 10_000 == 0 { progress(count) }
        }
        let deadLetter: (DeadLetter, Int) -> Bool = { _, _ in
            counted()
            bad += 1
            return true
        }
        let screens = (0..<source.workers).compactMap { _ in screen() }
        let failure: String?
        if source.workers > 0, screens.count == source.workers {
            var latest = Int64.min
            failure = source.read(screens: screens, screened: { chunk in
                if !chunk.ordered || (chunk.first != .min && chunk.first < latest) {
                    sorted = false
                    return false
                }
                latest = max(latest, chunk.latest)
                count += chunk.count
                self.skip(chunk)
                return true
            }, event: { event, _ in
                counted()
                self.feed(event)
                return true
            }, deadLetter: deadLetter)
        } else {
            failure = source.read(event: { event, _ in
                counted()
                if event.pointee.time < self.lastTime {
                    sorted = false
                    return false
                }
                self.feed(event)
                return true
            }, deadLetter: deadLetter)
        }
        if let failure { return .failed(failure) }
        return sorted ? .report(finish(deadLetters: bad)) : .unsorted
    }
}

/// The catalog's cost model: a refund costs its amount, a voucher its amount times the
/// redemption rate, a message its channel, a flag its tag, other actions their fixed or
/// per-unit cost. Costs are in minor units of the catalog's currency.
public struct Pricing: Sendable {
    /// What the catalog says an action costs, without its strings (looked up per action of
    /// every decision: a struct of strings would be retained and released each time).
    struct ActionCost: Sendable {
        enum Model: Sendable { case free, amount, fixed, perUnit }
        var model: Model
        var costMinor: Int64
        var redemptionRate: Int64?
    }

    let program: Program
    // Names and costs side by side, searched linearly: a catalog has a handful of each, and
    // comparing a few short strings costs less than hashing one (this runs per action priced).
    let actionNames: [String]
    let actions: [ActionCost]
    let channelNames: [String]
    let channels: [Int64]
    let tagNames: [String]
    let tags: [Int64]
    /// By currency index: the rate into the catalog's currency, in millionths.
    let rates: [Int32: Int64]

    public init(program: Program, rates: [String: Int64] = [:]) {
        self.program = program
        var byIndex: [Int32: Int64] = [:]
        for (index, currency) in program.currencies.enumerated() { if let rate = rates[currency.code] { byIndex[Int32(index)] = rate } }
        self.rates = byIndex
        // The first definition of a name counts (as a dictionary built with `uniquingKeysWith: first`).
        actionNames = program.catalog.actions.map(\.name)
        actions = program.catalog.actions.map { action in
            let model: ActionCost.Model = switch action.cost {
            case .amount: .amount
            case .fixed: .fixed
            case .perUnit: .perUnit
            case .free: .free
            }
            return ActionCost(model: model, costMinor: action.costMinor, redemptionRate: action.redemptionRate)
        }
        channelNames = program.catalog.channels.map(\.name)
        channels = program.catalog.channels.map(\.costMinor)
        tagNames = program.catalog.tags.map(\.name)
        tags = program.catalog.tags.map(\.costMinor)
    }

    /// Money of another currency in minor units of the catalog's: amount × rate, rescaled between
    /// the two currencies' minor units, rounded half to even. Nil without a rate.
    func convert(_ value: RuntimeValue) -> Int64? {
        guard let rate = rates[value.unit] else { return nil }
        let from = program.currencies[Int(value.unit)].minorUnits, to = program.currencies[Int(program.catalog.currency)].minorUnits
        var numerator = rate, denominator = FixedPoint.scale
        if to > from { for _ in 0..<(to - from) { numerator *= 10 } } else { for _ in 0..<(from - to) { denominator *= 10 } }
        return FixedPoint.multiplyDivide(value.bits, numerator, denominator, rounding: program.catalog.moneyRounding)
    }

    /// The cost of one action, or nil when its money is in another currency without a rate.
    @inline(__always) public func cost(_ action: Decision.Action) -> Int64? {
        let definition = actionNames.firstIndex(of: action.verb).map { actions[$0] }
        var cost: Int64 = 0
        switch definition?.model {
        case .amount:
            guard let value = action.value, value.kind == .money else { return 0 }
            if value.unit == program.catalog.currency {
                cost = value.bits
            } else {
                guard let converted = convert(value) else { return nil }
                cost = converted
            }
        case .fixed:
            cost = definition?.costMinor ?? 0
        case .perUnit:
            let units = action.value.map { $0.kind == .integer ? $0.bits : 0 } ?? 0
            let (product, overflow) = (definition?.costMinor ?? 0).multipliedReportingOverflow(by: units)
            // Too large to price exactly: the bound, which the report notices as an overflow.
            cost = overflow ? (((definition?.costMinor ?? 0) < 0) != (units < 0) ? .min : .max) : product
        default:
            cost = 0
        }
        if let rate = definition?.redemptionRate {
            cost = FixedPoint.multiplyDivide(cost, rate, FixedPoint.scale, rounding: program.catalog.moneyRounding) ?? cost
        }
        if let channel = action.channel, let position = channelNames.firstIndex(of: channel) { _ = Report.accumulate(&cost, channels[position]) }
        if let argument = action.argument, let position = tagNames.firstIndex(of: argument) { _ = Report.accumulate(&cost, tags[position]) }
        return cost
    }
}
