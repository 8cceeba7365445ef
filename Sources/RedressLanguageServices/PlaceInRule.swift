import RedressSemantics
import RedressSyntax

/// What a place in a rule file is, read from the tokens before it: the text being edited may not
/// parse (it is half typed), but its tokens still say whether an event type, a field, an enum case
/// or a template goes there. Completion asks what may stand at a place; hover and go to
/// definition ask what the name standing there refers to.
struct RuleFileTokens {
    let source: SourceFile
    let tokens: [Token]
    let comments: [Comment]

    init(_ source: SourceFile) {
        self.source = source
        let lexed = Lexer.tokenize(source)
        self.tokens = lexed.tokens
        self.comments = lexed.comments
    }

    static let aggregates: Set<String> = ["count", "sum", "share"]
    /// The keywords that begin an item or a clause of a rule.
    static let clauseKeywords: Set<Keyword> = [.rule, .param, .let, .table, .group, .policy, .on, .when, .unless, .then,
                                               .limit, .cap, .exclusive, .rollout, .active]

    func text(_ index: Int) -> String {
        guard tokens.indices.contains(index) else { return "" }
        return String(decoding: source.bytes[tokens[index].span.start..<tokens[index].span.end], as: UTF8.self)
    }
    func isName(_ index: Int) -> Bool { tokens.indices.contains(index) && tokens[index].kind == .name }
    func isKeyword(_ index: Int, _ keyword: Keyword) -> Bool { tokens.indices.contains(index) && tokens[index].kind == .keyword(keyword) }
    func isSymbol(_ index: Int, _ symbol: Symbol) -> Bool { tokens.indices.contains(index) && tokens[index].kind == .symbol(symbol) }

