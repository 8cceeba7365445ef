import Foundation
import RedressSemantics
import RedressSyntax

/// Lowers a checked rule set to the IR: fields become slots, definitions are inlined,
/// constants are folded and normalised (money in minor units, durations in milliseconds,
/// percentages in millionths), and rules are filed by trigger and by equality tests.
public final class Lowering {
    let checked: CheckedRuleSet
    var program: Program
    var slotIndex: [String: Int] = [:]
    var stringIndex: [String: Int] = [:]
    var currencyIndex: [String: Int32] = [:]
    var lines: (String, Span) -> Int
    public internal(set) var problems: [String] = []

    /// `lines` turns a rule's file and span into its line number (for decisions and `explain`).
    /// `extraFields` (`entity.field`, or `entity` for its key) get slots even if no rule reads them: the
    /// simulator reports by them.
    public static func lower(_ checked: CheckedRuleSet, extraFields: [String] = [], lines: @escaping (String, Span) -> Int) -> (Program, [String]) {
        let lowering = Lowering(checked: checked, lines: lines)
        lowering.run()
        for path in extraFields {
            // An entity name alone stands for its key field.
            var parts = path.split(separator: ".").map(String.init)
            if parts.count == 1, let entity = checked.schema.entity(parts[0]) { parts.append(entity.key ?? "id") }
            // Unknown ones get no slot; the caller reports them (`Program.slot(named:)` is nil).
            guard parts.count == 2, checked.schema.entity(parts[0])?.field(parts[1]) != nil else { continue }
            _ = lowering.slot(parts[0], parts[1])
        }
        return (lowering.program, lowering.problems)
    }

    init(checked: CheckedRuleSet, lines: @escaping (String, Span) -> Int) {
        self.checked = checked
        self.lines = lines
        self.program = Program(
            version: Program.formatVersion, currencies: [], strings: [], enums: [], entities: [], events: [], slots: [],
            parameters: [], tables: [], aggregates: [], groups: [], policies: [], rules: [],
            catalog: Program.Catalog(currency: 0, actions: [], channels: [], tags: [], templates: [:]), dispatch: [])
    }

    func run() {
        let schema = checked.schema
        _ = currency(checked.catalog.currency)
        _ = currency(schema.currency)
        program.enums = schema.enums.map { Program.Enumeration(name: $0.name, cases: $0.cases) }
        program.entities = schema.entities.map { entity in
            Program.Entity(name: entity.name, key: entity.key ?? "id",
                           fields: entity.fields.map { Program.Field(name: $0.name, type: $0.type.description) })
        }
        program.events = schema.events.map { event in
            Program.Event(name: event.name, subject: entityIndex(event.subject),
                          carries: event.carries.map(entityIndex))
        }
        program.parameters = checked.parameters.map { Program.Parameter(name: $0.name, type: $0.type.description, value: runtime($0.defaultValue)) }
        program.tables = checked.tables.map(lowerTable)
        program.groups = checked.groups.map { group in
            Program.Group(name: group.name, key: key(group.key), windowMilliseconds: group.window,
                          order: group.order == .amount ? .amount : .priority)
        }
        program.policies = checked.policies.map(lowerPolicy)
        program.rules = checked.rules.map(lowerRule)
        program.catalog = lowerCatalog()
        program.dispatch = program.events.indices.map(dispatch)
    }

    // MARK: - Tables of names

    /// The position of `name` among the checked rule set's `what`. A checked rule set names only
    /// what it declares, so a miss is a defect of the checker: it fails the compile loudly (a
    /// problem, so no program is returned) rather than quietly meaning the first entry.
    func position(of name: String, in names: [String], _ what: String) -> Int {
        if let index = names.firstIndex(of: name) { return index }
        problems.append("internal error: \(what) `\(name)` is not declared, although the rules checked; please report it")
        return 0
    }

    func entityIndex(_ name: String) -> Int { position(of: name, in: checked.schema.entities.map(\.name), "entity") }
    func enumIndex(_ name: String) -> Int { position(of: name, in: checked.schema.enums.map(\.name), "enum") }
    func eventIndex(_ name: String) -> Int { position(of: name, in: checked.schema.events.map(\.name), "event type") }

