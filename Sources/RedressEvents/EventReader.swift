#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
import _Builtin_intrinsics.intel
#endif
import RedressIR

/// One event, as the evaluator reads it: its type, its time, and the values of the slots
/// the program reads (everything else on the line is skipped).
public struct Event: Sendable {
    public var type: Int
    /// Milliseconds since the epoch; event time drives windows, deadlines and caps.
    public var time: Int64
    /// The event's `id`, or empty when it has none (decisions then name it `line N`).
    public var id: String
    public var line: Int
    /// The hash `run --state` remembers the event by (`EventIdentity`); 0 until a reader that
    /// keeps track of processed events sets it.
    public var idHash: UInt64 = 0
    public var slots: [RuntimeValue]
    /// Strings of this event; string slots refer to them with `unit == 1`.
    public var strings: [String]
    /// After a read that deferred its strings: where the id is in the line (offset << 32 |
    /// length), or -1. String slots then hold positions too (`unit == 2`) until `makeStrings`.
    var deferredID: Int64 = -1

    public init(slotCount: Int) {
        type = 0
        time = 0
        id = ""
        line = 0
        slots = [RuntimeValue](repeating: .missing, count: slotCount)
        strings = []
    }

    /// The text of a string value (a constant of the program or a string of this event).
    @inline(__always) public func string(_ value: RuntimeValue, program: Program) -> Substring {
        if value.unit == 1 { return Substring(strings[Int(value.bits)]) }
        return Substring(program.strings[Int(value.bits)])
    }
}

extension Event {
    /// Makes the strings a read with `deferringStrings` left as positions in `line` (the line it
    /// read, still in memory): the id and every string slot.
    public mutating func makeStrings(_ line: UnsafePointer<UInt8>) {
        if deferredID >= 0 {
            id = EventReader.string(UnsafeBufferPointer(start: line + Int(deferredID >> 32), count: Int(deferredID & 0xFFFF_FFFF)))
            deferredID = -1
        }
        for slot in slots.indices where slots[slot].unit == 2 && slots[slot].kind == .string {
            let bits = slots[slot].bits
            strings.append(EventReader.string(UnsafeBufferPointer(start: line + Int(bits >> 32), count: Int(bits & 0xFFFF_FFFF))))
            slots[slot] = RuntimeValue(.string, Int64(strings.count - 1), unit: 1)
        }
    }

    /// Empties `strings`, keeping its buffer: popped one by one, which for the few strings of an
    /// event costs less than `removeAll(keepingCapacity:)` (a generic range replacement).
    @inline(__always) mutating func clearStrings() {
        while strings.popLast() != nil {}
    }
}

/// A line that could not be read: kept, with its number and the reason, never dropped silently.
public struct DeadLetter: Sendable, Equatable {
    public var line: Int
    public var reason: String
    public var text: String
    public init(line: Int, reason: String, text: String) {
        self.line = line
        self.reason = reason
        self.text = text
    }
}

/// Reads the canonical JSON-lines event format (docs/events.md) straight into slots.
///
/// Hand-written rather than JSONSerialization/Codable: those build a dictionary of boxed
/// values per line, which alone would cost more than evaluating all the rules. This reader
/// walks the bytes once, looks each field up in a table built from the program, and converts
/// only the values some rule reads.
///
/// Two walks of the same grammar: `readFast` for the usual line (the quotes of the line found
/// first, sixteen bytes at a time, and no messages), and `parse`, which reads every line the
/// fast one declines and words the reason for each dead letter. They must accept the same
/// lines with the same values: a change to one is a change to the other.
///
/// A class, not a struct: the error messages' closures capture `self`, and capturing a struct
/// of tables copies (retains) every table on each value read.
public final class EventReader: Sendable {
    public let program: Program
    let eventIndex: [String: Int]
    /// By enum index: case name → case index.
    let enumCases: [[String: Int64]]
    /// Every name matched on a line (top-level keys, event types, fields, enum cases) as byte hash
    /// tables: a name on a line is found without making a String, usually in one probe.
    let names: NameTable
    /// Top-level keys: the reserved ones (`TopKey`), then the entities (value: the entity's index).
    let topKeys: NameTable.Handle
    let eventNames: NameTable.Handle
    /// By entity: the names of its fields some slot reads (value: the slot).
    let fieldNames: [NameTable.Handle]
    /// By enum: its cases (value: the case's index).
    let caseNames: [NameTable.Handle]
    /// By event type: the slots that must be present (required fields of carried entities).
    let requiredSlots: [[Int]]
    /// The same in one flat array, `requiredSlotsFlat[requiredStart[type]..<requiredStart[type + 1]]`:
    /// no nested array is touched (retained) per line.
    let requiredSlotsFlat: [Int]
    let requiredStart: [Int]
    /// By event type: bit `e` set when the type carries entity `e` (for the first 64 entities).
    let carried: [UInt64]

    let slotKinds: [RuntimeValue.Kind]
    let slotUnits: [Int32]

    public static let maximumDepth = 32

    /// The values of the reserved top-level keys in `topKeys` (entities are 0 and up).
    enum TopKey {
        static let event = -2, time = -3, id = -4
    }

    /// False only in tests: every line goes through the general reader, so that the two can be
    /// compared line by line.
    let fastPath: Bool

    public init(program: Program, fastPath: Bool = true) {
        self.program = program
        self.fastPath = fastPath
        eventIndex = Dictionary(uniqueKeysWithValues: program.events.enumerated().map { ($1.name, $0) })
        var fields = [[String: Int]](repeating: [:], count: program.entities.count)
        for (index, slot) in program.slots.enumerated() { fields[slot.entity][slot.field] = index }
        enumCases = program.enums.map { enumeration in
            Dictionary(uniqueKeysWithValues: enumeration.cases.enumerated().map { ($1, Int64($0)) })
        }
        slotKinds = program.slots.map(\.kind)
        slotUnits = program.slots.map(\.unit)
        carried = program.events.map { event in event.carries.reduce(UInt64(0)) { $1 < 64 ? $0 | (1 << UInt64($1)) : $0 } }
        var names = NameTable()
        // The reserved keys first: an entity of the same name is not reachable at the top level.
        topKeys = names.add([("event", TopKey.event), ("type", TopKey.event), ("time", TopKey.time), ("id", TopKey.id)]
            + program.entities.enumerated().map { ($1.name, $0) })
        eventNames = names.add(program.events.enumerated().map { ($1.name, $0) })
        fieldNames = program.entities.indices.map { entity in names.add(fields[entity].map { ($0.key, $0.value) }) }
        caseNames = program.enums.map { enumeration in names.add(enumeration.cases.enumerated().map { ($1, $0) }) }
        self.names = names
        requiredSlots = program.requiredSlotsByEvent
        requiredSlotsFlat = requiredSlots.flatMap { $0 }
        requiredStart = requiredSlots.reduce(into: [0]) { $0.append($0[$0.count - 1] + $1.count) }
    }

