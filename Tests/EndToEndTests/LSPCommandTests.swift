import Foundation
import Testing

/// `redress lsp` driven by a scripted client over its standard input and output, as an editor
/// drives it: Content-Length framing, JSON-RPC, positions in UTF-16 units.
@Suite struct LSPCommandTests {
    static let shop = repositoryRoot.appendingPathComponent("rules/shop")
    static let missionURI = shop.appendingPathComponent("mission.rules").absoluteString
    static let schemaURI = shop.appendingPathComponent("schema.yaml").absoluteString
    static let draftURI = shop.appendingPathComponent("draft-not-saved.rules").absoluteString

    /// Line (0-based) and UTF-16 column of the `occurrence`th `marker` in `text`, plus `offset` units.
    static func place(_ marker: String, in text: String, offset: Int = 0) -> [String: Int] {
        for (number, line) in text.components(separatedBy: "\n").enumerated() {
            if let range = line.range(of: marker) {
                return ["line": number, "character": line[..<range.lowerBound].utf16.count + offset]
            }
        }
        return ["line": -1, "character": -1]
    }

    static func range(_ start: [String: Int], length: Int) -> [String: Any] {
        ["start": start, "end": ["line": start["line"] ?? 0, "character": (start["character"] ?? 0) + length]]
    }

    static func diagnostics(_ message: [String: Any]) -> [[String: Any]] {
        (message["params"] as? [String: Any])?["diagnostics"] as? [[String: Any]] ?? []
    }

    static func isDiagnostics(_ message: [String: Any], for uri: String) -> Bool {
        message["method"] as? String == "textDocument/publishDiagnostics" && (message["params"] as? [String: Any])?["uri"] as? String == uri
    }

