import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import Testing

/// No event line crashes the reader or the engine: random bytes and mutations of valid lines
/// either become events or dead letters with a reason, from fixed seeds.
struct EventFuzzTests {
    static let fragments = ["{", "}", "[", "]", ",", ":", "\"", "\\", "\\u00", "null", "true", "-", "1e9", "3d", "EUR", "%",
                            "\"event\"", "\"time\"", "\u{00}", "é", "9999999999999999999999", "\n", " ", "{\"a\":{\"b\":[[[[", "2026-13-45T99:99:99Z",
                            "\\udcff", "\\ud83d\\ude00", "😀"]
    /// Byte sequences that are not UTF-8 (a stray byte, a cut or overlong character, an encoded
    /// surrogate, a code point over U+10FFFF), and valid characters of two to four bytes.
    static let encodings: [[UInt8]] = [[0xFF], [0xFE], [0x80], [0xC3], [0xE2, 0x82], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
                                       Array("é".utf8), Array("€".utf8), Array("😀".utf8)]

    /// What the standard library says: the line's bytes are UTF-8.
    static func isUTF8(_ bytes: [UInt8]) -> Bool {
        if #available(macOS 15, *) { return String(validating: bytes, as: UTF8.self) != nil }
        return String(bytes: bytes, encoding: .utf8) != nil
    }

