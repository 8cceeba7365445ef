/// Prints a rule file in the one canonical layout (`redress fmt`).
///
/// Items are separated by one blank line, rule clauses go on lines of their own indented by
/// two spaces, operators get one space on each side and parentheses are printed only where
/// the tree needs them. Comments are kept: a comment before a line stays above it, a comment
/// at the end of a line stays there, and a comment inside a clause that spanned several
/// lines moves above that clause.
public struct Formatter {
    private let source: SourceFile
    private let comments: [Comment]
    private var nextComment = 0
    private var output = ""

    public static func format(_ file: RuleFile) -> String {
        var formatter = Formatter(source: file.source, comments: file.comments.sorted { $0.span.start < $1.span.start })
        formatter.run(file.items)
        return formatter.output
    }

    private init(source: SourceFile, comments: [Comment]) {
        self.source = source
        self.comments = comments
    }

    private mutating func run(_ items: [Item]) {
        for (position, item) in items.enumerated() {
            if position > 0 { output += "\n" }
            emit(item)
        }
        // Comments after the last item.
        while nextComment < comments.count { writeComment(padding: "") }
    }

    /// Source line of the last thing written, to keep blank lines between comment blocks.
    private var lastSourceLine = 0

    /// Writes one output line that stands for the source range `range`, with the comments
    /// that belong before it and at its end.
    /// `nextStart`: where the next line of the same construct starts in the source; a comment
    /// after it belongs to that later line, not to this one.
    private mutating func line(_ text: String, indent: Int = 0, range: Span, nextStart: Int? = nil) {
        let padding = String(repeating: " ", count: indent)
        while nextComment < comments.count, comments[nextComment].span.start < range.end {
            writeComment(padding: padding)
        }
        if indent == 0 { keepBlankLine(before: source.location(of: range.start).line) }
        output += padding + text
        let endLine = source.location(of: max(range.start, range.end - 1)).line
        if nextComment < comments.count, source.location(of: comments[nextComment].span.start).line == endLine,
           nextStart.map({ comments[nextComment].span.start < $0 }) ?? true {
            output += "  " + comments[nextComment].text.trimmingTrailingSpaces
            nextComment += 1
        }
        output += "\n"
        lastSourceLine = endLine
    }

    private mutating func writeComment(padding: String) {
        let comment = comments[nextComment]
        if padding.isEmpty { keepBlankLine(before: source.location(of: comment.span.start).line) }
        output += padding + comment.text.trimmingTrailingSpaces + "\n"
        lastSourceLine = source.location(of: comment.span.start).line
        nextComment += 1
    }

    /// One blank line where the source had at least one between top-level lines.
    private mutating func keepBlankLine(before sourceLine: Int) {
        if lastSourceLine > 0, sourceLine > lastSourceLine + 1, !output.isEmpty, !output.hasSuffix("\n\n") {
            output += "\n"
        }
    }

    private mutating func emit(_ item: Item) {
        switch item {
        case .parameter(let definition):
            line("param \(definition.name.name) = \(Formatter.print(definition.value))", range: definition.span)
        case .definition(let definition):
            // A definition that is a `case` of several arms reads best as a table.
            if case .caseOf(let subject, let arms) = definition.value.kind, arms.count > 1 {
                let head = subject.map { "case \(Formatter.print($0)) {" } ?? "case {"
                line("let \(definition.name.name) = \(head)", range: Span(start: definition.span.start, end: arms[0].span.start))
                for arm in arms { line(Formatter.print(arm) + ",", indent: 2, range: arm.span) }
                line("}", range: Span(start: definition.span.end - 1, end: definition.span.end))
            } else {
                line("let \(definition.name.name) = \(Formatter.print(definition.value))", range: definition.span)
            }
        case .table(let table):
            let open = table.arms.first?.span.start ?? table.span.end
            line("table \(table.name.name) by \(table.keyType.name) {", range: Span(start: table.span.start, end: open))
            for arm in table.arms {
                line(Formatter.print(arm) + ",", indent: 2, range: arm.span)
            }
            line("}", range: Span(start: table.span.end - 1, end: table.span.end))
        case .group(let group):
            var text = "group \(group.name.name) per \(group.key.text)"
            if let window = group.window { text += " within \(Formatter.print(window))" }
            if let order = group.order { text += " by \(order.name)" }
            line(text, range: group.span)
        case .policy(let clause):
            line("policy " + Formatter.print(clause), range: clause.span)
        case .rule(let rule):
            emit(rule)
        }
    }

