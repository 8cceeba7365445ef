import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressRuntime
@testable import RedressService
import Testing

/// One VIP late delivery per customer per 30 days, as rule `a`; `b` is another rule before or after it.
let limitedA = "rule a when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR\n  limit 1 per customer within 30d\n"
let otherB = "rule b when shipment.delay > 5d then send apology\n"
/// Reads a field the mission rule does not: events read for one program have another layout.
let pricey = "rule pricey on shipment.delivered when order.total > 10 EUR then send apology\n"

func accepted(_ results: [IngestResult]) -> [[OutboxEntry]] {
    results.compactMap { if case .accepted(_, _, let decisions) = $0 { decisions } else { nil } }
}

/// Reloads (issue 14, point 7): the state carried over by rule name, the switch between groups.
@Suite struct ReloadTests {
    @Test func aRuleKeepingItsNameKeepsItsLimitUsesAndNumberingWhenRulesMoveAround() throws {
        let before = try compile(limitedA + otherB)
        let live = try LiveRuleSet(program: before, state: scratchState(), clock: ManualClock(0), lateness: 0)
        let first = accepted(live.evaluate(try body(delivered("e1", shipment: "S1", customer: "C1"), program: before).items))
        try live.commit()
        #expect(first.map(\.count) == [1])

        // `b` now comes first: `a`'s limit is `r1.0|` in the new program, not `r0.0|`.
        let after = try compile(otherB + limitedA.replacingOccurrences(of: "refund 5 EUR", with: "refund 7 EUR"))
        let reload = try live.switchRules(to: after, trigger: "test")
        #expect(reload.previous == before.fingerprint && reload.fingerprint == after.fingerprint)
        #expect(reload.summary.rulesKept == ["a", "b"] && reload.summary.rulesAdded.isEmpty && reload.summary.rulesRemoved.isEmpty)
        #expect(reload.summary.carried > 0 && reload.summary.dropped == 0)

        // Same customer, another shipment: `a` is held back by the limit it used before the switch.
        let second = accepted(live.evaluate(try body(delivered("e2", shipment: "S2", customer: "C1"), program: after).items))
        try live.commit()
        #expect(second.map(\.count) == [0])
        // Another customer: the new amount, numbered as `a`'s decisions for that subject go on.
        let third = accepted(live.evaluate(try body(delivered("e3", shipment: "S3", customer: "C2"), program: after).items))
        try live.commit()
        #expect(third.first?.first?.decision.contains("\"amount\":\"7.00 EUR\"") == true)
        #expect(try live.reloads(limit: 5).map(\.trigger) == ["test"])
    }

    @Test func aCrashAfterASwitchReplaysWhatFollowedItWithTheNewRules() throws {
        let path = scratchState()
        let before = try compile(limitedA + otherB), after = try compile(otherB + limitedA)
        do {
            let live = try LiveRuleSet(program: before, state: path, clock: ManualClock(0), lateness: 0)
            _ = live.evaluate(try body(delivered("e1", shipment: "S1", customer: "C1"), program: before).items)
            try live.commit()
            _ = try live.switchRules(to: after, trigger: "test")
            _ = live.evaluate(try body(delivered("e2", shipment: "S2", customer: "C2"), program: after).items)
            try live.commit()
            // Dropped without a checkpoint, as a process killed: e2 is in the ingest log only.
        }
        let live = try LiveRuleSet(program: after, state: path, clock: ManualClock(0), lateness: 0)
        #expect(live.counts.replayed == 1)
        #expect(try live.reloads(limit: 5).map(\.trigger) == ["test"], "no second switch: the state is the new rules'")
        // Both customers' limit uses are there: C1's from before the switch, C2's from the log.
        let held = accepted(live.evaluate(try body(delivered("e3", shipment: "S3", customer: "C1") + "\n"
                                                   + delivered("e4", shipment: "S4", customer: "C2"), program: after).items))
        #expect(held.map(\.count) == [0, 0])
    }

    @Test func aRemovedRulesIndexedStateIsDroppedAndItsDecisionNumbersAreKept() throws {
        let before = try compile(limitedA)
        let path = scratchState()
        let live = try LiveRuleSet(program: before, state: path, clock: ManualClock(0), lateness: 0)
        _ = live.evaluate(try body(delivered("e1", customer: "C1"), program: before).items)
        try live.commit()
        let without = try compile(otherB)
        let removed = try live.switchRules(to: without, trigger: "test")
        #expect(removed.summary.rulesRemoved == ["a"] && removed.summary.rulesAdded == ["b"])
        #expect(removed.summary.dropped == 1, "the limit use of `a`, keyed by its index")
        // Back again: its decisions per subject were kept (by name), so the next key is not `|1` again.
        let back = try compile(limitedA)
        _ = try live.switchRules(to: back, trigger: "test")
        let again = accepted(live.evaluate(try body(delivered("e2", shipment: "S1", customer: "C1"), program: back).items))
        try live.commit()
        #expect(again.first?.first?.decision.contains("\"key\":\"a|shipment:S1|2\"") == true)
    }

    @Test func rulesChangedWhileStoppedAreSwitchedToAtStartupAndRecorded() throws {
        let path = scratchState()
        let before = try compile(limitedA)
        do {
            let live = try LiveRuleSet(program: before, state: path, clock: ManualClock(0), lateness: 0)
            _ = live.evaluate(try body(delivered("e1", customer: "C1"), program: before).items)
            try live.commit()
        }
        let after = try compile(otherB + limitedA)
        let live = try LiveRuleSet(program: after, state: path, clock: ManualClock(0), lateness: 0)
        let recorded = try live.reloads(limit: 5)
        #expect(recorded.map(\.trigger) == ["startup"])
        #expect(recorded.first?.previous == before.fingerprint && recorded.first?.fingerprint == after.fingerprint)
        let held = accepted(live.evaluate(try body(delivered("e2", shipment: "S2", customer: "C1"), program: after).items))
        try live.commit()
        #expect(held.map(\.count) == [0], "the limit use made before the restart holds")
        // And a third start with the same rules loads as saved, switching nothing.
        withExtendedLifetime(live) {}
    }

