import Foundation
import RedressIR
@testable import RedressEvents
@testable import RedressEngine
@testable import RedressRuntime
import Testing

/// Events are UTF-8. A line with bytes that are not (anywhere: a key, a string value, a value no
/// rule reads) is a dead letter that says where, never read with the bytes replaced: decoded,
/// `S-\xff` and `S-\xfe` would both be `S-\u{FFFD}`, one shipment, and a limit would hold back the
/// second one's decision.
@Suite struct EventEncodingTests {
    static let program = compile("when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten")

    /// A delivery whose shipment id is `S-` followed by `id`'s bytes.
    static func delivery(_ id: [UInt8], day: Int = 9) -> [UInt8] {
        let text = Shop.delivered("2026-11-\(day < 10 ? "0" : "")\(day)T14:00:00Z", shipment: "S-#")
        let parts = text.split(separator: "#", omittingEmptySubsequences: false)
        return Array(parts[0].utf8) + id + Array(parts[1].utf8)
    }

    /// The offset of the `#` in `text` with `bytes` put in its place.
    static func line(_ text: String, _ bytes: [UInt8]) -> (line: [UInt8], offset: Int) {
        let parts = text.split(separator: "#", omittingEmptySubsequences: false)
        let head = Array(parts[0].utf8)
        return (head + bytes + Array(parts[1].utf8), head.count)
    }

    // MARK: The check

    static let offsets: [([UInt8], Int?)] = [
        ([], nil),
        (Array("plain ASCII, long enough to pass a few words at a time".utf8), nil),
        (Array("é ü ß € 😀 ✓".utf8), nil),
        ([0xFF], 0),
        ([0x53, 0x2D, 0xFF], 2),  // S-\xff
        ([0x53, 0x2D, 0xFE], 2),
        ([0x80], 0),  // a continuation byte on its own
        ([0xE2, 0x82], 0),  // € cut short at the end
        ([0xE2, 0x82, 0x41], 0),  // € cut short before ASCII
        ([0xC0, 0xAF], 0),  // overlong `/`
        ([0xE0, 0x80, 0xAF], 0),  // overlong, three bytes
        ([0xED, 0xA0, 0x80], 0),  // a surrogate (U+D800) encoded
        ([0xF4, 0x90, 0x80, 0x80], 0),  // over U+10FFFF
        ([0xF8, 0x88, 0x80, 0x80, 0x80], 0),  // five bytes
        (Array("0123456789".utf8) + [0xFF], 10),  // after a whole word of ASCII
        (Array("01234567890123456789é".utf8) + [0xC3], 22),  // a valid character, then half of one
        (Array("ab€cd".utf8) + [0x41, 0xBF, 0x41], 8),
    ]

    @Test(arguments: Self.offsets)
    func findsTheFirstInvalidByte(bytes: [UInt8], expected: Int?) {
        #expect(bytes.withUnsafeBufferPointer { UTF8Validation.firstInvalidByte(in: $0) } == expected)
    }

