#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import RedressIR
import RedressSemantics
import RedressSyntax

/// Bounds on what one CSV record may take, so that a stray quote or a file that is not CSV at
/// all (`/dev/zero`, a binary) costs bounded memory and ends (docs/events.md, "CSV input").
public struct CSVLimits: Sendable, Equatable {
    public static let defaultHeaderBytes = 64 << 10
    public static let defaultRowBytes = 1 << 20
    public static let defaultQuotedFieldLines = 100
    public static let defaultQuotedFieldBytes = 64 << 10

    /// Longest header (the first record), in bytes. A longer one ends the reading with a
    /// `failure`: the file is not a CSV file, or not this one.
    public var headerBytes: Int
    /// Longest row, in bytes. A longer row is a bad row; the rest of its line is skipped.
    public var rowBytes: Int
    /// Most line breaks one quoted field may hold.
    public var quotedFieldLines: Int
    /// Longest quoted field, in bytes.
    public var quotedFieldBytes: Int

    public init(headerBytes: Int = defaultHeaderBytes, rowBytes: Int = defaultRowBytes,
                quotedFieldLines: Int = defaultQuotedFieldLines, quotedFieldBytes: Int = defaultQuotedFieldBytes) {
        self.headerBytes = max(1, headerBytes)
        self.rowBytes = max(1, rowBytes)
        self.quotedFieldLines = max(0, quotedFieldLines)
        self.quotedFieldBytes = max(1, quotedFieldBytes)
    }
}

/// Reads CSV records (RFC 4180) from a file descriptor, one at a time, in constant memory:
/// quoted fields may hold the delimiter, doubled quotes and line breaks; lines end with `\n`,
/// `\r\n` or `\r`; a UTF-8 byte-order mark at the start is skipped. A quote inside an unquoted
/// field is kept as text. The first record is the header: its number of fields is what every
/// row must have. Problems (an unclosed quote, text after a closing quote, a record or a
/// quoted field beyond `limits`) are reported in `problem`, and reading goes on.
///
/// One stray quote must not swallow the rest of a file: a bad row that spans several lines
/// (its quote ran on, or never closed, or it has the wrong number of fields) is cut back to its
/// first line, and reading starts again on the next one. Lines the bad row had reached that do
/// not parse as rows either are added to it; the first line that does is read as a row. The
/// bad row's `problem` says which lines it covers.
public final class CSVReader {
    let descriptor: Int32
    let delimiter: UInt8
    public let limits: CSVLimits
    let buffer: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var position = 0
    var end = 0
    var finished = false
    var started = false
    /// Physical line of the next byte (1-based).
    var line = 1
    var truncated = false
    /// Bytes handed back to be read again (the lines after the first of a bad row that is cut
    /// back), ahead of what is in the buffer; `pendingStart` is how many are read already.
    var pending: [UInt8] = []
    var pendingStart = 0
    /// Whether the record read last ended at a line break (which `raw` leaves out).
    var endedAtLineBreak = false
    /// Bytes read from the descriptor so far.
    var bytesRead: Int64 = 0

    /// Bytes of the input consumed: read, less what is buffered or handed back to be read again.
    /// After a record, the end of the text it was read from (`run --state` records it).
    public var consumedBytes: Int64 { bytesRead - Int64(end - position) - Int64(pending.count - pendingStart) }

    /// The line the current record starts on.
    public private(set) var recordLine = 0
    /// How many lines the current record covers (more than one for line breaks inside quotes,
    /// and for a bad row with the lines after it that do not parse as rows).
    public private(set) var recordLines = 1
    /// The unescaped contents of the current record's fields: `fields[i]` is a range of `bytes`.
    public private(set) var bytes: [UInt8] = []
    public private(set) var fields: [Range<Int>] = []
    /// The record as written (without its line end), for dead letters.
    public private(set) var raw: [UInt8] = []
    public private(set) var problem: String? = nil
    /// Why reading stopped early (a directory, a device error, a header beyond
    /// `limits.headerBytes`), or nil at the normal end.
    public private(set) var failure: String? = nil
    /// The number of fields of the header (the first record), once it is read.
    public private(set) var headerFieldCount: Int? = nil

    public init(descriptor: Int32, delimiter: UInt8 = UInt8(ascii: ","), bufferSize: Int = 1 << 16, limits: CSVLimits = CSVLimits()) {
        self.descriptor = descriptor
        self.delimiter = delimiter
        self.limits = limits
        capacity = max(bufferSize, 4)
        buffer = .allocate(capacity: capacity)
    }

    deinit { buffer.deallocate() }

    @inline(__always) func available() -> Bool {
        if position < end { return true }
        if pendingStart < pending.count { return refillFromPending() }
        if finished { return false }
        repeat {
            var count = read(descriptor, buffer, capacity)
            while count < 0, errno == EINTR { count = read(descriptor, buffer, capacity) }
            if count < 0 { failure = String(cString: strerror(errno)) }
            position = 0
            if count > 0 { bytesRead += Int64(count) }
            if count <= 0 {
                end = 0
                finished = true
                return false
            }
            end = count
        } while end == 0
        return true
    }