    struct Failure: Error { var reason: String }

    /// Parses one line into `event` (reusing its storage). Returns the reason when the line
    /// cannot be read.
    ///
    /// With `deferringStrings`, the fast path makes no `String`: the id and string fields stay
    /// positions in `line` until `Event.makeStrings(line)` (for a caller that drops most events
    /// unread, and keeps the line in memory meanwhile). The general path always makes them.
    public func read(_ line: UnsafeBufferPointer<UInt8>, number: Int, into event: inout Event, deferringStrings: Bool = false) -> String? {
        guard let base = line.baseAddress else {
            // An empty buffer may have no address: read it as an empty line at a real one.
            var nothing: UInt8 = 0
            return withUnsafePointer(to: &nothing) { read(UnsafeBufferPointer(start: $0, count: 0), number: number, into: &event) }
        }
        event.clearStrings()
        event.line = number
        event.id = ""
        event.deferredID = -1
        // The slots are written through a pointer, without a uniqueness check per value: moved
        // out of the event for the parse (so that they are not shared), and back.
        var slots = event.slots
        event.slots = []
        if slots.count < slotKinds.count { slots.append(contentsOf: repeatElement(.missing, count: slotKinds.count - slots.count)) }
        let failure = slots.withUnsafeMutableBufferPointer { slots -> String? in
            // (A literal: `.missing` is a global, read through its accessor.)
            slots.update(repeating: RuntimeValue(.missing, 0))
            if fastPath, PaddedLine.with(base, line.count, { line in readFast(line, slots, &event, deferring: deferringStrings) }) { return nil }
            // The general reader: every line the fast one declines, and the reason for each error.
            event.clearStrings()
            event.id = ""
            event.deferredID = -1
            slots.update(repeating: .missing)
            // Invalid UTF-8 anywhere on the line makes it a dead letter before anything else is said
            // about it: decoded, `S-\xff` and `S-\xfe` would both become `S-\u{FFFD}`, one key.
            if let offset = UTF8Validation.firstInvalidByte(in: UnsafeBufferPointer(start: base, count: line.count)) {
                return "invalid UTF-8 at byte \(offset + 1)"
            }
            var cursor = Cursor(base: base, count: line.count)
            do {
                try parse(&cursor, slots, &event)
                return nil
            } catch let failure as Failure {
                return failure.reason
            } catch {
                return "\(error)"
            }
        }
        event.slots = slots
        return failure
    }

    func parse(_ cursor: inout Cursor, _ slots: UnsafeMutableBufferPointer<RuntimeValue>, _ event: inout Event) throws {
        var type = -1
        var time: Int64? = nil
        // Entities are read after the type is known: remember where each object starts
        // (a fixed-size buffer: no allocation per line).
        var pending = (0, 0, 0, 0, 0, 0, 0, 0)
        var pendingCount = 0
        cursor.skipSpace()
        try cursor.expect(UInt8(ascii: "{"), "an event is a JSON object: {\"event\": ..., \"time\": ...}")
        cursor.skipSpace()
        if !cursor.take(UInt8(ascii: "}")) {
            repeat {
                cursor.skipSpace()
                let rawKey = try cursor.rawString()
                cursor.skipSpace()
                try cursor.expect(UInt8(ascii: ":"), "expected `:` after \"\(String(decoding: rawKey, as: UTF8.self))\"")
                cursor.skipSpace()
                let key = names.find(topKeys, rawKey, lineEnd: cursor.end)
                switch key {
                case TopKey.event:
                    let name = try cursor.rawString()
                    let index = names.find(eventNames, name, lineEnd: cursor.end)
                    guard index >= 0 else {
                        throw Failure(reason: "unknown event type \"\(String(decoding: name, as: UTF8.self))\"")
                    }
                    type = index
                case TopKey.time:
                    let start = cursor.position
                    _ = try cursor.stringBytes()
                    guard let ms = cursor.withStringBytes(from: start, TimeFormat.timestamp) else {
                        throw Failure(reason: "invalid time \(cursor.text(from: start)); write RFC 3339, e.g. \"2026-11-20T10:00:00Z\"")
                    }
                    time = ms
                case TopKey.id:
                    if cursor.peek == UInt8(ascii: "\"") { event.id = try cursor.string() } else {
                        let start = cursor.position
                        try cursor.skipValue(depth: 0)
                        event.id = cursor.text(from: start)
                    }
                default:
                    if key >= 0, key < 256, cursor.peek == UInt8(ascii: "{") {
                        let entity = key
                        if type >= 0 {
                            // The type came first (as it usually does): read the entity in this pass.
                            if carried[type] & (1 << UInt64(entity & 63)) != 0 { try readEntity(entity, &cursor, slots, &event) } else { try cursor.skipValue(depth: 0) }
                            cursor.skipSpace()
                            continue
                        }
                        guard pendingCount < 8 else { throw Failure(reason: "more than 8 entities on one event") }
                        let packed = cursor.position << 8 | entity
                        withUnsafeMutableBytes(of: &pending) { $0.storeBytes(of: packed, toByteOffset: pendingCount * MemoryLayout<Int>.stride, as: Int.self) }
                        pendingCount += 1
                    }
                    try cursor.skipValue(depth: 0)
                }
                cursor.skipSpace()
            } while cursor.take(UInt8(ascii: ","))
            try cursor.expect(UInt8(ascii: "}"), "expected `,` or `}`")
        }
        cursor.skipSpace()
        guard cursor.atEnd else { throw Failure(reason: "unexpected text after the event object") }
        guard type >= 0 else { throw Failure(reason: "no \"event\": every event names its type, e.g. \"event\": \"shipment.delivered\"") }
        guard let time else { throw Failure(reason: "no \"time\": every event has an RFC 3339 time") }
        event.type = type
        event.time = time
        for i in 0..<pendingCount {
            let packed = withUnsafeBytes(of: pending) { $0.load(fromByteOffset: i * MemoryLayout<Int>.stride, as: Int.self) }
            let entity = packed & 0xFF, start = packed >> 8
            guard carried[type] & (1 << UInt64(entity & 63)) != 0 else { continue }
            cursor.position = start
            try readEntity(entity, &cursor, slots, &event)
        }
        for index in requiredStart[type]..<requiredStart[type + 1] {
            let slot = requiredSlotsFlat[index]
            guard slots[slot].isMissing else { continue }
            let field = program.slots[slot]
            throw Failure(reason: "\(program.entities[field.entity].name).\(field.field) is missing; the schema requires it on \(program.events[type].name)")
        }
    }

