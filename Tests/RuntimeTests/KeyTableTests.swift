import Foundation
import Testing
@testable import RedressEvents
@testable import RedressEngine

/// The engine's and the simulator's per-key memory: a hand-written hash table, checked against
/// the standard dictionary.
@Suite struct KeyTableTests {
    /// Also with room reserved before (or, for half the keys, midway): the same table.
    @Test(arguments: [0, 1, 7, 1_000, 50_000], [0, 10, 100_000])
    func findsWhatWasInsertedAndNothingElse(count: Int, reserved: Int) {
        let table = KeyTable<Int>()
        var expected: [String: Int] = [:]
        if reserved > 10 { table.reserve(reserved) }
        for i in 0..<count {
            if i == count / 2, reserved == 10 {
                table.reserve(count * 4)
                #expect(table.count == expected.count)
            }
            // Short (inline) and long keys, and the same text in two namespaces.
            let text = i % 3 == 0 ? "S\(i)" : "customer-with-a-long-key-\(i)"
            let namespace = Int32(i % 2)
            let entry = table.entry(namespace, text, default: 0)
            table[entry: entry] += i
            expected["\(namespace)|\(text)", default: 0] += i
        }
        #expect(table.count == expected.count)
        for (key, value) in expected {
            let parts = key.split(separator: "|", maxSplits: 1)
            #expect(table[Int32(parts[0])!, String(parts[1])] == value)
        }
        #expect(table.find(0, "absent") == nil)
        #expect(table.find(5, "S0") == nil)
    }

