import Foundation
import Testing

/// `run --follow FILE` (issue 13, point 7): lines appended to a file are evaluated as they come,
/// each decision goes out at once, and SIGTERM (or SIGINT) ends the run after a final
/// checkpoint, so a restart on the same state writes nothing twice.
@Suite struct FollowTests {
    static let mission = "when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten\n"

    static func lateVIPDeliveries(_ rules: URL) throws -> [String] {
        let history = try String(contentsOf: repositoryRoot.appendingPathComponent("rules/shop/events/history.jsonl"), encoding: .utf8)
        let run = try redress(["run", rules.path, "--events", repositoryRoot.appendingPathComponent("rules/shop/events/history.jsonl").path])
        // The ids of the events the mission rule decides on, and their lines.
        let ids = Set(run.stdout.split(separator: "\n").compactMap { line in
            ((try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["event"] as? [String: Any])?["id"] as? String
        })
        return history.split(separator: "\n").map(String.init).filter { line in ids.contains { line.contains("\"id\":\"\($0)\"") } }
    }

    /// Waits until `path` holds `lines` lines (or 60 s pass: a loaded machine must not fail this).
    func wait(for lines: Int, in path: String) -> Bool {
        for _ in 0..<6000 {
            if read(URL(fileURLWithPath: path)).split(separator: "\n").count >= lines { return true }
            usleep(10_000)
        }
        return false
    }

    func append(_ line: String, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((line + "\n").utf8))
        try handle.close()
    }

    @Test func appendedLinesAreDecidedAsTheyComeAndSIGTERMEndsWithACheckpoint() throws {
        let rules = try temporaryRuleSet(["mission.rules": Self.mission])
        let deliveries = try Self.lateVIPDeliveries(rules)
        try #require(deliveries.count >= 3)
        let directory = scratchPath("follow")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let events = directory.appendingPathComponent("events.jsonl").path
        let out = directory.appendingPathComponent("out.jsonl").path
        let state = directory.appendingPathComponent("s.db").path
        FileManager.default.createFile(atPath: events, contents: Data((deliveries[0] + "\n").utf8))
        let process = Process()
        process.executableURL = redressBinary
        process.arguments = ["run", rules.path, "--events", events, "--follow", "--state", state, "--out", out]
        process.currentDirectoryURL = repositoryRoot
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        #expect(wait(for: 1, in: out), "the first decision")
        try append(deliveries[1], to: events)
        #expect(wait(for: 2, in: out), "a line appended later is decided while the run follows the file")
        #expect(process.isRunning, "--follow waits for more")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("stopped by SIGTERM after a final checkpoint"), "\(stderr)")
        // The checkpoint covered both lines: a restart on the grown file decides only the new one.
        try append(deliveries[2], to: events)
        let resumed = try redress(["run", rules.path, "--events", events, "--state", state, "--out", out])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let keys = read(URL(fileURLWithPath: out)).split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["key"] as? String
        }
        #expect(keys.count == 3 && Set(keys).count == 3, "\(keys)")
    }

    @Test func followNeedsAFile() throws {
        let result = try redress(["run", "rules/shop/mission.rules", "--events", "-", "--follow"])
        #expect(result.status == 2 && result.stderr.contains("--follow follows a file"), "\(result.stderr)")
    }
}
