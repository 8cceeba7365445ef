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
            /readyz, /v1/status, /metrics (Prometheus). POST /v1/ruleset/reload or SIGHUP reads the rule set again \
            and switches to it if it checks clean. --shadow DRAFT evaluates a draft beside it: GET \
            /v1/shadow/decisions, /v1/shadow/report. On startup it prints `listening on http://HOST:PORT`; logs go \
            to standard error. SIGTERM or SIGINT: stops accepting, finishes the requests in flight, commits, exits 0.
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

    // A checkpoint writes every key changed since the last, once however often it changed: at
    // 10,000 (as `run --state`) rules/shop's batches ran 10-15% faster than at 2,000, with the
    // single events' p99 within target. After a crash at most this many events are evaluated
    // again on startup (about 50 ms).
    @Option(help: ArgumentHelp("Events between checkpoints of the engine's state (the events between are in the ingest log; a quiet moment also checkpoints).", valueName: "N"))
    var checkpointEvery: Int = 10_000

    @Option(help: ArgumentHelp("Keep keys without a window this long after their last use, in event time; `none` keeps them for ever.", valueName: "DURATION"))
    var retention: String = "400d"

    @Option(help: ArgumentHelp("A draft rule set evaluated beside the active one on every event, with its own state and outbox; never delivered.",
                               valueName: "DRAFT_RULESET"))
    var shadow: String?

    @Option(help: ArgumentHelp("The shadow's state file (default: the --state path with .shadow added).", valueName: "DB"))
    var shadowState: String?

    @Flag(help: "Put GET /metrics behind the bearer token too (open by default).")
    var metricsNeedToken = false

    @Option(help: ArgumentHelp("Log level on standard error: trace, debug, info, notice, warning, error or critical.", valueName: "LEVEL"))
    var logLevel: String = "notice"

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
        options.metricsNeedToken = metricsNeedToken
        guard let level = Logger.Level(rawValue: logLevel) else {
            Output.error("error: --log-level takes trace, debug, info, notice, warning, error or critical (found \"\(logLevel)\")")
            throw ExitCode(2)
        }
        let shadowPath = shadowState ?? state + ".shadow"
        if shadow != nil, Serve.sameFile(shadowPath, state) {
            Output.error("error: --shadow-state must be another file than --state")
            throw ExitCode(2)
        }
        if options.token == nil, !Serve.isLoopback(options.host) {
            Output.error("warning: listening on \(options.host) without a token: anyone who reaches it can send events and read decisions")
        }
        // Structured logs (swift-log) on standard error: standard output carries the address only.
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "redress.serve")
        let source = RuleSetSource(paths: ruleSet, schema: schema, catalog: catalog)
        let program = try RuleSetInput.compile(ruleSet, schema: schema, catalog: catalog)
        let draft = try shadow.map { try RuleSetInput.compile([$0], schema: schema, catalog: catalog) }
        let started = TimeFormat.format(timestamp: WallClock().now)
        let live: LiveRuleSet
        var shadowEvaluator: Evaluator? = nil
        do {
            live = try LiveRuleSet(program: program, state: state, clock: WallClock(), lateness: latenessMs, retention: retentionMs,
                                checkpointEvery: checkpointEvery)
            if let draft {
                let twin = try LiveRuleSet(program: draft, state: shadowPath, clock: WallClock(), lateness: latenessMs, retention: retentionMs,
                                           checkpointEvery: checkpointEvery, synced: false)
                shadowEvaluator = Evaluator(ruleSet: twin, queueLimit: queueLimit, loadedAt: started, role: "shadow")
            }
        } catch {
            Output.error("error: \(error.message)")
            throw ExitCode(2)
        }
        let evaluator = Evaluator(ruleSet: live, queueLimit: queueLimit, loadedAt: started)
        evaluator.logger = logger
        shadowEvaluator?.logger = logger
        // The shadow's failure must not end the service: it is logged, and the active set serves on.
        shadowEvaluator?.failureIsFatal = false
        // What the shadow may keep of request bodies it has yet to read (past their requests).
        shadowEvaluator?.queueByteLimit = 256 << 20
        shadowEvaluator?.yieldsProcessor = true
        shadowEvaluator?.gatherMilliseconds = 50
        // A shadow answers no one: its groups are as large as it gathers (fewer commits).
        shadowEvaluator?.groupEventLimit = .max
        shadowEvaluator?.readsRequestBodies = false
        // An IR file is not read again: what it was compiled from is not known.
        let reloadable = !(ruleSet.count == 1 && ruleSet[0].hasSuffix(".json"))
        let server = DecisionServer(evaluator: evaluator, options: options, source: reloadable ? source : nil, shadow: shadowEvaluator, since: started)
        let described: Logger.Metadata = ["ruleSet": "\(ruleSet.joined(separator: " "))", "fingerprint": "\(program.fingerprint)", "rules": "\(program.rules.count)",
                                          "state": "\(state)", "shadow": "\(draft.map { "\($0.fingerprint) in \(shadowPath)" } ?? "none")"]
        let ending = Ending()
        let application = server.application(logger: logger) { address in
            ending.listening()
            // Logged once serving (a process that cannot bind says so as its first line).
            logger.notice("listening", metadata: described.merging(["address": "\(address)"]) { $1 })
            Output.write("listening on http://\(address)\n")
        }
        // SIGHUP: read the rule set again, as POST /v1/ruleset/reload does.
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangup.setEventHandler {
            Task {
                let outcome = await server.reload(trigger: "sighup")
                logger.notice("SIGHUP reload", metadata: ["outcome": "\(outcome.summary)"])
            }
        }
        hangup.resume()
        defer { hangup.cancel() }
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
            logger.error("stopped", metadata: ["failure": "\(failure)"])
            Output.error("error: \(failure)")
            Output.error("note: what was acknowledged is in the state; start again with the same --state to go on")
            throw ExitCode(2)
        }
        logger.notice("stopped")
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

    /// Whether two paths name one file (the same path, or the same file already there).
    static func sameFile(_ a: String, _ b: String) -> Bool {
        if URL(fileURLWithPath: a).standardizedFileURL == URL(fileURLWithPath: b).standardizedFileURL { return true }
        var first = stat(), second = stat()
        return stat(a, &first) == 0 && stat(b, &second) == 0 && first.st_dev == second.st_dev && first.st_ino == second.st_ino
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
