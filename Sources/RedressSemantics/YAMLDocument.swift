import RedressSyntax
import Yams

/// Reads a YAML file through Yams (libyaml) into nodes that remember where they were
/// written, so that schema and catalog mistakes are diagnostics with line and column.
struct YAMLDocument {
    let source: SourceFile
    let root: Node?
    var diagnostics: [Diagnostic] = []

    /// libyaml parses iteratively, but building nodes recurses once per level, so absurdly
    /// deep documents are refused before they reach it.
    static let maximumNesting = YAMLReader.maximumNesting

    init(source: SourceFile) {
        self.source = source
        let (root, diagnostic) = YAMLReader.compose(source)
        self.root = root
        if let diagnostic { diagnostics.append(diagnostic) }
    }

    static func diagnostic(for error: YamlError, in source: SourceFile) -> Diagnostic {
        func at(_ mark: Mark?) -> Span {
            guard let mark else { return .empty }
            let offset = source.offset(line: mark.line, column: mark.column)
            return Span(start: offset, end: min(offset + 1, source.bytes.count))
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var notes: [String] = []
            if let context { notes.append("\(context.text) at line \(context.mark.line), column \(context.mark.column)") }
            return Diagnostic(.yamlSyntax, "YAML syntax error: \(problem)", at: Label(file: source.path, span: at(mark), message: problem),
                              notes: notes, help: "check the indentation and the `key: value` layout around this line")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return Diagnostic(.yamlSyntax, "duplicate key\(duplicates.count > 1 ? "s" : "") \(duplicates.map { "`\($0)`" }.joined(separator: ", "))",
                              at: Label(file: source.path, span: at(context.mark), message: "in this mapping"),
                              help: "each key may appear once in a mapping; remove or rename the repeated one")
        case .reader(let problem, let offset, _, _):
            let start = min(offset ?? 0, source.bytes.count)
            return Diagnostic(.yamlSyntax, "cannot read YAML: \(problem)", at: Label(file: source.path, span: Span(start: start, end: start)),
                              help: "save the file as UTF-8 text")
        default:
            return Diagnostic(.yamlSyntax, "cannot read YAML: \(error)", at: Label(file: source.path, span: .empty))
        }
    }

    /// Offset of the first place nested deeper than allowed (flow brackets, block indentation
    /// or `- - -` sequences), or nil.
    static func excessiveNesting(_ source: SourceFile) -> Int? {
        var flow = 0
        var lineStart = true
        var indent = 0
        var quote: UInt8? = nil
        for (offset, byte) in source.bytes.enumerated() {
            if byte == 0x0A {
                lineStart = true
                indent = 0
                quote = nil
                continue
            }
            if let q = quote {
                if byte == q { quote = nil }
                continue
            }
            if lineStart {
                if byte == 0x20 || byte == 0x2D || byte == 0x09 {
                    indent += 1
                    if indent > maximumNesting * 4 { return offset }
                    continue
                }
                lineStart = false
            }
            switch byte {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                flow += 1
                if flow > maximumNesting { return offset }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                flow = max(0, flow - 1)
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                quote = byte
            case UInt8(ascii: "#"):
                quote = 0x0A  // skip the comment to the end of the line
            default: break
            }
        }
        return nil
    }

    // MARK: - Top level of a schema or catalog

    typealias Entries = [(key: String, keyNode: Node, value: Node)]

