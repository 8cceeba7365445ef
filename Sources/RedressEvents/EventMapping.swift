import Foundation
import RedressIR
import RedressSemantics
import RedressSyntax
import Yams

/// How the rows of a CSV file become events (docs/events.md, "CSV input"): which column fills
/// which field, how times, money and enum values are written, which files are joined in by
/// key, and which events each row yields. Loaded from YAML and checked against a program's
/// schema; mistakes are diagnostics with file, line and column.
public struct EventMapping: Sendable {
    /// A column of the main file (`join == nil`) or of a joined file (`payments.payment_value`).
    public struct ColumnRef: Sendable, Hashable {
        public var join: Int?
        public var column: String
        public var label: Label
        public static func == (a: ColumnRef, b: ColumnRef) -> Bool { a.join == b.join && a.column == b.column }
        public func hash(into hasher: inout Hasher) {
            hasher.combine(join)
            hasher.combine(column)
        }
    }

    public enum Aggregation: String, Sendable, CaseIterable { case sum, min, max, first, last }

    public enum Source: Sendable {
        case column(ColumnRef)
        /// The same text on every row (converted like a cell).
        case constant(String)
        /// `a − b` of two time columns: a duration.
        case difference(ColumnRef, ColumnRef)
        /// Over the rows of a joined file that match the row's key.
        case aggregate(Aggregation, ColumnRef)
        /// How many rows of a joined file match the row's key.
        case count(join: Int)
    }

    /// Where a value comes from and how its text is read.
    public struct Value: Sendable {
        public var source: Source
        /// nil: the mapping's `time_format` (or, without one, RFC 3339 and `YYYY-MM-DD[ HH:MM[:SS]]`).
        public var format: TimePattern?
        /// nil: the mapping's `time_zone`.
        public var zone: TimeZoneSpec?
        /// Text of the cell → text to read instead (an enum case, `true`); nil means missing.
        public var values: [String: String?]
        /// Money written as a plain number is in this currency.
        public var currency: String?
        /// Durations written as plain numbers are in this unit (milliseconds per unit).
        public var unit: Int64?
        public var label: Label
    }

    /// One `entity.field` of the schema and how to fill it.
    public struct Field: Sendable {
        public var entity: Int
        public var field: String
        public var kind: RuntimeValue.Kind
        /// Money: currency index (or -1 when the program has no such currency); enum: enum index.
        public var unit: Int32
        /// The program's slot, when some rule reads the field; other fields are not converted.
        public var slot: Int?
        public var value: Value
        /// The field is filled only on events at or after this time (missing before, and when empty).
        public var knownAt: Value?
        public var label: Label
    }

    public enum EventType: Sendable {
        case fixed(Int)
        /// Read from a column; `values` of the Value maps its text to event type names.
        case column(Value)
    }

    public enum IDPiece: Sendable {
        case text(String)
        case column(ColumnRef)
    }

    public struct EventSpec: Sendable {
        public var type: EventType
        public var time: Value
        /// `{order_id}/placed`; nil: `line N`, as for JSON lines without an id.
        public var id: [IDPiece]?
        public var label: Label
    }

    public struct Join: Sendable {
        public var name: String
        /// As written; resolved against the events file's directory (see `CSVEventSource`).
        public var file: String
        /// The column of the joined file that holds the key.
        public var key: String
        /// The column of the main file that holds the key.
        public var on: ColumnRef
        /// Several rows per key: values must be aggregated (`sum`, `min`, ... or `count`).
        public var many: Bool
        public var label: Label
        public var fileLabel: Label
        public var keyLabel: Label
    }

    public var path: String
    public var delimiter: UInt8 = UInt8(ascii: ",")
    public var timeFormat: TimePattern?
    public var zone: TimeZoneSpec = .fixed(seconds: 0)
    public var currency: String?
    /// Cell texts read as missing (besides the empty cell).
    public var missing: Set<String> = []
    public var joins: [Join] = []
    public var fields: [Field] = []
    public var events: [EventSpec] = []

    static let sections = ["description", "format", "delimiter", "time_format", "time_zone", "currency", "missing", "joins", "fields", "events"]

    /// Reads and checks a mapping file against the program's schema. Returns nil (and at least
    /// one error) when the mapping cannot be used.
    public static func load(_ source: SourceFile, program: Program) -> (EventMapping?, [Diagnostic]) {
        var loader = MappingLoader(source: source, program: program)
        let mapping = loader.load()
        let failed = loader.diagnostics.contains { $0.severity == .error }
        return (failed ? nil : mapping, loader.diagnostics)
    }
}

// MARK: - Time zones

/// The offset of naive times (no `Z` or `±HH:MM` in the text): fixed, or an IANA zone with its
/// daylight-saving rules.
public enum TimeZoneSpec: Sendable, Hashable {
    case fixed(seconds: Int64)
    case named(String)