    func refillFromPending() -> Bool {
        let count = min(capacity, pending.count - pendingStart)
        pending.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress else { return }
            buffer.update(from: base + pendingStart, count: count)
        }
        pendingStart += count
        position = 0
        end = count
        if pendingStart == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingStart = 0
        }
        return count > 0
    }

    /// Puts `bytes` back in front of everything not read yet.
    func pushBack<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        var again = Array(bytes)
        again.append(contentsOf: UnsafeBufferPointer(start: buffer + position, count: end - position))
        again.append(contentsOf: pending[pendingStart...])
        pending = again
        pendingStart = 0
        position = 0
        end = 0
    }

    /// Copies bytes of a field (and the raw text) unless the record has grown beyond `limit`.
    @inline(__always) func append(_ start: Int, _ stop: Int, limit: Int, raw rawToo: Bool = true) {
        guard !truncated, stop > start else { return }
        let chunk = UnsafeBufferPointer(start: buffer + start, count: stop - start)
        bytes.append(contentsOf: chunk)
        if rawToo { raw.append(contentsOf: chunk) }
        if raw.count > limit || bytes.count > limit {
            truncated = true
            if problem == nil { problem = "the row is longer than \(CSVReader.describe(bytes: limit)) (is a quote not closed?); the rest of its line is skipped" }
        }
    }

    @inline(__always) func appendRaw(_ byte: UInt8) { if !truncated { raw.append(byte) } }

    static func describe(bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }

    /// Reads the next record; false at the end of the input (or when it cannot be read: see `failure`).
    public func next() -> Bool {
        let isHeader = !started
        guard readRecord() else { return false }
        if isHeader {
            headerFieldCount = fields.count
            return true
        }
        guard recordLines > 1, isBad else { return true }
        if truncated {
            // Too long to be read again: the bad row is everything up to where reading stopped.
            let last = recordLine + recordLines - 1
            problem = "\(problem ?? columnProblem); the bad row is lines \(recordLine)–\(last), \(recordLines) lines, reading goes on at line \(last + 1)"
            return true
        }
        cutBack()
        return true
    }

    /// A record that is not a row: a problem, or (after the header) another number of fields.
    var isBad: Bool {
        if problem != nil { return true }
        if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { return false }
        return headerFieldCount.map { fields.count != $0 } ?? false
    }

    var columnProblem: String {
        "the row has \(fields.count) column\(fields.count == 1 ? "" : "s"), the header \(headerFieldCount ?? 0)"
    }

    /// The current record is bad and spans several lines: keeps its first line as the bad row,
    /// reads the lines after it again, adds those that do not parse as rows (up to the last line
    /// the record reached), and puts the first one that does back for `next()`.
    func cutBack() {
        let startLine = recordLine
        let reach = recordLine + recordLines - 1
        let reason = problem ?? columnProblem
        var letter: [UInt8] = []
        var lastLine = startLine
        /// Adds the first line of the current record to the bad row and puts the rest back.
        func keepFirstLine() {
            let lineEnd = raw.firstIndex(of: 10) ?? raw.count
            var first = raw[..<lineEnd]
            if first.last == 13 { first = first.dropLast() }
            if !letter.isEmpty { letter.append(10) }
            letter += first
            lastLine = recordLine
            var rest = Array(raw[min(lineEnd + 1, raw.count)...])
            if endedAtLineBreak { rest.append(10) }
            let next = recordLine + 1
            pushBack(rest)
            line = next
        }
        keepFirstLine()
        while readRecord() {
            if recordLine > reach || !isBad {
                // Beyond the bad row, or a row again: read it afresh.
                var again = raw
                if endedAtLineBreak { again.append(10) }
                let start = recordLine
                pushBack(again)
                line = start
                break
            }
            if recordLines > 1, !truncated {
                keepFirstLine()
                continue
            }
            letter.append(10)
            letter += raw
            lastLine = recordLine + recordLines - 1
        }
        let covered = lastLine - startLine + 1
        recordLine = startLine
        recordLines = covered
        raw = letter
        bytes = letter
        fields = [0..<bytes.count]
        truncated = false
        let lines = covered == 1 ? "line \(startLine)" : "lines \(startLine)–\(lastLine), \(covered) lines"
        problem = "\(reason); the bad row is \(lines), reading goes on at line \(lastLine + 1)"
    }

    /// Reads one record as written from where reading stands; false at the end of the input.
    func readRecord() -> Bool {
        bytes.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
        raw.removeAll(keepingCapacity: true)
        problem = nil
        truncated = false
        endedAtLineBreak = false
        recordLines = 1
        guard available() else { return false }
        let isHeader = !started
        if !started {
            started = true
            // Look at the first three bytes, however the input hands them out, for a byte-order mark.
            while end < 3, !finished {
                let count = read(descriptor, buffer + end, capacity - end)
                if count <= 0 { finished = true } else { end += count }
            }
            if end - position >= 3, buffer[position] == 0xEF, buffer[position + 1] == 0xBB, buffer[position + 2] == 0xBF {
                position += 3
                guard available() else { return false }
            }
        }
        let limit = isHeader ? limits.headerBytes : limits.rowBytes
        recordLine = line
        var fieldStart = 0
        var atFieldStart = true
        var quoted = false
        var closedQuote = false
        /// Set when a quoted field went beyond the limits: quotes are text for the rest of the record.
        var gaveUp = false
        var quoteLine = 0, quotedLines = 0, quotedBytes = 0
        while true {
            if isHeader, truncated {
                // Not a CSV file (or one without line breaks): reading ends here.
                failure = "the first row (the header) is longer than \(CSVReader.describe(bytes: limit)); is it a CSV file?"
                finished = true
                position = end
                pending.removeAll()
                pendingStart = 0
                return false
            }
            guard available() else {
                if quoted, problem == nil {
                    problem = "a quoted field is not closed: the quote opened on line \(quoteLine) runs to the end of the file"
                }
                break
            }
            if quoted {
                let start = position
                var tooManyLines = false
                while position < end, buffer[position] != 34 {
                    if buffer[position] == 10 {
                        line += 1
                        quotedLines += 1
                        if quotedLines > limits.quotedFieldLines {
                            position += 1
                            tooManyLines = true
                            break
                        }
                    }
                    position += 1
                }
                quotedBytes += position - start
                append(start, position, limit: limit)
                if tooManyLines || quotedBytes > limits.quotedFieldBytes {
                    if problem == nil {
                        problem = "the quoted field opened on line \(quoteLine) holds more than \(tooManyLines ? "\(limits.quotedFieldLines) line breaks" : CSVReader.describe(bytes: limits.quotedFieldBytes)) (is a quote not closed?)"
                    }
                    quoted = false
                    gaveUp = true
                    // Over several lines, `next()` cuts the record back to its first line and reads the others again.
                    if line > recordLine { break }
                    continue
                }
                if truncated {
                    // Give up on the quote: the rest of the record ends at the next line break.
                    quoted = false
                    gaveUp = true
                    continue
                }
                guard position < end else { continue }
                position += 1
                appendRaw(34)
                if available(), buffer[position] == 34 {
                    position += 1
                    appendRaw(34)
                    if !truncated { bytes.append(34) }
                    quotedBytes += 1
                } else {
                    quoted = false
                    closedQuote = true
                }
                continue
            }
            let byte = buffer[position]
            if byte == delimiter {
                position += 1
                appendRaw(byte)
                fields.append(fieldStart..<bytes.count)
                fieldStart = bytes.count
                atFieldStart = true
                closedQuote = false
                continue
            }
            if byte == 10 {
                position += 1
                line += 1
                endedAtLineBreak = true
                break
            }
            if byte == 13 {
                position += 1
                if available(), buffer[position] == 10 { position += 1 }
                line += 1
                endedAtLineBreak = true
                break
            }
            if byte == 34, atFieldStart, !gaveUp {
                position += 1
                appendRaw(34)
                quoted = true
                quoteLine = line
                quotedLines = 0
                quotedBytes = 0
                atFieldStart = false
                continue
            }
            let start = position
            while position < end {
                let c = buffer[position]
                if c == delimiter || c == 10 || c == 13 { break }
                position += 1
            }
            if closedQuote, problem == nil {
                problem = "text after the closing quote of column \(fields.count + 1); a quote inside a quoted field is written twice (\"\")"
            }
            append(start, position, limit: limit)
            atFieldStart = false
        }
        fields.append(fieldStart..<bytes.count)
        // `line` is the line of the next byte: a record that ended at a line break (or was cut off just after one) did not reach it.
        recordLines = max(1, line - recordLine + (endedAtLineBreak || raw.last == 10 ? 0 : 1))
        return true
    }

    public var fieldCount: Int { fields.count }

    public func field(_ index: Int) -> String {
        String(decoding: bytes[fields[index]], as: UTF8.self)
    }

    /// True when every field is empty or blank (`,,,,` rows of spreadsheets, empty lines).
    public var isBlank: Bool {
        problem == nil && bytes.allSatisfy { $0 == 32 || $0 == 9 }
    }

    public var rawText: String { String(decoding: raw, as: UTF8.self) }
}

