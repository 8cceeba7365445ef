import Foundation
import Testing
import RedressIR
@testable import RedressEvents
@testable import RedressEngine
@testable import RedressState
@testable import RedressRuntime

/// Bounded state: windowed keys go once their window has passed; keys without a window are kept
/// for the retention period after their last use (Retention.swift, docs/language.md "Retention").
struct RetentionTests {
    static let day: Int64 = 86_400_000
    static let start: Int64 = 1_790_000_000_000

    static func at(_ days: Double) -> String { TimeFormat.format(timestamp: start + Int64(days * Double(day))) }

    static let once = "rule late on shipment.delivered when shipment.delay > 2d then refund 5 EUR\n"

    @Test func aOncePerShipmentKeyIsForgottenAfterTheRetentionPeriod() throws {
        let program = try #require(compile(Self.once))
        let events = [Shop.delivered(Self.at(0), shipment: "S1"), Shop.delivered(Self.at(5), shipment: "S1"),
                      Shop.delivered(Self.at(10), shipment: "S1"), Shop.delivered(Self.at(10.5), shipment: "S1")]
        let engine = Engine(program: program)
        engine.retention = 10 * Self.day
        // Day 5: held (used on day 0). Day 10: the use of day 0 is exactly 10 days old: forgotten,
        // so the rule decides again, with occurrence 1 again. Day 10.5: held by that new use.
        let result = run(program, events, engine: engine)
        #expect(result.decisions.map { String($0.time.prefix(10)) } == [Self.at(0), Self.at(10)].map { String($0.prefix(10)) })
        #expect(result.decisions.map(\.key) == ["late|shipment:S1|1", "late|shipment:S1|1"])
        // Kept for ever: held every time after the first.
        let forever = Engine(program: program)
        forever.retention = nil
        #expect(run(program, events, engine: forever).decisions.count == 1)
        // The default, 400 days.
        #expect(run(program, events).decisions.count == 1)
    }

    @Test func theSweepDropsKeysNotUsedWithinTheRetentionPeriodAndCountsThem() throws {
        let program = try #require(compile(Self.once))
        let engine = Engine(program: program)
        engine.retention = 10 * Self.day
        // Sweeps run when the clock enters a new period of four weeks from the epoch: here 2.4 and
        // 30.4 days after `start`. Read as forgotten or dropped, the old keys decide nothing.
        let old = (0..<100).map { Shop.delivered(Self.at(3), shipment: "S\($0)") }
        _ = run(program, old + [Shop.delivered(Self.at(25), shipment: "S-kept")], engine: engine)
        #expect(engine.snapshot().limitUses.count == 101 && engine.retentionDropped == 0)
        _ = run(program, [Shop.delivered(Self.at(31), shipment: "S-new")], engine: engine)
        // A limit use and an occurrence per old shipment; S-kept (day 25) is within 10 days.
        #expect(engine.retentionDropped == 200)
        #expect(engine.retentionDroppedBefore == Self.start + 21 * Self.day)
        let state = engine.snapshot()
        #expect(state.limitUses.keys.sorted() == ["r0.0|S-kept", "r0.0|S-new"])
        #expect(state.occurrences.keys.sorted() == ["late|S-kept", "late|S-new"])
        #expect(state.occurrenceTimes["late|S-new"] == Self.start + 31 * Self.day)
    }

    @Test func aWindowedKeyGoesOnceItsWindowHasPassedWhateverTheRetention() throws {
        let program = try #require(compile("rule r on shipment.delivered when shipment.delay > 2d then send apology limit 1 per customer within 1d\n"))
        let engine = Engine(program: program)
        engine.retention = nil
        _ = run(program, (0..<50).map { Shop.delivered(Self.at(0), shipment: "S\($0)", customer: "C\($0)") }
                    + [Shop.delivered(Self.at(3), shipment: "S-late", customer: "C-late")], engine: engine)
        let state = engine.snapshot()
        #expect(state.limitUses.keys.sorted() == ["r0.0|C-late"])
        // Occurrence counts have no window: kept (retention none).
        #expect(state.occurrences.count == 51)
        #expect(engine.retentionDropped == 0, "windows are not retention")
    }

