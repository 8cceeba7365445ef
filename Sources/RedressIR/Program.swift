import RedressSemantics
/// The intermediate representation: a checked rule set lowered to slots, indices and
/// normalised constants. The runtime loads it (from JSON) without the rule sources, the
/// schema or the catalog YAML. `Program.formatVersion` changes whenever the JSON changes shape.
public struct Program: Codable, Sendable {
    public static let formatVersion = 2

    public var version: Int
    /// Currencies by index (`RuntimeValue.unit` of money); the first is the catalog's.
    public var currencies: [Currency]
    public var strings: [String]
    public var enums: [Enumeration]
    public var entities: [Entity]
    public var events: [Event]
    /// Every field any rule reads, by index: the event reader fills exactly these.
    public var slots: [Slot]
    public var parameters: [Parameter]
    public var tables: [Table]
    public var aggregates: [Aggregate]
    public var groups: [Group]
    /// Limits and caps across all rules (`policy ...`).
    public var policies: [Policy]
    public var rules: [Rule]
    public var catalog: Catalog
    /// Per event type, which rules to try (see `Dispatch`).
    public var dispatch: [Dispatch]

    public struct Currency: Codable, Sendable, Hashable {
        public var code: String
        public var minorUnits: Int
        public init(code: String, minorUnits: Int) {
            self.code = code
            self.minorUnits = minorUnits
        }
    }
    public struct Enumeration: Codable, Sendable {
        public var name: String
        public var cases: [String]
    }
    public struct Entity: Codable, Sendable {
        public var name: String
        /// The field that identifies one instance (its slot holds the key).
        public var key: String
        public var fields: [Field]
    }
    public struct Field: Codable, Sendable {
        public var name: String
        public var type: String
    }
    public struct Event: Codable, Sendable {
        public var name: String
        /// Index into `entities`.
        public var subject: Int
        public var carries: [Int]
    }
    public struct Slot: Codable, Sendable, Hashable {
        /// Index into `entities`.
        public var entity: Int
        public var field: String
        /// The field's type as the schema writes it (`duration?`, `money(EUR)`, `Tier`).
        public var type: String
        public var kind: RuntimeValue.Kind
        public var optional: Bool
        /// Money: currency index; enum: enum index.
        public var unit: Int32
    }
    public struct Parameter: Codable, Sendable {
        public var name: String
        public var type: String
        public var value: RuntimeValue
    }
    public struct Table: Codable, Sendable {
        public var name: String
        public var enumeration: Int
        /// One value per case of the enum, in case order (`else` filled in).
        public var values: [RuntimeValue]
    }
    public struct Key: Codable, Sendable, Hashable {
        /// The slot whose value is the key (an entity's key field, or any field).
        public var slot: Int
        public var text: String
    }
    public struct Aggregate: Codable, Sendable {
        public enum Function: String, Codable, Sendable { case count, sum, share }
        public var function: Function
        public var event: Int
        public var value: Node?
        public var filter: Node?
        public var per: Key
        public var windowMilliseconds: Int64
    }
    public struct Group: Codable, Sendable {
        public enum Order: String, Codable, Sendable { case priority, amount }
        public var name: String
        public var key: Key
        public var windowMilliseconds: Int64?
        public var order: Order
    }
    public struct Policy: Codable, Sendable {
        public enum Kind: String, Codable, Sendable { case limit, cap }
        public var kind: Kind
        /// Limits: the count; caps: the amount in minor units of `currency`.
        public var amount: Int64
        public var currency: Int32?
        public var key: Key
        public var windowMilliseconds: Int64?
    }
    public struct Absence: Codable, Sendable {
        public var event: Int
        /// Deadline relative to the trigger's time, or an absolute timestamp expression.
        public var withinMilliseconds: Int64?
        public var deadline: Node?
    }
    public struct Action: Codable, Sendable {
        public var verb: String
        /// A computed argument (money, integer, percent).
        public var amount: Node?
        /// A named argument (template, tag, or one of the catalog's names).
        public var name: String?
        public var channel: String?
        public var channelValue: Node?
    }
    public struct Rule: Codable, Sendable {
        public var name: String
        public var description: String?
        public var file: String
        public var line: Int
        public var triggers: [Int]
        public var triggersInferred: Bool
        /// Index into `entities`; the subject's key slot is `subjectKey.slot`.
        public var subject: Int
        public var subjectKey: Key
        /// The customer's key slot, for rollout and per-customer caps (nil if no customer is carried).
        public var customerKey: Key?
        public var condition: Node?
        public var actions: [Action]
        public var absence: Absence?
        public var limits: [Policy]
        public var caps: [Policy]
        public var group: Int?
        public var priority: Int64
        /// Share of customers in millionths (25% = 250_000); nil = everyone.
        public var rollout: Node?
        public var activeFrom: Int64?
        public var activeUntil: Int64?
        /// Slots the rule reads from the triggering event.
        public var reads: [Int]
    }
    public struct Catalog: Codable, Sendable {
        public struct Action: Codable, Sendable {
            /// How an action is priced (written as the catalog writes it).
            public enum CostModel: String, Codable, Sendable {
                case free, amount, fixed, perUnit = "per_unit"
            }
            /// What the action takes, kept so that later stages (rule tests, reports) need not guess.
            public enum ArgumentKind: String, Codable, Sendable {
                case none, money, integer, percent, template, tag, name
            }
            public var name: String
            public var cost: CostModel
            public var costMinor: Int64
            /// Millionths; nil means every voucher is redeemed.
            public var redemptionRate: Int64?
            public var argument: ArgumentKind
        }
        public struct Priced: Codable, Sendable {
            public var name: String
            public var costMinor: Int64
        }
        public var currency: Int32
        public var actions: [Action]
        public var channels: [Priced]
        public var tags: [Priced]
        public var templates: [String: String]
        /// How money is rounded (the catalog's `rounding:`); absent in IR files written before it: half to even.
        public var rounding: Rounding?
        public var moneyRounding: Rounding { rounding ?? .halfEven }
    }
    /// Rules to try for one event type. A rule whose condition requires `slot == constant` for
    /// some slots (its equality tests, joined by `and`) is filed under those slots and values,
    /// so an event only meets rules its values can match: one lookup per group of rules that
    /// test the same slots, whatever the number of rules. Evaluation follows rule order.
    public struct Dispatch: Codable, Sendable {
        public struct Branch: Codable, Sendable {
            /// The slots tested, in slot order.
            public var slots: [Int]
            /// `rules[i]` require the slots to hold `values[i]` (one value per slot).
            public var values: [[RuntimeValue]]
            public var rules: [[Int]]
        }
        public var always: [Int]
        public var branches: [Branch]
    }
}

