import Foundation
import Testing

/// `run --clock wall` (issue 13, point 7, the watermark): an absence deadline fires on a quiet
/// stream once the wall clock minus `--lateness` passes it, while the input is still open; without
/// it deadlines wait for a later event, as in every replay. The tests wait for output with a
/// generous timeout (a loaded machine must not fail them) and never sleep to decide anything.
@Suite struct WallClockTests {
    static let rules = """
        rule vip_not_shipped on order.placed unless shipment.shipped within 48h when customer.tier == VIP then send dispatch_delay_notice
        rule big_order on order.placed when order.total >= 50 EUR then flag handwritten

        """

    /// A running `redress run` on a pipe kept open by the test, its output gathered as it comes.
    final class Stream: @unchecked Sendable {
        let process = Process()
        let input = Pipe(), output = Pipe(), errors = Pipe()
        private let lock = NSLock()
        private var gathered = Data()
        private var errorText = Data()

        init(_ arguments: [String]) throws {
            process.executableURL = redressBinary
            process.arguments = arguments
            process.currentDirectoryURL = repositoryRoot
            process.standardInput = input
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            for (pipe, toErrors) in [(output, false), (errors, true)] {
                Thread { [self] in
                    while case let data = pipe.fileHandleForReading.availableData, !data.isEmpty {
                        lock.withLock { if toErrors { errorText.append(data) } else { gathered.append(data) } }
                    }
                }.start()
            }
        }

        /// Kills a run a failed expectation left behind (its reading threads hold the stream).
        func stop() { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        var text: String { lock.withLock { String(decoding: gathered, as: UTF8.self) } }
        var stderr: String { lock.withLock { String(decoding: errorText, as: UTF8.self) } }

        func send(_ line: String) { input.fileHandleForWriting.write(Data((line + "\n").utf8)) }

        /// Waits until the output holds `needle` (up to 60 s); true if it came.
        func wait(for needle: String) -> Bool {
            for _ in 0..<6000 {
                if text.contains(needle) { return true }
                usleep(10_000)
            }
            return false
        }

        /// Closes the input and waits for the run to end and its standard error to be read.
        func finish() throws -> Int32 {
            try input.fileHandleForWriting.close()
            process.waitUntilExit()
            for _ in 0..<6000 where !stderr.contains("read ") { usleep(10_000) }
            return process.terminationStatus
        }
    }

    static func decisions(_ text: String, rule: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["rule"] as? String == rule }
    }

    @Test func anAbsenceDecisionGoesOutWhileAQuietPipeIsStillOpen() throws {
        let rules = try temporaryRuleSet(["w.rules": Self.rules])
        let stream = try Stream(["run", rules.path, "--events", "-", "--clock", "wall", "--lateness", "5m",
                                 "--dead-letters", scratchPath("wall-dl", ".jsonl").path])
        defer { stream.stop() }
        // Approved in 2020: its 48 hours ran out long ago on the wall clock, and nothing follows.
        stream.send(AbsenceTests.placed("2020-03-02T10:00:00Z", "O1"))
        #expect(stream.wait(for: "\"rule\":\"vip_not_shipped\""), "no absence decision while the pipe was open")
        #expect(stream.process.isRunning, "the input is still open")
        let fired = Self.decisions(stream.text, rule: "vip_not_shipped")
        #expect(fired.count == 1 && fired.first?["time"] as? String == "2020-03-04T10:00:00Z", "the decision's time is the deadline: \(stream.text)")
        // The parcel left at hour 47, and says so only now: too late, the decision went out.
        stream.send(AbsenceTests.shipped("2020-03-04T09:00:00Z", "O1"))
        #expect(try stream.finish() == 0, "\(stream.stderr)")
        #expect(Self.decisions(stream.text, rule: "vip_not_shipped").count == 1)
        #expect(stream.stderr.hasPrefix("read 2 events, 2 decisions, 2 events arrived after the watermark\n"), "\(stream.stderr)")
    }

    @Test func byEventTimeTheDeadlineWaitsForALaterEvent() throws {
        let rules = try temporaryRuleSet(["w.rules": Self.rules])
        let stream = try Stream(["run", rules.path, "--events", "-", "--dead-letters", scratchPath("event-dl", ".jsonl").path])
        defer { stream.stop() }
        stream.send(AbsenceTests.placed("2020-03-02T10:00:00Z", "O1"))
        // `big_order` decides on the same line: once it is out, the line has been evaluated.
        #expect(stream.wait(for: "\"rule\":\"big_order\""))
        #expect(Self.decisions(stream.text, rule: "vip_not_shipped").isEmpty, "by event time nothing has passed the deadline yet")
        // A later event's time passes it.
        stream.send(AbsenceTests.placed("2020-03-05T10:00:00Z", "O2"))
        #expect(stream.wait(for: "\"rule\":\"vip_not_shipped\""))
        #expect(try stream.finish() == 0, "\(stream.stderr)")
        #expect(stream.stderr.hasPrefix("read 2 events, 3 decisions, 1 deadline pending\n"), "\(stream.stderr)")
    }

