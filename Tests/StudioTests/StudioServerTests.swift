import Foundation
import Testing
@testable import RedressStudio

/// The HTTP layer, tested as a server on a free loopback port with a client that sets every
/// header: the page, JSON in and out, and the refusals that keep other sites out.
@Suite struct StudioServerTests {
    /// Starts the server on port 0, runs `test` with a client for the port it got, and stops it.
    func withServer(_ test: (HTTPClient, Studio, URL) async throws -> Void) async throws {
        let (studio, directory) = try shopStudio()
        let server = StudioServer(studio: studio, host: "127.0.0.1", port: 0)
        let (addresses, announce) = AsyncStream.makeStream(of: String.self)
        let running = Task {
            defer { announce.finish() }
            try await server.run { url in announce.yield(url) }
        }
        defer { running.cancel() }
        var port: Int? = nil
        for await url in addresses {
            port = url.split(separator: ":").last.flatMap { Int($0) }
            break
        }
        let bound = try #require(port, "the server did not start")
        try await test(HTTPClient(port: bound), studio, directory)
    }

    @Test func servesThePageWithAStrictContentSecurityPolicy() async throws {
        try await withServer { client, _, _ in
            for (path, type) in [("/", "text/html"), ("/studio.js", "text/javascript"), ("/studio.css", "text/css")] {
                let response = try await client.send("GET", path)
                #expect(response.status == 200)
                #expect(response.headers["content-type"]?.hasPrefix(type) == true)
                #expect(response.headers["content-security-policy"]?.contains("script-src 'self'") == true)
                #expect(response.text == EmbeddedPage.files[path == "/" ? "index.html" : String(path.dropFirst())])
            }
            #expect(try await client.send("GET", "/nothing.js").status == 404)
        }
    }

    @Test func theRuleSetIsListedAsData() async throws {
        try await withServer { client, _, directory in
            try "# a name to escape\n".write(to: directory.appendingPathComponent("<script>alert(1)<.rules"), atomically: true, encoding: .utf8)
            let response = try await client.send("GET", "/api/ruleset")
            #expect(response.status == 200)
            let files = (response.object["files"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
            #expect(files.contains("<script>alert(1)<.rules") && files.contains("mission.rules"))
            #expect(response.headers["content-type"]?.hasPrefix("application/json") == true)
        }
    }

    @Test func checksTheDocumentsSent() async throws {
        try await withServer { client, _, _ in
            let rule = "when shipment.dealy > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten\n"
            let response = try await client.post("/api/check", ["documents": ["probe.rules": rule]])
            #expect(response.status == 200)
            #expect(response.text.contains("E0201") && response.text.contains("did you mean `shipment.delay`?"))
        }
    }

    @Test func refusesWhatAnotherSiteCouldSend() async throws {
        try await withServer { client, _, directory in
            let save = ["documents": ["mission.rules": "# replaced\n"]]
            let body = try JSONSerialization.data(withJSONObject: save)
            // A form post or text/plain needs no permission from the browser: refused.
            #expect(try await client.send("POST", "/api/save", headers: ["Content-Type": "text/plain"], body: body).status == 415)
            // Another site's page.
            #expect(try await client.post("/api/save", save, headers: ["Origin": "http://evil.example"]).status == 403)
            // A DNS name rebound to loopback.
            #expect(try await client.post("/api/save", save, headers: ["Host": "evil.example:\(client.port)"]).status == 403)
            #expect(!text(directory.appendingPathComponent("mission.rules")).contains("# replaced"))
            // The page's own request.
            #expect(try await client.post("/api/save", save, headers: ["Origin": "http://127.0.0.1:\(client.port)"]).status == 200)
            #expect(text(directory.appendingPathComponent("mission.rules")) == "# replaced\n")
        }
    }

    @Test func refusesPathsOutOfTheRuleSet() async throws {
        try await withServer { client, _, directory in
            for name in ["../mission.rules", "/tmp/x.rules", "events/x.rules", "schema.yaml"] {
                let response = try await client.post("/api/save", ["documents": [name: "# x\n"]])
                #expect(response.status == 400, "\(name)")
                #expect((response.object["error"] as? String)?.isEmpty == false)
            }
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("events/x.rules").path))
        }
    }

    @Test func refusesMalformedAndOversizedRequests() async throws {
        try await withServer { client, _, _ in
            let malformed = try await client.send("POST", "/api/check", headers: ["Content-Type": "application/json"], body: Data("{not json".utf8))
            #expect(malformed.status == 400)
            let missing = try await client.post("/api/complete", ["documents": [:]])
            #expect(missing.status == 400)
            #expect((missing.object["error"] as? String)?.contains("missing") == true)
            let huge = String(repeating: "#", count: StudioServer.maximumRequestBytes + 1)
            #expect(try await client.post("/api/check", ["documents": ["big.rules": huge]]).status == 413)
        }
    }

    @Test func aSecondReplayIsRefusedWithConflict() async throws {
        try await withServer { client, studio, _ in
            #expect(studio.gate.enter("simulation"))
            #expect(try await client.post("/api/simulate", ["documents": [:]]).status == 409)
            #expect(try await client.post("/api/cancel", [:]).object["cancelled"] as? Bool == true)
            studio.gate.leave()
            let done = try await client.post("/api/simulate", ["documents": [:]])
            #expect(done.status == 200)
            #expect((done.object["total"] as? String)?.hasSuffix("EUR") == true)
        }
    }
}
