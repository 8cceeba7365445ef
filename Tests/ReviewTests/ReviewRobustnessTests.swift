import Foundation
import RedressIR
@testable import RedressReview
import RedressEvents
import RedressEngine
import RedressSemantics
import RedressSyntax
import Testing

/// No rule-test file and no pair of rule sets crashes `redress test` or `redress diff`: mutations of
/// the repository's own test files and rules, and random bytes, from fixed seeds so a failure
/// reproduces. A crash would end the test process; wrong input must come out as diagnostics.
@Suite struct ReviewRobustnessTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let fragments = ["- ", ": ", "\n", "  ", "[", "]", "{", "}", "&a", "*a", "<<: *a", "!!str", "~", "null", "'", "\"",
                            "events:", "expect:", "given:", "until:", "name:", "rule:", "actions:", "decisions:", "events_file:",
                            "time: 2026-13-45T99:00:00Z", "refund 5 EUR", "refund -1 EUR", "99999999999999999999 EUR", "\u{00}", "é", "\t"]

    static func mutate(_ text: String, _ generator: inout Generator) -> String {
        var bytes = Array(text.utf8)
        for _ in 0..<Int.random(in: 1...6, using: &generator) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0 where !bytes.isEmpty: bytes.remove(at: position)
            case 1: bytes.insert(contentsOf: Array((fragments.randomElement(using: &generator) ?? "").utf8), at: position)
            case 2 where !bytes.isEmpty: bytes[position] = UInt8.random(in: 0...255, using: &generator)
            default:
                let end = min(bytes.count, position + Int.random(in: 1...30, using: &generator))
                bytes.removeSubrange(position..<end)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static let testFiles: [String] = {
        let shop = RuleTestFixtures.root.appendingPathComponent("rules/shop")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: shop.path)) ?? []).filter { $0.hasSuffix(".test.yaml") }.sorted()
        return names.map { RuleTestFixtures.text(shop.appendingPathComponent($0)) }
    }()

    @Test func ruleTestFilesNeverCrashTheReaderOrTheRunner() throws {
        let program = try #require(RuleTestFixtures.shop)
        #expect(Self.testFiles.count >= 8)
        var generator = Generator(state: 7)
        var readable = 0, diagnosed = 0
        for index in 0..<1500 {
            let text = index % 5 == 0
                ? String(decoding: (0..<Int.random(in: 0...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }, as: UTF8.self)
                : Self.mutate(Self.testFiles.randomElement(using: &generator) ?? "", &generator)
            let (file, diagnostics) = RuleTestFixtures.parse(text, program: program, catalog: RuleTestFixtures.shopCatalog)
            if let file {
                readable += 1
                for testCase in file.cases { _ = RuleTestRunner.run(testCase, file: file.path, program: program) }
            } else {
                diagnosed += 1
                // Every diagnostic points into the file it is about.
                for diagnostic in diagnostics { #expect(diagnostic.primary.span.end <= max(text.utf8.count, 1) || diagnostic.primary.file != "case.test.yaml") }
            }
        }
        // Both sides were exercised: mutations that still read, and ones that do not.
        #expect(readable > 20 && diagnosed > 500, "readable \(readable), diagnosed \(diagnosed)")
    }

    @Test func mutatedRuleSetsNeverCrashTheDiff() {
        let shop = RuleTestFixtures.root.appendingPathComponent("rules/shop")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: shop.path)) ?? []).filter { $0.hasSuffix(".rules") }.sorted()
        let files = Dictionary(uniqueKeysWithValues: names.map { ($0, RuleTestFixtures.text(shop.appendingPathComponent($0))) })
        func check(_ files: [String: String]) -> RuleSetReport {
            RuleSetLoader.check(rules: files.sorted { $0.key < $1.key }.map { SourceFile(path: $0.key, text: $0.value) },
                                schema: RuleTestFixtures.schema, catalog: RuleTestFixtures.catalog)
        }
        let original = check(files)
        var generator = Generator(state: 11)
        var compared = 0
        for _ in 0..<300 {
            var changed = files
            let name = names.randomElement(using: &generator) ?? ""
            changed[name] = Self.mutate(files[name] ?? "", &generator)
            let report = check(changed)
            guard !report.diagnostics.contains(where: { $0.severity == .error }) else { continue }
            let diff = RuleSetDiff.compare(old: original, new: report, oldLabel: "old", newLabel: "new")
            _ = diff.markdown()
            let reverse = RuleSetDiff.compare(old: report, new: original, oldLabel: "new", newLabel: "old")
            // Whatever changed one way changed back the other way.
            #expect(diff.hasChanges == reverse.hasChanges)
            compared += 1
        }
        #expect(compared > 20, "only \(compared) mutations still checked")
    }
}
