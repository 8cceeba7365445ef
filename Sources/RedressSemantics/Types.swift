import Foundation

/// The type of a value in a rule. Units are part of the type: money carries its currency,
/// so `5 EUR < 3 USD` is caught before any rule runs.
public indirect enum ValueType: Hashable, Sendable, CustomStringConvertible {
    case bool, integer, decimal, string
    case money(currency: String)
    case percent, duration, timestamp, date
    case enumeration(String)
    case list(ValueType)
    case optional(ValueType)
    /// The type of an expression that already has an error; suppresses follow-up errors.
    case error

    public var description: String {
        switch self {
        case .bool: "bool"
        case .integer: "integer"
        case .decimal: "decimal"
        case .string: "string"
        case .money(let currency): "money (\(currency))"
        case .percent: "percent"
        case .duration: "duration"
        case .timestamp: "timestamp"
        case .date: "date"
        case .enumeration(let name): name
        case .list(let element): "list of \(element)"
        case .optional(let wrapped): "\(wrapped)?"
        case .error: "<error>"
        }
    }

    /// The type without its optional marker.
    public var required: ValueType {
        if case .optional(let wrapped) = self { return wrapped.required }
        return self
    }
    public var isOptional: Bool {
        if case .optional = self { return true }
        return false
    }
    public var isError: Bool { required == .error }
    public var isNumeric: Bool { required == .integer || required == .decimal }
    public var isOrderable: Bool {
        switch required {
        case .integer, .decimal, .money, .percent, .duration, .timestamp, .date, .error: true
        default: false
        }
    }

    /// Wraps in optional when `condition` holds (and the type is not optional already).
    public func optional(if condition: Bool) -> ValueType {
        condition && !isOptional && !isError ? .optional(self) : self
    }

    /// Parses a schema field type: `money`, `money(USD)`, `Tier?`, `list(Country)`.
    static func parse(_ text: String, defaultCurrency: String, enums: Set<String>) -> ValueType? {
        var body = text.trimmingCharacters(in: .whitespaces)
        var optional = false
        if body.hasSuffix("?") {
            optional = true
            body.removeLast()
        }
        let base: ValueType?
        switch body {
        case "bool", "boolean": base = .bool
        case "integer", "int": base = .integer
        case "decimal": base = .decimal
        case "string": base = .string
        case "money": base = .money(currency: defaultCurrency)
        case "percent": base = .percent
        case "duration": base = .duration
        case "timestamp": base = .timestamp
        case "date": base = .date
        default:
            if body.hasPrefix("money("), body.hasSuffix(")") {
                let code = String(body.dropFirst(6).dropLast())
                base = Currency.isKnown(code) ? .money(currency: code) : nil
            } else if body.hasPrefix("list("), body.hasSuffix(")") {
                let inner = String(body.dropFirst(5).dropLast())
                base = parse(inner, defaultCurrency: defaultCurrency, enums: enums).flatMap { $0.isOptional ? nil : .list($0) }
            } else if enums.contains(body) {
                base = .enumeration(body)
            } else {
                base = nil
            }
        }
        guard let base else { return nil }
        return optional ? .optional(base) : base
    }

    public static let builtinNames = ["bool", "integer", "decimal", "string", "money", "money(XXX)", "percent",
                                      "duration", "timestamp", "date", "list(T)"]
}

/// ISO 4217 currencies and their minor units (the decimals used when rounding money).
public enum Currency {
    public static let minorUnits: [String: Int] = {
        var table: [String: Int] = [:]
        let two = """
            AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF \
            CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF \
            IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MKD MMK MNT MOP MRU MUR MVR MWK MXN \
            MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE \
            SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWL
            """
        for code in two.split(separator: " ") { table[String(code)] = 2 }
        for code in ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"] {
            table[code] = 0
        }
        for code in ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"] { table[code] = 3 }
        return table
    }()

    public static func isKnown(_ code: String) -> Bool { minorUnits[code] != nil }
}
