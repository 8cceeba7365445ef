import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import RedressEvents
import RedressEngine

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

    public init() {}
}

/// The HTTP side of `redress serve` (Hummingbird 2): routes requests to the evaluator and the
/// outbox, checks the token and the limits. Evaluation itself is the evaluator's.
public struct DecisionServer: Sendable {
    public let evaluator: Evaluator
    let reader: EventReader
    public let options: ServeOptions
    let budget: BodyBudget

    public init(evaluator: Evaluator, options: ServeOptions) {
        self.evaluator = evaluator
        reader = EventReader(program: evaluator.program)
        self.options = options
        budget = BodyBudget(bytes: options.bodyBudgetBytes)
    }

    /// The application, with the evaluator among its services: on SIGTERM or SIGINT the server
    /// stops accepting and finishes the requests in flight first, then the evaluator answers
    /// what is queued and commits. `listening` gets the bound address ("127.0.0.1:8080").
    public func application(logger: Logger, listening: @escaping @Sendable (String) -> Void) -> some ApplicationProtocol {
        let router = Router()
        router.get("healthz") { _, _ in Self.text(.ok, "ok\n") }
        router.get("readyz") { _, _ in
            evaluator.isReady ? Self.text(.ok, "ready\n") : Self.text(.serviceUnavailable, "not ready\n")
        }
        let v1 = router.group("v1").add(middleware: BearerToken(token: options.token))
        v1.post("events") { request, _ in await ingest(request) }
        v1.get("decisions") { request, _ in await decisions(request) }
        v1.get("status") { _, _ in Self.json(.ok, evaluator.currentStatus.json()) }
        let host = options.host
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: options.port), serverName: nil),
            services: [evaluator],
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
        let body: IngestBody
        do {
            body = try buffer.withUnsafeReadableBytes { bytes throws(IngestBody.LineTooLong) in
                try IngestBody(bytes, batch: batch, reader: reader, maximumLineBytes: options.maximumLineBytes)
            }
        } catch {
            return Self.error(.contentTooLarge, "line \(error.line) is longer than \(error.limit) bytes; nothing of the request was evaluated")
        }
        guard !body.items.isEmpty else {
            return Self.error(.badRequest, batch ? "the batch holds no event" : "the body holds no event")
        }
        switch await evaluator.submit(body.items) {
        case .done(let results):
            let accepted = results.contains { if case .deadLetter = $0 { false } else { true } }
            return Self.json(accepted ? .ok : .badRequest, IngestAnswer.json(results, blankLines: body.blankLines))
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

    func decisions(_ request: Request) async -> Response {
        let query = request.uri.queryParameters
        var after: Int64 = 0
        var limit = 100
        var wait: Duration = .zero
        if let text = query["after"] {
            guard let value = Int64(text), value >= 0 else { return Self.error(.badRequest, "`after` takes a sequence number (0 or more), found \"\(text)\"") }
            after = value
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