    @Test func anEditorSession() throws {
        let client = try LanguageClient()
        defer { client.stop() }
        let mission = read(Self.shop.appendingPathComponent("mission.rules"))
        let schema = read(Self.shop.appendingPathComponent("schema.yaml"))

        let initialized = try #require(client.request("initialize", ["processId": NSNull(), "rootUri": repositoryRoot.absoluteString,
            "capabilities": ["textDocument": ["documentSymbol": ["hierarchicalDocumentSymbolSupport": true]]]]))
        let capabilities = (initialized["result"] as? [String: Any])?["capabilities"] as? [String: Any]
        #expect(capabilities?["positionEncoding"] as? String == "utf-16")
        #expect(capabilities?["hoverProvider"] as? Bool == true && capabilities?["documentFormattingProvider"] as? Bool == true)
        client.notify("initialized", [:])
        client.notify("textDocument/didOpen", ["textDocument": ["uri": Self.missionURI, "languageId": "redress", "version": 1, "text": mission]])

        // A misspelt field, typed as an incremental change: the diagnostic with its suggestion.
        let delay = Self.place("delay", in: mission)
        client.notify("textDocument/didChange", ["textDocument": ["uri": Self.missionURI, "version": 2],
                                                 "contentChanges": [["range": Self.range(delay, length: 5), "text": "dealy"]]])
        let published = try #require(client.wait { Self.isDiagnostics($0, for: Self.missionURI) && !Self.diagnostics($0).isEmpty })
        let diagnostic = try #require(Self.diagnostics(published).first)
        #expect(diagnostic["code"] as? String == "E0201")
        #expect((diagnostic["message"] as? String)?.contains("did you mean `shipment.delay`?") == true, "\(diagnostic)")
        #expect((diagnostic["range"] as? [String: Any])?["start"] as? [String: Int] == Self.place("shipment.dealy", in: mission.replacingOccurrences(of: "delay", with: "dealy")))

        // The quick fix, applied as the editor applies it: the diagnostic goes.
        let actions = try #require(client.request("textDocument/codeAction", ["textDocument": ["uri": Self.missionURI],
            "range": Self.range(delay, length: 0), "context": ["diagnostics": [diagnostic]]]))
        let action = try #require((actions["result"] as? [[String: Any]])?.first)
        #expect(action["kind"] as? String == "quickfix")
        let edit = try #require((((action["edit"] as? [String: Any])?["changes"] as? [String: Any])?[Self.missionURI] as? [[String: Any]])?.first)
        #expect(edit["newText"] as? String == "delay")
        client.notify("textDocument/didChange", ["textDocument": ["uri": Self.missionURI, "version": 3],
                                                 "contentChanges": [["range": edit["range"] ?? [:], "text": edit["newText"] ?? ""]]])
        #expect(client.wait { Self.isDiagnostics($0, for: Self.missionURI) && Self.diagnostics($0).isEmpty } != nil)

        // Completion after `customer.`: its fields, with their types.
        let completion = try #require(client.request("textDocument/completion", ["textDocument": ["uri": Self.missionURI],
            "position": Self.place("customer.", in: mission, offset: 9)]))
        let items = ((completion["result"] as? [String: Any])?["items"] as? [[String: Any]]) ?? []
        #expect(items.contains { $0["label"] as? String == "tier" && $0["detail"] as? String == "Tier" }, "\(items.prefix(3))")
        #expect(items.contains { $0["label"] as? String == "preferred_channel" })

        // Hover on the field, and go to its definition in schema.yaml.
        let hover = try #require(client.request("textDocument/hover", ["textDocument": ["uri": Self.missionURI],
            "position": Self.place("tier", in: mission, offset: 1)]))
        let contents = (hover["result"] as? [String: Any])?["contents"] as? [String: Any]
        #expect((contents?["value"] as? String)?.hasPrefix("**customer.tier**: `Tier`") == true, "\(hover)")
        let definition = try #require(client.request("textDocument/definition", ["textDocument": ["uri": Self.missionURI],
            "position": Self.place("delay", in: mission, offset: 2)]))
        let location = definition["result"] as? [String: Any]
        #expect(location?["uri"] as? String == Self.schemaURI)
        #expect(((location?["range"] as? [String: Any])?["start"] as? [String: Int]) == Self.place("delay: duration?", in: schema))

        // schema.yaml changed in the editor: the rules are checked against it at once.
        client.notify("textDocument/didOpen", ["textDocument": ["uri": Self.schemaURI, "languageId": "yaml", "version": 1,
                                                                "text": schema.replacingOccurrences(of: "      tier: Tier", with: "      level: Tier")]])
        let stale = try #require(client.wait { Self.isDiagnostics($0, for: Self.missionURI) && !Self.diagnostics($0).isEmpty })
        #expect((Self.diagnostics(stale).first?["message"] as? String)?.hasPrefix("unknown field `customer.tier`") == true, "\(stale)")
        client.notify("textDocument/didClose", ["textDocument": ["uri": Self.schemaURI]])
        #expect(client.wait { Self.isDiagnostics($0, for: Self.missionURI) && Self.diagnostics($0).isEmpty } != nil)

        // An unsaved draft with umlauts and a truck: positions count UTF-16 units; formatting.
        let draft = "# Verspätung über zwei Tage 🚚\nrule late_de \"Verspätet: Entschädigung 🚚\"   when shipment.dealy>2d then refund 5 EUR\n"
        client.notify("textDocument/didOpen", ["textDocument": ["uri": Self.draftURI, "languageId": "redress", "version": 1, "text": draft]])
        let draftDiagnostics = try #require(client.wait { Self.isDiagnostics($0, for: Self.draftURI) && !Self.diagnostics($0).isEmpty })
        let start = (Self.diagnostics(draftDiagnostics).first?["range"] as? [String: Any])?["start"] as? [String: Int]
        #expect(start == Self.place("shipment.dealy", in: draft), "\(draftDiagnostics)")
        #expect(start?["character"] == 50)
        let formatted = try #require(client.request("textDocument/formatting", ["textDocument": ["uri": Self.draftURI],
                                                                                  "options": ["tabSize": 2, "insertSpaces": true]]))
        let formatEdit = (formatted["result"] as? [[String: Any]])?.first
        #expect(formatEdit?["newText"] as? String == "# Verspätung über zwei Tage 🚚\nrule late_de \"Verspätet: Entschädigung 🚚\"\n  when shipment.dealy > 2d\n  then refund 5 EUR\n")
        let symbols = try #require(client.request("textDocument/documentSymbol", ["textDocument": ["uri": Self.draftURI]]))
        #expect((symbols["result"] as? [[String: Any]])?.first?["name"] as? String == "late_de")
        client.notify("textDocument/didClose", ["textDocument": ["uri": Self.draftURI]])

        // Malformed input: answered with errors, and the server goes on.
        client.sendRaw(Data("Content-Length: 9\r\n\r\n{bad json".utf8))
        #expect((client.wait { $0["error"] != nil }?["error"] as? [String: Any])?["code"] as? Int == -32700)
        client.sendRaw(Data("Content-Length: zwölf\r\n\r\n{}".utf8))
        #expect((client.wait { $0["error"] != nil }?["error"] as? [String: Any])?["code"] as? Int == -32700)
        // Noise without any header end, then a request: the request is answered.
        client.sendRaw(Data(String(repeating: "x", count: 20_000).utf8))
        let afterNoise = try #require(client.request("textDocument/documentSymbol", ["textDocument": ["uri": Self.missionURI]]))
        #expect((afterNoise["result"] as? [[String: Any]])?.first?["name"] as? String == "mission:1", "\(afterNoise)")
        let unknown = try #require(client.request("textDocument/rename", ["textDocument": ["uri": Self.missionURI]]))
        #expect((unknown["error"] as? [String: Any])?["code"] as? Int == -32601)
        let again = try #require(client.request("textDocument/hover", ["textDocument": ["uri": Self.missionURI],
            "position": Self.place("tier", in: mission, offset: 1)]))
        #expect(again["result"] is [String: Any], "\(again)")

        // Shutdown and exit: status 0.
        let shutdown = try #require(client.request("shutdown", nil))
        #expect(shutdown["result"] is NSNull)
        client.notify("exit", nil)
        #expect(client.waitForExit() == 0)
    }

    @Test func theInputEndingWithoutShutdownIsExitOne() throws {
        let client = try LanguageClient()
        defer { client.stop() }
        #expect(client.request("initialize", ["capabilities": [:]]) != nil)
        client.closeInput()
        #expect(client.waitForExit() == 1)
    }
}

