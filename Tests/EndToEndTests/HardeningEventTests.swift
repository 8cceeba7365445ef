import Foundation
import Testing

/// Event lines that are not UTF-8, and saved state that must follow the rules' meaning rather than
/// where their text sits, through the built binary.
@Suite struct HardeningEventTests {
    // MARK: Invalid UTF-8 in events

    static let mission = "when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten\n"

    /// A late VIP delivery of shipment `S-` followed by `id`'s bytes.
    static func delivery(_ id: [UInt8], day: Int) -> [UInt8] {
        Array("{\"event\":\"shipment.delivered\",\"time\":\"2026-11-0\(day)T10:00:00Z\",\"shipment\":{\"id\":\"S-".utf8) + id
            + Array("\",\"delay\":\"3d\"},\"order\":{\"id\":\"O1\",\"total\":\"50.00 EUR\"},\"customer\":{\"id\":\"C1\",\"tier\":\"VIP\",\"country\":\"DE\"}}\n".utf8)
    }

    /// Where the byte after `S-` is, counted from 1 as the dead letters count it.
    static let badByte = Array("{\"event\":\"shipment.delivered\",\"time\":\"2026-11-01T10:00:00Z\",\"shipment\":{\"id\":\"S-".utf8).count + 1

    /// Shipments `S-A`, `S-\xff`, `S-\xfe`, `S-B`: the two in the middle used to be read as one
    /// shipment `S-\u{FFFD}` (a decision held back by the rule's limit, no dead letter).
    static func invalidEvents(in directory: URL) throws -> URL {
        let events = directory.appendingPathComponent("events.jsonl")
        try Data(delivery(Array("A".utf8), day: 1) + delivery([0xFF], day: 2) + delivery([0xFE], day: 3) + delivery(Array("B".utf8), day: 4))
            .write(to: events)
        return events
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test func runMakesDeadLettersOfInvalidUTF8() throws {
        let directory = try temporaryRuleSet(["m.rules": Self.mission])
        let events = try Self.invalidEvents(in: directory)
        let deadLetters = directory.appendingPathComponent("dead.jsonl")
        let run = try redress(["run", directory.path, "--events", events.path, "--dead-letters", deadLetters.path])
        #expect(run.status == 0, "\(run.stderr)")
        let subjects = run.stdout.split(separator: "\n").compactMap { (Self.json(String($0))["subject"] as? [String: Any])?["key"] as? String }
        #expect(subjects == ["S-A", "S-B"])
        #expect(run.stderr.contains("read 2 events, 2 decisions, 2 bad lines"), "\(run.stderr)")
        #expect(!run.stderr.contains("held back"), "\(run.stderr)")
        let letters = read(deadLetters).split(separator: "\n").map { Self.json(String($0)) }
        #expect(letters.compactMap { $0["line"] as? Int } == [2, 3])
        #expect(letters.compactMap { $0["reason"] as? String } == Array(repeating: "invalid UTF-8 at byte \(Self.badByte)", count: 2))

        let strict = try redress(["run", directory.path, "--events", events.path, "--strict"])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("line 2: invalid UTF-8 at byte \(Self.badByte)"), "\(strict.stderr)")
    }

    @Test func simulateCountsInvalidUTF8AsBadLines() throws {
        let directory = try temporaryRuleSet(["m.rules": Self.mission])
        let events = try Self.invalidEvents(in: directory)
        let report = try redress(["simulate", directory.path, "--events", events.path, "--format", "json"])
        #expect(report.status == 0, "\(report.stderr)")
        let summary = Self.json(report.stdout)
        #expect(summary["events"] as? Int == 2)
        #expect(summary["deadLetters"] as? Int == 2)
        #expect(summary["decisions"] as? Int == 2)
        #expect(summary["subjects"] as? Int == 2)
        let text = try redress(["simulate", directory.path, "--events", events.path])
        #expect(text.stdout.contains("(2 bad lines)"), "\(text.stdout)")
        #expect(!text.stdout.contains("held back by"), "\(text.stdout)")
        // Enough lines for several chunks and parsing threads: the bad ones are still all found.
        var big = Data()
        for day in 1...9 {
            for _ in 0..<2_000 { big += Self.delivery(Array("é".utf8), day: day) + Self.delivery([0xFF], day: day) }
        }
        let many = directory.appendingPathComponent("many.jsonl")
        try big.write(to: many)
        let large = try redress(["simulate", directory.path, "--events", many.path, "--format", "json"])
        #expect(large.status == 0, "\(large.stderr)")
        #expect(Self.json(large.stdout)["deadLetters"] as? Int == 18_000)
        #expect(Self.json(large.stdout)["events"] as? Int == 18_000)
    }

