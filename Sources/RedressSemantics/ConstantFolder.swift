import Foundation
import RedressSyntax

/// Computes expressions whose value is known before any event arrives: parameter defaults,
/// table entries, policy amounts, and the conditions the lints call always true or false.
/// Fields, aggregates and (unless given) parameters are unknown: folding gives nil.
enum ConstantFolder {
    static func fold(_ e: TypedExpression, definitions: [String: TypedExpression],
                     parameters: [String: CheckedParameter] = [:], rounding: Rounding = .halfEven) -> Value? {
        func f(_ x: TypedExpression) -> Value? { fold(x, definitions: definitions, parameters: parameters, rounding: rounding) }
        if e.type.isError { return nil }
        switch e.kind {
        case .constant(let value): return value
        case .parameter(let name): return parameters[name]?.defaultValue
        case .definition(let name): return definitions[name].flatMap(f)
        case .list(let elements):
            var values: [Value] = []
            for element in elements {
                guard let value = f(element) else { return nil }
                values.append(value)
            }
            return .list(values)
        case .not(let operand):
            if case .bool(let b)? = f(operand) { return .bool(!b) }
            return nil
        case .negate(let operand):
            var currencies: [String] = []
            guard let value = f(operand), let operand = runtime(value, currencies: &currencies) else { return nil }
            return self.value(Arithmetic.negate(operand), currencies: currencies)
        case .binary(let op, let left, let right):
            // `false and x` is false whatever x is (and `true or x` true).
            if op == .and || op == .or {
                let l = f(left), r = f(right)
                let decisive = op == .or
                if case .bool(decisive)? = l { return .bool(decisive) }
                if case .bool(decisive)? = r { return .bool(decisive) }
                if case .bool? = l, case .bool? = r { return .bool(!decisive) }
                return nil
            }
            guard let l = f(left), let r = f(right) else { return nil }
            return apply(op, l, r, rounding: rounding)
        case .function(let name, let arguments):
            let values = arguments.compactMap(f)
            guard values.count == arguments.count, let first = values.first else { return nil }
            switch name {
            case "min": return values.dropFirst().reduce(first) { order($1, $0) == .orderedAscending ? $1 : $0 }
            case "max": return values.dropFirst().reduce(first) { order($1, $0) == .orderedDescending ? $1 : $0 }
            case "clamp":
                guard values.count == 3 else { return nil }
                if order(values[0], values[1]) == .orderedAscending { return values[1] }
                if order(values[0], values[2]) == .orderedDescending { return values[2] }
                return values[0]
            default: return nil
            }
        case .presence(let operand, let test):
            return f(operand) == nil ? nil : .bool(test == .present)
        default:
            return nil
        }
    }

    static func order(_ a: Value, _ b: Value) -> ComparisonResult? {
        guard let x = a.ordinal, let y = b.ordinal else { return nil }
        return x < y ? .orderedAscending : (x > y ? .orderedDescending : .orderedSame)
    }

    /// Whether `op` divides by a zero `divisor` (no value, but no overflow either).
    static func dividesByZero(_ op: BinaryOperator, _ divisor: Value) -> Bool {
        var currencies: [String] = []
        return op == .divide && runtime(divisor, currencies: &currencies)?.bits == 0
    }

    static func apply(_ op: BinaryOperator, _ l: Value, _ r: Value, rounding: Rounding = .halfEven) -> Value? {
        switch op {
        case .equal: return .bool(equal(l, r))
        case .notEqual: return .bool(!equal(l, r))
        case .less: return order(l, r).map { .bool($0 == .orderedAscending) }
        case .lessEqual: return order(l, r).map { .bool($0 != .orderedDescending) }
        case .greater: return order(l, r).map { .bool($0 == .orderedDescending) }
        case .greaterEqual: return order(l, r).map { .bool($0 != .orderedAscending) }
        case .in, .notIn:
            guard case .list(let values) = r else { return nil }
            let found = values.contains { equal(l, $0) }
            return .bool(op == .in ? found : !found)
        case .coalesce: return l
        case .plus, .minus, .times, .divide, .of:
            // The evaluator's own arithmetic (`Arithmetic.apply`), on the values as it holds them:
            // a folded constant and a computed value cannot disagree, to the cent and the rounding.
            var currencies: [String] = []
            guard let a = runtime(l, currencies: &currencies), let b = runtime(r, currencies: &currencies) else { return nil }
            guard let arithmetic = ArithmeticOperator(rawValue: op.rawValue) else { return nil }
            return value(Arithmetic.apply(arithmetic, a, b, rounding: rounding), currencies: currencies)
        default: return nil
        }
    }

    /// A checker value as the evaluator holds it (money in minor units; decimals and percentages
    /// in millionths); `currencies` numbers the currencies met, as the program's table would.
    static func runtime(_ value: Value, currencies: inout [String]) -> RuntimeValue? {
        switch value {
        case .integer(let i): return RuntimeValue(.integer, i)
        case .decimal(let d): return FixedPoint.exact(d, places: RuntimeRange.decimalPlaces).map { RuntimeValue(.decimal, $0) }
        case .percent(let p): return FixedPoint.exact(p, places: RuntimeRange.percentPlaces).map { RuntimeValue(.percent, $0) }
        case .money(let amount, let currency):
            let index = currencies.firstIndex(of: currency) ?? { currencies.append(currency); return currencies.count - 1 }()
            return FixedPoint.exact(amount, places: Currency.minorUnits[currency] ?? 2).map { RuntimeValue(.money, $0, unit: Int32(index)) }
        case .duration(let ms): return RuntimeValue(.duration, ms)
        case .timestamp(let ms): return RuntimeValue(.timestamp, ms)
        case .date(let days): return RuntimeValue(.date, days)
        default: return nil
        }
    }

    /// The checker value of an evaluator value (nil for missing: overflow, division by zero).
    static func value(_ runtime: RuntimeValue, currencies: [String]) -> Value? {
        switch runtime.kind {
        case .integer: return .integer(runtime.bits)
        case .decimal: return .decimal(FixedPoint.decimal(runtime.bits, places: RuntimeRange.decimalPlaces))
        case .percent: return .percent(FixedPoint.decimal(runtime.bits, places: RuntimeRange.percentPlaces))
        case .money:
            guard Int(runtime.unit) < currencies.count else { return nil }
            let currency = currencies[Int(runtime.unit)]
            return .money(FixedPoint.decimal(runtime.bits, places: Currency.minorUnits[currency] ?? 2), currency: currency)
        case .duration: return .duration(runtime.bits)
        case .timestamp: return .timestamp(runtime.bits)
        case .date: return .date(runtime.bits)
        default: return nil
        }
    }

    static func isNumber(_ v: Value) -> Bool {
        switch v {
        case .integer, .decimal: true
        default: false
        }
    }

    static func equal(_ a: Value, _ b: Value) -> Bool {
        if isNumber(a), isNumber(b) { return a.ordinal == b.ordinal }
        return a == b
    }
}