/// A minimal Language Server Protocol client: frames messages, and collects what the server sends
/// on a thread of its own so that a test can wait for a message with a deadline.
final class LanguageClient: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe(), output = Pipe()
    private let lock = NSLock()
    private var received: [[String: Any]] = []
    private let arrival = DispatchSemaphore(value: 0)
    private var nextID = 1

    init() throws {
        process.executableURL = redressBinary
        process.arguments = ["lsp", "--stdio"]
        process.currentDirectoryURL = repositoryRoot
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let reader = Thread { [self] in
            var buffer = Data()
            while true {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let message = Self.extract(&buffer) {
                    lock.withLock { received.append(message) }
                    arrival.signal()
                }
            }
        }
        reader.start()
    }

    static func extract(_ buffer: inout Data) -> [String: Any]? {
        guard let end = buffer.range(of: Data("\r\n\r\n".utf8)) else { return nil }
        let header = String(decoding: buffer[buffer.startIndex..<end.lowerBound], as: UTF8.self)
        guard let length = header.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }),
              buffer.count - (end.upperBound - buffer.startIndex) >= length else { return nil }
        let body = buffer[end.upperBound..<(end.upperBound + length)]
        buffer = Data(buffer[(end.upperBound + length)...])
        return (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    }

    func sendRaw(_ data: Data) {
        input.fileHandleForWriting.write(data)
    }

    private func send(_ message: [String: Any]) {
        guard let body = try? JSONSerialization.data(withJSONObject: message) else { return }
        sendRaw(Data("Content-Length: \(body.count)\r\n\r\n".utf8) + body)
    }

    func notify(_ method: String, _ params: Any?) {
        send(["jsonrpc": "2.0", "method": method, "params": params ?? NSNull()])
    }

    func request(_ method: String, _ params: Any?) -> [String: Any]? {
        let id = lock.withLock { () -> Int in
            nextID += 1
            return nextID
        }
        send(["jsonrpc": "2.0", "id": id, "method": method, "params": params ?? NSNull()])
        return wait { $0["id"] as? Int == id }
    }

    /// The first message received (or still to come within `seconds`) that `matches`; it is taken out.
    func wait(seconds: Double = 60, _ matches: ([String: Any]) -> Bool) -> [String: Any]? {
        let deadline = DispatchTime.now() + seconds
        while true {
            let found = lock.withLock { () -> [String: Any]? in
                guard let index = received.firstIndex(where: matches) else { return nil }
                return received.remove(at: index)
            }
            if let found { return found }
            if arrival.wait(timeout: deadline) == .timedOut { return nil }
        }
    }

    func closeInput() {
        try? input.fileHandleForWriting.close()
    }

    /// The exit status, or nil when the server is still running after a minute.
    func waitForExit() -> Int32? {
        for _ in 0..<6000 where process.isRunning { usleep(10_000) }
        guard !process.isRunning, process.terminationReason == .exit else { return nil }
        return process.terminationStatus
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
