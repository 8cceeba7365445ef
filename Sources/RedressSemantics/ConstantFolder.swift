import Foundation
import RedressSyntax

/// Computes expressions whose value is known before any event arrives: parameter defaults,
/// table entries, policy amounts, and the conditions the lints call always true or false.
/// Fields, aggregates and (unless given) parameters are unknown: folding gives nil.
enum ConstantFolder {
    static func fold(_ e: TypedExpression, definitions: [String: TypedExpression],
                     parameters: [String: CheckedParameter] = [:]) -> Value? {
        func f(_ x: TypedExpression) -> Value? { fold(x, definitions: definitions, parameters: parameters) }
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
            switch f(operand) {
            case .integer(let i)?: return i == .min ? nil : .integer(-i)
            case .decimal(let d)?: return .decimal(-d)
            case .money(let d, let c)?: return .money(-d, currency: c)
            case .percent(let d)?: return .percent(-d)
            case .duration(let ms)?: return ms == .min ? nil : .duration(-ms)
            default: return nil
            }
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
            return apply(op, l, r)
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

    static func apply(_ op: BinaryOperator, _ l: Value, _ r: Value) -> Value? {
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
        case .plus, .minus:
            let sign: Decimal = op == .plus ? 1 : -1
            switch (l, r) {
            case (.integer(let a), .integer(let b)):
                let (value, overflow) = op == .plus ? a.addingReportingOverflow(b) : a.subtractingReportingOverflow(b)
                return overflow ? nil : .integer(value)
            case (.money(let a, let c), .money(let b, _)): return .money(a + sign * b, currency: c)
            case (.duration(let a), .duration(let b)):
                let (value, overflow) = op == .plus ? a.addingReportingOverflow(b) : a.subtractingReportingOverflow(b)
                return overflow ? nil : .duration(value)
            case (.percent(let a), .percent(let b)): return .percent(a + sign * b)
            default:
                guard let a = l.ordinal, let b = r.ordinal, isNumber(l), isNumber(r) else { return nil }
                return .decimal(a + sign * b)
            }
        case .of, .times:
            switch (l, r) {
            case (.percent(let p), .money(let m, let c)), (.money(let m, let c), .percent(let p)):
                return .money(Money.round(m * p / 100, currency: c), currency: c)
            case (.money(let m, let c), _) where isNumber(r): return r.ordinal.map { .money(Money.round(m * $0, currency: c), currency: c) }
            case (_, .money(let m, let c)) where isNumber(l): return l.ordinal.map { .money(Money.round(m * $0, currency: c), currency: c) }
            case (.integer(let a), .integer(let b)):
                let (value, overflow) = a.multipliedReportingOverflow(by: b)
                return overflow ? nil : .integer(value)
            default: return nil
            }
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

/// Exact money arithmetic helpers.
public enum Money {
    /// Rounds half to even at the currency's minor unit (banker's rounding): 0.245 EUR → 0.24 EUR,
    /// 0.255 EUR → 0.26 EUR. Documented in docs/language.md.
    public static func round(_ amount: Decimal, currency: String) -> Decimal {
        var value = amount
        var result = Decimal()
        NSDecimalRound(&result, &value, Currency.minorUnits[currency] ?? 2, .bankers)
        return result
    }
}
