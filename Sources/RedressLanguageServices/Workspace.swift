import RedressSemantics
import RedressSyntax

/// The rule sets an editor (or a web workbench) works on, held in memory: the documents open in
/// it, possibly unsaved, over the files on disk. Every language service asks the workspace.
///
/// A rule set is, as for `redress check`, one directory's `*.rules` files with the nearest
/// `schema.yaml` and `catalog.yaml` at or above that directory. What is computed from a file is
/// kept until that file changes: a keystroke re-parses only the document typed in and reuses the
/// syntax trees of the other files and the loaded schema and catalog, and the checker takes the
/// other files' rules as checked before while the declarations they read are unchanged (what
/// spans files, such as unused declarations, is worked out over all rules each time).
///
/// Not thread-safe: one caller at a time (the language server answers one message after another).
public final class Workspace {
    public let files: FileAccess
    /// Documents open in the editor; their text wins over the disk's.
    private var openDocuments: [String: SourceFile] = [:]
    /// Files read from the disk, until they change there.
    private var diskTexts: [String: SourceFile] = [:]
    /// A count per path that goes up whenever its text may have changed; what is computed from a
    /// file remembers the count it saw.
    private var generations: [String: Int] = [:]
    private var ruleSets: [String: RuleSetCache] = [:]

    public init(files: FileAccess = .disk) {
        self.files = files
    }

    // MARK: - Documents

    public func open(_ path: String, text: String) {
        openDocuments[path] = SourceFile(path: path, text: text)
        changed(path, membership: true)
    }

    /// The document's whole new text.
    public func update(_ path: String, text: String) {
        let isNew = openDocuments[path] == nil
        openDocuments[path] = SourceFile(path: path, text: text)
        changed(path, membership: isNew)
    }

    /// Replaces a range of an open document. False when the document is not open.
    @discardableResult
    public func edit(_ path: String, range: TextRange, newText: String) -> Bool {
        guard let source = openDocuments[path] else { return false }
        openDocuments[path] = SourceFile(path: path, text: source.replacing(range, with: newText))
        changed(path, membership: false)
        return true
    }

    /// The editor closed the document: the file on disk counts again (or none, if it was never saved).
    public func close(_ path: String) {
        openDocuments[path] = nil
        diskTexts[path] = nil
        changed(path, membership: true)
    }

    /// A file changed, appeared or went away on disk. An open document keeps the editor's text.
    public func fileChangedOnDisk(_ path: String) {
        diskTexts[path] = nil
        changed(path, membership: true)
    }

    public func isOpen(_ path: String) -> Bool { openDocuments[path] != nil }
    public var openPaths: [String] { openDocuments.keys.sorted() }

    /// The text of a file as the services see it: the editor's if open, else the disk's.
    public func source(_ path: String) -> SourceFile? {
        if let open = openDocuments[path] { return open }
        if let read = diskTexts[path] { return read }
        guard let text = files.read(path) else { return nil }
        let source = SourceFile(path: path, text: text)
        diskTexts[path] = source
        return source
    }

    private func exists(_ path: String) -> Bool { openDocuments[path] != nil || files.exists(path) }

    private func generation(_ path: String) -> Int { generations[path, default: 0] }

    /// `membership`: the file may have appeared or gone, so which files make up a rule set, and
    /// which schema and catalog are nearest, are looked up again.
    private func changed(_ path: String, membership: Bool) {
        generations[path, default: 0] += 1
        guard membership else { return }
        if PathText.isRuleFile(path) {
            ruleSets[PathText.parent(path)]?.ruleFilePaths = nil
        } else if PathText.isSchemaOrCatalog(path) {
            for cache in ruleSets.values { cache.yamlPaths = nil }
        }
    }

    // MARK: - Rule sets