    /// The run sleeps until the next deadline is due and wakes for it: a trigger now, a wait of
    /// 3 s and a lateness of 1 s, and nothing else on the pipe.
    @Test func theRunWakesUpWhenTheNextDeadlineIsDue() throws {
        let rules = try temporaryRuleSet(["w.rules": "rule not_shipped on order.placed unless shipment.shipped within 3s then send dispatch_delay_notice\n"])
        let stream = try Stream(["run", rules.path, "--events", "-", "--clock", "wall", "--lateness", "1s",
                                 "--dead-letters", scratchPath("wake-dl", ".jsonl").path])
        defer { stream.stop() }
        let formatter = ISO8601DateFormatter()
        let now = Date()
        let placed = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        stream.send(AbsenceTests.placed(formatter.string(from: placed), "O1"))
        #expect(stream.wait(for: "\"rule\":\"not_shipped\""), "the deadline did not fire on the quiet pipe")
        let arrived = Date()
        #expect(stream.process.isRunning)
        // Due when the wall clock minus the lateness is past the deadline: not before.
        #expect(arrived.timeIntervalSince(placed) > 4, "fired early: \(arrived.timeIntervalSince(placed)) s after the trigger")
        #expect(try stream.finish() == 0, "\(stream.stderr)")
        // (Whether the trigger counts as late depends on how long the run took to start: not asserted.)
        #expect(stream.stderr.hasPrefix("read 1 event, 1 decision"), "\(stream.stderr)")
    }

    /// SIGTERM while the run sleeps waiting for a far deadline: it ends after a final checkpoint,
    /// the deadline left pending in the state.
    @Test func sigtermEndsARunWaitingForADeadline() throws {
        let rules = try temporaryRuleSet(["w.rules": Self.rules])
        let directory = scratchPath("wall-term")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let stream = try Stream(["run", rules.path, "--events", "-", "--clock", "wall", "--state", directory.appendingPathComponent("s.db").path,
                                 "--out", directory.appendingPathComponent("out.jsonl").path])
        defer { stream.stop() }
        let now = ISO8601DateFormatter().string(from: Date())
        stream.send(AbsenceTests.placed(now, "O1"))
        var evaluated = false
        for _ in 0..<6000 where !evaluated {
            evaluated = read(directory.appendingPathComponent("out.jsonl")).contains("\"rule\":\"big_order\"")
            if !evaluated { usleep(10_000) }
        }
        #expect(evaluated, "the order was evaluated")
        kill(stream.process.processIdentifier, SIGTERM)   // the pipe is still open, the deadline 48 hours away
        stream.process.waitUntilExit()
        #expect(stream.process.terminationReason == .exit && stream.process.terminationStatus == 0)
        for _ in 0..<6000 where !stream.stderr.contains("read ") { usleep(10_000) }
        #expect(stream.stderr.contains("stopped by SIGTERM after a final checkpoint, 1 deadline pending"), "\(stream.stderr)")
    }

    /// `--follow` on the wall clock, with a state: the fired deadline is checkpointed like any
    /// decision, and a restart writes nothing twice and has nothing pending.
    @Test func followingAFileTheDeadlineFiresAndIsCheckpointed() throws {
        let rules = try temporaryRuleSet(["w.rules": Self.rules])
        let directory = scratchPath("wall-follow")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let events = directory.appendingPathComponent("events.jsonl").path
        let out = directory.appendingPathComponent("out.jsonl").path, state = directory.appendingPathComponent("s.db").path
        #expect(FileManager.default.createFile(atPath: events, contents: Data((AbsenceTests.placed("2020-03-02T10:00:00Z", "O1") + "\n").utf8)))
        let stream = try Stream(["run", rules.path, "--events", events, "--follow", "--clock", "wall", "--state", state, "--out", out])
        defer { stream.stop() }
        var fired = false
        for _ in 0..<6000 where !fired {
            fired = read(URL(fileURLWithPath: out)).contains("\"rule\":\"vip_not_shipped\"")
            if !fired { usleep(10_000) }
        }
        #expect(fired, "the deadline fired while the file was followed")
        #expect(stream.process.isRunning)
        kill(stream.process.processIdentifier, SIGTERM)
        #expect(try stream.finish() == 0 && stream.process.terminationReason == .exit, "\(stream.stderr)")
        #expect(stream.stderr.contains("read 1 event, 2 decisions, 1 event arrived after the watermark, stopped by SIGTERM after a final checkpoint\n"),
                "\(stream.stderr)")
        let resumed = try redress(["run", rules.path, "--events", events, "--state", state, "--out", out])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(!resumed.stderr.contains("pending"), "\(resumed.stderr)")
        let keys = read(URL(fileURLWithPath: out)).split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["key"] as? String
        }
        #expect(keys.sorted() == ["big_order|order:O1|1", "vip_not_shipped|order:O1|1"], "\(keys)")
    }

    @Test(arguments: [
        (["run", "rules/shop", "--events", "-", "--lateness", "5m"], "--lateness applies to --clock wall"),
        (["run", "rules/shop", "--events", "-", "--clock", "wall", "--lateness", "soon"], "--lateness takes a duration"),
        (["run", "rules/olist", "--events", "x.csv", "--mapping", "rules/olist/olist.mapping.yaml", "--clock", "wall"], "--clock wall needs JSON lines"),
        (["simulate", "rules/shop", "--events", "rules/shop/events/sample.jsonl", "--clock", "wall"], "simulate replays history in event time"),
        (["diff", "rules/shop", "rules/shop", "--clock", "wall"], "diff replays history in event time"),
    ])
    func clockOptionsOutsideALiveRunAreRefused(arguments: [String], message: String) throws {
        let result = try redress(arguments, input: FileHandle.nullDevice)
        #expect(result.status == 2 && result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func aReplayMayNameEventTime() throws {
        let result = try redress(["simulate", "rules/shop", "--events", "rules/shop/events/sample.jsonl", "--clock", "event"])
        #expect(result.status == 0, "\(result.stderr)")
    }
}