    /// `+00:00`, `-03:00`, `+0530`, `Z`, `UTC`, or an IANA name such as `America/Sao_Paulo`.
    public static func parse(_ text: String) -> TimeZoneSpec? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if ["Z", "z", "UTC", "GMT"].contains(trimmed) { return .fixed(seconds: 0) }
        var bytes = Array(trimmed.utf8)
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            bytes.removeFirst()
            bytes.removeAll { $0 == UInt8(ascii: ":") }
            guard bytes.count == 4 || bytes.count == 2, bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            let hours = Int64(bytes[0] - 48) * 10 + Int64(bytes[1] - 48)
            let minutes = bytes.count == 4 ? Int64(bytes[2] - 48) * 10 + Int64(bytes[3] - 48) : 0
            guard hours <= 18, minutes < 60 else { return nil }
            let seconds = hours * 3600 + minutes * 60
            return .fixed(seconds: first == UInt8(ascii: "-") ? -seconds : seconds)
        }
        guard TimeZone(identifier: trimmed) != nil else { return nil }
        return .named(trimmed)
    }
}

/// Converts local times to UTC; named zones cache the offset per local hour.
final class ZoneConverter {
    let spec: TimeZoneSpec
    let zone: TimeZone?
    var cache: [Int64: Int64] = [:]

    init(_ spec: TimeZoneSpec) {
        self.spec = spec
        if case .named(let name) = spec { zone = TimeZone(identifier: name) } else { zone = nil }
    }

    /// Local milliseconds (as if UTC) → milliseconds since the epoch.
    func utc(local ms: Int64) -> Int64 {
        switch spec {
        case .fixed(let seconds):
            return ms - seconds * 1000
        case .named:
            guard let zone else { return ms }
            let hour = ms >= 0 ? ms / 3_600_000 : (ms - 3_599_999) / 3_600_000
            if let offset = cache[hour] { return ms - offset * 1000 }
            // The offset at the instant the local time names: guess with the offset at the local
            // time read as UTC, then correct once (daylight-saving changes).
            let guess = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(ms / 1000))))
            let offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(ms / 1000 - guess))))
            if cache.count > 100_000 { cache.removeAll() }
            cache[hour] = offset
            return ms - offset * 1000
        }
    }
}

// MARK: - Time patterns

/// A time format such as `YYYY-MM-DD HH:MM:SS` or `M/D/YYYY H:MM`.
///
/// Letters: `YYYY` year; `M`/`MM` month (1–2 or exactly 2 digits) — but minutes once an hour
/// has been written, as in spreadsheet formats; `D`/`DD` day; `H`/`HH` (or `h`/`hh`) hour 0–23;
/// `m`/`mm` minutes; `S`/`SS` (or `s`/`ss`) seconds; `f` one or more digits of a second's
/// fraction; `A` AM/PM (the hour is then 1–12); `Z` `Z` or an offset `±HH:MM`/`±HHMM`; `T` is
/// the letter T. Anything else stands for itself; `[...]` is optional.
public struct TimePattern: Sendable, Equatable {
    enum Piece: Sendable, Equatable {
        case year, month(exact: Bool), day(exact: Bool), hour(exact: Bool), minute(exact: Bool), second(exact: Bool)
        case fraction, meridiem, offset, literal(UInt8)
        /// An optional group: the pieces after this one, up to index `end`.
        case optional(end: Int)
    }

    public let text: String
    let pieces: [Piece]
    let hasDate: Bool
    let hasMeridiem: Bool

