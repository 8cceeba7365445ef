import Foundation
import Testing
import RedressSemantics
import RedressSyntax

/// No input crashes or hangs Redress. Inputs are random bytes and mutations of real files,
/// generated from fixed seeds so a failure reproduces.
@Suite(.serialized)
struct RobustnessTests {
    static let ruleTexts: [String] = {
        let rules = repositoryRoot.appendingPathComponent("rules/shop")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: rules.path)) ?? []
        return names.filter { $0.hasSuffix(".rules") }.sorted().map { read(rules.appendingPathComponent($0)) }
    }()
    static let schemaText = read(repositoryRoot.appendingPathComponent("rules/shop/schema.yaml"))
    static let catalogText = read(repositoryRoot.appendingPathComponent("rules/shop/catalog.yaml"))

    static let fragments = ["when", "then", "rule", "on", "(", ")", "[", "]", "{", "}", ",", ".", "->", "|", "??", "==", "not",
                            "2d", "5 EUR", "5%", "\"", "#", "\n", "case", "count(", "within", "per", "-", "VIP", "x", ":", "- ",
                            "  ", "\t", "[[[[", "{{", "&", "\u{00}", "é", "\r\n", "2026-13-45", "99999999999999999999"]

    static func mutate(_ text: String, using generator: inout SeededGenerator) -> String {
        var bytes = Array(text.utf8)
        for _ in 0..<Int.random(in: 1...6, using: &generator) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<5, using: &generator) {
            case 0 where !bytes.isEmpty:
                bytes.remove(at: position)
            case 1:
                bytes.insert(contentsOf: Array(fragments.randomElement(using: &generator)!.utf8), at: position)
            case 2 where !bytes.isEmpty:
                bytes[position] = UInt8.random(in: 0...255, using: &generator)
            case 3 where bytes.count > 2:
                let end = min(bytes.count, position + Int.random(in: 1...40, using: &generator))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            default:
                let end = min(bytes.count, position + Int.random(in: 1...20, using: &generator))
                bytes.removeSubrange(position..<end)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func randomBytes(using generator: inout SeededGenerator) -> String {
        let count = Int.random(in: 0...200, using: &generator)
        return String(decoding: (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }, as: UTF8.self)
    }

    /// Thousands of inputs through the library: parse, check, format and re-parse.
    @Test func libraryNeverCrashesOnRuleInput() {
        var generator = SeededGenerator(seed: 42)
        let schema = SourceFile(path: "schema.yaml", text: Self.schemaText)
        let catalog = SourceFile(path: "catalog.yaml", text: Self.catalogText)
        var clean = 0
        for index in 0..<4000 {
            let text = index % 4 == 0 ? Self.randomBytes(using: &generator)
                : Self.mutate(Self.ruleTexts.randomElement(using: &generator)!, using: &generator)
            let report = RuleSetLoader.check(rules: [SourceFile(path: "fuzz.rules", text: text)], schema: schema, catalog: catalog)
            _ = DiagnosticRenderer(files: report.sources).human(report.diagnostics)
            let (file, syntax) = Parser.parse(SourceFile(path: "fuzz.rules", text: text))
            if syntax.isEmpty {
                clean += 1
                let formatted = Formatter.format(file)
                let (again, problems) = Parser.parse(SourceFile(path: "fuzz.rules", text: formatted))
                #expect(problems.isEmpty, "formatting produced invalid text for: \(text.debugDescription)")
                #expect(TreeDump.dump(again) == TreeDump.dump(file), "formatting changed the meaning of: \(text.debugDescription)")
            }
        }
        #expect(clean > 100, "the mutations should leave some files valid")
    }

    @Test func libraryNeverCrashesOnYAMLInput() {
        var generator = SeededGenerator(seed: 7)
        for index in 0..<3000 {
            let base = index % 2 == 0 ? Self.schemaText : Self.catalogText
            let text = index % 5 == 0 ? Self.randomBytes(using: &generator) : Self.mutate(base, using: &generator)
            let source = SourceFile(path: "fuzz.yaml", text: text)
            let diagnostics = index % 2 == 0 ? SchemaLoader.load(source).1 : CatalogLoader.load(source).1
            _ = DiagnosticRenderer(files: ["fuzz.yaml": source]).human(diagnostics)
        }
        // Pathological nesting is refused before it reaches the YAML parser.
        let deep = String(repeating: "[", count: 100_000)
        #expect(SchemaLoader.load(SourceFile(path: "deep.yaml", text: deep)).1.first?.code == .yamlSyntax)
        let indented = (0..<2000).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n")
        #expect(SchemaLoader.load(SourceFile(path: "deep.yaml", text: indented)).1.first?.code == .yamlSyntax)
    }

    /// Hundreds of inputs through the binary: it always exits 0, 1 or 2, never by a signal.
    @Test func binaryExitsCleanlyOnAnyInput() throws {
        var generator = SeededGenerator(seed: 2026)
        let directory = try temporaryRuleSet()
        let rules = directory.appendingPathComponent("fuzz.rules")
        let schema = directory.appendingPathComponent("fuzz-schema.yaml")
        let catalog = directory.appendingPathComponent("fuzz-catalog.yaml")
        for index in 0..<300 {
            var arguments = ["check", rules.path]
            let ruleText = index % 3 == 0 ? Self.randomBytes(using: &generator)
                : Self.mutate(Self.ruleTexts.randomElement(using: &generator)!, using: &generator)
            try Data(ruleText.utf8).write(to: rules)
            if index % 4 == 1 {
                try Data(Self.mutate(Self.schemaText, using: &generator).utf8).write(to: schema)
                arguments += ["--schema", schema.path]
            }
            if index % 4 == 2 {
                try Data(Self.mutate(Self.catalogText, using: &generator).utf8).write(to: catalog)
                arguments += ["--catalog", catalog.path]
            }
            if index % 5 == 0 { arguments += ["--format", ["json", "sarif", "github"][index % 3]] }
            let run = try redress(arguments)
            #expect(run.exitedNormally, "crashed on input #\(index): \(ruleText.debugDescription)")
            #expect([0, 1, 2].contains(run.status), "exit \(run.status) on input #\(index)")
            let formatted = try redress(["fmt", "--check", rules.path])
            #expect(formatted.exitedNormally && [0, 1].contains(formatted.status))
        }
    }

    /// Mutated rule-test files through `redress test` (every format) and mutated rule sets through
    /// `redress diff`: a clean exit 0, 1 or 2, never a signal.
    @Test func testAndDiffExitCleanlyOnAnyInput() throws {
        var generator = SeededGenerator(seed: 77)
        let shop = repositoryRoot.appendingPathComponent("rules/shop")
        let names = try FileManager.default.contentsOfDirectory(atPath: shop.path)
        let tests = names.filter { $0.hasSuffix(".test.yaml") }.sorted().map { read(shop.appendingPathComponent($0)) }
        var rules: [String: String] = [:]
        for name in names where name.hasSuffix(".rules") { rules[name] = read(shop.appendingPathComponent(name)) }
        for index in 0..<40 {
            let directory = try temporaryRuleSet(rules)
            let testText = Self.mutate(tests.randomElement(using: &generator)!, using: &generator)
            try Data(testText.utf8).write(to: directory.appendingPathComponent("fuzz.test.yaml"))
            let format = ["human", "json", "junit"][index % 3]
            let tested = try redress(["test", directory.path, "--coverage", "--format", format])
            #expect(tested.exitedNormally, "test crashed on #\(index): \(testText.debugDescription)")
            #expect([0, 1, 2].contains(tested.status))
            let name = rules.keys.sorted().randomElement(using: &generator)!
            try Data(Self.mutate(rules[name]!, using: &generator).utf8).write(to: directory.appendingPathComponent(name))
            let compared = try redress(["diff", "rules/shop", directory.path, "--format", index % 2 == 0 ? "markdown" : "json"])
            #expect(compared.exitedNormally, "diff crashed on #\(index)")
            #expect([0, 1, 2].contains(compared.status))
        }
    }

    @Test func hugeAndDeepFilesAreHandled() throws {
        let deep = "when " + String(repeating: "(", count: 50_000) + "x" + String(repeating: ")", count: 50_000) + " then y\n"
        let chain = "when " + (0..<50_000).map { _ in "shipment.delay > 1d" }.joined(separator: " and ") + " then send apology\n"
        let many = (0..<20_000).map { "rule r\($0) on shipment.delivered when shipment.delay > \($0 % 9 + 1)d then refund 5 EUR" }.joined(separator: "\n")
        let directory = try temporaryRuleSet(["deep.rules": deep, "chain.rules": chain, "many.rules": many])
        let run = try redress(["check", directory.path])
        #expect(run.exitedNormally)
        #expect(run.status == 1)
        #expect(run.stdout.contains("error[E0103]"))
    }
}