    func currency(_ code: String) -> Int32 {
        if let index = currencyIndex[code] { return index }
        let index = Int32(program.currencies.count)
        program.currencies.append(Program.Currency(code: code, minorUnits: RedressSemantics.Currency.minorUnits[code] ?? 2))
        currencyIndex[code] = index
        return index
    }

    func string(_ text: String) -> Int {
        if let index = stringIndex[text] { return index }
        program.strings.append(text)
        stringIndex[text] = program.strings.count - 1
        return program.strings.count - 1
    }

    /// The slot of `entity.field`, created on first use.
    func slot(_ entity: String, _ field: String) -> Int {
        let name = "\(entity).\(field)"
        if let index = slotIndex[name] { return index }
        let type = checked.schema.entity(entity)?.field(field)?.type ?? .string
        let (kind, unit) = runtimeKind(type.required)
        program.slots.append(Program.Slot(entity: entityIndex(entity), field: field, type: type.description, kind: kind,
                                          optional: type.isOptional, unit: unit))
        slotIndex[name] = program.slots.count - 1
        return program.slots.count - 1
    }

    func runtimeKind(_ type: ValueType) -> (RuntimeValue.Kind, Int32) {
        switch type {
        case .bool: return (.bool, 0)
        case .integer: return (.integer, 0)
        case .decimal: return (.decimal, 0)
        case .string: return (.string, 0)
        case .money(let code): return (.money, currency(code))
        case .percent: return (.percent, 0)
        case .duration: return (.duration, 0)
        case .timestamp: return (.timestamp, 0)
        case .date: return (.date, 0)
        case .enumeration(let name): return (.enumCase, Int32(enumIndex(name)))
        case .list: return (.list, 0)
        case .optional(let wrapped): return runtimeKind(wrapped)
        case .error: return (.missing, 0)
        }
    }

    func key(_ key: PolicyKey) -> Program.Key {
        let field = key.field ?? checked.schema.entity(key.entity)?.key ?? "id"
        return Program.Key(slot: slot(key.entity, field), text: key.description)
    }

    // MARK: - Values

    /// A checked constant in runtime units. Decimals beyond six places cannot be represented
    /// exactly and are reported (lowering never rounds silently).
    func runtime(_ value: Value) -> RuntimeValue {
        switch value {
        case .bool(let b): return .bool(b)
        case .integer(let i): return RuntimeValue(.integer, i)
        case .decimal(let d): return RuntimeValue(.decimal, scaled(d, by: 6, what: "decimal \(d)"))
        case .string(let s): return RuntimeValue(.string, Int64(string(s)))
        case .money(let amount, let code):
            let unit = currency(code)
            return RuntimeValue(.money, scaled(amount, by: program.currencies[Int(unit)].minorUnits, what: "amount \(amount) \(code)"), unit: unit)
        case .percent(let p): return RuntimeValue(.percent, scaled(p, by: 4, what: "percentage \(p)%"))
        case .duration(let ms): return RuntimeValue(.duration, ms)
        case .timestamp(let ms): return RuntimeValue(.timestamp, ms)
        case .date(let days): return RuntimeValue(.date, days)
        case .enumCase(let type, let name):
            let enumeration = enumIndex(type)
            let caseIndex = position(of: name, in: checked.schema.enums[safe: enumeration]?.cases ?? [], "case of \(type)")
            return RuntimeValue(.enumCase, Int64(caseIndex), unit: Int32(enumeration))
        case .list:
            problems.append("a list constant outside `in [...]` cannot be lowered")
            return .missing
        }
    }

    func scaled(_ value: Decimal, by places: Int, what: String) -> Int64 {
        guard let result = FixedPoint.exact(value, places: places) else {
            problems.append(RuntimeRange.hasAtMost(places, value) ? "\(what) is too large" : "\(what) has more decimals than the runtime keeps (\(places))")
            return 0
        }
        return result
    }

    // MARK: - Expressions

