import Foundation
import RedressLanguageServices
import RedressSyntax

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let shopDirectory = repositoryRoot.appendingPathComponent("rules/shop").path
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

func shopPath(_ name: String) -> String { shopDirectory + "/" + name }

/// The example shop's files, in memory under `/shop`, with `files` added or replacing them: each
/// test works on its own copy and nothing touches the disk.
func shopWorkspace(_ files: [String: String] = [:]) -> Workspace {
    var all: [String: String] = [:]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: shopDirectory)) ?? []
    where name.hasSuffix(".rules") || name.hasSuffix(".yaml") && !name.hasSuffix(".test.yaml") {
        all["/shop/" + name] = try? String(contentsOfFile: shopPath(name), encoding: .utf8)
    }
    for (name, text) in files { all["/shop/" + name] = text }
    return Workspace(files: .memory(all))
}

/// The position of the `n`th occurrence of `marker` in `text` (its start, or its end with `after`).
func position(of marker: String, in text: String, occurrence: Int = 1, after: Bool = false) -> TextPosition {
    var searchStart = text.startIndex
    var found: Range<String.Index>? = nil
    for _ in 0..<occurrence {
        found = text.range(of: marker, range: searchStart..<text.endIndex)
        guard let range = found else { return TextPosition(line: 0, character: 0) }
        searchStart = range.upperBound
    }
    guard let range = found else { return TextPosition(line: 0, character: 0) }
    let index = after ? range.upperBound : range.lowerBound
    let before = text[..<index]
    let line = before.filter { $0 == "\n" }.count
    let lineStart = before.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
    return TextPosition(line: line, character: text[lineStart..<index].utf16.count)
}

let updatingGoldenFiles = ProcessInfo.processInfo.environment["REDRESS_UPDATE_GOLDEN"] == "1"

/// Compares `actual` with a golden file in Fixtures/, or rewrites it when REDRESS_UPDATE_GOLDEN=1.
func matchesGolden(_ actual: String, _ name: String) -> Bool {
    let url = URL(fileURLWithPath: fixturesDirectory).appendingPathComponent(name)
    if updatingGoldenFiles { try? actual.write(to: url, atomically: true, encoding: .utf8) }
    return actual == ((try? String(contentsOf: url, encoding: .utf8)) ?? "")
}

/// Files in memory that a test can change "on disk" while a workspace reads them.
final class MemoryDisk: @unchecked Sendable {
    private let lock = NSLock()
    private var files: [String: String]
    init(_ files: [String: String]) { self.files = files }
    subscript(path: String) -> String? {
        get { lock.withLock { files[path] } }
        set { lock.withLock { files[path] = newValue } }
    }
    var access: FileAccess {
        FileAccess(read: { self[$0] }, exists: { self[$0] != nil }, list: { directory in
            let prefix = directory + "/"
            return self.lock.withLock { self.files.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") } }
                .map { String($0.dropFirst(prefix.count)) }.sorted()
        })
    }
}
