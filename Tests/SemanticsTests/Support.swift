import Foundation
import RedressSemantics
import RedressSyntax

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
let updatingGoldenFiles = ProcessInfo.processInfo.environment["REDRESS_UPDATE_GOLDEN"] == "1"

func read(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }

func files(in directory: URL, ending suffix: String) -> [URL] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.filter { $0.hasSuffix(suffix) }.sorted().map { directory.appendingPathComponent($0) }
}

/// The example shop's schema and catalog, shown in diagnostics under their repository paths.
let shopSchema = SourceFile(path: "rules/shop/schema.yaml", text: read(repositoryRoot.appendingPathComponent("rules/shop/schema.yaml")))
let shopCatalog = SourceFile(path: "rules/shop/catalog.yaml", text: read(repositoryRoot.appendingPathComponent("rules/shop/catalog.yaml")))

/// Checks rule text against the shop schema and catalog.
func check(_ text: String, path: String = "test.rules") -> RuleSetReport {
    RuleSetLoader.check(rules: [SourceFile(path: path, text: text)], schema: shopSchema, catalog: shopCatalog)
}

func codes(_ text: String) -> [String] {
    check(text).diagnostics.map(\.code.rawValue)
}

/// Compares `actual` with a golden file, or rewrites it when REDRESS_UPDATE_GOLDEN=1.
func matchesGolden(_ actual: String, _ url: URL) -> Bool {
    if updatingGoldenFiles { try? actual.write(to: url, atomically: true, encoding: .utf8) }
    return actual == read(url)
}