    func readEntity(_ entity: Int, _ cursor: inout Cursor, _ slots: UnsafeMutableBufferPointer<RuntimeValue>, _ event: inout Event) throws {
        try cursor.expect(UInt8(ascii: "{"), "")
        cursor.skipSpace()
        if cursor.take(UInt8(ascii: "}")) { return }
        let fields = fieldNames[entity]
        repeat {
            cursor.skipSpace()
            let field = try cursor.rawString()
            cursor.skipSpace()
            try cursor.expect(UInt8(ascii: ":"), "expected `:` after \"\(String(decoding: field, as: UTF8.self))\"")
            cursor.skipSpace()
            let slot = names.find(fields, field, lineEnd: cursor.end)
            if slot >= 0 {
                slots[slot] = try value(for: slot, &cursor, event: &event)
            } else if cursor.peek == UInt8(ascii: "\"") {
                // Most fields no rule reads are strings: skipped without the general walk.
                _ = try cursor.stringBytes()
            } else {
                try cursor.skipValue(depth: 1)
            }
            cursor.skipSpace()
        } while cursor.take(UInt8(ascii: ","))
        try cursor.expect(UInt8(ascii: "}"), "expected `,` or `}`")
    }

    /// Converts the JSON value at the cursor to the slot's kind.
    func value(for slot: Int, _ cursor: inout Cursor, event: inout Event) throws -> RuntimeValue {
        // Kind and unit from flat tables: binding the slot's struct would retain its strings per value.
        let definition = (kind: slotKinds[slot], unit: slotUnits[slot])
        var name: String { "\(program.entities[program.slots[slot].entity].name).\(program.slots[slot].field)" }
        if cursor.takeWord("null") { return .missing }
        func wrong(_ expected: String) -> Failure {
            Failure(reason: "\(name) must be \(expected), found \(cursor.upcoming())")
        }
        switch definition.kind {
        case .bool:
            if cursor.takeWord("true") { return .true }
            if cursor.takeWord("false") { return .false }
            throw wrong("true or false")
        case .integer:
            guard let value = cursor.integer() else { throw wrong("a whole number") }
            return RuntimeValue(.integer, value)
        case .decimal:
            guard let value = cursor.decimal(places: 6) else { throw wrong("a number with at most 6 decimals") }
            return RuntimeValue(.decimal, value)
        case .string:
            guard cursor.peek == UInt8(ascii: "\"") else { throw wrong("a string") }
            event.strings.append(try cursor.string())
            return RuntimeValue(.string, Int64(event.strings.count - 1), unit: 1)
        case .enumCase:
            guard cursor.peek == UInt8(ascii: "\"") else { throw wrong("a case of \(program.enums[Int(definition.unit)].name)") }
            let text = try cursor.rawString()
            let index = names.find(caseNames[Int(definition.unit)], text, lineEnd: cursor.end)
            guard index >= 0 else {
                throw Failure(reason: "\(name): \"\(String(decoding: text, as: UTF8.self))\" is not a case of \(program.enums[Int(definition.unit)].name)")
            }
            return RuntimeValue(.enumCase, Int64(index), unit: definition.unit)
        case .money:
            let currency = program.currencies[Int(definition.unit)]
            return RuntimeValue(.money, try quoted(&cursor, { DecimalText.money($0, currency: currency) },
                                                   "\(name) must be an amount in \(currency.code) such as \"4.99 \(currency.code)\""), unit: definition.unit)
        case .percent:
            return RuntimeValue(.percent, try quoted(&cursor, DecimalText.percent, "\(name) must be a percentage such as \"2.5%\""))
        case .duration:
            return RuntimeValue(.duration, try quoted(&cursor, TimeFormat.duration, "\(name) must be a duration such as \"3d\" or \"-90m\""))
        case .timestamp:
            return RuntimeValue(.timestamp, try quoted(&cursor, TimeFormat.timestamp, "\(name) must be an RFC 3339 time such as \"2026-11-20T10:00:00Z\""))
        case .date:
            return RuntimeValue(.date, try quoted(&cursor, TimeFormat.date, "\(name) must be a date such as \"2026-11-20\""))
        case .list, .missing:
            try cursor.skipValue(depth: 1)
            return .missing
        }
    }

    /// A JSON string parsed by `parse`; the message (built only on failure) says what was expected.
    func quoted(_ cursor: inout Cursor, _ parse: (UnsafeBufferPointer<UInt8>) -> Int64?, _ expected: @autoclosure () -> String) throws -> Int64 {
        let start = cursor.position
        guard cursor.peek == UInt8(ascii: "\"") else { throw Failure(reason: "\(expected()), found \(cursor.upcoming())") }
        _ = try cursor.stringBytes()
        guard let value = cursor.withStringBytes(from: start, parse) else {
            throw Failure(reason: "\(expected()), found \(cursor.text(from: start))")
        }
        return value
    }
}

/// A position in one line of JSON. The bytes are read through a plain pointer: every read is
/// guarded by an explicit `position < count` test (or a longer span checked once), so the hot
/// loops carry no other bounds checks.
struct Cursor {
    let base: UnsafePointer<UInt8>
    let count: Int
    var position = 0