/// Events from a CSV file through an `EventMapping`, filled exactly as `EventReader` fills them
/// from JSON lines (same slots, same strings arena, same required fields), so the engine cannot
/// tell the difference. The main file is read streaming; joined files are loaded into memory by
/// key (only the columns the mapping uses). Rows are processed in the order of the file; the
/// events of one row come out in time order. A row is all or nothing: when one of its values
/// cannot be read, the whole row is a dead letter and none of its events is emitted.
public final class CSVEventSource {
    public enum Row {
        /// The row's events in time order (empty when no event's time column has a value).
        case events([Event])
        /// Every cell empty: skipped and counted in `blankRows`.
        case blank
        case deadLetter(DeadLetter)
    }

    /// Why the source could not be opened: diagnostics point into the mapping file.
    public struct OpenError: Error, CustomStringConvertible {
        public var diagnostics: [Diagnostic]
        public var description: String { diagnostics.map(\.message).joined(separator: "; ") }
    }

    public let mapping: EventMapping
    public let limits: CSVLimits
    let program: Program
    /// By event type, the fields a row must have (as for JSON lines: those something reads).
    let requiredSlots: [[Int]]
    /// By enum, its cases' numbers by name.
    let enumCases: [[String: Int64]]
    let csv: CSVReader
    /// Why the main file stopped early (a read error), or nil; read after the last row.
    public var readFailure: String? { csv.failure }
    let fileName: String
    /// The main file as given (`-` for standard input).
    let path: String

    public private(set) var header: [String] = []
    /// Data rows read so far (blank and bad rows included; the header is not a row).
    public private(set) var rows = 0
    public private(set) var blankRows = 0
    /// Rows of joined files that could not be read (their line numbers are the joined file's).
    public private(set) var joinProblems: [DeadLetter] = []
    public private(set) var joinBlankRows = 0
    /// Remarks about joined files (keys of `rows: one` joins that appear more than once).
    public private(set) var warnings: [String] = []

    // Compiled form of the mapping.
    enum Cell { case main(Int), join(Int, Int) }
    /// How a cell is read. A class, so that the per-row loops pass references, not copies.
    final class Target {
        let kind: RuntimeValue.Kind
        let unit: Int32
        let patterns: [TimePattern]
        let formatText: String
        let zone: ZoneConverter
        let values: [String: String?]
        let currency: Program.Currency?
        let durationUnit: Int64?
        let name: String
        let enumCases: [String: Int64]
        /// The same without `values` (for the text a value maps to), and read as a time (for differences).
        private(set) lazy var plain: Target = values.isEmpty ? self : variant(kind: kind, values: [:])
        private(set) lazy var asTimestamp: Target = kind == .timestamp ? self : variant(kind: .timestamp, values: values)

