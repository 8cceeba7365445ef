import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `redress studio` as a user meets it: the real binary on a free loopback port, a copy of the
/// example shop with its history, and Chromium driven by Selenium through the steps
/// (Tests/EndToEndTests/Browser/studio_walkthrough.py). The numbers the page shows are compared
/// with what `redress simulate` and `redress diff` print for the same input. The server is then
/// killed and started again on the same files, which still hold what was saved.
@Suite struct StudioBrowserTests {
    struct Browser {
        var chromium: String
        var chromedriver: String
    }

    static func onPath(_ names: [String]) -> String? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for name in names {
            for directory in directories where FileManager.default.isExecutableFile(atPath: directory + "/" + name) { return directory + "/" + name }
        }
        return nil
    }

    /// Chromium, its driver and Selenium, or nil (the test is then skipped, and says why).
    static let browser: Browser? = {
        guard let chromium = onPath(["chromium", "chromium-browser", "google-chrome"]), let driver = onPath(["chromedriver"]) else { return nil }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import selenium"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return nil }
        probe.waitUntilExit()
        return probe.terminationStatus == 0 ? Browser(chromium: chromium, chromedriver: driver) : nil
    }()

    /// A running `redress studio`, its address read from its first line of output.
    final class Studio {
        let process = Process()
        let output = Pipe()
        var url = ""

        init(ruleSet: URL, events: URL) throws {
            process.executableURL = redressBinary
            process.arguments = ["studio", ruleSet.path, "--events", events.path, "--listen", "127.0.0.1:0"]
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Its first line says where it listens; wait for it (a slow machine takes longer).
            var received = ""
            let handle = output.fileHandleForReading
            while !received.contains("\n") {
                let data = handle.availableData
                if data.isEmpty { break }
                received += String(decoding: data, as: UTF8.self)
            }
            guard received.hasPrefix("listening on http://127.0.0.1:"), let line = received.split(separator: "\n").first else {
                kill()
                throw Failure(description: "redress studio printed \(received.debugDescription) instead of its address")
            }
            url = String(line.dropFirst("listening on ".count))
        }

        func kill() {
            if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The projected cost as `redress simulate --format json` writes it.
    static func simulatedTotal(_ ruleSet: URL, events: URL) throws -> String {
        let run = try redress(["simulate", ruleSet.path, "--events", events.path, "--format", "json"])
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        return try #require(report?["cost"] as? String, "simulate printed \(run.stdout.prefix(200)) \(run.stderr)")
    }

    @Test(.enabled(if: browser != nil,
                   "no browser: install Debian's chromium and chromium-driver and `pip install selenium==4.51.0` (the README's test command does)"))
    func aBusinessUserWalksThroughTheWorkbench() throws {
        let browser = try #require(Self.browser)
        let ruleSet = scratchPath("studio-shop")
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("rules/shop"), to: ruleSet)
        let events = ruleSet.appendingPathComponent("events/history.jsonl")
        let markupName = "<script>alert(1)<.rules"
        try "# a file whose name is markup\n".write(to: ruleSet.appendingPathComponent(markupName), atomically: true, encoding: .utf8)

        // What the command line says for the same input: the total of the rules as they are (the
        // page's fix brings the misspelt rule back to them), and the diff's change for the new threshold.
        let expectedTotal = try Self.simulatedTotal(ruleSet, events: events)
        let changed = scratchPath("studio-changed")
        try FileManager.default.copyItem(at: ruleSet, to: changed)
        let delivery = changed.appendingPathComponent("delivery.rules")
        try read(delivery).replacingOccurrences(of: "param late_threshold = 2d", with: "param late_threshold = 4d")
            .write(to: delivery, atomically: true, encoding: .utf8)
        let diff = try redress(["diff", ruleSet.path, changed.path, "--events", events.path, "--format", "json"])
        let diffObject = try JSONSerialization.jsonObject(with: Data(diff.stdout.utf8)) as? [String: Any]
        let expectedDelta = try #require((diffObject?["cost"] as? [String: Any])?["delta"] as? String, "diff printed \(diff.stdout.prefix(300))")

        let screenshots = ProcessInfo.processInfo.environment["REDRESS_STUDIO_SCREENSHOTS"].map(URL.init(fileURLWithPath:))
            ?? scratchPath("studio-screenshots")
        let studio = try Studio(ruleSet: ruleSet, events: events)
        defer { studio.kill() }

        let walkthrough = Process()
        walkthrough.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        walkthrough.arguments = ["python3", repositoryRoot.appendingPathComponent("Tests/EndToEndTests/Browser/studio_walkthrough.py").path,
                                 "--url", studio.url, "--ruleset", ruleSet.path, "--screenshots", screenshots.path,
                                 "--chromium", browser.chromium, "--chromedriver", browser.chromedriver,
                                 "--expected-total", expectedTotal, "--expected-delta", expectedDelta, "--markup-file", markupName]
        let log = scratchPath("studio-walkthrough", ".log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: log)
        walkthrough.standardOutput = logHandle
        walkthrough.standardError = logHandle
        try walkthrough.run()
        // The script waits for each step itself (60 s at most each); this bounds the whole run.
        let deadline = Date().addingTimeInterval(600)
        while walkthrough.isRunning && Date() < deadline { usleep(50_000) }
        if walkthrough.isRunning { kill(walkthrough.processIdentifier, SIGKILL) }
        walkthrough.waitUntilExit()
        try? logHandle.close()
        let transcript = read(log)
        #expect(walkthrough.terminationStatus == 0, "the walkthrough failed (screenshots in \(screenshots.path)):\n\(transcript)")
        #expect(transcript.contains("the walkthrough passed"))
        #expect(read(ruleSet.appendingPathComponent("delivery.rules")).contains("param late_threshold = 4d"))
        let pictures = (try? FileManager.default.contentsOfDirectory(atPath: screenshots.path)) ?? []
        #expect(pictures.filter { $0.hasSuffix(".png") }.count >= 10, "screenshots: \(pictures)")

        // Killed and started again: the saved file is what the studio serves.
        studio.kill()
        let again = try Studio(ruleSet: ruleSet, events: events)
        defer { again.kill() }
        let answer = try Self.get(again.url + "/api/ruleset")
        let files = (answer["files"] as? [[String: Any]]) ?? []
        let saved = files.first { $0["name"] as? String == "delivery.rules" }?["text"] as? String
        #expect(saved?.contains("param late_threshold = 4d") == true)
    }

    /// The server alone, without a browser: it starts on a free port, answers, refuses a second
    /// replay while one runs… and a bad rule set or address is a clear error, not a crash.
    @Test func theServerStartsOnAFreePortAndRefusesBadArguments() throws {
        let ruleSet = scratchPath("studio-plain")
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("rules/shop"), to: ruleSet)
        let studio = try Studio(ruleSet: ruleSet, events: ruleSet.appendingPathComponent("events/history.jsonl"))
        defer { studio.kill() }
        let answer = try Self.get(studio.url + "/api/ruleset")
        #expect((answer["eventLines"] as? Int ?? 0) > 3000)
        #expect(((answer["files"] as? [[String: Any]]) ?? []).count == 8)

        let missing = try redress(["studio", ruleSet.appendingPathComponent("nothing").path, "--listen", "127.0.0.1:0"])
        #expect(missing.status == 2 && missing.stderr.contains("cannot open the rule set"))
        let badAddress = try redress(["studio", ruleSet.path, "--listen", "somewhere"])
        #expect(badAddress.status == 2 && badAddress.stderr.contains("--listen takes HOST:PORT"))
        let badEvents = try redress(["studio", ruleSet.path, "--events", ruleSet.appendingPathComponent("none.jsonl").path, "--listen", "127.0.0.1:0"])
        #expect(badEvents.status == 2 && badEvents.stderr.contains("cannot read the events"))
        // The port the first studio holds cannot be taken by a second.
        let port = studio.url.split(separator: ":").last.map(String.init) ?? ""
        let taken = try redress(["studio", ruleSet.path, "--listen", "127.0.0.1:\(port)"])
        #expect(taken.status == 2 && taken.stderr.contains("could not serve"))
        // SIGTERM ends it cleanly.
        kill(studio.process.processIdentifier, SIGTERM)
        studio.process.waitUntilExit()
        #expect(studio.process.terminationReason == .exit && studio.process.terminationStatus == 0)
    }

    static func get(_ url: String) throws -> [String: Any] {
        guard let address = URL(string: url) else { throw Failure(description: "not a URL: \(url)") }
        let data = try Data(contentsOf: address)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }
}
