import Foundation
import RedressSyntax

/// Finds rule sets on disk and checks them: the library call behind `redress check`.
///
/// A rule set is one directory's `*.rules` files, with the `schema.yaml` and `catalog.yaml`
/// of that directory or its nearest ancestor that has them.
public struct RuleSetLocation: Sendable, Hashable {
    public var directory: String
    public var ruleFiles: [String]
    public var schema: String?
    public var catalog: String?
    /// The files asked for, when single files were named: their directory's other files are
    /// read too (they declare what the named ones use), but only these are reported on.
    public var focus: [String]? = nil

    /// The files to report on and format.
    public var requestedFiles: [String] { focus ?? ruleFiles }

    public init(directory: String, ruleFiles: [String], schema: String?, catalog: String?, focus: [String]? = nil) {
        self.directory = directory
        self.ruleFiles = ruleFiles
        self.schema = schema
        self.catalog = catalog
        self.focus = focus
    }
}

public struct RuleSetReport: Sendable {
    public var location: RuleSetLocation
    /// Every file read (rules and YAML), by path, for rendering diagnostics.
    public var sources: [String: SourceFile]
    public var files: [RuleFile]
    public var checked: CheckedRuleSet?
    public var diagnostics: [Diagnostic]
}

public enum LoadError: Error, CustomStringConvertible {
    case notFound(String)
    case unreadable(String, String)
    case missingSchema(String)
    case missingCatalog(String)

    public var description: String {
        switch self {
        case .notFound(let path): "no such file or directory: \(path)"
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .missingSchema(let directory): "no schema.yaml in \(directory) or any directory above it (give one with --schema)"
        case .missingCatalog(let directory): "no catalog.yaml in \(directory) or any directory above it (give one with --catalog)"
        }
    }
}

public enum RuleSetLoader {
    /// Groups the `.rules` files under `paths` by directory. Directories are searched
    /// recursively; a file brings the other rule files of its directory along (see `focus`).
    public static func locate(_ paths: [String], schema: String? = nil, catalog: String? = nil) throws(LoadError) -> [RuleSetLocation] {
        let manager = FileManager.default
        var byDirectory: [String: Set<String>] = [:]
        var focus: [String: Set<String>] = [:]
        var whole: Set<String> = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .notFound(path) }
            if isDirectory.boolValue {
                guard let enumerator = manager.enumerator(atPath: path) else { throw .unreadable(path, "cannot list the directory") }
                for case let relative as String in enumerator where relative.hasSuffix(".rules") {
                    let full = join(path, relative)
                    let directory = parent(full)
                    byDirectory[directory, default: []].insert(full)
                    whole.insert(directory)
                }
            } else {
                let directory = parent(path)
                byDirectory[directory, default: []].insert(path)
                focus[directory, default: []].insert(path)
                let siblings = (try? manager.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
                for name in siblings where name.hasSuffix(".rules") {
                    let sibling = join(directory, name)
                    if !byDirectory[directory, default: []].contains(where: { same($0, sibling) }) { byDirectory[directory]?.insert(sibling) }
                }
            }
        }
        var locations: [RuleSetLocation] = []
        for (directory, files) in byDirectory.sorted(by: { $0.key < $1.key }) {
            var location = RuleSetLocation(
                directory: directory, ruleFiles: files.sorted(),
                schema: schema ?? findUpwards("schema.yaml", from: directory),
                catalog: catalog ?? findUpwards("catalog.yaml", from: directory))
            if !whole.contains(directory), let requested = focus[directory] { location.focus = requested.sorted() }
            locations.append(location)
        }
        return locations
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.isEmpty || directory == "." ? name : (directory.hasSuffix("/") ? directory + name : directory + "/" + name)
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func same(_ a: String, _ b: String) -> Bool {
        URL(fileURLWithPath: a).standardizedFileURL.path == URL(fileURLWithPath: b).standardizedFileURL.path
    }

