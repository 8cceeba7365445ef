import Foundation
import GRDB
import PropertyBased
import Testing
import RedressIR
import RedressSemantics
import RedressSyntax
@testable import RedressEvents
@testable import RedressEngine
@testable import RedressState

/// `run --state` checkpoints (StateStore): each writes what changed since the last one, and a
/// state written that way, across restarts, is the state an uninterrupted run ends with.
@Suite struct StateStoreTests {
    /// One directory per test process, removed when it exits.
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("redress-state-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit {
            try? FileManager.default.removeItem(at: FileManager.default.temporaryDirectory.appendingPathComponent("redress-state-tests-\(getpid())"))
        }
        return url
    }()

    static func path(_ name: String) -> String { directory.appendingPathComponent("\(name)-\(UUID().uuidString).db").path }

    static func minute(_ n: Int) -> String { TimeFormat.format(timestamp: 1_793_836_800_000 + Int64(n) * 60_000) }

    @Test func aCheckpointWritesARowPerKeyTouchedAndNothingForTheRest() throws {
        let program = try #require(compile("rule late on shipment.delivered when shipment.delay > 2d then refund 5 EUR\n  limit 1 per shipment\n  limit 2 per customer within 30d\n"))
        let store = try StateStore(path: Self.path("rows"))
        let engine = Engine(program: program)
        engine.trackChanges()
        // 5,000 shipments of 5,000 customers: three entries each (two limits, an occurrence).
        let first = run(program, (0..<5_000).map { Shop.delivered(Self.minute($0), shipment: "S\($0)", customer: "C\($0)") }, engine: engine)
        #expect(first.decisions.count == 5_000)
        try store.save(engine.takeChanges(), outputBytes: 0, deadLetterBytes: 0, program: program.fingerprint, emitted: first.decisions.map(\.key))
        #expect(store.entryCount() == 15_000)
        #expect(store.lastSaveRows == 15_000 + 5_000 + 1)

        // One new shipment of a known customer (three keys) and a known shipment held back by
        // its limit (no key): three rows, the decision's key and the checkpoint.
        let second = run(program, [Shop.delivered(Self.minute(6_000), shipment: "S-new", customer: "C1"),
                                   Shop.delivered(Self.minute(6_001), shipment: "S2", customer: "C2")], engine: engine)
        #expect(second.decisions.map(\.key) == ["late|shipment:S-new|1"])
        let changes = engine.takeChanges()
        #expect(changes.count == 3)
        #expect(changes.state.limitUses.keys.sorted() == ["r0.0|S-new", "r0.1|C1"] && changes.state.occurrences == ["late|S-new": 1])
        try store.save(changes, outputBytes: 0, deadLetterBytes: 0, program: program.fingerprint, emitted: second.decisions.map(\.key))
        #expect(store.lastSaveRows == 3 + 1 + 1)
        #expect(store.entryCount() == 15_002)

        // Nothing touched: the checkpoint row alone.
        _ = run(program, [Shop.delivered(Self.minute(6_002), shipment: "S3", customer: "C3", delay: "1h")], engine: engine)
        try store.save(engine.takeChanges(), outputBytes: 0, deadLetterBytes: 0, program: program.fingerprint, emitted: [])
        #expect(store.lastSaveRows == 1)

        // An engine that was not tracking hands over everything, replacing what the store held.
        let untracked = Engine(program: program)
        _ = run(program, [Shop.delivered(Self.minute(1), shipment: "S1", customer: "C1")], engine: untracked)
        let everything = untracked.takeChanges()
        #expect(everything.replacesAll && everything.count == 3)
        try store.save(everything, outputBytes: 0, deadLetterBytes: 0, program: program.fingerprint, emitted: [])
        #expect(store.entryCount() == 3)
    }

    /// The shop's rule set (all its scenarios: aggregates, absence deadlines, groups, caps).
    static let shop: Program? = {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("rules/shop").path)) ?? [])
            .filter { $0.hasSuffix(".rules") }.sorted()
        let report = RuleSetLoader.check(rules: files.map(shopSource), schema: shopSource("schema.yaml"), catalog: shopSource("catalog.yaml"))
        guard !report.diagnostics.contains(where: { $0.severity == .error }) else { return nil }
        return Program.compile(report).0
    }()

    static let history: [String] = ((try? String(contentsOf: repositoryRoot.appendingPathComponent("rules/shop/events/history.jsonl"), encoding: .utf8)) ?? "")
        .split(separator: "\n").map(String.init)

    /// Random stretches of the shop's history, some events left out, run with checkpoints every
    /// few events and "killed" at random moments (restarted from the last checkpoint, the output
    /// cut back to it): the output is an uninterrupted run's, byte for byte, and the state loads
    /// as the uninterrupted run's state saved at once.
    @Test func incrementalCheckpointsWithRestartsEndWithTheStateOfOneRun() async throws {
        let program = try #require(Self.shop)
        try #require(Self.history.count > 3_000)
        await propertyCheck(count: 30, input: Gen.int(in: 1...1_000_000_000)) { seed in
            var random = SplitMixGenerator(state: UInt64(seed))
            let start = Int.random(in: 0..<Self.history.count - 300, using: &random)
            let keep = Double.random(in: 0.3...1, using: &random)
            let lines = Self.history[start..<min(start + Int.random(in: 300...2_000, using: &random), Self.history.count)]
                .filter { _ in Double.random(in: 0..<1, using: &random) < keep }

            let reader = EventReader(program: program)
            var event = Event(slotCount: program.slots.count)
            func feed(_ line: String, number: Int, to engine: Engine) -> [Decision] {
                var text = line
                guard text.withUTF8({ reader.read($0, number: number, into: &event) }) == nil else { return [] }
                return engine.process(event)
            }
            let reference = Engine(program: program)
            var expected = ""
            for (index, line) in lines.enumerated() {
                for decision in feed(line, number: index + 1, to: reference) { expected += decision.jsonLine() + "\n" }
                reference.state.position = index + 1
            }

            let path = Self.path("random-\(seed)")
            var store = try StateStore(path: path)
            var engine = Engine(program: program)
            engine.trackChanges()
            var output = ""
            var emitted: [String] = []
            var next = 0, since = 0, restarts = 0
            var every = Int.random(in: 1...40, using: &random)
            func checkpoint() throws {
                let changes = engine.takeChanges()
                try store.save(changes, outputBytes: Int64(output.utf8.count), deadLetterBytes: 0, program: program.fingerprint, emitted: emitted)
                // The work of a checkpoint: the entries that changed, the new keys, the position.
                #expect(store.lastSaveRows <= changes.count + emitted.count + 1)
                emitted = []
                since = 0
                every = Int.random(in: 1...40, using: &random)
            }
            while next < lines.count {
                for decision in feed(lines[next], number: next + 1, to: engine) {
                    output += decision.jsonLine() + "\n"
                    emitted.append(decision.key)
                }
                next += 1
                engine.state.position = next
                since += 1
                if since >= every { try checkpoint() }
                if Int.random(in: 0..<60, using: &random) == 0 {
                    restarts += 1
                    store = try StateStore(path: path)
                    if let (saved, state) = try store.load(program: program.fingerprint, path: path) {
                        engine = Engine(program: program, state: state)
                        output = String(decoding: output.utf8.prefix(Int(saved.outputBytes)), as: UTF8.self)
                        next = saved.position
                    } else {
                        engine = Engine(program: program)
                        (output, next) = ("", 0)
                    }
                    engine.trackChanges()
                    (emitted, since) = ([], 0)
                }
            }
            try checkpoint()
            #expect(output == expected, "seed \(seed): \(restarts) restarts")

            let incremental = try #require(try StateStore(path: path).load(program: program.fingerprint, path: path)?.1)
            let once = Self.path("once-\(seed)")
            try StateStore(path: once).save(reference.snapshot(), outputBytes: 0, deadLetterBytes: 0, program: program.fingerprint, emitted: [])
            let atOnce = try #require(try StateStore(path: once).load(program: program.fingerprint, path: once)?.1)
            #expect(Self.differences(incremental, atOnce).isEmpty, "seed \(seed): \(Self.differences(incremental, atOnce))")
            #expect(Self.differences(incremental, reference.snapshot()).isEmpty, "seed \(seed)")
        }
    }

    /// Where two states differ: the parts and a few keys (an `==` that fails would print both
    /// states whole). Pending deadlines compare with their drafts, as JSON.
    static func differences(_ a: EngineState, _ b: EngineState) -> [String] {
        func keys<Value: Equatable>(_ name: String, _ x: [String: Value], _ y: [String: Value]) -> [String] {
            let differing = Set(x.keys).union(y.keys).filter { x[$0] != y[$0] }.sorted()
            return differing.isEmpty ? [] : ["\(name): \(differing.prefix(5).joined(separator: ", "))"]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json(_ pending: [String: EngineState.Pending]) -> [String: String] {
            pending.mapValues { String(decoding: (try? encoder.encode($0)) ?? Data(), as: UTF8.self) }
        }
        var found = keys("limits", a.limitUses, b.limitUses) + keys("caps", a.capUses, b.capUses) + keys("groups", a.groupUses, b.groupUses)
            + keys("occurrences", a.occurrences, b.occurrences) + keys("history", a.history, b.history) + keys("misses", a.misses, b.misses)
            + keys("answered", a.answered, b.answered) + keys("pending", json(a.pending), json(b.pending))
        if a.clock != b.clock || a.position != b.position { found.append("clock or position") }
        if a.statistics != b.statistics { found.append("statistics") }
        return found
    }

    /// A state written before pending deadlines had a row each (all of them as one JSON object in
    /// `checkpoint.pending`) loads the same, and the first load gives them their rows.
    @Test func aStateWithPendingDeadlinesInTheCheckpointRowLoads() throws {
        let program = try #require(Self.shop)
        // The history up to a moment with deadlines pending (after its first half).
        let engine = Engine(program: program)
        var position = 0
        for line in Self.history {
            _ = run(program, [line], engine: engine)
            position += 1
            if position > Self.history.count / 2, engine.state.pending.count > 1 { break }
        }
        engine.state.position = position
        let state = engine.snapshot()
        try #require(state.pending.count > 1)
        let path = Self.path("legacy")
        let store = try StateStore(path: path)
        try store.save(state, outputBytes: 10, deadLetterBytes: 0, program: program.fingerprint, emitted: [])
        try store.database.write { db in
            try db.execute(sql: """
                UPDATE checkpoint SET pending = (SELECT json_group_object(key, json(value)) FROM state WHERE category = 'pending');
                DELETE FROM state WHERE category = 'pending';
                """)
        }
        let pendingRows = "SELECT count(*) FROM state WHERE category = 'pending'"
        #expect(try store.database.read { try Int.fetchOne($0, sql: pendingRows) } == 0)
        let loaded = try #require(try StateStore(path: path).load(program: program.fingerprint, path: path))
        #expect(loaded.0.position == position && loaded.0.outputBytes == 10)
        #expect(Self.differences(loaded.1, state).isEmpty)
        #expect(try store.database.read { try Int.fetchOne($0, sql: pendingRows) } == state.pending.count)
        #expect(try store.database.read { try String.fetchOne($0, sql: "SELECT pending FROM checkpoint") } == "{}")
        #expect(Self.differences(try #require(try StateStore(path: path).load(program: program.fingerprint, path: path)?.1), state).isEmpty)
    }
}
