import RedressSemantics
import RedressSyntax

/// The names a rule set declares, with where: read from the syntax trees alone (no checking), so
/// completion has them at once after a keystroke. The first declaration of a name wins, as in the checker.
struct Declarations {
    struct Declared<Item> {
        var path: String
        var item: Item
    }
    var parameters: [String: Declared<Definition>] = [:]
    var definitions: [String: Declared<Definition>] = [:]
    var tables: [String: Declared<Table>] = [:]
    var groups: [String: Declared<Group>] = [:]
    /// Names in the order written (file by file), for listings.
    var order: [String] = []

    init(_ files: [ParsedRuleFile]) {
        for parsed in files {
            let path = parsed.file.source.path
            for item in parsed.file.items {
                switch item {
                case .parameter(let d) where !isDeclared(d.name.name):
                    parameters[d.name.name] = Declared(path: path, item: d)
                    order.append(d.name.name)
                case .definition(let d) where !isDeclared(d.name.name):
                    definitions[d.name.name] = Declared(path: path, item: d)
                    order.append(d.name.name)
                case .table(let t) where !isDeclared(t.name.name):
                    tables[t.name.name] = Declared(path: path, item: t)
                    order.append(t.name.name)
                case .group(let g) where groups[g.name.name] == nil:
                    groups[g.name.name] = Declared(path: path, item: g)
                default: break
                }
            }
        }
    }

    /// A parameter, definition or table (they share one namespace).
    func isDeclared(_ name: String) -> Bool {
        parameters[name] != nil || definitions[name] != nil || tables[name] != nil
    }

    /// Where a parameter, definition or table is declared: the file and its name's span.
    func declaration(of name: String) -> (path: String, span: Span)? {
        if let d = parameters[name] { return (d.path, d.item.name.span) }
        if let d = definitions[name] { return (d.path, d.item.name.span) }
        if let t = tables[name] { return (t.path, t.item.name.span) }
        return nil
    }
}

extension Analysis {
    var declarations: Declarations { Declarations(ruleFiles) }
}

/// Comments in YAML and rule files that say what a declaration is: in schema.yaml a field's type
/// is a bare scalar, so the comment after it (and the comment lines right above it) is what the
/// schema says about it for people.
enum Commentary {
    /// The comment lines directly above the line of `offset` (at its indentation) and the comment
    /// at the end of that line, joined.
    static func yamlComment(at offset: Int, in source: SourceFile) -> String? {
        let lineNumber = source.location(of: offset).line
        let line = source.line(lineNumber)
        let indentation = line.prefix { $0 == " " }.count
        var above: [String] = []
        var number = lineNumber - 1
        while number >= 1 {
            let text = source.line(number)
            let trimmed = text.drop { $0 == " " }
            guard trimmed.hasPrefix("#"), text.count - trimmed.count == indentation else { break }
            above.insert(String(trimmed.dropFirst()).trimmingCharacters(in: .whitespaces), at: 0)
            number -= 1
        }
        var parts = above
        if let trailing = trailingComment(line) { parts.append(trailing) }
        let joined = parts.joined(separator: " ")
        return joined.isEmpty ? nil : joined
    }

    /// The text after a ` #` that is not inside quotes.
    static func trailingComment(_ line: String) -> String? {
        var quote: Character? = nil
        var previous: Character = " "
        for index in line.indices {
            let character = line[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "#", previous == " " || previous == "\t" {
                let text = line[line.index(after: index)...].trimmingCharacters(in: .whitespaces)
                return text.isEmpty ? nil : text
            }
            previous = character
        }
        return nil
    }

    /// The `#` comments on the lines directly above a declaration in a rule file.
    static func ruleComment(above span: Span, in file: RuleFile) -> String? {
        let source = file.source
        var line = source.location(of: span.start).line - 1
        var parts: [String] = []
        let comments = file.comments.sorted { $0.span.start > $1.span.start }
        for comment in comments where comment.span.start < span.start {
            let location = source.location(of: comment.span.start)
            guard location.line == line, location.column == source.line(line).prefix(while: { $0 == " " }).count + 1 else {
                if location.line < line { break }
                continue
            }
            var text = comment.text
            if text.hasPrefix("#") { text.removeFirst() }
            parts.insert(text.trimmingCharacters(in: .whitespaces), at: 0)
            line -= 1
        }
        let joined = parts.joined(separator: " ")
        return joined.isEmpty ? nil : joined
    }
}