        init(kind: RuntimeValue.Kind, unit: Int32, patterns: [TimePattern], formatText: String, zone: ZoneConverter, values: [String: String?],
             currency: Program.Currency?, durationUnit: Int64?, name: String, enumCases: [String: Int64]) {
            self.kind = kind
            self.unit = unit
            self.patterns = patterns
            self.formatText = formatText
            self.zone = zone
            self.values = values
            self.currency = currency
            self.durationUnit = durationUnit
            self.name = name
            self.enumCases = enumCases
        }

        func variant(kind: RuntimeValue.Kind, values: [String: String?]) -> Target {
            Target(kind: kind, unit: unit, patterns: patterns, formatText: formatText, zone: zone, values: values, currency: currency,
                   durationUnit: durationUnit, name: name, enumCases: enumCases)
        }
    }
    enum Source {
        case cell(Cell, String)
        case constant(String)
        case difference(Cell, String, Cell, String)
        case aggregate(EventMapping.Aggregation, join: Int, column: Int, name: String)
        case count(join: Int)
    }
    final class Compiled {
        let source: Source
        let target: Target
        init(source: Source, target: Target) {
            self.source = source
            self.target = target
        }
    }
    struct FieldPlan {
        var slot: Int
        var entity: Int
        var value: Compiled
        var knownAt: Compiled?
    }
    enum TypePlan { case fixed(Int), column(Compiled) }
    enum IDPlan { case text(String), cell(Cell) }
    struct EventPlan {
        var type: TypePlan
        var time: Compiled
        var id: [IDPlan]?
    }
    struct JoinTable {
        var name: String
        var file: String
        var columns: [String]
        var rows: [String: [[String]]]
        /// The main file's column holding the key.
        var onColumn: Int
    }

    var fields: [FieldPlan] = []
    /// By event type: the indices of `fields` whose entity the event carries.
    var carriedFields: [[Int]] = []
    var plans: [EventPlan] = []
    var joins: [JoinTable] = []
    /// Per row: the join rows matching its key (empty when none).
    var matched: [[[String]]] = []
    var rowValues: [RuntimeValue] = []
    var rowStrings: [String] = []
    var zones: [TimeZoneSpec: ZoneConverter] = [:]

    /// Opens the main file (already open as `descriptor`; `path` names it, `-` for standard
    /// input) and loads the joined files. Relative paths of joined files are resolved against
    /// the directory of the main file (the current directory for standard input);
    /// `joinPaths` (join name → path) overrides them.
    /// `limits` bound the header, rows and quoted fields of the main and the joined files.
    public convenience init(mapping: EventMapping, program: Program, descriptor: Int32, path: String, joinPaths: [String: String] = [:],
                            limits: CSVLimits = CSVLimits()) throws(OpenError) {
        try self.init(mapping: mapping, program: program, reader: CSVReader(descriptor: descriptor, delimiter: mapping.delimiter, limits: limits),
                      header: nil, path: path, joinPaths: joinPaths, limits: limits)
    }

    /// The events `program` gets from the rows `leader` reads, through `mapping` (the same
    /// mapping file, loaded for this program): `current()` maps the row the leader read last.
    /// One input is then read once for several rule sets (`simulate --baseline`, `diff`), as
    /// standard input must be.
    public convenience init(mapping: EventMapping, program: Program, sharingRowsOf leader: CSVEventSource,
                            joinPaths: [String: String] = [:]) throws(OpenError) {
        try self.init(mapping: mapping, program: program, reader: leader.csv, header: leader.header, path: leader.path,
                      joinPaths: joinPaths, limits: leader.limits)
    }

