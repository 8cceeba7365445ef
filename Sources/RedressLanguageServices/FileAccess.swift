import Foundation

/// How the workspace reads files that are not open in the editor: from the disk for `redress lsp`,
/// from a dictionary in tests (or wherever a caller keeps its files).
public struct FileAccess: Sendable {
    /// The text of a file, or nil when there is none.
    public var read: @Sendable (String) -> String?
    /// Whether a file exists.
    public var exists: @Sendable (String) -> Bool
    /// The names of the entries of a directory (not their paths).
    public var list: @Sendable (String) -> [String]

    public init(read: @escaping @Sendable (String) -> String?, exists: @escaping @Sendable (String) -> Bool,
                list: @escaping @Sendable (String) -> [String]) {
        self.read = read
        self.exists = exists
        self.list = list
    }

    public static let disk = FileAccess(
        // Invalid UTF-8 is replaced, as `redress check` reads files, and the lexer reports it.
        read: { path in FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } },
        exists: { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        },
        list: { directory in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] })

    /// Files held in memory, by absolute path.
    public static func memory(_ files: [String: String]) -> FileAccess {
        FileAccess(
            read: { files[$0] },
            exists: { files[$0] != nil },
            list: { directory in
                let prefix = directory.hasSuffix("/") ? directory : directory + "/"
                return files.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
                    .map { String($0.dropFirst(prefix.count)) }.sorted()
            })
    }
}

/// Paths are handled as text: `/a/b/c.rules` → `/a/b`.
enum PathText {
    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
    static func join(_ directory: String, _ name: String) -> String {
        directory.isEmpty ? name : (directory.hasSuffix("/") ? directory + name : directory + "/" + name)
    }
    static func name(_ path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }
    static func isRuleFile(_ path: String) -> Bool { path.hasSuffix(".rules") }
    static func isSchemaOrCatalog(_ path: String) -> Bool { ["schema.yaml", "catalog.yaml"].contains(name(path)) }
}