    /// The pattern, or the reason it cannot be one.
    public static func compile(_ text: String) -> Result<TimePattern, PatternError> {
        let bytes = Array(text.utf8)
        var index = 0
        var seenHour = false
        var pieces: [Piece] = []
        func group(closing: Bool) throws(PatternError) {
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "]") {
                    guard closing else { throw PatternError("`]` without `[`") }
                    index += 1
                    return
                }
                if byte == UInt8(ascii: "[") {
                    index += 1
                    let start = pieces.count
                    pieces.append(.optional(end: 0))
                    try group(closing: true)
                    pieces[start] = .optional(end: pieces.count)
                    continue
                }
                var run = 1
                while index + run < bytes.count, bytes[index + run] == byte { run += 1 }
                let letter = Character(UnicodeScalar(byte))
                func width(_ allowed: [Int]) throws(PatternError) -> Bool {
                    guard allowed.contains(run) else {
                        throw PatternError("`\(String(repeating: letter, count: run))` is not a time pattern letter group; write \(allowed.map { "`\(String(repeating: letter, count: $0))`" }.joined(separator: " or "))")
                    }
                    return run == 2
                }
                switch letter {
                case "Y":
                    guard run == 4 else { throw PatternError("years are written `YYYY` (four digits)") }
                    pieces.append(.year)
                case "M": pieces.append(seenHour ? .minute(exact: try width([1, 2])) : .month(exact: try width([1, 2])))
                case "D", "d": pieces.append(.day(exact: try width([1, 2])))
                case "H", "h":
                    pieces.append(.hour(exact: try width([1, 2])))
                    seenHour = true
                case "m": pieces.append(.minute(exact: try width([1, 2])))
                case "S", "s": pieces.append(.second(exact: try width([1, 2])))
                case "f", "F": pieces.append(.fraction)
                case "A", "a":
                    guard run == 1 else { throw PatternError("AM/PM is written `A`") }
                    pieces.append(.meridiem)
                case "Z":
                    guard run == 1 else { throw PatternError("the offset is written `Z`") }
                    pieces.append(.offset)
                case "T":
                    pieces.append(contentsOf: [Piece](repeating: .literal(byte), count: run))
                default:
                    if letter.isLetter {
                        throw PatternError("`\(letter)` is not a time pattern letter; use YYYY, M, MM, D, DD, H, HH, mm, SS, f, A, Z")
                    }
                    pieces.append(contentsOf: [Piece](repeating: .literal(byte), count: run))
                }
                index += run
            }
            if closing { throw PatternError("`[` without `]`") }
        }
        do {
            try group(closing: false)
            let all = pieces
            guard all.contains(.year), all.contains(where: { if case .month = $0 { true } else { false } }),
                  all.contains(where: { if case .day = $0 { true } else { false } }) else {
                return .failure(PatternError("a time pattern needs a year, a month and a day (YYYY, M or MM, D or DD)"))
            }
            return .success(TimePattern(text: text, pieces: pieces, hasDate: true, hasMeridiem: all.contains(.meridiem)))
        } catch {
            return .failure(error)
        }
    }

    public struct PatternError: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    struct Parts {
        var year: Int64 = 0, month: Int64 = 0, day: Int64 = 0, hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0
        var millis: Int64 = 0
        var pm: Bool? = nil
        var offset: Int64? = nil
    }

    /// Local milliseconds (as if UTC), and the offset in seconds when the text has one.
    public func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> (local: Int64, offset: Int64?)? {
        var parts = Parts()
        let matched = pieces.withUnsafeBufferPointer { pieces in Self.match(pieces, 0, pieces.count, bytes, 0, &parts) }
        guard let end = matched, end == bytes.count else { return nil }
        if hasMeridiem, let pm = parts.pm {
            guard parts.hour >= 1, parts.hour <= 12 else { return nil }
            parts.hour = parts.hour % 12 + (pm ? 12 : 0)
        }
        guard (1...12).contains(parts.month), parts.day >= 1, parts.day <= TimeFormat.daysInMonth(parts.year, parts.month),
              parts.hour < 24, parts.minute < 60, parts.second < 61 else { return nil }
        let days = TimeFormat.daysFromCivil(parts.year, parts.month, parts.day)
        let local = (days * 86_400 + parts.hour * 3600 + parts.minute * 60 + parts.second) * 1000 + parts.millis
        return (local, parts.offset)
    }

    /// Matches `pieces[from..<to]` from `position`; returns where the match ends. Optional
    /// groups are tried first (with the rest after them), then skipped.
    static func match(_ pieces: UnsafeBufferPointer<Piece>, _ from: Int, _ to: Int, _ bytes: UnsafeBufferPointer<UInt8>, _ position: Int,
                      _ parts: inout Parts) -> Int? {
        var index = from
        var position = position
        func number(_ exact: Bool, _ maximumDigits: Int = 2) -> Int64? {
            var value: Int64 = 0
            var count = 0
            while position < bytes.count, count < maximumDigits, bytes[position] >= 48, bytes[position] <= 57 {
                value = value * 10 + Int64(bytes[position] - 48)
                position += 1
                count += 1
            }
            if count == 0 || (exact && count != maximumDigits) { return nil }
            return value
        }
        while index < to {
            let piece = pieces[index]
            index += 1
            switch piece {
            case .optional(let end):
                var attempt = parts
                if let afterGroup = match(pieces, index, end, bytes, position, &attempt),
                   let finish = match(pieces, end, to, bytes, afterGroup, &attempt) {
                    parts = attempt
                    return finish
                }
                index = end
            case .year:
                guard let value = number(true, 4) else { return nil }
                parts.year = value
            case .month(let exact):
                guard let value = number(exact) else { return nil }
                parts.month = value
            case .day(let exact):
                guard let value = number(exact) else { return nil }
                parts.day = value
            case .hour(let exact):
                guard let value = number(exact) else { return nil }
                parts.hour = value
            case .minute(let exact):
                guard let value = number(exact) else { return nil }
                parts.minute = value
            case .second(let exact):
                guard let value = number(exact) else { return nil }
                parts.second = value
            case .fraction:
                var scale: Int64 = 100
                let start = position
                var millis: Int64 = 0
                while position < bytes.count, bytes[position] >= 48, bytes[position] <= 57 {
                    millis += Int64(bytes[position] - 48) * scale
                    scale /= 10
                    position += 1
                }
                guard position > start else { return nil }
                parts.millis = millis
            case .meridiem:
                guard position + 2 <= bytes.count else { return nil }
                let first = bytes[position] | 0x20, second = bytes[position + 1] | 0x20
                guard second == UInt8(ascii: "m"), first == UInt8(ascii: "a") || first == UInt8(ascii: "p") else { return nil }
                parts.pm = first == UInt8(ascii: "p")
                position += 2
            case .offset:
                guard position < bytes.count else { return nil }
                if bytes[position] == UInt8(ascii: "Z") || bytes[position] == UInt8(ascii: "z") {
                    parts.offset = 0
                    position += 1
                } else if bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                    let negative = bytes[position] == UInt8(ascii: "-")
                    position += 1
                    guard let hours = number(true) else { return nil }
                    if position < bytes.count, bytes[position] == UInt8(ascii: ":") { position += 1 }
                    let minutes = number(true) ?? 0
                    guard hours <= 18, minutes < 60 else { return nil }
                    parts.offset = (hours * 3600 + minutes * 60) * (negative ? -1 : 1)
                } else {
                    return nil
                }
            case .literal(let byte):
                guard position < bytes.count, bytes[position] == byte else { return nil }
                position += 1
            }
        }
        return position
    }

    /// What an unset `time_format` reads: `YYYY-MM-DD`, then a time `HH:MM[:SS[.f]]` after a
    /// space or `T`, then optionally `Z` or an offset. (RFC 3339 is a special case.)
    static let automatic: [TimePattern] = ["YYYY-MM-DD[ HH:mm[:SS[.f]]][Z]", "YYYY-MM-DDTHH:mm[:SS[.f]][Z]"].map {
        if case .success(let pattern) = compile($0) { return pattern }
        preconditionFailure("built-in time pattern \($0)")
    }
}

