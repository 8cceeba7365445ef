import RedressIR
import RedressEvents

/// What a rule decided for one subject, ready for a consumer to carry out exactly once.
public struct Decision: Sendable, Codable, Equatable {
    public struct Subject: Sendable, Codable, Equatable {
        public var entity: String
        public var key: String
    }
    public struct EventReference: Sendable, Codable, Equatable {
        public var type: String
        public var id: String
        public var line: Int
        public var time: String
        /// `time` in milliseconds since the epoch; not part of the JSON.
        public var milliseconds: Int64 = 0

        enum CodingKeys: String, CodingKey { case type, id, line, time }

        public init(type: String, id: String, line: Int, time: String, milliseconds: Int64 = 0) {
            self.type = type
            self.id = id
            self.line = line
            self.time = time
            self.milliseconds = milliseconds
        }
    }
    public struct Action: Sendable, Codable, Equatable {
        public var verb: String
        /// Money as `5.00 EUR`, integers as digits, percentages as `2.5%`.
        public var amount: String?
        /// Template, tag, or another name from the catalog.
        public var argument: String?
        public var channel: String?
        /// The amount as computed (for pricing); not part of the JSON.
        public var value: RuntimeValue? = nil

        enum CodingKeys: String, CodingKey { case verb, amount, argument, channel }

        public init(verb: String, amount: String?, argument: String?, channel: String?, value: RuntimeValue? = nil) {
            self.verb = verb
            self.amount = amount
            self.argument = argument
            self.channel = channel
            self.value = value
        }

        public static func == (a: Action, b: Action) -> Bool {
            a.verb == b.verb && a.amount == b.amount && a.argument == b.argument && a.channel == b.channel
        }
    }

    public var rule: String
    public var subject: Subject
    public var customer: String?
    public var event: EventReference
    /// When the decision was made: the event's time, or an absence rule's deadline.
    public var time: String
    /// `time` in milliseconds since the epoch (what reports group by); not part of the JSON.
    public var milliseconds: Int64 = 0
    public var actions: [Action]
    /// The rule's n-th decision for this subject (0 for rules with `limit none`).
    public var occurrence: Int
    /// Values of the engine's `reportSlots` on the triggering event (for the simulator); not in the JSON.
    public var dimensions: [String] = []
    /// `rule|entity:key|occurrence`, or `rule|entity:key|@event-id` for rules with `limit none`:
    /// the same input always gives the same key, so a consumer that remembers keys applies each
    /// decision once.
    public var key: String
    /// The rule's position in the program (what reports count by); not part of the JSON.
    public var ruleIndex: Int = -1

    enum CodingKeys: String, CodingKey { case rule, subject, customer, event, time, actions, occurrence, dimensions, key }
}

/// A decision before policies: kept by absence rules until their deadline.
///
/// A class of constants, not a struct: drafts are passed between the engine's steps and to the
/// simulator's pricing of what policies held back, and a struct copy retained and released a
/// dozen strings and arrays each time.
public final class Draft: Sendable, Codable {
    public let rule: Int
    public let subjectKey: String
    public let customerKey: String?
    public let event: Decision.EventReference
    public let actions: [Decision.Action]
    /// Refunds and vouchers in minor units, by currency index (what caps and `by amount` count).
    public let money: MoneyByCurrency
    /// Values of the slots that policy keys read, captured at the trigger.
    public let keys: PolicyKeys
    public let dimensions: [String]

    public init(rule: Int, subjectKey: String, customerKey: String?, event: Decision.EventReference, actions: [Decision.Action],
                money: MoneyByCurrency, keys: PolicyKeys, dimensions: [String] = []) {
        self.rule = rule
        self.subjectKey = subjectKey
        self.customerKey = customerKey
        self.event = event
        self.actions = actions
        self.money = money
        self.keys = keys
        self.dimensions = dimensions
    }
}

