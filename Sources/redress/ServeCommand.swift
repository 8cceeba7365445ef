import ArgumentParser
import Foundation
import Logging
import RedressEvents
import RedressRuntime
import RedressService

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate events sent over HTTP; decisions go to a durable outbox (docs/serve.md).",
        discussion: """
            POST /v1/events (one JSON event, or JSON lines with Content-Type: application/x-ndjson) answers once the \
            events and their decisions are durable; GET /v1/decisions?after=CURSOR reads the outbox; GET /healthz, \
            /readyz, /v1/status. On startup it prints `listening on http://HOST:PORT`. SIGTERM or SIGINT: stops \
            accepting, finishes the requests in flight, commits, exits 0.
            Exit status: 0 stopped by a signal, 1 the rule set has errors, 2 usage, state or server error.
            """)

    @Argument(help: "The rule set: a directory of .rules files, or an IR file from `redress compile`.")
    var ruleSet: [String]

    @Option(help: "The SQLite file holding the engine's state, the events processed and the outbox; created if new.")
    var state: String

    @Option(help: ArgumentHelp("Address to listen on; port 0 picks a free one. Loopback unless told otherwise.", valueName: "HOST:PORT"))
    var listen: String = "127.0.0.1:8080"

    @Option(help: ArgumentHelp("How late an event may arrive; an absence deadline fires this long after it passes on the wall clock.", valueName: "DURATION"))
    var lateness: String = "5m"

    @Option(help: ArgumentHelp("A file holding the bearer token every /v1 request must present (or set REDRESS_TOKEN).", valueName: "FILE"))
    var tokenFile: String?

    @Option(help: ArgumentHelp("Largest request body, in bytes (413 beyond it).", valueName: "BYTES"))
    var maxBodyBytes: Int = 16 << 20

    @Option(help: ArgumentHelp("Longest event line, in bytes (413 beyond it).", valueName: "BYTES"))
    var maxLineBytes: Int = LineLimit.defaultBytes

    @Option(help: ArgumentHelp("Events waiting for the evaluator at most; a request beyond it gets 503.", valueName: "EVENTS"))
    var queueLimit: Int = 100_000

    // A checkpoint writes every key changed since the last (about 20 µs per event with rules/shop
    // and keys that are new), and acknowledgements wait while it is written: smaller ones keep
    // that wait short. After a crash at most this many events are evaluated again on startup.
    @Option(help: ArgumentHelp("Events between checkpoints of the engine's state (the events between are in the ingest log; a quiet moment also checkpoints).", valueName: "N"))
    var checkpointEvery: Int = 2_000

    @Option(help: ArgumentHelp("Keep keys without a window this long after their last use, in event time; `none` keeps them for ever.", valueName: "DURATION"))
    var retention: String = "400d"

    @Option(help: "Schema file to use instead of the nearest schema.yaml.")
    var schema: String?

    @Option(help: "Catalog file to use instead of the nearest catalog.yaml.")
    var catalog: String?

    func run() throws {
        var options = ServeOptions()
        (options.host, options.port) = try address()
        options.token = try token()
        options.maximumBodyBytes = maxBodyBytes
        options.maximumLineBytes = maxLineBytes
        try InputLimitOptions.check(maxLineBytes: maxLineBytes)
        guard maxBodyBytes >= 64, queueLimit >= 1, checkpointEvery >= 1 else {
            Output.error("error: --max-body-bytes must be at least 64, --queue-limit and --checkpoint-every at least 1")
            throw ExitCode(2)
        }
        guard let latenessMs = TimeFormat.duration(lateness), latenessMs >= 0 else {
            Output.error("error: --lateness takes a duration of zero or more such as 5m, 30s or 1h (found \"\(lateness)\")")
            throw ExitCode(2)
        }
        var retentionMs: Int64? = nil
        if retention != "none" {
            guard let ms = TimeFormat.duration(retention), ms > 0 else {
                Output.error("error: --retention takes a duration longer than zero such as 400d, or none (found \"\(retention)\")")
                throw ExitCode(2)
            }
            retentionMs = ms
        }
        if options.token == nil, !Serve.isLoopback(options.host) {
            Output.error("warning: listening on \(options.host) without a token: anyone who reaches it can send events and read decisions")
        }
        let program = try RuleSetInput.compile(ruleSet, schema: schema, catalog: catalog)
        let live: LiveRuleSet
        do {
            live = try LiveRuleSet(program: program, state: state, clock: WallClock(), lateness: latenessMs, retention: retentionMs,
                                checkpointEvery: checkpointEvery)
        } catch {
            Output.error("error: \(error.message)")
            throw ExitCode(2)
        }
        let evaluator = Evaluator(ruleSet: live, queueLimit: queueLimit, loadedAt: TimeFormat.format(timestamp: WallClock().now))
        let server = DecisionServer(evaluator: evaluator, options: options)
        var logger = Logger(label: "redress.serve")
        logger.logLevel = .notice
        let ending = Ending()
        let application = server.application(logger: logger) { address in
            ending.listening()
            Output.write("listening on http://\(address)\n")
        }
        // The command line is synchronous; the server runs on Swift's concurrency (and NIO's
        // threads) while this thread waits for it to end.
        let finished = DispatchSemaphore(value: 0)
        Task {
            do {
                try await application.runService(gracefulShutdownSignals: [.sigterm, .sigint])
            } catch {
                ending.failure = "\(error)"
            }
            finished.signal()
        }
        finished.wait()
        if let failure = ending.failure {
            guard ending.wasListening else {
                Output.error("error: cannot listen on \(listen): \(failure)")
                throw ExitCode(2)
            }
            Output.error("error: \(failure)")
            Output.error("note: what was acknowledged is in the state; start again with the same --state to go on")
            throw ExitCode(2)
        }
        let status = evaluator.currentStatus
        Output.error("stopped after a final commit: \(status.counts.accepted) events accepted, \(status.counts.duplicates) duplicates, "
                     + "\(status.counts.deadLetters) dead letters, outbox at \(status.latestSequence)")
    }

    final class Ending: @unchecked Sendable {
        let lock = NSLock()
        var failure: String? = nil
        private var listened = false
        func listening() { lock.withLock { listened = true } }
        var wasListening: Bool { lock.withLock { listened } }
    }

    /// `--listen HOST:PORT` (an IPv6 host in brackets).
    func address() throws -> (String, Int) {
        var host = "", portText = ""
        if listen.hasPrefix("["), let close = listen.firstIndex(of: "]") {
            host = String(listen[listen.index(after: listen.startIndex)..<close])
            let rest = listen[listen.index(after: close)...]
            if rest.hasPrefix(":") { portText = String(rest.dropFirst()) }
        } else if let colon = listen.lastIndex(of: ":") {
            host = String(listen[..<colon])
            portText = String(listen[listen.index(after: colon)...])
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else {
            Output.error("error: --listen takes HOST:PORT such as 127.0.0.1:8080 (found \"\(listen)\")")
            throw ExitCode(2)
        }
        return (host, port)
    }

    /// The token from `--token-file` or REDRESS_TOKEN (surrounding whitespace dropped), or nil.
    func token() throws -> String? {
        var text: String
        var source: String
        if let tokenFile {
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                Output.error("error: cannot read the token file \(tokenFile)")
                throw ExitCode(2)
            }
            text = String(decoding: data, as: UTF8.self)
            source = tokenFile
        } else if let variable = ProcessInfo.processInfo.environment["REDRESS_TOKEN"] {
            text = variable
            source = "REDRESS_TOKEN"
        } else {
            return nil
        }
        text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, !text.contains(where: { $0.isWhitespace }) else {
            Output.error("error: the token in \(source) is empty or holds whitespace")
            throw ExitCode(2)
        }
        return text
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
