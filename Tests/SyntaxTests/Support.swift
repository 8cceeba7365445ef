import Foundation
import RedressSyntax

/// The repository root, found from this file's path so tests can read rules/ and fixtures.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// Set REDRESS_UPDATE_GOLDEN=1 to rewrite expected files instead of comparing with them.
let updatingGoldenFiles = ProcessInfo.processInfo.environment["REDRESS_UPDATE_GOLDEN"] == "1"

func parse(_ text: String, path: String = "test.rules") -> (RuleFile, [Diagnostic]) {
    Parser.parse(SourceFile(path: path, text: text))
}

func files(in directory: URL, ending suffix: String) -> [URL] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.filter { $0.hasSuffix(suffix) }.sorted().map { directory.appendingPathComponent($0) }
}

func ruleFilesInRepository() -> [URL] {
    let rules = repositoryRoot.appendingPathComponent("rules")
    guard let enumerator = FileManager.default.enumerator(atPath: rules.path) else { return [] }
    return enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".rules") }.sorted().map { rules.appendingPathComponent($0) }
}

func read(_ url: URL) -> String {
    (try? String(contentsOf: url, encoding: .utf8)) ?? ""
}