extension Decision {
    /// One JSON line, keys in a fixed order (deterministic output without sorting at runtime).
    /// Written as bytes into one buffer and made a string once: `serve` writes one per decision,
    /// and appending a piece at a time to a `String` was an eighth of its committer's thread.
    public func jsonLine() -> String {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        @inline(__always) func raw(_ text: StaticString) {
            text.withUTF8Buffer { out.append(contentsOf: $0) }
        }
        // `prefix` (punctuation and the key), then the value quoted; nothing for a nil value.
        func string(_ prefix: StaticString, _ value: String?) {
            guard let value else { return }
            raw(prefix)
            JSONText.append(value, to: &out)
        }
        func number(_ value: Int) {
            out.append(contentsOf: String(value).utf8)
        }
        string("{\"rule\":", rule)
        string(",\"subject\":{\"entity\":", subject.entity)
        string(",\"key\":", subject.key)
        raw("}")
        string(",\"customer\":", customer)
        string(",\"event\":{\"type\":", event.type)
        string(",\"id\":", event.id)
        raw(",\"line\":")
        number(event.line)
        string(",\"time\":", event.time)
        string("},\"time\":", time)
        raw(",\"actions\":[")
        for index in actions.indices {
            string(index > 0 ? ",{\"verb\":" : "{\"verb\":", actions[index].verb)
            string(",\"amount\":", actions[index].amount)
            string(",\"argument\":", actions[index].argument)
            string(",\"channel\":", actions[index].channel)
            raw("}")
        }
        raw("],\"occurrence\":")
        number(occurrence)
        string(",\"key\":", key)
        raw("}")
        return String(decoding: out, as: UTF8.self)
    }
}

/// JSON string literals, escaped as RFC 8259 asks.
public enum JSONText {
    public static func quote(_ text: String) -> String {
        var out = ""
        append(text, to: &out)
        return out
    }

    /// Whether `text` holds a quote, a backslash or a control character. Read through its UTF-8
    /// buffer: `utf8.contains(where:)` was a twentieth of `serve`'s committer thread.
    @inline(__always) static func needsEscaping(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            bytes.contains(where: escaped)
        }
    }

    /// A quote, a backslash or a control character: written escaped.
    @inline(__always) static func escaped(_ byte: UInt8) -> Bool { byte < 0x20 || byte == 34 || byte == 92 }

    /// `quote(text)`, appended to `out` as UTF-8.
    public static func append(_ text: String, to out: inout [UInt8]) {
        out.append(34)
        var text = text
        text.withUTF8 { bytes in
            guard bytes.contains(where: escaped) else { return out.append(contentsOf: bytes) }
            // Bytes of 0x80 and more (the rest of a character) are copied as they are.
            for byte in bytes {
                switch byte {
                case 34: out += [92, 34]
                case 92: out += [92, 92]
                case 10: out += [92, UInt8(ascii: "n")]
                case 13: out += [92, UInt8(ascii: "r")]
                case 9: out += [92, UInt8(ascii: "t")]
                case ..<0x20: out += [92, UInt8(ascii: "u"), 48, 48, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]]
                default: out.append(byte)
                }
            }
        }
        out.append(34)
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    /// `quote(text)`, appended to `out`.
    public static func append(_ text: String, to out: inout String) {
        // Most texts (ids, names, amounts) need no escaping: then no per-character work.
        guard needsEscaping(text) else {
            out += "\""
            out += text
            out += "\""
            return
        }
        var bytes: [UInt8] = []
        append(text, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }
}

/// How values are written in decisions and explanations.
public enum ValueText {
    public static func describe(_ value: RuntimeValue, program: Program, strings: [String] = []) -> String {
        switch value.kind {
        case .missing: return "missing"
        case .bool: return value.bits != 0 ? "true" : "false"
        case .integer: return String(value.bits)
        case .decimal: return fixed(value.bits, places: 6, trim: true)
        case .string:
            if value.unit == 1 { return strings.indices.contains(Int(value.bits)) ? strings[Int(value.bits)] : "?" }
            return program.strings.indices.contains(Int(value.bits)) ? program.strings[Int(value.bits)] : "?"
        case .money:
            let currency = program.currencies.indices.contains(Int(value.unit)) ? program.currencies[Int(value.unit)] : Program.Currency(code: "???", minorUnits: 2)
            return fixed(value.bits, places: currency.minorUnits, trim: false) + " " + currency.code
        case .percent: return fixed(value.bits, places: 4, trim: true) + "%"
        case .duration: return TimeFormat.format(duration: value.bits)
        case .timestamp: return TimeFormat.format(timestamp: value.bits)
        case .date: return TimeFormat.format(date: value.bits)
        case .enumCase:
            let cases = program.enums.indices.contains(Int(value.unit)) ? program.enums[Int(value.unit)].cases : []
            return cases.indices.contains(Int(value.bits)) ? cases[Int(value.bits)] : "?"
        case .list: return "[...]"
        }
    }

