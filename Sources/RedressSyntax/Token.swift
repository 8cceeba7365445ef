/// Reserved words of the language. They cannot be used as names.
public enum Keyword: String, CaseIterable, Sendable {
    case rule, when, then, on, unless, within, by, and, or, not, `in`, `is`, missing, present
    case param, `let`, table, `case`, `else`, policy, cap, limit, per, exclusive, priority
    case rollout, active, from, until, group, via, of, `true`, `false`, none, `where`
}

public enum TokenKind: Hashable, Sendable {
    case name
    case keyword(Keyword)
    case number      // 3, 4.99
    case money       // 5 EUR, 4.99EUR
    case percent     // 5%, 2.5%
    case duration    // 2d, 36h, 500ms
    case date        // 2026-12-01
    case timestamp   // 2026-12-01T08:00:00Z
    case string      // "text"
    case symbol(Symbol)
    case endOfFile
}

public enum Symbol: String, Sendable, CaseIterable {
    case leftParen = "(", rightParen = ")", leftBracket = "[", rightBracket = "]"
    case leftBrace = "{", rightBrace = "}", comma = ",", dot = ".", arrow = "->", bar = "|"
    case coalesce = "??", equal = "==", notEqual = "!=", lessEqual = "<=", greaterEqual = ">="
    case less = "<", greater = ">", plus = "+", minus = "-", star = "*", slash = "/", assign = "="
}

public struct Token: Hashable, Sendable {
    public var kind: TokenKind
    public var span: Span
    public init(kind: TokenKind, span: Span) {
        self.kind = kind
        self.span = span
    }
}

/// A `# ...` comment; kept beside the tokens so the formatter can put it back.
public struct Comment: Hashable, Sendable {
    public var span: Span
    public var text: String
}

extension TokenKind {
    /// How the kind is named in "expected ..." messages.
    public var description: String {
        switch self {
        case .name: "a name"
        case .keyword(let keyword): "`\(keyword.rawValue)`"
        case .number: "a number"
        case .money: "an amount of money"
        case .percent: "a percentage"
        case .duration: "a duration"
        case .date: "a date"
        case .timestamp: "a timestamp"
        case .string: "a string"
        case .symbol(let symbol): "`\(symbol.rawValue)`"
        case .endOfFile: "the end of the file"
        }
    }
}
