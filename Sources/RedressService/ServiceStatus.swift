import RedressEngine

/// What `GET /v1/status` reports: the rule set served and the counts so far.
public struct ServiceStatus: Sendable {
    public var fingerprint: String
    public var rules: Int
    /// When this process loaded the rule set (RFC 3339, UTC).
    public var loadedAt: String
    /// The state's totals since it began (over restarts).
    public var statistics: EngineState.Statistics
    /// This process's counts.
    public var counts: LiveRuleSet.Counts
    public var latestSequence: Int64
    public var pendingDeadlines: Int
    public var lateEvents: Int
    public var queuedEvents: Int
    public var queueLimit: Int
    /// Keys the engine's state holds (a gauge of its memory).
    public var stateKeys = 0
    /// The latest switch of rule set recorded in the state (by any process), and how many this
    /// process made.
    public var lastReload: RuleSetRecord.Reload? = nil
    public var reloads = 0
    /// Events the shadow refused (the active set's status only).
    public var shadowDropped = 0

    /// Keys in a fixed order, by-type counts sorted: the same state reads the same.
    public func json() -> String {
        let types = statistics.eventsByType.sorted { $0.key < $1.key }
            .map { "\(JSONText.quote($0.key)):\($0.value)" }.joined(separator: ",")
        return "{\"ruleSet\":{\"fingerprint\":\(JSONText.quote(fingerprint)),\"rules\":\(rules),\"loadedAt\":\(JSONText.quote(loadedAt))}"
            + ",\"state\":{\"events\":\(statistics.events),\"eventsByType\":{\(types)},\"decisions\":\(statistics.decisions),\"pendingDeadlines\":\(pendingDeadlines),\"keys\":\(stateKeys)}"
            + ",\"reloads\":{\"thisProcess\":\(reloads),\"last\":\(lastReload?.json() ?? "null")}"
            + ",\"process\":{\"accepted\":\(counts.accepted),\"duplicates\":\(counts.duplicates),\"deadLetters\":\(counts.deadLetters)"
            + ",\"decisions\":\(counts.decisions),\"deadlineDecisions\":\(counts.deadlineDecisions),\"lateEvents\":\(lateEvents),\"commits\":\(counts.commits)"
            + ",\"checkpoints\":\(counts.checkpoints),\"replayed\":\(counts.replayed)}"
            + ",\"outbox\":{\"latest\":\(latestSequence)}"
            + ",\"queue\":{\"events\":\(queuedEvents),\"limit\":\(queueLimit)}}"
    }
}