    /// The top-level sections of a schema or catalog (`kind`), reporting unknown ones; nil,
    /// with a diagnostic, when the file is empty or not a mapping.
    func sections(of kind: String, code: DiagnosticCode, known: [String], into diagnostics: inout [Diagnostic]) -> Entries? {
        let listed = known.filter { !["description", "version", "currency", "rounding"].contains($0) }.map { "`\($0)`" }
        guard let root else {
            if diagnostics.isEmpty {
                diagnostics.append(Diagnostic(code, "the \(kind) is empty", at: Label(file: source.path, span: .empty),
                                              help: "a \(kind) has the sections \(listed.joined(separator: ", ")); see docs/\(kind).md"))
            }
            return nil
        }
        guard let top = entries(root) else {
            diagnostics.append(Diagnostic(code, "the \(kind) must be a mapping, found \(YAMLDocument.describe(root))", at: label(root),
                                          help: "start with \(listed.map { $0.dropLast() + ":`" }.joined(separator: ", ")); see docs/\(kind).md"))
            return nil
        }
        for (key, keyNode, _) in top where !known.contains(key) {
            diagnostics.append(Diagnostic(code, "unknown section `\(key)` in the \(kind)", at: label(keyNode, "not a \(kind) section"),
                                          help: Suggestions.didYouMean(key, among: known) ?? "the sections are \(known.map { "`\($0)`" }.joined(separator: ", "))"))
        }
        return top
    }

    /// The `currency:` section, if present and valid (reported otherwise).
    func currency(in top: Entries, code: DiagnosticCode, into diagnostics: inout [Diagnostic]) -> String? {
        guard let node = top.first(where: { $0.key == "currency" })?.value else { return nil }
        if let text = scalar(node), Currency.isKnown(text) { return text }
        diagnostics.append(Diagnostic(code, "`currency` must be an ISO 4217 code such as EUR", at: label(node, "not a currency")))
        return nil
    }

    // MARK: - Node helpers

    func span(of node: Node) -> Span {
        guard let mark = node.mark else { return .empty }
        let start = source.offset(line: mark.line, column: mark.column)
        var length = 1
        if case .scalar(let scalar) = node { length = max(1, scalar.string.utf8.count) }
        return Span(start: start, end: min(source.bytes.count, start + length))
    }

    func label(_ node: Node, _ message: String = "") -> Label {
        Label(file: source.path, span: span(of: node), message: message)
    }

    /// A mapping's entries in file order, keys as strings.
    func entries(_ node: Node) -> [(key: String, keyNode: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else { return nil }
        return mapping.map { pair in (pair.key.string ?? "", pair.key, pair.value) }
    }

    func scalar(_ node: Node) -> String? {
        if case .scalar(let scalar) = node { return scalar.string }
        return nil
    }

    func sequence(_ node: Node) -> [Node]? {
        if case .sequence(let sequence) = node { return Array(sequence) }
        return nil
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar: "a single value"
        case .mapping: "a mapping (`key: value` lines)"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}

extension Diagnostic {
    /// A YAML syntax error (from Yams) as a diagnostic at its line and column: shared by every
    /// YAML file Redress reads (schema, catalog, mappings, rule tests).
    public static func yaml(_ error: YamlError, in source: SourceFile) -> Diagnostic {
        YAMLDocument.diagnostic(for: error, in: source)
    }
}

/// How every YAML file Redress reads (schema, catalog, CSV mappings, rule tests) becomes nodes:
/// through Yams (libyaml), with two bounds checked first, so that no file can make a reader
/// hang or crash:
///
/// - nesting: at most `maximumNesting` levels (Yams builds nodes recursively);
/// - aliases: an alias (`*name`) stands for the whole node its anchor (`&name`) marks, and
///   every reader walks such a node once per alias. Ten nested levels of ten aliases make ten
///   billion nodes out of ten lines (the "billion laughs"), and Yams even hashes a whole
///   aliased key while composing. So the nodes that aliases repeat are counted before Yams
///   composes the document, and at most `maximumAliasedNodes` are allowed.
public enum YAMLReader {
    public static let maximumNesting = 100
    /// The number of nodes all the aliases of one file may repeat, counted with the aliases
    /// inside the nodes they repeat. Ordinary use (an anchored event or setting reused a few
    /// hundred times) stays far below.
    public static let maximumAliasedNodes = 100_000

    /// The document's root (nil for an empty document), or the diagnostic (E0601) that says
    /// why it was not read.
    public static func compose(_ source: SourceFile) -> (root: Node?, diagnostic: Diagnostic?) {
        if let deep = YAMLDocument.excessiveNesting(source) {
            return (nil, Diagnostic(.yamlSyntax, "YAML nested more than \(maximumNesting) levels deep",
                                    at: Label(file: source.path, span: Span(start: deep, end: deep + 1), message: "too deep"),
                                    help: "Redress's YAML files need only a few levels of nesting"))
        }
        if let diagnostic = excessiveAliasing(source) { return (nil, diagnostic) }
        do {
            return (try Yams.compose(yaml: source.text), nil)
        } catch let error as YamlError {
            return (nil, YAMLDocument.diagnostic(for: error, in: source))
        } catch {
            return (nil, Diagnostic(.yamlSyntax, "cannot read YAML: \(error)", at: Label(file: source.path, span: .empty)))
        }
    }

    /// Why the aliases of `source` repeat too many nodes (or, when it has aliases, its syntax
    /// error), or nil.
    ///
    /// Counting works on a copy of the text in which every `*` is a `~`: that copy has no alias
    /// at all (an alias is the only place where `*` means anything in YAML; elsewhere it is text,
    /// and `~` is text there too), so Yams composes it in time proportional to its length, and
    /// each former alias `*name` is a plain scalar `~name` at the same line and column. Anchors
    /// are kept, so walking the copy in document order gives the size of every anchored node
    /// when it is complete, and the size an alias stands for when one comes.
    static func excessiveAliasing(_ source: SourceFile) -> Diagnostic? {
        let star = UInt8(ascii: "*")
        guard source.bytes.contains(star), source.bytes.contains(UInt8(ascii: "&")) else { return nil }
        let copy = String(decoding: source.bytes.map { $0 == star ? UInt8(ascii: "~") : $0 }, as: UTF8.self)
        // The parser owns the anchors (nodes refer to them weakly): it lives while the walk does.
        let parser: Yams.Parser
        let root: Node?
        do {
            parser = try Yams.Parser(yaml: copy)
            root = try parser.singleRoot()
        } catch let error as YamlError {
            // The copy has the same syntax, line for line: its error is the file's. (Reading the
            // file itself could expand what it cannot count.)
            return YAMLDocument.diagnostic(for: error, in: source)
        } catch {
            return Diagnostic(.yamlSyntax, "cannot read YAML: \(error)", at: Label(file: source.path, span: .empty))
        }
        guard let root else { return nil }
        var counter = AliasCounter()
        return withExtendedLifetime(parser) {
            _ = counter.size(of: root)
            guard let (node, name) = counter.excess else { return nil }
            let span = node.mark.map { mark -> Span in
                let start = source.offset(line: mark.line, column: mark.column)
                return Span(start: start, end: min(source.bytes.count, start + 1 + name.utf8.count))
            } ?? .empty
            return Diagnostic(.yamlSyntax, "YAML aliases repeat more than \(maximumAliasedNodes) nodes",
                              at: Label(file: source.path, span: span, message: "`*\(name)` and the aliases before it repeat too much"),
                              notes: ["an alias stands for the whole node its anchor `&\(name)` marks, and the aliases inside that node for theirs"],
                              help: "write the values out, or use fewer aliases inside anchored nodes")
        }
    }

    struct AliasCounter {
        /// Expanded size of the latest node anchored under each name (anchors may be redefined).
        var sizes: [String: Int] = [:]
        /// Nodes repeated by aliases so far.
        var repeated = 0
        /// The alias at which `repeated` went over the bound, and its anchor name.
        var excess: (Node, String)? = nil

        /// The number of nodes `node` stands for once its aliases are expanded, saturating.
        mutating func size(of node: Node) -> Int {
            guard excess == nil else { return 0 }
            var total = 1
            switch node {
            case .scalar(let scalar):
                if scalar.style == .plain, scalar.string.hasPrefix("~"), let size = sizes[String(scalar.string.dropFirst())] {
                    repeated = repeated.addingReportingOverflow(size).overflow ? .max : repeated + size
                    if repeated > YAMLReader.maximumAliasedNodes { excess = (node, String(scalar.string.dropFirst())) }
                    total = size
                }
            case .mapping(let mapping):
                for (key, value) in mapping { total = Self.add(total, Self.add(size(of: key), size(of: value))) }
            case .sequence(let sequence):
                for item in sequence { total = Self.add(total, size(of: item)) }
            case .alias:
                break
            }
            if let anchor = node.anchor { sizes[anchor.rawValue] = total }
            return total
        }

        static func add(_ a: Int, _ b: Int) -> Int {
            let (sum, overflow) = a.addingReportingOverflow(b)
            return overflow ? .max : sum
        }
    }
}
