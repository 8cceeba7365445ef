import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import RedressEvents
import RedressEngine
import RedressIR

/// How `redress serve` listens and what it accepts.
public struct ServeOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// With a token, every `/v1` request needs `Authorization: Bearer TOKEN`.
    public var token: String? = nil
    /// The largest request body (413 beyond it).
    public var maximumBodyBytes = 16 << 20
    /// The longest line of a batch, or a single event (413 beyond it).
    public var maximumLineBytes = LineLimit.defaultBytes
    /// Bodies being received at once may hold at most this many bytes (503 beyond it): with the
    /// queue limit, what bounds the memory requests can take.
    public var bodyBudgetBytes = 256 << 20
    /// The longest `wait` a long-poll may ask for.
    public var longestWait: Duration = .seconds(60)
    /// `GET /metrics` behind the token too (it is open by default: scrapers seldom send one,
    /// and it holds counts, rule names and money totals, not decisions or customers).
    public var metricsNeedToken = false

    public init() {}
}

/// The HTTP side of `redress serve` (Hummingbird 2): routes requests to the evaluator and the
/// outbox, checks the token and the limits. Evaluation itself is the evaluator's.
public struct DecisionServer: Sendable {
    public let evaluator: Evaluator
    public let options: ServeOptions
    let budget: BodyBudget
    public let metrics: ServiceMetrics
    /// Where the rule set is read again on a reload (nil: it cannot be; an IR file can).
    let source: RuleSetSource?
    /// The draft rule set evaluated beside the active one (`--shadow`), and the comparison.
    public let shadow: Evaluator?
    public let comparison: ShadowComparison?
    let reloads = ReloadGate()

    public init(evaluator: Evaluator, options: ServeOptions, source: RuleSetSource? = nil, shadow: Evaluator? = nil,
                metrics: ServiceMetrics = ServiceMetrics(), since: String = "") {
        self.evaluator = evaluator
        self.options = options
        budget = BodyBudget(bytes: options.bodyBudgetBytes)
        self.metrics = metrics
        self.source = source
        self.shadow = shadow
        let comparison = shadow.map { _ in ShadowComparison(since: since) }
        self.comparison = comparison
        metrics.register(set: "active")
        if shadow != nil { metrics.register(set: "shadow") }
        // Counted on each evaluator's thread after its commits (set before either runs).
        evaluator.observe = { group in
            metrics.count(group, set: "active")
            comparison?.add(group, side: .active)
        }
        shadow?.observe = { group in
            metrics.count(group, set: "shadow")
            comparison?.add(group, side: .shadow)
        }
        evaluator.shadow = shadow
    }

