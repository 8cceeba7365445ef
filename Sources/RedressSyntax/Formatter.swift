/// Prints a rule file in the one canonical layout (`redress fmt`).
///
/// Items are separated by one blank line, rule clauses go on lines of their own indented by
/// two spaces, operators get one space on each side and parentheses are printed only where
/// the tree needs them.
///
/// Comments are kept, and placed so that formatting the output again puts them in the same
/// place. Each output line stands for the tokens from its first to its last; a comment goes
/// - at the end of the line whose last token it follows on the same source line,
/// - above the line it lies inside, when that line was several lines in the source (a comment
///   inside a clause or an expression that spanned lines moves above it),
/// - and otherwise, on a line of its own, above the next line (or at the end of the file).
public struct Formatter {
    private let source: SourceFile
    private let comments: [Comment]
    /// The file's tokens, to find where an output line's first and last tokens are; only
    /// needed (and only made) when there are comments to place.
    private let tokens: [Token]
    private var lines: [OutputLine] = []

    /// One line of output, before comments are placed.
    private struct OutputLine {
        var text: String
        var indent: Int
        /// From the start of the line's first token to the end of its last.
        var range: Span
        /// The first line of an item: a blank line goes before it (and before its comments).
        var startsItem: Bool
        /// Indentation of comments written above the line: inside a block for its `}`.
        var commentIndent: Int
    }

    public static func format(_ file: RuleFile) -> String {
        var formatter = Formatter(source: file.source, comments: file.comments.sorted { $0.span.start < $1.span.start })
        for item in file.items { formatter.emit(item) }
        return formatter.layout()
    }

    private init(source: SourceFile, comments: [Comment]) {
        self.source = source
        self.comments = comments
        self.tokens = comments.isEmpty ? [] : Lexer.tokenize(source).tokens
    }

    // MARK: - Lines

    private mutating func line(_ text: String, indent: Int = 0, range: Span, startsItem: Bool = false, commentIndent: Int? = nil) {
        lines.append(OutputLine(text: text, indent: indent, range: tightened(range), startsItem: startsItem,
                                commentIndent: commentIndent ?? indent))
    }

    /// `span` narrowed to the tokens inside it: from the first token's start to the last one's end.
    private func tightened(_ span: Span) -> Span {
        guard !tokens.isEmpty else { return span }
        let first = firstToken(from: span.start)
        var last = firstToken(from: span.end) - 1
        while last >= first, tokens[last].span.end > span.end { last -= 1 }
        guard first < tokens.count, last >= first, tokens[first].kind != .endOfFile else { return span }
        return Span(start: tokens[first].span.start, end: tokens[last].span.end)
    }

