import Foundation
import Testing

/// `run` on a pipe that stays open (issue 13, point 7, first part): each decision is written as
/// soon as its line has been evaluated, not when the input ends.
@Suite struct StreamingTests {
    /// A late VIP delivery (the mission rule decides on it), from the bundled sample.
    static func lateVIPDelivery() throws -> String {
        let sample = try String(contentsOf: repositoryRoot.appendingPathComponent("rules/shop/events/sample.jsonl"), encoding: .utf8)
        return String(sample.split(separator: "\n").first { $0.contains("\"event\":\"shipment.delivered\"") && $0.contains("\"tier\":\"VIP\"") } ?? "")
    }

    @Test func aDecisionGoesOutWhileThePipeIsStillOpen() throws {
        let line = try Self.lateVIPDelivery()
        try #require(!line.isEmpty)
        let process = Process()
        process.executableURL = redressBinary
        process.arguments = ["run", "rules/shop/mission.rules", "--events", "-", "--dead-letters", scratchPath("stream-dl", ".jsonl").path]
        process.currentDirectoryURL = repositoryRoot
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // One line, and the pipe stays open: the decision must come before the input ends.
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
        let arrived = DispatchSemaphore(value: 0)
        let received = Received()
        let reader = Thread {
            let data = output.fileHandleForReading.availableData   // blocks until something is written
            received.set(String(decoding: data, as: UTF8.self))
            arrived.signal()
        }
        reader.start()
        // Generous: the promise is "at once" (well under 50 ms on an idle machine); a loaded CI
        // machine must not make this test flaky. Without the fix nothing arrives until EOF.
        let inTime = arrived.wait(timeout: .now() + 30) == .success
        #expect(inTime, "no decision while the input was open")
        #expect(received.text.contains("\"rule\":\"mission:1\""), "\(received.text)")
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test func sigtermOnAnOpenPipeEndsTheRunAfterAFinalCheckpoint() throws {
        let line = try Self.lateVIPDelivery()
        let directory = scratchPath("stream-term")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let out = directory.appendingPathComponent("out.jsonl").path, state = directory.appendingPathComponent("s.db").path
        let process = Process()
        process.executableURL = redressBinary
        process.arguments = ["run", "rules/shop/mission.rules", "--events", "-", "--state", state, "--out", out]
        process.currentDirectoryURL = repositoryRoot
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
        var decided = false
        for _ in 0..<6000 where !decided {
            decided = read(URL(fileURLWithPath: out)).contains("\"rule\":\"mission:1\"")
            if !decided { usleep(10_000) }
        }
        #expect(decided)
        kill(process.processIdentifier, SIGTERM)   // the pipe is still open
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("read 1 event, 2 decisions, stopped by SIGTERM after a final checkpoint"), "\(stderr)")
    }
}

final class Received: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = ""
    func set(_ text: String) { lock.withLock { stored = text } }
    var text: String { lock.withLock { stored } }
}