    init(base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.count = count
    }

    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }
    /// Just after the last byte of the line.
    var end: UnsafePointer<UInt8> { base + count }
    var atEnd: Bool { position >= count }
    @inline(__always) var peek: UInt8 { position < count ? base[position] : 0 }

    @inline(__always) mutating func skipSpace() {
        // Events are mostly written without spaces: one test when the next byte is not blank
        // (all of space, tab, CR and LF are at most 32).
        guard position < count, base[position] <= 32 else { return }
        while position < count, base[position] == 32 || base[position] == 9 || base[position] == 13 || base[position] == 10 {
            position += 1
        }
    }

    @inline(__always) mutating func take(_ byte: UInt8) -> Bool {
        if peek == byte { position += 1; return true }
        return false
    }

    /// The message is built only when the byte is not there (it is on the hot path).
    @inline(__always) mutating func expect(_ byte: UInt8, _ message: @autoclosure () -> String) throws {
        guard take(byte) else {
            let text = message()
            throw EventReader.Failure(reason: text.isEmpty ? "malformed JSON at column \(position + 1)" : "\(text) (column \(position + 1))")
        }
    }

    /// The bytes of the string at the cursor (escapes left as they are), advancing past it.
    @inline(__always) mutating func rawString() throws -> UnsafeBufferPointer<UInt8> {
        let start = position
        _ = try stringBytes()
        return UnsafeBufferPointer(start: base + (start + 1), count: position - start - 2)
    }

    @inline(__always) mutating func takeWord(_ word: StaticString) -> Bool {
        let length = word.utf8CodeUnitCount
        guard position + length <= count else { return false }
        for i in 0..<length where base[position + i] != word.utf8Start[i] { return false }
        position += length
        return true
    }

    /// The value at the cursor as written (for messages), without moving the cursor.
    func upcoming(limit: Int = 40) -> String {
        var probe = self
        let start = probe.position
        try? probe.skipValue(depth: 1)
        if probe.position == start { probe.position = min(count, start + 1) }
        return probe.text(from: start, limit: limit)
    }

    func text(from start: Int, limit: Int = 80) -> String {
        let end = min(count, max(start, position), start + limit)
        let shown = String(decoding: UnsafeBufferPointer(rebasing: bytes[min(start, count)..<max(min(start, count), end)]), as: UTF8.self)
        return shown.isEmpty ? "nothing" : shown
    }

    /// Skips a string; returns whether it contained escapes. Eight bytes at a time (SWAR: a
    /// quote or backslash byte is found with integer arithmetic on a 64-bit word), then byte by
    /// byte near the end of the line: the strings of an event are short, and a library call
    /// per string would cost more than the scan.
    @inline(__always) mutating func stringBytes() throws -> Bool {
        guard take(UInt8(ascii: "\"")) else { throw EventReader.Failure(reason: "expected a string at column \(position + 1)") }
        let end = count
        var i = position
        var escaped = false
        while i + 8 <= end {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
            let found = Cursor.zeroBytes(word ^ 0x2222_2222_2222_2222) | Cursor.zeroBytes(word ^ 0x5C5C_5C5C_5C5C_5C5C)
            if found == 0 {
                i += 8
                continue
            }
            // The lowest flagged byte is exact (borrows only run upwards).
            i += found.trailingZeroBitCount / 8
            if base[i] == 34 {
                position = i + 1
                return escaped
            }
            // A backslash escapes the next byte (`\"` does not end the string).
            escaped = true
            i += 2
        }
        while i < end {
            let byte = base[i]
            if byte == 34 {
                position = i + 1
                return escaped
            }
            if byte == 92 {
                escaped = true
                i += 2
                continue
            }
            i += 1
        }
        position = end
        throw EventReader.Failure(reason: "unterminated string")
    }

    /// The high bit of each zero byte of `x` (exact for the lowest zero byte).
    @inline(__always) static func zeroBytes(_ x: UInt64) -> UInt64 {
        (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
    }

    /// Calls `body` with the bytes between the quotes of the string that starts at `start`
    /// (escapes are not expected in times, amounts and durations).
    @inline(__always) func withStringBytes<T>(from start: Int, _ body: (UnsafeBufferPointer<UInt8>) -> T?) -> T? {
        guard position - start >= 2 else { return nil }
        return body(UnsafeBufferPointer(start: base + (start + 1), count: position - start - 2))
    }

    mutating func string() throws -> String {
        let start = position
        let escaped = try stringBytes()
        let body = UnsafeBufferPointer(start: base + (start + 1), count: position - start - 2)
        if !escaped { return String(decoding: body, as: UTF8.self) }
        var result: [UInt8] = []
        result.reserveCapacity(body.count)
        var i = 0
        while i < body.count {
            let b = body[i]
            guard b == UInt8(ascii: "\\"), i + 1 < body.count else { result.append(b); i += 1; continue }
            let e = body[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): result.append(10)
            case UInt8(ascii: "t"): result.append(9)
            case UInt8(ascii: "r"): result.append(13)
            case UInt8(ascii: "b"): result.append(8)
            case UInt8(ascii: "f"): result.append(12)
            case UInt8(ascii: "u"):
                guard i + 4 <= body.count, let code = UInt32(String(decoding: UnsafeBufferPointer(rebasing: body[i..<(i + 4)]), as: UTF8.self), radix: 16) else {
                    throw EventReader.Failure(reason: "invalid \\u escape in a string")
                }
                i += 4
                var value = code
                // A high surrogate and the low one after it (`\uD83D\uDE00`) are one character.
                if (0xD800...0xDBFF).contains(code), i + 6 <= body.count, body[i] == 92, body[i + 1] == UInt8(ascii: "u"),
                   let low = UInt32(String(decoding: UnsafeBufferPointer(rebasing: body[(i + 2)..<(i + 6)]), as: UTF8.self), radix: 16),
                   (0xDC00...0xDFFF).contains(low) {
                    value = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                // Half a surrogate pair is no character: replaced by U+FFFD, `\uDCFF` and `\uDCFE`
                // would make one key of two, as invalid UTF-8 would.
                guard let scalar = Unicode.Scalar(value) else {
                    throw EventReader.Failure(reason: "invalid \\u escape in a string: \\u\(String(decoding: UnsafeBufferPointer(rebasing: body[(i - 4)..<i]), as: UTF8.self)) is half of a surrogate pair")
                }
                result.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: result.append(e)
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    mutating func integer() -> Int64? {
        let start = position
        if peek == UInt8(ascii: "-") { position += 1 }
        var value: Int64 = 0
        var digits = 0
        while position < count, base[position] >= 48, base[position] <= 57 {
            guard digits < 18 else { return nil }
            value = value * 10 + Int64(base[position] - 48)
            digits += 1
            position += 1
        }
        guard digits > 0, peek != UInt8(ascii: "."), peek != UInt8(ascii: "e"), peek != UInt8(ascii: "E") else {
            position = start
            return nil
        }
        return base[start] == UInt8(ascii: "-") ? -value : value
    }

    /// A JSON number (or a string holding one) with at most `places` decimals, scaled.
    mutating func decimal(places: Int) -> Int64? {
        let quoted = peek == UInt8(ascii: "\"")
        if quoted { position += 1 }
        let start = position
        while position < count, (base[position] >= 48 && base[position] <= 57) || base[position] == 46 || base[position] == 45 {
            position += 1
        }
        let value = DecimalText.fixed(UnsafeBufferPointer(start: base + start, count: position - start), places: places)
        if quoted, !take(UInt8(ascii: "\"")) { return nil }
        return value
    }

    /// Skips any JSON value, refusing nesting deeper than `EventReader.maximumDepth`.
    mutating func skipValue(depth: Int) throws {
        guard depth < EventReader.maximumDepth else { throw EventReader.Failure(reason: "JSON nested too deeply") }
        skipSpace()
        switch peek {
        case UInt8(ascii: "\""):
            _ = try stringBytes()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = peek == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            position += 1
            skipSpace()
            if take(close) { return }
            repeat {
                skipSpace()
                if isObject {
                    _ = try stringBytes()
                    skipSpace()
                    try expect(UInt8(ascii: ":"), "expected `:`")
                }
                // Strings need no recursion (they are most of what is skipped), unless too deep.
                if peek == UInt8(ascii: "\""), depth + 1 < EventReader.maximumDepth { _ = try stringBytes() } else { try skipValue(depth: depth + 1) }
                skipSpace()
            } while take(UInt8(ascii: ","))
            try expect(close, "expected `,` or `\(isObject ? "}" : "]")`")
        case UInt8(ascii: "t"): guard takeWord("true") else { throw EventReader.Failure(reason: "malformed JSON at column \(position + 1)") }
        case UInt8(ascii: "f"): guard takeWord("false") else { throw EventReader.Failure(reason: "malformed JSON at column \(position + 1)") }
        case UInt8(ascii: "n"): guard takeWord("null") else { throw EventReader.Failure(reason: "malformed JSON at column \(position + 1)") }
        default:
            let start = position
            numbers: while position < count {
                switch base[position] {
                case 48...57, 45, 43, 46, 101, 69: position += 1  // digits - + . e E
                default: break numbers
                }
            }
            guard position > start else { throw EventReader.Failure(reason: "malformed JSON at column \(position + 1)") }
        }
    }
}

/// A UTF-8 byte order mark that some exporters write before the first line: not part of it.
/// (Public for the commands that split a file into lines themselves, as `explain` does.)
@inline(__always) public func withoutByteOrderMark(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
    guard line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF else { return line }
    return UnsafeBufferPointer(rebasing: line[3...])
}

/// Names (the top-level keys, the event types, the fields of each entity, the cases of each
/// enum) as UTF-8 bytes in small open-addressing hash tables, all in one flat array. A name on
/// a line is hashed from its length and first eight bytes, loaded as one word, and compared a
/// word at a time: no String is made for it, no library call, and one probe usually finds it
/// (or finds that it is not there).
struct NameTable: Sendable {
    /// One table: where its places start in `entries`, and its size minus one (a power of two).
    struct Handle: Sendable {
        var start: Int
        var mask: Int
    }

    /// A place: the name's first 24 bytes as little-endian words (zero-padded), its length (-1
    /// for an empty place) and its value.
    struct Entry: Sendable {
        var word = (UInt64(0), UInt64(0), UInt64(0))
        var length: Int32 = -1
        var value: Int32 = 0
    }

    private(set) var entries: [Entry] = []
    /// By place: for a name longer than 24 bytes, where its further bytes start in `words`.
    private(set) var rests: [Int] = []
    private(set) var words: [UInt64] = []

    /// Adds a table of names and their values (of equal names the first is kept); returns its handle.
    mutating func add(_ names: [(String, Int)]) -> Handle {
        var size = 1
        // At most an eighth full: an empty place always ends a probe, and a name that is not
        // there (a field no rule reads) usually meets an empty place at once.
        while size < 8 * names.count { size *= 2 }
        let table = Handle(start: entries.count, mask: size - 1)
        entries.append(contentsOf: repeatElement(Entry(), count: size))
        rests.append(contentsOf: repeatElement(0, count: size))
        for (name, value) in names {
            // Zero bytes after the name: it is read a word at a time, as on a padded line.
            let bytes = Array(name.utf8) + [UInt8](repeating: 0, count: 24)
            let length = bytes.count - 24
            bytes.withUnsafeBufferPointer { buffer in
                guard let start = buffer.baseAddress, find(table, start, length, readable: buffer.count) < 0 else { return }
                let word = (Self.word(start, length, readable: buffer.count), Self.word(start + 8, length - 8, readable: buffer.count - 8),
                            Self.word(start + 16, length - 16, readable: buffer.count - 16))
                var index = Self.hash(word.0, length) & table.mask
                while entries[table.start + index].length >= 0 { index = (index + 1) & table.mask }
                entries[table.start + index] = Entry(word: word, length: Int32(length), value: Int32(value))
                rests[table.start + index] = words.count
                for offset in stride(from: 24, to: length, by: 8) {
                    words.append(Self.word(start + offset, length - offset, readable: buffer.count - offset))
                }
            }
        }
        return table
    }

    /// The value of `name` in `table`, or -1. The bytes of `name` must be readable up to `lineEnd`
    /// (a name on a line is followed at least by its closing quote).
    @inline(__always) func find(_ table: Handle, _ name: UnsafeBufferPointer<UInt8>, lineEnd: UnsafePointer<UInt8>) -> Int {
        guard let start = name.baseAddress else { return -1 }
        return find(table, start, name.count, readable: start.distance(to: lineEnd))
    }

    @inline(__always) func find(_ table: Handle, _ start: UnsafePointer<UInt8>, _ length: Int, readable: Int) -> Int {
        entries.withUnsafeBufferPointer { entries in
            guard let entries = entries.baseAddress else { return -1 }
            return find(entries, table, start, length, readable: readable)
        }
    }

    /// The same for a name in a `PaddedLine` (its bytes can be read a word at a time), with
    /// `entries` from `withUnsafeBufferPointer` (no bounds check, no reload per name).
    @inline(__always) func find(_ entries: UnsafePointer<Entry>, _ table: Handle, _ name: UnsafeBufferPointer<UInt8>) -> Int {
        guard let start = name.baseAddress else { return -1 }
        return find(entries, table, start, name.count, readable: name.count &+ 8)
    }

    @inline(__always) func find(_ entries: UnsafePointer<Entry>, _ table: Handle, _ start: UnsafePointer<UInt8>, _ length: Int, readable: Int) -> Int {
        let word = Self.word(start, length, readable: readable)
        var index = Self.hash(word, length) & table.mask
        while true {
            let place = table.start &+ index
            let entry = entries[place]
            if entry.length < 0 { return -1 }
            if Int(entry.length) == length, entry.word.0 == word, length <= 8 || sameRest(entry, place, start, length, readable) {
                return Int(entry.value)
            }
            index = (index &+ 1) & table.mask
        }
    }

    /// Whether the bytes of a name after its first eight equal those of `entry` (out of line:
    /// most names are short, and the comparison would cost registers where they are looked up).
    @inline(never)
    func sameRest(_ entry: Entry, _ place: Int, _ start: UnsafePointer<UInt8>, _ length: Int, _ readable: Int) -> Bool {
        guard entry.word.1 == Self.word(start + 8, length - 8, readable: readable - 8) else { return false }
        guard length > 16 else { return true }
        guard entry.word.2 == Self.word(start + 16, length - 16, readable: readable - 16) else { return false }
        var position = rests[place]
        for offset in stride(from: 24, to: length, by: 8) {
            if words[position] != Self.word(start + offset, length - offset, readable: readable - offset) { return false }
            position += 1
        }
        return true
    }

    /// Up to eight bytes of a name from `start` (fewer at its end, zero-padded; none when
    /// `length` is not positive) as a little-endian word: one load when eight bytes can be read
    /// there, byte by byte near the end of the line.
    @inline(__always) static func word(_ start: UnsafePointer<UInt8>, _ length: Int, readable: Int) -> UInt64 {
        guard length > 0 else { return 0 }
        if readable >= 8 {
            let word = UInt64(littleEndian: UnsafeRawPointer(start).loadUnaligned(as: UInt64.self))
            return length >= 8 ? word : word & ((1 &<< UInt64(truncatingIfNeeded: length &* 8)) &- 1)
        }
        var word: UInt64 = 0
        for i in 0..<min(length, 8) { word |= UInt64(start[i]) &<< UInt64(8 * i) }
        return word
    }

    /// From the first eight bytes and the length (names that share their first eight bytes take
    /// a second probe or a third).
    @inline(__always) static func hash(_ word: UInt64, _ length: Int) -> Int {
        Int(truncatingIfNeeded: ((word &+ UInt64(truncatingIfNeeded: length)) &* 0x9E37_79B9_7F4A_7C15) >> 40)
    }
}

// MARK: - The fast path

extension EventReader {
    /// `parse` for the usual line, without the messages and about twice as fast. The line is
    /// copied to the stack with zero bytes after it (`PaddedLine`) and its quotes are indexed
    /// first: strings end where the index says, no byte needs a bounds check, and the common
    /// compact form (`"key":"value",`) is recognised a few bytes at a time. It declines (false)
    /// every line it does not read exactly as `parse` would: an error anywhere, an entity before
    /// the event type, an `id` that is not a string. `read` then reads the line again with
    /// `parse`, which also words the reason for a dead letter.
    func readFast(_ line: PaddedLine, _ slots: UnsafeMutableBufferPointer<RuntimeValue>, _ event: inout Event, deferring: Bool = false) -> Bool {
        names.entries.withUnsafeBufferPointer { entries in
            guard let entries = entries.baseAddress else { return false }
            var s = QuoteCursor(line)
            var type = -1
            var time: Int64 = 0
            var timed = false
            s.skipSpace()
            guard s.take(UInt8(ascii: "{")) else { return false }
            s.skipSpace()
            while true {
                guard let key = s.string() else { return false }
                let found = names.find(entries, topKeys, key)
                if !s.takeColon() { return false }
                switch found {
                case TopKey.event:
                    guard let name = s.string() else { return false }
                    type = names.find(entries, eventNames, name)
                    guard type >= 0 else { return false }
                case TopKey.time:
                    guard let text = s.string(), let ms = TimeFormat.timestamp(text) else { return false }
                    time = ms
                    timed = true
                case TopKey.id:
                    guard let text = s.string() else { return false }
                    if deferring {
                        event.deferredID = Int64(line.base.distance(to: text.baseAddress ?? line.base)) << 32 | Int64(text.count)
                    } else {
                        event.id = Self.string(text)
                    }
                default:
                    if s.peek == UInt8(ascii: "\"") {
                        guard s.string() != nil else { return false }
                    } else if found >= 0, found < 256, s.peek == UInt8(ascii: "{") {
                        guard type >= 0 else { return false }
                        if carried[type] & (1 << UInt64(found & 63)) != 0 {
                            // The entity's fields, read here (not in a function of their own: the
                            // cursor stays in registers).
                            s.position &+= 1
                            s.skipSpace()
                            if !s.take(UInt8(ascii: "}")) {
                                let fields = fieldNames[found]
                                while true {
                                    guard let key = s.string() else { return false }
                                    let slot = names.find(entries, fields, key)
                                    if !s.takeColon() { return false }
                                    if s.peek == UInt8(ascii: "\"") {
                                        guard let text = s.string() else { return false }
                                        if slot >= 0 {
                                            guard let value = deferring && slotKinds[slot] == .string
                                                ? RuntimeValue(.string, Int64(line.base.distance(to: text.baseAddress ?? line.base)) << 32 | Int64(text.count), unit: 2)
                                                : stringValue(slot, text, entries, &event) else { return false }
                                            slots[slot] = value
                                        }
                                    } else if slot >= 0 {
                                        guard let value = s.withCursor({ otherValue(slot, &$0) }) else { return false }
                                        slots[slot] = value
                                    } else {
                                        guard s.skipValue(depth: 1) else { return false }
                                    }
                                    if !s.takeComma() { break }
                                }
                                guard s.take(UInt8(ascii: "}")) else { return false }
                            }
                        } else {
                            guard s.skipValue(depth: 0) else { return false }
                        }
                    } else {
                        guard s.skipValue(depth: 0) else { return false }
                    }
                }
                if !s.takeComma() { break }
            }
            guard s.take(UInt8(ascii: "}")) else { return false }
            s.skipSpace()
            guard s.position == line.count, type >= 0, timed else { return false }
            for index in requiredStart[type]..<requiredStart[type + 1] where slots[requiredSlotsFlat[index]].isMissing { return false }
            event.type = type
            event.time = time
            return true
        }
    }

    /// `value(for:)` of a string value (its bytes between the quotes), without the messages: nil where it throws.
    func stringValue(_ slot: Int, _ text: UnsafeBufferPointer<UInt8>, _ entries: UnsafePointer<NameTable.Entry>, _ event: inout Event) -> RuntimeValue? {
        let unit = slotUnits[slot]
        switch slotKinds[slot] {
        case .string:
            event.strings.append(Self.string(text))
            return RuntimeValue(.string, Int64(event.strings.count - 1), unit: 1)
        case .enumCase:
            let index = names.find(entries, caseNames[Int(unit)], text)
            return index >= 0 ? RuntimeValue(.enumCase, Int64(index), unit: unit) : nil
        case .duration: return TimeFormat.duration(text).map { RuntimeValue(.duration, $0) }
        case .timestamp: return TimeFormat.timestamp(text).map { RuntimeValue(.timestamp, $0) }
        case .date: return TimeFormat.date(text).map { RuntimeValue(.date, $0) }
        case .percent: return DecimalText.percent(text).map { RuntimeValue(.percent, $0) }
        case .money: return DecimalText.money(text, currency: program.currencies[Int(unit)]).map { RuntimeValue(.money, $0, unit: unit) }
        case .decimal:
            // `Cursor.decimal` reads a quoted number only when nothing else is between the quotes.
            guard text.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 45 }) else { return nil }
            return DecimalText.fixed(text, places: 6).map { RuntimeValue(.decimal, $0) }
        case .bool, .integer: return nil
        case .list, .missing: return .missing
        }
    }

    /// `String(decoding:as:)`, the same string made with about half the work for the short
    /// strings of an event. (Nothing is repaired: a line that is not UTF-8 is never read.)
    @inline(__always) static func string(_ text: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: text.count) { buffer in
            _ = buffer.initialize(from: text)
            return text.count
        }
    }

    /// `value(for:)` of a value that is not a string, without the messages: nil where it throws.
    func otherValue(_ slot: Int, _ cursor: inout Cursor) -> RuntimeValue? {
        if cursor.takeWord("null") { return .missing }
        switch slotKinds[slot] {
        case .bool: return cursor.takeWord("true") ? .true : cursor.takeWord("false") ? .false : nil
        case .integer: return cursor.integer().map { RuntimeValue(.integer, $0) }
        case .decimal: return cursor.decimal(places: 6).map { RuntimeValue(.decimal, $0) }
        case .list, .missing: return (try? cursor.skipValue(depth: 1)) != nil ? .missing : nil
        case .string, .enumCase, .money, .percent, .duration, .timestamp, .date: return nil
        }
    }
}

