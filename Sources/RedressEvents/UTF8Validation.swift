/// Checks that input bytes are UTF-8 before any of them become a `String`: the JSON-lines
/// reader, CSV rows and rule-test event files share it, so one rule decides what is valid.
public enum UTF8Validation {
    /// Where the first byte that does not belong to valid UTF-8 is in `bytes` (from 0), or nil
    /// when all of it is valid. ASCII, nearly all of an event, is passed over eight bytes at a
    /// time; each other character is decoded by the standard library's UTF-8 parser (the rules
    /// of `String(validating:as:)`: no overlong forms, no surrogates, nothing over U+10FFFF, no
    /// truncated sequences), which also says where the first bad byte is. It makes no String.
    public static func firstInvalidByte(in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let count = bytes.count
        var i = 0
        while true {
            while i &+ 8 <= count, UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i &+= 8 }
            while i < count, base[i] < 0x80 { i &+= 1 }
            guard i < count else { return nil }
            // One character of two to four bytes (the parser reads no further than its last byte).
            var parser = Unicode.UTF8.ForwardParser()
            var rest = UnsafeBufferPointer(start: base + i, count: min(4, count &- i)).makeIterator()
            guard case .valid(let character) = parser.parseScalar(from: &rest) else { return i }
            i &+= character.count
        }
    }
}
