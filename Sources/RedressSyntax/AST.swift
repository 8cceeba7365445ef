/// The syntax tree of one rule file. Every node keeps its span; spans are byte offsets
/// into the file. Parentheses are not kept: the tree already says what they grouped.
public struct RuleFile: Sendable {
    public var source: SourceFile
    public var items: [Item]
    public var comments: [Comment]
    public init(source: SourceFile, items: [Item], comments: [Comment]) {
        self.source = source
        self.items = items
        self.comments = comments
    }
}

/// A name as written, with where it was written.
public struct Identifier: Hashable, Sendable {
    public var name: String
    public var span: Span
    public init(_ name: String, span: Span) {
        self.name = name
        self.span = span
    }
}

public enum Item: Sendable {
    case rule(Rule)
    case parameter(Definition)
    case definition(Definition)
    case table(Table)
    case group(Group)
    case policy(PolicyClause)

    public var span: Span {
        switch self {
        case .rule(let rule): rule.span
        case .parameter(let d), .definition(let d): d.span
        case .table(let table): table.span
        case .group(let group): group.span
        case .policy(let policy): policy.span
        }
    }
}

/// `param NAME = EXPR` or `let NAME = EXPR`.
public struct Definition: Sendable {
    public var name: Identifier
    public var value: Expression
    public var span: Span
}

/// `table NAME by ENUM { KEY -> VALUE, ... }`
public struct Table: Sendable {
    public var name: Identifier
    public var keyType: Identifier
    public var arms: [Arm]
    public var span: Span
}

/// `group NAME per KEY [within DURATION] [by priority|amount]`
public struct Group: Sendable {
    public var name: Identifier
    public var key: KeyPath
    public var window: Expression?
    public var order: Identifier?
    public var span: Span
}

/// `customer` or `customer.country`: what limits, caps, groups and aggregates count per.
public struct KeyPath: Sendable {
    public var entity: Identifier
    public var field: Identifier?
    public var span: Span
    public var text: String { field.map { "\(entity.name).\($0.name)" } ?? entity.name }
}

/// `shipment.delivered`
public struct EventReference: Sendable {
    public var entity: Identifier
    public var happening: Identifier
    public var span: Span
    public var name: String { "\(entity.name).\(happening.name)" }
    public init(entity: Identifier, happening: Identifier, span: Span) {
        self.entity = entity
        self.happening = happening
        self.span = span
    }
}

public struct Rule: Sendable {
    /// Nil for an anonymous rule such as the mission sentence.
    public var name: Identifier?
    public var description: StringLiteral?
    public var triggers: [EventReference]
    public var triggerSpan: Span?
    public var absence: Absence?
    public var condition: Expression?
    public var actions: [Action]
    public var actionsSpan: Span
    public var policies: [PolicyClause]
    public var span: Span
}

public struct StringLiteral: Sendable {
    /// The value, escapes resolved.
    public var value: String
    public var span: Span
}

/// `unless EVENT within DURATION` or `unless EVENT by TIMESTAMP`.
public struct Absence: Sendable {
    public enum Deadline: Sendable {
        case within(Expression)
        case by(Expression)
    }
    public var event: EventReference
    public var deadline: Deadline
    public var span: Span
}

/// `VERB [ARGUMENT] [via CHANNEL]`
public struct Action: Sendable {
    public var verb: Identifier
    public var argument: Expression?
    public var channel: Expression?
    public var span: Span
}

public enum PolicyClause: Sendable {
    case limit(Limit)
    case noLimit(span: Span)
    case cap(Cap)
    case exclusive(Exclusive)
    case rollout(Expression, span: Span)
    case active(Active)

    public var span: Span {
        switch self {
        case .limit(let limit): limit.span
        case .noLimit(let span): span
        case .cap(let cap): cap.span
        case .exclusive(let exclusive): exclusive.span
        case .rollout(_, let span): span
        case .active(let active): active.span
        }
    }
}

/// `limit N per KEY [within DURATION]`
public struct Limit: Sendable {
    public var count: NumberLiteral
    public var key: KeyPath
    public var window: Expression?
    public var span: Span
}

/// `cap MONEY per KEY [within DURATION]`
public struct Cap: Sendable {
    public var amount: Expression
    public var key: KeyPath
    public var window: Expression?
    public var span: Span
}

/// `exclusive GROUP [priority N]`
public struct Exclusive: Sendable {
    public var group: Identifier
    public var priority: NumberLiteral?
    public var span: Span
}

/// `active from DATE [until DATE]` or `active until DATE`
public struct Active: Sendable {
    public var from: Literal?
    public var until: Literal?
    public var span: Span
}

public struct NumberLiteral: Sendable {
    public var text: String
    public var span: Span
}

/// `PATTERN | PATTERN -> VALUE` or `else -> VALUE`, in tables and case values.
public struct Arm: Sendable {
    /// Empty for `else`.
    public var patterns: [Expression]
    public var value: Expression
    public var span: Span
    public var isElse: Bool { patterns.isEmpty }
}

/// A literal as written; values are interpreted (and range-checked) by the checker.
public struct Literal: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case number, money, percent, duration, date, timestamp, string, boolean
    }
    public var kind: Kind
    /// The source text, e.g. `4.99 EUR`, `2d`, `"text"` (for strings: the unescaped value).
    public var text: String
    public var span: Span
}

public enum BinaryOperator: String, Sendable, CaseIterable {
    case or, and
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case `in`, notIn = "not in"
    case coalesce = "??"
    case plus = "+", minus = "-"
    case times = "*", divide = "/", of

    /// Binding strength, following grammar/redress.lark (higher binds tighter).
    public var precedence: Int {
        switch self {
        case .or: 1
        case .and: 2
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual, .in, .notIn: 4
        case .coalesce: 5
        case .plus, .minus: 6
        case .times, .divide, .of: 7
        }
    }
    public var isComparison: Bool { precedence == 4 }
}

public enum UnaryOperator: String, Sendable {
    case not, negate = "-"
    public var precedence: Int { self == .not ? 3 : 8 }
}

public enum PresenceTest: String, Sendable {
    case missing, present
}

public struct Expression: Sendable {
    public indirect enum Kind: Sendable {
        case literal(Literal)
        /// A bare name: a definition, parameter, table, entity or enum case; the checker decides.
        case name(Identifier)
        case member(Expression, Identifier)
        case index(Expression, Expression)
        case call(Call)
        case list([Expression])
        case caseOf(subject: Expression?, arms: [Arm])
        case unary(UnaryOperator, Expression)
        case binary(BinaryOperator, Expression, Expression)
        case presence(Expression, PresenceTest)
    }
    public var kind: Kind
    public var span: Span
    /// Height of the tree below this node; the parser bounds it so that every
    /// recursive walk over expressions is bounded too.
    public var height: Int

    public init(_ kind: Kind, span: Span, height: Int = 1) {
        self.kind = kind
        self.span = span
        self.height = height
    }
}

/// `name(arguments [where COND] [per KEY] [within DURATION])`
public struct Call: Sendable {
    public var function: Identifier
    public var arguments: [Expression]
    public var filter: Expression?
    public var per: KeyPath?
    public var window: Expression?
}
