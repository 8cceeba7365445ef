import Foundation
import Testing

/// Restarts that never drop input (docs/events.md, "Restarts"), through the binary: a state
/// goes on after its checkpoint only in the same file with the same bytes; any other input is
/// read from its start and the events processed before are skipped and counted.
@Suite(.serialized)
struct RestartTests {
    static let shop = repositoryRoot.appendingPathComponent("rules/shop")
    static let history: [String] = read(repositoryRoot.appendingPathComponent("rules/shop/events/history.jsonl"))
        .split(separator: "\n").map(String.init)
    static let sample: [String] = read(repositoryRoot.appendingPathComponent("rules/shop/events/sample.jsonl"))
        .split(separator: "\n").map(String.init)

    static func text(_ lines: some Sequence<String>) -> String { lines.map { $0 + "\n" }.joined() }

    static func write(_ text: String, to url: URL) throws { try Data(text.utf8).write(to: url) }

    static func append(_ text: String, to url: URL) throws {
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    /// Standard input as a pipe holding `text` (written and closed before the run reads it).
    static func pipe(_ text: String) throws -> FileHandle {
        let pipe = Pipe()
        try pipe.fileHandleForWriting.write(contentsOf: Data(text.utf8))
        try pipe.fileHandleForWriting.close()
        return pipe.fileHandleForReading
    }

    /// The decisions without the line numbers of their events (a line of one day's file is not
    /// the line of the same event in one file of both days).
    static func withoutLines(_ text: String) -> String {
        text.replacingOccurrences(of: #","line":[0-9]+,"#, with: ",", options: .regularExpression)
    }

    static func run(_ events: String, state: URL, out: URL, input: FileHandle? = nil, rules: URL = shop, extra: [String] = []) throws -> Run {
        let result = try redress(["run", rules.path, "--events", events, "--state", state.path, "--out", out.path] + extra, input: input)
        #expect(result.status == 0, "\(result.stderr)")
        return result
    }

    /// A scratch directory whose `events.jsonl` holds the history's first `lines` lines, run once
    /// into a new state (`s.db`) and output (`out.jsonl`) beside it.
    static func firstRun(_ name: String, lines: Int) throws -> (events: URL, state: URL, out: URL, run: Run) {
        let directory = scratchPath(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let events = directory.appendingPathComponent("events.jsonl")
        let state = directory.appendingPathComponent("s.db"), out = directory.appendingPathComponent("out.jsonl")
        try write(text(history.prefix(lines)), to: events)
        return (events, state, out, try run(events.path, state: state, out: out))
    }

    /// The issue's case: two lines through a pipe, then the third through another pipe. The
    /// third (a late VIP delivery) is evaluated, not skipped as "line 3 was read before".
    @Test func theThirdLineThroughANewPipeIsEvaluated() throws {
        let directory = scratchPath("restart-pipe")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let state = directory.appendingPathComponent("s.db"), out = directory.appendingPathComponent("out.jsonl")
        let first = try Self.run("-", state: state, out: out, input: try Self.pipe(Self.text(Self.sample.prefix(2))))
        #expect(first.stderr.hasPrefix("read 2 events, "), "\(first.stderr)")
        let third = try Self.run("-", state: state, out: out, input: try Self.pipe(Self.text(Self.sample[2...])))
        #expect(third.stderr.contains("note: reading standard input from its start"), "\(third.stderr)")
        #expect(third.stderr.contains("this run: read 1 event, 3 decisions;"), "\(third.stderr)")
        #expect(read(out).contains(#""id":"e3""#) && read(out).contains(#""rule":"vip_late_delivery""#))

        // The same as one run over the three lines.
        let once = directory.appendingPathComponent("once.jsonl")
        _ = try Self.run("-", state: directory.appendingPathComponent("once.db"), out: once, input: try Self.pipe(Self.text(Self.sample)))
        #expect(Self.withoutLines(read(out)) == Self.withoutLines(read(once)))

        // All three again: all already processed, nothing written.
        let again = try Self.run("-", state: state, out: out, input: try Self.pipe(Self.text(Self.sample)))
        #expect(again.stderr.contains("this run: read 0 events, 0 decisions, 3 events already processed, skipped;"), "\(again.stderr)")
        #expect(Self.withoutLines(read(out)) == Self.withoutLines(read(once)))
    }

    /// The same file: nothing is read again. The file grew (appended to, or written anew under
    /// its name beginning with the same bytes): its new lines are read. Either way the output is
    /// that of one run over the whole file, byte for byte.
    @Test func theSameFileGoesOnAfterTheCheckpoint() throws {
        for rewrite in [false, true] {
            let (events, state, out, first) = try Self.firstRun("restart-grew", lines: 1500)
            #expect(first.stderr.hasPrefix("read 1500 events, "))
            let unchanged = try Self.run(events.path, state: state, out: out)
            #expect(unchanged.stderr.hasPrefix("this run: read 0 events, 0 decisions; since the state began: 1500 events"), "\(unchanged.stderr)")
            if rewrite {
                // Another inode under the same name (an export that replaces its file).
                try FileManager.default.removeItem(at: events)
                try Self.write(Self.text(Self.history), to: events)
            } else {
                try Self.append(Self.text(Self.history.dropFirst(1500)), to: events)
            }
            let grown = try Self.run(events.path, state: state, out: out)
            #expect(grown.stderr.hasPrefix("this run: read \(Self.history.count - 1500) events, "), "\(grown.stderr)")
            #expect(!grown.stderr.contains("already processed") && !grown.stderr.contains("note:"), "\(grown.stderr)")

            let whole = events.deletingLastPathComponent().appendingPathComponent("whole.jsonl")
            let once = try redress(["run", Self.shop.path, "--events", events.path, "--out", whole.path])
            #expect(once.status == 0)
            #expect(read(out) == read(whole), "rewritten: \(rewrite)")
        }
    }

    /// A daily job: day 1's file, then day 2's (which repeats day 1's last 200 events), on one
    /// state. Day 2 is read from its start, its first 200 events are skipped and counted, and the
    /// decisions are those of one run over both days (the events' line numbers are their
    /// files'). Day 1 given again is skipped whole.
    @Test func aNewDaysFileIsReadFromItsStartSkippingWhatWasProcessed() throws {
        let directory = scratchPath("restart-days")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let day1 = directory.appendingPathComponent("day1.jsonl"), day2 = directory.appendingPathComponent("day2.jsonl")
        try Self.write(Self.text(Self.history.prefix(1800)), to: day1)
        try Self.write(Self.text(Self.history[1600...]), to: day2)
        let state = directory.appendingPathComponent("s.db"), out = directory.appendingPathComponent("out.jsonl")
        _ = try Self.run(day1.path, state: state, out: out)
        let second = try Self.run(day2.path, state: state, out: out)
        #expect(second.stderr.contains("note: \(day2.path) is not the file the state last read (\(day1.path))"), "\(second.stderr)")
        #expect(second.stderr.contains("this run: read \(Self.history.count - 1800) events, "), "\(second.stderr)")
        #expect(second.stderr.contains(", 200 events already processed, skipped; since the state began: \(Self.history.count) events"), "\(second.stderr)")
        let again = try Self.run(day1.path, state: state, out: out)
        #expect(again.stderr.contains("this run: read 0 events, 0 decisions, 1800 events already processed, skipped;"), "\(again.stderr)")

        let all = directory.appendingPathComponent("all.jsonl"), whole = directory.appendingPathComponent("whole.jsonl")
        try Self.write(Self.text(Self.history), to: all)
        #expect(try redress(["run", Self.shop.path, "--events", all.path, "--out", whole.path]).status == 0)
        #expect(Self.withoutLines(read(out)) == Self.withoutLines(read(whole)))
        #expect(read(out) != read(whole), "day 2's events carry day 2's line numbers")
    }

    /// A file whose consumed bytes changed (edited in place): its lines are not those read, so
    /// it is read from its start; the events it still has are skipped, the changed one is new.
    @Test func aFileChangedWhereItWasReadIsReadFromItsStart() throws {
        let (events, state, out, _) = try Self.firstRun("restart-changed", lines: 1000)
        // The first event gets another id, in place (same length): the file is the same inode.
        let handle = try FileHandle(forUpdating: events)
        let start = try #require(Self.history[0].range(of: #""id":"h1""#))
        try handle.seek(toOffset: UInt64(Self.history[0].utf8.distance(from: Self.history[0].startIndex, to: start.lowerBound)))
        try handle.write(contentsOf: Data(#""id":"x1""#.utf8))
        try handle.close()
        let changed = try Self.run(events.path, state: state, out: out)
        #expect(changed.stderr.contains("note: \(events.path) changed since the state read it"), "\(changed.stderr)")
        #expect(changed.stderr.contains("this run: read 1 event, "), "\(changed.stderr)")
        #expect(changed.stderr.contains("999 events already processed, skipped"), "\(changed.stderr)")
    }

    /// Within one input an id seen before is processed already too; so is a line without an id
    /// that repeats one byte for byte (its id is derived from its bytes), and a bad line kept
    /// once. Without --state nothing is skipped (there is nothing to remember events by).
    @Test func repeatsWithinOneInputAreSkippedAndCounted() throws {
        let directory = scratchPath("restart-repeats")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let withoutID = Self.sample[2].replacingOccurrences(of: #""id":"e3","#, with: "")
        let lines = [Self.sample[0], Self.sample[1], Self.sample[0], withoutID, "not json", withoutID, Self.sample[2], "not json"]
        let events = directory.appendingPathComponent("events.jsonl")
        try Self.write(Self.text(lines), to: events)
        let state = directory.appendingPathComponent("s.db"), out = directory.appendingPathComponent("out.jsonl")
        let dead = directory.appendingPathComponent("dead.jsonl")
        let result = try Self.run(events.path, state: state, out: out, extra: ["--dead-letters", dead.path])
        #expect(result.stderr.hasPrefix("read 4 events, "), "\(result.stderr)")
        #expect(result.stderr.contains("1 bad line kept in \(dead.path), 2 events already processed, skipped, 1 bad line already kept, skipped"),
                "\(result.stderr)")
        #expect(read(dead).split(separator: "\n").count == 1)
        let stateless = try redress(["run", Self.shop.path, "--events", events.path, "--dead-letters", dead.path])
        #expect(stateless.stderr.hasPrefix("read 6 events, "), "\(stateless.stderr)")
    }

    /// A state written before inputs and processed events were recorded (made here by emptying
    /// them with Python's sqlite3) goes on after the line it recorded, as it did, and says so;
    /// the next checkpoint records the input by identity.
    @Test(.enabled(if: HardeningRunTests.python != nil, "needs python3 (sqlite3) to write a state of the earlier layout"))
    func aStateOfAnEarlierVersionGoesOnAfterItsLine() throws {
        let (events, state, out, _) = try Self.firstRun("restart-earlier", lines: 1500)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: HardeningRunTests.python ?? "/usr/bin/python3")
        process.arguments = ["-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("UPDATE checkpoint SET input_path = NULL, input_device = NULL, input_inode = NULL, input_bytes = NULL, input_hash = NULL")
            db.execute("DELETE FROM processed")
            db.commit()
            """, state.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        try Self.append(Self.text(Self.history.dropFirst(1500)), to: events)
        let resumed = try Self.run(events.path, state: state, out: out)
        #expect(resumed.stderr.contains("note: the state was written by an earlier version, which recorded input lines only: going on after line 1500"),
                "\(resumed.stderr)")
        #expect(resumed.stderr.contains("this run: read \(Self.history.count - 1500) events, "), "\(resumed.stderr)")
        let again = try Self.run(events.path, state: state, out: out)
        #expect(again.stderr.hasPrefix("this run: read 0 events, 0 decisions;"), "\(again.stderr)")
        let whole = events.deletingLastPathComponent().appendingPathComponent("whole.jsonl")
        #expect(try redress(["run", Self.shop.path, "--events", events.path, "--out", whole.path]).status == 0)
        #expect(read(out) == read(whole))
    }

    // MARK: - CSV through a mapping

    static let csvRules = "when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten\n"
    static let mapping = """
        fields:
          shipment.id: shipment
          shipment.delay: delay
          order.id: order
          customer.id: customer
          customer.tier: tier
        events:
          - { event: shipment.delivered, time: at, id: "{shipment}/delivered" }
        """

    static func csvRows(_ range: Range<Int>) -> String {
        range.map { i in
            "S\(i),\(["1d", "3d", "5d"][i % 3]),O\(i),C\(i % 40),\(i % 2 == 0 ? "VIP" : "Standard"),2026-01-01T\(String(format: "%02d", i / 60 % 24)):\(String(format: "%02d", i % 60)):00Z\n"
        }.joined()
    }

    /// CSV through a mapping gets the same treatment: the same file grown goes on, another file
    /// is read from its start with the rows processed before skipped.
    @Test func csvThroughAMappingRestartsTheSameWay() throws {
        let rules = try temporaryRuleSet(["r.rules": Self.csvRules, "m.yaml": Self.mapping])
        let header = "shipment,delay,order,customer,tier,at\n"
        let events = rules.appendingPathComponent("day1.csv"), day2 = rules.appendingPathComponent("day2.csv")
        try Self.write(header + Self.csvRows(0..<300), to: events)
        let state = rules.appendingPathComponent("s.db"), out = rules.appendingPathComponent("out.jsonl")
        let csv = ["--mapping", rules.appendingPathComponent("m.yaml").path]
        _ = try Self.run(events.path, state: state, out: out, rules: rules, extra: csv)
        try Self.append(Self.csvRows(300..<400), to: events)
        let grown = try Self.run(events.path, state: state, out: out, rules: rules, extra: csv)
        #expect(grown.stderr.hasPrefix("this run: read 100 rows (0 blank), 100 events, "), "\(grown.stderr)")
        try Self.write(header + Self.csvRows(350..<600), to: day2)
        let next = try Self.run(day2.path, state: state, out: out, rules: rules, extra: csv)
        #expect(next.stderr.contains("this run: read 250 rows (0 blank), 200 events, "), "\(next.stderr)")
        #expect(next.stderr.contains("50 events already processed, skipped"), "\(next.stderr)")

        let all = rules.appendingPathComponent("all.csv"), whole = rules.appendingPathComponent("whole.jsonl")
        try Self.write(header + Self.csvRows(0..<600), to: all)
        #expect(try redress(["run", rules.path, "--events", all.path, "--out", whole.path] + csv).status == 0)
        #expect(Self.withoutLines(read(out)) == Self.withoutLines(read(whole)))
    }

    // MARK: - SIGKILL at random moments

    /// Runs `arguments` up to `kills` times, each killed with SIGKILL after a seeded random delay
    /// (if still running), then once to its end. Returns how many runs were killed.
    static func killRepeatedly(_ arguments: [String], input: URL? = nil, kills: Int, seed: UInt64) throws -> Int {
        var generator = SeededGenerator(seed: seed)
        var killed = 0
        for _ in 0..<kills {
            let process = Process()
            process.executableURL = redressBinary
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.standardInput = try input.map { try FileHandle(forReadingFrom: $0) } ?? FileHandle.nullDevice
            // The kill comes a random moment after the run has begun writing decisions: a fixed
            // delay either let a fast machine finish the run before the first kill (which proves
            // nothing: later runs find nothing left to do) or killed a slow one before it wrote.
            let out = arguments.firstIndex(of: "--out").map { arguments[$0 + 1] } ?? ""
            let before = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            try process.run()
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning, Date() < deadline, ((try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0) <= before {
                usleep(1_000)
            }
            usleep(UInt32.random(in: 0...60_000, using: &generator))
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { killed += 1 } else { #expect(process.terminationStatus == 0) }
        }
        let last = try redress(arguments, input: try input.map { try FileHandle(forReadingFrom: $0) })
        #expect(last.status == 0, "\(last.stderr)")
        return killed
    }

    /// Events with ids, a deterministic stream (RunCommandTests' generator).
    static func identified(_ count: Int, from first: Int = 0) -> [String] {
        RunCommandTests.events(count: first + count).split(separator: "\n").dropFirst(first).enumerated().map { index, line in
            "{\"id\":\"ev-\(first + index)\"," + line.dropFirst()
        }
    }

    /// In each mode — the same file (resumed at its checkpoint), standard input (read from its
    /// start each time), day 2's file after day 1's, and CSV — runs killed at random moments
    /// and run again write each decision exactly once: the output is an uninterrupted run's.
    @Test(arguments: ["file", "stdin", "days", "csv"])
    func killedAtRandomMomentsEachDecisionIsWrittenOnce(mode: String) throws {
        let rules = try temporaryRuleSet(["k.rules": RunCommandTests.rules, "m.yaml": Self.mapping])
        let directory = rules
        let state = directory.appendingPathComponent("s.db"), out = directory.appendingPathComponent("out.jsonl")
        let reference = directory.appendingPathComponent("reference.jsonl"), referenceState = directory.appendingPathComponent("r.db")
        let every = ["--checkpoint-every", "100"]
        var killed = 0
        switch mode {
        case "file", "stdin":
            let events = directory.appendingPathComponent("events.jsonl")
            try Self.write(Self.text(Self.identified(12_000)), to: events)
            #expect(try redress(["run", rules.path, "--events", events.path, "--out", reference.path]).status == 0)
            let source = mode == "file" ? events.path : "-"
            killed = try Self.killRepeatedly(["run", rules.path, "--events", source, "--state", state.path, "--out", out.path] + every,
                                             input: mode == "file" ? nil : events, kills: 6, seed: 5)
        case "days":
            let day1 = directory.appendingPathComponent("day1.jsonl"), day2 = directory.appendingPathComponent("day2.jsonl")
            try Self.write(Self.text(Self.identified(4_000)), to: day1)
            try Self.write(Self.text(Self.identified(10_000, from: 3_000)), to: day2)
            for day in [day1, day2] { _ = try Self.run(day.path, state: referenceState, out: reference, rules: rules) }
            _ = try Self.run(day1.path, state: state, out: out, rules: rules, extra: every)
            killed = try Self.killRepeatedly(["run", rules.path, "--events", day2.path, "--state", state.path, "--out", out.path] + every,
                                             kills: 6, seed: 6)
        default:
            let events = directory.appendingPathComponent("events.csv")
            try Self.write("shipment,delay,order,customer,tier,at\n" + Self.csvRows(0..<24_000), to: events)
            let csv = ["--mapping", rules.appendingPathComponent("m.yaml").path]
            #expect(try redress(["run", rules.path, "--events", events.path, "--out", reference.path] + csv).status == 0)
            killed = try Self.killRepeatedly(["run", rules.path, "--events", events.path, "--state", state.path, "--out", out.path] + every + csv,
                                             kills: 6, seed: 7)
        }
        #expect(killed >= 1, "\(mode): no run was killed before its end")
        let decisions = read(out).split(separator: "\n")
        #expect(!decisions.isEmpty)
        #expect(read(out) == read(reference), "\(mode): the output after \(killed) kills differs from an uninterrupted run's")
        let keys = decisions.map { line -> Substring in line[(line.range(of: "\"key\":")?.upperBound ?? line.startIndex)...] }
        #expect(Set(keys).count == keys.count, "\(mode): a decision was written twice")
    }
}
