import RedressIR

/// Exact decimal numbers as events and options write them (`4.99 EUR`, `2.5%`, `0.75`), read
/// into scaled integers without floating point: money stays exact to the minor unit. The
/// JSON-lines reader, the CSV reader and command-line options share these.
public enum DecimalText {
    /// `4.99 EUR` from a command-line option, exactly as an event would write it, or nil.
    public static func money(_ text: String, currency: Program.Currency) -> Int64? {
        var copy = text
        return copy.withUTF8 { money($0, currency: currency) }
    }

    /// `4.99 EUR` (or `4.99EUR`, or `-1.5 EUR`) in the given currency → minor units.
    public static func money(_ bytes: UnsafeBufferPointer<UInt8>, currency: Program.Currency) -> Int64? {
        var end = bytes.count
        guard end >= 4 else { return nil }
        let code = currency.code.utf8
        guard code.count == 3, bytes[end - 3] == code[code.startIndex], bytes[end - 2] == code[code.index(after: code.startIndex)],
              bytes[end - 1] == code[code.index(code.startIndex, offsetBy: 2)] else { return nil }
        end -= 3
        while end > 0, bytes[end - 1] == 32 { end -= 1 }
        return fixed(UnsafeBufferPointer(rebasing: bytes[0..<end]), places: currency.minorUnits)
    }

    /// `2.5%` → 25_000 millionths.
    public static func percent(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard let last = bytes.last, last == UInt8(ascii: "%") else { return nil }
        return fixed(UnsafeBufferPointer(rebasing: bytes[0..<(bytes.count - 1)]), places: 4)
    }

    /// A decimal number with at most `places` decimals, scaled by 10^places.
    public static func fixed(_ bytes: UnsafeBufferPointer<UInt8>, places: Int) -> Int64? {
        var i = 0
        var negative = false
        if i < bytes.count, bytes[i] == 45 { negative = true; i += 1 }
        var value: Int64 = 0
        var digits = 0
        var decimals = -1
        while i < bytes.count {
            let b = bytes[i]
            if b == 46, decimals < 0 { decimals = 0; i += 1; continue }
            guard b >= 48, b <= 57, digits < 18 else { return nil }
            value = value * 10 + Int64(b - 48)
            digits += 1
            if decimals >= 0 { decimals += 1 }
            i += 1
        }
        guard digits > 0, decimals != 0, decimals <= places else { return nil }
        for _ in 0..<(places - max(0, decimals)) {
            let (r, o) = value.multipliedReportingOverflow(by: 10)
            if o { return nil }
            value = r
        }
        return negative ? -value : value
    }
}
