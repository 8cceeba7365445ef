import RedressSyntax

/// The result of checking: every name resolved, every expression typed. This is what the
/// next stage (lowering to the IR) reads; it never needs the schema's YAML or the source text.
public struct CheckedRuleSet: Sendable {
    public var schema: Schema
    public var catalog: Catalog
    public var rules: [CheckedRule]
    public var parameters: [CheckedParameter]
    public var definitions: [String: TypedExpression]
    public var tables: [CheckedTable]
    public var groups: [CheckedGroup]
    public var policies: [CheckedPolicy]
    /// Each rule file's rules as checked, by path, for checking again after a change elsewhere.
    public var checkedFiles: [String: CheckedFile] = [:]
}

/// The rules of one file as checked, with what checking them reported and which declarations
/// they use; see `Checker.check(files:schema:catalog:reusing:)`.
public struct CheckedFile: Sendable {
    public var rules: [CheckedRule]
    var diagnostics: [Diagnostic]
    var used: Set<String>
    var usedGroups: Set<String>
    /// The declarations they were checked against (`Checker.declarationsText`).
    var environment: String
}

public struct CheckedParameter: Sendable {
    public var name: String
    public var type: ValueType
    public var defaultValue: Value
    public var span: Span
    public var file: String
}

public struct CheckedTable: Sendable {
    public var name: String
    public var keyEnum: String
    public var valueType: ValueType
    /// Case name → value; cases not listed take `otherwise`.
    public var entries: [(key: String, value: Value)]
    public var otherwise: Value?
}

public struct CheckedGroup: Sendable {
    public enum Order: String, Sendable { case priority, amount }
    public var name: String
    public var key: PolicyKey
    public var window: Int64?
    public var order: Order
}

/// What a limit, cap or group counts per: an entity (its key field) or one field.
public struct PolicyKey: Hashable, Sendable, CustomStringConvertible {
    public var entity: String
    public var field: String?
    public var description: String { field.map { "\(entity).\($0)" } ?? entity }
    public init(entity: String, field: String?) {
        self.entity = entity
        self.field = field
    }
}

public struct CheckedPolicy: Sendable {
    public enum Kind: Sendable {
        case limit(count: Int64)
        case cap(amount: Value)
    }
    public var kind: Kind
    public var key: PolicyKey
    public var window: Int64?
    public var span: Span
    public var file: String
}

public struct FieldReference: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var entity: String
    public var field: String
    public var description: String { "\(entity).\(field)" }
    public static func < (a: FieldReference, b: FieldReference) -> Bool { (a.entity, a.field) < (b.entity, b.field) }
}

public struct CheckedRule: Sendable {
    public var name: String
    public var isAnonymous: Bool
    public var description: String?
    public var file: String
    public var span: Span
    /// Event types that make the rule evaluate, in schema order.
    public var triggers: [String]
    public var triggersInferred: Bool
    /// The entity the rule's decisions are about (the triggers' subject).
    public var subject: String
    public var absence: CheckedAbsence?
    public var condition: TypedExpression?
    public var actions: [CheckedAction]
    /// Count limits, including the default `limit 1 per <subject>` unless `limit none`.
    public var limits: [CheckedPolicy]
    public var caps: [CheckedPolicy]
    public var exclusive: (group: String, priority: Int64)?
    public var rollout: TypedExpression?
    /// Milliseconds since the epoch; the rule is active in `from ..< until`.
    public var activeFrom: Int64?
    public var activeUntil: Int64?
    /// Fields the rule reads from the triggering event, sorted.
    public var reads: [FieldReference]
    /// The condition as written, for lints and `explain`.
    public var conditionSyntax: Expression?
}

public struct CheckedAbsence: Sendable {
    public var event: String
    public enum Deadline: Sendable {
        case after(Int64)
        case at(TypedExpression)
    }
    public var deadline: Deadline
}

public struct CheckedAction: Sendable {
    public enum Argument: Sendable {
        case none
        case value(TypedExpression)
        case name(String)
    }
    public enum Channel: Sendable {
        case fixed(String)
        case field(TypedExpression)
    }
    public var verb: String
    public var argument: Argument
    public var channel: Channel?
    public var span: Span
}

public struct TypedExpression: Sendable {
    public indirect enum Kind: Sendable {
        case constant(Value)
        case field(FieldReference)
        case parameter(String)
        case definition(String)
        case tableLookup(table: String, key: TypedExpression)
        case list([TypedExpression])
        /// Arms are tried in order; with a subject they compare patterns to it, without
        /// one the patterns are conditions.
        case caseOf(subject: TypedExpression?, arms: [(patterns: [TypedExpression], value: TypedExpression)], otherwise: TypedExpression?)
        case not(TypedExpression)
        case negate(TypedExpression)
        case binary(BinaryOperator, TypedExpression, TypedExpression)
        case presence(TypedExpression, PresenceTest)
        case function(String, [TypedExpression])
        case aggregate(Aggregate)
    }
    public var kind: Kind
    public var type: ValueType
    public var span: Span

    public init(_ kind: Kind, _ type: ValueType, _ span: Span) {
        self.kind = kind
        self.type = type
        self.span = span
    }
}

/// A history aggregate over the subject's past events in an event-time window.
public struct Aggregate: Sendable {
    public enum Function: String, Sendable { case count, sum, share }
    public var function: Function
    public var event: String
    public var value: TypedExpression?
    public var filter: TypedExpression?
    public var per: PolicyKey
    /// Window length in milliseconds.
    public var window: Int64
}

/// Foundation also declares an `Expression`; in this module the word means the rule syntax.
public typealias Expression = RedressSyntax.Expression
