import RedressSemantics
import RedressSyntax

/// A diagnostic of the checker placed in an editor's terms: ranges in UTF-16 positions.
public struct EditorDiagnostic: Hashable, Sendable {
    public var path: String
    public var range: TextRange
    /// Code, severity, message, notes and help, as `redress check` reports them.
    public var diagnostic: Diagnostic
    /// The other places the diagnostic points at ("first defined here").
    public var related: [RelatedLocation]
    /// The suggested fix as an edit, if the diagnostic has one.
    public var fix: TextEdit?

    public struct RelatedLocation: Hashable, Sendable {
        public var location: FileLocation
        public var message: String
    }

    init(_ diagnostic: Diagnostic, sources: [String: SourceFile]) {
        func range(_ file: String, _ span: Span) -> TextRange {
            sources[file]?.range(of: span) ?? TextRange(start: TextPosition(line: 0, character: 0), end: TextPosition(line: 0, character: 0))
        }
        self.path = diagnostic.file
        self.range = range(diagnostic.file, diagnostic.span)
        self.diagnostic = diagnostic
        self.related = diagnostic.secondary.map {
            RelatedLocation(location: FileLocation(path: $0.file, range: range($0.file, $0.span)), message: $0.message)
        }
        self.fix = diagnostic.fix.map { TextEdit(path: $0.file, range: range($0.file, $0.span), newText: $0.replacement) }
    }

    /// The message with its notes and help, as one text for an editor's problem list.
    public var fullMessage: String {
        var lines = [diagnostic.message]
        lines += diagnostic.notes.map { "note: \($0)" }
        if let help = diagnostic.help { lines.append("help: \(help)") }
        return lines.joined(separator: "\n")
    }
}

extension Workspace {
    /// Every diagnostic of a rule set by file, for each of its files (rule files, schema and
    /// catalog), an empty list for a clean one, so that an editor can clear what it showed before.
    public func diagnostics(ofRuleSet directory: String) -> [String: [EditorDiagnostic]] {
        let analysis = analysis(ofRuleSet: directory)
        var sources = analysis.sources
        var found = analysis.setupProblems
        if let report = report(ofRuleSet: directory) {
            found += report.diagnostics
            sources.merge(report.sources) { current, _ in current }
        } else {
            // Without a schema or catalog nothing can be checked; what can be read is still reported.
            found += analysis.ruleFiles.flatMap(\.diagnostics)
            found += (analysis.schema?.diagnostics ?? []) + (analysis.catalog?.diagnostics ?? [])
        }
        var byFile: [String: [EditorDiagnostic]] = [:]
        for path in sources.keys { byFile[path] = [] }
        for diagnostic in DiagnosticRenderer.sorted(found) {
            byFile[diagnostic.file, default: []].append(EditorDiagnostic(diagnostic, sources: sources))
        }
        return byFile
    }

    /// The diagnostics of one file.
    public func diagnostics(of path: String) -> [EditorDiagnostic] {
        ruleSetDirectories(for: path).first.flatMap { diagnostics(ofRuleSet: $0)[path] } ?? []
    }
}
