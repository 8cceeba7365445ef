/// A comparison of the language (`==`, `<`, …); its raw value is how the IR's JSON writes it.
public enum ComparisonOperator: String, Codable, Sendable, CaseIterable {
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
}

/// An arithmetic operator of the language (`+ - * / of`).
public enum ArithmeticOperator: String, Codable, Sendable, CaseIterable {
    case plus = "+", minus = "-", times = "*", divide = "/", of
}

/// A built-in function of the language.
public enum BuiltinFunction: String, Codable, Sendable, CaseIterable {
    case min, max, clamp
}

/// The operations of the language on runtime values. Lowering uses them to fold constants and
/// the evaluator to compute, so a constant and a computed value can never disagree.
/// A missing operand gives a missing result (three-valued logic); money is exact.
public enum Arithmetic {
    /// Resolves string values (constants of the program, or strings of the current event).
    public typealias Strings = (RuntimeValue) -> Substring

    public static func equal(_ a: RuntimeValue, _ b: RuntimeValue, strings: Strings) -> Bool {
        if a.kind == .string && b.kind == .string { return strings(a) == strings(b) }
        if let x = numeric(a), let y = numeric(b), a.kind != b.kind { return x == y }
        return a.kind == b.kind && a.bits == b.bits && (a.kind != .money || a.unit == b.unit)
    }

    /// Integers and decimals compare with each other; both in millionths.
    @inline(__always) static func numeric(_ v: RuntimeValue) -> Int64? {
        switch v.kind {
        case .integer: let (r, o) = v.bits.multipliedReportingOverflow(by: FixedPoint.scale); return o ? nil : r
        case .decimal: return v.bits
        default: return nil
        }
    }

    /// -1, 0 or 1; nil when the values have no common order.
    public static func order(_ a: RuntimeValue, _ b: RuntimeValue, strings: Strings) -> Int? {
        if a.kind == b.kind, a.kind != .string, a.kind != .bool, a.kind != .enumCase {
            if a.kind == .money, a.unit != b.unit { return nil }
            return a.bits < b.bits ? -1 : (a.bits > b.bits ? 1 : 0)
        }
        if let x = numeric(a), let y = numeric(b) { return x < y ? -1 : (x > y ? 1 : 0) }
        return nil
    }

    public static func compare(_ comparison: ComparisonOperator, _ a: RuntimeValue, _ b: RuntimeValue, strings: Strings) -> RuntimeValue {
        if a.isMissing || b.isMissing { return .missing }
        switch comparison {
        case .equal: return .bool(equal(a, b, strings: strings))
        case .notEqual: return .bool(!equal(a, b, strings: strings))
        case .less, .lessEqual, .greater, .greaterEqual:
            guard let o = order(a, b, strings: strings) else { return .missing }
            switch comparison {
            case .less: return .bool(o < 0)
            case .lessEqual: return .bool(o <= 0)
            case .greater: return .bool(o > 0)
            default: return .bool(o >= 0)
            }
        }
    }