    /// Index of the first token that starts at or after `offset`.
    private func firstToken(from offset: Int) -> Int {
        var low = 0, high = tokens.count
        while low < high {
            let middle = (low + high) / 2
            if tokens[middle].span.start < offset { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Where the keyword that opens a clause starts, when the clause's tree starts at `offset`
    /// (`when (a or b)`: the tree starts after the `(`).
    private func start(of keyword: Keyword, before offset: Int) -> Int {
        var index = firstToken(from: offset) - 1
        while index >= 0, tokens[index].kind == .symbol(.leftParen) { index -= 1 }
        return index >= 0 && tokens[index].kind == .keyword(keyword) ? tokens[index].span.start : offset
    }

    private func sourceLine(_ offset: Int) -> Int { source.location(of: offset).line }

    /// The output text: the lines with the comments placed (see the type's comment).
    private func layout() -> String {
        var output = ""
        var nextComment = 0
        /// Source line of the last thing written, to keep blank lines between top-level lines.
        var lastSourceLine = 0
        func keepBlankLine(before line: Int) {
            if lastSourceLine > 0, line > lastSourceLine + 1, !output.isEmpty, !output.hasSuffix("\n\n") { output += "\n" }
        }
        func writeComment(indent: Int) {
            let comment = comments[nextComment]
            let line = sourceLine(comment.span.start)
            if indent == 0 { keepBlankLine(before: line) }
            output += String(repeating: " ", count: indent) + comment.text.trimmingTrailingSpaces + "\n"
            lastSourceLine = line
            nextComment += 1
        }
        for (position, line) in lines.enumerated() {
            if line.startsItem, position > 0 { output += "\n" }
            // Comments before the line, and inside it.
            while nextComment < comments.count, comments[nextComment].span.start < line.range.end {
                writeComment(indent: line.commentIndent)
            }
            if line.startsItem { keepBlankLine(before: sourceLine(line.range.start)) }
            output += String(repeating: " ", count: line.indent) + line.text
            let endLine = sourceLine(max(line.range.start, line.range.end - 1))
            // A comment after the line's last token on the same source line, and before the
            // next line's first token, stays at the end of the line.
            if nextComment < comments.count, sourceLine(comments[nextComment].span.start) == endLine,
               position + 1 == lines.count || comments[nextComment].span.start < lines[position + 1].range.start {
                output += "  " + comments[nextComment].text.trimmingTrailingSpaces
                nextComment += 1
            }
            output += "\n"
            lastSourceLine = endLine
        }
        // Comments after the last item.
        while nextComment < comments.count { writeComment(indent: 0) }
        return output
    }

    // MARK: - Items

    private mutating func emit(_ item: Item) {
        switch item {
        case .parameter(let definition):
            line("param \(definition.name.name) = \(Formatter.print(definition.value))", range: definition.span, startsItem: true)
        case .definition(let definition):
            // A definition that is a `case` of several arms reads best as a table.
            if case .caseOf(let subject, let arms) = definition.value.kind, arms.count > 1 {
                let head = subject.map { "case \(Formatter.print($0)) {" } ?? "case {"
                line("let \(definition.name.name) = \(head)", range: Span(start: definition.span.start, end: arms[0].span.start), startsItem: true)
                for arm in arms { line(Formatter.print(arm) + ",", indent: 2, range: arm.span) }
                line("}", range: Span(start: definition.span.end - 1, end: definition.span.end), commentIndent: 2)
            } else {
                line("let \(definition.name.name) = \(Formatter.print(definition.value))", range: definition.span, startsItem: true)
            }
        case .table(let table):
            let open = table.arms.first?.span.start ?? table.span.end
            line("table \(table.name.name) by \(table.keyType.name) {", range: Span(start: table.span.start, end: open), startsItem: true)
            for arm in table.arms {
                line(Formatter.print(arm) + ",", indent: 2, range: arm.span)
            }
            line("}", range: Span(start: table.span.end - 1, end: table.span.end), commentIndent: 2)
        case .group(let group):
            var text = "group \(group.name.name) per \(group.key.text)"
            if let window = group.window { text += " within \(Formatter.print(window))" }
            if let order = group.order { text += " by \(order.name)" }
            line(text, range: group.span, startsItem: true)
        case .policy(let clause):
            line("policy " + Formatter.print(clause), range: clause.span, startsItem: true)
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
            let start = tokens.isEmpty ? condition.span.start : start(of: .when, before: condition.span.start)
            clauses.append(("when " + Formatter.print(condition), Span(start: start, end: condition.span.end)))
        }
        clauses.append(("then " + rule.actions.map(Formatter.print).joined(separator: ", "), rule.actionsSpan))
        for policy in rule.policies {
            clauses.append((Formatter.print(policy), policy.span))
        }
        // An anonymous rule is a sentence (like the mission sentence) and stays on one line;
        // a named rule puts each clause on a line of its own.
        if rule.name == nil {
            line(clauses.map(\.0).joined(separator: " "), range: rule.span, startsItem: true)
            return
        }
        for (position, (text, span)) in clauses.enumerated() {
            line(text, indent: position == 0 ? 0 : 2, range: span, startsItem: position == 0)
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
        case .binary(let op, _, _) where op == .and || op == .or:
            // Associative: the parts of a chain need no parentheses among themselves, however
            // the tree groups them (`a and (b and c)` prints as `a and b and c`).
            let parts = TreeDump.chainParts(of: expression, op)
            return parts.map { print($0, parenthesizedBelow: op.precedence + 1) }.joined(separator: " \(op.rawValue) ")
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