    /// The application, with the evaluator among its services: on SIGTERM or SIGINT the server
    /// stops accepting and finishes the requests in flight first, then the evaluator answers
    /// what is queued and commits. `listening` gets the bound address ("127.0.0.1:8080").
    public func application(logger: Logger, listening: @escaping @Sendable (String) -> Void) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: RequestTiming(metrics: metrics))
        router.get("healthz") { _, _ in Self.text(.ok, "ok\n") }
        router.get("readyz") { _, _ in
            evaluator.isReady ? Self.text(.ok, "ready\n") : Self.text(.serviceUnavailable, "not ready\n")
        }
        router.group("metrics").add(middleware: BearerToken(token: options.metricsNeedToken ? options.token : nil))
            .get { _, _ in exposition() }
        let v1 = router.group("v1").add(middleware: BearerToken(token: options.token))
        v1.post("events") { request, _ in await ingest(request) }
        v1.get("decisions") { request, _ in await decisions(request, from: evaluator, set: "active") }
        v1.get("status") { _, _ in Self.json(.ok, statusJSON()) }
        v1.post("ruleset/reload") { _, _ in await reload(trigger: "http").response }
        if let shadow, let comparison {
            v1.get("shadow/decisions") { request, _ in await decisions(request, from: shadow, set: "shadow") }
            v1.get("shadow/report") { _, _ in
                let status = shadow.currentStatus
                return Self.json(.ok, comparison.json(active: evaluator.currentStatus, shadow: status, queuedEvents: status.queuedEvents,
                                                      droppedEvents: evaluator.currentStatus.shadowDropped, failure: shadow.failureMessage))
            }
        } else {
            v1.get("shadow/{part}") { _, _ in Self.error(.notFound, "no shadow rule set: start serve with --shadow DRAFT_RULESET") }
        }
        let host = options.host
        // The shadow first: services stop in reverse order, so the active evaluator has
        // handed over its last group before the shadow stops.
        let services: [any Service] = shadow.map { [$0, evaluator] } ?? [evaluator]
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: options.port), serverName: nil),
            services: services,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                listening(host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
            },
            logger: logger)
    }

    // MARK: - Ingest

    func ingest(_ request: Request) async -> Response {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > options.maximumBodyBytes { return bodyTooLarge() }
        let reserved = min(declared ?? options.maximumBodyBytes, options.maximumBodyBytes)
        guard budget.reserve(reserved) else {
            return Self.error(.serviceUnavailable, "too many request bodies being received; send again later")
        }
        defer { budget.release(reserved) }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: options.maximumBodyBytes)
        } catch is NIOTooManyBytesError {
            return bodyTooLarge()
        } catch {
            return Self.error(.badRequest, "cannot read the request body: \(error)")
        }
        let batch = request.headers[.contentType].map { $0.lowercased().hasPrefix("application/x-ndjson") } ?? false
        let (generation, reader) = evaluator.currentReader
        let lineLimit = options.maximumLineBytes
        let parse: @Sendable (EventReader) throws(IngestBody.LineTooLong) -> IngestBody = { reader throws(IngestBody.LineTooLong) in
            try buffer.withUnsafeReadableBytes { bytes throws(IngestBody.LineTooLong) in
                try IngestBody(bytes, batch: batch, reader: reader, maximumLineBytes: lineLimit)
            }
        }
        // A batch is read on the evaluator's reading thread, which frees its events too once
        // answered (`ReadingThread`). A small body is read here: for a single event the two
        // hand-overs cost more than its frees (measured, 17,800 single events/s against 21,600).
        let onThread = buffer.readableBytes >= ReadingThread.smallestBody
        let readBody: @Sendable () -> Result<IngestBody, IngestBody.LineTooLong> = { Result { () throws(IngestBody.LineTooLong) in try parse(reader) } }
        let reading = onThread ? await evaluator.readingThread.run(readBody) : readBody()
        let body: IngestBody
        switch consume reading {
        case .success(let read): body = read
        case .failure(let error):
            return Self.error(.contentTooLarge, "line \(error.line) is longer than \(error.limit) bytes; nothing of the request was evaluated")
        }
        guard !body.items.isEmpty else {
            return Self.error(.badRequest, batch ? "the batch holds no event" : "the body holds no event")
        }
        let blankLines = body.blankLines
        // Read again with another rule set's reader (a reload, or the shadow's): the lengths
        // were checked already, so it cannot be refused now.
        let outcome = await evaluator.submit(body.items, generation: generation, bytes: buffer.readableBytes,
                                             parse: { reader in (try? parse(reader))?.items ?? [] })
        // The evaluator lets its group go before answering: this is the events' last owner.
        if onThread { evaluator.readingThread.release(consume body) }
        switch consume outcome {
        case .done(let results):
            let accepted = results.contains { if case .deadLetter = $0 { false } else { true } }
            let response = Self.json(accepted ? .ok : .badRequest, IngestAnswer.json(results, blankLines: blankLines))
            evaluator.release(consume results)
            return response
        case .overloaded:
            return Self.error(.serviceUnavailable, "the queue is full (\(evaluator.queueLimit) events); nothing of the request was evaluated; send it again later",
                              retryAfter: true)
        case .unavailable(let reason):
            return Self.error(.serviceUnavailable, "\(reason); nothing of the request was acknowledged; send it again", retryAfter: true)
        }
    }

    func bodyTooLarge() -> Response {
        Self.error(.contentTooLarge, "the body is larger than \(options.maximumBodyBytes) bytes; send smaller batches")
    }

    // MARK: - Outbox

    func decisions(_ request: Request, from evaluator: Evaluator, set: String) async -> Response {
        let query = request.uri.queryParameters
        var after: Int64 = 0
        var limit = 100
        var wait: Duration = .zero
        if let text = query["after"] {
            guard let value = Int64(text), value >= 0 else { return Self.error(.badRequest, "`after` takes a sequence number (0 or more), found \"\(text)\"") }
            after = value
            metrics.consumerRead(set: set, after: value)
        }
        if let text = query["limit"] {
            guard let value = Int(text), (1...10_000).contains(value) else { return Self.error(.badRequest, "`limit` takes 1 to 10000, found \"\(text)\"") }
            limit = value
        }
        if let text = query["wait"] {
            guard let ms = TimeFormat.duration(String(text)), ms >= 0 else {
                return Self.error(.badRequest, "`wait` takes a duration such as 30s, found \"\(text)\"")
            }
            wait = min(.milliseconds(ms), options.longestWait)
        }
        do {
            var entries = try evaluator.outbox.entries(after: after, limit: limit)
            if entries.isEmpty, wait > .zero {
                let committed = evaluator.committed
                await withGracefulShutdownHandler {
                    await committed.wait(beyond: after, timeout: wait)
                } onGracefulShutdown: {
                    committed.finish()
                }
                entries = try evaluator.outbox.entries(after: after, limit: limit)
            }
            let next = entries.last?.sequence ?? after
            return Self.json(.ok, "{\"decisions\":[" + entries.map(\.json).joined(separator: ",") + "],\"next\":\(next)}")
        } catch {
            return Self.error(.internalServerError, error.message)
        }
    }

    // MARK: - Operations

    /// `/v1/status`: the active set's, with the shadow's rule set and progress when there is one.
    func statusJSON() -> String {
        var text = evaluator.currentStatus.json()
        guard let shadow, text.hasSuffix("}") else { return text }
        let status = shadow.currentStatus
        text.removeLast()
        return text + ",\"shadow\":{\"fingerprint\":\(JSONText.quote(status.fingerprint)),\"rules\":\(status.rules)"
            + ",\"events\":\(status.counts.accepted),\"decisions\":\(status.counts.decisions + status.counts.deadlineDecisions)"
            + ",\"queuedEvents\":\(status.queuedEvents),\"droppedEvents\":\(evaluator.currentStatus.shadowDropped)"
            + ",\"failure\":\(shadow.failureMessage.map(JSONText.quote) ?? "null")}}"
    }

    func exposition() -> Response {
        var sets = [(set: "active", status: evaluator.currentStatus)]
        if let shadow { sets.append((set: "shadow", status: shadow.currentStatus)) }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.exposition(sets))))
    }

    /// What a reload did: switched (200), refused with the checker's diagnostics (422), or
    /// could not switch (503); the old rule set serves on unless it switched.
    public struct ReloadOutcome: Sendable {
        public var status: HTTPResponse.Status
        public var body: String
        public var switched: Bool
        /// One line for the log.
        public var summary: String

        var response: Response { DecisionServer.json(status, body) }
    }

    /// Reads the rule set again and switches to it if it checks clean. Reloads run one at a
    /// time (the HTTP route and SIGHUP alike), so the last one asked for is the one served.
    public func reload(trigger: String) async -> ReloadOutcome {
        await reloads.serially { () async -> ReloadOutcome in
            let active = evaluator.program.fingerprint
            guard let source else {
                metrics.reload(outcome: "refused")
                return ReloadOutcome(status: .conflict, body: "{\"switched\":false,\"error\":\"serve was started from an IR file; restart it to change the rules\",\"active\":\(JSONText.quote(active))}",
                                     switched: false, summary: "refused: started from an IR file")
            }
            // Off the request threads: checking a large rule set takes a while, and those few
            // threads serve every other request meanwhile.
            let compiled = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Program, RuleSetSource.Rejection>, Never>) in
                DispatchQueue.global().async { continuation.resume(returning: source.compile()) }
            }
            switch compiled {
            case .failure(let rejection):
                metrics.reload(outcome: "refused")
                evaluator.logger.warning("reload refused; the old rule set serves on",
                                         metadata: ["trigger": "\(trigger)", "reason": "\(rejection.message)", "fingerprint": "\(active)"])
                return ReloadOutcome(status: .unprocessableContent,
                                     body: "{\"switched\":false,\"error\":\(JSONText.quote(rejection.message)),\"active\":\(JSONText.quote(active))"
                                        + ",\"diagnostics\":\(rejection.diagnosticsJSON?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "null")}",
                                     switched: false, summary: "refused: \(rejection.message)")
            case .success(let program):
                guard program.fingerprint != active else {
                    metrics.reload(outcome: "unchanged")
                    return ReloadOutcome(status: .ok, body: "{\"switched\":false,\"unchanged\":true,\"active\":\(JSONText.quote(active))}",
                                         switched: false, summary: "unchanged")
                }
                switch await evaluator.reload(program, trigger: trigger) {
                case .success(let reload):
                    metrics.reload(outcome: "switched")
                    return ReloadOutcome(status: .ok, body: "{\"switched\":true,\"active\":\(JSONText.quote(reload.fingerprint)),\"reload\":\(reload.json())}",
                                         switched: true, summary: "switched to \(reload.fingerprint)")
                case .failure(let failure):
                    metrics.reload(outcome: "failed")
                    return ReloadOutcome(status: .serviceUnavailable,
                                         body: "{\"switched\":false,\"error\":\(JSONText.quote(failure.message)),\"active\":\(JSONText.quote(active))}",
                                         switched: false, summary: "failed: \(failure.message)")
                }
            }
        }
    }

    // MARK: - Responses

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    static func text(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String, retryAfter: Bool = false) -> Response {
        var response = json(status, "{\"error\":\(JSONText.quote(message))}")
        if retryAfter { response.headers[.retryAfter] = "1" }
        return response
    }
}