    /// `+ - * / of` with the unit rules of the checker. Nil result (missing) on overflow
    /// or division by zero. Products and quotients are rounded by `rounding` (the catalog's).
    public static func apply(_ op: ArithmeticOperator, _ a: RuntimeValue, _ b: RuntimeValue, rounding: Rounding = .halfEven) -> RuntimeValue {
        if a.isMissing || b.isMissing { return .missing }
        func value(_ kind: RuntimeValue.Kind, _ bits: Int64?, unit: Int32 = 0) -> RuntimeValue {
            bits.map { RuntimeValue(kind, $0, unit: unit) } ?? .missing
        }
        func add(_ x: Int64, _ y: Int64) -> Int64? { let (r, o) = x.addingReportingOverflow(y); return o ? nil : r }
        func sub(_ x: Int64, _ y: Int64) -> Int64? { let (r, o) = x.subtractingReportingOverflow(y); return o ? nil : r }
        switch (op, a.kind, b.kind) {
        case (.plus, .integer, .integer): return value(.integer, add(a.bits, b.bits))
        case (.minus, .integer, .integer): return value(.integer, sub(a.bits, b.bits))
        case (.times, .integer, .integer): let (r, o) = a.bits.multipliedReportingOverflow(by: b.bits); return o ? .missing : value(.integer, r)
        case (.plus, .money, .money) where a.unit == b.unit: return value(.money, add(a.bits, b.bits), unit: a.unit)
        case (.minus, .money, .money) where a.unit == b.unit: return value(.money, sub(a.bits, b.bits), unit: a.unit)
        case (.plus, .duration, .duration): return value(.duration, add(a.bits, b.bits))
        case (.minus, .duration, .duration): return value(.duration, sub(a.bits, b.bits))
        case (.plus, .timestamp, .duration): return value(.timestamp, add(a.bits, b.bits))
        case (.plus, .duration, .timestamp): return value(.timestamp, add(a.bits, b.bits))
        case (.minus, .timestamp, .duration): return value(.timestamp, sub(a.bits, b.bits))
        case (.minus, .timestamp, .timestamp): return value(.duration, sub(a.bits, b.bits))
        case (.plus, .date, .duration): return value(.date, add(a.bits, b.bits / 86_400_000))
        case (.minus, .date, .duration): return value(.date, sub(a.bits, b.bits / 86_400_000))
        case (.minus, .date, .date): return value(.duration, sub(a.bits, b.bits).flatMap { d in let (r, o) = d.multipliedReportingOverflow(by: 86_400_000); return o ? nil : r })
        case (.plus, .percent, .percent): return value(.percent, add(a.bits, b.bits))
        case (.minus, .percent, .percent): return value(.percent, sub(a.bits, b.bits))
        default: break
        }
        // Mixed integer/decimal arithmetic in millionths.
        if let x = numeric(a), let y = numeric(b) {
            switch op {
            case .plus: return value(.decimal, add(x, y))
            case .minus: return value(.decimal, sub(x, y))
            case .times: return value(.decimal, FixedPoint.multiplyDivide(x, y, FixedPoint.scale, rounding: rounding))
            case .divide: return y == 0 ? .missing : value(.decimal, FixedPoint.multiplyDivide(x, FixedPoint.scale, y, rounding: rounding))
            default: return .missing
            }
        }
        switch (op, a.kind, b.kind) {
        case (.times, .money, _), (.times, _, .money), (.of, .percent, .money):
            let (money, factor) = a.kind == .money ? (a, b) : (b, a)
            guard let millionths = factor.kind == .percent ? factor.bits : numeric(factor) else { return .missing }
            return value(.money, FixedPoint.multiplyDivide(money.bits, millionths, FixedPoint.scale, rounding: rounding), unit: money.unit)
        case (.times, .duration, _), (.times, _, .duration), (.of, .percent, .duration):
            let (duration, factor) = a.kind == .duration ? (a, b) : (b, a)
            guard let millionths = factor.kind == .percent ? factor.bits : numeric(factor) else { return .missing }
            return value(.duration, FixedPoint.multiplyDivide(duration.bits, millionths, FixedPoint.scale, rounding: rounding))
        case (.of, .percent, .integer), (.of, .percent, .decimal):
            guard let x = numeric(b) else { return .missing }
            return value(.decimal, FixedPoint.multiplyDivide(x, a.bits, FixedPoint.scale, rounding: rounding))
        case (.times, .percent, _):
            guard let x = numeric(b) else { return .missing }
            return value(.percent, FixedPoint.multiplyDivide(a.bits, x, FixedPoint.scale, rounding: rounding))
        case (.divide, .money, .money) where a.unit == b.unit:
            return b.bits == 0 ? .missing : value(.decimal, FixedPoint.multiplyDivide(a.bits, FixedPoint.scale, b.bits, rounding: rounding))
        case (.divide, .money, _):
            guard let y = numeric(b), y != 0 else { return .missing }
            return value(.money, FixedPoint.multiplyDivide(a.bits, FixedPoint.scale, y, rounding: rounding), unit: a.unit)
        case (.divide, .duration, .duration):
            return b.bits == 0 ? .missing : value(.decimal, FixedPoint.multiplyDivide(a.bits, FixedPoint.scale, b.bits, rounding: rounding))
        case (.divide, .duration, _):
            guard let y = numeric(b), y != 0 else { return .missing }
            return value(.duration, FixedPoint.multiplyDivide(a.bits, FixedPoint.scale, y, rounding: rounding))
        case (.divide, .percent, _):
            guard let y = numeric(b), y != 0 else { return .missing }
            return value(.percent, FixedPoint.multiplyDivide(a.bits, FixedPoint.scale, y, rounding: rounding))
        default:
            return .missing
        }
    }

    public static func negate(_ a: RuntimeValue) -> RuntimeValue {
        guard !a.isMissing, a.bits != .min else { return .missing }
        return RuntimeValue(a.kind, -a.bits, unit: a.unit)
    }

    /// Kleene logic: false wins in `and`, true wins in `or`, otherwise missing (unknown).
    @inline(__always) public static func and(_ a: RuntimeValue, _ b: RuntimeValue) -> RuntimeValue {
        if a == .false || b == .false { return .false }
        if a.isMissing || b.isMissing { return .missing }
        return .true
    }
    @inline(__always) public static func or(_ a: RuntimeValue, _ b: RuntimeValue) -> RuntimeValue {
        if a == .true || b == .true { return .true }
        if a.isMissing || b.isMissing { return .missing }
        return .false
    }
    @inline(__always) public static func not(_ a: RuntimeValue) -> RuntimeValue {
        a.isMissing ? .missing : .bool(a.bits == 0)
    }
}

extension Arithmetic {
    /// `min`, `max` and `clamp(value, low, high)`; missing if any argument is missing.
    public static func function(_ function: BuiltinFunction, _ arguments: [RuntimeValue], strings: Strings) -> RuntimeValue {
        guard let first = arguments.first, !arguments.contains(where: \.isMissing) else { return .missing }
        switch function {
        case .min, .max:
            var best = first
            for candidate in arguments.dropFirst() {
                guard let o = order(candidate, best, strings: strings) else { return .missing }
                if (function == .min && o < 0) || (function == .max && o > 0) { best = candidate }
            }
            return best
        case .clamp:
            guard arguments.count == 3, let low = order(first, arguments[1], strings: strings),
                  let high = order(first, arguments[2], strings: strings) else { return .missing }
            if low < 0 { return arguments[1] }
            if high > 0 { return arguments[2] }
            return first
        }
    }
}
