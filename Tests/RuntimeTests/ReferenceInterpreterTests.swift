import Foundation
import PropertyBased
import RedressIR
import RedressEvents
import RedressEngine
@testable import RedressSemantics
import RedressSyntax
import Testing

/// A second, deliberately simple evaluator, used only here: it walks the checked tree with
/// Decimal arithmetic, knowing nothing of slots, fixed point or compiled closures. The
/// property test generates random rules and events and requires both evaluators to agree.
enum ReferenceInterpreter {
    /// `nil` stands for missing (unknown).
    static func evaluate(_ e: TypedExpression, _ world: [FieldReference: Value], _ checked: CheckedRuleSet) -> Value? {
        func eval(_ x: TypedExpression) -> Value? { evaluate(x, world, checked) }
        switch e.kind {
        case .constant(let v): return v
        case .field(let reference): return world[reference]
        case .parameter(let name): return checked.parameters.first { $0.name == name }?.defaultValue
        case .definition(let name): return checked.definitions[name].flatMap(eval)
        case .tableLookup(let table, let key):
            guard case .enumCase(_, let name)? = eval(key), let t = checked.tables.first(where: { $0.name == table }) else { return nil }
            return t.entries.first { $0.key == name }?.value ?? t.otherwise
        case .list(let elements):
            let values = elements.compactMap(eval)
            return values.count == elements.count ? .list(values) : nil
        case .caseOf(let subject, let arms, let otherwise):
            if let subject {
                if let s = eval(subject) {
                    for arm in arms where arm.patterns.contains(where: { eval($0).map { ConstantFolder.equal(s, $0) } ?? false }) {
                        return eval(arm.value)
                    }
                }
            } else {
                for arm in arms where arm.patterns.contains(where: { eval($0) == .bool(true) }) { return eval(arm.value) }
            }
            return otherwise.flatMap(eval)
        case .not(let x):
            guard case .bool(let b)? = eval(x) else { return nil }
            return .bool(!b)
        case .negate(let x):
            return eval(x).flatMap { apply(.minus, zero(like: $0), $0) }
        case .presence(let x, let test):
            return .bool((eval(x) == nil) == (test == .missing))
        case .function(let name, let arguments):
            let values = arguments.compactMap(eval)
            guard values.count == arguments.count, let first = values.first else { return nil }
            func less(_ a: Value, _ b: Value) -> Bool { ConstantFolder.order(a, b) == .orderedAscending }
            switch name {
            case "min": return values.dropFirst().reduce(first) { less($1, $0) ? $1 : $0 }
            case "max": return values.dropFirst().reduce(first) { less($0, $1) ? $1 : $0 }
            default: return less(values[0], values[1]) ? values[1] : (less(values[2], values[0]) ? values[2] : values[0])
            }
        case .aggregate: return nil
        case .binary(let op, let l, let r):
            switch op {
            case .and:
                let a = eval(l), b = eval(r)
                if a == .bool(false) || b == .bool(false) { return .bool(false) }
                return a == nil || b == nil ? nil : .bool(true)
            case .or:
                let a = eval(l), b = eval(r)
                if a == .bool(true) || b == .bool(true) { return .bool(true) }
                return a == nil || b == nil ? nil : .bool(false)
            case .coalesce:
                return eval(l) ?? eval(r)
            default:
                guard let a = eval(l), let b = eval(r) else { return nil }
                return apply(op, a, b)
            }
        }
    }

    static func number(_ v: Value) -> Decimal? {
        switch v {
        case .integer(let i): Decimal(i)
        case .decimal(let d): d
        default: nil
        }
    }

    static func round(_ d: Decimal, _ places: Int) -> Decimal {
        var value = d, result = Decimal()
        NSDecimalRound(&result, &value, places, .bankers)
        return result
    }

    /// The unit rules, written out with Decimal: independent of the runtime's fixed point.
    static func apply(_ op: BinaryOperator, _ a: Value, _ b: Value) -> Value? {
        switch op {
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual, .in, .notIn:
            return ConstantFolder.apply(op, a, b)
        default: break
        }
        switch (op, a, b) {
        case (.plus, .integer(let x), .integer(let y)): return .integer(x + y)
        case (.minus, .integer(let x), .integer(let y)): return .integer(x - y)
        case (.times, .integer(let x), .integer(let y)): return .integer(x * y)
        case (.plus, .money(let x, let c), .money(let y, _)): return .money(x + y, currency: c)
        case (.minus, .money(let x, let c), .money(let y, _)): return .money(x - y, currency: c)
        case (.plus, .duration(let x), .duration(let y)): return .duration(x + y)
        case (.minus, .duration(let x), .duration(let y)): return .duration(x - y)
        case (.times, .money(let m, let c), _), (.times, _, .money(let m, let c)):
            let factor = number(a) ?? number(b) ?? 0
            return .money(OracleMoney.round(m * factor, currency: c), currency: c)
        case (.of, .percent(let p), .money(let m, let c)), (.times, .percent(let p), .money(let m, let c)):
            return .money(OracleMoney.round(m * p / 100, currency: c), currency: c)
        case (.divide, .money(let m, let c), _):
            guard let y = number(b), y != 0 else { return nil }
            return .money(OracleMoney.round(m / y, currency: c), currency: c)
        default:
            guard let x = number(a), let y = number(b) else { return nil }
            switch op {
            case .plus: return .decimal(x + y)
            case .minus: return .decimal(x - y)
            case .times: return .decimal(round(x * y, 6))
            case .divide: return y == 0 ? nil : .decimal(round(x / y, 6))
            default: return nil
            }
        }
    }