typealias YAMLNode = Yams.Node

// MARK: - Loading

/// Reads the YAML of a mapping, resolving names against the program.
struct MappingLoader {
    let source: SourceFile
    let program: Program
    var diagnostics: [Diagnostic] = []
    var mapping: EventMapping
    var joinIndex: [String: Int] = [:]

    init(source: SourceFile, program: Program) {
        self.source = source
        self.program = program
        mapping = EventMapping(path: source.path)
    }

    mutating func error(_ code: DiagnosticCode, _ message: String, _ node: YAMLNode?, _ label: String = "", help: String? = nil) {
        diagnostics.append(Diagnostic(code, message, at: node.map { self.label($0, label) } ?? Label(file: source.path, span: .empty), help: help))
    }

    mutating func load() -> EventMapping {
        // Bounded like every YAML file Redress reads: nesting and what aliases repeat.
        let (root, refusal) = YAMLReader.compose(source)
        if let refusal {
            diagnostics.append(refusal)
            return mapping
        }
        guard let root, let top = entries(root) else {
            error(.invalidSchema, "a mapping file is a YAML mapping with the sections `fields` and `events`", root,
                  help: "see docs/events.md, \"CSV input\"")
            return mapping
        }
        var sections: [String: YAMLNode] = [:]
        for (key, keyNode, value) in top {
            if !EventMapping.sections.contains(key) {
                error(.unknownName, "unknown section `\(key)` in the mapping", keyNode, "not a mapping section",
                      help: Suggestions.didYouMean(key, among: EventMapping.sections) ?? "the sections are \(EventMapping.sections.map { "`\($0)`" }.joined(separator: ", "))")
            }
            sections[key] = value
        }
        if let node = sections["format"], scalar(node) != "csv" {
            error(.invalidSchema, "the only input format a mapping describes is `csv`", node, "not csv")
        }
        if let node = sections["delimiter"] {
            if let text = scalar(node), text.utf8.count == 1, text != "\"", text != "\n" {
                mapping.delimiter = text.utf8.first!
            } else if scalar(node) == "\\t" || scalar(node) == "\t" {
                mapping.delimiter = 9
            } else {
                error(.invalidSchema, "`delimiter` is one character, such as `,` or `;`", node, "not one character")
            }
        }
        if let node = sections["time_format"] { mapping.timeFormat = pattern(node) }
        if let node = sections["time_zone"], let zone = zone(node) { mapping.zone = zone }
        if let node = sections["currency"] { mapping.currency = currency(node) }
        if let node = sections["missing"] {
            if let list = sequence(node) {
                mapping.missing = Set(list.compactMap(scalar))
            } else if let text = scalar(node) {
                mapping.missing = [text]
            } else {
                error(.invalidSchema, "`missing` is a list of cell texts that mean \"no value\", such as [NA, \"null\"]", node)
            }
        }
        if let node = sections["joins"] { loadJoins(node) }
        if let node = sections["fields"] {
            loadFields(node)
        } else {
            error(.invalidSchema, "the mapping has no `fields` section", root, help: "map columns to fields: `fields: { order.id: order_id }`")
        }
        if let node = sections["events"] {
            loadEvents(node)
        } else {
            error(.invalidSchema, "the mapping has no `events` section", root,
                  help: "say which events a row yields: `events: [{ event: order.placed, time: order_purchase_timestamp }]`")
        }
        return mapping
    }

    // MARK: Sections

