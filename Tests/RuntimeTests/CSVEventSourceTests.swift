#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing
import RedressIR
@testable import RedressEvents
@testable import RedressEngine
import RedressSemantics
import RedressSyntax

/// CSV input through a YAML mapping (docs/events.md, "CSV input"): the CSV reader's edge cases,
/// time formats and zones, derived fields, joins, events per row, dead letters, mapping
/// diagnostics, and that a CSV row fills events exactly as the equivalent JSON line does.
enum CSVFixture {
    /// Every kind of field, all optional but the key, on one entity; a second entity for joins.
    static let schema = """
        currency: BRL
        enums:
          Status: [open, done, lost]
        entities:
          order:
            key: id
            fields:
              id: string
              flag: bool?
              count: integer?
              ratio: decimal?
              total: money?
              share: percent?
              wait: duration?
              at: timestamp?
              day: date?
              status: Status?
              note: string?
              done_at: timestamp?
              unused: string?
        events:
          order.placed: { subject: order, carries: [order] }
          order.shipped: { subject: order, carries: [order] }
          order.closed: { subject: order, carries: [order] }
        """
    static let catalog = """
        currency: BRL
        actions:
          refund: { argument: money, cost: amount }
        """
    /// Reads every field but `unused`, so that all of them have slots.
    static let rules = """
        rule probe
          on order.placed, order.shipped, order.closed
          when order.flag or order.count > 0 or order.ratio > 0 or order.total > 0 BRL or order.share > 0%
            or order.wait > 0s or order.at > 2000-01-01T00:00Z or order.day > 2000-01-01 or order.status == done
            or order.note == "x" or order.done_at > 2000-01-01T00:00Z
          then refund 1 BRL
        """

    static func program(rules: String = rules) -> Program {
        let report = RuleSetLoader.check(rules: [SourceFile(path: "t.rules", text: rules)], schema: SourceFile(path: "schema.yaml", text: schema),
                                         catalog: SourceFile(path: "catalog.yaml", text: catalog))
        let errors = report.diagnostics.filter { $0.severity == .error }
        precondition(errors.isEmpty, DiagnosticRenderer(files: report.sources).human(errors))
        return Program.compile(report).0!
    }

    static func directory(_ files: [String: String]) -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redress-csv-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in files { try! Data(text.utf8).write(to: directory.appendingPathComponent(name)) }
        return directory
    }

    static func mapping(_ yaml: String, program: Program) -> EventMapping {
        let (mapping, diagnostics) = EventMapping.load(SourceFile(path: "m.yaml", text: yaml), program: program)
        precondition(mapping != nil, DiagnosticRenderer(files: ["m.yaml": SourceFile(path: "m.yaml", text: yaml)]).human(diagnostics))
        return mapping!
    }

    /// Opens `csv` (written to a file, with `joined` files beside it) through the mapping.
    static func open(_ csv: String, _ yaml: String, joined: [String: String] = [:], program: Program) throws(CSVEventSource.OpenError) -> CSVEventSource {
        let directory = directory(joined.merging(["main.csv": csv]) { a, _ in a })
        let path = directory.appendingPathComponent("main.csv").path
        let descriptor = openFile(path)
        // Joined files are read when the source opens; the main one stays readable through its
        // descriptor: the directory goes when this returns (no litter in /tmp).
        defer { try? FileManager.default.removeItem(at: directory) }
        return try CSVEventSource(mapping: mapping(yaml, program: program), program: program, descriptor: descriptor, path: path)
    }

    static func rows(_ source: CSVEventSource) -> [CSVEventSource.Row] {
        var rows: [CSVEventSource.Row] = []
        while let row = source.next() { rows.append(row) }
        return rows
    }

    static func events(_ rows: [CSVEventSource.Row]) -> [Event] {
        rows.flatMap { row -> [Event] in if case .events(let events) = row { return events } else { return [] } }
    }

    static func deadLetters(_ rows: [CSVEventSource.Row]) -> [DeadLetter] {
        rows.compactMap { row -> DeadLetter? in if case .deadLetter(let letter) = row { return letter } else { return nil } }
    }
}

extension Event {
    /// The value of `entity.field` (strings as their text, for comparisons).
    func value(_ name: String, _ program: Program) -> String {
        let parts = name.split(separator: ".").map(String.init)
        let entity = program.entities.firstIndex { $0.name == parts[0] }!
        let slot = program.slots.firstIndex { $0.entity == entity && $0.field == parts[1] }!
        let value = slots[slot]
        if value.isMissing { return "missing" }
        if value.kind == .string { return String(string(value, program: program)) }
        return ValueText.describe(value, program: program, strings: strings)
    }
}

func instant(_ text: String) -> Int64 { TimeFormat.timestamp(text)! }

func openFile(_ path: String) -> Int32 { open(path, O_RDONLY) }

// MARK: - The CSV reader

struct CSVReaderTests {
    func parseCSV(_ text: String, bufferSize: Int = 1 << 16) -> [(line: Int, fields: [String], problem: String?, raw: String)] {
        let directory = CSVFixture.directory(["f.csv": text])
        let descriptor = open(directory.appendingPathComponent("f.csv").path, O_RDONLY)
        // The open descriptor keeps the file readable; the directory goes now (no litter in /tmp).
        try? FileManager.default.removeItem(at: directory)
        defer { close(descriptor) }
        let reader = CSVReader(descriptor: descriptor, bufferSize: bufferSize)
        var result: [(Int, [String], String?, String)] = []
        while reader.next() { result.append((reader.recordLine, (0..<reader.fieldCount).map(reader.field), reader.problem, reader.rawText)) }
        return result
    }

    static let tricky = "\u{FEFF}id,text,n\r\n1,\"a, b\",2\r\n2,\"say \"\"hi\"\"\",3\r\n3,\"two\nlines\r\nthree\",4\r\n4,plain \"quote\" inside,5\r\n,,\r\n\r\n5,last,6"

