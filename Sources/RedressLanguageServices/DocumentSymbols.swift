import Foundation
import RedressSemantics
import RedressSyntax

/// An item of a rule file, for an editor's outline.
public struct DocumentSymbol: Hashable, Sendable {
    public enum Kind: String, Sendable { case rule, parameter, definition, table, group, policy }
    public var name: String
    public var kind: Kind
    /// The rule's description, a parameter's default, a table's key enum.
    public var detail: String?
    /// The whole item.
    public var range: TextRange
    /// Its name (for an anonymous rule or a policy, its first word).
    public var selectionRange: TextRange
}

extension Workspace {
    /// The items of a rule file in the order written; anonymous rules are named as the checker
    /// names them (`mission:1`).
    public func documentSymbols(in path: String) -> [DocumentSymbol] {
        guard PathText.isRuleFile(path), let analysis = analysis(of: path), let parsed = analysis.ruleFile(path) else { return [] }
        let source = parsed.file.source
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var anonymous = 0
        var symbols: [DocumentSymbol] = []
        func add(_ name: String, _ kind: DocumentSymbol.Kind, _ detail: String?, item: Span, selection: Span) {
            symbols.append(DocumentSymbol(name: name, kind: kind, detail: detail, range: source.range(of: item),
                                          selectionRange: source.range(of: selection)))
        }
        for item in parsed.file.items {
            switch item {
            case .rule(let rule):
                if let name = rule.name {
                    add(name.name, .rule, rule.description?.value, item: rule.span, selection: name.span)
                } else {
                    anonymous += 1
                    let head = Span(start: rule.span.start, end: min(rule.span.end, rule.span.start + 4))
                    add("\(stem):\(anonymous)", .rule, rule.condition.map { HoverText.shortened(Formatter.print($0)) }, item: rule.span, selection: head)
                }
            case .parameter(let d):
                add(d.name.name, .parameter, "= " + Formatter.print(d.value), item: d.span, selection: d.name.span)
            case .definition(let d):
                add(d.name.name, .definition, "= " + HoverText.shortened(Formatter.print(d.value)), item: d.span, selection: d.name.span)
            case .table(let t):
                add(t.name.name, .table, "by \(t.keyType.name)", item: t.span, selection: t.name.span)
            case .group(let g):
                add(g.name.name, .group, "per \(g.key.text)", item: g.span, selection: g.name.span)
            case .policy(let clause):
                let text = Formatter.print(clause)
                add("policy " + text, .policy, nil, item: clause.span, selection: clause.span)
            }
        }
        return symbols
    }
}