    mutating func loadJoins(_ node: YAMLNode) {
        guard let list = entries(node) else {
            error(.invalidSchema, "`joins` is a mapping of names to joined files", node,
                  help: "e.g. `joins: { payments: { file: order_payments.csv, key: order_id, rows: many } }`")
            return
        }
        for (name, nameNode, value) in list {
            guard let settings = entries(value) else {
                error(.invalidSchema, "join `\(name)` needs `file` and `key`", value)
                continue
            }
            var file: String? = nil, key: String? = nil, on: (String, YAMLNode)? = nil, many = false
            var fileLabel = label(nameNode), keyLabel = label(nameNode)
            for (setting, settingNode, settingValue) in settings {
                switch setting {
                case "file":
                    file = scalar(settingValue)
                    fileLabel = label(settingValue)
                case "key":
                    key = scalar(settingValue)
                    keyLabel = label(settingValue)
                case "on": if let text = scalar(settingValue) { on = (text, settingValue) }
                case "rows":
                    switch scalar(settingValue) {
                    case "one": many = false
                    case "many": many = true
                    default: error(.invalidSchema, "`rows` is `one` (one row per key) or `many`", settingValue, "not one or many")
                    }
                default:
                    error(.unknownName, "unknown setting `\(setting)` of join `\(name)`", settingNode,
                          help: Suggestions.didYouMean(setting, among: ["file", "key", "on", "rows"]) ?? "a join has `file`, `key`, `on` and `rows`")
                }
            }
            guard let file, let key else {
                error(.invalidSchema, "join `\(name)` needs `file` (the CSV file) and `key` (its key column)", nameNode)
                continue
            }
            if joinIndex[name] != nil {
                error(.duplicateDefinition, "join `\(name)` is declared twice", nameNode)
                continue
            }
            let onRef = EventMapping.ColumnRef(join: nil, column: on?.0 ?? key, label: on.map { label($0.1) } ?? keyLabel)
            joinIndex[name] = mapping.joins.count
            mapping.joins.append(EventMapping.Join(name: name, file: file, key: key, on: onRef, many: many, label: label(nameNode),
                                                   fileLabel: fileLabel, keyLabel: keyLabel))
        }
    }

