import Foundation

/// A value as the evaluator sees it: a kind and 64 bits, no allocation, no reference counting.
/// Units are normalised when rules are lowered: money in minor units (cents) with a currency
/// index, durations and timestamps in milliseconds, percentages and decimals in millionths.
/// Strings and list elements live in side tables and are referred to by index.
public struct RuntimeValue: Hashable, Sendable, Codable {
    public enum Kind: UInt8, Sendable, Codable, CaseIterable {
        case missing, bool, integer, decimal, string, money, percent, duration, timestamp, date, enumCase, list

        static let names = ["missing", "bool", "integer", "decimal", "string", "money", "percent", "duration",
                            "timestamp", "date", "enum", "list"]
        // Written by name in the IR's JSON, so the file reads without a table of numbers.
        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(Kind.names[Int(rawValue)])
        }
        public init(from decoder: Decoder) throws {
            let name = try decoder.singleValueContainer().decode(String.self)
            guard let index = Kind.names.firstIndex(of: name), let kind = Kind(rawValue: UInt8(index)) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown value kind `\(name)`"))
            }
            self = kind
        }
    }
    public var kind: Kind
    /// Meaning by kind: bool 0/1; integer itself; decimal and percent in millionths (5% = 50_000);
    /// money in minor units; duration and timestamp in ms; date in days since 1970-01-01;
    /// enum case index; string and list an index into the program's tables.
    public var bits: Int64
    /// Money: the currency's index in `Program.currencies`; enum case: the enum's index.
    public var unit: Int32

    public init(_ kind: Kind, _ bits: Int64, unit: Int32 = 0) {
        self.kind = kind
        self.bits = bits
        self.unit = unit
    }

    public static let missing = RuntimeValue(.missing, 0)
    public static let `true` = RuntimeValue(.bool, 1)
    public static let `false` = RuntimeValue(.bool, 0)
    @inline(__always) public var isMissing: Bool { kind == .missing }
    @inline(__always) public static func bool(_ b: Bool) -> RuntimeValue { b ? .true : .false }
}

/// How money (and every fixed-point product) is rounded to its last place: chosen per catalog
/// (`rounding:` in catalog.yaml). German shops round commercially, half away from zero.
public enum Rounding: String, Codable, Sendable, CaseIterable {
    /// Half to even (banker's rounding): 0.245 → 0.24, 0.255 → 0.26. The default.
    case halfEven = "half_even"
    /// Half away from zero (commercial rounding): 0.245 → 0.25, -0.245 → -0.25.
    case halfUp = "half_up"
}

/// Fixed-point helpers shared by the checker's constant folding, lowering and evaluation: the
/// one exact decimal scaling and the one rounding rule. Decimals and percentages have six
/// decimal places (percentages as a share: 5% = 50_000 millionths).
public enum FixedPoint {
    public static let scale: Int64 = 1_000_000

    /// `value × numerator / denominator`, rounded by `rounding`; nil on overflow or a zero denominator.
    @inlinable
    public static func multiplyDivide(_ value: Int64, _ numerator: Int64, _ denominator: Int64, rounding: Rounding = .halfEven) -> Int64? {
        guard denominator != 0 else { return nil }
        let product = value.multipliedFullWidth(by: numerator)
        // Fall back to checked arithmetic when the product does not fit one word.
        guard (product.high == 0 && product.low <= UInt64(Int64.max)) || (product.high == -1 && product.low >= UInt64(1) << 63) else {
            return nil
        }
        let full = Int64(bitPattern: product.low)
        var quotient = full / denominator
        let remainder = full % denominator
        let twice = remainder.magnitude * 2
        let positive = (full >= 0) == (denominator > 0)
        let up = switch rounding {
        case .halfEven: twice > denominator.magnitude || (twice == denominator.magnitude && quotient % 2 != 0)
        case .halfUp: twice >= denominator.magnitude
        }
        if remainder != 0, up { quotient += positive ? 1 : -1 }
        return quotient
    }

    /// `value × 10^places` as a whole number, exactly: nil when it has more decimals than
    /// `places` or does not fit in 64 bits. Every decimal written in rules, catalogs, events
    /// and options becomes fixed point through here, so none is ever rounded silently.
    public static func exact(_ value: Decimal, places: Int) -> Int64? {
        var scaled = value * Decimal(sign: .plus, exponent: places, significand: 1)
        var whole = Decimal()
        NSDecimalRound(&whole, &scaled, 0, .plain)
        guard whole == scaled, whole >= Decimal(Int64.min), whole <= Decimal(Int64.max) else { return nil }
        let result = NSDecimalNumber(decimal: whole).int64Value
        return Decimal(result) == whole ? result : nil
    }

    /// The decimal of a fixed-point number with `places` decimals.
    public static func decimal(_ bits: Int64, places: Int) -> Decimal {
        Decimal(bits) / Decimal(sign: .plus, exponent: places, significand: 1)
    }
}
