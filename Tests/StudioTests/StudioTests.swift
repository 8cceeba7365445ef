import Foundation
import RedressLanguageServices
import RedressSimulation
import Testing
@testable import RedressStudio

/// The API's work without HTTP: language services on unsaved text, tests, explain, replays.
@Suite struct StudioTests {
    @Test func aMisspeltFieldIsReportedWithItsFix() throws {
        let (studio, directory) = try shopStudio()
        let mission = text(directory.appendingPathComponent("mission.rules")).replacingOccurrences(of: "shipment.delay", with: "shipment.dealy")
        let check = try studio.check(["mission.rules": mission])
        let found = try #require(check.files["mission.rules"]?.first { $0.code == "E0201" })
        #expect(found.message.contains("shipment.dealy"))
        #expect(found.help == "did you mean `shipment.delay`?")
        #expect(found.fix?.newText == "delay")
        #expect(check.errors >= 1)
        // The saved file is untouched, and the clean version has no error.
        #expect(!text(directory.appendingPathComponent("mission.rules")).contains("dealy"))
        #expect(try studio.check([:]).errors == 0)
    }

    @Test func completionAfterAnEntityOffersItsFields() throws {
        let (studio, _) = try shopStudio()
        let rule = "rule probe\n  on shipment.delivered\n  when shipment.\n  then send apology\n"
        let answer = try studio.complete(["probe.rules": rule], file: "probe.rules", at: TextPosition(line: 2, character: 16))
        #expect(answer.items.contains { $0.label == "delay" })
    }

    @Test func hoverSaysWhatAFieldIs() throws {
        let (studio, _) = try shopStudio()
        let rule = "when shipment.delay > 2d then refund 5 EUR\n"
        let hover = try studio.hover(["probe.rules": rule], file: "probe.rules", at: TextPosition(line: 0, character: 15))
        #expect(hover.text?.contains("duration") == true)
    }

    @Test func formattingRefusesBrokenRules() throws {
        let (studio, _) = try shopStudio()
        #expect(throws: StudioError.self) { try studio.format(["probe.rules": "rule (\n"], file: "probe.rules") }
        let formatted = try studio.format(["probe.rules": "when shipment.delay>2d then refund 5 EUR\n"], file: "probe.rules")
        #expect(formatted.text.contains("shipment.delay > 2d"))
    }

    @Test func theRuleTestsRunOnTheRulesAsEdited() throws {
        let (studio, directory) = try shopStudio()
        let clean = try studio.tests([:])
        #expect(clean.failed == 0 && clean.passed == 40 && clean.errors.isEmpty)
        let mission = text(directory.appendingPathComponent("mission.rules")).replacingOccurrences(of: "> 2d", with: "> 20d")
        let broken = try studio.tests(["mission.rules": mission])
        let failure = try #require(broken.cases.first { !$0.passed })
        #expect(failure.comparison?.contains("expected") == true)
        #expect(failure.rules.contains { $0.file == "mission.rules" && $0.line != nil })
    }

    @Test func explainsAPastedEventAndOneOfTheHistory() throws {
        let (studio, directory) = try shopStudio()
        let history = text(directory.appendingPathComponent("events/history.jsonl")).split(separator: "\n").map(String.init)
        let event = try #require(history.first { $0.contains(#""event":"shipment.delivered""#) })
        let pasted = try studio.explain([:], event: event, id: nil)
        #expect(pasted.rules.contains { $0.outcome != "not triggered" })
        #expect(throws: StudioError.self) { try studio.explain([:], event: "{not json", id: nil) }
        let id = try #require((try JSONSerialization.jsonObject(with: Data(history[1].utf8)) as? [String: Any])?["id"] as? String)
        #expect(try studio.explain([:], event: nil, id: id).explained.contains("line 2"))
        #expect(throws: StudioError.self) { try studio.explain([:], event: nil, id: "no-such-event") }
    }