    /// `header`: the main file's columns when its header was read already (by a leader), or
    /// nil to read it here.
    init(mapping: EventMapping, program: Program, reader csv: CSVReader, header known: [String]?, path: String,
         joinPaths: [String: String], limits: CSVLimits) throws(OpenError) {
        self.mapping = mapping
        self.program = program
        self.limits = limits
        self.path = path
        requiredSlots = program.requiredSlotsByEvent
        enumCases = program.enums.map { Dictionary(uniqueKeysWithValues: $0.cases.enumerated().map { ($1, Int64($0)) }) }
        self.csv = csv
        fileName = path == "-" ? "standard input" : (path as NSString).lastPathComponent
        var diagnostics: [Diagnostic] = []

        if let known {
            header = known
        } else {
            guard csv.next() else {
                if let failure = csv.failure {
                    throw OpenError(diagnostics: [Diagnostic(.invalidSchema, "cannot read \(fileName): \(failure)", at: Label(file: mapping.path, span: .empty))])
                }
                throw OpenError(diagnostics: [Diagnostic(.invalidSchema, "\(fileName) is empty: a CSV file starts with a header row naming its columns",
                                                         at: Label(file: mapping.path, span: .empty))])
            }
            header = (0..<csv.fieldCount).map { csv.field($0).trimmingCharacters(in: .whitespaces) }
        }
        var mainColumns: [String: Int] = [:]
        for (index, name) in header.enumerated() where mainColumns[name] == nil { mainColumns[name] = index }

        // Joined files: which columns of each are used.
        var joinColumns = [[String]](repeating: [], count: mapping.joins.count)
        func use(_ ref: EventMapping.ColumnRef) {
            if let join = ref.join, !joinColumns[join].contains(ref.column) { joinColumns[join].append(ref.column) }
        }
        func refs(_ value: EventMapping.Value) -> [EventMapping.ColumnRef] {
            switch value.source {
            case .column(let ref), .aggregate(_, let ref): [ref]
            case .difference(let a, let b): [a, b]
            case .constant, .count: []
            }
        }
        for field in mapping.fields {
            refs(field.value).forEach(use)
            if let known = field.knownAt { refs(known).forEach(use) }
        }
        for event in mapping.events {
            refs(event.time).forEach(use)
            if case .column(let value) = event.type { refs(value).forEach(use) }
            for case .column(let ref) in event.id ?? [] { use(ref) }
        }
        let base: String = path == "-" ? FileManager.default.currentDirectoryPath : (path as NSString).deletingLastPathComponent
        for (index, join) in mapping.joins.enumerated() {
            var file = joinPaths[join.name] ?? join.file
            if joinPaths[join.name] == nil, !file.hasPrefix("/") { file = base.isEmpty ? file : (base as NSString).appendingPathComponent(file) }
            // A join that cannot be used stays in place (empty), so that the other problems are found too.
            let unusable = JoinTable(name: join.name, file: file, columns: [], rows: [:], onColumn: -1)
            guard let onColumn = mainColumns[join.on.column] else {
                diagnostics.append(missingColumn(join.on, in: fileName, header: header))
                joins.append(unusable)
                continue
            }
            switch loadJoin(join, file: file, columns: joinColumns[index]) {
            case .success(var table):
                table.onColumn = onColumn
                joins.append(table)
            case .failure(let problems):
                diagnostics += problems.diagnostics
                joins.append(unusable)
            }
        }

        func cell(_ ref: EventMapping.ColumnRef) -> Cell? {
            if let join = ref.join {
                // Unusable joins and their missing columns are reported already.
                guard let column = joins[join].columns.firstIndex(of: ref.column) else { return nil }
                return .join(join, column)
            }
            guard let column = mainColumns[ref.column] else {
                diagnostics.append(missingColumn(ref, in: fileName, header: header))
                return nil
            }
            return .main(column)
        }
        func compile(_ value: EventMapping.Value, kind: RuntimeValue.Kind, unit: Int32, name: String) -> Compiled? {
            let source: Source
            switch value.source {
            case .column(let ref):
                guard let c = cell(ref) else { return nil }
                source = .cell(c, ref.join.map { "\(mapping.joins[$0].name).\(ref.column)" } ?? ref.column)
            case .constant(let text):
                source = .constant(text)
            case .difference(let a, let b):
                guard let first = cell(a), let second = cell(b) else { return nil }
                source = .difference(first, a.column, second, b.column)
            case .aggregate(let function, let ref):
                guard let join = ref.join, case .join(_, let column)? = cell(ref) else { return nil }
                source = .aggregate(function, join: join, column: column, name: "\(mapping.joins[join].name).\(ref.column)")
            case .count(let join):
                source = .count(join: join)
            }
            let pattern = value.format ?? mapping.timeFormat
            let zoneSpec = value.zone ?? mapping.zone
            let zone = zones[zoneSpec] ?? ZoneConverter(zoneSpec)
            zones[zoneSpec] = zone
            var currency: Program.Currency? = nil
            if kind == .money, unit >= 0, Int(unit) < program.currencies.count { currency = program.currencies[Int(unit)] }
            let cases = kind == .enumCase && unit >= 0 && Int(unit) < program.enums.count ? enumCases[Int(unit)] : [:]
            return Compiled(source: source, target: Target(kind: kind, unit: unit, patterns: pattern.map { [$0] } ?? TimePattern.automatic,
                                                           formatText: pattern?.text ?? "YYYY-MM-DD HH:MM:SS", zone: zone, values: value.values,
                                                           currency: currency, durationUnit: value.unit, name: name, enumCases: cases))
        }

        // Slots the mapping fills (or means to: a field whose column is missing is reported once).
        let mapped = Set(mapping.fields.compactMap(\.slot))
        for field in mapping.fields {
            let name = "\(program.entities[field.entity].name).\(field.field)"
            // Fields no rule reads are not converted, as the JSON reader skips them; their columns must exist all the same.
            let value = compile(field.value, kind: field.kind, unit: field.unit, name: name)
            let known = field.knownAt.flatMap { compile($0, kind: .timestamp, unit: 0, name: "known_at of \(name)") }
            guard let slot = field.slot, let value else { continue }
            if field.knownAt != nil, known == nil { continue }
            fields.append(FieldPlan(slot: slot, entity: field.entity, value: value, knownAt: known))
        }
        for event in mapping.events {
            let time = compile(event.time, kind: .timestamp, unit: 0, name: "the event time")
            var type: TypePlan? = nil
            switch event.type {
            case .fixed(let index):
                type = .fixed(index)
                // A field some rule reads on this event and the schema requires must come from somewhere.
                for slot in requiredSlots[index] where !mapped.contains(slot) {
                    let definition = program.slots[slot]
                    diagnostics.append(Diagnostic(
                        .unknownField, "\(program.events[index].name) needs \(program.entities[definition.entity].name).\(definition.field), but the mapping does not fill it",
                        at: event.label, notes: ["the schema requires the field and a rule reads it on this event, so every row would be a dead letter"],
                        help: "map a column to it under `fields:`"))
                }
            case .column(let value):
                type = compile(value, kind: .string, unit: 0, name: "the event type").map { .column($0) }
            }
            var id: [IDPlan]? = nil
            if let template = event.id {
                id = template.compactMap { piece -> IDPlan? in
                    switch piece {
                    case .text(let text): .text(text)
                    case .column(let ref): cell(ref).map { .cell($0) }
                    }
                }
            }
            if let time, let type { plans.append(EventPlan(type: type, time: time, id: id)) }
        }
        if !diagnostics.isEmpty { throw OpenError(diagnostics: diagnostics) }
        matched = [[[String]]](repeating: [], count: joins.count)
        carriedFields = program.events.indices.map { type in fields.indices.filter { program.events[type].carries.contains(fields[$0].entity) } }
    }