    @Test func readerAndEngineNeverCrash() throws {
        let program = try #require(compile("""
            policy cap 20 EUR per customer within 30d
            when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten
            rule serial on return.registered when count(return.registered where return.reason == wrong_size within 90d) >= 3 then send size_guide
            rule not_shipped on order.placed unless shipment.shipped within 48h then send dispatch_delay_notice
            """))
        let valid = [
            Shop.delivered("2026-11-09T14:00:00Z"), Shop.shipped("2026-11-03T08:00:00Z"), Shop.placed("2026-11-02T09:00:00Z"),
            Shop.returned("2026-11-04T09:00:00Z", id: "R1"),
        ]
        var random = SplitMixGenerator(state: 2026)
        let engine = Engine(program: program)
        let reader = EventReader(program: program)
        var event = Event(slotCount: program.slots.count)
        var accepted = 0, rejected = 0, notUTF8 = 0
        for index in 0..<20_000 {
            var bytes: [UInt8]
            if index % 5 == 0 {
                bytes = (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                bytes = Array(valid[Int(random.next() % UInt64(valid.count))].utf8)
                for _ in 0..<(1 + Int(random.next() % 4)) {
                    let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
                    switch random.next() % 5 {
                    case 0 where !bytes.isEmpty: bytes.remove(at: position)
                    case 1: bytes.insert(contentsOf: Array(Self.fragments[Int(random.next() % UInt64(Self.fragments.count))].utf8), at: position)
                    case 2 where !bytes.isEmpty: bytes[position] = UInt8(truncatingIfNeeded: random.next())
                    case 3: bytes.insert(contentsOf: Self.encodings[Int(random.next() % UInt64(Self.encodings.count))], at: position)
                    default:
                        let end = min(bytes.count, position + Int(random.next() % 30))
                        bytes.removeSubrange(position..<end)
                    }
                }
            }
            let failure = bytes.withUnsafeBufferPointer { reader.read($0, number: index + 1, into: &event) }
            // A line that is not UTF-8 is refused for that, at its first bad byte; no other is.
            let invalid = bytes.withUnsafeBufferPointer { UTF8Validation.firstInvalidByte(in: $0) }
            #expect((invalid == nil) == Self.isUTF8(bytes))
            if let invalid {
                #expect(failure == "invalid UTF-8 at byte \(invalid + 1)")
                notUTF8 += 1
            } else {
                #expect(failure?.hasPrefix("invalid UTF-8") != true)
            }
            if let failure {
                #expect(!failure.isEmpty)
                rejected += 1
            } else {
                accepted += 1
                _ = engine.process(event)
            }
        }
        #expect(accepted > 300, "mutations should leave some lines readable")
        #expect(rejected > 1000)
        #expect(notUTF8 > 3000, "the mutations should make lines that are not UTF-8 (made \(notUTF8))")
        // Deep nesting is refused, not recursed into.
        let deep = "{\"event\":\"order.placed\",\"time\":\"2026-01-01T00:00:00Z\",\"x\":" + String(repeating: "[", count: 100_000) + "}"
        var text = deep
        #expect(text.withUTF8 { reader.read($0, number: 1, into: &event) } != nil)
    }
}

/// The reader has a fast path for the usual line and a general one for everything else (and for
/// the wording of every dead letter). They must read every line alike: the bundled sample
/// histories and tens of thousands of mutations of their lines go through both, and the results
/// (reason, type, time, id, slots, strings) must be identical.
struct EventReaderPathsTests {
    static let events = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("rules/shop/events")

    /// Text that reads the same whichever way it was read, or the reason it was refused.
    static func read(_ reader: EventReader, _ bytes: [UInt8], into event: inout Event) -> String {
        if let failure = bytes.withUnsafeBufferPointer({ reader.read($0, number: 7, into: &event) }) { return "dead: " + failure }
        let slots = event.slots.map { "\($0.kind):\($0.unit):\($0.bits)" }.joined(separator: " ")
        return "\(event.type) \(event.time) \(event.id) \(event.line) [\(slots)] \(event.strings)"
    }

    /// The same with strings shown by their text (a deferred read numbers them in slot order).
    static func readDeferred(_ reader: EventReader, _ bytes: [UInt8], into event: inout Event, deferring: Bool) -> String {
        let failure = bytes.withUnsafeBufferPointer { line -> String? in
            let failure = reader.read(line, number: 7, into: &event, deferringStrings: deferring)
            if failure == nil, deferring, let base = line.baseAddress { event.makeStrings(base) }
            return failure
        }
        if let failure { return "dead: " + failure }
        let slots = event.slots.map { $0.kind == .string && $0.unit == 1 ? "string:\(event.strings[Int($0.bits)])" : "\($0.kind):\($0.unit):\($0.bits)" }
        return "\(event.type) \(event.time) \(event.id) \(event.line) [\(slots.joined(separator: " "))]"
    }

    @Test func fastAndGeneralReadersAgree() throws {
        // Rules that read fields of every entity and kind (strings, enums, money, durations, times).
        let program = try #require(compile("""
            policy cap 20 EUR per customer within 30d
            when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten
            rule big on order.placed when order.total > 100 EUR and customer.country == DE then send apology
            rule serial on return.registered when count(return.registered where return.reason == wrong_size within 90d) >= 3 then send size_guide
            rule not_shipped on order.placed unless shipment.shipped within 48h then send dispatch_delay_notice
            """))
        var lines: [[UInt8]] = []
        for name in ["history.jsonl", "sample.jsonl", "deliveries_SE_one_day.jsonl"] {
            let text = try String(contentsOf: Self.events.appendingPathComponent(name), encoding: .utf8)
            lines += text.split(separator: "\n").map { Array($0.utf8) }
        }
        #expect(lines.count > 3000)
        let fast = EventReader(program: program), general = EventReader(program: program, fastPath: false)
        var a = Event(slotCount: program.slots.count), b = Event(slotCount: program.slots.count)
        var random = SplitMixGenerator(state: 11)
        var compared = 0, refused = 0
        // Mutations that often keep a line readable (spaces, escapes, reordering, other values)
        // besides the ones that break it.
        let pieces = [" ", "\t", "\\n", "\\u0041", "\\\"", "\"", ",", ":", "{", "}", "[1,2]", "null", "-", "0", "é", "\"x\":1,", "2026-02-30T10:00:00Z", "😀"]
        var notUTF8 = 0
        for index in 0..<(lines.count + 40_000) {
            var bytes = lines[index % lines.count]
            if index >= lines.count {
                for _ in 0..<(1 + Int(random.next() % 3)) {
                    let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
                    switch random.next() % 5 {
                    case 0 where !bytes.isEmpty: bytes.remove(at: position)
                    case 1: bytes.insert(contentsOf: Array(pieces[Int(random.next() % UInt64(pieces.count))].utf8), at: position)
                    case 2 where !bytes.isEmpty: bytes[position] = UInt8(truncatingIfNeeded: random.next() % 128)
                    // Not UTF-8 (or UTF-8 of more than one byte), in a value, a key or between them.
                    case 3: bytes.insert(contentsOf: EventFuzzTests.encodings[Int(random.next() % UInt64(EventFuzzTests.encodings.count))], at: position)
                    default: bytes.insert(contentsOf: [32, 32], at: position)
                    }
                }
            }
            let expected = Self.read(general, bytes, into: &b)
            let actual = Self.read(fast, bytes, into: &a)
            #expect(actual == expected, "line \(index): \(String(decoding: bytes, as: UTF8.self))")
            if actual != expected { break }
            // Strings deferred (the screened replay's reads), then made: the same event.
            let eager = Self.readDeferred(general, bytes, into: &b, deferring: false)
            let deferred = Self.readDeferred(fast, bytes, into: &a, deferring: true)
            #expect(deferred == eager, "line \(index), strings deferred: \(String(decoding: bytes, as: UTF8.self))")
            if deferred != eager { break }
            compared += 1
            if expected.hasPrefix("dead: ") { refused += 1 }
            if expected.hasPrefix("dead: invalid UTF-8 at byte ") { notUTF8 += 1 }
        }
        // Both kinds of line were compared.
        #expect(refused > 5_000)
        #expect(compared - refused > 10_000)
        #expect(notUTF8 > 2_000)
    }
}
