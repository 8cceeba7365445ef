import Foundation
import Testing
import RedressIR
import RedressEvents
import RedressEngine
import RedressRuntime

/// The exactly-once protocol of a run (`RunSession`) and the one run loop over event sources,
/// in process: what the `run` command does, without the command.
@Suite struct RunSessionTests {
    static let rules = "rule late on shipment.delivered when shipment.delay > 2d then refund 5 EUR\n"

    static func scratch(_ name: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redress-run-session-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent(name).path
    }

    /// `count` late deliveries of distinct shipments, one a minute, with ids.
    static func deliveries(_ range: Range<Int>) -> String {
        range.map { index in
            let line = Shop.delivered(String(format: "2026-03-01T%02d:%02d:00Z", index / 60, index % 60), shipment: "S\(index)")
            return line.replacingOccurrences(of: "{\"event\"", with: "{\"id\":\"e\(index)\",\"event\"") + "\n"
        }.joined()
    }

    /// One `run` of the loop over `events` (a JSON-lines file), as the command does it.
    @discardableResult
    static func run(_ program: Program, events: String, state: String, out: String, every: Int = 2,
                    retention: Int64? = Engine.defaultRetention) throws -> String {
        let input = open(events, O_RDONLY)
        defer { close(input) }
        let session = try RunSession(program: program, state: state, out: out, deadLetters: scratch("dead.jsonl"), input: input, events: events,
                                     retention: retention)
        let source = try JSONLinesSource(program: program, descriptor: input, path: events, session: session, maximumLineLength: 1 << 20)
        let ending = try session.run(source, watermark: Watermark(engine: session.engine), strict: false, checkpointEvery: every)
        guard case .endOfInput = ending else { return "stopped" }
        return try session.finish(summary: session.summary())
    }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func aSecondRunOverTheSameFileWritesNothingAgain() throws {
        let program = try #require(compile(Self.rules))
        let (events, state, out) = (Self.scratch("e.jsonl"), Self.scratch("s.db"), Self.scratch("out.jsonl"))
        try Data(Self.deliveries(0..<5).utf8).write(to: URL(fileURLWithPath: events))
        let first = try Self.run(program, events: events, state: state, out: out)
        #expect(first.hasPrefix("read 5 events, 5 decisions"))
        let second = try Self.run(program, events: events, state: state, out: out)
        #expect(second.hasPrefix("this run: read 0 events, 0 decisions"))
        #expect(Self.lines(out).count == 5)
    }

    /// CSV through a mapping, as `run --mapping` opens it (`RunInput`): rows of joined files that
    /// cannot be read are kept once, on the first run, said apart in the summary, and stop a
    /// strict run before any row.
    @Test func badRowsOfJoinedFilesAreKeptOnceOnTheFirstRun() throws {
        let program = CSVFixture.program()
        let csv = "id,placed,closed\nO1,7/9/2017 21:57,7/12/2017 9:57\nO2,7/10/2017 8:00,\nO3,7/11/2017 8:00,7/11/2017 7:00\n"
        let directory = CSVFixture.directory(CSVEventSourceTests.joined.merging(["main.csv": csv]) { a, _ in a })
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("main.csv").path
        let format = EventFormat.csv(mappings: [CSVFixture.mapping(CSVEventSourceTests.joinMapping, program: program)], joinPaths: [:])
        let (out, dead) = (Self.scratch("out.jsonl"), Self.scratch("dead.jsonl"))
        func run(state: String, strict: Bool = false) throws -> (summary: String?, stop: DeadLetter?) {
            let input = open(path, O_RDONLY)
            defer { close(input) }
            let opened = try RunInput.open(format, program: program, descriptor: input, path: path)
            let session = try RunSession(program: program, state: state, out: out, deadLetters: dead, input: input, events: path)
            let source = try opened.source(program: program, descriptor: input, path: path, session: session, maximumLineLength: 1 << 20)
            if let stop = try source.start(session, strict: strict) { return (nil, stop) }
            _ = try session.run(source, watermark: Watermark(engine: session.engine), strict: strict, checkpointEvery: 2)
            return (try session.finish(summary: session.summary(read: source.readSummary, badUnit: source.unit, extra: source.extraSummary)), nil)
        }
        let stopped = try run(state: Self.scratch("strict.db"), strict: true)
        #expect(stopped.summary == nil && stopped.stop?.reason == "payments.csv (join `payments`): the key column order_id is empty")

        let state = Self.scratch("s.db")
        let first = try #require(try run(state: state).summary)
        #expect(first.hasPrefix("read 3 rows (0 blank), 3 events, 2 decisions") && first.contains("1 bad row of joined files kept in \(dead)"), "\(first)")
        #expect(Self.lines(dead).count == 1 && Self.lines(dead)[0].contains("payments.csv"))
        let again = try #require(try run(state: state).summary)
        #expect(!again.contains("joined files"), "\(again)")
        #expect(Self.lines(dead).count == 1 && Self.lines(out).count == 2)
    }