    static func zero(like value: Value) -> Value {
        switch value {
        case .money(_, let c): .money(0, currency: c)
        case .duration: .duration(0)
        case .percent: .percent(0)
        case .decimal: .decimal(0)
        default: .integer(0)
        }
    }

    /// Money as the decisions print it (`4.50 EUR`).
    static func text(_ value: Value) -> String {
        guard case .money(let amount, let currency) = value else { return "\(value)" }
        let minor = Currency.minorUnits[currency] ?? 2
        var scaled = amount * Decimal(sign: .plus, exponent: minor, significand: 1)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &scaled, 0, .bankers)
        let units = NSDecimalNumber(decimal: rounded).int64Value
        let digits = String(units.magnitude)
        let padded = String(repeating: "0", count: max(0, minor + 1 - digits.count)) + digits
        return (units < 0 ? "-" : "") + padded.dropLast(minor) + "." + padded.suffix(minor) + " " + currency
    }
}

/// Random rules and events over the fields of a delivery in the example shop.
struct RandomCase: CustomStringConvertible, Sendable {
    var rule: String
    var events: [[String: String]]
    var description: String { rule }

    static let tiers = ["Standard", "Plus", "VIP"], countries = ["DE", "AT", "CH", "FR"], channels = ["email", "sms", "app"]

    static func make(seed: Int) -> RandomCase {
        var random = SplitMixGenerator(state: UInt64(seed))
        func pick<T>(_ xs: [T]) -> T { xs[Int(random.next() % UInt64(xs.count))] }
        func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }
        func atom() -> String {
            switch random.next() % 9 {
            case 0: return "shipment.delay \(pick([">", ">=", "<", "==", "!="])) \(pick(["0d", "1d", "2d", "36h", "-1d"]))"
            case 1: return "customer.tier \(pick(["==", "!="])) \(pick(tiers))"
            case 2: return "customer.country \(pick(["in", "not in"])) [\(pick(countries)), \(pick(countries))]"
            case 3: return "order.total \(pick([">", "<=", "=="])) \(pick(["50 EUR", "99.99 EUR", "20.50 EUR"]))"
            case 4: return "order.item_count \(pick([">", "<", "=="])) \(pick(["1", "3", "2.5"]))"
            case 5: return pick(["order.express", "not order.express"])
            case 6: return "customer.preferred_channel \(pick(["is missing", "is present", "== sms", "!= email"]))"
            case 7: return "(shipment.delay ?? 0d) + \(pick(["1d", "12h"])) > \(pick(["2d", "1d"]))"
            default: return "shipment.weight_kg * 2 \(pick([">", "<"])) \(pick(["3", "4.25"]))"
            }
        }
        func condition(_ depth: Int) -> String {
            if depth == 0 || chance(40) { return atom() }
            let l = condition(depth - 1), r = condition(depth - 1)
            return chance(50) ? "(\(l) \(pick(["and", "or"])) \(r))" : "not (\(l))"
        }
        let amount = pick([
            "5 EUR", "clamp(5% of order.total, 3 EUR, 5 EUR)", "case customer.tier { VIP -> 10 EUR, Plus -> 5 EUR, else -> 2.50 EUR }",
            "order.total * 2 - 3 EUR", "min(order.total, 7.77 EUR)", "max(1 EUR, 12.5% of order.total)", "order.total / 3",
            "case { order.total > 50 EUR -> 1.25 EUR, else -> 0.5 EUR }",
        ])
        let rule = "rule r on shipment.delivered when \(condition(3)) then refund \(amount) limit none\n"
        var events: [[String: String]] = []
        for _ in 0..<8 {
            var fields: [String: String] = [
                "customer.tier": pick(tiers), "customer.country": pick(countries),
                "order.total": pick(["10.00", "49.90", "50.00", "64.90", "89.90", "99.99", "250.00", "0.01"]) + " EUR",
                "order.item_count": pick(["1", "2", "3", "4"]), "order.express": pick(["true", "false"]),
                "shipment.weight_kg": pick(["1.5", "2.125", "0.25"]),
            ]
            if chance(70) { fields["shipment.delay"] = pick(["-1d", "0d", "1d", "36h", "2d", "2d1s", "5d"]) }
            if chance(50) { fields["customer.preferred_channel"] = pick(channels) }
            events.append(fields)
        }
        return RandomCase(rule: rule, events: events)
    }
}