    @Test func diffWithEventsLeavesInvalidUTF8Out() throws {
        let old = try temporaryRuleSet(["m.rules": Self.mission])
        let new = try temporaryRuleSet(["m.rules": Self.mission.replacingOccurrences(of: "> 2d", with: "> 1d")])
        let events = try Self.invalidEvents(in: old)
        let diff = try redress(["diff", old.path, new.path, "--events", events.path, "--format", "json"])
        #expect(diff.status == 0, "\(diff.stderr)")
        let cost = Self.json(diff.stdout)["cost"] as? [String: Any] ?? [:]
        #expect(cost["events"] as? Int == 2)
        #expect(cost["deadLetters"] as? Int == 2)
        #expect(cost["oldDecisions"] as? Int == 2)
        #expect(cost["decisions"] as? Int == 2)
    }

    /// `explain` hands the reader the file's bytes (decoding them to text first would replace
    /// the invalid ones).
    @Test func explainRefusesInvalidUTF8() throws {
        let directory = try temporaryRuleSet(["m.rules": Self.mission])
        let events = directory.appendingPathComponent("one.jsonl")
        try Data(Self.delivery([0xFF], day: 2)).write(to: events)
        let explain = try redress(["explain", directory.path, "--event", events.path])
        #expect(explain.status == 1, "\(explain.stdout)")
        #expect(explain.stderr.contains("invalid UTF-8 at byte \(Self.badByte)"), "\(explain.stderr)")
    }