    @Test func aRequestReadBeforeASwitchIsReadAgainByTheNewRuleSet() async throws {
        let before = try compile(mission)
        let live = try LiveRuleSet(program: before, state: scratchState(), clock: ManualClock(0), lateness: 0)
        let evaluator = Evaluator(ruleSet: live, queueLimit: 100, loadedAt: "2026-06-01T00:00:00Z")
        let running = Task { try await evaluator.run() }
        while !evaluator.isReady { await Task.yield() }
        let (generation, reader) = evaluator.currentReader
        let text = delivered("e1", delay: "1d")
        let stale = try body(text, batch: false, program: reader.program).items
        let after = try compile(pricey)
        guard case .success(let reload) = await evaluator.reload(after, trigger: "test") else { Issue.record("no switch"); return }
        #expect(reload.fingerprint == after.fingerprint)
        #expect(evaluator.currentReader.generation == generation + 1)
        #expect(evaluator.program.fingerprint == after.fingerprint)
        // Read by the old reader, `order.total` has no slot; read again, `pricey` sees 50 EUR.
        let outcome = await evaluator.submit(stale, generation: generation) { reader in (try? body(text, batch: false, program: reader.program).items) ?? [] }
        guard case .done(let results) = outcome else { Issue.record("\(outcome)"); return }
        #expect(accepted(results).first?.first?.decision.contains("\"rule\":\"pricey\"") == true)
        let status = evaluator.currentStatus
        #expect(status.reloads == 1 && status.fingerprint == after.fingerprint)
        #expect(status.json().contains("\"trigger\":\"test\""))
        evaluator.stop()
        try await running.value
    }
}

/// `StateMigration` on its own: what is matched by name.
@Suite struct StateMigrationTests {
    @Test func limitsMoveWithTheirRuleAndChangedKeysAreDropped() throws {
        let before = try compile(limitedA + otherB)
        var state = EngineState()
        state.limitUses = ["r0.0|C1": [5], "r9.0|C1": [6]]
        state.occurrences = ["a|shipment:S1": 1]
        state.answered = ["1|S1": 7]
        let (moved, summary) = StateMigration.carry(state, from: before, to: try compile(otherB + limitedA))
        #expect(moved.limitUses == ["r1.0|C1": [5]])
        #expect(moved.occurrences == ["a|shipment:S1": 1])
        #expect(moved.answered == ["0|S1": 7])
        #expect(summary.dropped == 1)
        // The limit now counts per order: its uses per customer mean nothing for it.
        let perOrder = try compile(limitedA.replacingOccurrences(of: "per customer", with: "per order") + otherB)
        #expect(StateMigration.carry(state, from: before, to: perOrder).0.limitUses.isEmpty)
    }
}

extension StateMigrationTests {
    /// The example shop (policies, an exclusive group, history aggregates, absence rules) in a
    /// directory of its own, its files renamed by `rename`: rule order follows file names.
    func shop(_ rename: [String: String] = [:]) throws -> Program {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redress-shop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = repositoryRoot.appendingPathComponent("rules/shop")
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name.hasSuffix(".rules") || name.hasSuffix(".yaml") {
            guard !name.hasSuffix(".test.yaml") else { continue }
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: directory.appendingPathComponent(rename[name] ?? name))
        }
        guard case .success(let program) = RuleSetSource(paths: [directory.path]).compile() else {
            Issue.record("rules/shop does not compile")
            throw ServiceFailure("rules/shop does not compile")
        }
        return program
    }

    /// The engine's state after the first 1,500 events of the shop's history (absence deadlines still pending).
    func replayed(_ program: Program) throws -> EngineState {
        let history = try String(contentsOf: repositoryRoot.appendingPathComponent("rules/shop/events/history.jsonl"), encoding: .utf8)
        let text = history.split(separator: "\n").prefix(1500).joined(separator: "\n")
        let engine = Engine(program: program)
        for case .event(let event, _) in try body(text, program: program).items { _ = engine.process(event) }
        return engine.snapshot()
    }

    @Test func rulesReorderedCarryTheStateTheNewOrderWouldHaveMade() throws {
        let before = try shop()
        // `alarms.rules` last: every rule after it moves up; policies, groups and aggregates are numbered afresh.
        let after = try shop(["alarms.rules": "zz-alarms.rules"])
        #expect(before.rules.map(\.name) != after.rules.map(\.name))
        #expect(before.fingerprint != after.fingerprint)
        let state = try replayed(before)
        #expect(!state.limitUses.isEmpty, "limits")
        #expect(!state.history.isEmpty, "aggregates")
        #expect(!state.pending.isEmpty, "absence deadlines")
        #expect(!state.groupUses.isEmpty || !state.capUses.isEmpty, "groups or caps")
        let (carried, summary) = StateMigration.carry(state, from: before, to: after)
        #expect(summary.dropped == 0 && summary.historyDropped == 0 && summary.pendingDropped == 0)
        let own = try replayed(after)
        #expect(carried.limitUses == own.limitUses)
        #expect(carried.capUses == own.capUses)
        #expect(carried.groupUses == own.groupUses)
        #expect(carried.history == own.history)
        #expect(carried.occurrences == own.occurrences)
        #expect(carried.answered == own.answered)
        #expect(carried.pending == own.pending)
        #expect(carried.pending.values.map(\.draft.rule).sorted() == own.pending.values.map(\.draft.rule).sorted())
    }
}