    func lower(_ expression: TypedExpression) -> Node {
        let type = expression.type.description
        switch expression.kind {
        case .constant(.list(let values)):
            return Node(.list, type: type, children: values.map { Node(.constant, type: "", value: runtime($0)) })
        case .constant(let value):
            return Node(.constant, type: type, value: runtime(value))
        case .field(let reference):
            return Node(.slot, type: type, index: slot(reference.entity, reference.field))
        case .parameter(let name):
            return Node(.parameter, type: type, index: position(of: name, in: checked.parameters.map(\.name), "parameter"))
        case .definition(let name):
            guard let definition = checked.definitions[name] else {
                problems.append("definition `\(name)` is missing")
                return Node(.constant, type: type, value: .missing)
            }
            return lower(definition)
        case .tableLookup(let table, let key):
            let keyNode = lower(key)
            let index = position(of: table, in: checked.tables.map(\.name), "table")
            if let constant = keyNode.value, keyNode.operation == .constant, !constant.isMissing,
               let value = program.tables[safe: index]?.values[safe: Int(constant.bits)] {
                return Node(.constant, type: type, value: value)
            }
            return Node(.table, type: type, index: index, children: [keyNode])
        case .list(let elements):
            return Node(.list, type: type, children: elements.map { lower($0) })
        case .caseOf(let subject, let arms, let otherwise):
            let loweredArms = arms.map { Node.Arm(patterns: $0.patterns.map { lower($0) }, value: lower($0.value)) }
            return Node(.caseOf, type: type, children: subject.map { [lower($0)] } ?? [], arms: loweredArms,
                        otherwise: otherwise.map { lower($0) })
        case .not(let operand):
            return fold(Node(.not, type: type, children: [lower(operand)]))
        case .negate(let operand):
            return fold(Node(.negate, type: type, children: [lower(operand)]))
        case .presence(let operand, let test):
            return Node(test == .missing ? .isMissing : .isPresent, type: type, children: [lower(operand)])
        case .function(let name, let arguments):
            guard let function = BuiltinFunction(rawValue: name) else {
                problems.append("unknown function `\(name)`")
                return Node(.constant, type: type, value: .missing)
            }
            return fold(Node(.function, type: type, symbol: .function(function), children: arguments.map { lower($0) }))
        case .aggregate(let aggregate):
            program.aggregates.append(Program.Aggregate(
                function: Program.Aggregate.Function(rawValue: aggregate.function.rawValue) ?? .count,
                event: eventIndex(aggregate.event),
                value: aggregate.value.map { lower($0) }, filter: aggregate.filter.map { lower($0) },
                per: key(aggregate.per), windowMilliseconds: aggregate.window))
            return Node(.aggregate, type: type, index: program.aggregates.count - 1)
        case .binary(let op, let left, let right):
            let l = lower(left), r = lower(right)
            let node: Node
            switch op {
            case .and: node = Node(.and, type: type, children: [l, r])
            case .or: node = Node(.or, type: type, children: [l, r])
            case .in: node = Node(.in, type: type, children: [l, r])
            case .notIn: node = Node(.notIn, type: type, children: [l, r])
            case .coalesce: node = Node(.coalesce, type: type, children: [l, r])
            case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual:
                guard let comparison = ComparisonOperator(rawValue: op.rawValue) else {
                    problems.append("`\(op.rawValue)` is not a comparison")
                    return Node(.constant, type: type, value: .missing)
                }
                node = Node(.compare, type: type, symbol: .comparison(comparison), children: [l, r])
            case .plus, .minus, .times, .divide, .of:
                guard let arithmetic = ArithmeticOperator(rawValue: op.rawValue) else {
                    problems.append("`\(op.rawValue)` is not an arithmetic operator")
                    return Node(.constant, type: type, value: .missing)
                }
                node = Node(.arithmetic, type: type, symbol: .arithmetic(arithmetic), children: [l, r])
            }
            return fold(node)
        }
    }