/// A copy of a line with zero bytes after it, and the positions of its quotes as a bitmap, both
/// on the stack. The padding lets the fast path read a word at any position of the line and
/// peek without a bounds check: a zero byte matches nothing it looks for.
struct PaddedLine {
    let base: UnsafePointer<UInt8>
    let count: Int
    let quotes: UnsafePointer<UInt64>

    /// Lines longer than this are left to the general reader. `withUnsafeTemporaryAllocation`
    /// keeps up to 1 KiB on the stack, and more where the thread's stack has room (else it
    /// allocates): the limit was 832 bytes, and the events of rules/shop's history (844 bytes
    /// at the median) went to the general reader, at twice the cost, more often than not.
    static let maximumLength = 16_320

    /// Calls `body` with the padded copy, or returns false when the line is long, has a
    /// backslash (a string's end is then not simply the next quote) or is not valid UTF-8.
    @inline(__always) static func with(_ line: UnsafePointer<UInt8>, _ count: Int, _ body: (PaddedLine) -> Bool) -> Bool {
        guard count <= maximumLength else { return false }
        // Whole 64-byte blocks (one bitmap word each) and eight bytes more for the last word
        // read; one bitmap word more for the mark at `count`.
        let words = count >> 6 + 1
        let bytes = words << 6 + 8
        return withUnsafeTemporaryAllocation(byteCount: words << 3 + bytes, alignment: 16) { buffer in
            guard let start = buffer.baseAddress else { return false }
            let quotes = start.bindMemory(to: UInt64.self, capacity: words)
            let copy = (start + words << 3).bindMemory(to: UInt8.self, capacity: bytes)
            copy.update(from: line, count: count)
            (copy + count).update(repeating: 0, count: bytes - count)
            let scan = indexQuotes(copy, words, quotes)
            guard !scan.backslash else { return false }
            // A byte of 0x80 or more, seen while the quotes were indexed (so an ASCII line, the
            // usual one, costs one OR per sixteen bytes): the line must be valid UTF-8, or the
            // general reader makes it a dead letter.
            if scan.nonASCII, UTF8Validation.firstInvalidByte(in: UnsafeBufferPointer(start: line, count: count)) != nil { return false }
            // A mark at the end of the line, where no string ends (the byte there is zero): the
            // search for the next quote always stops.
            quotes[count >> 6] |= 1 &<< UInt64(count & 63)
            return body(PaddedLine(base: copy, count: count, quotes: quotes))
        }
    }