    @Test func quotedFieldsCRLFAndByteOrderMark() {
        let records = parseCSV(Self.tricky)
        #expect(records.map(\.fields) == [
            ["id", "text", "n"], ["1", "a, b", "2"], ["2", "say \"hi\"", "3"], ["3", "two\nlines\r\nthree", "4"],
            ["4", "plain \"quote\" inside", "5"], ["", "", ""], [""], ["5", "last", "6"],
        ])
        // A record's line is the line it starts on; line breaks inside quotes count.
        #expect(records.map(\.line) == [1, 2, 3, 4, 7, 8, 9, 10])
        #expect(records.allSatisfy { $0.problem == nil })
        #expect(records[2].raw == "2,\"say \"\"hi\"\"\",3")
    }

    @Test(arguments: [1, 2, 3, 5, 7, 64])
    func tinyBuffersReadTheSame(size: Int) {
        let expected = parseCSV(Self.tricky)
        let small = parseCSV(Self.tricky, bufferSize: size)
        #expect(small.map(\.fields) == expected.map(\.fields))
        #expect(small.map(\.line) == expected.map(\.line))
        #expect(small.map(\.raw) == expected.map(\.raw))
    }

    @Test func lineEndings() {
        #expect(parseCSV("a,b\rc,d\re,f").map(\.fields) == [["a", "b"], ["c", "d"], ["e", "f"]])
        #expect(parseCSV("a,b\n").map(\.fields) == [["a", "b"]])
        #expect(parseCSV("a,b\r\n\r\n").map(\.fields) == [["a", "b"], [""]])
        #expect(parseCSV("").isEmpty)
        #expect(parseCSV("\u{FEFF}").isEmpty)
    }

    @Test func malformedQuotingIsReportedAndReadingGoesOn() {
        let records = parseCSV("a,\"b\"x,c\nd,e,f\ng,\"never closed\nh,i")
        #expect(records.count == 3)
        #expect(records[0].problem?.contains("text after the closing quote of column 2") == true)
        #expect(records[1].fields == ["d", "e", "f"])
        #expect(records[1].problem == nil)
        #expect(records[2].problem?.contains("not closed") == true)
        #expect(records[2].line == 3)
    }

    @Test func otherDelimiters() {
        let directory = CSVFixture.directory(["f.csv": "a;\"b;c\";d\n"])
        let descriptor = open(directory.appendingPathComponent("f.csv").path, O_RDONLY)
        // The open descriptor keeps the file readable; the directory goes now (no litter in /tmp).
        try? FileManager.default.removeItem(at: directory)
        defer { close(descriptor) }
        let reader = CSVReader(descriptor: descriptor, delimiter: UInt8(ascii: ";"))
        #expect(reader.next())
        #expect((0..<reader.fieldCount).map(reader.field) == ["a", "b;c", "d"])
    }
}

// MARK: - Time formats

struct TimeFormatTests {
    func parse(_ pattern: String, _ text: String) -> Int64? {
        guard case .success(let compiled) = TimePattern.compile(pattern) else { return nil }
        var copy = text
        return copy.withUTF8 { bytes in compiled.parse(bytes).map { $0.local - ($0.offset ?? 0) * 1000 } }
    }

    @Test func originalOlistAndSpreadsheetFormats() {
        #expect(parse("YYYY-MM-DD HH:MM:SS", "2017-07-09 21:57:05") == instant("2017-07-09T21:57:05Z"))
        #expect(parse("M/D/YYYY H:MM", "7/9/2017 21:57") == instant("2017-07-09T21:57:00Z"))
        #expect(parse("M/D/YYYY H:MM", "10/18/2017 0:00") == instant("2017-10-18T00:00:00Z"))
        #expect(parse("MM/DD/YYYY HH:mm", "07/09/2017 21:57") == instant("2017-07-09T21:57:00Z"))
        // Exact widths are exact; flexible ones take one or two digits.
        #expect(parse("MM/DD/YYYY HH:mm", "7/09/2017 21:57") == nil)
        #expect(parse("M/D/YYYY H:MM", "7/9/2017 21:5") == nil)
    }

    @Test func optionalPartsFractionsOffsetsAndMeridiem() {
        #expect(parse("YYYY-MM-DD[ HH:mm[:SS]]", "2017-07-09") == instant("2017-07-09T00:00:00Z"))
        #expect(parse("YYYY-MM-DD[ HH:mm[:SS]]", "2017-07-09 21:57") == instant("2017-07-09T21:57:00Z"))
        #expect(parse("YYYY-MM-DD[ HH:mm[:SS]]", "2017-07-09 21:57:05") == instant("2017-07-09T21:57:05Z"))
        #expect(parse("YYYY-MM-DDTHH:mm:SS.fZ", "2017-07-09T21:57:05.25-03:00") == instant("2017-07-10T00:57:05.250Z"))
        #expect(parse("YYYY-MM-DD HH:mm[Z]", "2017-07-09 21:57Z") == instant("2017-07-09T21:57:00Z"))
        #expect(parse("YYYY-MM-DD HH:mm[Z]", "2017-07-09 21:57+0530") == instant("2017-07-09T16:27:00Z"))
        #expect(parse("M/D/YYYY h:mm A", "7/9/2017 9:57 PM") == instant("2017-07-09T21:57:00Z"))
        #expect(parse("M/D/YYYY h:mm A", "7/9/2017 12:05 am") == instant("2017-07-09T00:05:00Z"))
        #expect(parse("M/D/YYYY h:mm A", "7/9/2017 13:05 PM") == nil)
    }

