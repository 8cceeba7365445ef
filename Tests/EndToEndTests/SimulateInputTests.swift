import Foundation
import Testing

/// Awkward input to `simulate`: a clear error (exit 2) or the right numbers, never a crash.
@Suite(.serialized)
struct SimulateInputTests {
    static func file(_ text: String, _ name: String = "events.jsonl") throws -> URL {
        let directory = scratchPath("input")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    static func playback(_ index: Int, price: String, customer: String = "C1", email: String = "c@example.com") -> String {
        "{\"event\":\"playback.ended\",\"time\":\"2026-11-01T10:00:\(String(format: "%02d", index))Z\","
            + "\"playback\":{\"id\":\"P\(index)\",\"rental_id\":\"R\(index)\",\"started_at\":\"2026-11-01T09:00:00Z\",\"watched\":\"50m\",\"rebuffer_ratio\":\"9%\"},"
            + "\"rental\":{\"id\":\"R\(index)\",\"customer_id\":\"\(customer)\",\"title\":\"x\",\"price\":\"\(price)\",\"rented_at\":\"2026-11-01T08:00:00Z\"},"
            + "\"customer\":{\"id\":\"\(customer)\",\"tier\":\"VIP\",\"country\":\"DE\",\"sms_opt_in\":false,\"email\":\"\(email)\"}}"
    }

    static let refundEveryPlayback = ["r.rules": "rule r on playback.ended when playback.rebuffer_ratio > 2% then refund rental.price limit none\n"]

    @Test func costsBeyond64BitsAreAnErrorNotACrash() throws {
        let rules = try temporaryRuleSet(Self.refundEveryPlayback)
        let events = try Self.file((0..<12).map { Self.playback($0, price: "9999999999999999.99 EUR") }.joined(separator: "\n") + "\n")
        for format in ["table", "json"] {
            let run = try redress(["simulate", rules.path, "--events", events.path, "--format", format])
            #expect(run.exitedNormally)
            #expect(run.status == 2)
            #expect(run.stderr.contains("do not fit in 64-bit minor units"))
        }
    }

    @Test(arguments: ["5,000 EUR", "1.005 EUR", "5000", "-5 EUR", "5000 USD", "five EUR"])
    func aBudgetIsReadExactlyOrRefused(_ budget: String) throws {
        let run = try redress(["simulate", "rules/shop", "--events", "rules/shop/events/sample.jsonl", "--budget=\(budget)"])
        #expect(run.status == 2, "\(budget): \(run.stdout)")
        #expect(run.stderr.contains("--budget takes a positive amount in EUR"))
    }

    @Test func csvQuotesKeysWithLineBreaks() throws {
        let rules = try temporaryRuleSet(Self.refundEveryPlayback)
        let events = try Self.file(Self.playback(1, price: "3.00 EUR", email: "p\\r\\nq") + "\n")
        let run = try redress(["simulate", rules.path, "--events", events.path, "--by", "customer.email", "--format", "csv"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\"p\r\nq\""), "\(run.stdout.debugDescription)")
    }

    @Test func escapedAndRawCharactersAreOneKey() throws {
        // 😀 written raw and as a surrogate pair of \u escapes: one customer.
        let rules = try temporaryRuleSet(Self.refundEveryPlayback)
        let events = try Self.file(Self.playback(1, price: "3.00 EUR", customer: "C😀") + "\n" + Self.playback(2, price: "3.00 EUR", customer: "C\\uD83D\\uDE00") + "\n")
        let run = try redress(["simulate", rules.path, "--events", events.path, "--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\"customers\" : 1"), "\(run.stdout)")
    }

    @Test func aByteOrderMarkBeforeTheFirstLineIsSkipped() throws {
        let events = try Self.file("\u{FEFF}" + read(repositoryRoot.appendingPathComponent("rules/shop/events/sample.jsonl")))
        for input in [events.path] {
            let run = try redress(["simulate", "rules/shop", "--events", input, "--format", "json"])
            #expect(run.status == 0)
            #expect(run.stdout.contains("\"deadLetters\" : 0"), "\(run.stdout)")
        }
        let piped = try redress(["run", "rules/shop", "--events", events.path, "--out", "/dev/null"])
        #expect(piped.status == 0 && !piped.stderr.contains("bad line"), "\(piped.stderr)")
    }

    static let olist = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data/olist")

    /// CSV on standard input for two rule sets (`--baseline`, `diff`): read once for both, so
    /// the second is not handed an input already read to its end ("standard input is empty").
    @Test(.enabled(if: FileManager.default.fileExists(atPath: olist.appendingPathComponent("orders.csv").path), "needs ../shared/data/olist"))
    func csvOnStandardInputIsReadOnceForBothRuleSets() throws {
        let rows = try Data(contentsOf: Self.olist.appendingPathComponent("orders.csv")).split(separator: 10, omittingEmptySubsequences: false).prefix(200)
        let csv = Data(rows.joined(separator: [10])) + Data([10])
        let orders = try Self.file(String(decoding: csv, as: UTF8.self), "orders.csv")
        let mapped = ["--mapping", "rules/olist/olist.mapping.yaml"] + ["payments=order_payments.csv", "reviews=order_reviews.csv", "customers=customers.csv"]
            .flatMap { ["--join", $0.replacingOccurrences(of: "=", with: "=\(Self.olist.path)/")] }
        func piped(_ arguments: [String]) throws -> Run {
            let pipe = Pipe()
            try pipe.fileHandleForWriting.write(contentsOf: csv)
            try pipe.fileHandleForWriting.close()
            return try redress(arguments, input: pipe.fileHandleForReading)
        }
        let simulate = ["simulate", "rules/olist", "--baseline", "rules/olist", "--format", "json"]
        let fromFile = try redress(simulate + ["--events", orders.path] + mapped)
        let fromPipe = try piped(simulate + ["--events", "-"] + mapped)
        #expect(fromFile.status == 0 && fromPipe.status == 0, "\(fromFile.stderr)\n\(fromPipe.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(fromPipe.stdout.utf8)) as? [String: Any])
        let comparison = try #require(report["comparison"] as? [String: Any]), current = try #require(report["report"] as? [String: Any])
        let decisions = try #require(current["decisions"] as? Int)
        #expect(decisions > 0 && comparison["baselineCostMinor"] as? Int == current["costMinor"] as? Int, "\(fromPipe.stdout)")
        #expect(fromPipe.stdout == fromFile.stdout)

        let diff = try piped(["diff", "rules/olist", "rules/olist", "--events", "-"] + mapped)
        #expect(diff.status == 0, "\(diff.stderr)")
        let events = try #require(diff.stdout.firstMatch(of: /over ([0-9,]+) events/)?.1)
        #expect(Int(events.replacingOccurrences(of: ",", with: "")) ?? 0 > 0, "\(diff.stdout)")
        #expect(diff.stdout == (try redress(["diff", "rules/olist", "rules/olist", "--events", orders.path] + mapped)).stdout)
    }

    @Test func aDirectoryIsAnIOErrorNotAnEmptyInput() throws {
        let mapped = ["--mapping", "rules/olist/olist.mapping.yaml"]
        for arguments in [["simulate", "rules/shop", "--events", "rules"], ["run", "rules/shop", "--events", "rules", "--out", "/dev/null"],
                          ["simulate", "rules/olist", "--events", "rules"] + mapped, ["run", "rules/olist", "--events", "rules", "--out", "/dev/null"] + mapped] {
            let run = try redress(arguments)
            #expect(run.status == 2, "\(arguments): \(run.stdout)")
            #expect(run.stderr.contains("cannot read rules"))
        }
    }
}

extension SimulateInputTests {
    /// `--by` groups by the values themselves: ("a, b", "c") and ("a", "b, c") are two lines.
    @Test func byFieldsWithCommasStayApart() throws {
        let rules = try temporaryRuleSet(Self.refundEveryPlayback)
        let one = Self.playback(1, price: "3.00 EUR", customer: "a, b", email: "c")
        let two = Self.playback(2, price: "4.00 EUR", customer: "a", email: "b, c")
        let events = try Self.file(one + "\n" + two + "\n")
        let run = try redress(["simulate", rules.path, "--events", events.path, "--by", "customer.id,customer.email", "--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\"key\" : \"\\\"a, b\\\", c\""), "\(run.stdout)")
        #expect(run.stdout.contains("\"key\" : \"a, \\\"b, c\\\"\""), "\(run.stdout)")
    }
}

/// `run --until TIME`: after the input, the absence deadlines due by TIME fire, as a batch run at
/// that moment would; with `--state`, a second run does not fire them again.
@Suite(.serialized)
struct RunUntilTests {
    @Test func deadlinesDueByTheTimeFireOnce() throws {
        let line = read(repositoryRoot.appendingPathComponent("rules/shop/events/history.jsonl")).split(separator: "\n")
            .first { $0.contains("\"order.placed\"") }.map(String.init) ?? ""
        let events = try SimulateInputTests.file(line + "\n")
        let pending = try redress(["run", "rules/shop", "--events", events.path])
        #expect(pending.status == 0 && pending.stdout.isEmpty && pending.stderr.contains("1 deadline pending"), "\(pending.stderr)")
        let early = try redress(["run", "rules/shop", "--events", events.path, "--until", "2026-11-04T13:59:59Z"])
        #expect(early.stdout.isEmpty && early.stderr.contains("1 deadline pending"))
        let due = try redress(["run", "rules/shop", "--events", events.path, "--until", "2026-11-04T14:00:00Z"])
        #expect(due.status == 0)
        #expect(due.stdout.contains("\"rule\":\"not_shipped_in_48h\"") && due.stdout.contains("\"time\":\"2026-11-04T14:00:00Z\""), "\(due.stdout)")
        // With state: the second run resumes after the input and the deadline is no longer pending.
        let directory = events.deletingLastPathComponent()
        let state = directory.appendingPathComponent("state.sqlite").path, out = directory.appendingPathComponent("out.jsonl")
        for _ in 0..<2 {
            let run = try redress(["run", "rules/shop", "--events", events.path, "--until", "2026-11-05T00:00:00Z", "--state", state, "--out", out.path])
            #expect(run.status == 0, "\(run.stderr)")
        }
        #expect(read(out).split(separator: "\n").count == 1)
        let wrong = try redress(["run", "rules/shop", "--events", events.path, "--until", "tomorrow"])
        #expect(wrong.status == 2 && wrong.stderr.contains("--until takes an RFC 3339 time"))
    }
}

extension SimulateInputTests {
    /// `--events` takes several files: one history, replayed in time order, as if concatenated.
    @Test func severalFilesAreOneHistory() throws {
        let history = read(repositoryRoot.appendingPathComponent("rules/shop/events/history.jsonl"))
        let lines = history.split(separator: "\n")
        let first = try Self.file(lines[..<1500].joined(separator: "\n") + "\n", "first.jsonl")
        let second = try Self.file(lines[1500...].joined(separator: "\n") + "\n", "second.jsonl")
        // The later file first: the replay sorts by time, so the order of the files does not matter.
        let split = try redress(["simulate", "rules/shop", "--events", second.path, first.path, "--format", "json"])
        let whole = try redress(["simulate", "rules/shop", "--events", "rules/shop/events/history.jsonl", "--format", "json"])
        #expect(split.status == 0 && whole.status == 0, "\(split.stderr)")
        func withoutOrder(_ text: String) -> String {
            text.split(separator: "\n").filter { !$0.contains("\"outOfOrder\"") }.joined(separator: "\n")
        }
        #expect(withoutOrder(split.stdout) == withoutOrder(whole.stdout))
        #expect(whole.stdout.contains("\"events\" : 3069"))
    }
}

extension SimulateInputTests {
    /// Orders affected are counted from the triggering events' orders, whatever the rules decide
    /// about (here shipments); without orders on the events there are none.
    @Test func ordersAffectedAreCounted() throws {
        let sample = try redress(["simulate", "rules/shop", "--events", "rules/shop/events/sample.jsonl", "--format", "json"])
        #expect(sample.stdout.contains("\"orders\" : 1") && sample.stdout.contains("\"subjects\" : 1"), "\(sample.stdout)")
        #expect(try redress(["simulate", "rules/shop", "--events", "rules/shop/events/sample.jsonl"]).stdout.contains("orders            1"))
        let rules = try temporaryRuleSet(Self.refundEveryPlayback)
        let playbacks = try Self.file(Self.playback(1, price: "3.00 EUR") + "\n" + Self.playback(2, price: "3.00 EUR") + "\n")
        let run = try redress(["simulate", rules.path, "--events", playbacks.path, "--format", "json"])
        #expect(run.stdout.contains("\"orders\" : 0") && run.stdout.contains("\"decisions\" : 2"), "\(run.stdout)")
    }
}

extension SimulateInputTests {
    /// One unsorted file through the streamed replay: the parsing threads hold most events back
    /// (the mission rule reads only deliveries), so order is checked per chunk from the times of
    /// all its events — two order events out of order, which no rule reads, must still send the
    /// replay to the sorted way, with the same numbers as the sorted file.
    @Test(arguments: ["order.placed", "shipment.delivered"])
    func anUnsortedFileIsReplayedSortedEvenWhereNoRuleLooks(_ type: String) throws {
        let rules = try temporaryRuleSet(["mission.rules": read(repositoryRoot.appendingPathComponent("rules/shop/mission.rules"))])
        var lines = read(repositoryRoot.appendingPathComponent("rules/shop/events/history.jsonl")).split(separator: "\n").map(String.init)
        // Swap the first two events of the type that are at different times.
        let positions = lines.indices.filter { lines[$0].contains("\"event\":\"\(type)\"") }
        let first = try #require(positions.first)
        let time = { (line: String) in line.components(separatedBy: "\"time\":\"")[1].prefix(20) }
        let second = try #require(positions.dropFirst().first { time(lines[$0]) != time(lines[first]) })
        lines.swapAt(first, second)
        let unsorted = try Self.file(lines.joined(separator: "\n") + "\n", "unsorted.jsonl")
        let shuffled = try redress(["simulate", rules.path, "--events", unsorted.path, "--format", "json"])
        let sorted = try redress(["simulate", rules.path, "--events", "rules/shop/events/history.jsonl", "--format", "json"])
        #expect(shuffled.status == 0 && sorted.status == 0, "\(shuffled.stderr)")
        #expect(!shuffled.stdout.contains("\"outOfOrder\" : 0"))
        #expect(sorted.stdout.contains("\"outOfOrder\" : 0"))
        func withoutOrder(_ text: String) -> String {
            text.split(separator: "\n").filter { !$0.contains("\"outOfOrder\"") }.joined(separator: "\n")
        }
        #expect(withoutOrder(shuffled.stdout) == withoutOrder(sorted.stdout))
        #expect(sorted.stdout.contains("\"decisions\" : "))
    }
}
