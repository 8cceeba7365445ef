import Foundation
@testable import RedressStudio

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh copy of the example shop (rules, tests, schema, catalog) in a temporary directory,
/// removed when the process exits.
func shopCopy() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redress-studio-tests-\(getpid())/shop-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory.deletingLastPathComponent(), withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("rules/shop"), to: directory)
    atexit {
        try? FileManager.default.removeItem(at: FileManager.default.temporaryDirectory.appendingPathComponent("redress-studio-tests-\(getpid())"))
    }
    return directory
}

/// A studio on a copy of the shop with its bundled history.
func shopStudio() throws -> (Studio, URL) {
    let directory = try shopCopy()
    let history = try EventHistory(files: [directory.appendingPathComponent("events/history.jsonl").path])
    return (Studio(folder: try RuleSetFolder(directory.path), history: history), directory)
}

func text(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }
