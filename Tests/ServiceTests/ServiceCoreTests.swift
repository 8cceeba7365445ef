import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressRuntime
import RedressState
import RedressSemantics
import RedressSyntax
import RedressState
import GRDB
@testable import RedressService
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Compiles rules against the example shop's schema and catalog.
func compile(_ rules: String) throws -> Program {
    func shop(_ name: String) -> SourceFile {
        let path = "rules/shop/\(name)"
        return SourceFile(path: path, text: (try? String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)) ?? "")
    }
    let report = RuleSetLoader.check(rules: [SourceFile(path: "t.rules", text: rules)], schema: shop("schema.yaml"), catalog: shop("catalog.yaml"))
    #expect(!report.diagnostics.contains { $0.severity == .error })
    return try #require(Program.compile(report).0)
}

func scratchState() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("redress-service-\(UUID().uuidString).sqlite").path
}

let mission = "when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology"
let notShipped = "rule not_shipped on order.placed unless shipment.shipped within 48h then send dispatch_delay_notice"

func delivered(_ id: String, shipment: String = "S1", customer: String = "C1", delay: String = "3d") -> String {
    "{\"event\":\"shipment.delivered\",\"time\":\"2026-06-05T10:00:00Z\",\"id\":\"\(id)\",\"shipment\":{\"id\":\"\(shipment)\",\"delay\":\"\(delay)\"},"
        + "\"order\":{\"id\":\"O-\(shipment)\",\"total\":\"50.00 EUR\"},\"customer\":{\"id\":\"\(customer)\",\"tier\":\"VIP\",\"country\":\"DE\"}}"
}

func placed(_ id: String, order: String, time: String) -> String {
    "{\"event\":\"order.placed\",\"time\":\"\(time)\",\"id\":\"\(id)\",\"order\":{\"id\":\"\(order)\",\"total\":\"50.00 EUR\"},"
        + "\"customer\":{\"id\":\"C1\",\"tier\":\"VIP\",\"country\":\"DE\"}}"
}

/// A request body read as `POST /v1/events` reads it.
func body(_ text: String, batch: Bool = true, program: Program, limit: Int = LineLimit.defaultBytes) throws -> IngestBody {
    var copy = text
    return try copy.withUTF8 { bytes in
        try IngestBody(UnsafeRawBufferPointer(bytes), batch: batch, reader: EventReader(program: program), maximumLineBytes: limit)
    }
}

/// The service core without HTTP: evaluation, group commit, the outbox, retries, restarts, deadlines.
@Suite struct ServiceCoreTests {
    @Test func anAcceptedEventsDecisionsAreInTheOutboxInOrderWithTheirSequence() throws {
        let program = try compile(mission)
        let path = scratchState()
        let live = try LiveRuleSet(program: program, state: path, clock: ManualClock(0), lateness: 0)
        let results = live.evaluate(try body(delivered("e1") + "\n" + delivered("e2", shipment: "S2", delay: "1d") + "\n", program: program).items)
        try live.commit()
        guard case .accepted(1, "e1", let first) = results[0], case .accepted(2, "e2", let second) = results[1] else {
            Issue.record("unexpected \(results)")
            return
        }
        #expect(first.map(\.sequence) == [1])
        #expect(first[0].decision.contains("\"rule\":\"t:1\""))
        #expect(first[0].json.hasPrefix("{\"sequence\":1,\"rule\":\"t:1\""))
        #expect(second.isEmpty, "a delay of one day decides nothing")
        #expect(try live.outbox.entries(after: 0, limit: 10) == first)
        #expect(try live.outbox.entries(after: 1, limit: 10).isEmpty)
        #expect(try live.outbox.latestSequence() == 1)
    }