    /// Replaces a node whose operands are all constants by its value.
    func fold(_ node: Node) -> Node {
        let operands = node.children.compactMap { $0.operation == .constant ? $0.value : nil }
        let strings: Arithmetic.Strings = { [program] value in Substring(program.strings[safe: Int(value.bits)] ?? "") }
        // `false and x` / `true or x` decide without x.
        if node.operation == .and, operands.contains(.false) { return Node(.constant, type: node.type, value: .false) }
        if node.operation == .or, operands.contains(.true) { return Node(.constant, type: node.type, value: .true) }
        guard operands.count == node.children.count, !operands.isEmpty else { return node }
        let value: RuntimeValue?
        switch node.operation {
        case .and: value = Arithmetic.and(operands[0], operands[1])
        case .or: value = Arithmetic.or(operands[0], operands[1])
        case .not: value = Arithmetic.not(operands[0])
        case .negate: value = Arithmetic.negate(operands[0])
        case .compare:
            guard let comparison = node.comparison else { return node }
            value = Arithmetic.compare(comparison, operands[0], operands[1], strings: strings)
        case .arithmetic:
            guard let op = node.arithmeticOperator else { return node }
            value = Arithmetic.apply(op, operands[0], operands[1], rounding: checked.catalog.rounding)
        case .function:
            guard let function = node.function else { return node }
            value = Arithmetic.function(function, operands, strings: strings)
        default: value = nil
        }
        guard let value, !value.isMissing else { return node }
        return Node(.constant, type: node.type, value: value)
    }

    // MARK: - Declarations and rules

    func lowerTable(_ table: CheckedTable) -> Program.Table {
        let keyEnum = enumIndex(table.keyEnum)
        let cases = checked.schema.enums[safe: keyEnum]?.cases ?? []
        var values: [RuntimeValue] = []
        for name in cases {
            let value = table.entries.first { $0.key == name }?.value ?? table.otherwise
            values.append(value.map { runtime($0) } ?? .missing)
        }
        return Program.Table(name: table.name, enumeration: keyEnum, values: values)
    }

    func lowerPolicy(_ policy: CheckedPolicy) -> Program.Policy {
        switch policy.kind {
        case .limit(let count):
            return Program.Policy(kind: .limit, amount: count, currency: nil, key: key(policy.key), windowMilliseconds: policy.window)
        case .cap(let amount):
            let value = runtime(amount)
            return Program.Policy(kind: .cap, amount: value.bits, currency: value.unit, key: key(policy.key), windowMilliseconds: policy.window)
        }
    }

    func lowerRule(_ rule: CheckedRule) -> Program.Rule {
        let subject = entityIndex(rule.subject)
        let subjectKey = key(PolicyKey(entity: rule.subject, field: nil))
        let carriesCustomer = rule.triggers.allSatisfy { name in checked.schema.event(name)?.carries.contains("customer") ?? false }
        let customerKey = carriesCustomer && checked.schema.entity("customer") != nil ? key(PolicyKey(entity: "customer", field: nil)) : nil
        let actions = rule.actions.map { action -> Program.Action in
            var lowered = Program.Action(verb: action.verb, amount: nil, name: nil, channel: nil, channelValue: nil)
            switch action.argument {
            case .none: break
            case .name(let name): lowered.name = name
            case .value(let expression): lowered.amount = lower(expression)
            }
            switch action.channel {
            case .fixed(let name)?: lowered.channel = name
            case .field(let expression)?: lowered.channelValue = lower(expression)
            case nil: break
            }
            return lowered
        }
        var absence: Program.Absence? = nil
        if let written = rule.absence {
            let event = eventIndex(written.event)
            switch written.deadline {
            case .after(let ms): absence = Program.Absence(event: event, withinMilliseconds: ms, deadline: nil)
            case .at(let expression): absence = Program.Absence(event: event, withinMilliseconds: nil, deadline: lower(expression))
            }
        }
        return Program.Rule(
            name: rule.name, description: rule.description, file: rule.file, line: lines(rule.file, rule.span),
            triggers: rule.triggers.map { eventIndex($0) },
            triggersInferred: rule.triggersInferred, subject: subject, subjectKey: subjectKey, customerKey: customerKey,
            condition: rule.condition.map { lower($0) }, actions: actions, absence: absence,
            limits: rule.limits.map(lowerPolicy), caps: rule.caps.map(lowerPolicy),
            group: rule.exclusive.flatMap { exclusive in checked.groups.firstIndex { $0.name == exclusive.group } },
            priority: rule.exclusive?.priority ?? 0, rollout: rule.rollout.map { lower($0) },
            activeFrom: rule.activeFrom, activeUntil: rule.activeUntil,
            reads: rule.reads.map { slot($0.entity, $0.field) })
    }