    @Test func impossibleDatesAndTimes() {
        #expect(parse("M/D/YYYY H:MM", "2/29/2017 10:00") == nil)
        #expect(parse("M/D/YYYY H:MM", "2/29/2016 10:00") == instant("2016-02-29T10:00:00Z"))
        #expect(parse("M/D/YYYY H:MM", "13/1/2017 10:00") == nil)
        #expect(parse("M/D/YYYY H:MM", "1/1/2017 24:00") == nil)
        #expect(parse("M/D/YYYY H:MM", "1/1/2017 10:00 ") == nil)
    }

    @Test func patternMistakes() {
        for (pattern, problem) in [("YY-MM-DD", "YYYY"), ("YYYY-MM-DD HH:MM:SX", "`X`"), ("YYYY-MM-DD[ HH", "without `]`"),
                                   ("HH:mm", "needs a year"), ("YYYY-MMM-DD", "`MMM`")] {
            guard case .failure(let error) = TimePattern.compile(pattern) else {
                Issue.record("\(pattern) should not compile")
                continue
            }
            #expect(error.description.contains(problem), "\(pattern): \(error)")
        }
    }

    @Test func zones() {
        #expect(TimeZoneSpec.parse("-03:00") == .fixed(seconds: -10_800))
        #expect(TimeZoneSpec.parse("+0530") == .fixed(seconds: 19_800))
        #expect(TimeZoneSpec.parse("Z") == .fixed(seconds: 0))
        #expect(TimeZoneSpec.parse("America/Sao_Paulo") == .named("America/Sao_Paulo"))
        #expect(TimeZoneSpec.parse("-3") == nil)
        #expect(TimeZoneSpec.parse("Mars/Olympus_Mons") == nil)
        let local = instant("2017-07-09T21:57:05Z")
        #expect(ZoneConverter(.fixed(seconds: -10_800)).utc(local: local) == instant("2017-07-10T00:57:05Z"))
        // São Paulo kept daylight-saving time (UTC-2) in the southern summer until 2019.
        let saoPaulo = ZoneConverter(.named("America/Sao_Paulo"))
        #expect(saoPaulo.utc(local: instant("2017-07-09T21:57:05Z")) == instant("2017-07-10T00:57:05Z"))
        #expect(saoPaulo.utc(local: instant("2018-01-15T12:00:00Z")) == instant("2018-01-15T14:00:00Z"))
        #expect(saoPaulo.utc(local: instant("2018-01-15T12:30:00Z")) == instant("2018-01-15T14:30:00Z"))
    }
}

// MARK: - Rows to events

struct CSVEventSourceTests {
    static let program = CSVFixture.program()

    static let basicMapping = """
        time_format: YYYY-MM-DD HH:MM:SS
        time_zone: "-03:00"
        currency: BRL
        fields:
          order.id: id
          order.flag: flag
          order.count: count
          order.ratio: ratio
          order.total: total
          order.share: share
          order.wait: { column: wait_days, unit: d }
          order.at: placed
          order.day: placed
          order.status: { column: status, values: { finished: done, "": open, unknown: ~ } }
          order.note: note
          order.done_at: { column: closed, known_at: closed }
          order.unused: unused
        events:
          - { event: order.placed, time: placed, id: "{id}/placed" }
          - { event: order.closed, time: closed }
          - { event: order.shipped, time: shipped }
        """
    static let header = "id,flag,count,ratio,total,share,wait_days,placed,shipped,closed,status,note,unused\n"

    @Test func valuesOfEveryKind() throws {
        let csv = Self.header + "O1,yes,3.0,1.25,175.26,2.5%,1.5,2017-07-09 21:57:05,,,finished,\" spaced, \"\"note\"\" \",whatever\n"
        let source = try CSVFixture.open(csv, Self.basicMapping, program: Self.program)
        let rows = CSVFixture.rows(source)
        let events = CSVFixture.events(rows)
        try #require(events.count == 1)
        let event = events[0]
        let p = Self.program
        #expect(p.events[event.type].name == "order.placed")
        #expect(event.time == instant("2017-07-10T00:57:05Z"))
        #expect(event.id == "O1/placed")
        #expect(event.line == 2)
        #expect(event.value("order.id", p) == "O1")
        #expect(event.value("order.flag", p) == "true")
        #expect(event.value("order.count", p) == "3")
        #expect(event.value("order.ratio", p) == "1.25")
        #expect(event.value("order.total", p) == "175.26 BRL")
        #expect(event.value("order.share", p) == "2.5%")
        #expect(event.value("order.wait", p) == "1d12h")
        #expect(event.value("order.at", p) == "2017-07-10T00:57:05Z")
        #expect(event.value("order.day", p) == "2017-07-09")   // the local date
        #expect(event.value("order.status", p) == "done")
        #expect(event.value("order.note", p) == " spaced, \"note\" ")  // strings are kept as written
        #expect(event.value("order.done_at", p) == "missing")
    }

    @Test func severalEventsPerRowInTimeOrderAndKnownAt() throws {
        // Closed before shipped (data is like that): the row's events come out in time order.
        let csv = Self.header + "O1,,,,,,,2017-07-09 21:57:05,2017-07-12 08:00:00,2017-07-11 10:00:00,,,\n"
            + "O2,,,,,,,2017-07-10 10:00:00,,,,,\n"
        let source = try CSVFixture.open(csv, Self.basicMapping, program: Self.program)
        let events = CSVFixture.events(CSVFixture.rows(source))
        let p = Self.program
        #expect(events.map { p.events[$0.type].name } == ["order.placed", "order.closed", "order.shipped", "order.placed"])
        #expect(events.map(\.id) == ["O1/placed", "line 2", "line 2", "O2/placed"])
        #expect(events.map(\.line) == [2, 2, 2, 3])
        // done_at is known from the time it happened: missing on the earlier placed event.
        #expect(events.map { $0.value("order.done_at", p) } == ["missing", "2017-07-11T13:00:00Z", "2017-07-11T13:00:00Z", "missing"])
        #expect(events.map { $0.value("order.status", p) } == ["open", "open", "open", "open"])  // "" is mapped to open
    }