    @Test func aRetriedEventAnswersWithTheDecisionsItCausedAndMakesNoneAgain() throws {
        let program = try compile(mission)
        let live = try LiveRuleSet(program: program, state: scratchState(), clock: ManualClock(0), lateness: 0)
        let first = live.evaluate(try body(delivered("e1"), batch: false, program: program).items)
        try live.commit()
        // Sent again twice in one group: both are duplicates of the first.
        var again = [live.evaluate(try body(delivered("e1") + "\n" + delivered("e1"), program: program).items)]
        try live.commit()
        try live.answerDuplicates(&again)
        guard case .accepted(_, _, let decided) = first[0] else { Issue.record("\(first)"); return }
        #expect(again[0] == [.duplicate(line: 1, id: "e1", decisions: decided), .duplicate(line: 2, id: "e1", decisions: decided)])
        #expect(try live.outbox.entries(after: 0, limit: 10).count == 1)
        #expect(live.counts.duplicates == 2)
        #expect(live.counts.accepted == 1)
    }

    @Test func aRestartGoesOnFromTheLastCommitWithTheSameSequencesAndIds() throws {
        let program = try compile(mission)
        let path = scratchState()
        do {
            let live = try LiveRuleSet(program: program, state: path, clock: ManualClock(0), lateness: 0)
            _ = live.evaluate(try body(delivered("e1") + "\n" + delivered("e2", shipment: "S2"), program: program).items)
            try live.commit()
            // Evaluated but never committed: as if the process died before the sync.
            _ = live.evaluate(try body(delivered("e3", shipment: "S3"), program: program).items)
        }
        let live = try LiveRuleSet(program: program, state: path, clock: ManualClock(0), lateness: 0)
        #expect(live.lastSequence == 2)
        var results = [live.evaluate(try body(delivered("e2", shipment: "S2") + "\n" + delivered("e3", shipment: "S3"), program: program).items)]
        try live.commit()
        try live.answerDuplicates(&results)
        guard case .duplicate(1, "e2", let old) = results[0][0], case .accepted(2, "e3", let new) = results[0][1] else {
            Issue.record("\(results)")
            return
        }
        #expect(old.map(\.sequence) == [2])
        #expect(new.map(\.sequence) == [3], "the uncommitted evaluation left no trace")
        #expect(try live.outbox.entries(after: 0, limit: 10).map(\.sequence) == [1, 2, 3])
    }

    @Test func aSecondProcessOnTheSameStateIsRefused() throws {
        let program = try compile(mission)
        let path = scratchState()
        let first = try LiveRuleSet(program: program, state: path, clock: ManualClock(0), lateness: 0)
        #expect(throws: ServiceFailure.self) { try LiveRuleSet(program: program, state: path, clock: ManualClock(0), lateness: 0) }
        withExtendedLifetime(first) {}
    }

    @Test func aStateOfOtherRulesWithoutTheirProgramIsRefused() throws {
        // As `run --state` leaves it: the fingerprint of its rules, not their program (serve
        // records that, and carries its state over to changed rules: ReloadTests).
        let path = scratchState()
        try StateStore(path: path).save(EngineState(), outputBytes: 0, deadLetterBytes: 0, program: "0123abcd", emitted: [])
        let error = #expect(throws: ServiceFailure.self) { try LiveRuleSet(program: try compile(notShipped), state: path, clock: ManualClock(0), lateness: 0) }
        #expect(error?.message.contains("made by other rules") == true)
    }

    @Test func aDeadlineFiresIntoTheOutboxOnTheWallClockWithNoFurtherEvent() throws {
        let program = try compile(notShipped)
        let placedAt = try #require(TimeFormat.timestamp("2026-06-01T10:00:00Z"))
        let clock = ManualClock(placedAt)
        let live = try LiveRuleSet(program: program, state: scratchState(), clock: clock, lateness: 60_000)
        let results = live.evaluate(try body(placed("p1", order: "O1", time: "2026-06-01T10:00:00Z"), program: program).items)
        try live.commit()
        #expect(results == [.accepted(line: 1, id: "p1", decisions: [])])
        #expect(!live.fireDue())
        let due = placedAt + 48 * 3_600_000 + 60_000 + 1
        clock.set(due - 1)
        #expect(live.millisecondsUntilDue() == 1)
        #expect(!live.fireDue())
        clock.set(due)
        #expect(live.fireDue())
        try live.commit()
        let entries = try live.outbox.entries(after: 0, limit: 10)
        #expect(entries.count == 1)
        #expect(entries.first?.decision.contains("\"rule\":\"not_shipped\"") == true)
        #expect(live.counts.deadlineDecisions == 1)
        // A retry of the order's event does not answer with the deadline's decision (it was the clock's).
        var again = [live.evaluate(try body(placed("p1", order: "O1", time: "2026-06-01T10:00:00Z"), program: program).items)]
        try live.answerDuplicates(&again)
        #expect(again[0] == [.duplicate(line: 1, id: "p1", decisions: [])])
    }