    /// `bits / 10^places` exactly, e.g. 499 with 2 places → `4.99`. Written right to left into
    /// a stack buffer: every decision's amounts pass through here.
    public static func fixed(_ bits: Int64, places: Int, trim: Bool) -> String {
        if places == 0 { return String(bits) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buffer in
            var magnitude = bits.magnitude
            var end = 48, position = 48
            var written = 0
            // The fraction, then the point, then the whole part (at least one digit).
            while written < places {
                let digit = UInt8(magnitude % 10)
                magnitude /= 10
                written += 1
                if trim, digit == 0, position == end { end -= 1; position -= 1; continue }
                position -= 1
                buffer[position] = 48 + digit
            }
            if position < end {
                position -= 1
                buffer[position] = 46
            }
            repeat {
                position -= 1
                buffer[position] = 48 + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if bits < 0 {
                position -= 1
                buffer[position] = 45
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[position..<end]), as: UTF8.self)
        }
    }
}

/// The values of the slots a draft's policy keys read. A draft usually has one or two (its
/// subject, its customer), so the first two live inline: a dictionary per draft cost an
/// allocation and several hashes per decision. Encoded as the `{slot: text}` object it replaced.
public struct PolicyKeys: Sendable, Equatable, Codable, ExpressibleByDictionaryLiteral {
    var firstSlot = -1, first = ""
    var secondSlot = -1, second = ""
    var more: [Int: String] = [:]

    public init() {}
    public init(_ entries: [Int: String]) { for (slot, text) in entries.sorted(by: { $0.key < $1.key }) { self[slot] = text } }
    public init(dictionaryLiteral elements: (Int, String)...) { for (slot, text) in elements { self[slot] = text } }

    public subscript(slot: Int) -> String? {
        get {
            if slot == firstSlot { return first }
            if slot == secondSlot { return second }
            return more.isEmpty ? nil : more[slot]
        }
        set {
            guard let newValue else { return }
            if firstSlot == -1 || slot == firstSlot { (firstSlot, first) = (slot, newValue) }
            else if secondSlot == -1 || slot == secondSlot { (secondSlot, second) = (slot, newValue) }
            else { more[slot] = newValue }
        }
    }

    public var dictionary: [Int: String] {
        var result = more
        if firstSlot != -1 { result[firstSlot] = first }
        if secondSlot != -1 { result[secondSlot] = second }
        return result
    }

    public static func == (a: PolicyKeys, b: PolicyKeys) -> Bool { a.dictionary == b.dictionary }
    public init(from decoder: Decoder) throws { self.init(try [Int: String](from: decoder)) }
    public func encode(to encoder: Encoder) throws { try dictionary.encode(to: encoder) }
}

/// Refunds and vouchers of a draft in minor units, by currency index: one currency inline (the
/// catalog's, nearly always), others in a dictionary. Encoded as the `{currency: minor}` object
/// it replaced.
public struct MoneyByCurrency: Sendable, Equatable, Codable, ExpressibleByDictionaryLiteral {
    var currency: Int32 = -1, amount: Int64 = 0
    var more: [Int32: Int64] = [:]

    public init() {}
    public init(_ entries: [Int32: Int64]) { for (currency, amount) in entries.sorted(by: { $0.key < $1.key }) { self[currency] = amount } }
    public init(dictionaryLiteral elements: (Int32, Int64)...) { for (currency, amount) in elements { self[currency] = amount } }

    public subscript(currency: Int32) -> Int64? {
        get {
            if currency == self.currency { return amount }
            return more.isEmpty ? nil : more[currency]
        }
        set {
            guard let newValue else { return }
            if self.currency == -1 || currency == self.currency { (self.currency, amount) = (currency, newValue) }
            else { more[currency] = newValue }
        }
    }

    /// The amounts of every currency added up (what `by amount` compares).
    public var total: Int64 { (currency == -1 ? 0 : amount) + more.values.reduce(0, +) }

    public var dictionary: [Int32: Int64] {
        var result = more
        if currency != -1 { result[currency] = amount }
        return result
    }

    public static func == (a: MoneyByCurrency, b: MoneyByCurrency) -> Bool { a.dictionary == b.dictionary }
    public init(from decoder: Decoder) throws { self.init(try [Int32: Int64](from: decoder)) }
    public func encode(to encoder: Encoder) throws { try dictionary.encode(to: encoder) }
}
