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

    static func describeDuration(_ ms: Int64) -> String {
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
    static func decimal(_ text: String) -> Decimal? {
        guard !text.isEmpty, text.count <= 30 else { return nil }
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