    /// The nearest `name` in `directory` or above it, shown relative to the working directory
    /// when it lies below it.
    static func findUpwards(_ name: String, from directory: String) -> String? {
        let workingDirectory = FileManager.default.currentDirectoryPath
        var url = URL(fileURLWithPath: directory.isEmpty ? "." : directory,
                      relativeTo: URL(fileURLWithPath: workingDirectory, isDirectory: true)).standardizedFileURL
        for _ in 0..<256 {
            let candidate = url.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: candidate.path) {
                let prefix = workingDirectory.hasSuffix("/") ? workingDirectory : workingDirectory + "/"
                return candidate.path.hasPrefix(prefix) ? String(candidate.path.dropFirst(prefix.count)) : candidate.path
            }
            let up = url.deletingLastPathComponent().standardizedFileURL
            if up.path == url.path { return nil }
            url = up
        }
        return nil
    }

    /// Reads a file as text; invalid UTF-8 is replaced rather than refused, and reported by the lexer.
    public static func read(_ path: String) throws(LoadError) -> SourceFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path, "permission denied or not a file") }
        return SourceFile(path: path, text: String(decoding: data, as: UTF8.self))
    }

    public static func check(_ location: RuleSetLocation) throws(LoadError) -> RuleSetReport {
        guard let schemaPath = location.schema else { throw .missingSchema(location.directory) }
        guard let catalogPath = location.catalog else { throw .missingCatalog(location.directory) }
        let schema = try read(schemaPath)
        let catalog = try read(catalogPath)
        var rules: [SourceFile] = []
        for path in location.ruleFiles { rules.append(try read(path)) }
        return check(rules: rules, schema: schema, catalog: catalog, location: location)
    }

    /// Checks rule sources already in memory (the same work as `redress check`, without the disk).
    public static func check(rules: [SourceFile], schema schemaSource: SourceFile, catalog catalogSource: SourceFile,
                             location: RuleSetLocation? = nil) -> RuleSetReport {
        check(parsed: rules.map { ParsedRuleFile(Parser.parse($0)) }, schema: LoadedSchema(schemaSource),
              catalog: LoadedCatalog(catalogSource), location: location)
    }

    /// Checks rule files already parsed against a schema and catalog already loaded: an editor
    /// keeps these between keystrokes and re-parses only the file that changed. `reusing` holds
    /// files' rules as checked before, for files unchanged since (see `Checker.check(…reusing:)`).
    public static func check(parsed: [ParsedRuleFile], schema: LoadedSchema, catalog: LoadedCatalog,
                             location: RuleSetLocation? = nil, reusing: [String: CheckedFile] = [:]) -> RuleSetReport {
        var sources: [String: SourceFile] = [schema.source.path: schema.source, catalog.source.path: catalog.source]
        var diagnostics = schema.diagnostics + catalog.diagnostics
        var syntaxOK = true
        for rule in parsed {
            sources[rule.file.source.path] = rule.file.source
            diagnostics += rule.diagnostics
            if !rule.diagnostics.isEmpty { syntaxOK = false }
        }
        let files = parsed.map(\.file)
        // Names are checked even in files with syntax errors (for the items that parsed), but
        // not against a broken schema or catalog: every reference would be reported as unknown.
        // Warnings wait until the syntax is right: a broken rule may be what used a definition.
        var checked: CheckedRuleSet? = nil
        if schema.diagnostics.allSatisfy({ $0.severity != .error }) && catalog.diagnostics.allSatisfy({ $0.severity != .error }) {
            let (result, checkDiagnostics) = Checker.check(files: files, schema: schema.schema, catalog: catalog.catalog, reusing: reusing)
            diagnostics += syntaxOK ? checkDiagnostics : checkDiagnostics.filter { $0.severity == .error }
            checked = result
        }
        let where_ = location ?? RuleSetLocation(directory: "", ruleFiles: files.map(\.source.path), schema: schema.source.path,
                                                 catalog: catalog.source.path)
        return RuleSetReport(location: where_, sources: sources, files: files, checked: checked, diagnostics: diagnostics)
    }
}

/// A rule file with the diagnostics of lexing and parsing it.
public struct ParsedRuleFile: Sendable {
    public var file: RuleFile
    public var diagnostics: [Diagnostic]
    public init(_ parsed: (file: RuleFile, diagnostics: [Diagnostic])) {
        self.file = parsed.file
        self.diagnostics = parsed.diagnostics
    }
}

/// A `schema.yaml` read into a schema, with the problems found in it.
public struct LoadedSchema: Sendable {
    public var source: SourceFile
    public var schema: Schema
    public var diagnostics: [Diagnostic]
    public init(_ source: SourceFile) {
        self.source = source
        (schema, diagnostics) = SchemaLoader.load(source)
    }
}

/// A `catalog.yaml` read into a catalog, with the problems found in it.
public struct LoadedCatalog: Sendable {
    public var source: SourceFile
    public var catalog: Catalog
    public var diagnostics: [Diagnostic]
    public init(_ source: SourceFile) {
        self.source = source
        (catalog, diagnostics) = CatalogLoader.load(source)
    }
}