    @Test func simulatesTheRulesAsEdited() async throws {
        let (studio, directory) = try shopStudio()
        let report = try await studio.simulate([:], by: ["customer.tier"])
        #expect(report.totalMinor > 0)
        #expect(report.byRule.map(\.costMinor).reduce(0, +) == report.totalMinor)
        #expect(!report.byWeek.isEmpty && !report.bySegment.isEmpty)
        #expect(report.html.contains("<svg"))
        // What policies held back, each with the first subjects it held back.
        #expect(!report.heldBack.isEmpty)
        for line in report.heldBack { #expect((1...3).contains(report.heldBackExamples[line.key]?.count ?? 0), "\(line.key)") }
        // A higher threshold compensates fewer late parcels.
        let mission = text(directory.appendingPathComponent("mission.rules")).replacingOccurrences(of: "> 2d", with: "> 5d")
        let cheaper = try await studio.simulate(["mission.rules": mission], by: [])
        #expect(cheaper.totalMinor < report.totalMinor)
        await #expect(throws: StudioError.self) { try await studio.simulate([:], by: ["customer.nonsense"]) }
    }

    @Test func sweepsAParameter() async throws {
        let (studio, _) = try shopStudio()
        let sweep = try await studio.sweep([:], parameter: "late_threshold", values: "1d,2d,5d")
        #expect(sweep.points.map(\.value) == ["1d", "2d", "5d"])
        #expect(sweep.points[0].costMinor >= sweep.points[2].costMinor)
        await #expect(throws: StudioError.self) { try await studio.sweep([:], parameter: "late_threshold", values: "soon") }
    }

    @Test func theDiffAgainstTheSavedFilesHasItsCost() async throws {
        let (studio, directory) = try shopStudio()
        let unchanged = try await studio.diff([:])
        #expect(!unchanged.diff.hasChanges)
        let delivery = text(directory.appendingPathComponent("delivery.rules")).replacingOccurrences(of: "param late_threshold = 2d", with: "param late_threshold = 4d")
        let changed = try await studio.diff(["delivery.rules": delivery])
        #expect(changed.diff.declarations.contains { $0.name == "late_threshold" })
        let cost = try #require(changed.diff.cost)
        #expect(cost.deltaMinor < 0)
        #expect(changed.markdown.contains("late_threshold"))
    }

    @Test func theDiffAgainstAGitRevision() async throws {
        let (studio, directory) = try shopStudio()
        func git(_ arguments: [String]) throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["git", "-C", directory.path, "-c", "user.email=studio@example.com", "-c", "user.name=Studio"] + arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        try #require(try git(["init", "-q"]) == 0 && git(["add", "."]) == 0 && git(["commit", "-qm", "the shop"]) == 0)
        // Saved since that commit: a higher threshold.
        let delivery = directory.appendingPathComponent("delivery.rules")
        try text(delivery).replacingOccurrences(of: "param late_threshold = 2d", with: "param late_threshold = 4d").write(to: delivery, atomically: true, encoding: .utf8)
        #expect(try await !studio.diff([:]).diff.hasChanges)
        let againstHead = try await studio.diff([:], against: "HEAD")
        #expect(againstHead.diff.old == "git HEAD")
        #expect(againstHead.diff.declarations.contains { $0.name == "late_threshold" })
        #expect((againstHead.diff.cost?.deltaMinor ?? 0) < 0)
        await #expect(throws: StudioError.self) { try await studio.diff([:], against: "no-such-branch") }
        // Never an option or a path.
        await #expect(throws: StudioError.self) { try await studio.diff([:], against: "--output=/tmp/studio-git") }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/studio-git"))
        #expect(GitRevision.isRevisionName("HEAD~2") && GitRevision.isRevisionName("origin/main") && GitRevision.isRevisionName("HEAD@{1}"))
        for refused in ["-p", "--output=x", "a..b", "HEAD:../secret", "main branch", ""] { #expect(!GitRevision.isRevisionName(refused), "\(refused)") }
    }

    /// One replay at a time: a second is refused while the first holds the gate, and cancel
    /// reaches the one running.
    @Test func replaysRunOneAtATime() async throws {
        let (studio, _) = try shopStudio()
        #expect(studio.cancel().cancelled == false)
        #expect(studio.gate.enter("simulation"))
        do {
            _ = try await studio.simulate([:], by: [])
            Issue.record("a second replay ran")
        } catch {
            #expect(error.kind == .conflict)
        }
        await #expect(throws: StudioError.self) { try await studio.diff([:]) }
        #expect(studio.cancel().cancelled)
        #expect(studio.gate.isCancelled)
        studio.gate.leave()
        #expect(try await studio.simulate([:], by: []).totalMinor > 0)
    }

    @Test func aCancelledSimulationStops() async throws {
        // A history long enough that the replay is still running when the cancel comes (it is
        // asked for every 4,096 events, and once more before the answer).
        let directory = try shopCopy()
        let history = text(directory.appendingPathComponent("events/history.jsonl"))
        let long = directory.appendingPathComponent("events/long.jsonl")
        try String(repeating: history, count: 20).write(to: long, atomically: true, encoding: .utf8)
        let studio = Studio(folder: try RuleSetFolder(directory.path), history: try EventHistory(files: [long.path]))
        let running = Task { try await studio.simulate([:], by: []) }
        // The gate is taken before the rules are compiled and the history parsed (tens of
        // milliseconds); the replay asks for the cancel before its first event.
        while studio.gate.current == nil { await Task.yield() }
        #expect(studio.cancel().cancelled)
        do {
            _ = try await running.value
            Issue.record("the simulation was not cancelled")
        } catch let error as StudioError {
            #expect(error.kind == .cancelled)
        }
        #expect(studio.gate.current == nil)
    }

    @Test func withoutAHistoryAReplayIsAClearError() async throws {
        let directory = try shopCopy()
        let studio = Studio(folder: try RuleSetFolder(directory.path), history: EventHistory())
        do {
            _ = try await studio.simulate([:], by: [])
            Issue.record("simulated without a history")
        } catch {
            #expect(error.description.contains("--events"))
        }
    }
}