    /// The same for a rule test's `events_file`.
    @Test func ruleTestEventsFileRefusesInvalidUTF8() throws {
        let directory = try temporaryRuleSet([
            "m.rules": Self.mission,
            "m.test.yaml": "- name: two shipments that are not UTF-8\n  events_file: events.jsonl\n  expect:\n    - { rule: \"m:1\", subject: S-A }\n    - { rule: \"m:1\", subject: S-B }\n",
        ])
        _ = try Self.invalidEvents(in: directory)
        let test = try redress(["test", directory.path])
        #expect(test.status != 0)
        #expect((test.stdout + test.stderr).contains("line 2 of `events.jsonl` cannot be read: invalid UTF-8 at byte \(Self.badByte)"),
                "\(test.stdout)\(test.stderr)")
    }

    // MARK: Saved state follows what the rules mean

    static let history = repositoryRoot.appendingPathComponent("rules/shop/events/history.jsonl")

    /// The first half of the shop's history, and the output of one uninterrupted run over all of it.
    static func halves() throws -> (first: URL, reference: String) {
        let scratch = scratchPath("state-halves")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let lines = read(history).split(separator: "\n", omittingEmptySubsequences: false)
        let first = scratch.appendingPathComponent("first.jsonl")
        try (lines[..<1500].joined(separator: "\n") + "\n").write(to: first, atomically: true, encoding: .utf8)
        let reference = scratch.appendingPathComponent("reference.jsonl")
        let clean = try redress(["run", "rules/shop", "--events", history.path, "--out", reference.path])
        #expect(clean.status == 0, "\(clean.stderr)")
        return (first, read(reference))
    }

    /// Runs `rules/shop` (from the repository) on the first half with a new state, then resumes on
    /// the whole history with `rules` from `directory`; returns the resumed run and the output.
    static func resume(with rules: String, in directory: URL, first: URL) throws -> (Run, String) {
        let scratch = scratchPath("state")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let state = scratch.appendingPathComponent("s.db"), output = scratch.appendingPathComponent("out.jsonl")
        let started = try redress(["run", "rules/shop", "--events", first.path, "--state", state.path, "--out", output.path])
        #expect(started.status == 0, "\(started.stderr)")
        let resumed = try redress(["run", rules, "--events", history.path, "--state", state.path, "--out", output.path], in: directory)
        return (resumed, read(output))
    }

    /// A copy of the shop's rule files, schema and catalog.
    static func shopCopy() throws -> URL {
        let copy = scratchPath("shop-copy")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        let shop = repositoryRoot.appendingPathComponent("rules/shop")
        for name in try FileManager.default.contentsOfDirectory(atPath: shop.path) where name.hasSuffix(".rules") || (name.hasSuffix(".yaml") && !name.hasSuffix(".test.yaml")) {
            try FileManager.default.copyItem(at: shop.appendingPathComponent(name), to: copy.appendingPathComponent(name))
        }
        return copy
    }

    @Test func stateResumesWhateverTheRulesAreCalled() throws {
        let (first, reference) = try Self.halves()
        #expect(reference.split(separator: "\n").count > 500)

        // `./rules/shop` from the repository.
        let (dotted, dottedOutput) = try Self.resume(with: "./rules/shop", in: repositoryRoot, first: first)
        #expect(dotted.status == 0, "\(dotted.stderr)")
        #expect(dottedOutput == reference)

        // An absolute path from another directory.
        let elsewhere = scratchPath("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let (absolute, absoluteOutput) = try Self.resume(with: repositoryRoot.appendingPathComponent("rules/shop").path, in: elsewhere, first: first)
        #expect(absolute.status == 0, "\(absolute.stderr)")
        #expect(absoluteOutput == reference)

        // A copy with comments and blank lines added, the mission rule laid out otherwise (every
        // rule on another line than before) and a description reworded.
        let copy = try Self.shopCopy()
        for name in try FileManager.default.contentsOfDirectory(atPath: copy.path) where name.hasSuffix(".rules") {
            let file = copy.appendingPathComponent(name)
            var text = read(file).replacingOccurrences(of: "\n\n", with: "\n\n\n# a comment the state does not care about\n\n")
            text = text.replacingOccurrences(of: "when shipment.delay > 2d and customer.tier == VIP then",
                                             with: "when shipment.delay > 2d\n   and customer.tier == VIP    # moved\nthen")
            // A description documents a rule; it does not change what the rule decides.
            text = text.replacingOccurrences(of: "\"The carrier delayed the parcel: apology e-mail with a 5 EUR voucher code\"",
                                             with: "\"The carrier was late: we apologise by e-mail and send a 5 EUR voucher code\"")
            try ("# copied\n\n\n" + text).write(to: file, atomically: true, encoding: .utf8)
        }
        let (commented, commentedOutput) = try Self.resume(with: copy.path, in: repositoryRoot, first: first)
        #expect(commented.status == 0, "\(commented.stderr)")
        #expect(commentedOutput == reference)

        // The copy formatted by `redress fmt`.
        let format = try redress(["fmt", copy.path])
        #expect(format.status == 0, "\(format.stderr)")
        #expect(format.stderr.contains("formatted"), "fmt should have changed the layout: \(format.stderr)")
        let (formatted, formattedOutput) = try Self.resume(with: copy.path, in: repositoryRoot, first: first)
        #expect(formatted.status == 0, "\(formatted.stderr)")
        #expect(formattedOutput == reference)

        // The compiled IR of the same rules.
        let ir = scratchPath("shop", ".json")
        let compiled = try redress(["compile", "rules/shop", "--out", ir.path])
        #expect(compiled.status == 0, "\(compiled.stderr)")
        let (fromIR, irOutput) = try Self.resume(with: ir.path, in: repositoryRoot, first: first)
        #expect(fromIR.status == 0, "\(fromIR.stderr)")
        #expect(irOutput == reference)
    }

    @Test(arguments: [
        ("param late_threshold = 2d", "param late_threshold = 3d"),
        ("when shipment.delay > 2d and customer.tier == VIP", "when shipment.delay > 3d and customer.tier == VIP"),
        ("rule carrier_delay_voucher", "rule carrier_delay_coupon"),
    ])
    func stateOfOtherRulesIsRefused(before: String, after: String) throws {
        let (first, _) = try Self.halves()
        let copy = try Self.shopCopy()
        var changed = false
        for name in try FileManager.default.contentsOfDirectory(atPath: copy.path) where name.hasSuffix(".rules") {
            let file = copy.appendingPathComponent(name)
            let text = read(file)
            guard text.contains(before) else { continue }
            try text.replacingOccurrences(of: before, with: after).write(to: file, atomically: true, encoding: .utf8)
            changed = true
        }
        #expect(changed, "no rule file contains `\(before)`")
        let (resumed, _) = try Self.resume(with: copy.path, in: repositoryRoot, first: first)
        #expect(resumed.status == 2)
        #expect(resumed.stderr.contains("was made by other rules"), "\(resumed.stderr)")
    }
}
