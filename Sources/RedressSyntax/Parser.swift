/// Recursive-descent parser for rule files. It follows grammar/redress.lark production by
/// production (the comments name them), and the grammar agreement test checks that both
/// accept the same texts.
///
/// On an error it records a diagnostic, skips to the start of the next item and goes on,
/// so one run reports every broken rule of a file. Nesting is bounded (`maximumDepth`,
/// `maximumHeight`) so that no input can overflow the stack here or in later stages.
public struct Parser {
    public static let maximumDepth = 64
    public static let maximumHeight = 256

    let source: SourceFile
    let tokens: [Token]
    var index = 0
    var depth = 0
    var diagnostics: [Diagnostic] = []
    /// The lexer's diagnostics, which `refineLexicalDiagnostics` may reword.
    var lexical: [Diagnostic]
    /// Numbers whose unit or currency sign the lexer could not read (`5€`): the item they are
    /// in is dropped, since reading them as plain numbers would only report the same again.
    var droppedNumbers: Set<Int> = []
    /// The part of the item being read, for messages that depend on it (see Parser+Phrasing).
    var section: Section = .item
    /// How many `case` or table arm lists enclose the current position.
    var armsDepth = 0

    struct Failure: Error {}

    public static func parse(_ source: SourceFile) -> (file: RuleFile, diagnostics: [Diagnostic]) {
        let lexed = Lexer.tokenize(source)
        var parser = Parser(source: source, tokens: lexed.tokens, lexical: lexed.diagnostics)
        parser.refineLexicalDiagnostics()
        let items = parser.parseFile()
        let file = RuleFile(source: source, items: items, comments: lexed.comments)
        return (file, parser.lexical + parser.diagnostics)
    }

    init(source: SourceFile, tokens: [Token], lexical: [Diagnostic]) {
        self.source = source
        self.tokens = tokens
        self.lexical = lexical
    }

    // MARK: - Token helpers

    var current: Token { tokens[index] }
    var previousEnd: Int { index > 0 ? tokens[index - 1].span.end : 0 }
    func peek(_ offset: Int = 1) -> Token { tokens[min(index + offset, tokens.count - 1)] }

    func check(_ keyword: Keyword) -> Bool { current.kind == .keyword(keyword) }
    func check(_ symbol: Symbol) -> Bool { current.kind == .symbol(symbol) }