    func missingColumn(_ ref: EventMapping.ColumnRef, in file: String, header: [String]) -> Diagnostic {
        var label = ref.label
        label.message = "not a column of \(file)"
        return Diagnostic(.unknownName, "\(file) has no column `\(ref.column)`", at: label,
                   help: Suggestions.didYouMean(ref.column, among: header) ?? "its columns are \(header.prefix(30).map { "`\($0)`" }.joined(separator: ", "))")
    }

    /// Loads a joined file: key → its rows (only the used columns), in file order.
    func loadJoin(_ join: EventMapping.Join, file: String, columns: [String]) -> Result<JoinTable, OpenError> {
        let descriptor = open(file, O_RDONLY)
        guard descriptor >= 0 else {
            return .failure(OpenError(diagnostics: [Diagnostic(.invalidSchema, "cannot read \(file) (join `\(join.name)`): \(String(cString: strerror(errno)))",
                                        at: join.fileLabel, help: "the file is found relative to the events file; give another with --join \(join.name)=PATH")]))
        }
        defer { close(descriptor) }
        let reader = CSVReader(descriptor: descriptor, delimiter: mapping.delimiter, limits: limits)
        let name = (file as NSString).lastPathComponent
        func unreadable(_ failure: String) -> Result<JoinTable, OpenError> {
            .failure(OpenError(diagnostics: [Diagnostic(.invalidSchema, "cannot read \(file) (join `\(join.name)`): \(failure)", at: join.fileLabel,
                                                        help: "give another file with --join \(join.name)=PATH")]))
        }
        guard reader.next() else {
            if let failure = reader.failure { return unreadable(failure) }
            return .failure(OpenError(diagnostics: [Diagnostic(.invalidSchema, "\(file) (join `\(join.name)`) is empty: it needs a header row", at: join.fileLabel)]))
        }
        let header = (0..<reader.fieldCount).map { reader.field($0).trimmingCharacters(in: .whitespaces) }
        var problems: [Diagnostic] = []
        guard let keyColumn = header.firstIndex(of: join.key) else {
            return .failure(OpenError(diagnostics: [Diagnostic(.unknownName, "\(name) has no key column `\(join.key)`", at: join.keyLabel,
                                        help: Suggestions.didYouMean(join.key, among: header) ?? "its columns are \(header.map { "`\($0)`" }.joined(separator: ", "))")]))
        }
        var indices: [Int] = []
        for column in columns {
            if let index = header.firstIndex(of: column) {
                indices.append(index)
            } else {
                let ref = mapping.fields.lazy.compactMap { field -> EventMapping.ColumnRef? in
                    switch field.value.source {
                    case .column(let r) where r.join != nil && r.column == column: r
                    case .aggregate(_, let r) where r.column == column: r
                    case .difference(let a, let b): a.column == column && a.join != nil ? a : (b.column == column && b.join != nil ? b : nil)
                    default: nil
                    }
                }.first
                problems.append(missingColumn(ref ?? EventMapping.ColumnRef(join: nil, column: column, label: join.label), in: name, header: header))
            }
        }
        if !problems.isEmpty { return .failure(OpenError(diagnostics: problems)) }
        var rows: [String: [[String]]] = [:]
        var duplicates = 0
        while reader.next() {
            if reader.isBlank {
                joinBlankRows += 1
                continue
            }
            var reason = reader.problem
            if reason == nil, reader.fieldCount != header.count {
                reason = "the row has \(reader.fieldCount) column\(reader.fieldCount == 1 ? "" : "s"), the header \(header.count)"
            }
            let key = reason == nil ? reader.field(keyColumn) : ""
            if reason == nil, key.isEmpty { reason = "the key column \(join.key) is empty" }
            if let reason {
                joinProblems.append(DeadLetter(line: reader.recordLine, reason: "\(name) (join `\(join.name)`): \(reason)", text: reader.rawText))
                continue
            }
            if !join.many, rows[key] != nil {
                duplicates += 1
                continue
            }
            rows[key, default: []].append(indices.map { reader.field($0) })
        }
        if let failure = reader.failure { return unreadable(failure) }
        if duplicates > 0 {
            warnings.append("\(name) (join `\(join.name)`, rows: one): \(duplicates == 1 ? "1 key appears" : "\(duplicates) keys appear") more than once; the first row of each is used")
        }
        return .success(JoinTable(name: join.name, file: file, columns: columns, rows: rows, onColumn: 0))
    }

    // MARK: - Rows

    struct RowFailure: Error { var reason: String }

    /// The line the last row returned by `next()` started on.
    public var line: Int { csv.recordLine }

    /// Bytes of the main file consumed through the last row returned by `next()`.
    public var consumedBytes: Int64 { csv.consumedBytes }

    /// Whether events get their `idHash` (`EventIdentity`): from the mapping's `id`, or for an
    /// event without one from its row's text and its place among `events:` (`run --state`).
    public var identifying = false

    /// Reads the next row; nil at the end of the file.
    public func next() -> Row? {
        guard csv.next() else { return nil }
        return current()
    }

    /// The row the reader is at (read by this source's `next()`, or by the leader it shares
    /// rows with), mapped to this program's events.
    public func current() -> Row {
        rows += 1
        let number = csv.recordLine
        if csv.isBlank {
            blankRows += 1
            return .blank
        }
        func dead(_ reason: String) -> Row { .deadLetter(DeadLetter(line: number, reason: reason, text: csv.rawText)) }
        if let problem = csv.problem { return dead(problem) }
        guard csv.fieldCount == header.count else {
            return dead("the row has \(csv.fieldCount) column\(csv.fieldCount == 1 ? "" : "s"), the header \(header.count)")
        }
        // As for JSON lines: bytes that are not UTF-8 are refused, never read as U+FFFD (two
        // different keys would become one).
        if let bad = csv.bytes.withUnsafeBufferPointer({ UTF8Validation.firstInvalidByte(in: $0) }) {
            return dead("invalid UTF-8 at byte \(bad + 1) of the row")
        }
        do {
            return .events(try events(line: number))
        } catch let failure as RowFailure {
            return dead(failure.reason)
        } catch {
            return dead("\(error)")
        }
    }