    /// The rule sets a file belongs to, by directory: a rule file's own directory; for a
    /// schema.yaml or catalog.yaml, the known rule sets that use it, else its own directory when
    /// that holds rule files.
    public func ruleSetDirectories(for path: String) -> [String] {
        if PathText.isRuleFile(path) { return [PathText.parent(path)] }
        guard PathText.isSchemaOrCatalog(path) else { return [] }
        let users = ruleSets.keys.sorted().filter { directory in
            let analysis = analysis(ofRuleSet: directory)
            return analysis.schema?.source.path == path || analysis.catalog?.source.path == path
        }
        if !users.isEmpty { return users }
        let own = PathText.parent(path)
        return ruleFilePaths(in: own).isEmpty ? [] : [own]
    }

    /// Drops what is kept for a rule set (when none of its files is open any more).
    public func forget(ruleSet directory: String) {
        ruleSets[directory] = nil
    }

    private func cache(_ directory: String) -> RuleSetCache {
        if let cache = ruleSets[directory] { return cache }
        let cache = RuleSetCache()
        ruleSets[directory] = cache
        return cache
    }

    /// The directory's rule files: those on disk and those open (possibly not saved yet), sorted
    /// as `redress check` sorts them.
    private func ruleFilePaths(in directory: String) -> [String] {
        var paths = Set(files.list(directory).filter(PathText.isRuleFile).map { PathText.join(directory, $0) })
        for path in openDocuments.keys where PathText.isRuleFile(path) && PathText.parent(path) == directory { paths.insert(path) }
        return paths.sorted()
    }

    /// The nearest `name` at or above `directory`.
    private func findUpwards(_ name: String, from directory: String) -> String? {
        var current = directory
        for _ in 0..<256 {
            let candidate = PathText.join(current, name)
            if exists(candidate) { return candidate }
            let up = PathText.parent(current)
            if up == current || up.isEmpty { return nil }
            current = up
        }
        return nil
    }

    /// The rule set's files, parsed, with its schema and catalog loaded (each kept until its file changes).
    public func analysis(ofRuleSet directory: String) -> Analysis {
        let cache = cache(directory)
        if cache.ruleFilePaths == nil { cache.ruleFilePaths = ruleFilePaths(in: directory) }
        if cache.yamlPaths == nil {
            cache.yamlPaths = (findUpwards("schema.yaml", from: directory), findUpwards("catalog.yaml", from: directory))
        }
        var parsed: [ParsedRuleFile] = []
        for path in cache.ruleFilePaths ?? [] {
            let current = generation(path)
            if let kept = cache.parsed[path], kept.generation == current {
                parsed.append(kept.file)
            } else if let source = source(path) {
                let file = ParsedRuleFile(Parser.parse(source))
                cache.parsed[path] = (current, file)
                parsed.append(file)
            }
        }
        let keptPaths = Set(cache.ruleFilePaths ?? [])
        cache.parsed = cache.parsed.filter { keptPaths.contains($0.key) }

        var problems: [Diagnostic] = []
        let schema = loaded(cache.yamlPaths?.schema, kept: &cache.schema, LoadedSchema.init)
        if schema == nil {
            problems += missing("schema.yaml", in: directory, files: parsed, about: "the entities, fields and events rules read", doc: "docs/schema.md")
        }
        let catalog = loaded(cache.yamlPaths?.catalog, kept: &cache.catalog, LoadedCatalog.init)
        if catalog == nil {
            problems += missing("catalog.yaml", in: directory, files: parsed, about: "the actions, templates, channels and tags rules use", doc: "docs/catalog.md")
        }
        return Analysis(directory: directory, ruleFiles: parsed, schema: schema, catalog: catalog, setupProblems: problems)
    }

    /// The schema or catalog at `path`, loaded again only when its file changed.
    private func loaded<Loaded>(_ path: String?, kept: inout Kept<Loaded>?, _ load: (SourceFile) -> Loaded) -> Loaded? {
        guard let path, let source = source(path) else { return nil }
        if let kept, kept.path == path, kept.generation == generation(path) { return kept.value }
        let value = load(source)
        kept = Kept(path: path, generation: generation(path), value: value)
        return value
    }