    /// Random bytes, mostly ASCII with multi-byte characters and stray bytes mixed in: the check
    /// agrees with the standard library's validation (`String(validating:as:)`), and the offset it
    /// gives is where valid UTF-8 stops (everything before it is valid).
    @Test func agreesWithTheStandardLibrary() throws {
        var random = SplitMixGenerator(state: 8)
        let pieces: [[UInt8]] = [Array("é".utf8), Array("€".utf8), Array("😀".utf8), [0xFF], [0x80], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80],
                                 [0xF0, 0x9F, 0x98], [0xC0, 0x80], [0xF4, 0x90, 0x80, 0x80]]
        var invalid = 0
        for _ in 0..<20_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(random.next() % 40) {
                switch random.next() % 6 {
                case 0: bytes += pieces[Int(random.next() % UInt64(pieces.count))]
                case 1: bytes.append(UInt8(truncatingIfNeeded: random.next()))
                default: bytes += Array(repeating: UInt8(0x61 + random.next() % 26), count: Int(random.next() % 12))
                }
            }
            let offset = bytes.withUnsafeBufferPointer { UTF8Validation.firstInvalidByte(in: $0) }
            #expect((offset == nil) == Self.valid(bytes), "\(bytes)")
            if let offset {
                invalid += 1
                #expect(Self.valid(Array(bytes[..<offset])), "\(bytes) at \(offset)")
            }
        }
        #expect(invalid > 5_000)
    }

    static func valid(_ bytes: [UInt8]) -> Bool {
        if #available(macOS 15, *) {
            return String(validating: bytes, as: UTF8.self) != nil
        }
        return String(bytes: bytes, encoding: .utf8) != nil
    }

    // MARK: The reader

    /// A line with invalid UTF-8 in any place is refused by the fast reader, the general one, and
    /// a read that defers its strings, all with the same reason and byte.
    static let places = [
        "{\"event\":\"shipment.delivered\",\"time\":\"2026-11-09T14:00:00Z\",\"id\":\"E-#\",\"shipment\":{\"id\":\"S1\",\"delay\":\"3d\"},\"customer\":{\"id\":\"C1\",\"tier\":\"VIP\"}}",
        "{\"event\":\"shipment.delivered\",\"time\":\"2026-11-09T14:00:00Z\",\"shipment\":{\"id\":\"S-#\",\"delay\":\"3d\"},\"customer\":{\"id\":\"C1\",\"tier\":\"VIP\"}}",
        "{\"event\":\"shipment.delivered\",\"time\":\"2026-11-09T14:00:00Z\",\"shipment\":{\"id\":\"S1\",\"delay\":\"3d\",\"carrier\":\"DHL #\"},\"customer\":{\"id\":\"C1\",\"tier\":\"VIP\"}}",
        "{\"event\":\"shipment.delivered\",\"time\":\"2026-11-09T14:00:00Z\",\"shipment\":{\"id\":\"S1\",\"delay\":\"3d\",\"note#\":\"x\"},\"customer\":{\"id\":\"C1\",\"tier\":\"VIP\"}}",
        "{\"event\":\"shipment.delivered\",\"time\":\"2026-11-09T14:00:00Z\",\"shipment\":{\"id\":\"S1\",\"delay\":\"3d\"},\"customer\":{\"id\":\"C1\",\"tier\":\"VIP\"},\"extra#\":[1,2]}",
        "{\"event\":\"shipment.delivered\",\"time\":\"2026-11-09T14:00:00Z\",\"shipment\":{\"id\":\"S1\",\"delay\":\"3d\"},\"customer\":{\"id\":\"C#\",\"tier\":\"VIP\"},\"note\":\"a \\\"quoted\\\" word\"}",
        "{\"event\":\"shipment.delivered\",\"time\":\"2026-11-09T14:00:00Z\",\"shipment\":{\"id\":\"S1\",\"delay\":\"3d\",\"note\":\"" + String(repeating: "long ", count: 200) + "#\"},\"customer\":{\"id\":\"C1\",\"tier\":\"VIP\"}}",
        "{\"event\":\"shipment.delivered#\",\"time\":\"2026-11-09T14:00:00Z\"}",
        "{\"event\":\"shipment.delivered\",\"time\":\"2026-11-09T14:00:00Z#\",\"shipment\":{\"id\":\"S1\",\"delay\":\"3d\"}}",
        "# {\"event\":\"shipment.delivered\",\"time\":\"2026-11-09T14:00:00Z\"}",
    ]

    @Test(arguments: Self.places, [[0xFF], [0xFE], [0xC3], [0xED, 0xB3, 0xBF], [0xC0, 0xA2], [0x80, 0x80]] as [[UInt8]])
    func invalidUTF8IsADeadLetter(place: String, bad: [UInt8]) throws {
        let program = try #require(Self.program)
        let (line, offset) = Self.line(place, bad)
        let expected = "invalid UTF-8 at byte \(offset + 1)"
        for reader in [EventReader(program: program), EventReader(program: program, fastPath: false)] {
            for deferring in [false, true] {
                var event = Event(slotCount: program.slots.count)
                let reason = line.withUnsafeBufferPointer { reader.read($0, number: 3, into: &event, deferringStrings: deferring) }
                #expect(reason == expected, "fast path \(reader.fastPath), deferring \(deferring)")
            }
        }
        // The same place with a valid character is read (or refused for another reason than UTF-8).
        let (good, _) = Self.line(place, Array("é".utf8))
        var event = Event(slotCount: program.slots.count)
        let reason = good.withUnsafeBufferPointer { EventReader(program: program).read($0, number: 3, into: &event) }
        #expect(reason?.contains("UTF-8") != true)
    }

    /// Valid UTF-8 that is not ASCII is read as it was written, by both readers alike, and two ids
    /// that differ only in such characters stay two ids.
    @Test func validNonASCIIIsReadAsWritten() throws {
        let program = try #require(Self.program)
        for reader in [EventReader(program: program), EventReader(program: program, fastPath: false)] {
            let engine = Engine(program: program)
            var decided: [String] = []
            for (day, id) in ["é", "è", "😀", "€uro", "e\u{301}"].enumerated() {
                var event = Event(slotCount: program.slots.count)
                let line = Self.delivery(Array(id.utf8), day: day + 1)
                #expect(line.withUnsafeBufferPointer { reader.read($0, number: day + 1, into: &event) } == nil)
                decided += engine.process(event).map(\.subject.key)
            }
            #expect(decided == ["S-é", "S-è", "S-😀", "S-€uro", "S-e\u{301}"])
        }
    }

    /// The trial's case: `S-\xff` and `S-\xfe` used to become one shipment (`S-\u{FFFD}`), the
    /// second decision held back by the rule's limit, and no dead letter.
    @Test func twoInvalidIdsAreTwoDeadLettersNotOneShipment() throws {
        let program = try #require(Self.program)
        let lines = [Self.delivery(Array("A".utf8), day: 1), Self.delivery([0xFF], day: 2), Self.delivery([0xFE], day: 3),
                     Self.delivery(Array("B".utf8), day: 4)]
        let engine = Engine(program: program)
        let reader = EventReader(program: program)
        var event = Event(slotCount: program.slots.count)
        var decided: [String] = [], dead: [String] = []
        for (index, line) in lines.enumerated() {
            if let reason = line.withUnsafeBufferPointer({ reader.read($0, number: index + 1, into: &event) }) {
                dead.append("\(index + 1): \(reason)")
            } else {
                decided += engine.process(event).map(\.subject.key)
            }
        }
        let at = Self.line(Shop.delivered("2026-11-01T14:00:00Z", shipment: "S-#"), []).offset + 1
        #expect(decided == ["S-A", "S-B"])
        #expect(dead == ["2: invalid UTF-8 at byte \(at)", "3: invalid UTF-8 at byte \(at)"])
        #expect(engine.state.statistics.heldBack.isEmpty)
    }

    /// A `\u` escape for half a surrogate pair would make the same U+FFFD of different ids: refused
    /// too. A whole pair is one character.
    @Test func halfASurrogatePairIsRefused() throws {
        let program = try #require(Self.program)
        let reader = EventReader(program: program)
        var event = Event(slotCount: program.slots.count)
        for escape in ["\\udcff", "\\uDCFE", "\\ud83d", "\\ud83dx", "\\ud83d\\u0041"] {
            let line = Self.delivery(Array(escape.utf8))
            let reason = line.withUnsafeBufferPointer { reader.read($0, number: 1, into: &event) }
            #expect(reason?.hasPrefix("invalid \\u escape in a string: \\u") == true, "\(escape): \(reason ?? "read")")
            #expect(reason?.hasSuffix("is half of a surrogate pair") == true)
        }
        let pair = Self.delivery(Array("\\ud83d\\ude00".utf8))
        #expect(pair.withUnsafeBufferPointer { reader.read($0, number: 1, into: &event) } == nil)
        #expect(event.strings.contains("S-😀"))
    }

    // MARK: The pipelines

    /// `run`'s pipeline and `simulate`'s chunked one (mapped and read) make the same dead letters.
    @Test(arguments: [nil, 64, 1 << 20] as [Int?], [true, false])
    func pipelinesMakeDeadLetters(chunkSize: Int?, mapped: Bool) throws {
        let program = try #require(Self.program)
        let reader = EventReader(program: program)
        var bytes: [UInt8] = []
        for (day, id) in [Array("A".utf8), [0xFF], [0xFE], Array("é".utf8), [0xC3]].enumerated() {
            bytes += Self.delivery(id, day: day + 1) + [10]
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("redress-encoding-\(UUID().uuidString).jsonl")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let descriptor = open(url.path, O_RDONLY)
        defer { close(descriptor) }
        var items: [String] = []
        let body: (EventPipeline.Item, Int) -> Bool = { item, number in
            switch item {
            case .event(let event): items.append("\(number): \(event.strings.first ?? "")")
            case .deadLetter(let letter): items.append("\(number): dead \(letter.reason)")
            case .alreadyProcessed: items.append("\(number): already processed")
            case .alreadyKept: items.append("\(number): already kept")
            }
            return true
        }
        if let chunkSize {
            let chunked = try #require(ChunkedEventPipeline(reader: reader, descriptor: descriptor, slotCount: program.slots.count,
                                                           workers: 2, chunkSize: chunkSize, mapped: mapped))
            #expect(chunked.run { body($0, $1) } == nil)
        } else {
            guard mapped else { return }
            EventPipeline(reader: reader, lines: LineReader(descriptor: descriptor), slotCount: program.slots.count).run { body($0, $1) }
        }
        let at = Self.line(Shop.delivered("2026-11-01T14:00:00Z", shipment: "S-#"), []).offset + 1
        #expect(items == ["1: S-A", "2: dead invalid UTF-8 at byte \(at)", "3: dead invalid UTF-8 at byte \(at)", "4: S-é",
                          "5: dead invalid UTF-8 at byte \(at)"])
    }
}
