import RedressSemantics
import RedressSyntax

/// A change an editor can offer to make: a fix from a diagnostic, or all of a file's fixes at once.
public struct CodeAction: Hashable, Sendable {
    public enum Kind: String, Sendable {
        /// One diagnostic's fix ("did you mean `shipment.delay`?").
        case quickFix = "quickfix"
        /// Every fix of a file that does not overlap another, as `redress check --fix` applies them.
        case fixAll = "source.fixAll"
    }
    public var title: String
    public var kind: Kind
    public var diagnostics: [EditorDiagnostic]
    public var edits: [TextEdit]
    /// The one obvious fix for its diagnostic (an editor may apply it with a single key).
    public var isPreferred: Bool
}

extension Workspace {
    /// The file in the canonical layout of `redress fmt`, as edits: none when it is formatted
    /// already; nil when the file has syntax errors (formatting never guesses what a broken rule means).
    public func formatting(of path: String) -> [TextEdit]? {
        guard PathText.isRuleFile(path), let analysis = analysis(of: path), let parsed = analysis.ruleFile(path),
              parsed.diagnostics.isEmpty else { return nil }
        let source = parsed.file.source
        let formatted = Formatter.format(parsed.file)
        if formatted == source.text { return [] }
        let whole = source.range(of: Span(start: 0, end: source.bytes.count))
        return [TextEdit(path: path, range: whole, newText: formatted)]
    }

    /// The fixes of the diagnostics that touch `range`, and with `includeFixAll` one action that
    /// applies all of the file's fixes.
    public func codeActions(in path: String, range: TextRange, includeFixAll: Bool = false) -> [CodeAction] {
        let diagnostics = diagnostics(of: path).filter { $0.fix != nil }
        var actions: [CodeAction] = []
        for diagnostic in diagnostics where diagnostic.range.overlaps(range) {
            guard let fix = diagnostic.fix else { continue }
            let title = fix.newText.isEmpty ? "Remove `\(Self.text(of: fix, in: self) ?? "")`" : "Change to `\(fix.newText)`"
            actions.append(CodeAction(title: "\(title) (\(diagnostic.diagnostic.code.rawValue))", kind: .quickFix, diagnostics: [diagnostic],
                                      edits: [fix], isPreferred: true))
        }
        if includeFixAll {
            // Last first, skipping overlaps, as `check --fix` does; then in document order.
            var chosen: [EditorDiagnostic] = []
            var lowest: TextPosition? = nil
            for diagnostic in diagnostics.filter({ $0.fix?.path == path }).sorted(by: { ($0.fix?.range.start ?? $0.range.start) > ($1.fix?.range.start ?? $1.range.start) }) {
                guard let fix = diagnostic.fix else { continue }
                if let lowest, fix.range.end > lowest { continue }
                chosen.insert(diagnostic, at: 0)
                lowest = fix.range.start
            }
            if !chosen.isEmpty {
                actions.append(CodeAction(title: "Apply all \(chosen.count) suggested fix\(chosen.count == 1 ? "" : "es") in this file",
                                          kind: .fixAll, diagnostics: chosen, edits: chosen.compactMap(\.fix), isPreferred: false))
            }
        }
        return actions
    }

    static func text(of edit: TextEdit, in workspace: Workspace) -> String? {
        guard let source = workspace.source(edit.path) else { return nil }
        let span = source.span(of: edit.range)
        return String(decoding: source.bytes[span.start..<span.end], as: UTF8.self)
    }
}