    @Test func blankRowsAreCountedNotDeadLetters() throws {
        let csv = "\u{FEFF}" + Self.header.replacingOccurrences(of: "\n", with: "\r\n")
            + "O1,,,,,,,2017-07-09 21:57:05,,,,,\r\n,,,,,,,,,,,,\r\n\r\n  ,,,,,,,,,,,,\r\n,,,,,,,,,,,,"
        let source = try CSVFixture.open(csv, Self.basicMapping, program: Self.program)
        let rows = CSVFixture.rows(source)
        #expect(CSVFixture.events(rows).count == 1)
        #expect(CSVFixture.deadLetters(rows).isEmpty)
        #expect(source.rows == 5)
        #expect(source.blankRows == 4)
    }

    @Test func malformedRowsAreDeadLettersAndTheStreamGoesOn() throws {
        let csv = Self.header
            + "O1,,,,,,,2017-07-09 21:57:05,,,,\"multi\nline\",\n"     // line 2-3: fine
            + "O2,,,,,,,2017-07-09 21:57:05,,,\n"                        // line 4: 11 columns
            + "O3,,,,,,,2017-13-09 21:57:05,,,,,\n"                      // line 5: no month 13
            + "O4,,,,12.345,,,2017-07-09 21:57:05,,,,,\n"                // line 6: too many decimals for BRL
            + "O5,,,,,,,2017-07-09 21:57:05,,,lost_it,,\n"               // line 7: not a Status
            + ",,,,,,,2017-07-09 21:57:05,,,,,\n"                        // line 8: the key is required
            + "O6,maybe,,,,,,2017-07-09 21:57:05,,,,,\n"                 // line 9: not a bool
            + "O7,,,,,,,2017-07-09 21:57:05,,,unknown,,\n"               // line 10: fine (unknown → missing)
            + "O8,,,,,,,2017-07-09 21:57:05,,,,\"open,x\n"               // line 11: quote never closed
        let source = try CSVFixture.open(csv, Self.basicMapping, program: Self.program)
        let rows = CSVFixture.rows(source)
        let letters = CSVFixture.deadLetters(rows)
        #expect(CSVFixture.events(rows).map(\.line) == [2, 10])
        #expect(letters.map(\.line) == [4, 5, 6, 7, 8, 9, 11])
        #expect(letters[0].reason == "the row has 11 columns, the header 13")
        #expect(letters[0].text == "O2,,,,,,,2017-07-09 21:57:05,,,")
        #expect(letters[1].reason == "column placed: \"2017-13-09 21:57:05\" is not a time in the format YYYY-MM-DD HH:MM:SS (order.at)")
        #expect(letters[2].reason.contains("column total: \"12.345\" is not an amount in BRL with at most 2 decimals"))
        #expect(letters[3].reason.contains("\"lost_it\" is not a case of Status"))
        #expect(letters[4].reason == "order.id is missing; the schema requires it on order.placed")
        #expect(letters[5].reason.contains("true or false"))
        #expect(letters[6].reason.contains("not closed"))
    }

    @Test func unusedFieldsAreNotConverted() throws {
        // `unused` is read by no rule: like the JSON reader, the source skips it (and its column may hold anything).
        let csv = Self.header + "O1,,,,,,,2017-07-09 21:57:05,,,,,\"\"\n"
        let source = try CSVFixture.open(csv, Self.basicMapping, program: Self.program)
        #expect(CSVFixture.events(CSVFixture.rows(source)).count == 1)
        #expect(!Self.program.slots.contains { $0.field == "unused" })
    }

    static let joinMapping = """
        time_format: M/D/YYYY H:MM
        currency: BRL
        joins:
          payments: { file: payments.csv, key: order_id, on: id, rows: many }
          notes: { file: notes.csv, key: order_id, on: id }
        fields:
          order.id: id
          order.total: { sum: payments.value }
          order.count: { count: payments }
          order.ratio: { max: payments.value }
          order.share: { min: payments.rate }
          order.note: notes.text
          order.status: { first: payments.state }
          order.at: { last: payments.paid }
          order.wait: { difference: [closed, placed] }
        events:
          - { event: order.placed, time: placed }
        """
    static let joined = [
        "payments.csv": "order_id,value,rate,state,paid\r\nO1,10.50,2%,,1/1/2018 10:00\r\nO2,1.00,,open,\r\nO1,0.25,1.5%,done,1/2/2018 9:30\r\nO1,,,lost,\r\n,,,,\r\n,1,,,\r\n",
        "notes.csv": "order_id,text\nO1,first\nO1,second\nO3,\"quoted, with comma\"\n",
    ]

    @Test func joinsAndDerivedFields() throws {
        let csv = "id,placed,closed\nO1,7/9/2017 21:57,7/12/2017 9:57\nO2,7/10/2017 8:00,\nO3,7/11/2017 8:00,7/11/2017 7:00\nO4,7/11/2017 8:00,7/11/2017 8:00\n"
        let source = try CSVFixture.open(csv, Self.joinMapping, joined: Self.joined, program: Self.program)
        let events = CSVFixture.events(CSVFixture.rows(source))
        let p = Self.program
        try #require(events.count == 4)
        #expect(events.map { $0.value("order.total", p) } == ["10.75 BRL", "1.00 BRL", "missing", "missing"])
        #expect(events.map { $0.value("order.count", p) } == ["3", "1", "0", "0"])
        #expect(events.map { $0.value("order.ratio", p) } == ["10.5", "1", "missing", "missing"])
        #expect(events.map { $0.value("order.share", p) } == ["1.5%", "missing", "missing", "missing"])
        #expect(events.map { $0.value("order.status", p) } == ["done", "open", "missing", "missing"])
        #expect(events.map { $0.value("order.at", p) } == ["2018-01-02T09:30:00Z", "missing", "missing", "missing"])
        // rows: one keeps the first row of a repeated key, and says so.
        #expect(events.map { $0.value("order.note", p) } == ["first", "missing", "quoted, with comma", "missing"])
        #expect(source.warnings == ["notes.csv (join `notes`, rows: one): 1 key appears more than once; the first row of each is used"])
        // closed − placed: 2d12h; missing without a close; negative when earlier; zero.
        #expect(events.map { $0.value("order.wait", p) } == ["2d12h", "missing", "-1h", "0s"])
        // The payments file's blank row is skipped; the row without a key is a problem of the joined file.
        #expect(source.joinBlankRows == 1)
        #expect(source.joinProblems.map(\.line) == [7])
        #expect(source.joinProblems.first?.reason == "payments.csv (join `payments`): the key column order_id is empty")
    }

