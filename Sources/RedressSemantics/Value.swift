import Foundation

/// A constant value known while checking (literals, parameter defaults, table entries).
/// Money and percentages are `Decimal`, never binary floating point.
public enum Value: Hashable, Sendable, CustomStringConvertible {
    case bool(Bool)
    case integer(Int64)
    case decimal(Decimal)
    case string(String)
    case money(Decimal, currency: String)
    /// 5% is stored as 5.
    case percent(Decimal)
    /// Milliseconds.
    case duration(Int64)
    /// Milliseconds since 1970-01-01T00:00:00Z.
    case timestamp(Int64)
    /// Days since 1970-01-01.
    case date(Int64)
    case enumCase(type: String, name: String)
    case list([Value])

    public var description: String {
        switch self {
        case .bool(let b): "\(b)"
        case .integer(let i): "\(i)"
        case .decimal(let d): "\(d)"
        case .string(let s): "\"\(s)\""
        case .money(let amount, let currency): "\(amount) \(currency)"
        case .percent(let p): "\(p)%"
        case .duration(let ms): Value.describeDuration(ms)
        case .timestamp(let ms): "@\(ms)ms"
        case .date(let days): "day \(days)"
        case .enumCase(_, let name): name
        case .list(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        }
    }

    public static func describeDuration(_ ms: Int64) -> String {
        let units: [(Int64, String)] = [(604_800_000, "w"), (86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s")]
        for (size, unit) in units where ms != 0 && ms % size == 0 { return "\(ms / size)\(unit)" }
        return "\(ms)ms"
    }

    /// A number for ordering comparisons of one unit, or nil for unordered values.
    var ordinal: Decimal? {
        switch self {
        case .integer(let i): Decimal(i)
        case .decimal(let d): d
        case .money(let amount, _): amount
        case .percent(let p): p
        case .duration(let ms): Decimal(ms)
        case .timestamp(let ms): Decimal(ms)
        case .date(let days): Decimal(days)
        default: nil
        }
    }
}

/// Parsing of literal texts into values; each failure is a message for E0003.
enum LiteralValue {
    /// Digits with an optional fraction (`5`, `4.99`, `.5`), nothing else: `Decimal(string:)`
    /// alone reads as much of a text as it can, so `.nan`, `.inf` or `4.99abc` would pass as
    /// numbers (YAML readers hand over such texts as they are written).
    static func decimal(_ text: String) -> Decimal? {
        guard !text.isEmpty, text.count <= 30 else { return nil }
        let parts = text.utf8.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        let isDigit = { (byte: UInt8) in byte >= 48 && byte <= 57 }
        guard parts.allSatisfy({ $0.allSatisfy(isDigit) }), parts.contains(where: { !$0.isEmpty }),
              parts.count == 1 || !parts[1].isEmpty else { return nil }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }

    static func duration(_ text: String) -> Int64? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count)
        guard let amount = Int64(digits) else { return nil }
        let factor: Int64
        switch unit {
        case "ms": factor = 1
        case "s": factor = 1000
        case "m": factor = 60_000
        case "h": factor = 3_600_000
        case "d": factor = 86_400_000
        case "w": factor = 604_800_000
        default: return nil
        }
        let (product, overflow) = amount.multipliedReportingOverflow(by: factor)
        return overflow ? nil : product
    }

    /// Days since 1970-01-01 of a valid `YYYY-MM-DD`.
    static func date(_ text: String) -> Int64? {
        let parts = text.split(separator: "-")
        guard parts.count == 3, let year = Int64(parts[0]), let month = Int64(parts[1]), let day = Int64(parts[2]),
              (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month) else { return nil }
        return daysFromCivil(year: year, month: month, day: day)
    }

    /// Milliseconds since the epoch of `YYYY-MM-DDTHH:MM[:SS](Z|±HH:MM)`.
    static func timestamp(_ text: String) -> Int64? {
        guard text.count >= 17 else { return nil }
        let datePart = String(text.prefix(10))
        guard let days = date(datePart) else { return nil }
        var rest = Substring(text.dropFirst(11))
        func take(_ n: Int) -> Int64? {
            guard rest.count >= n, let value = Int64(rest.prefix(n)) else { return nil }
            rest = rest.dropFirst(n)
            return value
        }
        guard let hour = take(2), rest.first == ":" else { return nil }
        rest = rest.dropFirst()
        guard let minute = take(2) else { return nil }
        var second: Int64 = 0
        if rest.first == ":" {
            rest = rest.dropFirst()
            guard let s = take(2) else { return nil }
            second = s
        }
        guard hour < 24, minute < 60, second < 60 else { return nil }
        var offsetMinutes: Int64 = 0
        if rest == "Z" {
            offsetMinutes = 0
        } else if let sign = rest.first, sign == "+" || sign == "-" {
            rest = rest.dropFirst()
            guard let oh = take(2), rest.first == ":" else { return nil }
            rest = rest.dropFirst()
            guard let om = take(2), rest.isEmpty, oh < 24, om < 60 else { return nil }
            offsetMinutes = (oh * 60 + om) * (sign == "+" ? 1 : -1)
        } else {
            return nil
        }
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60
        return seconds * 1000
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Howard Hinnant's days-from-civil algorithm (proleptic Gregorian calendar).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

/// What the runtime can hold. RedressIR keeps every number in 64 bits: money in minor units of
/// its currency (cents), decimals in millionths, percentages in ten-thousandths of a percent
/// (durations, times and whole numbers are 64-bit already). The checker reports constants
/// outside these ranges where they are written, so that `compile`, `run` and `simulate` never
/// meet them.
public enum RuntimeRange {
    public static let decimalPlaces = 6
    public static let percentPlaces = 4

    /// True when `value` × 10^`places` is a whole number that fits in an Int64.
    public static func fits(_ value: Decimal, places: Int) -> Bool {
        hasAtMost(places, value) && inRange(value, places: places)
    }

    /// True when `value` has no more than `places` decimals (trailing zeros do not count).
    public static func hasAtMost(_ places: Int, _ value: Decimal) -> Bool {
        var scaled = value * Decimal(sign: .plus, exponent: places, significand: 1)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &scaled, 0, .plain)
        return rounded == scaled
    }

    /// True when `value` × 10^`places` lies within the range of Int64.
    public static func inRange(_ value: Decimal, places: Int) -> Bool {
        let scaled = value * Decimal(sign: .plus, exponent: places, significand: 1)
        return scaled >= Decimal(Int64.min) && scaled <= Decimal(Int64.max)
    }

    /// The largest value with `places` decimals the runtime holds, as text (`92233720368547758.07`).
    public static func largest(places: Int) -> String {
        let digits = String(Int64.max)
        guard places > 0 else { return digits }
        return String(digits.dropLast(places)) + "." + String(digits.suffix(places))
    }

    /// Why the runtime cannot hold `value` exactly, or nil when it can.
    public static func problem(_ value: Value) -> String? {
        switch value {
        case .decimal(let d):
            return fits(d, places: decimalPlaces) ? nil
                : "numbers with decimals are kept to \(decimalPlaces) places and at most \(largest(places: decimalPlaces))"
        case .percent(let p):
            return fits(p, places: percentPlaces) ? nil
                : "percentages are kept to \(percentPlaces) decimal places and at most \(largest(places: percentPlaces))%"
        case .money(let amount, let currency):
            let minor = Currency.minorUnits[currency] ?? 2
            return fits(amount, places: minor) ? nil
                : "\(currency) amounts are kept in \(minor == 0 ? "whole units" : "\(minor) decimal places") and at most \(largest(places: minor)) \(currency)"
        case .list(let values):
            return values.lazy.compactMap(problem).first
        case .bool, .integer, .string, .duration, .timestamp, .date, .enumCase:
            return nil
        }
    }
}