    func lowerCatalog() -> Program.Catalog {
        let catalog = checked.catalog
        let unit = currency(catalog.currency)
        let minor = program.currencies[Int(unit)].minorUnits
        func minorUnits(_ amount: Decimal, _ what: String) -> Int64 { scaled(amount, by: minor, what: what) }
        var actions: [Program.Catalog.Action] = []
        for action in catalog.actions {
            let (cost, amount): (Program.Catalog.Action.CostModel, Int64) = switch action.cost {
            case .free: (.free, 0)
            case .amount: (.amount, 0)
            case .fixed(let value): (.fixed, minorUnits(value, "cost of \(action.name)"))
            case .perUnit(let value): (.perUnit, minorUnits(value, "unit cost of \(action.name)"))
            }
            let argument: Program.Catalog.Action.ArgumentKind = switch action.argument {
            case .none: .none
            case .money: .money
            case .integer: .integer
            case .percent: .percent
            case .template: .template
            case .tag: .tag
            case .oneOf: .name
            }
            actions.append(Program.Catalog.Action(
                name: action.name, cost: cost, costMinor: amount,
                redemptionRate: action.redemptionRate.map { scaled($0, by: 6, what: "redemption rate of \(action.name)") },
                argument: argument))
        }
        var templates: [String: String] = [:]
        for template in catalog.templates { templates[template.name] = template.defaultChannel ?? template.channels.first ?? "" }
        return Program.Catalog(
            currency: unit, actions: actions,
            channels: catalog.channels.map { Program.Catalog.Priced(name: $0.name, costMinor: minorUnits($0.cost, "cost of \($0.name)")) },
            tags: catalog.tags.map { Program.Catalog.Priced(name: $0.name, costMinor: minorUnits($0.cost, "cost of \($0.name)")) },
            templates: templates, rounding: catalog.rounding == .halfEven ? nil : catalog.rounding)
    }

    /// Files each rule triggered by `event` under its equality tests, if it has any.
    func dispatch(_ event: Int) -> Program.Dispatch {
        var always: [Int] = []
        var branches: [Program.Dispatch.Branch] = []
        for (index, rule) in program.rules.enumerated() where rule.triggers.contains(event) {
            var tests: [Int: RuntimeValue] = [:]
            if let condition = rule.condition { collectEqualityTests(condition, into: &tests) }
            guard !tests.isEmpty else {
                always.append(index)
                continue
            }
            let slots = tests.keys.sorted()
            let values = slots.map { tests[$0]! }
            if let b = branches.firstIndex(where: { $0.slots == slots }) {
                if let v = branches[b].values.firstIndex(of: values) {
                    branches[b].rules[v].append(index)
                } else {
                    branches[b].values.append(values)
                    branches[b].rules.append([index])
                }
            } else {
                branches.append(Program.Dispatch.Branch(slots: slots, values: [values], rules: [[index]]))
            }
        }
        return Program.Dispatch(always: always, branches: branches)
    }

    /// The `slot == constant` tests among the `and`-joined parts of a condition (not strings:
    /// their runtime values are not comparable by bits). A slot tested twice keeps its first test.
    func collectEqualityTests(_ node: Node, into tests: inout [Int: RuntimeValue]) {
        switch node.operation {
        case .and:
            for child in node.children { collectEqualityTests(child, into: &tests) }
        case .compare where node.comparison == .equal:
            let (a, b) = (node.children[0], node.children[1])
            for (field, constant) in [(a, b), (b, a)] {
                if field.operation == .slot, let index = field.index, constant.operation == .constant, let value = constant.value,
                   [.enumCase, .bool, .integer].contains(value.kind), program.slots[index].kind == value.kind, tests[index] == nil {
                    tests[index] = value
                    return
                }
            }
        default:
            break
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