struct SplitMixGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct ReferenceInterpreterTests {
    /// The JSON line of an event, and the reference interpreter's view of the same values.
    static func event(_ fields: [String: String], checked: CheckedRuleSet) -> (String, [FieldReference: Value]) {
        var world: [FieldReference: Value] = [:]
        var objects: [String: [String]] = ["shipment": ["\"id\":\"S1\""], "order": ["\"id\":\"O1\""], "customer": ["\"id\":\"C1\""]]
        for (path, text) in fields.sorted(by: { $0.key < $1.key }) {
            let parts = path.split(separator: ".").map(String.init)
            let reference = FieldReference(entity: parts[0], field: parts[1])
            let type = checked.schema.entity(parts[0])?.field(parts[1])?.type.required ?? .string
            let json: String
            switch type {
            case .integer: json = text; world[reference] = .integer(Int64(text) ?? 0)
            case .decimal: json = text; world[reference] = .decimal(Decimal(string: text) ?? 0)
            case .bool: json = text; world[reference] = .bool(text == "true")
            case .money:
                json = "\"\(text)\""
                world[reference] = .money(Decimal(string: String(text.dropLast(4))) ?? 0, currency: "EUR")
            case .duration:
                json = "\"\(text)\""
                world[reference] = .duration(TimeFormat.duration(text) ?? 0)
            case .enumeration(let name):
                json = "\"\(text)\""
                world[reference] = .enumCase(type: name, name: text)
            default:
                json = "\"\(text)\""
                world[reference] = .string(text)
            }
            objects[parts[0], default: []].append("\"\(parts[1])\":\(json)")
        }
        let entities = objects.keys.sorted().map { "\"\($0)\":{\(objects[$0]!.joined(separator: ","))}" }
        return ("{\"event\":\"shipment.delivered\",\"time\":\"2026-05-01T10:00:00Z\"," + entities.joined(separator: ",") + "}", world)
    }

    @Test
    func compiledEvaluatorAgreesWithTheReferenceInterpreter() async {
        await propertyCheck(count: 300, input: Gen.int(in: 1...1_000_000_000)) { seed in
            let generated = RandomCase.make(seed: seed)
            let report = RuleSetLoader.check(rules: [SourceFile(path: "t.rules", text: generated.rule)], schema: shopSource("schema.yaml"),
                                             catalog: shopSource("catalog.yaml"))
            guard let checked = report.checked, !report.diagnostics.contains(where: { $0.severity == .error }),
                  let program = Program.compile(report).0, let rule = checked.rules.first, let condition = rule.condition else {
                Issue.record("generated rule does not check: \(generated.rule)\n\(report.diagnostics.map(\.message))")
                return
            }
            guard case .value(let amountExpression) = rule.actions[0].argument else { return }
            let reader = EventReader(program: program)
            let conditionCode = Compiler.compile(program.rules[0].condition!, program: program)
            let amountCode = Compiler.compile(program.rules[0].actions[0].amount!, program: program)
            let frame = Frame(program: program)
            var event = Event(slotCount: program.slots.count)
            for fields in generated.events {
                let (line, world) = Self.event(fields, checked: checked)
                var text = line
                let failure = text.withUTF8 { reader.read($0, number: 1, into: &event) }
                #expect(failure == nil, "\(line): \(failure ?? "")")
                frame.load(event)
                let expected = ReferenceInterpreter.evaluate(condition, world, checked)
                let actual = conditionCode(frame)
                let expectedText = expected.map { $0 == .bool(true) ? "true" : "false" } ?? "unknown"
                let actualText = actual.isMissing ? "unknown" : (actual == .true ? "true" : "false")
                #expect(actualText == expectedText, "\(generated.rule) on \(line)")
                let expectedAmount = ReferenceInterpreter.evaluate(amountExpression, world, checked).map(ReferenceInterpreter.text)
                let computed = amountCode(frame)
                let actualAmount = computed.isMissing ? nil : ValueText.describe(computed, program: program)
                #expect(actualAmount == expectedAmount, "\(generated.rule) on \(line)")
            }
        }
    }
}

/// The oracle's own rounding, in decimal arithmetic (independent of the engine's fixed point):
/// half to even at the currency's minor unit.
enum OracleMoney {
    static func round(_ amount: Decimal, currency: String) -> Decimal {
        var value = amount
        var result = Decimal()
        NSDecimalRound(&result, &value, Currency.minorUnits[currency] ?? 2, .bankers)
        return result
    }
}