    @Test func badLinesAreDeadLettersWithTheirReasonAndBlankLinesAreCounted() throws {
        let program = try compile(mission)
        let read = try body(delivered("e1") + "\n\n{\"event\":\n" + delivered("").replacingOccurrences(of: ",\"id\":\"\"", with: "") + "\r\n", program: program)
        #expect(read.blankLines == 1)
        #expect(read.items.count == 3)
        #expect(read.eventCount == 1)
        guard case .deadLetter(3, let malformed) = read.items[1], case .deadLetter(4, let missing) = read.items[2] else {
            Issue.record("\(read.items)")
            return
        }
        #expect(!malformed.isEmpty)
        #expect(missing == IngestBody.missingID)
    }

    @Test func aLineOverTheLimitRefusesTheWholeRequest() throws {
        let program = try compile(mission)
        #expect(throws: IngestBody.LineTooLong(line: 2, limit: 100)) {
            try body("{}\n" + String(repeating: " ", count: 101), program: program, limit: 100)
        }
        #expect(throws: IngestBody.LineTooLong(line: 1, limit: 100)) {
            try body(delivered("e1"), batch: false, program: program, limit: 100)
        }
    }

    @Test func aSingleEventMaySpanLines() throws {
        let program = try compile(mission)
        let pretty = delivered("e1").replacingOccurrences(of: ",\"shipment\"", with: ",\n  \"shipment\"")
        let read = try body(pretty, batch: false, program: program)
        #expect(read.eventCount == 1, "\(read.items)")
    }
}