/// An expression of the IR. One node type keeps the JSON form simple and stable.
public final class Node: Codable, Sendable {
    public enum Operation: String, Codable, Sendable {
        case constant, slot, parameter, table, list, caseOf = "case", not, negate, and, or
        case compare, `in`, notIn = "not_in", arithmetic, coalesce, isMissing = "is_missing", isPresent = "is_present"
        case function, aggregate
    }
    public let operation: Operation
    public let type: String
    public let value: RuntimeValue?
    /// Slot, parameter, table or aggregate index.
    public let index: Int?
    /// What a `compare`, `arithmetic` or `function` node does, typed: evaluation switches on
    /// these, never on text. Written in the JSON as the language writes it (`>`, `+`, `of`, `min`).
    public enum Symbol: Sendable, Equatable {
        case comparison(ComparisonOperator)
        case arithmetic(ArithmeticOperator)
        case function(BuiltinFunction)

        public var text: String {
            switch self {
            case .comparison(let c): c.rawValue
            case .arithmetic(let a): a.rawValue
            case .function(let f): f.rawValue
            }
        }
    }
    public let symbol: Symbol?

    public var comparison: ComparisonOperator? { if case .comparison(let c)? = symbol { c } else { nil } }
    public var arithmeticOperator: ArithmeticOperator? { if case .arithmetic(let a)? = symbol { a } else { nil } }
    public var function: BuiltinFunction? { if case .function(let f)? = symbol { f } else { nil } }
    public let children: [Node]
    /// For `case`: the subject (if any) is `children[0]`; arms are pattern lists and values.
    public let arms: [Arm]?
    public let otherwise: Node?

    public final class Arm: Codable, Sendable {
        public let patterns: [Node]
        public let value: Node
        public init(patterns: [Node], value: Node) {
            self.patterns = patterns
            self.value = value
        }
    }

    /// True when `test` holds for the expression or any part of it.
    public func contains(where test: (Node) -> Bool) -> Bool {
        test(self) || children.contains { $0.contains(where: test) } || (otherwise?.contains(where: test) ?? false)
            || (arms ?? []).contains { arm in arm.value.contains(where: test) || arm.patterns.contains { $0.contains(where: test) } }
    }

    enum CodingKeys: String, CodingKey { case operation, type, value, index, symbol, children, arms, otherwise }

    // Empty child lists are left out of the JSON.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(operation, forKey: .operation)
        try container.encode(type, forKey: .type)
        try container.encodeIfPresent(value, forKey: .value)
        try container.encodeIfPresent(index, forKey: .index)
        try container.encodeIfPresent(symbol?.text, forKey: .symbol)
        if !children.isEmpty { try container.encode(children, forKey: .children) }
        try container.encodeIfPresent(arms, forKey: .arms)
        try container.encodeIfPresent(otherwise, forKey: .otherwise)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        operation = try container.decode(Operation.self, forKey: .operation)
        type = try container.decode(String.self, forKey: .type)
        value = try container.decodeIfPresent(RuntimeValue.self, forKey: .value)
        index = try container.decodeIfPresent(Int.self, forKey: .index)
        // The symbol must be one the operation has: an unknown one is an error, not a default.
        let text = try container.decodeIfPresent(String.self, forKey: .symbol)
        switch operation {
        case .compare, .arithmetic, .function:
            let parsed: Symbol? = switch operation {
            case .compare: text.flatMap(ComparisonOperator.init(rawValue:)).map(Symbol.comparison)
            case .arithmetic: text.flatMap(ArithmeticOperator.init(rawValue:)).map(Symbol.arithmetic)
            default: text.flatMap(BuiltinFunction.init(rawValue:)).map(Symbol.function)
            }
            guard let parsed else {
                throw DecodingError.dataCorruptedError(forKey: .symbol, in: container,
                                                       debugDescription: "a `\(operation.rawValue)` node needs a known symbol, found \(text.map { "`\($0)`" } ?? "none")")
            }
            symbol = parsed
        default:
            symbol = nil
        }
        children = try container.decodeIfPresent([Node].self, forKey: .children) ?? []
        arms = try container.decodeIfPresent([Arm].self, forKey: .arms)
        otherwise = try container.decodeIfPresent(Node.self, forKey: .otherwise)
    }

    public init(_ operation: Operation, type: String, value: RuntimeValue? = nil, index: Int? = nil, symbol: Symbol? = nil,
                children: [Node] = [], arms: [Arm]? = nil, otherwise: Node? = nil) {
        self.operation = operation
        self.type = type
        self.value = value
        self.index = index
        self.symbol = symbol
        self.children = children
        self.arms = arms
        self.otherwise = otherwise
    }
}
