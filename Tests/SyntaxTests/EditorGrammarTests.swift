import Foundation
import Testing
import RedressSyntax

/// The TextMate grammar of the VS Code extension (editors/vscode/syntaxes/redress.tmLanguage.json)
/// must colour every token as the lexer reads it. Node runs the grammar
/// (editors/vscode/test/tokenize.js, which says why it is not vscode-textmate), and
/// `compareScopes` holds its tokens against the lexer's, token by token.
@Suite(.enabled(if: Node.executable != nil, "node 18 or later is not on PATH: the editor grammar in editors/vscode is not compared with the lexer"))
struct EditorGrammarTests {
    static let grammar = repositoryRoot.appendingPathComponent("editors/vscode/syntaxes/redress.tmLanguage.json")

    /// Rules that parse and use every keyword and every symbol of the language.
    static let everyToken = #"""
        # Every keyword and symbol of the language, in rules that parse.
        param threshold = 2d
        param pilot = 25%
        let reachable = customer.tier in [VIP, Plus] and not (customer.phone is missing) or customer.phone is present
        let amount = case customer.tier { VIP -> 10 EUR, Plus | Standard -> 5EUR, else -> 3\#tEUR }
        let flags = true != false
        table days by Country {
          DE -> 2d,
          else -> 500ms * 2 + 1w - 30s / 2,
        }
        group delivery per order within 30d by priority
        policy limit 3 per customer within 7d
        policy cap 20 EUR per customer.country
        rule late_parcel "A \"late\" parcel\t(escapes \\ and \n)"  # a comment after a string
          on shipment.delivered, shipment.lost
          unless shipment.lost within 48h
          when shipment.delay > threshold and count(return.registered where return.reason == wrong_size per order within 90d) >= 1
            and shipment.delay <= 10d and 5% of order.total * 1.5 < 100.50 EUR and days[customer.country] >= 1d
            and (shipment.delivered_at ?? 2026-12-01T08:00:00Z) == 2026-12-01T08:00+01:00
          then refund clamp(5% of order.total, 3 EUR, 5 EUR), send apology via customer.preferred_channel ?? email,
            # a comment between actions
            reship
          limit 1 per order within 30d
          exclusive delivery priority 10
          rollout pilot
          active from 2026-12-01 until 2027-01-15

        rule
          named_on_the_next_line on order.placed when -order.total > 0 EUR then flag handwritten limit none active until 2026-12-31
        when customer.
          tier == VIP then reship
        """#

    /// rules/, and the fixtures of the formatter, of the phrasing hints and of the diagnostics.
    static let ruleFiles = ruleFilesInRepository().map(\.path)
        + ["Tests/SyntaxTests/Fixtures/format", "Tests/SemanticsTests/Fixtures/phrasing", "Tests/SemanticsTests/Fixtures/diagnostics"]
        .flatMap { files(in: repositoryRoot.appendingPathComponent($0), ending: ".rules").map(\.path) }

    @Test func everyRuleFileIsColouredAsTheLexerReadsIt() throws {
        #expect(ruleFilesInRepository().count >= 9)
        #expect(Self.ruleFiles.count > 100)
        let disagreements = try Self.compare(files: Self.ruleFiles)
        let count = disagreements.count
        #expect(count == 0, "\(Self.summary(disagreements))")
    }

    @Test func everyKeywordAndSymbolIsColouredAsTheLexerReadsIt() throws {
        let source = SourceFile(path: "every-token.rules", text: Self.everyToken)
        let (tokens, _, _) = Lexer.tokenize(source)
        // The sample must grow with the language, or a new keyword would go untested.
        #expect(Set(tokens.compactMap { if case .keyword(let k) = $0.kind { k } else { nil } }) == Set(Keyword.allCases))
        #expect(Set(tokens.compactMap { if case .symbol(let s) = $0.kind { s } else { nil } }) == Set(Symbol.allCases))
        #expect(Parser.parse(source).diagnostics.isEmpty, "the sample must parse, so that names are compared by role")
        // Keywords where a name could stand: after `.`, a number, a declaring keyword or `then`.
        let positions = Keyword.allCases.map { keyword in
            let k = keyword.rawValue
            return "x.\(k) 10\(k) rule \(k)\nparam \(k)\nlet \(k)\ntable \(k)\ngroup \(k)\nwhen a then \(k)\n"
        }.joined()
        let disagreements = try Self.compare(texts: [Self.everyToken, positions], names: ["every-token sample", "keywords where names could stand"])
        let count = disagreements.count
        #expect(count == 0, "\(Self.summary(disagreements))")
    }

    @Test func generatedCorpusIsColouredAsTheLexerReadsIt() throws {
        // grammar/corpus.py's sentences: derived from the Lark grammar with random layout and
        // comments, and mutated ones, about half of which no longer parse.
        let (status, output) = try GrammarAgreementTests.python(["grammar/corpus.py", "generate", "--seed", "1", "--count", "3000", "--quiet", "--out", "-"])
        #expect(status == 0)
        let entries = try output.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(GrammarAgreementTests.Entry.self, from: Data($0)) }
        #expect(entries.count >= 3000)
        let disagreements = try Self.compare(texts: entries.map(\.text), names: entries.map { "corpus #\($0.id) [\($0.kind)]" })
        let count = disagreements.count
        #expect(count == 0, "\(Self.summary(disagreements))")
    }

    // MARK: - The comparison cannot pass by comparing nothing

    @Test func aGrammarMissingAKeywordIsCaught() throws {
        let original = try String(contentsOf: Self.grammar, encoding: .utf8)
        let broken = original.replacingOccurrences(of: "|within", with: "")
        #expect(broken != original)
        let disagreements = try Self.compare(files: ruleFilesInRepository().map(\.path), grammar: broken)
        let count = disagreements.count
        #expect(count > 0)
        let allAboutWithin = disagreements.allSatisfy { $0.text == "within" && $0.expected == ["keyword.control.redress"] }
        #expect(allAboutWithin, "\(Self.summary(disagreements))")
    }

    @Test func aGrammarWithoutActionVerbsIsCaught() throws {
        let original = try String(contentsOf: Self.grammar, encoding: .utf8)
        let broken = original.replacingOccurrences(of: ##"{ "include": "#actions" },"##, with: "")
        #expect(broken != original)
        let disagreements = try Self.compare(files: ruleFilesInRepository().map(\.path), grammar: broken)
        let refundIsCaught = disagreements.contains { $0.text == "refund" }
        #expect(refundIsCaught)
        let allAboutVerbs = disagreements.allSatisfy { $0.expected == [ExpectedScope.NameRole.verb.rawValue] }
        #expect(allAboutVerbs, "\(Self.summary(disagreements))")
    }

    @Test func colouredBlanksAndSplitTokensAreCaught() {
        let text = "when x then y"
        let scoped = { (pieces: [(Int, Int, String)]) in pieces.map { ScopedToken(start: $0.0, end: $0.1, scopes: ["source.redress", $0.2]) } }
        let right = scoped([(0, 4, "keyword.control.redress"), (5, 6, "variable.other.redress"), (7, 11, "keyword.control.redress"),
                            (12, 13, "entity.name.function.action.redress")])
        #expect(compareScopes(path: "t.rules", text: text, tokens: right).isEmpty)
        // The blank after `when` coloured as a string.
        var blank = right
        blank.insert(ScopedToken(start: 4, end: 5, scopes: ["source.redress", "string.quoted.double.redress"]), at: 1)
        #expect(compareScopes(path: "t.rules", text: text, tokens: blank).map(\.description)
                == [#"t.rules:1:5: " ": expected no scope (the lexer reads no token here), got source.redress string.quoted.double.redress"#])
        // `when x` as one keyword.
        let merged = scoped([(0, 6, "keyword.control.redress"), (7, 11, "keyword.control.redress"), (12, 13, "entity.name.function.action.redress")])
        #expect(compareScopes(path: "t.rules", text: text, tokens: merged).first?.text == "when x")
        // `y` not coloured at all.
        #expect(compareScopes(path: "t.rules", text: text, tokens: Array(right.prefix(3))).map(\.text) == ["y"])
    }

    /// tokenize.js runs the grammar's regular expressions with JavaScript's engine, VS Code with
    /// Oniguruma: every search made on the rule files, the fixtures and the sample is repeated with
    /// Oniguruma (editors/vscode/test/oniguruma.py) and must find the same.
    @Test(.enabled(if: oniguruma, "onigurumacffi (PyPI) is not installed: the grammar's regular expressions are not run with Oniguruma"))
    func everySearchFindsTheSameWithOniguruma() throws {
        let searches = FileManager.default.temporaryDirectory.appendingPathComponent("redress-searches-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: searches) }
        let texts = Self.ruleFiles.map { read(URL(fileURLWithPath: $0)) } + [Self.everyToken]
        _ = try Self.compare(texts: texts, searches: searches)
        let (status, output) = try GrammarAgreementTests.python(["editors/vscode/test/oniguruma.py", searches.path])
        let report = String(decoding: output, as: UTF8.self)
        #expect(status == 0, "\(report)")
        #expect(report.contains("; 0 differ"), "\(report)")
    }

    static let oniguruma = ((try? GrammarAgreementTests.python(["-c", "import onigurumacffi"]))?.status ?? 1) == 0

    @Test func theExtensionStartsTheLanguageServer() throws {
        let result = try Node.run(["--test", "editors/vscode/test/extension.test.js"])
        #expect(result.status == 0, "\(String(decoding: result.output, as: UTF8.self))\(result.errors)")
    }

    // MARK: - Running the grammar

    static func compare(files paths: [String], grammar: String? = nil) throws -> [ScopeDisagreement] {
        let texts = paths.map { read(URL(fileURLWithPath: $0)) }
        let names = paths.map { $0.hasPrefix(repositoryRoot.path + "/") ? String($0.dropFirst(repositoryRoot.path.count + 1)) : $0 }
        return try compare(texts: texts, names: names, grammar: grammar)
    }

    /// Writes the texts to one JSON-lines file, tokenises them all in one run of node, and
    /// compares each with the lexer.
    static func compare(texts: [String], names: [String]? = nil, grammar: String? = nil, searches: URL? = nil) throws -> [ScopeDisagreement] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redress-editor-grammar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("texts.jsonl")
        let lines = try texts.enumerated().map { index, text in
            String(decoding: try JSONSerialization.data(withJSONObject: ["id": index, "text": text]), as: UTF8.self)
        }
        try (lines.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        var arguments = ["editors/vscode/test/tokenize.js", "--jsonl", input.path]
        if let grammar {
            let file = directory.appendingPathComponent("grammar.json")
            try grammar.write(to: file, atomically: true, encoding: .utf8)
            arguments += ["--grammar", file.path]
        }
        if let searches { arguments += ["--searches", searches.path] }
        let result = try Node.run(arguments)
        guard result.status == 0 else { throw Node.Failure(message: result.errors) }
        let tokenized = try JSONDecoder().decode([TokenizedText].self, from: result.output)
        guard tokenized.count == texts.count else { throw Node.Failure(message: "\(tokenized.count) results for \(texts.count) texts") }
        return zip(texts.indices, tokenized).flatMap { index, result in
            compareScopes(path: names?[index] ?? "text \(index + 1)", text: texts[index], tokens: result.tokens)
        }
    }

    static func summary(_ disagreements: [ScopeDisagreement]) -> String {
        guard !disagreements.isEmpty else { return "" }
        return "\(disagreements.count) tokens coloured differently from the lexer, the first \(min(10, disagreements.count)):\n"
            + disagreements.prefix(10).map(\.description).joined(separator: "\n")
    }
}

/// The `node` on PATH, if there is one.
enum Node {
    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { "node failed: \(message)" }
    }

    /// Node 18 or later: the tests use `node --test` and the regex flag `d`.
    static let executable: URL? = {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("node")
            guard FileManager.default.isExecutableFile(atPath: candidate.path) else { continue }
            let process = Process()
            process.executableURL = candidate
            process.arguments = ["-e", "process.exit(Number(process.versions.node.split('.')[0]) >= 18 ? 0 : 1)"]
            guard (try? process.run()) != nil else { return nil }
            process.waitUntilExit()
            return process.terminationStatus == 0 ? candidate : nil
        }
        return nil
    }()

    /// Runs node in the repository root; standard error goes through a file, so that a large
    /// standard output cannot block on a full error pipe.
    static func run(_ arguments: [String]) throws -> (status: Int32, output: Data, errors: String) {
        guard let executable else { throw Failure(message: "node is not on PATH") }
        let errorsFile = FileManager.default.temporaryDirectory.appendingPathComponent("redress-node-\(UUID().uuidString).err")
        guard FileManager.default.createFile(atPath: errorsFile.path, contents: nil) else { throw Failure(message: "cannot write \(errorsFile.path)") }
        defer { try? FileManager.default.removeItem(at: errorsFile) }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = repositoryRoot
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorsFile)
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, data, (try? String(contentsOf: errorsFile, encoding: .utf8)) ?? "")
    }
}