/// The evaluator's queue and answers (its thread started or not), and the long-poll signal.
@Suite struct EvaluatorTests {
    @Test func requestsAreAnsweredOnceDurableInArrivalOrder() async throws {
        let program = try compile(mission)
        let live = try LiveRuleSet(program: program, state: scratchState(), clock: ManualClock(0), lateness: 0)
        let evaluator = Evaluator(ruleSet: live, queueLimit: 100, loadedAt: "2026-06-01T00:00:00Z")
        let running = Task { try await evaluator.run() }
        while !evaluator.isReady { await Task.yield() }
        let answers = await withTaskGroup(of: IngestOutcome.self) { group in
            for index in 1...20 {
                let items = try! body(delivered("e\(index)", shipment: "S\(index)"), batch: false, program: program).items
                group.addTask { await evaluator.submit(items) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        var sequences: [Int64] = []
        for answer in answers {
            guard case .done(let results) = answer, case .accepted(_, _, let decisions) = results[0] else { Issue.record("\(answer)"); continue }
            sequences += decisions.map(\.sequence)
        }
        #expect(sequences.sorted() == Array(1...20))
        #expect(evaluator.committed.latest == 20)
        #expect(try evaluator.outbox.entries(after: 0, limit: 100).count == 20)
        // A group of nothing but a retry commits nothing and still answers with the decisions.
        let retry = await evaluator.submit(try body(delivered("e7", shipment: "S7"), batch: false, program: program).items)
        guard case .done(let again) = retry, case .duplicate(1, "e7", let decisions) = again[0] else { Issue.record("\(retry)"); return }
        #expect(decisions.count == 1)
        #expect(decisions.first?.decision.contains("\"id\":\"e7\"") == true)
        evaluator.stop()
        try await running.value
        #expect(!evaluator.isReady)
        guard case .unavailable = await evaluator.submit(try body(delivered("late"), batch: false, program: program).items) else {
            Issue.record("a stopped evaluator took a request")
            return
        }
        let status = evaluator.currentStatus
        #expect(status.counts.accepted == 20)
        #expect(status.statistics.events == 20)
        #expect(status.json().contains("\"outbox\":{\"latest\":20}"))
    }

    @Test func aFullQueueRefusesARequestWithoutEvaluatingIt() throws {
        let program = try compile(mission)
        let live = try LiveRuleSet(program: program, state: scratchState(), clock: ManualClock(0), lateness: 0)
        let evaluator = Evaluator(ruleSet: live, queueLimit: 2, loadedAt: "2026-06-01T00:00:00Z")
        // Taking requests, but its thread not started: what is queued stays queued.
        evaluator.running = true
        let outcomes = OutcomeLog()
        let one = try body(delivered("e1"), batch: false, program: program).items
        evaluator.submit(one) { outcomes.add($0) }
        evaluator.submit(one) { outcomes.add($0) }
        evaluator.submit(one) { outcomes.add($0) }
        #expect(outcomes.names == ["overloaded"])
        #expect(evaluator.currentStatus.queuedEvents == 2)
        // A request larger than the queue is still taken when the queue is empty.
        let empty = Evaluator(ruleSet: try LiveRuleSet(program: program, state: scratchState(), clock: ManualClock(0), lateness: 0),
                              queueLimit: 1, loadedAt: "")
        empty.running = true
        empty.submit(one + one + one) { outcomes.add($0) }
        #expect(empty.currentStatus.queuedEvents == 3)
    }

    @Test func aGroupTakesQueuedRequestsUpToItsEventLimitAndNeverSplitsOne() async throws {
        let program = try compile(mission)
        let live = try LiveRuleSet(program: program, state: scratchState(), clock: ManualClock(0), lateness: 0)
        let evaluator = Evaluator(ruleSet: live, queueLimit: 100, loadedAt: "2026-06-01T00:00:00Z")
        evaluator.groupEventLimit = 2
        let groups = GroupLog()
        evaluator.observe = { groups.add($0.results.map(\.count)) }
        // Queued before the thread starts: 1, 1, 1 and 3 events.
        evaluator.running = true
        let outcomes = OutcomeLog()
        for (index, events) in [1, 1, 1, 3].enumerated() {
            let lines = (0..<events).map { delivered("e\(index)-\($0)", shipment: "S\(index)-\($0)") }
            evaluator.submit(try body(lines.joined(separator: "\n"), program: program).items) { outcomes.add($0) }
        }
        let running = Task { try await evaluator.run() }
        while outcomes.lock.withLock({ outcomes.names.count }) < 4 { try await Task.sleep(for: .milliseconds(5)) }
        evaluator.stop()
        try await running.value
        #expect(outcomes.names == ["done", "done", "done", "done"])
        // Two requests of one event; the third alone (with the next it would hold 4); the
        // request of three events, larger than the limit, alone and whole.
        #expect(groups.requests == [[1, 1], [1], [3]])
    }

    @Test func theReadingThreadRunsWorkOnItsOwnThreadAndOnTheCallersOnceClosed() async throws {
        let program = try compile(mission)
        let thread = ReadingThread(name: "redress-test-read")
        // Not started: on the caller's thread; started: on one thread of its own, every time.
        let before = await thread.run { UInt(bitPattern: Int(pthread_self())) }
        thread.start()
        let first = await thread.run { UInt(bitPattern: Int(pthread_self())) }
        let second = await thread.run { UInt(bitPattern: Int(pthread_self())) }
        #expect(first == second)
        #expect(before != first)
        #expect(await thread.run { 6 * 7 } == 42)
        thread.release(try body(delivered("e1"), program: program))
        thread.close()
        // Closed: on the caller's thread again (the reading thread has ended).
        #expect(await thread.run { UInt(bitPattern: Int(pthread_self())) } != first)
    }

    // Nothing here measures how soon a waiter wakes: in a full parallel test run the waiting
    // task may wait minutes for a thread. A waiter that is not woken fails by the time limit.
    @Test(.timeLimit(.minutes(5)))
    func aLongPollReturnsWhenACommitPassesItsCursorOrAtItsTimeout() async {
        let sequence = CommittedSequence(5)
        await sequence.wait(beyond: 4, timeout: .seconds(3600))
        let clock = ContinuousClock()
        let start = clock.now
        await sequence.wait(beyond: 5, timeout: .milliseconds(50))
        #expect(clock.now - start >= .milliseconds(50))
        async let woken: Void = sequence.wait(beyond: 5, timeout: .seconds(3600))
        try? await Task.sleep(for: .milliseconds(20))
        sequence.publish(6)
        await woken
        #expect(sequence.latest == 6)
        async let stopped: Void = sequence.wait(beyond: 6, timeout: .seconds(3600))
        try? await Task.sleep(for: .milliseconds(20))
        sequence.finish()
        await stopped
        await sequence.wait(beyond: 6, timeout: .seconds(3600))
    }

    @Test func tokensAreComparedWhole() {
        let token = Array("s3cret-token".utf8)
        #expect(TokenComparison.same(token, token))
        #expect(!TokenComparison.same(Array("s3cret-tokeN".utf8), token))
        #expect(!TokenComparison.same(Array("s3cret".utf8), token))
        #expect(!TokenComparison.same(token + [0], token))
        #expect(!TokenComparison.same([], token))
    }
}

/// The answers' sizes of each committed group, in commit order.
final class GroupLog: @unchecked Sendable {
    let lock = NSLock()
    var groups: [[Int]] = []
    func add(_ group: [Int]) { lock.withLock { groups.append(group) } }
    var requests: [[Int]] { lock.withLock { groups } }
}

final class OutcomeLog: @unchecked Sendable {
    let lock = NSLock()
    var names: [String] = []
    func add(_ outcome: IngestOutcome) {
        let name = switch outcome {
        case .done: "done"
        case .overloaded: "overloaded"
        case .unavailable: "unavailable"
        }
        lock.withLock { names.append(name) }
    }
}

/// The ingest log: the engine's state checkpointed every so many events, the events between
/// evaluated again on a restart, to the same state and the same decisions.
@Suite struct IngestLogTests {
    static func shop() throws -> Program {
        let directory = repositoryRoot.appendingPathComponent("rules/shop")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".rules") }.sorted()
        let sources = try names.map { SourceFile(path: "rules/shop/\($0)", text: try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8)) }
        func file(_ name: String) throws -> SourceFile {
            SourceFile(path: name, text: try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8))
        }
        let report = RuleSetLoader.check(rules: sources, schema: try file("schema.yaml"), catalog: try file("catalog.yaml"))
        return try #require(Program.compile(report).0)
    }

    static func history(_ count: Int) throws -> [String] {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("rules/shop/events/history.jsonl"), encoding: .utf8)
        return Array(text.split(separator: "\n").prefix(count).map(String.init))
    }

    /// Feeds `lines` in groups of 40, the clock two days ahead of the group's last event (so the
    /// clock fires deadlines no event has passed yet, and later events are late), committing each
    /// group; returns the outbox entries made.
    static func feed(_ live: LiveRuleSet, _ lines: [String], clock: ManualClock, program: Program) throws -> [OutboxEntry] {
        var made: [OutboxEntry] = []
        for start in stride(from: 0, to: lines.count, by: 40) {
            let items = try body(lines[start..<min(lines.count, start + 40)].joined(separator: "\n"), program: program).items
            if case .event(let last, _)? = items.last { clock.set(last.time + 2 * 86_400_000) }
            for result in live.evaluate(items) {
                if case .accepted(_, _, let decisions) = result { made += decisions }
            }
            live.fireDue()
            try live.commit()
        }
        return made
    }

    /// A quiet spell: the clock a month on, deadlines fire with no event.
    static func quiet(_ live: LiveRuleSet, clock: ManualClock) throws -> Bool {
        clock.advance(by: 30 * 86_400_000)
        let fired = live.fireDue()
        try live.commit()
        return fired
    }

    @Test func aRestartBetweenCheckpointsReplaysTheLogToTheSameStateAndDecisions() throws {
        let program = try Self.shop()
        let lines = try Self.history(1200)
        let (first, second) = (Array(lines[..<800]), Array(lines[800...]))
        // Uninterrupted, checkpointing every 100 events.
        let steadyClock = ManualClock(0)
        let steady = try LiveRuleSet(program: program, state: scratchState(), clock: steadyClock, lateness: 0, checkpointEvery: 100)
        _ = try Self.feed(steady, first, clock: steadyClock, program: program)
        #expect(try Self.quiet(steady, clock: steadyClock))
        #expect(steady.counts.checkpoints >= 7)
        // Never checkpointed after its start, then dropped (as if killed) and reopened.
        let path = scratchState()
        let clock = ManualClock(0)
        do {
            let killed = try LiveRuleSet(program: program, state: path, clock: clock, lateness: 0, checkpointEvery: 1_000_000)
            _ = try Self.feed(killed, first, clock: clock, program: program)
            #expect(try Self.quiet(killed, clock: clock))
            #expect(killed.counts.checkpoints == 1, "only the new state's first")
            #expect(killed.sinceCheckpoint == 800)
        }
        let restarted = try LiveRuleSet(program: program, state: path, clock: clock, lateness: 0, checkpointEvery: 1_000_000)
        #expect(restarted.counts.replayed == 800)
        #expect(restarted.engine.snapshot() == steady.engine.snapshot())
        #expect(restarted.lastSequence == steady.lastSequence)
        #expect(restarted.lastSequence > 0)
        // Going on, both decide the same.
        let afterRestart = try Self.feed(restarted, second, clock: clock, program: program)
        let afterSteady = try Self.feed(steady, second, clock: steadyClock, program: program)
        #expect(afterRestart == afterSteady)
        #expect(!afterRestart.isEmpty)
        // A checkpoint empties the log: the next start replays nothing.
        try restarted.checkpoint()
        #expect(restarted.sinceCheckpoint == 0)
    }

    /// The evaluator defers the decisions' JSON to its committer: the rows and the answers then
    /// carry the same text as when it is written at once.
    @Test func decisionsWrittenLaterReadTheSameInTheOutboxAndTheAnswers() throws {
        let program = try Self.shop()
        let lines = try Self.history(300)
        let items = try body(lines.joined(separator: "\n"), program: program).items
        let clock = ManualClock(0)
        let atOnce = try LiveRuleSet(program: program, state: scratchState(), clock: clock, lateness: 0)
        let expected = atOnce.evaluate(items)
        try atOnce.commit()
        let deferring = try LiveRuleSet(program: program, state: scratchState(), clock: clock, lateness: 0)
        deferring.defersDecisionText = true
        var results = [deferring.evaluate(items)]
        #expect(results[0] != expected, "the text is left out until the commit")
        var pending = deferring.takeCommit()
        pending.writeDecisionTexts()
        try deferring.write(pending)
        pending.fillDecisionTexts(&results)
        #expect(results == [expected])
        #expect(try deferring.outbox.entries(after: 0, limit: 10_000) == (try atOnce.outbox.entries(after: 0, limit: 10_000)))
        #expect(!(try atOnce.outbox.entries(after: 0, limit: 10_000)).isEmpty)
    }

    /// The evaluator's committer writes the commits queued while it was busy together: runs of
    /// logged groups in one append and one transaction, a checkpoint on its own. Reopened, the
    /// state is the one commits written one by one make.
    @Test func commitsWrittenTogetherRestartToTheSameStateAsCommitsWrittenOneByOne() throws {
        let program = try Self.shop()
        let lines = try Self.history(900)
        let steadyClock = ManualClock(0)
        let steady = try LiveRuleSet(program: program, state: scratchState(), clock: steadyClock, lateness: 0, checkpointEvery: 300)
        _ = try Self.feed(steady, lines, clock: steadyClock, program: program)
        let path = scratchState()
        let clock = ManualClock(0)
        var outbox: [OutboxEntry] = []
        do {
            let together = try LiveRuleSet(program: program, state: path, clock: clock, lateness: 0, checkpointEvery: 300)
            var queued: [LiveRuleSet.PendingCommit] = []
            for start in stride(from: 0, to: lines.count, by: 40) {
                let items = try body(lines[start..<min(lines.count, start + 40)].joined(separator: "\n"), program: program).items
                if case .event(let last, _)? = items.last { clock.set(last.time + 2 * 86_400_000) }
                _ = together.evaluate(items)
                together.fireDue()
                queued.append(together.takeCommit())
                // Five groups at a time, a checkpoint among them (every 300 events).
                if queued.count == 5 {
                    try together.write(queued)
                    queued.removeAll()
                }
            }
            try together.write(queued)
            #expect(together.counts.checkpoints >= 3)
            #expect(together.sinceCheckpoint > 0, "the last groups are in the log only")
            outbox = try together.outbox.entries(after: 0, limit: 100_000)
        }
        let restarted = try LiveRuleSet(program: program, state: path, clock: clock, lateness: 0, checkpointEvery: 300)
        #expect(restarted.counts.replayed > 0)
        #expect(restarted.engine.snapshot() == steady.engine.snapshot())
        #expect(restarted.lastSequence == steady.lastSequence)
        #expect(outbox == (try steady.outbox.entries(after: 0, limit: 100_000)))
        #expect(!outbox.isEmpty)
    }

    @Test func aLogThatDisagreesWithTheOutboxIsRefused() throws {
        let program = try Self.shop()
        let path = scratchState()
        let clock = ManualClock(0)
        do {
            let live = try LiveRuleSet(program: program, state: path, clock: clock, lateness: 0, checkpointEvery: 1_000_000)
            _ = try Self.feed(live, try Self.history(400), clock: clock, program: program)
            #expect(live.lastSequence > 0)
        }
        // An outbox row deleted by hand.
        let store = try StateStore(path: path)
        try store.write { db in try db.execute(sql: "DELETE FROM outbox WHERE sequence = (SELECT max(sequence) FROM outbox)") }
        let error = #expect(throws: ServiceFailure.self) { try LiveRuleSet(program: program, state: path, clock: clock, lateness: 0) }
        #expect(error?.message.contains("changed outside redress") == true, "\(error?.message ?? "")")
    }

    @Test func aGroupAppendedButNeverCommittedDoesNotCountAndAShortenedLogIsRefused() throws {
        let program = try Self.shop()
        let path = scratchState()
        let clock = ManualClock(0)
        var replayed = 0
        do {
            let live = try LiveRuleSet(program: program, state: path, clock: clock, lateness: 0, checkpointEvery: 1_000_000)
            _ = try Self.feed(live, try Self.history(120), clock: clock, program: program)
            replayed = live.sinceCheckpoint
            // Killed after appending a group and before the commit that would have counted it.
            var extra = IngestGroup(firstSequence: live.lastSequence)
            extra.events = [.init(mark: 0, line: ArraySlice(try Self.history(121)[120].utf8))]
            _ = try live.log.append(extra)
        }
        let logPath = path + "-ingest"
        #expect(try #require(FileManager.default.attributesOfItem(atPath: logPath)[.size] as? Int) > 100)
        do {
            let restarted = try LiveRuleSet(program: program, state: path, clock: clock, lateness: 0, checkpointEvery: 1_000_000)
            #expect(restarted.counts.replayed == replayed)
            #expect(replayed == 120)
        }
        // Shorter than the state says: something else changed it.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try handle.truncate(atOffset: 100)
        try handle.close()
        let error = #expect(throws: ServiceFailure.self) { try LiveRuleSet(program: program, state: path, clock: clock, lateness: 0) }
        #expect(error?.message.contains("shorter than the state says") == true)
    }

    @Test func aGroupReadsBackAsItWasWritten() {
        var group = IngestGroup(firstSequence: 7)
        group.events = [.init(mark: -5, line: ArraySlice("{\"a\":1}".utf8)), .init(mark: .max, line: [])]
        group.fireMark = 123
        #expect(IngestGroup(firstSequence: 7, blob: group.blob) == group)
        #expect(IngestGroup(firstSequence: 7, blob: group.blob.dropLast()) == nil)
        #expect(IngestGroup(firstSequence: 7, blob: IngestGroup(firstSequence: 7).blob) == IngestGroup(firstSequence: 7))
    }
}
