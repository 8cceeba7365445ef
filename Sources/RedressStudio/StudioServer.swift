import Foundation
import Hummingbird
import Logging
import RedressLanguageServices

/// The workbench over HTTP: the page (embedded in the binary) and a JSON API on `Studio`.
///
/// Served on loopback unless told otherwise. The API answers only requests a page from this
/// server can make: a POST must be JSON (so another site's page cannot send one without the
/// browser asking first, which this server never allows), an `Origin` must be this server's, and
/// the `Host` must name this server on loopback (a DNS name rebound to 127.0.0.1 is refused).
public struct StudioServer: Sendable {
    public let studio: Studio
    public let host: String
    public let port: Int

    /// The largest request body read: the rule files of a large set, or a pasted event.
    public static let maximumRequestBytes = 8 << 20

    public init(studio: Studio, host: String, port: Int) {
        self.studio = studio
        self.host = host
        self.port = port
    }

    /// Whether `host` is a loopback address (the default, and what the Host check accepts).
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Serves until SIGINT or SIGTERM; `listening` gets the address once the port is bound.
    public func run(listening: @escaping @Sendable (String) -> Void) async throws {
        var logger = Logger(label: "redress.studio", factory: { label in StreamLogHandler.standardError(label: label) })
        logger.logLevel = Logger.Level.warning
        let app = Application(
            router: router(),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                let shown = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
                listening("http://\(shown):\(bound)")
            },
            logger: logger)
        try await app.runService()
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        let studio = self.studio
        for (name, type) in [("index.html", "text/html"), ("studio.css", "text/css"), ("studio.js", "text/javascript")] {
            router.get(name == "index.html" ? "/" : "/\(name)") { _, _ -> Response in
                Self.page(name, type: type)
            }
        }
        router.get("/api/ruleset") { request, _ -> Response in
            await self.answer(request) { () throws(StudioError) in studio.ruleSet() }
        }
        router.post("/api/check") { request, _ -> Response in
            await self.answer(request) { (body: DocumentsBody) throws(StudioError) in try studio.check(body.documents) }
        }
        router.post("/api/complete") { request, _ -> Response in
            await self.answer(request) { (body: PlaceBody) throws(StudioError) in
                try studio.complete(body.documents, file: body.file, at: TextPosition(line: body.line, character: body.character))
            }
        }
        router.post("/api/hover") { request, _ -> Response in
            await self.answer(request) { (body: PlaceBody) throws(StudioError) in
                try studio.hover(body.documents, file: body.file, at: TextPosition(line: body.line, character: body.character))
            }
        }
        router.post("/api/format") { request, _ -> Response in
            await self.answer(request) { (body: FileBody) throws(StudioError) in try studio.format(body.documents, file: body.file) }
        }
        router.post("/api/tests") { request, _ -> Response in
            await self.answer(request) { (body: DocumentsBody) throws(StudioError) in try studio.tests(body.documents) }
        }
        router.post("/api/explain") { request, _ -> Response in
            await self.answer(request) { (body: ExplainBody) throws(StudioError) in try studio.explain(body.documents, event: body.event, id: body.id) }
        }
        router.post("/api/simulate") { request, _ -> Response in
            await self.answerAsync(request) { (body: SimulateBody) async throws(StudioError) in try await studio.simulate(body.documents, by: body.by ?? []) }
        }
        router.post("/api/sweep") { request, _ -> Response in
            await self.answerAsync(request) { (body: SweepBody) async throws(StudioError) in
                try await studio.sweep(body.documents, parameter: body.parameter, values: body.values)
            }
        }
        router.post("/api/diff") { request, _ -> Response in
            await self.answerAsync(request) { (body: DiffBody) async throws(StudioError) in
                let revision = body.against?.trimmingCharacters(in: .whitespaces)
                return try await studio.diff(body.documents, against: revision?.isEmpty == false ? revision : nil)
            }
        }
        router.post("/api/cancel") { request, _ -> Response in
            await self.answer(request) { () throws(StudioError) in studio.cancel() }
        }
        router.post("/api/save") { request, _ -> Response in
            await self.answer(request) { (body: DocumentsBody) throws(StudioError) in try studio.save(body.documents) }
        }
        return router
    }

    // MARK: - Request bodies

    struct DocumentsBody: Decodable { var documents: [String: String] }
    struct FileBody: Decodable {
        var documents: [String: String]
        var file: String
    }
    struct PlaceBody: Decodable {
        var documents: [String: String]
        var file: String
        var line: Int
        var character: Int
    }
    struct ExplainBody: Decodable {
        var documents: [String: String]
        var event: String?
        var id: String?
    }
    struct SimulateBody: Decodable {
        var documents: [String: String]
        var by: [String]?
    }
    struct DiffBody: Decodable {
        var documents: [String: String]
        /// A git revision to compare with instead of the saved files.
        var against: String?
    }
    struct SweepBody: Decodable {
        var documents: [String: String]
        var parameter: String
        var values: String
    }

    // MARK: - Answering

    /// Checks where the request comes from and reads its JSON body (bounded).
    func read<Body: Decodable>(_ request: Request) async throws(StudioError) -> Body {
        if let refusal = Self.refusal(of: request, loopbackOnly: Self.isLoopback(host)) { throw refusal }
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: Self.maximumRequestBytes) } catch {
            throw StudioError(.contentTooLarge, "the request is larger than \(Self.maximumRequestBytes >> 20) MB")
        }
        do { return try JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView)) } catch {
            throw StudioError(.badRequest, "the request is not the JSON this endpoint takes: \(Self.reason(error))")
        }
    }

    /// Why a request is not answered: another site's page, a rebound DNS name, not JSON.
    static func refusal(of request: Request, loopbackOnly: Bool) -> StudioError? {
        let host = request.head.authority
        // A server told to listen elsewhere answers any Host, as any web server does.
        if loopbackOnly, let host, !isLoopback(hostName(host)) {
            return StudioError(.forbidden, "the studio answers only requests addressed to it on loopback (Host: \(host))")
        }
        // Browsers say which page sends a request; only the studio's own may.
        if let origin = request.headers[.origin], origin != "http://\(host ?? "")" {
            return StudioError(.forbidden, "requests from other sites' pages are refused (Origin: \(origin))")
        }
        if request.method == .post, request.headers[.contentLength].map({ $0 != "0" }) ?? true,
           !(request.headers[.contentType]?.lowercased().hasPrefix("application/json") ?? false) {
            return StudioError(.unsupportedMediaType, "the studio's API takes JSON (Content-Type: application/json)")
        }
        return nil
    }

    static func hostName(_ host: String) -> String {
        if host.hasPrefix("["), let end = host.firstIndex(of: "]") { return String(host[...end]) }
        return host.split(separator: ":", maxSplits: 1).first.map(String.init) ?? host
    }

    static func reason(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "`\(key.stringValue)` is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "`\(context.codingPath.map(\.stringValue).joined(separator: "."))` has the wrong type"
        case DecodingError.dataCorrupted: return "it is not valid JSON"
        default: return "\(error)"
        }
    }

    /// A request without a body (its body, if any, is not read).
    func answer<Answer: Encodable>(_ request: Request, _ work: () throws(StudioError) -> Answer) async -> Response {
        if let refusal = Self.refusal(of: request, loopbackOnly: Self.isLoopback(host)) { return Self.failure(refusal) }
        do { return Self.json(try work()) } catch { return Self.failure(error) }
    }

    func answer<Body: Decodable, Answer: Encodable>(_ request: Request, _ work: (Body) throws(StudioError) -> Answer) async -> Response {
        do {
            let body: Body = try await read(request)
            return Self.json(try work(body))
        } catch {
            return Self.failure(error)
        }
    }

    func answerAsync<Body: Decodable, Answer: Encodable>(_ request: Request, _ work: (Body) async throws(StudioError) -> Answer) async -> Response {
        do {
            let body: Body = try await read(request)
            return Self.json(try await work(body))
        } catch {
            return Self.failure(error)
        }
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":"the answer could not be encoded"}"#.utf8)
        var headers = securityHeaders
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    struct Failure: Encodable { var error: String }

    static func failure(_ error: StudioError) -> Response {
        json(Failure(error: error.description), status: HTTPResponse.Status(code: error.kind.rawValue))
    }

    /// The page may load only its own script and style; reports are shown in a sandboxed frame
    /// whose inline style (and only that) is allowed.
    static var securityHeaders: HTTPFields {
        [
            .contentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            .xContentTypeOptions: "nosniff",
            .cacheControl: "no-store",
        ]
    }

    static func page(_ name: String, type: String) -> Response {
        guard let text = EmbeddedPage.files[name] else {
            return failure(StudioError(.notFound, "the page's file \(name) is missing from this build"))
        }
        var headers = securityHeaders
        headers[.contentType] = "\(type); charset=utf-8"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