    func events(line number: Int) throws -> [Event] {
        for (index, join) in joins.enumerated() {
            let key = String(decoding: csv.bytes[csv.fields[join.onColumn]], as: UTF8.self)
            matched[index] = join.rows[key] ?? []
        }
        rowStrings.removeAll(keepingCapacity: true)
        if rowValues.count != fields.count { rowValues = [RuntimeValue](repeating: .missing, count: fields.count) }
        for index in fields.indices { rowValues[index] = try evaluate(fields[index].value) }

        var result: [Event] = []
        for (planIndex, plan) in plans.enumerated() {
            let time = try evaluate(plan.time)
            guard time.kind == .timestamp else { continue }  // no time: the event did not happen (yet)
            var type: Int
            switch plan.type {
            case .fixed(let index): type = index
            case .column(let compiled):
                let value = try evaluate(compiled)
                guard value.kind == .string else { continue }
                let name = value.unit == 1 ? rowStrings[Int(value.bits)] : ""
                guard let index = program.events.firstIndex(where: { $0.name == name }) else { throw RowFailure(reason: "unknown event type \"\(name)\"") }
                type = index
            }
            var event = Event(slotCount: program.slots.count)
            event.type = type
            event.time = time.bits
            event.line = number
            event.id = plan.id.map { idText($0) } ?? "line \(number)"
            if identifying {
                event.idHash = plan.id != nil ? EventIdentity.of(id: event.id) : EventIdentity.derived(row: csv.raw, event: planIndex)
            }
            for index in carriedFields[type] {
                if let knownAt = fields[index].knownAt {
                    let known = try evaluate(knownAt)
                    guard known.kind == .timestamp, known.bits <= time.bits else { continue }
                }
                event.slots[fields[index].slot] = rowValues[index]
            }
            for slot in requiredSlots[type] where event.slots[slot].isMissing {
                let definition = program.slots[slot]
                throw RowFailure(reason: "\(program.entities[definition.entity].name).\(definition.field) is missing; the schema requires it on \(program.events[type].name)")
            }
            result.append(event)
        }
        // Strings are shared by the row's events (the same arena indices).
        if !rowStrings.isEmpty { for index in result.indices { result[index].strings = rowStrings } }
        if result.count > 1 {
            result = result.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        }
        return result
    }

    func idText(_ pieces: [IDPlan]) -> String {
        var text = ""
        for piece in pieces {
            switch piece {
            case .text(let literal): text += literal
            case .cell(let cell): text += cellText(cell) ?? ""
            }
        }
        return text
    }

    /// The text of a cell of the row (a `rows: one` join's first matching row); nil when there is none.
    func cellText(_ cell: Cell) -> String? {
        switch cell {
        case .main(let column): return String(decoding: csv.bytes[csv.fields[column]], as: UTF8.self)
        case .join(let join, let column): return matched[join].first?[column]
        }
    }

    func evaluate(_ compiled: Compiled) throws -> RuntimeValue {
        let target = compiled.target
        switch compiled.source {
        case .constant(let text):
            return try convert(text, target, column: nil)
        case .cell(.main(let column), let name):
            return try csv.bytes.withUnsafeBufferPointer { all in
                try convert(UnsafeBufferPointer(rebasing: all[csv.fields[column]]), target, column: name)
            }
        case .cell(.join(let join, let column), let name):
            guard let row = matched[join].first else { return .missing }
            return try convert(row[column], target, column: name)
        case .difference(let a, let aName, let b, let bName):
            let timestamp = target.asTimestamp
            let later = try cellValue(a, timestamp, aName), earlier = try cellValue(b, timestamp, bName)
            guard later.kind == .timestamp, earlier.kind == .timestamp else { return .missing }
            return RuntimeValue(.duration, later.bits - earlier.bits)
        case .count(let join):
            return RuntimeValue(.integer, Int64(matched[join].count))
        case .aggregate(let function, let join, let column, let name):
            var result: RuntimeValue = .missing
            var resultText = ""
            for row in matched[join] {
                let value = try convert(row[column], target, column: name)
                if value.isMissing { continue }
                if result.isMissing {
                    result = value
                    if value.unit == 1, value.kind == .string { resultText = rowStrings[Int(value.bits)] }
                    if function == .first { break }
                    continue
                }
                switch function {
                case .first: break
                case .last: result = value
                case .sum:
                    let (sum, overflow) = result.bits.addingReportingOverflow(value.bits)
                    guard !overflow else { throw RowFailure(reason: "the sum of \(name) is too large") }
                    result.bits = sum
                case .min, .max:
                    let smaller: Bool
                    if value.kind == .string {
                        let text = rowStrings[Int(value.bits)]
                        smaller = text < resultText
                        if smaller == (function == .min) { resultText = text }
                    } else {
                        smaller = value.bits < result.bits
                    }
                    if smaller == (function == .min), value.bits != result.bits { result = value }
                }
            }
            return result
        }
    }

    func cellValue(_ cell: Cell, _ target: Target, _ name: String) throws -> RuntimeValue {
        switch cell {
        case .main(let column):
            return try csv.bytes.withUnsafeBufferPointer { all in
                try convert(UnsafeBufferPointer(rebasing: all[csv.fields[column]]), target, column: name)
            }
        case .join(let join, let column):
            guard let row = matched[join].first else { return .missing }
            return try convert(row[column], target, column: name)
        }
    }

