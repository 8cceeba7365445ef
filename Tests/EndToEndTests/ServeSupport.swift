import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `redress serve` started as a process on a free loopback port (`--listen 127.0.0.1:0`; the
/// port is read from the line it prints on startup). Killed with SIGKILL if still running when
/// dropped.
final class ServedRedress: @unchecked Sendable {
    let process: Process
    let base: URL
    let errorFile: URL

    struct StartFailure: Error, CustomStringConvertible {
        var description: String
    }

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = redressBinary
        process.arguments = ["serve"] + arguments + ["--listen", "127.0.0.1:0"]
        process.currentDirectoryURL = repositoryRoot
        var env = ProcessInfo.processInfo.environment
        env["REDRESS_TOKEN"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        errorFile = scratchPath("serve-stderr")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        process.standardInput = FileHandle.nullDevice
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        // The first line on standard output names the address; wait for it (not for a fixed delay).
        let descriptor = out.fileHandleForReading.fileDescriptor
        var line: [UInt8] = []
        let deadline = Date().addingTimeInterval(60)
        while !line.contains(UInt8(ascii: "\n")) {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let remaining = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            guard remaining > 0, poll(&poller, 1, remaining) > 0 else { break }
            var byte: UInt8 = 0
            guard read(descriptor, &byte, 1) == 1 else { break }
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("listening on "), let url = URL(string: String(text.dropFirst("listening on ".count))) else {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            throw StartFailure(description: "serve did not start: \(text)\n\(read(errorFile))")
        }
        base = url
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    var stderr: String { read(errorFile) }

    /// Sends a signal and waits for the exit; returns the exit status (nil: killed by a signal).
    @discardableResult
    func stop(_ signal: Int32 = SIGKILL) -> Int32? {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return process.terminationReason == .exit ? process.terminationStatus : nil
    }
}

struct HTTPAnswer {
    var status: Int
    var body: String
    var headers: [AnyHashable: Any] = [:]

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }
}

/// One HTTP request through URLSession (a real client, on its own connection).
func http(_ method: String, _ url: URL, body: String? = nil, contentType: String? = nil, token: String? = nil,
          timeout: TimeInterval = 60) async throws -> HTTPAnswer {
    var request = URLRequest(url: url, timeoutInterval: timeout)
    request.httpMethod = method
    if let body { request.httpBody = Data(body.utf8) }
    if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as? HTTPURLResponse
    return HTTPAnswer(status: http?.statusCode ?? 0, body: String(decoding: data, as: UTF8.self), headers: http?.allHeaderFields ?? [:])
}

/// The same, with the moment the answer arrived as URLSession's own thread saw it: a test that
/// awaits the answer may get a thread much later in a full parallel run, and must not count that.
func timedHTTP(_ method: String, _ url: URL, body: String? = nil, timeout: TimeInterval = 120) async throws -> (HTTPAnswer, Date) {
    var request = URLRequest(url: url, timeoutInterval: timeout)
    request.httpMethod = method
    if let body { request.httpBody = Data(body.utf8) }
    return try await withCheckedThrowingContinuation { continuation in
        URLSession.shared.dataTask(with: request) { data, response, error in
            let arrived = Date()
            if let error { return continuation.resume(throwing: error) }
            let http = response as? HTTPURLResponse
            continuation.resume(returning: (HTTPAnswer(status: http?.statusCode ?? 0, body: String(decoding: data ?? Data(), as: UTF8.self)), arrived))
        }.resume()
    }
}

/// A delivered shipment the mission rule decides on (one decision per event), with its own id.
func deliveredEvent(_ id: String, shipment: String, delay: String = "3d", customer: String? = nil) -> String {
    "{\"event\":\"shipment.delivered\",\"time\":\"2026-06-05T10:00:00Z\",\"id\":\"\(id)\",\"shipment\":{\"id\":\"\(shipment)\",\"delay\":\"\(delay)\"},"
        + "\"order\":{\"id\":\"O-\(shipment)\",\"total\":\"50.00 EUR\"},\"customer\":{\"id\":\"\(customer ?? "C-\(shipment)")\",\"tier\":\"VIP\",\"country\":\"DE\"}}"
}

let missionRule = "rule mission when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology\n"