    mutating func loadFields(_ node: YAMLNode) {
        guard let list = entries(node) else {
            error(.invalidSchema, "`fields` is a mapping of `entity.field` to a column or a value", node,
                  help: "e.g. `fields: { order.id: order_id, order.placed_at: order_purchase_timestamp }`")
            return
        }
        var seen: Set<String> = []
        for (name, nameNode, value) in list {
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                error(.unknownField, "`\(name)` is not a field; write `entity.field`, such as `order.id`", nameNode)
                continue
            }
            guard let entity = program.entities.firstIndex(where: { $0.name == parts[0] }) else {
                error(.unknownEntity, "the schema has no entity `\(parts[0])`", nameNode, "unknown entity",
                      help: Suggestions.didYouMean(parts[0], among: program.entities.map(\.name)) ?? "the entities are \(program.entities.map { "`\($0.name)`" }.joined(separator: ", "))")
                continue
            }
            guard let field = program.entities[entity].fields.first(where: { $0.name == parts[1] }) else {
                error(.unknownField, "entity `\(parts[0])` has no field `\(parts[1])`", nameNode, "unknown field",
                      help: Suggestions.didYouMean(name, among: program.entities[entity].fields.map { "\(parts[0]).\($0.name)" })
                        ?? "the fields of \(parts[0]) are \(program.entities[entity].fields.map { "`\($0.name)`" }.joined(separator: ", "))")
                continue
            }
            guard seen.insert(name).inserted else {
                error(.duplicateDefinition, "`\(name)` is mapped twice", nameNode)
                continue
            }
            let slot = program.slots.firstIndex { $0.entity == entity && $0.field == parts[1] }
            var (kind, unit) = fieldKind(field.type)
            if let slot {
                kind = program.slots[slot].kind
                unit = program.slots[slot].unit
            }
            if kind == .list {
                error(.mixedTypes, "`\(name)` is a list; lists cannot be read from CSV columns", nameNode)
                continue
            }
            guard let spec = self.value(value, kind: kind, unit: unit, what: name, allowKnownAt: true) else { continue }
            mapping.fields.append(EventMapping.Field(entity: entity, field: parts[1], kind: kind, unit: unit, slot: slot,
                                                     value: spec.value, knownAt: spec.knownAt, label: label(nameNode)))
        }
    }

    mutating func loadEvents(_ node: YAMLNode) {
        guard let list = sequence(node), !list.isEmpty else {
            error(.invalidSchema, "`events` is a list of the events each row yields", node,
                  help: "e.g. `events: [{ event: order.placed, time: order_purchase_timestamp }]`")
            return
        }
        for item in list {
            guard let settings = entries(item) else {
                error(.invalidSchema, "each entry of `events` has `event` (the type) and `time` (a time column)", item)
                continue
            }
            var type: EventMapping.EventType? = nil, time: EventMapping.Value? = nil, id: [EventMapping.IDPiece]? = nil
            var typeGiven = false, timeGiven = false
            for (setting, settingNode, value) in settings {
                switch setting {
                case "event":
                    typeGiven = true
                    if let name = scalar(value) {
                        if let index = program.events.firstIndex(where: { $0.name == name }) {
                            type = .fixed(index)
                        } else {
                            error(.unknownEvent, "the schema has no event type `\(name)`", value, "unknown event type",
                                  help: Suggestions.didYouMean(name, among: program.events.map(\.name))
                                    ?? "event types are declared in the schema under `events:` (add a new one there first); they are \(Suggestions.listing(program.events.map(\.name), nearestTo: name))")
                        }
                    } else if let spec = self.value(value, kind: .string, unit: 0, what: "the event type", allowKnownAt: false) {
                        guard case .column = spec.value.source else {
                            error(.invalidSchema, "an event type is a name or `{ column: ..., values: {...} }`", value)
                            continue
                        }
                        for case let name? in spec.value.values.values where !program.events.contains(where: { $0.name == name }) {
                            error(.unknownEvent, "the schema has no event type `\(name)`", value, "in these values",
                                  help: Suggestions.didYouMean(name, among: program.events.map(\.name)))
                        }
                        type = .column(spec.value)
                    }
                case "time":
                    timeGiven = true
                    time = self.value(value, kind: .timestamp, unit: 0, what: "the event time", allowKnownAt: false)?.value
                case "id":
                    guard let text = scalar(value) else {
                        error(.invalidSchema, "`id` is a text with `{column}` placeholders, such as \"{order_id}/placed\"", value)
                        continue
                    }
                    id = idTemplate(text, value)
                default:
                    error(.unknownName, "unknown setting `\(setting)` of an event", settingNode,
                          help: Suggestions.didYouMean(setting, among: ["event", "time", "id"]) ?? "an event has `event`, `time` and `id`")
                }
            }
            if !typeGiven { error(.invalidSchema, "this event has no `event` (its type, such as `order.placed`)", item) }
            if !timeGiven { error(.invalidSchema, "this event has no `time` (the column with its time)", item) }
            if let type, let time {
                mapping.events.append(EventMapping.EventSpec(type: type, time: time, id: id, label: label(item)))
            }
        }
    }

    // MARK: Values

    /// A value spec: `column`, `join.column`, or `{ column | value | difference | sum | min |
    /// max | first | last | count: ..., format, time_zone, values, currency, unit, known_at }`.
    mutating func value(_ node: YAMLNode, kind: RuntimeValue.Kind, unit: Int32, what: String,
                        allowKnownAt: Bool) -> (value: EventMapping.Value, knownAt: EventMapping.Value?)? {
        if let text = scalar(node) {
            guard let ref = columnRef(text, node, aggregated: false) else { return nil }
            let spec = EventMapping.Value(source: .column(ref), values: [:], label: label(node))
            return checkCurrency(spec, node, kind: kind, unit: unit, what: what) ? (spec, nil) : nil
        }
        guard let settings = entries(node) else {
            error(.invalidSchema, "\(what): write a column name or `{ column: ... }`", node)
            return nil
        }
        let sourceKeys = ["column", "value", "difference"] + EventMapping.Aggregation.allCases.map(\.rawValue) + ["count"]
        let optionKeys = ["format", "time_zone", "values", "currency", "unit"] + (allowKnownAt ? ["known_at"] : [])
        var spec = EventMapping.Value(source: .constant(""), values: [:], label: label(node))
        var sourceSeen = false
        var knownAt: EventMapping.Value? = nil
        var failed = false
        for (key, keyNode, value) in settings {
            if sourceKeys.contains(key) {
                if sourceSeen {
                    error(.invalidSchema, "\(what) has two sources; give one of `column`, `value`, `difference`, `sum`, `min`, `max`, `first`, `last`, `count`", keyNode)
                    failed = true
                    continue
                }
                sourceSeen = true
            }
            switch key {
            case "column":
                guard let text = scalar(value), let ref = columnRef(text, value, aggregated: false) else { failed = true; continue }
                spec.source = .column(ref)
            case "value":
                guard let text = scalar(value) else {
                    error(.invalidSchema, "`value` is one constant, such as `Standard` or `0 BRL`", value)
                    failed = true
                    continue
                }
                spec.source = .constant(text)
            case "difference":
                guard let pair = sequence(value), pair.count == 2, let a = scalar(pair[0]), let b = scalar(pair[1]) else {
                    error(.invalidSchema, "`difference` takes two time columns: `[later, earlier]`", value)
                    failed = true
                    continue
                }
                guard let first = columnRef(a, pair[0], aggregated: false), let second = columnRef(b, pair[1], aggregated: false) else {
                    failed = true
                    continue
                }
                if kind != .duration {
                    error(.mixedTypes, "the difference of two times is a duration, but \(what) is \(kindName(kind, unit))", keyNode)
                    failed = true
                }
                spec.source = .difference(first, second)
            case "count":
                guard let name = scalar(value), let join = joinIndex[name] else {
                    error(.unknownName, "`count` takes the name of a join", value, help: Suggestions.didYouMean(scalar(value) ?? "", among: mapping.joins.map(\.name)))
                    failed = true
                    continue
                }
                if kind != .integer {
                    error(.mixedTypes, "`count` is a whole number, but \(what) is \(kindName(kind, unit))", keyNode)
                    failed = true
                }
                spec.source = .count(join: join)
            case "format":
                guard let pattern = pattern(value) else { failed = true; continue }
                spec.format = pattern
            case "time_zone":
                guard let zone = zone(value) else { failed = true; continue }
                spec.zone = zone
            case "values":
                guard let pairs = entries(value) else {
                    error(.invalidSchema, "`values` maps the texts of the column to what they mean: `{ credit_card: card }`", value)
                    failed = true
                    continue
                }
                for (text, _, meaning) in pairs {
                    if isNull(meaning) {
                        spec.values[text] = .some(nil)
                    } else if let meaning = scalar(meaning) {
                        if kind == .enumCase, unit >= 0, Int(unit) < program.enums.count, !program.enums[Int(unit)].cases.contains(meaning) {
                            let enumeration = program.enums[Int(unit)]
                            error(.unknownEnumCase, "`\(meaning)` is not a case of \(enumeration.name)", pairs.first { $0.key == text }?.value ?? value,
                                  "not a case", help: Suggestions.didYouMean(meaning, among: enumeration.cases) ?? "the cases are \(enumeration.cases.joined(separator: ", "))")
                            failed = true
                        }
                        spec.values[text] = .some(meaning)
                    }
                }
            case "currency":
                guard let code = currency(value) else { failed = true; continue }
                spec.currency = code
            case "unit":
                let units: [String: Int64] = ["ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000]
                guard let text = scalar(value), let factor = units[text] else {
                    error(.invalidSchema, "`unit` of a duration column is one of ms, s, m, h, d, w", value)
                    failed = true
                    continue
                }
                if kind != .duration {
                    error(.mixedTypes, "`unit` applies to durations, but \(what) is \(kindName(kind, unit))", keyNode)
                }
                spec.unit = factor
            case "known_at":
                guard let known = self.value(value, kind: .timestamp, unit: 0, what: "`known_at`", allowKnownAt: false) else {
                    failed = true
                    continue
                }
                knownAt = known.value
            default:
                if let aggregation = EventMapping.Aggregation(rawValue: key) {
                    guard let text = scalar(value), let ref = columnRef(text, value, aggregated: true) else { failed = true; continue }
                    if ref.join == nil {
                        error(.invalidSchema, "`\(key)` takes a column of a joined file, such as `payments.payment_value`", value)
                        failed = true
                    }
                    if aggregation == .sum, ![.money, .integer, .decimal, .duration, .percent].contains(kind) {
                        error(.mixedTypes, "`sum` adds numbers, money or durations, but \(what) is \(kindName(kind, unit))", keyNode)
                        failed = true
                    }
                    spec.source = .aggregate(aggregation, ref)
                } else {
                    error(.unknownName, "unknown setting `\(key)` of \(what)", keyNode,
                          help: Suggestions.didYouMean(key, among: sourceKeys + optionKeys) ?? "the settings are \((sourceKeys + optionKeys).map { "`\($0)`" }.joined(separator: ", "))")
                    failed = true
                }
            }
            if key == "known_at", !allowKnownAt {
                error(.invalidSchema, "`known_at` applies to fields only", keyNode)
                failed = true
            }
        }
        if !sourceSeen {
            error(.invalidSchema, "\(what) has no source; give one of `column`, `value`, `difference`, `sum`, `min`, `max`, `first`, `last`, `count`", node)
            return nil
        }
        if !checkCurrency(spec, node, kind: kind, unit: unit, what: what) { failed = true }
        if case .constant(let text) = spec.source, kind == .enumCase, unit >= 0, Int(unit) < program.enums.count,
           spec.values.isEmpty, !program.enums[Int(unit)].cases.contains(text) {
            let enumeration = program.enums[Int(unit)]
            error(.unknownEnumCase, "`\(text)` is not a case of \(enumeration.name)", node, help: Suggestions.didYouMean(text, among: enumeration.cases))
            failed = true
        }
        return failed ? nil : (spec, knownAt)
    }

    /// Plain amounts are read in the value's (or the mapping's) currency, which must be the field's.
    mutating func checkCurrency(_ spec: EventMapping.Value, _ node: YAMLNode, kind: RuntimeValue.Kind, unit: Int32, what: String) -> Bool {
        guard kind == .money, let code = spec.currency ?? mapping.currency, unit >= 0, Int(unit) < program.currencies.count,
              program.currencies[Int(unit)].code != code else { return true }
        error(.currencyMismatch, "\(what) is money in \(program.currencies[Int(unit)].code), but the mapping reads \(code)", node,
              help: "no currency is converted; give the field's currency")
        return false
    }

    /// `column` or `join.column` (a declared join); plain references into a join of several
    /// rows per key must say how to combine them.
    mutating func columnRef(_ text: String, _ node: YAMLNode, aggregated: Bool) -> EventMapping.ColumnRef? {
        if let dot = text.firstIndex(of: "."), let join = joinIndex[String(text[..<dot])] {
            let column = String(text[text.index(after: dot)...])
            if !aggregated, mapping.joins[join].many {
                error(.invalidSchema, "`\(mapping.joins[join].name)` has several rows per key; say which value to take", node,
                      help: "write `{ sum: \(text) }`, or `min`, `max`, `first`, `last` instead of `sum`")
                return nil
            }
            return EventMapping.ColumnRef(join: join, column: column, label: label(node))
        }
        if text.isEmpty {
            error(.invalidSchema, "a column name is empty", node)
            return nil
        }
        return EventMapping.ColumnRef(join: nil, column: text, label: label(node))
    }

    mutating func idTemplate(_ text: String, _ node: YAMLNode) -> [EventMapping.IDPiece]? {
        var pieces: [EventMapping.IDPiece] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { pieces.append(.text(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else {
                error(.invalidSchema, "`{` without `}` in the id template", node)
                return nil
            }
            let name = String(rest[rest.index(after: open)..<close])
            guard let ref = columnRef(name, node, aggregated: false) else { return nil }
            pieces.append(.column(ref))
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { pieces.append(.text(String(rest))) }
        return pieces
    }

    mutating func pattern(_ node: YAMLNode) -> TimePattern? {
        guard let text = scalar(node) else {
            error(.malformedLiteral, "a time format is a text such as `YYYY-MM-DD HH:MM:SS` or `M/D/YYYY H:MM`", node)
            return nil
        }
        switch TimePattern.compile(text) {
        case .success(let pattern): return pattern
        case .failure(let problem):
            error(.malformedLiteral, "invalid time format `\(text)`: \(problem)", node, "not a time format",
                  help: "letters: YYYY year, M/MM month, D/DD day, H/HH hour, MM (after the hour) or mm minutes, SS seconds, f fraction, A AM/PM, Z offset; [...] is optional")
            return nil
        }
    }

    mutating func zone(_ node: YAMLNode) -> TimeZoneSpec? {
        guard let text = scalar(node), let zone = TimeZoneSpec.parse(text) else {
            error(.malformedLiteral, "`time_zone` is an offset such as \"-03:00\" or a zone name such as America/Sao_Paulo", node, "not a time zone")
            return nil
        }
        return zone
    }

    mutating func currency(_ node: YAMLNode) -> String? {
        guard let text = scalar(node), text.utf8.count == 3, text.allSatisfy({ $0.isUppercase && $0.isASCII }) else {
            error(.unknownCurrency, "a currency is an ISO 4217 code such as BRL or EUR", node, "not a currency")
            return nil
        }
        return text
    }

    func kindName(_ kind: RuntimeValue.Kind, _ unit: Int32) -> String {
        switch kind {
        case .money: "money"
        case .enumCase: unit >= 0 && Int(unit) < program.enums.count ? "a \(program.enums[Int(unit)].name)" : "an enum"
        case .integer: "an integer"
        default: "a \(kind)"
        }
    }

    /// The kind of a schema field type as the IR writes it: `money (BRL)`, `duration?`, `Tier`.
    func fieldKind(_ type: String) -> (RuntimeValue.Kind, Int32) {
        var text = type
        if text.hasSuffix("?") { text.removeLast() }
        switch text {
        case "bool": return (.bool, 0)
        case "integer": return (.integer, 0)
        case "decimal": return (.decimal, 0)
        case "string": return (.string, 0)
        case "percent": return (.percent, 0)
        case "duration": return (.duration, 0)
        case "timestamp": return (.timestamp, 0)
        case "date": return (.date, 0)
        default: break
        }
        if text.hasPrefix("money") {
            let code = text.filter { $0.isUppercase }
            let index = program.currencies.firstIndex { $0.code == (code.isEmpty ? program.currencies.first?.code : code) }
            return (.money, Int32(index ?? -1))
        }
        if text.hasPrefix("list") { return (.list, 0) }
        return (.enumCase, Int32(program.enums.firstIndex { $0.name == text } ?? -1))
    }

    // MARK: YAML helpers (as in RedressSemantics' YAMLDocument)

    func label(_ node: YAMLNode, _ message: String = "") -> Label {
        guard let mark = node.mark else { return Label(file: source.path, span: .empty, message: message) }
        let start = source.offset(line: mark.line, column: mark.column)
        var length = 1
        if case .scalar(let scalar) = node { length = max(1, scalar.string.utf8.count) }
        return Label(file: source.path, span: Span(start: start, end: min(source.bytes.count, start + length)), message: message)
    }

    func entries(_ node: YAMLNode) -> [(key: String, keyNode: YAMLNode, value: YAMLNode)]? {
        guard case .mapping(let mapping) = node else { return nil }
        return mapping.map { pair in (pair.key.string ?? "", pair.key, pair.value) }
    }

    func scalar(_ node: YAMLNode) -> String? {
        if case .scalar(let scalar) = node { return scalar.string }
        return nil
    }

    func isNull(_ node: YAMLNode) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    func sequence(_ node: YAMLNode) -> [YAMLNode]? {
        if case .sequence(let sequence) = node { return Array(sequence) }
        return nil
    }
}