/// Runs reloads one after another.
actor ReloadGate {
    var busy = false
    var waiting: [CheckedContinuation<Void, Never>] = []

    func serially<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        }
        busy = true
        let result = await body()
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        return result
    }
}

/// Each request's latency into the metrics, by the route it matched (its pattern, so a client
/// cannot make new series by inventing paths).
struct RequestTiming<Context: RequestContext>: RouterMiddleware {
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            metrics.request(route: context.endpointPath ?? "unmatched",
                            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        return try await next(request, context)
    }
}

/// The bytes of request bodies being received, bounded.
final class BodyBudget: @unchecked Sendable {
    let lock = NSLock()
    let limit: Int
    var used = 0
    init(bytes: Int) { limit = bytes }

    func reserve(_ bytes: Int) -> Bool {
        lock.withLock {
            guard used + bytes <= limit || used == 0 else { return false }
            used += bytes
            return true
        }
    }

    func release(_ bytes: Int) { lock.withLock { used -= bytes } }
}

/// `Authorization: Bearer TOKEN` on every request it guards, when a token is set; the token is
/// compared in constant time (a comparison that stops at the first difference tells an attacker,
/// by its timing, how much of a guess was right).
struct BearerToken<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]?

    init(token: String?) { self.token = token.map { Array($0.utf8) } }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), TokenComparison.same(Array(header.utf8.dropFirst(prefix.utf8.count)), token) else {
            var response = DecisionServer.error(.unauthorized, header.isEmpty ? "this endpoint needs `Authorization: Bearer TOKEN`" : "wrong token")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }

}

/// Bearer tokens compared in constant time.
enum TokenComparison {
    /// Time depends on the lengths only, never on where the bytes differ.
    static func same(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in 0..<expected.count {
            difference |= (index < given.count ? given[index] : 0) ^ expected[index]
        }
        return difference == 0
    }
}
