import Foundation
import Testing

/// `redress run` through the binary: decisions, dead letters, and exactly-once output across
/// SIGKILL and restart.
@Suite(.serialized)
struct RunCommandTests {
    static let rules = """
        policy cap 20 EUR per customer within 30d

        group delivery per order by amount

        when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten

        rule late_any
          on shipment.delivered
          when shipment.delay > 1d
          then voucher 3 EUR
          exclusive delivery priority 1

        rule big
          on order.placed
          when order.total > 200 EUR
          then send order_status via sms
          limit 3 per customer within 30d

        rule not_delivered
          on order.placed
          unless shipment.delivered within 2d
          then send dispatch_delay_notice

        """

    /// A deterministic stream: deliveries with varied delays and tiers, orders with varied totals.
    static func events(count: Int) -> String {
        var generator = SeededGenerator(seed: 99)
        var time: Int64 = 1_767_225_600
        var lines: [String] = []
        lines.reserveCapacity(count)
        for i in 0..<count {
            time += Int64.random(in: 1...120, using: &generator)
            let stamp = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(time)))
            let customer = "C\(Int.random(in: 1...3000, using: &generator))"
            let tier = ["Standard", "Plus", "VIP"].randomElement(using: &generator)!
            let order = "O\(i / 2)"
            if Int.random(in: 0..<10, using: &generator) < 6 {
                let delay = ["-1d", "2h", "1d", "3d", "5d", "2d1h"].randomElement(using: &generator)!
                lines.append("{\"event\":\"shipment.delivered\",\"time\":\"\(stamp)\",\"shipment\":{\"id\":\"S\(i)\",\"delay\":\"\(delay)\"},\"order\":{\"id\":\"\(order)\"},\"customer\":{\"id\":\"\(customer)\",\"tier\":\"\(tier)\"}}")
            } else {
                let total = Int.random(in: 5...300, using: &generator)
                lines.append("{\"event\":\"order.placed\",\"time\":\"\(stamp)\",\"order\":{\"id\":\"\(order)\",\"total\":\"\(total).90 EUR\"},\"customer\":{\"id\":\"\(customer)\",\"tier\":\"\(tier)\"}}")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func decisionsAndDeadLetters() throws {
        let directory = try temporaryRuleSet(["k.rules": Self.rules])
        let events = directory.appendingPathComponent("events.jsonl")
        let stream = Self.events(count: 200) + "not json\n{\"event\":\"order.placed\",\"time\":\"soon\"}\n\n" + Self.events(count: 1).replacingOccurrences(of: "\"tier\":", with: "\"tir\":")
        try stream.write(to: events, atomically: true, encoding: .utf8)
        let deadLetters = directory.appendingPathComponent("dead.jsonl")
        let run = try redress(["run", directory.path, "--events", events.path, "--dead-letters", deadLetters.path])
        #expect(run.status == 0, "\(run.stderr)")
        let decisions = run.stdout.split(separator: "\n")
        #expect(!decisions.isEmpty)
        #expect(run.stderr.contains("read 200 events, \(decisions.count) decisions, 3 bad lines kept in \(deadLetters.path)"))
        let letters = read(deadLetters).split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(letters.compactMap { $0["line"] as? Int } == [201, 202, 204])
        #expect((letters[1]["reason"] as? String)?.hasPrefix("invalid time \"soon\"") == true)
        // Every decision is a JSON object with an idempotency key, and keys are unique.
        let keys = decisions.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["key"] as? String }
        #expect(keys.count == decisions.count)
        #expect(Set(keys).count == keys.count)

        let strict = try redress(["run", directory.path, "--events", events.path, "--strict"])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("error: line 201:"))
    }

    /// Kills `run` with SIGKILL at random moments, restarts it on the same input with the same
    /// state, and checks the output equals an uninterrupted run: nothing twice, nothing lost.
    @Test func survivesSigkillWithoutDuplicatesOrLoss() throws {
        let directory = try temporaryRuleSet(["k.rules": Self.rules])
        let events = directory.appendingPathComponent("events.jsonl")
        // Enough events that a run outlasts the longest sleep below at least twice (12,000 did while
        // each checkpoint rewrote the whole state).
        try Self.events(count: 48_000).write(to: events, atomically: true, encoding: .utf8)
        let reference = directory.appendingPathComponent("reference.jsonl")
        let clean = try redress(["run", directory.path, "--events", events.path, "--out", reference.path])
        #expect(clean.status == 0, "\(clean.stderr)")

        let output = directory.appendingPathComponent("out.jsonl")
        let state = directory.appendingPathComponent("state.sqlite")
        var generator = SeededGenerator(seed: 7)
        var kills = 0
        var finished = false
        for _ in 0..<200 {
            let process = Process()
            process.executableURL = redressBinary
            process.arguments = ["run", directory.path, "--events", events.path, "--out", output.path, "--state", state.path,
                                 "--checkpoint-every", "250"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 150_000...600_000, using: &generator))
            // After ten kills the run is let finish: on a loaded machine a restart's start alone
            // (loading a state that grows) can outlast the longest delay, and the test would
            // never end; ten kills at random moments are the test.
            if process.isRunning, kills < 10 {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                if process.terminationReason == .uncaughtSignal { kills += 1; continue }
            }
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            finished = true
            break
        }
        #expect(finished)
        #expect(kills >= 2, "the run should have been killed mid-stream at least twice (was \(kills))")
        let expected = read(reference)
        let actual = read(output)
        #expect(actual == expected, "output after \(kills) kills differs from an uninterrupted run")
        let keys = actual.split(separator: "\n").map { line -> String in
            guard let range = line.range(of: "\"key\":") else { return "" }
            return String(line[range.upperBound...])
        }
        #expect(Set(keys).count == keys.count)
        // A finished run started again has nothing left to do.
        let again = try redress(["run", directory.path, "--events", events.path, "--out", output.path, "--state", state.path])
        #expect(again.status == 0)
        #expect(read(output) == expected)
    }
}