    @discardableResult
    mutating func advance() -> Token {
        let token = current
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    mutating func accept(_ keyword: Keyword) -> Token? {
        check(keyword) ? advance() : nil
    }
    mutating func accept(_ symbol: Symbol) -> Token? {
        check(symbol) ? advance() : nil
    }

    func text(of token: Token) -> String {
        String(decoding: source.bytes[token.span.start..<token.span.end], as: UTF8.self)
    }

    func describe(_ token: Token) -> String {
        switch token.kind {
        case .endOfFile: "the end of the file"
        case .keyword(let keyword): "keyword `\(keyword.rawValue)`"
        case .string: "a string"
        default: "`\(text(of: token))`"
        }
    }

    mutating func fail(_ code: DiagnosticCode = .unexpectedToken, expected: String, label: String? = nil,
                               help: String? = nil, notes: [String] = []) -> Failure {
        let token = current
        // A character the lexer reported and skipped just before this token is the cause;
        // one message for it is enough.
        if index > 0, lexical.contains(where: { $0.span.start >= previousEnd && $0.span.start <= token.span.start }) {
            return Failure()
        }
        let message = "expected \(expected), found \(describe(token))"
        // At the end of the file, point just after the last token rather than at an empty line.
        let span = token.kind == .endOfFile ? Span(start: previousEnd, end: previousEnd) : token.span
        diagnostics.append(Diagnostic(code, message, at: Label(file: source.path, span: span, message: label ?? "unexpected here"),
                                      notes: notes, help: help))
        return Failure()
    }

    mutating func expect(_ keyword: Keyword, _ what: String? = nil) throws(Failure) -> Token {
        if let token = accept(keyword) { return token }
        throw fail(expected: what ?? "`\(keyword.rawValue)`")
    }
    mutating func expect(_ symbol: Symbol, _ what: String? = nil) throws(Failure) -> Token {
        if let token = accept(symbol) { return token }
        throw fail(expected: what ?? "`\(symbol.rawValue)`")
    }

    mutating func expectName(_ what: String) throws(Failure) -> Identifier {
        if current.kind == .name {
            let token = advance()
            return Identifier(text(of: token), span: token.span)
        }
        if case .keyword(let keyword) = current.kind {
            throw fail(expected: what, label: "`\(keyword.rawValue)` is a reserved word",
                       help: "choose another name, for example `\(keyword.rawValue)_`")
        }
        throw fail(expected: what)
    }

    // MARK: - start: item*

    mutating func parseFile() -> [Item] {
        var items: [Item] = []
        while current.kind != .endOfFile {
            let start = index
            do throws(Failure) {
                items.append(try parseItem())
                if !startsItem(current) && current.kind != .endOfFile {
                    throw trailingFailure()
                }
            } catch {
                synchronize(from: start)
            }
        }
        return items
    }

    /// After a complete item, the next token must begin another one.
    mutating func trailingFailure() -> Failure {
        if let failure = phrasingAfterItem() { return failure }
        if current.kind == .name, section == .actions {
            return fail(expected: "`,` or a new rule",
                        help: "separate actions with commas: `then refund 5 EUR, send apology`")
        }
        if check(.when) || check(.on) || check(.unless) {
            return fail(expected: "a new rule")
        }
        return fail(expected: "a new rule or declaration (`rule`, `when`, `on`, `param`, `let`, `table`, `group`, `policy`)")
    }

    func startsItem(_ token: Token) -> Bool {
        switch token.kind {
        case .keyword(.rule), .keyword(.param), .keyword(.let), .keyword(.table), .keyword(.group),
             .keyword(.policy), .keyword(.on), .keyword(.unless), .keyword(.when): true
        default: false
        }
    }

    /// Skips to where the next item can start. `when`, `on` and `unless` also appear inside a
    /// rule, so they count as a new start only once the broken rule's `then` has been passed.
    mutating func synchronize(from start: Int) {
        depth = 0
        armsDepth = 0
        section = .item
        if index == start { advance() }
        var passedThen = tokens[start..<index].contains { $0.kind == .keyword(.then) }
        while current.kind != .endOfFile {
            switch current.kind {
            case .keyword(.rule), .keyword(.param), .keyword(.let), .keyword(.table), .keyword(.group), .keyword(.policy):
                return
            case .keyword(.on), .keyword(.unless), .keyword(.when):
                if passedThen { return }
            case .keyword(.then):
                passedThen = true
            default: break
            }
            advance()
        }
    }

    // ?item: rule | param_decl | let_decl | table_decl | group_decl | policy_decl
    mutating func parseItem() throws(Failure) -> Item {
        section = .item
        switch current.kind {
        case .keyword(.rule), .keyword(.on), .keyword(.unless), .keyword(.when):
            return .rule(try parseRule())
        case .keyword(.param):
            return .parameter(try parseDefinition(.param))
        case .keyword(.let):
            return .definition(try parseDefinition(.let))
        case .keyword(.table):
            return .table(try parseTable())
        case .keyword(.group):
            return .group(try parseGroup())
        case .keyword(.policy):
            let start = advance().span.start
            switch current.kind {
            case .keyword(.limit):
                section = .limit
                var clause = try parseLimit()
                if case .limit(var limit) = clause { limit.span.start = start; clause = .limit(limit) }
                if case .noLimit = clause {
                    throw fail(expected: "`limit N per KEY` or `cap AMOUNT per KEY`")
                }
                return .policy(clause)
            case .keyword(.cap):
                section = .cap
                var cap = try parseCap()
                cap.span.start = start
                return .policy(.cap(cap))
            default:
                throw fail(expected: "`limit` or `cap` after `policy`",
                           help: "for example `policy cap 20 EUR per customer within 30d`")
            }
        default:
            if let failure = phrasingAfterItem() { throw failure }
            throw fail(expected: "a rule or declaration (`rule`, `when`, `on`, `param`, `let`, `table`, `group`, `policy`)")
        }
    }

    // param_decl: "param" NAME "=" expr      let_decl: "let" NAME "=" expr
    mutating func parseDefinition(_ keyword: Keyword) throws(Failure) -> Definition {
        let start = advance().span.start
        section = .definition
        let name = try expectName("a name after `\(keyword.rawValue)`")
        _ = try expect(.assign)
        let value = try parseExpression()
        return Definition(name: name, value: value, span: Span(start: start, end: previousEnd))
    }

    // table_decl: "table" NAME "by" NAME "{" arms "}"
    mutating func parseTable() throws(Failure) -> Table {
        let start = advance().span.start
        section = .table
        let name = try expectName("a table name")
        _ = try expect(.by, "`by` and the enum that keys the table, as in `table delivery_days by Country {`")
        let keyType = try expectName("the name of an enum after `by`")
        _ = try expect(.leftBrace)
        let arms = try parseArms()
        _ = try expect(.rightBrace, "`,` or `}`")
        return Table(name: name, keyType: keyType, arms: arms, span: Span(start: start, end: previousEnd))
    }

    // group_decl: "group" NAME "per" key ["within" expr] ["by" group_order]
    mutating func parseGroup() throws(Failure) -> Group {
        let start = advance().span.start
        section = .group
        let name = try expectName("a group name")
        _ = try expect(.per, "`per` and what the group is exclusive for, as in `group delivery per order`")
        let key = try parseKey()
        var window: Expression? = nil
        if accept(.within) != nil { window = try parseExpression() }
        var order: Identifier? = nil
        if accept(.by) != nil {
            if let token = accept(.priority) {
                order = Identifier("priority", span: token.span)
            } else {
                order = try expectName("`priority` or `amount` after `by`")
            }
        }
        return Group(name: name, key: key, window: window, order: order, span: Span(start: start, end: previousEnd))
    }

    // key: NAME ["." NAME]
    mutating func parseKey() throws(Failure) -> KeyPath {
        let entity = try expectName("an entity or field to count per, such as `customer` or `customer.country`")
        var field: Identifier? = nil
        if accept(.dot) != nil { field = try expectName("a field name after `.`") }
        return KeyPath(entity: entity, field: field, span: Span(start: entity.span.start, end: previousEnd))
    }

    // MARK: - Rules

    // rule: "rule" NAME [STRING] [trigger] [absence] [condition] actions policy_clause*
    //     | trigger [absence] [condition] actions policy_clause*
    //     | absence [condition] actions policy_clause*
    //     | condition actions policy_clause*
    mutating func parseRule() throws(Failure) -> Rule {
        let start = current.span.start
        let startIndex = index
        var name: Identifier? = nil
        var description: StringLiteral? = nil
        if accept(.rule) != nil {
            name = try expectName("a rule name")
            if current.kind == .string {
                let token = advance()
                description = StringLiteral(value: Parser.unescape(text(of: token)), span: token.span)
            }
        }
        var triggers: [EventReference] = []
        var triggerSpan: Span? = nil
        if let on = accept(.on) {
            section = .triggers
            repeat { triggers.append(try parseEventReference()) } while accept(.comma) != nil
            triggerSpan = Span(start: on.span.start, end: previousEnd)
        }
        var absence: Absence? = nil
        if let unless = accept(.unless) {
            section = .absence
            let event = try parseEventReference()
            let deadline: Absence.Deadline
            if accept(.within) != nil {
                deadline = .within(try parseExpression())
            } else if accept(.by) != nil {
                deadline = .by(try parseExpression())
            } else {
                throw fail(expected: "`within DURATION` or `by TIMESTAMP` after the awaited event",
                           help: "for example `unless shipment.shipped within 48h`")
            }
            absence = Absence(event: event, deadline: deadline, span: Span(start: unless.span.start, end: previousEnd))
        }
        var condition: Expression? = nil
        if accept(.when) != nil {
            section = .condition
            condition = try parseExpression()
        }
        guard let then = accept(.then) else {
            if let failure = phrasingBeforeThen(ruleStart: startIndex) { throw failure }
            if current.kind == .keyword(.when) || current.kind == .keyword(.on) || current.kind == .keyword(.unless) {
                throw fail(.unexpectedToken, expected: "`then`", help: "a rule's parts come in the order `on`, `unless`, `when`, `then`")
            }
            throw fail(.missingActions, expected: "`then` and the rule's actions",
                       help: "add what the rule does, for example `then send apology`")
        }
        section = .actions
        var actions: [Action] = []
        repeat { actions.append(try parseAction()) } while accept(.comma) != nil
        let actionsSpan = Span(start: then.span.start, end: previousEnd)
        var policies: [PolicyClause] = []
        while let clause = try parsePolicyClause() { policies.append(clause) }
        return Rule(name: name, description: description, triggers: triggers, triggerSpan: triggerSpan,
                    absence: absence, condition: condition, actions: actions, actionsSpan: actionsSpan,
                    policies: policies, span: Span(start: start, end: previousEnd))
    }

    // event_ref: NAME "." NAME
    mutating func parseEventReference() throws(Failure) -> EventReference {
        let entity = try expectName("an event type such as `shipment.delivered`")
        if !check(.dot), let failure = phrasingInEvent(entity) { throw failure }
        _ = try expect(.dot, "`.` and the event, as in `shipment.delivered`")
        let happening = try expectName("the event after `.`, as in `shipment.delivered`")
        return EventReference(entity: entity, happening: happening, span: entity.span.union(happening.span))
    }

    // action: NAME [expr] ["via" expr]
    mutating func parseAction() throws(Failure) -> Action {
        if check(.case) { throw caseOfActionsFailure() }
        let verb = try expectName("an action such as `refund 5 EUR` or `send apology`")
        var argument: Expression? = nil
        if startsExpression(current) {
            let written = try parseExpression()
            try phrasingAfterArgument(written, verb: verb)
            argument = written
        }
        var channel: Expression? = nil
        if accept(.via) != nil {
            let written = try parseExpression()
            try phrasingAfterChannel(written)
            channel = written
        }
        return Action(verb: verb, argument: argument, channel: channel, span: Span(start: verb.span.start, end: previousEnd))
    }

    func startsExpression(_ token: Token) -> Bool {
        switch token.kind {
        case .name, .number, .money, .percent, .duration, .date, .timestamp, .string,
             .keyword(.true), .keyword(.false), .keyword(.case), .keyword(.not),
             .symbol(.leftParen), .symbol(.leftBracket), .symbol(.minus): true
        default: false
        }
    }

    // ?policy_clause: limit_clause | cap_clause | exclusive_clause | rollout_clause | active_clause
    mutating func parsePolicyClause() throws(Failure) -> PolicyClause? {
        switch current.kind {
        case .keyword(.limit):
            section = .limit
            return try parseLimit()
        case .keyword(.cap):
            section = .cap
            return .cap(try parseCap())
        case .keyword(.exclusive):
            section = .exclusive
            let start = advance().span.start
            let group = try expectName("the name of an exclusive group")
            var priority: NumberLiteral? = nil
            if accept(.priority) != nil {
                guard current.kind == .number else { throw fail(expected: "a whole number after `priority`") }
                let token = advance()
                priority = NumberLiteral(text: text(of: token), span: token.span)
            }
            return .exclusive(Exclusive(group: group, priority: priority, span: Span(start: start, end: previousEnd)))
        case .keyword(.rollout):
            section = .rollout
            let start = advance().span.start
            let share = try parseExpression()
            return .rollout(share, span: Span(start: start, end: previousEnd))
        case .keyword(.active):
            section = .active
            let start = advance().span.start
            var from: Literal? = nil, until: Literal? = nil
            if accept(.from) != nil {
                from = try parseInstant()
                if accept(.until) != nil { until = try parseInstant() }
            } else if accept(.until) != nil {
                until = try parseInstant()
            } else {
                if let failure = phrasingAfterActive() { throw failure }
                throw fail(expected: "`from DATE` or `until DATE` after `active`",
                           help: "for example `active from 2026-12-01 until 2026-12-24`")
            }
            return .active(Active(from: from, until: until, span: Span(start: start, end: previousEnd)))
        default:
            return nil
        }
    }

    // ?instant: DATE | TIMESTAMP
    mutating func parseInstant() throws(Failure) -> Literal {
        switch current.kind {
        case .date:
            let token = advance()
            return Literal(kind: .date, text: text(of: token), span: token.span)
        case .timestamp:
            let token = advance()
            return Literal(kind: .timestamp, text: text(of: token), span: token.span)
        default:
            if let failure = phrasingAtInstant() { throw failure }
            throw fail(expected: "a date such as `2026-12-01` or a timestamp such as `2026-12-01T08:00:00Z`")
        }
    }

    // limit_clause: "limit" NUMBER "per" key ["within" expr] | "limit" "none"
    mutating func parseLimit() throws(Failure) -> PolicyClause {
        let start = advance().span.start
        if accept(.none) != nil { return .noLimit(span: Span(start: start, end: previousEnd)) }
        guard current.kind == .number else {
            if let failure = phrasingAtLimitCount() { throw failure }
            throw fail(expected: "a whole number or `none` after `limit`", help: "for example `limit 1 per order within 30d`")
        }
        let countToken = advance()
        let count = NumberLiteral(text: text(of: countToken), span: countToken.span)
        _ = try expect(.per, "`per` and what to count per, as in `limit 1 per order`")
        let key = try parseKey()
        var window: Expression? = nil
        if accept(.within) != nil { window = try parseExpression() }
        return .limit(Limit(count: count, key: key, window: window, span: Span(start: start, end: previousEnd)))
    }

    // cap_clause: "cap" expr "per" key ["within" expr]
    mutating func parseCap() throws(Failure) -> Cap {
        let start = advance().span.start
        let amount = try parseExpression()
        _ = try expect(.per, "`per` and what the cap applies to, as in `cap 20 EUR per customer within 30d`")
        let key = try parseKey()
        var window: Expression? = nil
        if accept(.within) != nil { window = try parseExpression() }
        return Cap(amount: amount, key: key, window: window, span: Span(start: start, end: previousEnd))
    }

    // arms: arm ("," arm)* [","]      arm: pattern "->" expr      pattern: expr ("|" expr)* | "else"
    mutating func parseArms() throws(Failure) -> [Arm] {
        armsDepth += 1
        defer { armsDepth -= 1 }
        var arms: [Arm] = []
        repeat {
            if check(.rightBrace), !arms.isEmpty { break }
            let start = current.span.start
            var patterns: [Expression] = []
            if accept(.else) == nil {
                repeat { patterns.append(try parseExpression()) } while accept(.bar) != nil
            }
            if check(.assign) {
                throw phrasing("the entries of `case` and `table` use `->`", at: current.span, label: "write `->`",
                               help: "for example `DE -> 2d` or `else -> 5 EUR`", fix: (current.span, "->"))
            }
            _ = try expect(.arrow, patterns.isEmpty ? "`->` after `else`" : "`->` or `|` after the case")
            let value = try parseExpression()
            arms.append(Arm(patterns: patterns, value: value, span: Span(start: start, end: previousEnd)))
        } while accept(.comma) != nil
        return arms
    }

    // MARK: - Expressions (precedence climbing over the levels of the grammar)

    func binaryOperator(at token: Token) -> BinaryOperator? {
        switch token.kind {
        case .keyword(.or): .or
        case .keyword(.and): .and
        case .symbol(.equal): .equal
        case .symbol(.notEqual): .notEqual
        case .symbol(.less): .less
        case .symbol(.lessEqual): .lessEqual
        case .symbol(.greater): .greater
        case .symbol(.greaterEqual): .greaterEqual
        case .keyword(.in): .in
        case .keyword(.not): peek().kind == .keyword(.in) ? .notIn : nil
        case .symbol(.coalesce): .coalesce
        case .symbol(.plus): .plus
        case .symbol(.minus): .minus
        case .symbol(.star): .times
        case .symbol(.slash): .divide
        case .keyword(.of): .of
        default: nil
        }
    }

    mutating func enter() throws(Failure) {
        depth += 1
        if depth > Parser.maximumDepth {
            diagnostics.append(Diagnostic(.nestingTooDeep, "expression nested more than \(Parser.maximumDepth) levels deep",
                                          at: Label(file: source.path, span: current.span, message: "too deep"),
                                          help: "split the expression into named parts with `let`"))
            throw Failure()
        }
    }

    mutating func node(_ kind: Expression.Kind, _ span: Span, children: [Expression]) throws(Failure) -> Expression {
        let height = 1 + children.reduce(0) { max($0, $1.height) }
        if height > Parser.maximumHeight {
            diagnostics.append(Diagnostic(.nestingTooDeep, "expression is too deeply nested",
                                          at: Label(file: source.path, span: span, message: "more than \(Parser.maximumHeight) levels"),
                                          help: "split the expression into named parts with `let`"))
            throw Failure()
        }
        return Expression(kind, span: span, height: height)
    }

    /// Chains of `and` (or of `or`) with at most this many parts keep the left-leaning shape
    /// that left associativity gives, `((a and b) and c) and d`, which is how explanations and
    /// the IR print them back. A longer chain is grouped as a balanced tree instead: the same
    /// meaning, since `and` and `or` are associative (also with missing values, which they
    /// treat as unknown), but a tree only log2(parts) high, so that no later walk over it
    /// recurses once per part. A flat chain is not nesting: it is bounded by nothing but the
    /// file's size.
    public static let longestLeftLeaningChain = 32

    /// `minimum` is the lowest precedence level this call may consume (1 = `or`).
    public static let levelOr = 1
    mutating func parseExpression(_ minimum: Int = 1) throws(Failure) -> Expression {
        try enter()
        defer { depth -= 1 }
        var left = try parsePrefixed(minimum)
        var compared = false
        // The parts of the `and` or `or` chain being read, once `left` is its first part. The
        // operators met in this loop never bind tighter than the one before (the right operand
        // took those), so a chain's parts come one after another.
        var chainOperator: BinaryOperator? = nil
        var chain: [Expression] = []
        while true {
            if check(.is), 4 >= minimum {
                if compared { throw chainedComparison() }
                if let op = chainOperator { left = try join(op, chain); chainOperator = nil }
                let isToken = index
                advance()
                let test: PresenceTest
                if let token = accept(.missing) { test = .missing; _ = token }
                else if accept(.present) != nil { test = .present }
                else { throw phrasingAfterIs(chainOperator != nil ? chain.last ?? left : left, isToken: isToken) }
                left = try node(.presence(left, test), Span(start: left.span.start, end: previousEnd), children: [left])
                compared = true
                continue
            }
            guard let op = binaryOperator(at: current), op.precedence >= minimum else {
                if minimum <= BinaryOperator.equal.precedence {
                    try phrasingAfterValue(chainOperator != nil ? chain.last ?? left : left, compared: chainOperator == nil && compared)
                }
                break
            }
            if compared, op.precedence >= 4 { throw chainedComparison() }
            advance()
            if op == .notIn { advance() }
            let right = try parseExpression(op.precedence + 1)
            if op == .and || op == .or {
                if chainOperator == op {
                    chain.append(right)
                } else {
                    if let previous = chainOperator { left = try join(previous, chain) }
                    chainOperator = op
                    chain = [left, right]
                }
                continue
            }
            if let previous = chainOperator { left = try join(previous, chain); chainOperator = nil }
            left = try node(.binary(op, left, right), left.span.union(right.span), children: [left, right])
            if op.isComparison { compared = true }
        }
        if let op = chainOperator { left = try join(op, chain) }
        return left
    }

    /// The tree of a chain `parts[0] op parts[1] op …` (see `longestLeftLeaningChain`).
    mutating func join(_ op: BinaryOperator, _ parts: [Expression]) throws(Failure) -> Expression {
        if parts.count <= Parser.longestLeftLeaningChain {
            var left = parts[0]
            for right in parts.dropFirst() {
                left = try node(.binary(op, left, right), left.span.union(right.span), children: [left, right])
            }
            return left
        }
        return try balanced(op, parts[...])
    }

    /// Recurses log2(parts.count) deep.
    mutating func balanced(_ op: BinaryOperator, _ parts: ArraySlice<Expression>) throws(Failure) -> Expression {
        if parts.count == 1, let only = parts.first { return only }
        let middle = parts.startIndex + parts.count / 2
        let left = try balanced(op, parts[..<middle])
        let right = try balanced(op, parts[middle...])
        return try node(.binary(op, left, right), left.span.union(right.span), children: [left, right])
    }

    mutating func chainedComparison() -> Failure {
        fail(expected: "`and`, `or` or the end of the condition",
             label: "comparisons do not chain", help: "compare twice and join with `and`: `a < b and b < c`")
    }

    // ?not_expr: "not" not_expr      ?unary: "-" unary | postfix
    mutating func parsePrefixed(_ minimum: Int) throws(Failure) -> Expression {
        if check(.not) {
            guard minimum <= UnaryOperator.not.precedence else {
                throw fail(expected: "a value", label: "`not` cannot stand here",
                           help: "put the negated condition in parentheses: `(not ...)`")
            }
            let start = advance().span.start
            try enter()
            defer { depth -= 1 }
            let operand = try parseExpression(UnaryOperator.not.precedence)
            return try node(.unary(.not, operand), Span(start: start, end: operand.span.end), children: [operand])
        }
        if check(.minus) {
            let start = advance().span.start
            try enter()
            defer { depth -= 1 }
            let operand = try parsePrefixed(UnaryOperator.negate.precedence)
            return try node(.unary(.negate, operand), Span(start: start, end: operand.span.end), children: [operand])
        }
        return try parsePostfix()
    }

    // ?postfix: primary | postfix "." NAME | postfix "[" expr "]"
    mutating func parsePostfix() throws(Failure) -> Expression {
        var expression = try parsePrimary()
        while true {
            if accept(.dot) != nil {
                let field = try expectName("a field name after `.`")
                expression = try node(.member(expression, field), Span(start: expression.span.start, end: field.span.end), children: [expression])
            } else if accept(.leftBracket) != nil {
                let key = try parseExpression()
                let close = try expect(.rightBracket)
                expression = try node(.index(expression, key), Span(start: expression.span.start, end: close.span.end), children: [expression, key])
            } else {
                return expression
            }
        }
    }

    // ?primary: literal | NAME | call | "(" expr ")" | list | case_expr
    mutating func parsePrimary() throws(Failure) -> Expression {
        let token = current
        switch token.kind {
        case .number:
            advance()
            if droppedNumbers.contains(token.span.start) { throw Failure() }
            return literal(.number, token)
        case .money: advance(); return literal(.money, token)
        case .percent: advance(); return literal(.percent, token)
        case .duration: advance(); return literal(.duration, token)
        case .date: advance(); return literal(.date, token)
        case .timestamp: advance(); return literal(.timestamp, token)
        case .string:
            advance()
            return Expression(.literal(Literal(kind: .string, text: Parser.unescape(text(of: token)), span: token.span)), span: token.span)
        case .keyword(.true), .keyword(.false):
            advance()
            return literal(.boolean, token)
        case .name:
            advance()
            let name = Identifier(text(of: token), span: token.span)
            if check(.leftParen) { return try parseCall(name) }
            return Expression(.name(name), span: token.span)
        case .symbol(.leftParen):
            advance()
            let inner = try parseExpression()
            _ = try expect(.rightParen, "`)`")
            return inner
        case .symbol(.leftBracket):
            return try parseList()
        case .keyword(.case):
            return try parseCase()
        default:
            if let failure = phrasingAtValue() { throw failure }
            throw fail(expected: "a value (a field, a literal such as `2d` or `5 EUR`, or a name)")
        }
    }

    func literal(_ kind: Literal.Kind, _ token: Token) -> Expression {
        Expression(.literal(Literal(kind: kind, text: text(of: token), span: token.span)), span: token.span)
    }

    // "[" [expr ("," expr)* [","]] "]"
    mutating func parseList() throws(Failure) -> Expression {
        let start = advance().span.start
        var elements: [Expression] = []
        while !check(.rightBracket) {
            elements.append(try parseExpression())
            if accept(.comma) == nil { break }
        }
        let close = try expect(.rightBracket, "`,` or `]`")
        return try node(.list(elements), Span(start: start, end: close.span.end), children: elements)
    }

    // "case" [expr] "{" arms "}"
    mutating func parseCase() throws(Failure) -> Expression {
        let start = advance().span.start
        var subject: Expression? = nil
        if !check(.leftBrace) { subject = try parseExpression() }
        _ = try expect(.leftBrace, "`{` and the cases")
        let arms = try parseArms()
        let close = try expect(.rightBrace, "`,` or `}`")
        let children = (subject.map { [$0] } ?? []) + arms.flatMap { $0.patterns + [$0.value] }
        return try node(.caseOf(subject: subject, arms: arms), Span(start: start, end: close.span.end), children: children)
    }

    // call: NAME "(" [expr ("," expr)*] ["where" expr] ["per" key] ["within" expr] ")"
    mutating func parseCall(_ function: Identifier) throws(Failure) -> Expression {
        _ = advance()
        var arguments: [Expression] = []
        if startsExpression(current) {
            repeat { arguments.append(try parseExpression()) } while accept(.comma) != nil
        }
        var filter: Expression? = nil, per: KeyPath? = nil, window: Expression? = nil
        if accept(.where) != nil { filter = try parseExpression() }
        if accept(.per) != nil { per = try parseKey() }
        if accept(.within) != nil { window = try parseExpression() }
        let close = try expect(.rightParen, "`)` to close the call to `\(function.name)`")
        let call = Call(function: function, arguments: arguments, filter: filter, per: per, window: window)
        let children = arguments + [filter, window].compactMap { $0 }
        return try node(.call(call), Span(start: function.span.start, end: close.span.end), children: children)
    }

    /// Resolves the escapes of a string token's text (quotes included).
    public static func unescape(_ quoted: String) -> String {
        var body = Substring(quoted)
        if body.hasPrefix("\"") { body = body.dropFirst() }
        if body.hasSuffix("\""), !body.isEmpty { body = body.dropLast() }
        var result = ""
        var escaping = false
        for character in body {
            if escaping {
                switch character {
                case "n": result.append("\n")
                case "t": result.append("\t")
                default: result.append(character)
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                result.append(character)
            }
        }
        return result
    }
}