    func convert(_ text: String, _ target: Target, column: String?) throws -> RuntimeValue {
        var copy = text
        return try copy.withUTF8 { try convert($0, target, column: column) }
    }

    /// A cell's text → the value of the target's kind. Empty cells (and the mapping's `missing`
    /// texts) are missing.
    func convert(_ raw: UnsafeBufferPointer<UInt8>, _ target: Target, column: String?) throws -> RuntimeValue {
        var start = 0, stop = raw.count
        while start < stop, raw[start] == 32 || raw[start] == 9 { start += 1 }
        while stop > start, raw[stop - 1] == 32 || raw[stop - 1] == 9 { stop -= 1 }
        if start == stop {
            // `values: { "": open }` gives empty cells a meaning.
            guard let replacement = target.values[""], let text = replacement else { return .missing }
            return try convert(text, target.plain, column: column)
        }
        let trimmed = UnsafeBufferPointer(rebasing: raw[start..<stop])
        if !mapping.missing.isEmpty || !target.values.isEmpty {
            let text = String(decoding: trimmed, as: UTF8.self)
            if mapping.missing.contains(text) { return .missing }
            if let replacement = target.values[text] {
                guard let replacement else { return .missing }
                var copy = replacement
                let plain = target.plain
                return try copy.withUTF8 { try convert($0, plain, column: column) }
            }
        }
        func failure(_ expected: String) -> RowFailure {
            var shown = String(decoding: trimmed.prefix(60), as: UTF8.self)
            if trimmed.count > 60 { shown += "…" }
            let place = column.map { "column \($0)" } ?? "the constant"
            return RowFailure(reason: "\(place): \"\(shown)\" is not \(expected) (\(target.name))")
        }
        switch target.kind {
        case .string:
            rowStrings.append(String(decoding: raw, as: UTF8.self))
            return RuntimeValue(.string, Int64(rowStrings.count - 1), unit: 1)
        case .bool:
            switch String(decoding: trimmed, as: UTF8.self).lowercased() {
            case "true", "yes", "1", "t", "y": return .true
            case "false", "no", "0", "f", "n": return .false
            default: throw failure("true or false")
            }
        case .integer:
            var digits = trimmed.count
            // `3.0` (as spreadsheets write whole numbers) is 3.
            if let dot = trimmed.firstIndex(of: 46), trimmed[(dot + 1)...].allSatisfy({ $0 == 48 }) { digits = dot }
            guard let value = DecimalText.fixed(UnsafeBufferPointer(rebasing: trimmed[0..<digits]), places: 0) else { throw failure("a whole number") }
            return RuntimeValue(.integer, value)
        case .decimal:
            guard let value = DecimalText.fixed(trimmed, places: 6) else { throw failure("a number with at most 6 decimals") }
            return RuntimeValue(.decimal, value)
        case .percent:
            var body = trimmed
            if body.last == UInt8(ascii: "%") { body = UnsafeBufferPointer(rebasing: body[0..<(body.count - 1)]) }
            while let last = body.last, last == 32 { body = UnsafeBufferPointer(rebasing: body[0..<(body.count - 1)]) }
            guard let value = DecimalText.fixed(body, places: 4) else { throw failure("a percentage such as 2.5%") }
            return RuntimeValue(.percent, value)
        case .money:
            guard let currency = target.currency else { throw failure("money") }
            var body = trimmed
            if body.count > 3, body[body.count - 1] >= 65, body[body.count - 1] <= 90 {
                guard String(decoding: body[(body.count - 3)...], as: UTF8.self) == currency.code else {
                    throw failure("an amount in \(currency.code)")
                }
                body = UnsafeBufferPointer(rebasing: body[0..<(body.count - 3)])
                while let last = body.last, last == 32 { body = UnsafeBufferPointer(rebasing: body[0..<(body.count - 1)]) }
            }
            guard let minor = DecimalText.fixed(body, places: currency.minorUnits) else {
                throw failure("an amount in \(currency.code) with at most \(currency.minorUnits) decimals")
            }
            return RuntimeValue(.money, minor, unit: target.unit)
        case .duration:
            if let unit = target.durationUnit {
                guard let thousandths = DecimalText.fixed(trimmed, places: 3) else { throw failure("a number") }
                let (product, overflow) = thousandths.multipliedReportingOverflow(by: unit)
                guard !overflow else { throw failure("a duration that fits") }
                return RuntimeValue(.duration, product / 1000)
            }
            guard let ms = TimeFormat.duration(trimmed) else { throw failure("a duration such as 3d, 36h or -90m") }
            return RuntimeValue(.duration, ms)
        case .timestamp, .date:
            for pattern in target.patterns {
                guard let (local, offset) = pattern.parse(trimmed) else { continue }
                if target.kind == .date {
                    let days = local >= 0 ? local / 86_400_000 : (local - 86_399_999) / 86_400_000
                    return RuntimeValue(.date, days)
                }
                if let offset { return RuntimeValue(.timestamp, local - offset * 1000) }
                return RuntimeValue(.timestamp, target.zone.utc(local: local))
            }
            throw failure("a time in the format \(target.formatText)")
        case .enumCase:
            let text = String(decoding: trimmed, as: UTF8.self)
            guard let index = target.enumCases[text] else {
                let name = target.unit >= 0 && Int(target.unit) < program.enums.count ? program.enums[Int(target.unit)].name : "the enum"
                throw failure("a case of \(name); map it under `values:`")
            }
            return RuntimeValue(.enumCase, index, unit: target.unit)
        case .list, .missing:
            return .missing
        }
    }
}