    /// Index of the first token that ends after `offset` (the end-of-file token if none).
    func firstToken(endingAfter offset: Int) -> Int {
        var low = 0, high = tokens.count - 1
        while low < high {
            let middle = (low + high) / 2
            if tokens[middle].span.end <= offset { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Whether `offset` lies in a comment or inside a string literal (no names go there).
    func isInCommentOrString(_ offset: Int) -> Bool {
        if comments.contains(where: { $0.span.start < offset && offset <= $0.span.end }) { return true }
        let index = firstToken(endingAfter: offset)
        return tokens.indices.contains(index) && tokens[index].kind == .string && tokens[index].span.start < offset
    }

    /// The clause the place before token `index` is in (the index of its keyword), and the
    /// innermost bracket still open there, if any.
    func enclosing(_ index: Int) -> (clause: Int?, opener: Int?) {
        var depth = 0
        var opener: Int? = nil
        var position = min(index, tokens.count) - 1
        while position >= 0 {
            switch tokens[position].kind {
            case .symbol(.rightParen), .symbol(.rightBracket), .symbol(.rightBrace):
                depth += 1
            case .symbol(.leftParen), .symbol(.leftBracket), .symbol(.leftBrace):
                if depth == 0 { opener = opener ?? position } else { depth -= 1 }
            case .keyword(let keyword) where depth == 0 && Self.clauseKeywords.contains(keyword):
                return (position, opener)
            default: break
            }
            position -= 1
        }
        return (nil, opener)
    }

    func clause(before index: Int) -> Keyword? {
        guard let at = enclosing(index).clause, case .keyword(let keyword) = tokens[at].kind else { return nil }
        return keyword
    }

    /// Whether the token at `index` begins a line without indentation (where items begin).
    func startsUnindentedLine(_ offset: Int) -> Bool {
        source.location(of: offset).column == 1
    }

    /// Whether an event type is written from token `index` on: after `on` (and between its
    /// commas), after `unless`, and as the first argument of `count`, `sum` and `share`.
    func isEventPosition(_ index: Int) -> Bool {
        guard index > 0 else { return false }
        switch tokens[index - 1].kind {
        case .keyword(.on), .keyword(.unless): return true
        case .symbol(.leftParen): return isName(index - 2) && Self.aggregates.contains(text(index - 2))
        case .symbol(.comma):
            let around = enclosing(index)
            return around.opener == nil && around.clause.map { isKeyword($0, .on) } == true
        default: return false
        }
    }

    /// Whether an action's verb is written at token `index`: after `then` or after a comma of the actions.
    func isVerbPosition(_ index: Int) -> Bool {
        guard index > 0 else { return false }
        if isKeyword(index - 1, .then) { return true }
        guard isSymbol(index - 1, .comma) else { return false }
        let around = enclosing(index)
        return around.opener == nil && around.clause.map { isKeyword($0, .then) } == true
    }

    /// What may stand at token `index`, judged from the tokens before it; `start` is where the
    /// name there begins (or the cursor, when nothing is typed yet).
    func slot(at index: Int, start: Int, schema: Schema?) -> Slot {
        guard index > 0 else { return .itemStart }
        if isSymbol(index - 1, .dot), isName(index - 2) {
            return .member(of: text(index - 2), eventPosition: isEventPosition(index - 2))
        }
        if case .keyword(let keyword) = tokens[index - 1].kind {
            switch keyword {
            case .on, .unless: return .event
            case .rule, .param, .let, .table: return .newName(keyword)
            case .group where startsUnindentedLine(tokens[index - 1].span.start): return .newName(.group)
            case .then: return .actionVerb
            case .via: return .channel
            case .exclusive: return .group
            case .per: return .entity
            case .by where isKeyword(index - 3, .table): return .enumeration
            case .by where clause(before: index) == .group: return .groupOrder
            default: break
            }
        }
        if isEventPosition(index) { return .event }
        if isVerbPosition(index) { return .actionVerb }
        if isName(index - 1), isVerbPosition(index - 1) { return .actionArgument(verb: text(index - 1)) }
        if let schema, let enumeration = expectedEnumeration(at: index, schema: schema) { return .enumCase(of: enumeration) }
        let around = enclosing(index)
        if around.opener == nil, startsUnindentedLine(start) { return .itemStart }
        return .expression(clause: clause(before: index))
    }

    /// The enum whose case is expected at token `index`: after `FIELD ==` or `!=`, in the list
    /// after `FIELD in`, at the start of an arm of `case FIELD { … }` or of `table NAME by ENUM { … }`.
    func expectedEnumeration(at index: Int, schema: Schema) -> String? {
        func enumerationOfField(endingAt last: Int) -> String? {
            guard isName(last), isSymbol(last - 1, .dot), isName(last - 2),
                  let field = schema.entity(text(last - 2))?.field(text(last)) else { return nil }
            if case .enumeration(let name) = field.type.required { return name }
            return nil
        }
        if isSymbol(index - 1, .equal) || isSymbol(index - 1, .notEqual) { return enumerationOfField(endingAt: index - 2) }
        guard let opener = enclosing(index).opener else { return nil }
        if isSymbol(opener, .leftBracket), isSymbol(index - 1, .leftBracket) || isSymbol(index - 1, .comma), isKeyword(opener - 1, .in) {
            return enumerationOfField(endingAt: opener - 2)
        }
        if isSymbol(opener, .leftBrace), isSymbol(index - 1, .leftBrace) || isSymbol(index - 1, .comma) || isSymbol(index - 1, .bar) {
            if isKeyword(opener - 4, .table), isKeyword(opener - 2, .by), isName(opener - 1) {
                return schema.enumeration(text(opener - 1))?.name
            }
            if isKeyword(opener - 4, .case) { return enumerationOfField(endingAt: opener - 1) }
        }
        return nil
    }

    /// The name or keyword token at `offset`: the one containing it, else the one ending there
    /// (the cursor just after a word).
    func wordToken(at offset: Int) -> Int? {
        let index = firstToken(endingAfter: offset)
        func isWord(_ i: Int) -> Bool {
            guard tokens.indices.contains(i) else { return false }
            if case .keyword = tokens[i].kind { return true }
            return tokens[i].kind == .name
        }
        if isWord(index), tokens[index].span.start <= offset { return index }
        if index > 0, isWord(index - 1), tokens[index - 1].span.end == offset { return index - 1 }
        return nil
    }
}

/// What may be written at a place of a rule file.
enum Slot: Equatable {
    /// The start of an item: `rule`, `param`, `let`, `table`, `group`, `policy` or an anonymous `when`.
    case itemStart
    /// The name an item declares (`rule NAME`, `param NAME`, …).
    case newName(Keyword)
    /// After `ENTITY.`: a field, or the second half of an event type.
    case member(of: String, eventPosition: Bool)
    case event
    case actionVerb
    case actionArgument(verb: String)
    /// After `via`.
    case channel
    /// After `exclusive`.
    case group
    /// After `per`.
    case entity
    /// After `table NAME by`.
    case enumeration
    /// After `group NAME per KEY … by`.
    case groupOrder
    case enumCase(of: String)
    case expression(clause: Keyword?)
}