    private mutating func emit(_ rule: Rule) {
        var clauses: [(String, Span)] = []
        if let name = rule.name {
            var header = "rule \(name.name)"
            if let description = rule.description { header += " " + Formatter.quote(description.value) }
            clauses.append((header, Span(start: rule.span.start, end: rule.description?.span.end ?? name.span.end)))
        }
        if let span = rule.triggerSpan {
            clauses.append(("on " + rule.triggers.map(\.name).joined(separator: ", "), span))
        }
        if let absence = rule.absence {
            let deadline = switch absence.deadline {
            case .within(let duration): "within " + Formatter.print(duration)
            case .by(let instant): "by " + Formatter.print(instant)
            }
            clauses.append(("unless \(absence.event.name) \(deadline)", absence.span))
        }
        if let condition = rule.condition {
            clauses.append(("when " + Formatter.print(condition), Span(start: condition.span.start, end: condition.span.end)))
        }
        clauses.append(("then " + rule.actions.map(Formatter.print).joined(separator: ", "), rule.actionsSpan))
        for policy in rule.policies {
            clauses.append((Formatter.print(policy), policy.span))
        }
        // An anonymous rule is a sentence (like the mission sentence) and stays on one line;
        // a named rule puts each clause on a line of its own.
        if rule.name == nil {
            line(clauses.map(\.0).joined(separator: " "), range: rule.span)
            return
        }
        for (position, (text, span)) in clauses.enumerated() {
            let next = position + 1 < clauses.count ? clauses[position + 1].1.start : nil
            line(text, indent: position == 0 ? 0 : 2, range: span, nextStart: next)
        }
    }

    // MARK: - Printing pieces of the tree

    public static func print(_ action: Action) -> String {
        var text = action.verb.name
        if let argument = action.argument { text += " " + print(argument) }
        if let channel = action.channel { text += " via " + print(channel) }
        return text
    }

    public static func print(_ clause: PolicyClause) -> String {
        switch clause {
        case .limit(let limit):
            var text = "limit \(limit.count.text) per \(limit.key.text)"
            if let window = limit.window { text += " within " + print(window) }
            return text
        case .noLimit:
            return "limit none"
        case .cap(let cap):
            var text = "cap \(print(cap.amount)) per \(cap.key.text)"
            if let window = cap.window { text += " within " + print(window) }
            return text
        case .exclusive(let exclusive):
            var text = "exclusive \(exclusive.group.name)"
            if let priority = exclusive.priority { text += " priority \(priority.text)" }
            return text
        case .rollout(let share, _):
            return "rollout " + print(share)
        case .active(let active):
            var parts = ["active"]
            if let from = active.from { parts.append("from \(from.text)") }
            if let until = active.until { parts.append("until \(until.text)") }
            return parts.joined(separator: " ")
        }
    }

    public static func print(_ arm: Arm) -> String {
        let pattern = arm.isElse ? "else" : arm.patterns.map { print($0) }.joined(separator: " | ")
        return "\(pattern) -> \(print(arm.value))"
    }

    /// Precedence of the construct at the top of `expression` (9 for atoms).
    private static func precedence(_ expression: Expression) -> Int {
        switch expression.kind {
        case .binary(let op, _, _): op.precedence
        case .unary(let op, _): op.precedence
        case .presence: 4
        default: 9
        }
    }

    private static func print(_ expression: Expression, parenthesizedBelow minimum: Int) -> String {
        let text = print(expression)
        return precedence(expression) < minimum ? "(\(text))" : text
    }

    public static func print(_ expression: Expression) -> String {
        switch expression.kind {
        case .literal(let literal):
            return print(literal)
        case .name(let name):
            return name.name
        case .member(let base, let field):
            return print(base, parenthesizedBelow: 9) + "." + field.name
        case .index(let base, let key):
            return print(base, parenthesizedBelow: 9) + "[" + print(key) + "]"
        case .call(let call):
            var text = call.function.name + "(" + call.arguments.map { print($0) }.joined(separator: ", ")
            var clauses: [String] = []
            if let filter = call.filter { clauses.append("where " + print(filter)) }
            if let per = call.per { clauses.append("per " + per.text) }
            if let window = call.window { clauses.append("within " + print(window)) }
            if !clauses.isEmpty { text += (call.arguments.isEmpty ? "" : " ") + clauses.joined(separator: " ") }
            return text + ")"
        case .list(let elements):
            return "[" + elements.map { print($0) }.joined(separator: ", ") + "]"
        case .caseOf(let subject, let arms):
            let head = subject.map { "case \(print($0)) {" } ?? "case {"
            return head + " " + arms.map { print($0) }.joined(separator: ", ") + " }"
        case .unary(.not, let operand):
            return "not " + print(operand, parenthesizedBelow: 3)
        case .unary(.negate, let operand):
            return "-" + print(operand, parenthesizedBelow: 8)
        case .presence(let operand, let test):
            return print(operand, parenthesizedBelow: 5) + " is " + test.rawValue
        case .binary(let op, let left, let right):
            let p = op.precedence
            // Left-associative: the right operand binds tighter; comparisons do not chain at all.
            let leftText = print(left, parenthesizedBelow: op.isComparison ? p + 1 : p)
            let rightText = print(right, parenthesizedBelow: p + 1)
            return "\(leftText) \(op.rawValue) \(rightText)"
        }
    }

    public static func print(_ literal: Literal) -> String {
        switch literal.kind {
        case .string:
            return quote(literal.text)
        case .money:
            // `5EUR` and `5   EUR` both print as `5 EUR`.
            let amount = literal.text.prefix { $0.isNumber || $0 == "." }
            return amount + " " + literal.text.suffix(3)
        default:
            return literal.text
        }
    }

    public static func quote(_ value: String) -> String {
        var text = "\""
        for character in value {
            switch character {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\t": text += "\\t"
            default: text.append(character)
            }
        }
        return text + "\""
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var text = self
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text.removeLast() }
        return text
    }
}