    @Test func anAnsweredAbsenceIsForgottenLikeAnyKey() throws {
        let program = try #require(compile("""
            rule not_shipped on order.placed unless shipment.shipped within 2d then send apology limit none
            """))
        let engine = Engine(program: program)
        engine.retention = 10 * Self.day
        // Shipped before it was placed: answered, no deadline. Twenty days later the answer is
        // forgotten, and a new placement of the same order waits again.
        _ = run(program, [Shop.shipped(Self.at(0)), Shop.placed(Self.at(0.5))], engine: engine)
        #expect(engine.state.pending.isEmpty && engine.state.answered.count == 1)
        _ = run(program, [Shop.placed(Self.at(20))], engine: engine)
        #expect(engine.state.answered.isEmpty)
        #expect(engine.state.pending.count == 1)
    }

    /// Decisions depend on event time alone: a run cut anywhere and resumed from its snapshot
    /// (which may sweep at other moments than the uninterrupted one) decides the same.
    @Test func sweepsChangeNoDecision() throws {
        let program = try #require(compile(Self.once + "rule capped on shipment.delivered when shipment.delay > 3d then refund 4 EUR cap 10 EUR per customer limit none\n"))
        var random = SplitMixGenerator(state: 7)
        var time = 0.0
        let lines = (0..<300).map { _ -> String in
            time += Double(random.next() % 5) / 2
            return Shop.delivered(Self.at(time), shipment: "S\(random.next() % 20)", customer: "C\(random.next() % 5)",
                                  delay: ["1d", "3d", "5d"][Int(random.next() % 3)])
        }
        let whole = Engine(program: program)
        whole.retention = 7 * Self.day
        // Keys of `limit none` decisions name the line, which a cut input renumbers: compared by what they say.
        func described(_ decisions: [Decision]) -> [String] { decisions.map { "\($0.rule)|\($0.subject.key)|\($0.time)|\($0.occurrence)" } }
        let expected = described(run(program, lines, engine: whole).decisions)
        #expect(whole.retentionDropped > 0)
        for cut in [1, 50, 151, 299] {
            let first = Engine(program: program)
            first.retention = 7 * Self.day
            let before = described(run(program, Array(lines[..<cut]), engine: first).decisions)
            let second = Engine(program: program, state: first.snapshot())
            second.retention = 7 * Self.day
            let after = described(run(program, Array(lines[cut...]), engine: second).decisions)
            #expect(before + after == expected, "cut at \(cut)")
        }
    }

    /// A program, a store in a scratch file and an engine tracking its changes for it (retention
    /// ten days), for `body`; the file is removed afterwards.
    static func withTrackedStore(_ source: String, _ body: (Program, StateStore, Engine, String) throws -> Void) throws {
        let program = try #require(compile(source))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("redress-retention-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let engine = Engine(program: program)
        engine.retention = 10 * Self.day
        engine.trackChanges()
        try body(program, try StateStore(path: path), engine, path)
    }

    @Test func aCheckpointDeletesTheDroppedKeysFromTheStore() throws { try Self.withTrackedStore(Self.once) { program, store, engine, path in
        _ = run(program, (0..<20).map { Shop.delivered(Self.at(0), shipment: "S\($0)") }, engine: engine)
        try store.save(engine.takeChanges(), outputBytes: 0, deadLetterBytes: 0, program: program.fingerprint, emitted: [])
        #expect(store.entryCount() == 40)
        // S3 used again on day 11: dropped by the sweep and written anew, so it stays.
        _ = run(program, [Shop.delivered(Self.at(11), shipment: "S-new"), Shop.delivered(Self.at(11), shipment: "S3")], engine: engine)
        let changes = engine.takeChanges()
        #expect(changes.removed[.limits]?.count == 19 && changes.removed[.occurrences]?.count == 19)
        try store.save(changes, outputBytes: 0, deadLetterBytes: 0, program: program.fingerprint, emitted: [])
        #expect(store.entryCount() == 4)
        let loaded = try #require(try store.load(program: program.fingerprint, path: path))
        #expect(loaded.1.limitUses.keys.sorted() == ["r0.0|S-new", "r0.0|S3"])
        #expect(loaded.1.occurrenceTimes == ["late|S-new": Self.start + 11 * Self.day, "late|S3": Self.start + 11 * Self.day])
        #expect(Engine(program: program, state: loaded.1).snapshot() == engine.snapshot())
    } }

    /// A key made and dropped between two checkpoints was never in the store: the checkpoint
    /// deletes only what the store holds (deleting the others was most of `serve`'s checkpoints).
    @Test func keysMadeAndDroppedBetweenCheckpointsAreNotDeleted() throws {
        let absence = "rule not_shipped on order.placed unless shipment.shipped within 2d then send apology limit none\n"
        try Self.withTrackedStore(Self.once + absence) { program, store, engine, path in
        // Stored: five shipments' limit uses and occurrences, and a pending deadline of O-kept.
        _ = run(program, (0..<5).map { Shop.delivered(Self.at(0), shipment: "S\($0)") } + [Shop.placed(Self.at(0), order: "O-kept")], engine: engine)
        try store.save(engine.takeChanges(), outputBytes: 0, deadLetterBytes: 0, program: program.fingerprint, emitted: [])
        #expect(store.entryCount() == 11)
        // Then, before the next checkpoint: S-brief made on day 11 and forgotten by day 40; O-brief
        // placed and shipped (its deadline set and answered); O-kept's deadline fires.
        _ = run(program, [Shop.delivered(Self.at(11), shipment: "S-brief"), Shop.placed(Self.at(11), order: "O-brief"),
                          Shop.shipped(Self.at(11.5), shipment: "SH-brief", order: "O-brief"), Shop.delivered(Self.at(40), shipment: "S-last")],
                engine: engine)
        let changes = engine.takeChanges()
        #expect(changes.removed[.limits]?.sorted() == (0..<5).map { "r0.0|S\($0)" })
        #expect(changes.removed[.occurrences]?.count == 5)
        #expect(changes.removed[.pending]?.count == 1, "O-kept's deadline, which the store holds; not O-brief's")
        #expect(changes.removed[.pending]?.first?.contains("O-kept") == true)
        try store.save(changes, outputBytes: 0, deadLetterBytes: 0, program: program.fingerprint, emitted: [])
        let loaded = try #require(try store.load(program: program.fingerprint, path: path))
        #expect(Engine(program: program, state: loaded.1).snapshot() == engine.snapshot())
        #expect(loaded.1.limitUses.keys.sorted() == ["r0.0|S-last"])
    } }

    @Test func anOccurrenceWrittenBeforeRetentionLoadsAsLastUsedAtTheStatesClock() throws {
        let program = try #require(compile(Self.once))
        var old = EngineState()
        old.clock = Self.start
        old.occurrences = ["late|S1": 3]
        old.limitUses = ["r0.0|S1": [Self.start - 500 * Self.day]]
        let state = Engine(program: program, state: old).snapshot()
        #expect(state.occurrences == ["late|S1": 3] && state.occurrenceTimes == ["late|S1": Self.start])
    }
}
