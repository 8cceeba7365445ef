import RedressIR
import RedressEvents

// MARK: - Screening on parsing threads

extension Engine {

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
