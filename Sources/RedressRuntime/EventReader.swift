#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
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
    public var slots: [RuntimeValue]
    /// Strings of this event; string slots refer to them with `unit == 1`.
    public var strings: [String]

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
/// A class, not a struct: the error messages' closures capture `self`, and capturing a struct
/// of tables copies (retains) every table on each value read.
public final class EventReader: Sendable {
    let program: Program
    let eventIndex: [String: Int]
    /// By enum index: case name → case index.
    let enumCases: [[String: Int64]]
    // The same tables as byte strings: names on a line are matched without making a String.
    let eventNames: ByteTable
    let entityNames: ByteTable
    let fieldNames: [ByteTable]
    let fieldSlotList: [[Int]]
    let caseNames: [ByteTable]
    /// By event type: the slots that must be present (required fields of carried entities).
    let requiredSlots: [[Int]]
    /// By event type: bit `e` set when the type carries entity `e` (for the first 64 entities).
    let carried: [UInt64]

    let slotKinds: [RuntimeValue.Kind]
    let slotUnits: [Int32]

    public static let maximumDepth = 32

    public init(program: Program) {
        self.program = program
        eventIndex = Dictionary(uniqueKeysWithValues: program.events.enumerated().map { ($1.name, $0) })
        var fields = [[String: Int]](repeating: [:], count: program.entities.count)
        for (index, slot) in program.slots.enumerated() { fields[slot.entity][slot.field] = index }
        enumCases = program.enums.map { enumeration in
            Dictionary(uniqueKeysWithValues: enumeration.cases.enumerated().map { ($1, Int64($0)) })
        }
        slotKinds = program.slots.map(\.kind)
        slotUnits = program.slots.map(\.unit)
        carried = program.events.map { event in event.carries.reduce(UInt64(0)) { $1 < 64 ? $0 | (1 << UInt64($1)) : $0 } }
        eventNames = ByteTable(program.events.map(\.name))
        entityNames = ByteTable(program.entities.map(\.name))
        var names: [ByteTable] = []
        var slotLists: [[Int]] = []
        for entity in program.entities.indices {
            let pairs = fields[entity].sorted { $0.value < $1.value }
            names.append(ByteTable(pairs.map(\.key)))
            slotLists.append(pairs.map(\.value))
        }
        fieldNames = names
        fieldSlotList = slotLists
        caseNames = program.enums.map { ByteTable($0.cases) }
        // A required field must be there only when something evaluated for this event type reads
        // it: a rule it triggers, an aggregate it feeds, or an absence rule waiting for it.
        var needed = [Set<Int>](repeating: [], count: program.events.count)
        for rule in program.rules {
            var slots = Set(rule.reads + [rule.subjectKey.slot] + (rule.customerKey.map { [$0.slot] } ?? []))
            slots.formUnion((rule.limits + rule.caps + program.policies).map(\.key.slot))
            if let group = rule.group { slots.insert(program.groups[group].key.slot) }
            for node in [rule.condition, rule.rollout, rule.absence?.deadline].compactMap({ $0 }) + rule.actions.flatMap({ [$0.amount, $0.channelValue].compactMap { $0 } }) {
                slots.formUnion(EventReader.slots(in: node))
            }
            for trigger in rule.triggers { needed[trigger].formUnion(slots) }
            if let absence = rule.absence { needed[absence.event].insert(rule.subjectKey.slot) }
        }
        for aggregate in program.aggregates {
            var slots: Set<Int> = [aggregate.per.slot]
            for node in [aggregate.filter, aggregate.value].compactMap({ $0 }) { slots.formUnion(EventReader.slots(in: node)) }
            needed[aggregate.event].formUnion(slots)
        }
        requiredSlots = program.events.indices.map { type in
            needed[type].filter { !program.slots[$0].optional && program.events[type].carries.contains(program.slots[$0].entity) }.sorted()
        }
    }

    static func slots(in node: Node) -> Set<Int> {
        var result: Set<Int> = node.operation == .slot ? [node.index ?? 0] : []
        for child in node.children { result.formUnion(slots(in: child)) }
        for arm in node.arms ?? [] {
            for pattern in arm.patterns { result.formUnion(slots(in: pattern)) }
            result.formUnion(slots(in: arm.value))
        }
        if let otherwise = node.otherwise { result.formUnion(slots(in: otherwise)) }
        return result
    }

