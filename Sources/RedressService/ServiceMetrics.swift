import Foundation
import Prometheus
import RedressEngine
import RedressIR

/// The metrics of `GET /metrics`, in a registry of their own (no global metrics system is
/// bootstrapped). Counters grow after each durable group commit, from what the evaluator hands
/// over (`count`); gauges are read from the evaluators' status when scraped (`exposition`).
/// Every series of a rule set carries `set="active"` or `set="shadow"`. Counters count this
/// process (they start at zero after a restart, as Prometheus expects of counters); the state's
/// totals over restarts are in `/v1/status`.
public final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// The highest `after` cursor a consumer read the outbox from, per set (for the lag).
    let cursors = Cursors()

    /// Request latency buckets (seconds): a durable acknowledgement costs a sync (milliseconds);
    /// a long-poll can hold a request up to a minute.
    static let requestBuckets: [Duration] = [.microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                                             .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                             .seconds(1), .seconds(5), .seconds(30), .seconds(60)]
    static let evaluationBuckets: [Duration] = [.microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                                                .milliseconds(5), .milliseconds(10), .milliseconds(20), .milliseconds(50), .milliseconds(100),
                                                .milliseconds(500), .seconds(1)]

    public init() {}

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "redress", metricName: metric, unitName: unit, helpText: help)
    }

    static var events: MetricNameDescriptor { name("events", "total", "Events evaluated, by event type.") }
    static var duplicates: MetricNameDescriptor { name("duplicate_events", "total", "Events sent again (same id): answered with their first decisions, not evaluated.") }
    static var deadLetters: MetricNameDescriptor { name("dead_letters", "total", "Lines that were not an event (unreadable, unknown type, no id); not evaluated.") }
    static var decisions: MetricNameDescriptor { name("decisions", "total", "Decisions committed to the outbox, by rule.") }
    static var actions: MetricNameDescriptor { name("actions", "total", "Actions of the decisions committed, by rule and action verb.") }
    static var money: MetricNameDescriptor { name("money_minor", "total", "Money granted by the decisions committed (refunds, vouchers), in minor units of the currency, by rule and action.") }
    static var heldBack: MetricNameDescriptor { name("held_back", "total", "Decisions a policy held back, by rule and policy (limit, cap, group, inactive, not in rollout, missing key).") }
    static var commits: MetricNameDescriptor { name("commits", "total", "Group commits (one sync each).") }
    static var evaluation: MetricNameDescriptor { name("evaluation", "seconds", "Time to evaluate one group of requests and commit it durably.") }
    static var requests: MetricNameDescriptor { name("request", "seconds", "HTTP request latency, by route.") }
    static var pending: MetricNameDescriptor { name("pending_deadlines", "", "Absence deadlines waiting to fire.") }
    static var stateKeys: MetricNameDescriptor { name("state_keys", "", "Keys held in the engine's state (limits, caps, groups, decisions per subject, history, deadlines).") }
    static var latest: MetricNameDescriptor { name("outbox_latest_sequence", "", "The latest sequence committed to the outbox.") }
    static var cursor: MetricNameDescriptor { name("outbox_consumer_cursor", "", "The highest `after` cursor a consumer read the outbox from since the process started.") }
    static var lag: MetricNameDescriptor { name("outbox_lag", "", "Decisions committed and not yet read: latest sequence minus the highest cursor read since the process started.") }
    static var queued: MetricNameDescriptor { name("queued_events", "", "Events waiting for the evaluator.") }
    static var lateEvents: MetricNameDescriptor { name("late_events", "", "Events that arrived behind the watermark (this process).") }
    static var reloads: MetricNameDescriptor { name("reloads", "total", "Rule set reloads asked for, by outcome (switched, refused, failed).") }
    static var shadowDropped: MetricNameDescriptor { name("shadow_dropped_events", "", "Events the shadow did not evaluate (its queue was full or it failed).") }

    /// The series without a rule or type label, at 0 before anything happens, so that an alert
    /// on `rate(redress_dead_letters_total[5m])` or on reloads has a series from the start.
    public func register(set: String) {
        for descriptor in [Self.duplicates, Self.deadLetters, Self.commits] { _ = registry.makeCounter(descriptor: descriptor, labels: [("set", set)]) }
        for outcome in ["switched", "unchanged", "refused", "failed"] where set == "active" {
            _ = registry.makeCounter(descriptor: Self.reloads, labels: [("outcome", outcome)])
        }
    }

    /// What one durable group commit did, counted under `set`.
    public func count(_ group: CommittedGroup, set: String) {
        let program = group.program
        var duplicates = 0, deadLetters = 0
        for results in group.results {
            for result in results {
                switch result {
                case .accepted: break
                case .duplicate: duplicates += 1
                case .deadLetter: deadLetters += 1
                }
            }
        }
        let label = ("set", set)
        if duplicates > 0 { registry.makeCounter(descriptor: Self.duplicates, labels: [label]).increment(by: Int64(duplicates)) }
        if deadLetters > 0 { registry.makeCounter(descriptor: Self.deadLetters, labels: [label]).increment(by: Int64(deadLetters)) }
        for (type, count) in group.eventsByType {
            registry.makeCounter(descriptor: Self.events, labels: [label, ("type", type)]).increment(by: Int64(count))
        }
        for (key, count) in group.heldBack {
            let parts = key.split(separator: "|", maxSplits: 1)
            let rule = parts.first.map(String.init) ?? key, policy = parts.count > 1 ? String(parts[1]) : "unknown"
            registry.makeCounter(descriptor: Self.heldBack, labels: [label, ("rule", rule), ("policy", policy)]).increment(by: Int64(count))
        }
        // Decisions by rule; actions and money by rule and verb, tallied first (a registry lookup per series, not per decision).
        var byRule: [String: Int64] = [:]
        var byAction: [ActionKey: Int64] = [:]
        var granted: [MoneyKey: Int64] = [:]
        // Read in place: `for decision in` copied each decision (a dozen strings retained and
        // released), a twentieth of the committer's thread.
        let decisions = group.decisions
        for index in decisions.indices {
            let rule = decisions[index].rule
            byRule[rule, default: 0] += 1
            for action in decisions[index].actions {
                byAction[ActionKey(rule: rule, verb: action.verb), default: 0] += 1
                if let value = action.value, value.kind == .money, value.bits > 0, program.currencies.indices.contains(Int(value.unit)) {
                    let key = MoneyKey(rule: rule, verb: action.verb, currency: program.currencies[Int(value.unit)].code)
                    // Saturating: money past Int64 is not representable; it must not trap.
                    let (sum, overflow) = granted[key, default: 0].addingReportingOverflow(value.bits)
                    granted[key] = overflow ? .max : sum
                }
            }
        }
        for (rule, count) in byRule { registry.makeCounter(descriptor: Self.decisions, labels: [label, ("rule", rule)]).increment(by: count) }
        for (key, count) in byAction {
            registry.makeCounter(descriptor: Self.actions, labels: [label, ("rule", key.rule), ("action", key.verb)]).increment(by: count)
        }
        for (key, minor) in granted {
            registry.makeCounter(descriptor: Self.money, labels: [label, ("rule", key.rule), ("action", key.verb), ("currency", key.currency)])
                .increment(by: minor)
        }
        if group.requests > 0 || group.deadlineFired {
            registry.makeCounter(descriptor: Self.commits, labels: [label]).increment()
            registry.makeDurationHistogram(descriptor: Self.evaluation, labels: [label], buckets: Self.evaluationBuckets)
                .recordNanoseconds(Int64(group.seconds * 1e9))
        }
    }

    struct ActionKey: Hashable { var rule: String, verb: String }
    struct MoneyKey: Hashable { var rule: String, verb: String, currency: String }

    /// One HTTP request's latency, by route (the route's pattern, never the raw path: a path
    /// a client makes up must not make a new series).
    public func request(route: String, seconds: Double) {
        // Per request: the histogram is looked up in a small table of our own (the registry checks
        // names and labels on each lookup).
        let histogram = routes.lock.withLock {
            if let known = routes.histograms[route] { return known }
            let made = registry.makeDurationHistogram(descriptor: Self.requests, labels: [("route", route)], buckets: Self.requestBuckets)
            routes.histograms[route] = made
            return made
        }
        histogram.recordNanoseconds(Int64(max(0, seconds) * 1e9))
    }

    let routes = Routes()
    final class Routes: @unchecked Sendable {
        let lock = NSLock()
        var histograms: [String: DurationHistogram] = [:]
    }

    public func reload(outcome: String) {
        registry.makeCounter(descriptor: Self.reloads, labels: [("outcome", outcome)]).increment()
    }

    /// A consumer read the outbox of `set` after `cursor`.
    public func consumerRead(set: String, after cursor: Int64) { cursors.raise(set, to: cursor) }

    /// The text of `GET /metrics` (Prometheus text format 0.0.4), gauges read from the status
    /// of each evaluator now.
    public func exposition(_ sets: [(set: String, status: ServiceStatus)]) -> String {
        for (set, status) in sets {
            let label = ("set", set)
            registry.makeGauge(descriptor: Self.pending, labels: [label]).set(Int64(status.pendingDeadlines))
            registry.makeGauge(descriptor: Self.stateKeys, labels: [label]).set(Int64(status.stateKeys))
            registry.makeGauge(descriptor: Self.latest, labels: [label]).set(status.latestSequence)
            registry.makeGauge(descriptor: Self.queued, labels: [label]).set(Int64(status.queuedEvents))
            registry.makeGauge(descriptor: Self.lateEvents, labels: [label]).set(Int64(status.lateEvents))
            let cursor = cursors.highest(set)
            registry.makeGauge(descriptor: Self.cursor, labels: [label]).set(cursor)
            registry.makeGauge(descriptor: Self.lag, labels: [label]).set(max(0, status.latestSequence - cursor))
            // Counted by the active set, which hands events over; one series, no `set`.
            if set == "shadow", let active = sets.first(where: { $0.set == "active" }) {
                registry.makeGauge(descriptor: Self.shadowDropped).set(Int64(active.status.shadowDropped))
            }
        }
        return registry.emitToString()
    }

    final class Cursors: @unchecked Sendable {
        let lock = NSLock()
        var values: [String: Int64] = [:]
        func raise(_ set: String, to cursor: Int64) { lock.withLock { values[set] = max(values[set] ?? 0, cursor) } }
        func highest(_ set: String) -> Int64 { lock.withLock { values[set] ?? 0 } }
    }
}
