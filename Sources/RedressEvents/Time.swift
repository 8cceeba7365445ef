/// Event time: parsing and printing of RFC 3339 timestamps, dates and durations, on bytes.
/// Hand-written because the event reader calls it for every timestamp of every event.
public enum TimeFormat {
    @inline(__always) static func digits(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int, _ count: Int) -> Int64? {
        guard at + count <= bytes.count else { return nil }
        var value: Int64 = 0
        for i in at..<(at + count) {
            let b = bytes[i]
            guard b >= 48 && b <= 57 else { return nil }
            value = value * 10 + Int64(b - 48)
        }
        return value
    }

    /// `YYYY-MM-DD` → days since 1970-01-01.
    public static func date(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard bytes.count == 10, bytes[4] == 45, bytes[7] == 45, let y = digits(bytes, 0, 4), let m = digits(bytes, 5, 2),
              let d = digits(bytes, 8, 2), (1...12).contains(m), d >= 1, d <= daysInMonth(y, m) else { return nil }
        return daysFromCivil(y, m, d)
    }

    /// RFC 3339: `YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM)`; a space may replace the `T`.
    /// Milliseconds since the epoch.
    public static func timestamp(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        // Events write this form; the others take the general way below.
        if bytes.count == 20, let value = canonicalTimestamp(bytes) { return value }
        guard bytes.count >= 17, bytes[4] == 45, bytes[7] == 45, bytes[10] == 84 || bytes[10] == 32 || bytes[10] == 116,
              bytes[13] == 58, let y = digits(bytes, 0, 4), let m = digits(bytes, 5, 2), let d = digits(bytes, 8, 2),
              let hh = digits(bytes, 11, 2), let mm = digits(bytes, 14, 2),
              (1...12).contains(m), d >= 1, d <= daysInMonth(y, m), hh < 24, mm < 60 else { return nil }
        var i = 16
        var seconds: Int64 = 0
        var millis: Int64 = 0
        if i < bytes.count, bytes[i] == 58 {
            guard let ss = digits(bytes, i + 1, 2), ss < 61 else { return nil }
            seconds = ss
            i += 3
            if i < bytes.count, bytes[i] == 46 {
                i += 1
                var scale: Int64 = 100
                let start = i
                while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
                    millis += Int64(bytes[i] - 48) * scale
                    scale /= 10
                    i += 1
                }
                guard i > start else { return nil }
            }
        }
        var offset: Int64 = 0
        guard i < bytes.count else { return nil }
        if bytes[i] == 90 || bytes[i] == 122 {
            i += 1
        } else if bytes[i] == 43 || bytes[i] == 45 {
            guard let oh = digits(bytes, i + 1, 2), i + 3 < bytes.count, bytes[i + 3] == 58, let om = digits(bytes, i + 4, 2),
                  oh < 24, om < 60 else { return nil }
            offset = (oh * 60 + om) * (bytes[i] == 43 ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == bytes.count else { return nil }
        let days = daysFromCivil(y, m, d)
        return ((days * 86_400 + hh * 3600 + mm * 60 + seconds - offset * 60) * 1000) + millis
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (exactly 20 bytes), or nil for anything `timestamp` has to look at
    /// more closely. The bytes are read as three words: the separators and digits are tested a
    /// word at a time, and each pair of digits is made a number with one multiplication for all
    /// pairs of a word (every event has one time or more).
    @inline(__always) static func canonicalTimestamp(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard let start = bytes.baseAddress else { return nil }
        let raw = UnsafeRawPointer(start)
        // Little-endian: byte k of a word is bits 8k..<8k+8.
        let a = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))                 // YYYY-MM-
        let b = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))  // DDTHH:MM
        let c = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self)))  // :SSZ
        let separator = b >> 16 & 0xFF, zone = c >> 24
        guard a & 0xFF00_00FF_0000_0000 == 0x2D00_002D_0000_0000, b & 0x0000_FF00_0000_0000 == 0x0000_3A00_0000_0000,
              separator == 0x54 || separator == 0x20 || separator == 0x74, c & 0xFF == 0x3A, zone == 0x5A || zone == 0x7A,
              allDigits(a, 0x00FF_FF00_FFFF_FFFF), allDigits(b, 0xFFFF_00FF_FF00_FFFF), allDigits(c, 0x00FF_FF00) else { return nil }
        // Byte k becomes 10 × digit k + digit k+1 (at most 165 for any two low nibbles: no carry).
        @inline(__always) func pairs(_ word: UInt64) -> UInt64 { let d = word & 0x0F0F_0F0F_0F0F_0F0F; return d &* 10 &+ d >> 8 }
        @inline(__always) func byte(_ word: UInt64, _ k: UInt64) -> Int64 { Int64(word >> (8 * k) & 0xFF) }
        let pa = pairs(a), pb = pairs(b), pc = pairs(c)
        let y = byte(pa, 0) * 100 + byte(pa, 2), m = byte(pa, 5), d = byte(pb, 0)
        let hh = byte(pb, 3), mm = byte(pb, 6), ss = byte(pc, 1)
        guard m >= 1, m <= 12, d >= 1, d <= daysInMonth(y, m), hh < 24, mm < 60, ss < 61 else { return nil }
        return (daysFromCivil(y, m, d) &* 86_400 &+ hh &* 3600 &+ mm &* 60 &+ ss) &* 1000
    }

    /// Whether the bytes of `word` selected by `mask` (0xFF each) are all ASCII digits.
    @inline(__always) static func allDigits(_ word: UInt64, _ mask: UInt64) -> Bool {
        let high = 0xF0F0_F0F0_F0F0_F0F0 & mask, threes = 0x3030_3030_3030_3030 & mask
        let selected = word & mask
        // 0x30...0x3F, and no carry into the high nibble when 6 is added (so at most 0x39).
        return selected & high == threes && (selected &+ (0x0606_0606_0606_0606 & mask)) & high == threes
    }

    /// `3d`, `-2h`, `1d12h`, `90m`, `500ms` → milliseconds.
    public static func duration(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0
        var negative = false
        if i < bytes.count, bytes[i] == 45 { negative = true; i += 1 }
        var total: Int64 = 0
        var parts = 0
        while i < bytes.count {
            var amount: Int64 = 0
            let start = i
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57, amount < 1_000_000_000_000 {
                amount = amount * 10 + Int64(bytes[i] - 48)
                i += 1
            }
            guard i > start, i < bytes.count else { return nil }
            let factor: Int64
            switch bytes[i] {
            case 109:  // m or ms
                if i + 1 < bytes.count, bytes[i + 1] == 115 { factor = 1; i += 1 } else { factor = 60_000 }
            case 115: factor = 1000
            case 104: factor = 3_600_000
            case 100: factor = 86_400_000
            case 119: factor = 604_800_000
            default: return nil
            }
            i += 1
            let (product, overflow) = amount.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            // Two huge parts (`15000000w15000000w`) would overflow the sum: not a duration.
            let (sum, sumOverflow) = total.addingReportingOverflow(product)
            guard !sumOverflow else { return nil }
            total = sum
            parts += 1
        }
        guard parts > 0 else { return nil }
        return negative ? -total : total
    }

    static func daysInMonth(_ year: Int64, _ month: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    @inline(__always) public static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// `2026-11-20T10:00:00Z` (with `.mmm` when there are milliseconds). Written into a stack
    /// buffer for years 0–9999: every decision formats its time.
    public static func format(timestamp ms: Int64) -> String {
        let days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let rest = ms - days * 86_400_000
        let (y, m, d) = civil(fromDays: days)
        let seconds = rest / 1000, millis = rest % 1000
        guard (0...9999).contains(y) else { return spelledOut(y, m, d, seconds, millis) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { text in
            func digits(_ value: Int64, at start: Int, width: Int) {
                var rest = value
                for index in stride(from: start + width - 1, through: start, by: -1) {
                    text[index] = 48 + UInt8(rest % 10)
                    rest /= 10
                }
            }
            digits(y, at: 0, width: 4)
            text[4] = 45
            digits(m, at: 5, width: 2)
            text[7] = 45
            digits(d, at: 8, width: 2)
            text[10] = 84
            digits(seconds / 3600, at: 11, width: 2)
            text[13] = 58
            digits(seconds / 60 % 60, at: 14, width: 2)
            text[16] = 58
            digits(seconds % 60, at: 17, width: 2)
            var count = 19
            if millis != 0 {
                text[19] = 46
                digits(millis, at: 20, width: 3)
                count = 23
            }
            text[count] = 90
            return String(decoding: UnsafeBufferPointer(rebasing: text[0...count]), as: UTF8.self)
        }
    }

    /// The same text for any year (the general, slower way; also the fast path's test oracle).
    static func spelledOut(_ y: Int64, _ m: Int64, _ d: Int64, _ seconds: Int64, _ millis: Int64) -> String {
        var text = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2))"
        if millis != 0 { text += ".\(pad(millis, 3))" }
        return text + "Z"
    }

    public static func format(date days: Int64) -> String {
        let (y, m, d) = civil(fromDays: days)
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
    }

    /// Days, hours, minutes, seconds and milliseconds, largest first: `2d`, `1d12h`, `-90m` is
    /// written `-1h30m`, `0s`. Parses back with `duration`.
    public static func format(duration ms: Int64) -> String {
        if ms == 0 { return "0s" }
        var rest = ms.magnitude
        var text = ms < 0 ? "-" : ""
        for (size, unit) in [(UInt64(86_400_000), "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s"), (1, "ms")] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }
}

extension TimeFormat {
    /// Convenience for Swift strings (tests, command-line options).
    public static func timestamp(_ text: String) -> Int64? {
        var copy = text
        return copy.withUTF8 { timestamp($0) }
    }
    public static func duration(_ text: String) -> Int64? {
        var copy = text
        return copy.withUTF8 { duration($0) }
    }
}