    @Test func eventTypeFromAColumnAndConstants() throws {
        let yaml = """
            fields:
              order.id: id
              order.status: { value: lost }
              order.total: { value: 5 BRL }
            events:
              - event: { column: kind, values: { P: order.placed, S: order.shipped } }
                time: at
            """
        let csv = "id,kind,at\nO1,P,2017-07-09T10:00:00Z\nO1,S,2017-07-10 10:00\nO2,X,2017-07-10 10:00\nO3,S,2017-07-10\n"
        let source = try CSVFixture.open(csv, yaml, program: Self.program)
        let rows = CSVFixture.rows(source)
        let p = Self.program
        let events = CSVFixture.events(rows)
        #expect(events.map { p.events[$0.type].name } == ["order.placed", "order.shipped", "order.shipped"])
        // Without time_format: RFC 3339, or naive ISO times in the mapping's zone (UTC by default), or dates.
        #expect(events.map(\.time) == [instant("2017-07-09T10:00:00Z"), instant("2017-07-10T10:00:00Z"), instant("2017-07-10T00:00:00Z")])
        #expect(events.map { $0.value("order.status", p) } == ["lost", "lost", "lost"])
        #expect(events.map { $0.value("order.total", p) } == ["5.00 BRL", "5.00 BRL", "5.00 BRL"])
        #expect(CSVFixture.deadLetters(rows).map(\.reason) == ["unknown event type \"X\""])
    }

    /// The engine cannot tell a CSV row from the equivalent JSON line: same type, time, id and slots.
    @Test func csvRowFillsTheSameEventAsJSON() throws {
        let csv = Self.header + "O1,true,3,1.25,175.26,2.5%,1.5,2017-07-09 21:57:05,,2017-07-11 10:00:00,finished,hello,x\n"
        let source = try CSVFixture.open(csv, Self.basicMapping, program: Self.program)
        let fromCSV = CSVFixture.events(CSVFixture.rows(source)).first { Self.program.events[$0.type].name == "order.closed" }!
        let json = """
            {"event":"order.closed","time":"2017-07-11T13:00:00Z","id":"line 2","order":{"id":"O1","flag":true,"count":3,"ratio":1.25,\
            "total":"175.26 BRL","share":"2.5%","wait":"36h","at":"2017-07-10T00:57:05Z","day":"2017-07-09","status":"done","note":"hello",\
            "done_at":"2017-07-11T13:00:00Z","unused":"x"}}
            """
        var fromJSON = Event(slotCount: Self.program.slots.count)
        var line = json
        let failure = line.withUTF8 { EventReader(program: Self.program).read($0, number: 2, into: &fromJSON) }
        #expect(failure == nil)
        #expect(fromCSV.type == fromJSON.type)
        #expect(fromCSV.time == fromJSON.time)
        #expect(fromCSV.id == fromJSON.id)
        #expect(fromCSV.line == fromJSON.line)
        for (index, slot) in Self.program.slots.enumerated() {
            let a = fromCSV.slots[index], b = fromJSON.slots[index]
            #expect(a.kind == b.kind && a.unit == b.unit, "\(slot.field)")
            if a.kind == .string {
                #expect(fromCSV.string(a, program: Self.program) == fromJSON.string(b, program: Self.program), "\(slot.field)")
            } else {
                #expect(a.bits == b.bits, "\(slot.field)")
            }
        }
        // And the engine decides the same.
        let engineA = Engine(program: Self.program), engineB = Engine(program: Self.program)
        #expect(engineA.process(fromCSV).map { $0.jsonLine() } == engineB.process(fromJSON).map { $0.jsonLine() })
    }

    @Test func namedTimeZoneInTheMapping() throws {
        let yaml = """
            time_format: YYYY-MM-DD HH:MM
            time_zone: America/Sao_Paulo
            fields: { order.id: id, order.at: { column: at, time_zone: "+01:00" } }
            events: [{ event: order.placed, time: at }]
            """
        let source = try CSVFixture.open("id,at\nO1,2018-01-15 12:00\nO2,2018-07-15 12:00\n", yaml, program: Self.program)
        let events = CSVFixture.events(CSVFixture.rows(source))
        #expect(events.map(\.time) == [instant("2018-01-15T14:00:00Z"), instant("2018-07-15T15:00:00Z")])
        #expect(events.map { $0.value("order.at", Self.program) } == ["2018-01-15T11:00:00Z", "2018-07-15T11:00:00Z"])
    }
}

// MARK: - Mapping mistakes

struct MappingDiagnosticTests {
    static let program = CSVFixture.program()

    func diagnostics(_ yaml: String) -> [Diagnostic] {
        EventMapping.load(SourceFile(path: "m.yaml", text: yaml), program: Self.program).1
    }

    func rendered(_ yaml: String, _ diagnostics: [Diagnostic]) -> String {
        DiagnosticRenderer(files: ["m.yaml": SourceFile(path: "m.yaml", text: yaml)]).human(diagnostics)
    }

