import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressRuntime
@testable import RedressService
import Testing

/// The value of the series `name{labels}` in a Prometheus text exposition, or nil.
func sample(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}

/// Metrics (issue 14, point 5) and the shadow comparison (point 8), without HTTP.
@Suite struct MetricsAndShadowTests {
    /// A group as the evaluator publishes it, from a real evaluation.
    func group(_ program: Program, _ lines: [String]) throws -> CommittedGroup {
        let live = try LiveRuleSet(program: program, state: scratchState(), clock: ManualClock(0), lateness: 0)
        let statistics = live.engine.statistics
        let results = live.evaluate(try body(lines.joined(separator: "\n"), program: program).items)
        try live.commit()
        let now = live.engine.statistics
        return CommittedGroup(requests: 1, results: [results], deadlineFired: false, seconds: 0.002, latestSequence: live.lastSequence,
                              decisions: live.takeDecided(), eventsByType: Evaluator.difference(now.eventsByType, statistics.eventsByType),
                              heldBack: Evaluator.difference(now.heldBack, statistics.heldBack), program: program,
                              fingerprint: program.fingerprint)
    }

    @Test func countersFollowTheCommittedDecisionsWithMoneyInMinorUnits() throws {
        let program = try compile(limitedA)
        let metrics = ServiceMetrics()
        // Two VIP deliveries of one customer (the second held back by the limit), a retry, a bad line.
        let committed = try group(program, [delivered("e1", shipment: "S1", customer: "C1"), delivered("e2", shipment: "S2", customer: "C1"),
                                            delivered("e1", shipment: "S1", customer: "C1"), "{nope"])
        metrics.count(committed, set: "active")
        metrics.consumerRead(set: "active", after: 0)
        var status = ServiceStatus(fingerprint: program.fingerprint, rules: 1, loadedAt: "", statistics: EngineState().statistics,
                                   counts: LiveRuleSet.Counts(), latestSequence: 1, pendingDeadlines: 0, lateEvents: 0, queuedEvents: 0, queueLimit: 10)
        status.stateKeys = 3
        let text = metrics.exposition([("active", status)])
        #expect(sample(text, #"redress_events_total{set="active",type="shipment.delivered"}"#) == 2)
        #expect(sample(text, #"redress_duplicate_events_total{set="active"}"#) == 1)
        #expect(sample(text, #"redress_dead_letters_total{set="active"}"#) == 1)
        #expect(sample(text, #"redress_decisions_total{set="active",rule="a"}"#) == 1)
        #expect(sample(text, #"redress_actions_total{set="active",rule="a",action="refund"}"#) == 1)
        #expect(sample(text, #"redress_money_minor_total{set="active",rule="a",action="refund",currency="EUR"}"#) == 500)
        #expect(sample(text, #"redress_held_back_total{set="active",rule="a",policy="limit"}"#) == 1)
        #expect(sample(text, #"redress_evaluation_seconds_count{set="active"}"#) == 1)
        #expect(sample(text, #"redress_state_keys{set="active"}"#) == 3)
        #expect(sample(text, #"redress_outbox_lag{set="active"}"#) == 1)
        metrics.consumerRead(set: "active", after: 1)
        #expect(sample(metrics.exposition([("active", status)]), #"redress_outbox_lag{set="active"}"#) == 0)
    }

    @Test func theShadowReportCountsBothSidesAndListsTheSubjectsTheyDisagreeOn() throws {
        let active = try compile(mission)
        let draft = try compile(mission.replacingOccurrences(of: "2d", with: "4d"))
        let comparison = ShadowComparison(since: "2026-06-01T00:00:00Z")
        let lines = [delivered("e1", shipment: "S1", delay: "3d"), delivered("e2", shipment: "S2", delay: "5d")]
        comparison.add(try group(active, lines), side: .active)
        comparison.add(try group(draft, lines), side: .shadow)
        let status = ServiceStatus(fingerprint: draft.fingerprint, rules: 1, loadedAt: "", statistics: EngineState().statistics,
                                   counts: LiveRuleSet.Counts(), latestSequence: 1, pendingDeadlines: 0, lateEvents: 0, queuedEvents: 0, queueLimit: 10)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(comparison.json(active: status, shadow: status, queuedEvents: 0, droppedEvents: 0, failure: nil).utf8))
                                  as? [String: Any])
        #expect((report["active"] as? [String: Any])?["decisions"] as? Int == 2)
        #expect((report["shadow"] as? [String: Any])?["decisions"] as? Int == 1)
        #expect((report["active"] as? [String: Any])?["events"] as? Int == 2)
        let rows = try #require(report["byRule"] as? [[String: Any]])
        #expect(rows.count == 1 && rows[0]["baselineDecisions"] as? Int == 2 && rows[0]["decisions"] as? Int == 1)
        let disagreements = try #require(report["disagreements"] as? [String: Any])
        #expect(disagreements["count"] as? Int == 1)
        let shown = try #require(disagreements["shown"] as? [[String: Any]])
        let subject = shown.first?["subject"] as? String
        let shadowSide = shown.first?["shadow"] as? [String]
        #expect(subject == "shipment:S1")
        #expect(shadowSide == [])
        // Bounded: past `subjectLimit` subjects, decisions are counted, not followed.
        let bounded = ShadowComparison(since: "", subjectLimit: 1)
        bounded.add(try group(active, lines), side: .active)
        let limited = try #require(try JSONSerialization.jsonObject(with: Data(bounded.json(active: status, shadow: status, queuedEvents: 0,
                                                                                          droppedEvents: 0, failure: nil).utf8)) as? [String: Any])
        #expect((limited["disagreements"] as? [String: Any])?["untrackedSubjects"] as? Int == 1)
        #expect((limited["disagreements"] as? [String: Any])?["count"] as? Int == 1)
        // Deterministic: the same evaluations read the same.
        #expect(comparison.json(active: status, shadow: status, queuedEvents: 0, droppedEvents: 0, failure: nil)
                == comparison.json(active: status, shadow: status, queuedEvents: 0, droppedEvents: 0, failure: nil))
    }
}