    @Test func aNewDayFileOnTheSameStateGivesWhatOneRunOverBothGives() throws {
        let program = try #require(compile(Self.rules))
        let (day1, day2, both) = (Self.scratch("day1.jsonl"), Self.scratch("day2.jsonl"), Self.scratch("both.jsonl"))
        try Data(Self.deliveries(0..<4).utf8).write(to: URL(fileURLWithPath: day1))
        // Day 2 repeats the last event of day 1 (a producer that re-sends): processed once.
        try Data(Self.deliveries(3..<7).utf8).write(to: URL(fileURLWithPath: day2))
        try Data(Self.deliveries(0..<7).utf8).write(to: URL(fileURLWithPath: both))
        let (state, out, reference) = (Self.scratch("s.db"), Self.scratch("out.jsonl"), Self.scratch("ref.jsonl"))
        try Self.run(program, events: day1, state: state, out: out)
        let summary = try Self.run(program, events: day2, state: state, out: out)
        #expect(summary.contains("1 event already processed, skipped"))
        try Self.run(program, events: both, state: Self.scratch("s2.db"), out: reference)
        // The same decisions with the same keys; only the line an event had in its own file differs.
        func withoutLines(_ lines: [String]) -> [String] {
            lines.map { $0.replacingOccurrences(of: #""line":[0-9]+,"#, with: "", options: .regularExpression) }
        }
        #expect(withoutLines(Self.lines(out)) == withoutLines(Self.lines(reference)))
        #expect(Self.lines(out).count == 7)
    }

    /// A run that ends before its first regular checkpoint (a kill) leaves decisions in the
    /// output that no checkpoint covers: the next run cuts them away and writes them once.
    @Test func aRunKilledBeforeItsFirstCheckpointWritesNothingTwice() throws {
        let program = try #require(compile(Self.rules))
        let (events, state, out) = (Self.scratch("e.jsonl"), Self.scratch("s.db"), Self.scratch("out.jsonl"))
        try Data(Self.deliveries(0..<3).utf8).write(to: URL(fileURLWithPath: events))
        do {
            let input = open(events, O_RDONLY)
            defer { close(input) }
            let session = try RunSession(program: program, state: state, out: out, deadLetters: Self.scratch("dead.jsonl"), input: input, events: events)
            let source = try JSONLinesSource(program: program, descriptor: input, path: events, session: session, maximumLineLength: 1 << 20)
            // Evaluates everything, never checkpoints, never finishes: as if killed at the end.
            _ = try session.run(source, watermark: Watermark(engine: session.engine), strict: false, checkpointEvery: 1_000)
            session.sink.flush()
        }
        #expect(Self.lines(out).count == 3)
        try Self.run(program, events: events, state: state, out: out)
        #expect(Self.lines(out).count == 3)
        #expect(Set(Self.lines(out)).count == 3)
    }

    /// Processed ids are kept as long as the retention keeps keys: a run that starts with the
    /// state's clock past them forgets them, and the same events are evaluated again.
    @Test func processedIdsOlderThanTheRetentionAreForgottenWhenARunStarts() throws {
        let program = try #require(compile(Self.rules))
        let (old, later) = (Self.scratch("old.jsonl"), Self.scratch("later.jsonl"))
        try Data(Self.deliveries(0..<3).utf8).write(to: URL(fileURLWithPath: old))
        // One event 500 days after them moves the state's clock.
        let far = Shop.delivered("2027-07-14T00:00:00Z", shipment: "S-far").replacingOccurrences(of: "{\"event\"", with: "{\"id\":\"far\",\"event\"")
        try Data((far + "\n").utf8).write(to: URL(fileURLWithPath: later))
        for (retention, expected) in [(Engine.defaultRetention, "read 3 events, 3 decisions"), (nil, "3 events already processed, skipped")] {
            let (state, out) = (Self.scratch("s.db"), Self.scratch("out.jsonl"))
            try Self.run(program, events: old, state: state, out: out, retention: retention)
            try Self.run(program, events: later, state: state, out: out, retention: retention)
            let again = try Self.run(program, events: old, state: state, out: out, retention: retention)
            #expect(again.contains(expected), "\(again)")
        }
    }

    @Test func aBadLineWithStrictEndsTheLoopThere() throws {
        let program = try #require(compile(Self.rules))
        let (events, out) = (Self.scratch("e.jsonl"), Self.scratch("out.jsonl"))
        try Data((Self.deliveries(0..<2) + "not json\n" + Self.deliveries(2..<4)).utf8).write(to: URL(fileURLWithPath: events))
        let input = open(events, O_RDONLY)
        defer { close(input) }
        let session = try RunSession(program: program, state: nil, out: out, deadLetters: Self.scratch("dead.jsonl"), input: input, events: events)
        let source = try JSONLinesSource(program: program, descriptor: input, path: events, session: session, maximumLineLength: 1 << 20)
        let ending = try session.run(source, watermark: Watermark(engine: session.engine), strict: true, checkpointEvery: 1_000)
        guard case .badInput(let letter) = ending else {
            Issue.record("expected the loop to stop at line 3")
            return
        }
        #expect(letter.line == 3)
        #expect(session.engine.statistics.events == 2)
    }

    @Test func writingIntoTheEventsFileIsRefused() throws {
        let program = try #require(compile(Self.rules))
        let events = Self.scratch("e.jsonl")
        try Data(Self.deliveries(0..<1).utf8).write(to: URL(fileURLWithPath: events))
        let input = open(events, O_RDONLY)
        defer { close(input) }
        #expect(throws: RunFailure.self) {
            _ = try RunSession(program: program, state: nil, out: events, deadLetters: Self.scratch("dead.jsonl"), input: input, events: events)
        }
    }
}