    @Test func unknownNamesWithLocationsAndSuggestions() {
        let yaml = """
            fields:
              order.idd: id
              ordr.total: total
              order.status: { column: s, values: { x: don } }
            events:
              - { event: order.place, time: at }
            sections: 1
            """
        let found = diagnostics(yaml)
        let text = rendered(yaml, found)
        #expect(found.map(\.code) == [.unknownName, .unknownField, .unknownEntity, .unknownEnumCase, .unknownEvent])
        #expect(text.contains("m.yaml:2:3"), "\(text)")
        #expect(text.contains("did you mean `order.id`?"))
        #expect(text.contains("did you mean `order`?"))
        #expect(text.contains("did you mean `done`?"))
        #expect(text.contains("did you mean `order.placed`?"))
        #expect(text.contains("unknown section `sections`"))
        #expect(found.first { $0.code == .unknownField }?.fix?.replacement == "order.id")
    }

    @Test func structuralMistakes() {
        let cases: [(String, String)] = [
            ("fields: { order.id: id }\nevents: [{ event: order.placed, time: { sum: at } }]", "takes a column of a joined file"),
            ("joins: { p: { file: p.csv, key: k, rows: many } }\nfields: { order.total: p.v }\nevents: [{ event: order.placed, time: at }]",
             "several rows per key"),
            ("fields: { order.total: { difference: [a, b] } }\nevents: [{ event: order.placed, time: at }]", "is a duration, but order.total is money"),
            ("fields: { order.id: id }\nevents: [{ event: order.placed }]", "has no `time`"),
            ("fields: { order.id: id }", "no `events` section"),
            ("time_zone: Mars/Base\nfields: { order.id: id }\nevents: [{ event: order.placed, time: at }]", "`time_zone` is an offset"),
            ("currency: EUR\nfields: { order.total: t }\nevents: [{ event: order.placed, time: at }]", "money in BRL, but the mapping reads EUR"),
            ("fields: { order.id: { column: id, colour: red } }\nevents: [{ event: order.placed, time: at }]", "unknown setting `colour`"),
            ("fields: [order.id]\nevents: []", "`fields` is a mapping"),
            ("fields: {order.id: id\n", "YAML syntax error"),
        ]
        for (yaml, expected) in cases {
            let found = diagnostics(yaml)
            #expect(found.contains { $0.message.contains(expected) }, "\(yaml)\n→ \(found.map(\.message))")
            #expect(EventMapping.load(SourceFile(path: "m.yaml", text: yaml), program: Self.program).0 == nil)
        }
    }

    @Test func columnsAndJoinedFilesAreCheckedWhenOpened() throws {
        let yaml = """
            joins:
              notes: { file: notes.csv, key: order_id, on: id }
              gone: { file: missing.csv, key: id }
            fields:
              order.id: idd
              order.note: notes.txt
            events:
              - { event: order.placed, time: placed }
            """
        do {
            _ = try CSVFixture.open("id,placed\nO1,2017-01-01\n", yaml, joined: ["notes.csv": "order_id,text\n"], program: Self.program)
            Issue.record("the source should not open")
        } catch {
            let text = rendered(yaml, error.diagnostics)
            #expect(text.contains("cannot read"), "\(text)")
            #expect(text.contains("missing.csv"))
            #expect(text.contains("main.csv has no column `idd`"))
            #expect(text.contains("m.yaml:5:13"))
            #expect(text.contains("did you mean `id`?"))
            #expect(text.contains("notes.csv has no column `txt`"))
            #expect(text.contains("m.yaml:6:15"))
        }
    }

    @Test func requiredFieldsMustBeMapped() throws {
        // The rule reads order.id (the subject's key), which the schema requires: a mapping without it is refused.
        let yaml = "fields: { order.note: note }\nevents: [{ event: order.placed, time: at }]"
        do {
            _ = try CSVFixture.open("note,at\nx,2017-01-01\n", yaml, program: Self.program)
            Issue.record("the source should not open")
        } catch {
            #expect(error.diagnostics.map(\.message) == ["order.placed needs order.id, but the mapping does not fill it"])
        }
    }
}

/// The fast timestamp formatter writes what the general one spells out, for any instant, and
/// reads back to the same instant.
@Suite struct TimestampFormattingTests {
    @Test func fastFormatAgreesWithTheGeneralOne() {
        var state: UInt64 = 99
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        // Year 0 to 9999, with and without milliseconds, and the edges.
        var instants: [Int64] = [0, -1, 1, -62_167_219_200_000, 253_402_300_799_999, 1_764_000_000_000, 1_764_000_000_123]
        for _ in 0..<20_000 {
            let ms = Int64(next() % 315_569_520_000_000) - 62_167_219_200_000
            instants.append(next() % 2 == 0 ? ms - ms % 1000 : ms)
        }
        for ms in instants {
            let days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
            let rest = ms - days * 86_400_000
            let (y, m, d) = TimeFormat.civil(fromDays: days)
            let text = TimeFormat.format(timestamp: ms)
            #expect(text == TimeFormat.spelledOut(y, m, d, rest / 1000, rest % 1000), "\(ms)")
            #expect(TimeFormat.timestamp(text) == ms, "\(text)")
        }
    }
}

// MARK: - Limits: stray quotes, overlong rows and headers, files that are not CSV

/// One stray quote must cost one bad row, not the rest of the file (it swallowed 6,770 rows of
/// an Olist file into one dead letter); a header or row without end (`/dev/zero`) must end.
struct CSVEventSourceLimitTests {
    typealias Record = (line: Int, lines: Int, fields: [String], problem: String?, raw: String)

    func records(_ text: String, limits: CSVLimits = CSVLimits(), bufferSize: Int = 1 << 16) -> (records: [Record], failure: String?) {
        let directory = CSVFixture.directory(["f.csv": text])
        let descriptor = open(directory.appendingPathComponent("f.csv").path, O_RDONLY)
        try? FileManager.default.removeItem(at: directory)
        defer { close(descriptor) }
        let reader = CSVReader(descriptor: descriptor, bufferSize: bufferSize, limits: limits)
        var result: [Record] = []
        while reader.next() {
            result.append((reader.recordLine, reader.recordLines, (0..<reader.fieldCount).map(reader.field), reader.problem, reader.rawText))
        }
        return (result, reader.failure)
    }

