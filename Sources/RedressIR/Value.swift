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

/// Fixed-point helpers shared by lowering and evaluation. Decimals and percentages have six
/// decimal places; products are rounded half to even, as money is (docs/language.md).
public enum FixedPoint {
    public static let scale: Int64 = 1_000_000

    /// `value × numerator / denominator`, rounded half to even; nil on overflow.
    public static func multiplyDivide(_ value: Int64, _ numerator: Int64, _ denominator: Int64) -> Int64? {
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
        if twice > denominator.magnitude || (twice == denominator.magnitude && quotient % 2 != 0) {
            quotient += positive ? 1 : -1
        }
        return quotient
    }
}
