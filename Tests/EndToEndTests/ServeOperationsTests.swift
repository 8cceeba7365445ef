import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The value of the series `series` (name and labels as exposed) in a Prometheus text exposition.
func metric(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}

/// Checks a text exposition against the Prometheus text format 0.0.4 (promtool is not at hand):
/// the line grammar, a TYPE before each family's samples, one TYPE per family, label values
/// escaped, histogram buckets cumulative with `+Inf` equal to `_count`. Returns the problems.
func prometheusProblems(_ text: String) throws -> String {
    let script = scratchPath("promcheck", ".py")
    try #"""
    import re, sys
    text = sys.stdin.read()
    problems = []
    name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
    label = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
    sample = re.compile(r'^(' + name + r')(\{(' + label + r')(,' + label + r')*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)( -?[0-9]+)?$')
    types, buckets, counts = {}, {}, {}
    if not text.endswith('\n'): problems.append('no newline at the end')
    for number, line in enumerate(text.split('\n')[:-1], 1):
        if line.startswith('# HELP '):
            if not re.match(r'^# HELP ' + name + r' .*$', line): problems.append(f'{number}: bad HELP: {line}')
        elif line.startswith('# TYPE '):
            m = re.match(r'^# TYPE (' + name + r') (counter|gauge|histogram|summary|untyped)$', line)
            if not m: problems.append(f'{number}: bad TYPE: {line}'); continue
            if m.group(1) in types: problems.append(f'{number}: second TYPE for {m.group(1)}')
            types[m.group(1)] = m.group(2)
        elif line.startswith('#') or line == '':
            continue
        else:
            m = sample.match(line)
            if not m: problems.append(f'{number}: not a sample: {line}'); continue
            series = m.group(1)
            family = re.sub(r'_(bucket|sum|count)$', '', series) if re.sub(r'_(bucket|sum|count)$', '', series) in types else series
            if family not in types: problems.append(f'{number}: {series} has no TYPE before it')
            if types.get(family) == 'histogram':
                labels = m.group(2) or ''
                key = (family, re.sub(r',?le="[^"]*"', '', labels))
                if series.endswith('_bucket'):
                    le = re.search(r'le="([^"]*)"', labels).group(1)
                    buckets.setdefault(key, []).append((float('inf') if le == '+Inf' else float(le), float(m.group(5))))
                elif series.endswith('_count'):
                    counts[key] = float(m.group(5))
    for key, values in buckets.items():
        ordered = sorted(values)
        if any(b[1] < a[1] for a, b in zip(ordered, ordered[1:])): problems.append(f'{key}: buckets not cumulative')
        if ordered[-1][0] != float('inf'): problems.append(f'{key}: no +Inf bucket')
        elif counts.get(key) != ordered[-1][1]: problems.append(f'{key}: +Inf bucket is not the count')
    print('\n'.join(problems))
    """#.write(to: script, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script.path]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try input.fileHandleForWriting.close()
    let problems = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return process.terminationStatus == 0 ? problems.trimmingCharacters(in: .whitespacesAndNewlines) : "the checker failed: \(problems)"
}

/// Runs blocking work (starting a server and waiting for its first line, waiting for a process to
/// end) on a thread of its own: not on one of the few threads Swift's concurrency shares among all
/// the tests running at once, where it would hold up their awaits (and their timing).
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// Polls `condition` every 100 ms for up to `seconds`.
func eventually(_ seconds: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

func json(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
}

/// The decisions in a decision list of an answer, as (rule, first action's amount).
func amounts(_ answer: HTTPAnswer) -> [String?] {
    let results = answer.json["results"] as? [[String: Any]] ?? []
    return results.flatMap { ($0["decisions"] as? [[String: Any]]) ?? [] }.map { (($0["actions"] as? [[String: Any]])?.first?["amount"]) as? String }
}

/// `redress serve` operations through the binary: metrics, reloads, the shadow rule set.
@Suite struct ServeOperationsTests {
    @Test func metricsCountWhatWasIngestedAndParseAsPrometheusText() async throws {
        let tokenFile = scratchPath("token")
        try "t0ken\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let rules = try temporaryRuleSet(["mission.rules": missionRule])
        let server = try await blocking { try ServedRedress([rules.path, "--state", scratchPath("serve", ".sqlite").path, "--token-file", tokenFile.path]) }
        // Two late VIP deliveries (decided), one a day late (not), S1 again under another id (held back by the
        // rule's limit of one per shipment), a retry, a line that is no event.
        let batch = [deliveredEvent("e1", shipment: "S1"), deliveredEvent("e2", shipment: "S2"), deliveredEvent("e3", shipment: "S3", delay: "1d"),
                     deliveredEvent("e4", shipment: "S1"), deliveredEvent("e1", shipment: "S1"), "{broken"].joined(separator: "\n")
        let answer = try await http("POST", server.base.appendingPathComponent("v1/events"), body: batch, contentType: "application/x-ndjson", token: "t0ken")
        #expect(answer.status == 200)
        _ = try await http("GET", URL(string: "\(server.base)/v1/decisions?after=1")!, token: "t0ken")

        // Open without the token (scrapers seldom send one).
        let scraped = try await http("GET", server.base.appendingPathComponent("metrics"))
        #expect(scraped.status == 200)
        #expect((scraped.headers["Content-Type"] as? String)?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = scraped.body
        #expect(metric(text, #"redress_events_total{set="active",type="shipment.delivered"}"#) == 4)
        #expect(metric(text, #"redress_held_back_total{set="active",rule="mission",policy="limit"}"#) == 1)
        #expect(metric(text, #"redress_duplicate_events_total{set="active"}"#) == 1)
        #expect(metric(text, #"redress_dead_letters_total{set="active"}"#) == 1)
        #expect(metric(text, #"redress_decisions_total{set="active",rule="mission"}"#) == 2)
        #expect(metric(text, #"redress_actions_total{set="active",rule="mission",action="refund"}"#) == 2)
        #expect(metric(text, #"redress_actions_total{set="active",rule="mission",action="send"}"#) == 2)
        #expect(metric(text, #"redress_money_minor_total{set="active",rule="mission",action="refund",currency="EUR"}"#) == 1000)
        #expect(metric(text, #"redress_outbox_latest_sequence{set="active"}"#) == 2)
        #expect(metric(text, #"redress_outbox_consumer_cursor{set="active"}"#) == 1)
        #expect(metric(text, #"redress_outbox_lag{set="active"}"#) == 1)
        #expect(metric(text, #"redress_pending_deadlines{set="active"}"#) == 0)
        #expect((metric(text, #"redress_state_keys{set="active"}"#) ?? 0) >= 2, "the decisions per subject of S1 and S2")
        #expect((metric(text, #"redress_evaluation_seconds_count{set="active"}"#) ?? 0) >= 1)
        #expect((metric(text, #"redress_request_seconds_count{route="/v1/events"}"#) ?? 0) == 1, "\(text)")
        #expect(text.contains("# TYPE redress_request_seconds histogram"))
        #expect(try await blocking { try prometheusProblems(text) } == "")

        // Behind the token when asked to be.
        let guarded = try await blocking { try ServedRedress([rules.path, "--state", scratchPath("serve", ".sqlite").path, "--token-file", tokenFile.path, "--metrics-need-token"]) }
        #expect(try await http("GET", guarded.base.appendingPathComponent("metrics")).status == 401)
        let fresh = try await http("GET", guarded.base.appendingPathComponent("metrics"), token: "t0ken")
        #expect(fresh.status == 200)
        // Before anything happened, the series alerts read are there at 0.
        #expect(metric(fresh.body, #"redress_dead_letters_total{set="active"}"#) == 0)
        #expect(metric(fresh.body, #"redress_reloads_total{outcome="refused"}"#) == 0)
        #expect(server.stderr.contains("notice redress.serve: ") && server.stderr.contains("[redress] listening"),
                "structured logs on standard error: \(server.stderr)")
    }

    @Test func aReloadSwitchesToAGoodChangeKeepsTheOldSetOnABrokenOneAndSighupReloadsToo() async throws {
        let rules = try temporaryRuleSet(["mission.rules": missionRule])
        let file = rules.appendingPathComponent("mission.rules")
        let state = scratchPath("serve", ".sqlite").path
        let server = try await blocking { try ServedRedress([rules.path, "--state", state]) }
        let events = server.base.appendingPathComponent("v1/events")
        let reload = server.base.appendingPathComponent("v1/ruleset/reload")
        let status = server.base.appendingPathComponent("v1/status")
        #expect(amounts(try await http("POST", events, body: deliveredEvent("e1", shipment: "S1"))) == ["5.00 EUR"])
        let first = try #require((json(try await http("GET", status).body)["ruleSet"] as? [String: Any])?["fingerprint"] as? String)

        // A good change: the decisions that follow are the new rule's.
        try missionRule.replacingOccurrences(of: "refund 5 EUR", with: "refund 7 EUR").write(to: file, atomically: true, encoding: .utf8)
        let switched = try await http("POST", reload)
        #expect(switched.status == 200, "\(switched.body)")
        #expect(switched.json["switched"] as? Bool == true)
        let record = try #require(switched.json["reload"] as? [String: Any])
        #expect(record["previous"] as? String == first && record["trigger"] as? String == "http")
        #expect(record["rulesKept"] as? [String] == ["mission"])
        #expect(amounts(try await http("POST", events, body: deliveredEvent("e2", shipment: "S2"))) == ["7.00 EUR"])
        // The same subject again: held back by the rule's limit (one per shipment), whose use carried over.
        let again = try await http("POST", events, body: deliveredEvent("e1b", shipment: "S1"))
        #expect(again.status == 200 && amounts(again) == [])
        let afterGood = json(try await http("GET", status).body)
        let second = try #require((afterGood["ruleSet"] as? [String: Any])?["fingerprint"] as? String)
        #expect(second != first)
        #expect(((afterGood["reloads"] as? [String: Any])?["last"] as? [String: Any])?["fingerprint"] as? String == second)

        // A broken change: refused with the diagnostics `check --format json` prints; the old set serves on.
        try missionRule.replacingOccurrences(of: "shipment.delay", with: "shipment.dealy").write(to: file, atomically: true, encoding: .utf8)
        let refused = try await http("POST", reload)
        #expect(refused.status == 422)
        #expect(refused.json["switched"] as? Bool == false && refused.json["active"] as? String == second)
        let checked = try await blocking { try redress(["check", rules.path, "--format", "json"]) }
        #expect(checked.status == 1)
        let diagnostics = try #require(refused.json["diagnostics"] as? [String: Any])
        #expect(NSDictionary(dictionary: diagnostics).isEqual(to: json(checked.stdout)), "\(refused.body)\n\(checked.stdout)")
        #expect(((diagnostics["diagnostics"] as? [[String: Any]])?.first?["code"] as? String) == "E0201")
        #expect(amounts(try await http("POST", events, body: deliveredEvent("e3", shipment: "S3"))) == ["7.00 EUR"])

        // SIGHUP reads the files again as the route does.
        try missionRule.replacingOccurrences(of: "refund 5 EUR", with: "refund 9 EUR").write(to: file, atomically: true, encoding: .utf8)
        kill(server.process.processIdentifier, SIGHUP)
        let third = try await eventually {
            let now = json(try await http("GET", status).body)
            return ((now["reloads"] as? [String: Any])?["last"] as? [String: Any])?["trigger"] as? String == "sighup"
        }
        #expect(third, "\(server.stderr)")
        #expect(amounts(try await http("POST", events, body: deliveredEvent("e4", shipment: "S4"))) == ["9.00 EUR"])
        #expect(server.process.isRunning)

        // Restarted on the same files and state: the reload is in the state, and e1 is still a retry.
        #expect(try await blocking { server.stop(SIGTERM) } == 0)
        let restarted = try await blocking { try ServedRedress([rules.path, "--state", state]) }
        let later = json(try await http("GET", restarted.base.appendingPathComponent("v1/status")).body)
        #expect(((later["reloads"] as? [String: Any])?["last"] as? [String: Any])?["trigger"] as? String == "sighup")
        let retry = try await http("POST", restarted.base.appendingPathComponent("v1/events"), body: deliveredEvent("e1", shipment: "S1"))
        #expect(retry.json["duplicates"] as? Int == 1)
        #expect(amounts(retry) == ["5.00 EUR"], "a retry answers with what was decided then")
    }

    @Test func clientsSendingThroughAReloadAreAllAnsweredEachEventByOneRuleSet() async throws {
        let rules = try temporaryRuleSet(["mission.rules": missionRule])
        let server = try await blocking { try ServedRedress([rules.path, "--state", scratchPath("serve", ".sqlite").path]) }
        let events = server.base.appendingPathComponent("v1/events")
        try missionRule.replacingOccurrences(of: "refund 5 EUR", with: "refund 7 EUR").write(to: rules.appendingPathComponent("mission.rules"),
                                                                                            atomically: true, encoding: .utf8)
        // Four clients send 40 events each while the rule set is switched under them (status and body of each answer).
        let answers = try await withThrowingTaskGroup(of: [[String]].self) { group in
            for client in 0..<4 {
                group.addTask {
                    var answers: [[String]] = []
                    for index in 0..<40 {
                        let answer = try await http("POST", events, body: deliveredEvent("c\(client)-\(index)", shipment: "S\(client)-\(index)"))
                        answers.append([String(answer.status), answer.body])
                    }
                    return answers
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(50))
                let answer = try await http("POST", server.base.appendingPathComponent("v1/ruleset/reload"))
                return [[String(answer.status), answer.body]]
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }.map { HTTPAnswer(status: Int($0[0]) ?? 0, body: $0[1]) }
        let reload = try #require(answers.first { $0.json["switched"] != nil })
        #expect(reload.status == 200 && reload.json["switched"] as? Bool == true, "\(reload.body)")
        let ingested = answers.filter { $0.json["switched"] == nil }
        #expect(ingested.count == 160 && ingested.allSatisfy { $0.status == 200 }, "no request refused during the switch")
        // Each event was decided by one rule set: one refund, of either amount, never none or both.
        #expect(ingested.allSatisfy { ["5.00 EUR"] == amounts($0) || ["7.00 EUR"] == amounts($0) })
        #expect(amounts(try await http("POST", events, body: deliveredEvent("after", shipment: "after"))) == ["7.00 EUR"])
    }

    @Test func servedFromAnIRFileAReloadSaysThereIsNothingToReadAgain() async throws {
        let rules = try temporaryRuleSet(["mission.rules": missionRule])
        let ir = scratchPath("mission", ".json")
        #expect(try await blocking { try redress(["compile", rules.path, "--out", ir.path]) }.status == 0)
        let server = try await blocking { try ServedRedress([ir.path, "--state", scratchPath("serve", ".sqlite").path]) }
        let answer = try await http("POST", server.base.appendingPathComponent("v1/ruleset/reload"))
        #expect(answer.status == 409 && answer.json["switched"] as? Bool == false && (answer.json["error"] as? String)?.contains("IR file") == true)
    }

    @Test func aShadowEvaluatesEveryEventApartAndIsComparedWithTheActiveSet() async throws {
        let rules = try temporaryRuleSet(["mission.rules": missionRule])
        let draft = try temporaryRuleSet(["mission.rules": missionRule.replacingOccurrences(of: "> 2d", with: "> 4d")])
        let state = scratchPath("serve", ".sqlite").path
        let server = try await blocking { try ServedRedress([rules.path, "--state", state, "--shadow", draft.path]) }
        let batch = [deliveredEvent("e1", shipment: "S1", delay: "3d"), deliveredEvent("e2", shipment: "S2", delay: "5d")].joined(separator: "\n")
        let answer = try await http("POST", server.base.appendingPathComponent("v1/events"), body: batch, contentType: "application/x-ndjson")
        #expect(amounts(answer) == ["5.00 EUR", "5.00 EUR"], "the answer is the active set's")

        let reportURL = server.base.appendingPathComponent("v1/shadow/report")
        #expect(try await eventually { ((json(try await http("GET", reportURL).body)["shadow"] as? [String: Any])?["events"] as? Int) == 2 })
        let report = json(try await http("GET", reportURL).body)
        #expect((report["active"] as? [String: Any])?["decisions"] as? Int == 2)
        #expect((report["shadow"] as? [String: Any])?["decisions"] as? Int == 1)
        #expect((report["active"] as? [String: Any])?["costMinor"] as? Int == 2 * ((report["shadow"] as? [String: Any])?["costMinor"] as? Int ?? -1))
        let rows = try #require(report["byRule"] as? [[String: Any]])
        #expect(rows.map { $0["rule"] as? String } == ["mission"])
        #expect(rows.first?["baselineDecisions"] as? Int == 2 && rows.first?["decisions"] as? Int == 1)
        let disagreements = try #require(report["disagreements"] as? [String: Any])
        #expect(disagreements["count"] as? Int == 1)
        #expect((disagreements["shown"] as? [[String: Any]])?.first?["subject"] as? String == "shipment:S1")

        let status = json(try await http("GET", server.base.appendingPathComponent("v1/status")).body)
        #expect((status["shadow"] as? [String: Any])?["events"] as? Int == 2)
        #expect((status["shadow"] as? [String: Any])?["decisions"] as? Int == 1)
        #expect((status["process"] as? [String: Any])?["decisions"] as? Int == 2, "the active set's own counts")
        // Its decisions are in its own outbox, never in the one consumers read.
        let active = try await http("GET", URL(string: "\(server.base)/v1/decisions?after=0")!)
        let shadow = try await http("GET", URL(string: "\(server.base)/v1/shadow/decisions?after=0")!)
        #expect((active.json["decisions"] as? [[String: Any]])?.map { ($0["subject"] as? [String: Any])?["key"] as? String } == ["S1", "S2"])
        #expect((shadow.json["decisions"] as? [[String: Any]])?.map { ($0["subject"] as? [String: Any])?["key"] as? String } == ["S2"])
        let text = try await http("GET", server.base.appendingPathComponent("metrics")).body
        #expect(metric(text, #"redress_decisions_total{set="shadow",rule="mission"}"#) == 1)
        #expect(metric(text, #"redress_decisions_total{set="active",rule="mission"}"#) == 2)
        #expect(try await blocking { try prometheusProblems(text) } == "")

        // The shadow fails (its outbox table is gone): the active set serves on, the report says why.
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sqlite.arguments = ["python3", "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('DROP TABLE outbox'); c.commit()", state + ".shadow"]
        try await blocking {
            try sqlite.run()
            sqlite.waitUntilExit()
        }
        #expect(sqlite.terminationStatus == 0)
        let more = [deliveredEvent("e3", shipment: "S3", delay: "6d"), deliveredEvent("e4", shipment: "S4", delay: "6d")].joined(separator: "\n")
        #expect(try await http("POST", server.base.appendingPathComponent("v1/events"), body: more, contentType: "application/x-ndjson").status == 200)
        #expect(try await eventually { ((json(try await http("GET", reportURL).body)["shadow"] as? [String: Any])?["failure"] as? String) != nil })
        let fine = try await http("POST", server.base.appendingPathComponent("v1/events"), body: deliveredEvent("e5", shipment: "S5"))
        #expect(fine.status == 200 && amounts(fine) == ["5.00 EUR"])
        #expect(try await http("GET", server.base.appendingPathComponent("readyz")).status == 200)
        // What it did not commit is counted, not lost silently: e3 and e4 (the failed group), e5 (refused after).
        let failed = try await http("GET", reportURL).body
        #expect(((json(failed)["shadow"] as? [String: Any])?["droppedEvents"] as? Int) == 3, "\(failed)")
        #expect(metric(try await http("GET", server.base.appendingPathComponent("metrics")).body, "redress_shadow_dropped_events") == 3)
        #expect(try await blocking { server.stop(SIGTERM) } == 0, "\(server.stderr)")
        #expect(server.stderr.contains("the shadow rule set stopped evaluating"))
    }

    @Test func withoutAShadowItsRoutesSaySoAndAShadowStateMustBeAnotherFile() async throws {
        let rules = try temporaryRuleSet(["mission.rules": missionRule])
        let server = try await blocking { try ServedRedress([rules.path, "--state", scratchPath("serve", ".sqlite").path]) }
        let missing = try await http("GET", server.base.appendingPathComponent("v1/shadow/report"))
        #expect(missing.status == 404 && missing.body.contains("--shadow"))
        let state = scratchPath("serve", ".sqlite").path
        let same = try await blocking { try redress(["serve", rules.path, "--state", state, "--shadow", rules.path, "--shadow-state", state, "--listen", "127.0.0.1:0"]) }
        #expect(same.status == 2 && same.stderr.hasPrefix("error: --shadow-state"), "\(same.stderr)")
        let broken = try temporaryRuleSet(["mission.rules": "rule mission when shipment.dealy > 2d then send apology\n"])
        let draft = try await blocking { try redress(["serve", rules.path, "--state", scratchPath("serve", ".sqlite").path, "--shadow", broken.path, "--listen", "127.0.0.1:0"]) }
        #expect(draft.status == 1 && draft.stderr.contains("E0201"), "\(draft.stderr)")
    }
}