    /// A header and `count` rows `N,name N,N` (line N + 1 holds row N).
    static func rows(_ count: Int) -> [String] {
        ["id,name,n"] + (1...count).map { "\($0),name \($0),\($0)" }
    }

    @Test func aStrayQuoteToTheEndOfTheFileCostsOneRow() {
        var lines = Self.rows(200)
        lines[5] = "5,\"name 5,5"  // line 6
        let (records, failure) = records(lines.joined(separator: "\n") + "\n")
        #expect(failure == nil)
        #expect(records.count == 201)
        let bad = records.filter { $0.problem != nil }
        #expect(bad.map(\.line) == [6])
        #expect(bad.first?.lines == 1)
        #expect(bad.first?.raw == "5,\"name 5,5")
        #expect(bad.first?.problem == "the quoted field opened on line 6 holds more than 100 line breaks (is a quote not closed?); the bad row is line 6, reading goes on at line 7")
        // Every other row is read, on its own line.
        #expect(records.filter { $0.problem == nil }.map(\.line) == [1] + Array(2...201).filter { $0 != 6 })
        #expect(records.last?.fields == ["200", "name 200", "200"])
    }

    @Test func aQuoteNeverClosedIsCutBackToo() {
        var lines = Self.rows(20)
        lines[5] = "5,\"name 5,5"
        let (records, _) = records(lines.joined(separator: "\n"))
        #expect(records.count == 21)
        let bad = records.filter { $0.problem != nil }
        #expect(bad.map(\.line) == [6])
        #expect(bad.first?.problem == "a quoted field is not closed: the quote opened on line 6 runs to the end of the file; the bad row is line 6, reading goes on at line 7")
        #expect(records.last?.fields == ["20", "name 20", "20"])
        #expect(records.last?.line == 21)
    }

    /// The stray quote closes at the opening quote of a later row: the parity of every quote
    /// after it would be wrong; the bad row is the first line and the rest reads as written.
    @Test func aStrayQuoteClosedByALaterQuote() {
        let text = "id,name,n\n1,a,1\n2,\"stray,2\n3,b,3\n4,\"legit, quoted\",4\n5,\"two\nlines\",5\n6,c,6\n"
        let (records, _) = records(text)
        #expect(records.map(\.line) == [1, 2, 3, 4, 5, 6, 8])
        #expect(records.map(\.problem).map { $0 == nil } == [true, true, false, true, true, true, true])
        #expect(records[2].raw == "2,\"stray,2")
        #expect(records[2].problem?.hasPrefix("text after the closing quote of column 2") == true)
        #expect(records[2].problem?.hasSuffix("the bad row is line 3, reading goes on at line 4") == true)
        #expect(records[4].fields == ["4", "legit, quoted", "4"])
        #expect(records[5].fields == ["5", "two\nlines", "5"])
        #expect(records[5].lines == 2)
    }

    /// Lines the bad row reached that do not parse as rows belong to it; the dead letter says how many.
    @Test func linesThatAreNoRowsJoinTheBadRow() {
        let text = "id,a,b,c\n1,\"two\nmore\nlines\",x,y,EXTRA\n2,ok,ok,ok\n"
        let (records, _) = records(text)
        #expect(records.map(\.line) == [1, 2, 4, 5])
        #expect(records[1].lines == 2)
        #expect(records[1].raw == "1,\"two\nmore")
        #expect(records[1].problem == "the row has 5 columns, the header 4; the bad row is lines 2–3, 2 lines, reading goes on at line 4")
        // `lines",x,y,EXTRA` has the header's four fields: reading goes on with it.
        #expect(records[2].fields == ["lines\"", "x", "y", "EXTRA"])
        #expect(records[3].fields == ["2", "ok", "ok", "ok"])
    }

    @Test(arguments: [1, 2, 3, 7, 64, 4096])
    func cuttingBackReadsTheSameWithAnyBuffer(size: Int) {
        var lines = Self.rows(60)
        lines[5] = "5,\"name 5,5"
        lines[30] = "30,\"x\"y,30"
        let text = lines.joined(separator: "\r\n") + "\r\n" + "61,\"a\nb\",61\n"
        let limits = CSVLimits(quotedFieldLines: 10)
        let expected = records(text, limits: limits)
        let small = records(text, limits: limits, bufferSize: size)
        #expect(small.records.map(\.line) == expected.records.map(\.line))
        #expect(small.records.map(\.fields) == expected.records.map(\.fields))
        #expect(small.records.map(\.raw) == expected.records.map(\.raw))
        #expect(expected.records.filter { $0.problem != nil }.map(\.line) == [6, 31])
        #expect(expected.records.count == 62)
        #expect(expected.records.last?.fields == ["61", "a\nb", "61"])
    }

    @Test func quotedFieldsWithinTheLimitsSpanLines() {
        let field = (1...100).map { "line \($0)" }.joined(separator: "\n")
        let (records, _) = records("id,text\n1,\"\(field)\"\n2,x\n")
        #expect(records.map(\.problem).allSatisfy { $0 == nil })
        #expect(records[1].fields[1] == field)
        #expect(records[1].lines == 100)
        #expect(records[2].line == 102)
        // One line break more than allowed is a bad row (cut back, the lines after it read again).
        let tight = self.records("id,text\n1,\"\(field)\"\n2,x\n", limits: CSVLimits(quotedFieldLines: 98))
        #expect(tight.records[1].problem?.contains("holds more than 98 line breaks") == true)
        #expect(tight.records.last?.fields == ["2", "x"])
    }

