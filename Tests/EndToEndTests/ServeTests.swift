import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `redress serve` through the binary: a real HTTP client on a free loopback port.
@Suite struct ServeTests {
    func ruleSet() throws -> String {
        try temporaryRuleSet(["mission.rules": missionRule]).path
    }

    @Test func ingestAnswersWithDecisionsTheOutboxHoldsThemAndARetryMakesNoneAgain() async throws {
        let rules = try ruleSet()
        let state = scratchPath("serve", ".sqlite").path
        let server = try ServedRedress([rules, "--state", state])
        #expect(try await http("GET", server.base.appendingPathComponent("healthz")).status == 200)
        #expect(try await http("GET", server.base.appendingPathComponent("readyz")).status == 200)

        let events = server.base.appendingPathComponent("v1/events")
        let single = try await http("POST", events, body: deliveredEvent("e1", shipment: "S1"), contentType: "application/json")
        #expect(single.status == 200)
        #expect(single.body == """
            {"accepted":1,"duplicates":0,"deadLetters":0,"blankLines":0,"results":[{"line":1,"status":"accepted","id":"e1","decisions":[\
            {"sequence":1,"rule":"mission","subject":{"entity":"shipment","key":"S1"},"customer":"C-S1","event":{"type":"shipment.delivered","id":"e1","line":1,"time":"2026-06-05T10:00:00Z"},\
            "time":"2026-06-05T10:00:00Z","actions":[{"verb":"refund","amount":"5.00 EUR"},{"verb":"send","argument":"apology","channel":"email"}],"occurrence":1,\
            "key":"mission|shipment:S1|1"}]}]}

            """)

        // A batch: a new event, a retry of e1, a line that is not JSON, an event without an id, a blank line.
        let batch = [deliveredEvent("e2", shipment: "S2"), deliveredEvent("e1", shipment: "S1"), "", "{not json",
                     deliveredEvent("", shipment: "S3").replacingOccurrences(of: "\"id\":\"\",", with: "")].joined(separator: "\n") + "\n"
        let answer = try await http("POST", events, body: batch, contentType: "application/x-ndjson")
        #expect(answer.status == 200)
        let results = try #require(answer.json["results"] as? [[String: Any]])
        #expect(results.map { $0["status"] as? String } == ["accepted", "duplicate", "dead-letter", "dead-letter"])
        #expect(answer.json["blankLines"] as? Int == 1)
        let retried = try #require(results[1]["decisions"] as? [[String: Any]])
        #expect(retried.map { $0["sequence"] as? Int } == [1], "the retry answers with what e1 decided the first time")
        #expect((results[3]["reason"] as? String)?.contains("`id`") == true)

        // A batch with no good line is refused as a whole.
        let bad = try await http("POST", events, body: "{\"event\":\"nope\"}\n[1]", contentType: "application/x-ndjson")
        #expect(bad.status == 400)
        #expect((bad.json["deadLetters"] as? Int) == 2)
        #expect(try await http("POST", events, body: "", contentType: "application/x-ndjson").status == 400)

        let outbox = try await http("GET", URL(string: "\(server.base)/v1/decisions?after=0&limit=10")!)
        #expect(outbox.status == 200)
        let decisions = try #require(outbox.json["decisions"] as? [[String: Any]])
        #expect(decisions.map { $0["sequence"] as? Int } == [1, 2])
        #expect(decisions.map { $0["key"] as? String } == ["mission|shipment:S1|1", "mission|shipment:S2|1"])
        #expect(outbox.json["next"] as? Int == 2)
        let rest = try await http("GET", URL(string: "\(server.base)/v1/decisions?after=2")!)
        #expect((rest.json["decisions"] as? [Any])?.isEmpty == true)
        #expect(rest.json["next"] as? Int == 2)
        #expect(try await http("GET", URL(string: "\(server.base)/v1/decisions?after=-1")!).status == 400)
        #expect(try await http("GET", URL(string: "\(server.base)/v1/decisions?limit=0")!).status == 400)

        let status = try await http("GET", server.base.appendingPathComponent("v1/status")).json
        #expect((status["process"] as? [String: Any])?["accepted"] as? Int == 2)
        #expect((status["process"] as? [String: Any])?["duplicates"] as? Int == 1)
        #expect((status["process"] as? [String: Any])?["deadLetters"] as? Int == 4)
        #expect((status["outbox"] as? [String: Any])?["latest"] as? Int == 2)
        #expect(((status["ruleSet"] as? [String: Any])?["fingerprint"] as? String)?.isEmpty == false)
    }

    @Test func aLongPollReturnsAsSoonAsADecisionIsCommitted() async throws {
        let server = try ServedRedress([try ruleSet(), "--state", scratchPath("serve", ".sqlite").path])
        async let polled = timedHTTP("GET", URL(string: "\(server.base)/v1/decisions?after=0&wait=60s")!)
        try await Task.sleep(for: .milliseconds(300))
        let (_, posted) = try await timedHTTP("POST", server.base.appendingPathComponent("v1/events"), body: deliveredEvent("e1", shipment: "S1"))
        let (answer, arrived) = try await polled
        // Both times as the client's own thread saw them: the long-poll answered with the commit,
        // not at the end of its minute.
        #expect(arrived.timeIntervalSince(posted) < 30)
        #expect((answer.json["decisions"] as? [[String: Any]])?.map { $0["sequence"] as? Int } == [1])
        // Nothing newer: the wait runs out and the answer is empty, with the cursor unchanged.
        let empty = try await http("GET", URL(string: "\(server.base)/v1/decisions?after=1&wait=200ms")!)
        #expect(empty.json["next"] as? Int == 1)
        #expect((empty.json["decisions"] as? [Any])?.isEmpty == true)
        #expect(try await http("GET", URL(string: "\(server.base)/v1/decisions?wait=soon")!).status == 400)
    }

    @Test func aDeadlineFiresIntoTheOutboxOnTheWallClockWithNoFurtherEvent() async throws {
        let rules = try temporaryRuleSet(["absence.rules": "rule not_shipped on order.placed unless shipment.shipped within 48h then send dispatch_delay_notice\n"]).path
        let server = try ServedRedress([rules, "--state", scratchPath("serve", ".sqlite").path, "--lateness", "0s"])
        // Placed 48 hours less a second or two ago (whole seconds, as the event's time says): the
        // deadline passes on the wall clock a second or two from now.
        let placed = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 48 * 3600 + 2).rounded(.down))
        let formatter = ISO8601DateFormatter()
        let event = "{\"event\":\"order.placed\",\"time\":\"\(formatter.string(from: placed))\",\"id\":\"p1\",\"order\":{\"id\":\"O1\",\"total\":\"50.00 EUR\"},"
            + "\"customer\":{\"id\":\"C1\",\"tier\":\"VIP\",\"country\":\"DE\"}}"
        let answer = try await http("POST", server.base.appendingPathComponent("v1/events"), body: event)
        #expect((answer.json["results"] as? [[String: Any]])?.first?["decisions"] as? [Any] != nil)
        let polled = try await http("GET", URL(string: "\(server.base)/v1/decisions?after=0&wait=30s")!)
        let decisions = try #require(polled.json["decisions"] as? [[String: Any]])
        #expect(decisions.map { $0["rule"] as? String } == ["not_shipped"])
        #expect(decisions.first?["key"] as? String == "not_shipped|order:O1|1")
        #expect(Date().timeIntervalSince(placed.addingTimeInterval(48 * 3600)) >= 0, "not before the deadline")
        let status = try await http("GET", server.base.appendingPathComponent("v1/status")).json
        #expect((status["process"] as? [String: Any])?["deadlineDecisions"] as? Int == 1)
        #expect((status["state"] as? [String: Any])?["pendingDeadlines"] as? Int == 0)
    }

    @Test func withATokenEveryV1RequestNeedsItAndNothingIsEvaluatedWithout() async throws {
        let tokenFile = scratchPath("token")
        try "s3cret-token\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let server = try ServedRedress([try ruleSet(), "--state", scratchPath("serve", ".sqlite").path, "--token-file", tokenFile.path])
        let events = server.base.appendingPathComponent("v1/events")
        let missing = try await http("POST", events, body: deliveredEvent("e1", shipment: "S1"))
        #expect(missing.status == 401)
        #expect(missing.body.contains("Bearer"))
        #expect(try await http("POST", events, body: deliveredEvent("e1", shipment: "S1"), token: "s3cret-tokeN").status == 401)
        #expect(try await http("GET", server.base.appendingPathComponent("v1/status")).status == 401)
        #expect(try await http("GET", server.base.appendingPathComponent("healthz")).status == 200, "health checks need no token")
        let status = try await http("GET", server.base.appendingPathComponent("v1/status"), token: "s3cret-token")
        #expect((status.json["process"] as? [String: Any])?["accepted"] as? Int == 0, "refused requests evaluated nothing")
        #expect(try await http("POST", events, body: deliveredEvent("e1", shipment: "S1"), token: "s3cret-token").status == 200)

        // The environment variable works as the file does.
        let fromEnvironment = try ServedRedress([try ruleSet(), "--state", scratchPath("serve", ".sqlite").path],
                                                environment: ["REDRESS_TOKEN": "other"])
        #expect(try await http("GET", fromEnvironment.base.appendingPathComponent("v1/status")).status == 401)
        #expect(try await http("GET", fromEnvironment.base.appendingPathComponent("v1/status"), token: "other").status == 200)
    }

    @Test func bodiesAndLinesOverTheLimitAre413AndNothingOfThemIsEvaluated() async throws {
        let server = try ServedRedress([try ruleSet(), "--state", scratchPath("serve", ".sqlite").path,
                                        "--max-body-bytes", "4096", "--max-line-bytes", "1024"])
        let events = server.base.appendingPathComponent("v1/events")
        let lines = (1...40).map { deliveredEvent("e\($0)", shipment: "S\($0)") }.joined(separator: "\n")
        let tooBig = try await http("POST", events, body: lines, contentType: "application/x-ndjson")
        #expect(tooBig.status == 413)
        let longLine = deliveredEvent("e1", shipment: "S1") + "\n" + deliveredEvent("e2", shipment: String(repeating: "S", count: 1100))
        let tooLong = try await http("POST", events, body: longLine, contentType: "application/x-ndjson")
        #expect(tooLong.status == 413)
        #expect(tooLong.body.contains("line 2"))
        let status = try await http("GET", server.base.appendingPathComponent("v1/status")).json
        #expect((status["process"] as? [String: Any])?["accepted"] as? Int == 0)
        #expect(server.process.isRunning)
    }

    @Test func sigtermFinishesCommitsAndExitsZeroAndARestartGoesOn() async throws {
        let rules = try ruleSet()
        let state = scratchPath("serve", ".sqlite").path
        let server = try ServedRedress([rules, "--state", state])
        _ = try await http("POST", server.base.appendingPathComponent("v1/events"), body: deliveredEvent("e1", shipment: "S1"))
        // A long-poll in flight does not hold the shutdown up.
        async let polled = try? http("GET", URL(string: "\(server.base)/v1/decisions?after=5&wait=60s")!)
        try await Task.sleep(for: .milliseconds(300))
        let started = Date()
        #expect(server.stop(SIGTERM) == 0)
        #expect(Date().timeIntervalSince(started) < 30)
        _ = await polled
        #expect(server.stderr.contains("stopped after a final commit: 1 events accepted"), "\(server.stderr)")

        let again = try ServedRedress([rules, "--state", state])
        let retry = try await http("POST", again.base.appendingPathComponent("v1/events"), body: deliveredEvent("e1", shipment: "S1"))
        #expect((retry.json["duplicates"] as? Int) == 1)
        let status = try await http("GET", again.base.appendingPathComponent("v1/status")).json
        #expect((status["state"] as? [String: Any])?["events"] as? Int == 1)
        #expect((status["outbox"] as? [String: Any])?["latest"] as? Int == 1)
    }

    @Test func aSecondServerOnTheSameStateIsRefused() throws {
        let rules = try ruleSet()
        let state = scratchPath("serve", ".sqlite").path
        let first = try ServedRedress([rules, "--state", state])
        #expect(throws: ServedRedress.StartFailure.self) { try ServedRedress([rules, "--state", state]) }
        let run = try redress(["serve", rules, "--state", state, "--listen", "127.0.0.1:0"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("another redress run is using the state"))
        withExtendedLifetime(first) {}
    }

    @Test func anAddressInUseIsAnErrorExit2() throws {
        let rules = try ruleSet()
        let first = try ServedRedress([rules, "--state", scratchPath("serve", ".sqlite").path])
        let port = try #require(first.base.port)
        let run = try redress(["serve", rules, "--state", scratchPath("serve", ".sqlite").path, "--listen", "127.0.0.1:\(port)"])
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("error: cannot listen on 127.0.0.1:\(port): "), "\(run.stderr)")
        #expect(run.stderr.contains("in use"), "\(run.stderr)")
        #expect(run.exitedNormally)
        withExtendedLifetime(first) {}
    }

    @Test func badOptionsAreUsageErrors() throws {
        let rules = try ruleSet()
        for options in [["--listen", "nowhere"], ["--lateness", "soon"], ["--token-file", "/nonexistent/token"], ["--max-line-bytes", "3"]] {
            let run = try redress(["serve", rules, "--state", scratchPath("serve", ".sqlite").path] + options)
            #expect(run.status == 2, "\(options): \(run.stderr)")
            #expect(run.stderr.hasPrefix("error: "), "\(options): \(run.stderr)")
        }
    }
}