    /// Removing entries keeps the rest findable, in their order, renumbered as reported, and the
    /// table takes new keys as before.
    @Test(arguments: [0, 1, 3, 2_000])
    func removingEntriesKeepsTheRest(every: Int) {
        let table = KeyTable<Int>()
        for i in 0..<5_000 { table[entry: table.entry(Int32(i % 3), "K\(i)", default: 0)] = i }
        let renumbered = table.removeAll { every > 0 && $0 % every == 0 }
        let kept = (0..<5_000).filter { !(every > 0 && $0 % every == 0) }
        #expect(table.count == kept.count)
        #expect((0..<5_000).map { renumbered[$0] >= 0 } == (0..<5_000).map { kept.contains($0) || every == 0 })
        for (position, i) in kept.enumerated() {
            #expect(renumbered[i] == position && table[entry: position] == i && table.key(at: position) == "K\(i)")
            #expect(table.find(Int32(i % 3), "K\(i)") == position)
        }
        for i in 0..<5_000 where !kept.contains(i) { #expect(table.find(Int32(i % 3), "K\(i)") == nil) }
        let added = table.entry(1, "new", default: -1)
        #expect(added == kept.count && table.find(1, "new") == added)
    }

    /// Searches begun in several tables before any is finished find and insert exactly what
    /// `entry` does.
    @Test func searchesBegunTogetherAgreeWithEntry() {
        let (a, b, plain) = (KeyTable<Int>(), KeyTable<Int>(), KeyTable<Int>())
        for i in 0..<20_000 {
            let text = "K\(i % 7_000)"
            let (inA, inB) = (a.begin(1, text), b.begin(2, text + "x"))
            let entryA = a.entry(1, text, inA, default: 0)
            let entryB = b.entry(2, text + "x", inB, default: 0)
            let expected = plain.entry(1, text, default: 0)
            #expect(entryA == expected)
            #expect(entryB == expected)
            a[entry: entryA] += 1
            plain[entry: expected] += 1
        }
        #expect(a.count == 7_000)
        #expect(b.count == 7_000)
        #expect((0..<a.count).allSatisfy { a[entry: $0] == plain[entry: $0] && a.key(at: $0) == plain.key(at: $0) })
    }

    @Test func entriesKeepInsertionOrderAndAnExistingKeyKeepsItsValue() {
        let table = KeyTable<String>()
        for text in ["c", "a", "b"] { _ = table.entry(1, text, default: text.uppercased()) }
        let again = table.entry(1, "a", default: "other")
        #expect(again == 1)
        #expect(table[entry: again] == "A")
        #expect((0..<table.count).map { table.key(at: $0) } == ["c", "a", "b"])
        #expect(table[1, ""] == nil)
        _ = table.entry(1, "", default: "empty")
        #expect(table[1, ""] == "empty")
    }
}

/// The engine keeps its per-key memory in KeyTables; a checkpoint must still carry it in the
/// persisted format (`r0.0|S1`, `late|S1`), and an engine started from it must remember.
@Suite struct EngineMemoryTests {
    @Test func snapshotWritesThePersistedKeysAndARestartRemembersThem() throws {
        let program = try #require(compile("rule late on shipment.delivered when shipment.delay > 2d then refund 5 EUR\n  limit 1 per shipment\n  limit 2 per customer within 30d\n"))
        let first = run(program, [Shop.delivered("2026-11-20T10:00:00Z", shipment: "S1"), Shop.delivered("2026-11-21T10:00:00Z", shipment: "S2")])
        #expect(first.decisions.map(\.key) == ["late|shipment:S1|1", "late|shipment:S2|1"])
        let state = first.engine.snapshot()
        #expect(state.limitUses.keys.sorted() == ["r0.0|S1", "r0.0|S2", "r0.1|C1"])
        #expect(state.limitUses["r0.1|C1"]?.count == 2)
        #expect(state.occurrences == ["late|S1": 1, "late|S2": 1])
        // Restarted from the checkpoint: S1 was decided, and C1 has used its two per 30 days.
        let restarted = run(program, [Shop.delivered("2026-11-22T10:00:00Z", shipment: "S1"), Shop.delivered("2026-11-23T10:00:00Z", shipment: "S3")],
                            engine: Engine(program: program, state: state))
        #expect(restarted.decisions.isEmpty)
        #expect(restarted.engine.statistics.heldBack["late|limit"] == 2)
        // Entries no rule of this program claims are kept as they were.
        var foreign = state
        foreign.occurrences["gone|X"] = 4
        #expect(Engine(program: program, state: foreign).snapshot().occurrences["gone|X"] == 4)
    }
}

/// Drafts wait in the persisted state (absence rules): their policy keys and money keep the JSON
/// shape they had as dictionaries, so a state written before reads back the same.
@Suite struct DraftEncodingTests {
    @Test func policyKeysAndMoneyEncodeAsTheDictionariesTheyReplaced() throws {
        let reference = Decision.EventReference(type: "order.placed", id: "e1", line: 1, time: "2026-11-20T10:00:00Z")
        let draft = Draft(rule: 2, subjectKey: "O1", customerKey: "C1", event: reference, actions: [],
                          money: MoneyByCurrency([0: 500, 3: 7]), keys: PolicyKeys([4: "O1", 9: "C1", 11: "DE"]))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(draft), as: UTF8.self)
        #expect(json.contains(#""keys":{"11":"DE","4":"O1","9":"C1"}"#))
        // `[Int32: Int64]` was encoded as key, value, key, value… (JSONEncoder makes objects only of
        // String- and Int-keyed dictionaries): a state written that way reads back.
        let earlier = json.replacing(#/"money":\[[0-9,]*\]/#, with: #""money":[0,500,3,7]"#)
        #expect(earlier.contains(#""money":[0,500,3,7]"#))
        #expect(try JSONDecoder().decode(Draft.self, from: Data(earlier.utf8)).money == draft.money)
        let back = try JSONDecoder().decode(Draft.self, from: Data(json.utf8))
        #expect(back.keys == draft.keys && back.money == draft.money)
        #expect(back.keys[11] == "DE" && back.keys[5] == nil && back.money[3] == 7 && back.money.total == 507)
    }
}