    @Test func aLongQuotedFieldOnOneLineIsABadRow() {
        let long = String(repeating: "a", count: 200)
        let (records, _) = records("id,text,n\n1,\"\(long)\",1\n2,\"short\",2\n", limits: CSVLimits(quotedFieldBytes: 100))
        #expect(records.count == 3)
        #expect(records[1].problem?.hasPrefix("the quoted field opened on line 2 holds more than 100 bytes") == true)
        #expect(records[2].fields == ["2", "short", "2"])
        #expect(records[2].problem == nil)
    }

    @Test func aLongRowIsABadRowAndTheNextLineIsRead() {
        let long = String(repeating: "b", count: 500)
        let (records, _) = records("id,text\n1,\(long)\n2,x\n", limits: CSVLimits(rowBytes: 100))
        #expect(records.map(\.line) == [1, 2, 3])
        #expect(records[1].problem == "the row is longer than 100 bytes (is a quote not closed?); the rest of its line is skipped")
        #expect(records[2].fields == ["2", "x"])
    }

    @Test func aRowTooLongToReadAgainSaysWhichLinesItCovers() {
        let field = Array(repeating: "aaaaaaaaaa", count: 10).joined(separator: "\n")
        let (records, _) = records("id,t\n1,\"\(field)\"\n2,x\n", limits: CSVLimits(rowBytes: 50, quotedFieldLines: 1000))
        #expect(records[1].problem?.hasPrefix("the row is longer than 50 bytes") == true)
        #expect(records[1].problem?.hasSuffix("the bad row is lines 2–11, 10 lines, reading goes on at line 12") == true)
        #expect(records.last?.fields == ["2", "x"])
    }

    @Test func aHeaderWithoutEndStopsTheReading() {
        let (records, failure) = records(String(repeating: "x", count: 100_000))
        #expect(records.isEmpty)
        #expect(failure == "the first row (the header) is longer than 64 KiB; is it a CSV file?")
        let small = self.records("a,b,c,d\n1,2,3,4\n", limits: CSVLimits(headerBytes: 4))
        #expect(small.records.isEmpty)
        #expect(small.failure == "the first row (the header) is longer than 4 bytes; is it a CSV file?")
    }

    @Test func devZeroEndsPromptly() {
        let descriptor = open("/dev/zero", O_RDONLY)
        defer { close(descriptor) }
        let reader = CSVReader(descriptor: descriptor)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(!reader.next())
        #expect(clock.now - start < .seconds(5))
        #expect(reader.failure?.contains("longer than 64 KiB") == true)
        #expect(reader.bytes.count <= CSVLimits.defaultHeaderBytes + (1 << 16))
    }

    static let mapping = """
        joins:
          notes: { file: notes.csv, key: order_id, on: id }
        fields:
          order.id: id
          order.note: notes.text
        events:
          - { event: order.placed, time: placed }
        """

    @Test func aJoinedOrMainFileThatIsNotCSVIsAnOpeningError() throws {
        let program = CSVFixture.program()
        let mapping = CSVFixture.mapping(Self.mapping, program: program)
        let directory = CSVFixture.directory(["main.csv": "id,placed\nO1,2017-01-01\n", "notes.csv": "order_id,text\nO1,x\n"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let main = directory.appendingPathComponent("main.csv").path
        for (events, joined) in [(main, "/dev/zero"), ("/dev/zero", nil)] {
            let descriptor = open(events, O_RDONLY)
            defer { close(descriptor) }
            do {
                _ = try CSVEventSource(mapping: mapping, program: program, descriptor: descriptor, path: events,
                                       joinPaths: joined.map { ["notes": $0] } ?? [:])
                Issue.record("\(events) with notes=\(joined ?? "-") should not open")
            } catch {
                let message = error.diagnostics.map(\.message).joined(separator: "; ")
                #expect(message.contains("the first row (the header) is longer than 64 KiB"), "\(message)")
                #expect(message.contains(joined == nil ? "cannot read zero" : "cannot read /dev/zero (join `notes`)"), "\(message)")
            }
        }
        // The limits given to the source hold for the joined files too.
        let descriptor = open(main, O_RDONLY)
        defer { close(descriptor) }
        #expect(throws: CSVEventSource.OpenError.self) {
            _ = try CSVEventSource(mapping: mapping, program: program, descriptor: descriptor, path: main, limits: CSVLimits(headerBytes: 12))
        }
    }

    @Test func aStrayQuoteThroughTheSourceIsOneDeadLetter() throws {
        var csv = CSVEventSourceTests.header
        for index in 1...50 {
            csv += index == 5 ? "O5,,,,,,,\"2017-07-09 21:57:05,,,,,\n" : "O\(index),,,,,,,2017-07-09 21:57:05,,,,,\n"
        }
        let source = try CSVFixture.open(csv, CSVEventSourceTests.basicMapping, program: CSVEventSourceTests.program)
        let rows = CSVFixture.rows(source)
        let letters = CSVFixture.deadLetters(rows)
        #expect(letters.map(\.line) == [6])
        #expect(letters.first?.reason.contains("the bad row is line 6, reading goes on at line 7") == true)
        #expect(CSVFixture.events(rows).count == 49)
        #expect(source.rows == 50)
    }

    @Test func aMappingWithAnAliasBombIsRefused() {
        var yaml = "fields:\n  order.id: id\nevents:\n  - { event: order.placed, time: placed }\nmissing:\n"
        yaml += "  - &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1..<10 { yaml += "  - &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        let clock = ContinuousClock()
        let start = clock.now
        let (mapping, diagnostics) = EventMapping.load(SourceFile(path: "m.yaml", text: yaml), program: CSVFixture.program())
        #expect(clock.now - start < .seconds(2))
        #expect(mapping == nil)
        #expect(diagnostics.map(\.code.rawValue) == ["E0601"])
    }
}