    struct Failure: Error { var reason: String }

    /// Parses one line into `event` (reusing its storage). Returns the reason when the line
    /// cannot be read.
    public func read(_ line: UnsafeBufferPointer<UInt8>, number: Int, into event: inout Event) -> String? {
        for i in event.slots.indices { event.slots[i] = .missing }
        event.strings.removeAll(keepingCapacity: true)
        event.line = number
        event.id = ""
        var cursor = Cursor(bytes: line)
        do {
            var type: Int? = nil
            var time: Int64? = nil
            // Entities are read after the type is known: remember where each object starts
            // (a fixed-size buffer: no allocation per line).
            var pending = (0, 0, 0, 0, 0, 0, 0, 0)
            var pendingCount = 0
            func remember(_ start: Int, _ entity: Int) {
                let packed = start << 8 | entity
                switch pendingCount {
                case 0: pending.0 = packed
                case 1: pending.1 = packed
                case 2: pending.2 = packed
                case 3: pending.3 = packed
                case 4: pending.4 = packed
                case 5: pending.5 = packed
                case 6: pending.6 = packed
                case 7: pending.7 = packed
                default: return
                }
                pendingCount += 1
            }
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
                    switch EventReader.topLevel(rawKey) {
                    case 1:
                        let name = try cursor.rawString()
                        guard let index = eventNames.find(name) else {
                            throw Failure(reason: "unknown event type \"\(String(decoding: name, as: UTF8.self))\"")
                        }
                        type = index
                    case 2:
                        let start = cursor.position
                        _ = try cursor.stringBytes()
                        guard let ms = cursor.withStringBytes(from: start, TimeFormat.timestamp) else {
                            throw Failure(reason: "invalid time \(cursor.text(from: start)); write RFC 3339, e.g. \"2026-11-20T10:00:00Z\"")
                        }
                        time = ms
                    case 3:
                        if cursor.peek == UInt8(ascii: "\"") { event.id = try cursor.string() } else {
                            let start = cursor.position
                            try cursor.skipValue(depth: 0)
                            event.id = cursor.text(from: start)
                        }
                    default:
                        if let entity = entityNames.find(rawKey), entity < 256, cursor.peek == UInt8(ascii: "{") {
                            if let type {
                                // The type came first (as it usually does): read the entity in this pass.
                                if carried[type] & (1 << UInt64(entity & 63)) != 0 { try readEntity(entity, &cursor, into: &event) } else { try cursor.skipValue(depth: 0) }
                                cursor.skipSpace()
                                continue
                            }
                            guard pendingCount < 8 else { throw Failure(reason: "more than 8 entities on one event") }
                            remember(cursor.position, entity)
                        }
                        try cursor.skipValue(depth: 0)
                    }
                    cursor.skipSpace()
                } while cursor.take(UInt8(ascii: ","))
                try cursor.expect(UInt8(ascii: "}"), "expected `,` or `}`")
            }
            cursor.skipSpace()
            guard cursor.atEnd else { throw Failure(reason: "unexpected text after the event object") }
            guard let type else { throw Failure(reason: "no \"event\": every event names its type, e.g. \"event\": \"shipment.delivered\"") }
            guard let time else { throw Failure(reason: "no \"time\": every event has an RFC 3339 time") }
            event.type = type
            event.time = time
            let packed = [pending.0, pending.1, pending.2, pending.3, pending.4, pending.5, pending.6, pending.7]
            for i in 0..<pendingCount {
                let entity = packed[i] & 0xFF, start = packed[i] >> 8
                guard carried[type] & (1 << UInt64(entity & 63)) != 0 else { continue }
                cursor.position = start
                try readEntity(entity, &cursor, into: &event)
            }
            for slot in requiredSlots[type] where event.slots[slot].isMissing {
                let field = program.slots[slot]
                throw Failure(reason: "\(program.entities[field.entity].name).\(field.field) is missing; the schema requires it on \(program.events[type].name)")
            }
            return nil
        } catch let failure as Failure {
            return failure.reason
        } catch {
            return "\(error)"
        }
    }

    func readEntity(_ entity: Int, _ cursor: inout Cursor, into event: inout Event) throws {
        try cursor.expect(UInt8(ascii: "{"), "")
        cursor.skipSpace()
        if cursor.take(UInt8(ascii: "}")) { return }
        repeat {
            cursor.skipSpace()
            let field = try cursor.rawString()
            cursor.skipSpace()
            try cursor.expect(UInt8(ascii: ":"), "expected `:` after \"\(String(decoding: field, as: UTF8.self))\"")
            cursor.skipSpace()
            if let position = fieldNames[entity].find(field) {
                let slot = fieldSlotList[entity][position]
                event.slots[slot] = try value(for: slot, &cursor, event: &event)
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
            guard let index = caseNames[Int(definition.unit)].find(text) else {
                throw Failure(reason: "\(name): \"\(String(decoding: text, as: UTF8.self))\" is not a case of \(program.enums[Int(definition.unit)].name)")
            }
            return RuntimeValue(.enumCase, Int64(index), unit: definition.unit)
        case .money:
            let currency = program.currencies[Int(definition.unit)]
            return RuntimeValue(.money, try quoted(&cursor, { Self.money($0, currency: currency) },
                                                   "\(name) must be an amount in \(currency.code) such as \"4.99 \(currency.code)\""), unit: definition.unit)
        case .percent:
            return RuntimeValue(.percent, try quoted(&cursor, Self.percent, "\(name) must be a percentage such as \"2.5%\""))
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

    /// `4.99 EUR` from a command-line option, exactly as an event would write it, or nil.
    public static func money(_ text: String, currency: Program.Currency) -> Int64? {
        var copy = text
        return copy.withUTF8 { money($0, currency: currency) }
    }

    /// `4.99 EUR` (or `4.99EUR`, or `-1.5 EUR`) in the given currency → minor units.
    static func money(_ bytes: UnsafeBufferPointer<UInt8>, currency: Program.Currency) -> Int64? {
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
    static func percent(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard let last = bytes.last, last == UInt8(ascii: "%") else { return nil }
        return fixed(UnsafeBufferPointer(rebasing: bytes[0..<(bytes.count - 1)]), places: 4)
    }

    /// A decimal number with at most `places` decimals, scaled by 10^places.
    static func fixed(_ bytes: UnsafeBufferPointer<UInt8>, places: Int) -> Int64? {
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

/// A position in one line of JSON.
struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    var atEnd: Bool { position >= bytes.count }
    @inline(__always) var peek: UInt8 { position < bytes.count ? bytes[position] : 0 }

    @inline(__always) mutating func skipSpace() {
        while position < bytes.count, bytes[position] == 32 || bytes[position] == 9 || bytes[position] == 13 || bytes[position] == 10 {
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
        return UnsafeBufferPointer(rebasing: bytes[(start + 1)..<(position - 1)])
    }

    mutating func takeWord(_ word: StaticString) -> Bool {
        let length = word.utf8CodeUnitCount
        guard position + length <= bytes.count else { return false }
        for i in 0..<length where bytes[position + i] != word.utf8Start[i] { return false }
        position += length
        return true
    }

    /// The value at the cursor as written (for messages), without moving the cursor.
    func upcoming(limit: Int = 40) -> String {
        var probe = self
        let start = probe.position
        try? probe.skipValue(depth: 1)
        if probe.position == start { probe.position = min(bytes.count, start + 1) }
        return probe.text(from: start, limit: limit)
    }

    func text(from start: Int, limit: Int = 80) -> String {
        let end = min(bytes.count, max(start, position), start + limit)
        let shown = String(decoding: UnsafeBufferPointer(rebasing: bytes[min(start, bytes.count)..<max(min(start, bytes.count), end)]), as: UTF8.self)
        return shown.isEmpty ? "nothing" : shown
    }

    /// Skips a string; returns whether it contained escapes. Eight bytes at a time (SWAR: a
    /// quote or backslash byte is found with integer arithmetic on a 64-bit word), then byte by
    /// byte near the end of the line: the strings of an event are short, and a library call
    /// per string would cost more than the scan.
    @inline(__always) mutating func stringBytes() throws -> Bool {
        guard take(UInt8(ascii: "\"")) else { throw EventReader.Failure(reason: "expected a string at column \(position + 1)") }
        let base = bytes.baseAddress!
        let end = bytes.count
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
    func withStringBytes<T>(from start: Int, _ body: (UnsafeBufferPointer<UInt8>) -> T?) -> T? {
        guard position - start >= 2 else { return nil }
        return body(UnsafeBufferPointer(rebasing: bytes[(start + 1)..<(position - 1)]))
    }

    mutating func string() throws -> String {
        let start = position
        let escaped = try stringBytes()
        let body = UnsafeBufferPointer(rebasing: bytes[(start + 1)..<(position - 1)])
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
                let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
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
        while position < bytes.count, bytes[position] >= 48, bytes[position] <= 57 {
            guard digits < 18 else { return nil }
            value = value * 10 + Int64(bytes[position] - 48)
            digits += 1
            position += 1
        }
        guard digits > 0, peek != UInt8(ascii: "."), peek != UInt8(ascii: "e"), peek != UInt8(ascii: "E") else {
            position = start
            return nil
        }
        return bytes[start] == UInt8(ascii: "-") ? -value : value
    }

    /// A JSON number (or a string holding one) with at most `places` decimals, scaled.
    mutating func decimal(places: Int) -> Int64? {
        let quoted = peek == UInt8(ascii: "\"")
        if quoted { position += 1 }
        let start = position
        while position < bytes.count, (bytes[position] >= 48 && bytes[position] <= 57) || bytes[position] == 46 || bytes[position] == 45 {
            position += 1
        }
        let value = EventReader.fixed(UnsafeBufferPointer(rebasing: bytes[start..<position]), places: places)
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
                try skipValue(depth: depth + 1)
                skipSpace()
            } while take(UInt8(ascii: ","))
            try expect(close, "expected `,` or `\(isObject ? "}" : "]")`")
        case UInt8(ascii: "t"): guard takeWord("true") else { throw EventReader.Failure(reason: "malformed JSON at column \(position + 1)") }
        case UInt8(ascii: "f"): guard takeWord("false") else { throw EventReader.Failure(reason: "malformed JSON at column \(position + 1)") }
        case UInt8(ascii: "n"): guard takeWord("null") else { throw EventReader.Failure(reason: "malformed JSON at column \(position + 1)") }
        default:
            let start = position
            numbers: while position < bytes.count {
                switch bytes[position] {
                case 48...57, 45, 43, 46, 101, 69: position += 1  // digits - + . e E
                default: break numbers
                }
            }
            guard position > start else { throw EventReader.Failure(reason: "malformed JSON at column \(position + 1)") }
        }
    }
}

/// A UTF-8 byte order mark that some exporters write before the first line: not part of it.
@inline(__always) func withoutByteOrderMark(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
    guard line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF else { return line }
    return UnsafeBufferPointer(rebasing: line[3...])
}

/// Names as UTF-8 bytes, found by length, first byte and then the rest, compared in place:
/// no String is made for a name on a line, and no library call for these few bytes.
struct ByteTable: Sendable {
    let names: [[UInt8]]
    let lengths: [Int]
    let firsts: [UInt8]
    init(_ names: [String]) {
        self.names = names.map { Array($0.utf8) }
        lengths = self.names.map(\.count)
        firsts = self.names.map { $0.first ?? 0 }
    }

    @inline(__always) func find(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let count = bytes.count
        let first = count > 0 ? bytes[0] : 0
        for index in 0..<lengths.count where lengths[index] == count && firsts[index] == first {
            let same = names[index].withUnsafeBufferPointer { name -> Bool in
                var i = 1
                while i < count {
                    if name[i] != bytes[i] { return false }
                    i += 1
                }
                return true
            }
            if same { return index }
        }
        return nil
    }
}

extension EventReader {
    /// The reserved top-level keys, recognised by their bytes: 1 `event` or `type`, 2 `time`,
    /// 3 `id`, 0 anything else (an entity).
    @inline(__always) static func topLevel(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        switch bytes.count {
        case 2 where bytes[0] == 105 && bytes[1] == 100: return 3
        case 4 where bytes[0] == 116 && bytes[1] == 105 && bytes[2] == 109 && bytes[3] == 101: return 2
        case 4 where bytes[0] == 116 && bytes[1] == 121 && bytes[2] == 112 && bytes[3] == 101: return 1
        case 5 where bytes[0] == 101 && bytes[1] == 118 && bytes[2] == 101 && bytes[3] == 110 && bytes[4] == 116: return 1
        default: return 0
        }
    }
}