    private func missing(_ name: String, in directory: String, files: [ParsedRuleFile], about: String, doc: String) -> [Diagnostic] {
        files.map { file in
            Diagnostic(name == "schema.yaml" ? .invalidSchema : .invalidCatalog,
                       "no \(name) in \(directory) or any directory above it",
                       at: Label(file: file.file.source.path, span: .empty, message: "the rule set has no \(name)"),
                       notes: ["\(name) declares \(about) (\(doc))"],
                       help: "add a \(name) beside the rule files or in a directory above them")
        }
    }

    /// The rule set checked (the work of `redress check`), or nil when its schema or catalog is
    /// missing. Kept until one of its files changes.
    public func report(ofRuleSet directory: String) -> RuleSetReport? {
        let analysis = analysis(ofRuleSet: directory)
        guard let schema = analysis.schema, let catalog = analysis.catalog else { return nil }
        let ruleFiles = analysis.ruleFiles.map(\.file.source.path)
        let yaml = [schema.source.path, catalog.source.path].map { "\(generation($0)) \($0)" }
        let key = ruleFiles.map { "\(generation($0)) \($0)" } + yaml
        let cache = cache(directory)
        if let kept = cache.report, kept.key == key { return kept.report }
        // The rules of the files that did not change are taken as checked (unless what they are
        // checked against changed: the checker compares the declarations, the key here the YAML).
        var reusable: [String: CheckedFile] = [:]
        if let kept = cache.report, kept.key.suffix(2) == yaml[...], let checkedFiles = kept.report.checked?.checkedFiles {
            let unchanged = Set(kept.key).intersection(key)
            for path in ruleFiles where unchanged.contains("\(generation(path)) \(path)") { reusable[path] = checkedFiles[path] }
        }
        let location = RuleSetLocation(directory: directory, ruleFiles: ruleFiles, schema: schema.source.path, catalog: catalog.source.path)
        let report = RuleSetLoader.check(parsed: analysis.ruleFiles, schema: schema, catalog: catalog, location: location, reusing: reusable)
        cache.report = (key, report)
        return report
    }

    /// The rule set a rule file belongs to, parsed.
    func analysis(of path: String) -> Analysis? {
        guard let directory = ruleSetDirectories(for: path).first else { return nil }
        return analysis(ofRuleSet: directory)
    }
}

/// What is kept for one rule set between requests.
final class RuleSetCache {
    var ruleFilePaths: [String]?
    var yamlPaths: (schema: String?, catalog: String?)?
    var parsed: [String: (generation: Int, file: ParsedRuleFile)] = [:]
    var schema: Kept<LoadedSchema>?
    var catalog: Kept<LoadedCatalog>?
    var report: (key: [String], report: RuleSetReport)?
}

/// What was computed from a file, with the count of changes to it that it saw.
struct Kept<Value> {
    var path: String
    var generation: Int
    var value: Value
}

/// A rule set's files parsed, with its schema and catalog loaded; not yet checked.
public struct Analysis {
    public var directory: String
    /// In path order, as `redress check` reads them.
    public var ruleFiles: [ParsedRuleFile]
    public var schema: LoadedSchema?
    public var catalog: LoadedCatalog?
    /// What keeps the rule set from being checked: no schema.yaml or catalog.yaml found.
    public var setupProblems: [Diagnostic]

    public func ruleFile(_ path: String) -> ParsedRuleFile? { ruleFiles.first { $0.file.source.path == path } }

    /// Every file of the rule set by path: its rule files, schema and catalog.
    public var sources: [String: SourceFile] {
        var sources: [String: SourceFile] = [:]
        for file in ruleFiles { sources[file.file.source.path] = file.file.source }
        if let schema { sources[schema.source.path] = schema.source }
        if let catalog { sources[catalog.source.path] = catalog.source }
        return sources
    }
}
