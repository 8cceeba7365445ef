/// What people who are not programmers write instead of Redress syntax — `36 hours`, `more than`,
/// `between 0 and 4`, `5 euro`, `to` for `until` — and the Redress form of each. The parser
/// consults these tables only where it has already failed, so they never change what parses
/// (grammar/redress.lark decides that); they change what the message says.
enum Phrasing {
    /// Spelled-out and abbreviated duration units, by their Redress unit.
    static let durationUnits: [String: String] = [
        "ms": "ms", "msec": "ms", "msecs": "ms", "millisecond": "ms", "milliseconds": "ms",
        "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
        "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
        "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h", "std": "h",
        "d": "d", "day": "d", "days": "d", "tage": "d",
        "w": "w", "wk": "w", "wks": "w", "week": "w", "weeks": "w",
    ]

    /// Calendar units Redress does not have, with the days to write instead.
    static let calendarUnits: [String: (name: String, days: Int)] = [
        "month": ("month", 30), "months": ("month", 30), "mo": ("month", 30), "mos": ("month", 30),
        "year": ("year", 365), "years": ("year", 365), "yr": ("year", 365), "yrs": ("year", 365),
    ]

    /// Words for "working days", which Redress does not count.
    static let businessWords: Set<String> = ["business", "working", "work", "weekday", "weekdays", "workday", "workdays"]

    /// Currency words and symbols, by ISO 4217 code.
    static let currencyWords: [String: String] = [
        "euro": "EUR", "euros": "EUR", "eur": "EUR", "€": "EUR",
        "dollar": "USD", "dollars": "USD", "usd": "USD", "$": "USD",
        "pound": "GBP", "pounds": "GBP", "gbp": "GBP", "£": "GBP",
        "chf": "CHF", "franc": "CHF", "francs": "CHF",
    ]

    static let percentWords: Set<String> = ["percent", "per_cent", "pct", "procent", "prozent"]

    /// Comparison words, longest phrases first, and the operator they stand for.
    static let comparisons: [(words: [String], symbol: String)] = [
        (["greater", "than", "or", "equal", "to"], ">="), (["more", "than", "or", "equal", "to"], ">="),
        (["less", "than", "or", "equal", "to"], "<="), (["fewer", "than", "or", "equal", "to"], "<="),
        (["greater", "or", "equal", "to"], ">="), (["less", "or", "equal", "to"], "<="),
        (["no", "more", "than"], "<="), (["not", "more", "than"], "<="), (["no", "less", "than"], ">="),
        (["not", "less", "than"], ">="), (["not", "equal", "to"], "!="), (["does", "not", "equal"], "!="),
        (["greater", "than"], ">"), (["more", "than"], ">"), (["larger", "than"], ">"), (["bigger", "than"], ">"),
        (["higher", "than"], ">"), (["longer", "than"], ">"), (["later", "than"], ">"),
        (["less", "than"], "<"), (["fewer", "than"], "<"), (["smaller", "than"], "<"), (["lower", "than"], "<"),
        (["shorter", "than"], "<"), (["earlier", "than"], "<"),
        (["at", "least"], ">="), (["at", "most"], "<="), (["equal", "to"], "=="), (["not", "equals"], "!="),
        (["differs", "from"], "!="),
        (["equals"], "=="), (["equal"], "=="), (["eq"], "=="), (["ne"], "!="), (["neq"], "!="),
        (["above"], ">"), (["over"], ">"), (["exceeds"], ">"), (["exceed"], ">"), (["after"], ">"),
        (["below"], "<"), (["under"], "<"), (["before"], "<"),
        (["gt"], ">"), (["lt"], "<"), (["ge"], ">="), (["gte"], ">="), (["le"], "<="), (["lte"], "<="),
    ]

    /// Words people use after `is` for "has no value" and "has a value".
    static let missingWords: Set<String> = ["null", "nil", "empty", "none", "blank", "unknown", "undefined", "unset", "missing"]
    static let presentWords: Set<String> = ["set", "known", "defined", "filled", "given", "available", "present"]

    /// Words for `when`, and for `then`, at the start of a clause.
    static let whenWords: Set<String> = ["if", "whenever", "where", "wenn", "si"]
    static let thenWords: Set<String> = ["do", "then", "so", "dann"]

    /// Words for `until` between two dates.
    static let untilWords: Set<String> = ["to", "till", "til", "through", "thru", "untill", "until", "and"]

    /// Words for `within` before a window.
    static let windowWords: Set<String> = ["every", "for", "over", "during", "in", "each", "within"]

    /// Words for `via` before a channel.
    static let channelWords: Set<String> = ["by", "through", "with", "using", "over", "per", "on"]

    /// Numbers written as words, for `limit once per customer`.
    static let countWords: [String: String] = ["once": "1", "one": "1", "twice": "2", "two": "2", "three": "3", "thrice": "3"]

    /// `36h` for 36 hours: the duration of `amount` (a whole or decimal number) of `unit`, in
    /// the largest Redress unit that keeps it whole; nil when it is not a whole number of ms.
    static func duration(_ amount: String, unit: String) -> String? {
        let factors: [String: Int64] = ["ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000]
        guard let factor = factors[unit] else { return nil }
        let parts = amount.split(separator: ".", omittingEmptySubsequences: false)
        guard let whole = Int64(parts[0]), parts.count <= 2 else { return nil }
        if parts.count == 1 || parts[1].allSatisfy({ $0 == "0" }) { return "\(whole)\(unit)" }
        let fraction = String(parts[1])
        guard fraction.count <= 6, let digits = Int64(fraction) else { return nil }
        var scale: Int64 = 1
        for _ in 0..<fraction.count { scale *= 10 }
        let (product, overflow) = (whole * scale + digits).multipliedReportingOverflow(by: factor)
        guard !overflow, product % scale == 0 else { return nil }
        let ms = product / scale
        for (name, size) in [("w", Int64(604_800_000)), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)]
        where ms % size == 0 && size < factor {
            return "\(ms / size)\(name)"
        }
        return nil
    }

    /// `5.00` for `5,00`, `5` for `5`.
    static func decimalPoint(_ amount: String) -> String { amount.replacingOccurrences(of: ",", with: ".") }
}