    /// Writes the bitmap of the quotes of `words` 64-byte blocks, and says whether there is a
    /// backslash and whether there is a byte of 0x80 or more (not ASCII). Sixteen bytes at a time
    /// with SSE2 on x86-64, eight with integer arithmetic elsewhere.
    @inline(__always) static func indexQuotes(_ base: UnsafePointer<UInt8>, _ words: Int, _ bits: UnsafeMutablePointer<UInt64>) -> (backslash: Bool, nonASCII: Bool) {
        #if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
        let quote = _mm_set1_epi8(34), backslash = _mm_set1_epi8(92)
        var backslashes = _mm_setzero_si128(), high = _mm_setzero_si128()
        @inline(__always) func quotes(_ at: Int) -> UInt64 {
            let chunk = UnsafeRawPointer(base + at).loadUnaligned(as: __m128i.self)
            backslashes = _mm_or_si128(backslashes, _mm_cmpeq_epi8(chunk, backslash))
            high = _mm_or_si128(high, chunk)
            return UInt64(UInt16(truncatingIfNeeded: _mm_movemask_epi8(_mm_cmpeq_epi8(chunk, quote))))
        }
        for word in 0..<words {
            let at = word &<< 6
            bits[word] = quotes(at) | quotes(at &+ 16) &<< 16 | quotes(at &+ 32) &<< 32 | quotes(at &+ 48) &<< 48
        }
        // `movemask` gathers the high bit of each byte: of the OR of all chunks, any byte's.
        return (_mm_movemask_epi8(backslashes) != 0, _mm_movemask_epi8(high) != 0)
        #else
        var backslashes: UInt64 = 0, high: UInt64 = 0
        for word in 0..<words {
            var found: UInt64 = 0
            for part in 0..<8 {
                let chunk = UInt64(littleEndian: UnsafeRawPointer(base + (word &<< 6 | part &<< 3)).loadUnaligned(as: UInt64.self))
                backslashes |= Cursor.zeroBytes(chunk ^ 0x5C5C_5C5C_5C5C_5C5C)
                high |= chunk
                // Exact zero bytes (no borrow between bytes), gathered to one bit per byte.
                let x = chunk ^ 0x2222_2222_2222_2222
                let zero = ~(((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | x) & 0x8080_8080_8080_8080
                found |= (((zero >> 7) &* 0x0102_0408_1020_4080) >> 56) &<< UInt64(part &<< 3)
            }
            bits[word] = found
        }
        return (backslashes != 0, high & 0x8080_8080_8080_8080 != 0)
        #endif
    }
}

/// A position in a `PaddedLine`, and the quotes after it: all quotes before the position have
/// been taken from the bitmap, and none after it (the word being read, and its quotes not yet
/// taken). `string` relies on it; `withCursor`, which lets `Cursor` move on, takes them up again.
struct QuoteCursor {
    let base: UnsafePointer<UInt8>
    let count: Int
    let quotes: UnsafePointer<UInt64>
    var position = 0
    var word = 0
    var mask: UInt64

    init(_ line: PaddedLine) {
        base = line.base
        count = line.count
        quotes = line.quotes
        mask = line.quotes[0]
    }

    /// The byte at the position (a zero byte after the end of the line).
    @inline(__always) var peek: UInt8 { base[position] }

    @inline(__always) mutating func skipSpace() {
        // Blanks are all at most 32: one test for the usual case of none.
        guard base[position] <= 32 else { return }
        while base[position] == 32 || base[position] == 9 || base[position] == 13 || base[position] == 10 {
            position &+= 1
        }
    }

    @inline(__always) mutating func take(_ byte: UInt8) -> Bool {
        guard base[position] == byte else { return false }
        position &+= 1
        return true
    }

    /// The two bytes at the position as one number (the first in the low byte).
    @inline(__always) var pair: UInt16 { UInt16(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt16.self)) }

    /// The colon after a key, with any blanks around it. Usually it is followed right away by a
    /// quote or a brace, found with one comparison.
    @inline(__always) mutating func takeColon() -> Bool {
        let pair = pair
        if pair == 0x223A || pair == 0x7B3A {  // `:"` `:{`
            position &+= 1
            return true
        }
        skipSpace()
        guard take(UInt8(ascii: ":")) else { return false }
        skipSpace()
        return true
    }

    /// The comma after a value and the blanks after it (true), or the blanks before what is
    /// there instead (false).
    @inline(__always) mutating func takeComma() -> Bool {
        if pair == 0x222C {  // `,"`
            position &+= 1
            return true
        }
        skipSpace()
        guard take(UInt8(ascii: ",")) else { return false }
        skipSpace()
        return true
    }

    /// Moves the quote index to the next quote (reading on in the bitmap when this word has none
    /// left; the mark at the end of the line stops it).
    @inline(__always) mutating func refill() {
        while mask == 0 {
            word &+= 1
            mask = quotes[word]
        }
    }

    /// The string at the position (its bytes between the quotes), moving past it; nil when there
    /// is no string there or it does not end. The line has no backslash: a string ends at the
    /// next quote.
    @inline(__always) mutating func string() -> UnsafeBufferPointer<UInt8>? {
        // A string starts here when the next quote of the index is here (checked rather than
        // assumed: were the index ever behind, the line would be declined, not misread).
        refill()
        guard word &<< 6 | mask.trailingZeroBitCount == position else { return nil }
        mask &= mask &- 1
        refill()
        let close = word &<< 6 | mask.trailingZeroBitCount
        mask &= mask &- 1
        guard close < count else { return nil }
        let start = position &+ 1
        position = close &+ 1
        return UnsafeBufferPointer(start: base + start, count: close &- start)
    }

    /// `body` with a `Cursor` at the position, for what the fast path leaves to it; then at
    /// where the cursor ends, with the quotes it passed taken.
    @inline(__always) mutating func withCursor<T>(_ body: (inout Cursor) -> T) -> T {
        var cursor = Cursor(base: base, count: count)
        cursor.position = position
        let result = body(&cursor)
        position = min(cursor.position, count)
        word = position >> 6
        mask = quotes[word] & (~0 &<< UInt64(position & 63))
        return result
    }

    /// Skips a value as `Cursor.skipValue` does: strings here, the rest by the cursor.
    @inline(__always) mutating func skipValue(depth: Int) -> Bool {
        if base[position] == UInt8(ascii: "\"") { return string() != nil }
        return withCursor { (try? $0.skipValue(depth: depth)) != nil }
    }
}
