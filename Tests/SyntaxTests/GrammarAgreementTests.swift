import Foundation
import Testing
@testable import RedressSyntax

/// The formal grammar (grammar/redress.lark, run by Lark from PyPI) and the Swift parser must
/// accept and reject the same texts: every rule file in rules/, and a deterministic corpus of
/// sentences derived from the grammar plus mutations of them (grammar/corpus.py).
struct GrammarAgreementTests {
    struct Entry: Decodable {
        var id: Int
        var text: String
        var accepted: Bool
        var kind: String
    }

    static func python(_ arguments: [String]) throws -> (status: Int32, output: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.currentDirectoryURL = repositoryRoot
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, data)
    }

    static func corpus(seed: Int) throws -> [Entry] {
        let (status, data) = try python(["grammar/corpus.py", "generate", "--seed", "\(seed)", "--count", "3000", "--quiet", "--out", "-"])
        guard status == 0 else { throw CorpusError.generatorFailed(status) }
        let decoder = JSONDecoder()
        return try data.split(separator: UInt8(ascii: "\n")).map { try decoder.decode(Entry.self, from: Data($0)) }
    }

    enum CorpusError: Error { case generatorFailed(Int32) }

    @Test(arguments: [1, 2])
    func parserAgreesWithGrammarOnGeneratedCorpus(seed: Int) throws {
        let entries = try Self.corpus(seed: seed)
        #expect(entries.count >= 3000)
        // The corpus must exercise both sides, or agreement would prove little.
        #expect(entries.filter(\.accepted).count > 1000)
        #expect(entries.filter { !$0.accepted }.count > 500)
        var disagreements: [String] = []
        for entry in entries {
            let (_, diagnostics) = parse(entry.text)
            let accepted = diagnostics.isEmpty
            if accepted != entry.accepted {
                disagreements.append("#\(entry.id) [\(entry.kind)] grammar \(entry.accepted ? "accepts" : "rejects"), parser \(accepted ? "accepts" : "rejects"): \(entry.text.debugDescription) \(diagnostics.first?.message ?? "")")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements:\n\(disagreements.prefix(20).joined(separator: "\n"))")
    }

    @Test func grammarAndParserAcceptEveryRuleFile() throws {
        let paths = ruleFilesInRepository().map(\.path)
        #expect(!paths.isEmpty)
        let (status, output) = try Self.python(["grammar/corpus.py", "check"] + paths)
        #expect(status == 0, "\(String(decoding: output, as: UTF8.self))")
        for path in paths {
            #expect(parse(read(URL(fileURLWithPath: path))).1.isEmpty, "\(path)")
        }
    }
}
