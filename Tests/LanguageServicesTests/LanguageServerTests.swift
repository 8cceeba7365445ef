import Foundation
import RedressLanguageServices
import Testing

/// The protocol without a process: messages in, messages out.
@Suite struct LanguageServerTests {
    static let schemaURI = "file:///shop/schema.yaml"
    static let missionURI = "file:///shop/mission.rules"

    func started(_ disk: MemoryDisk? = nil, capabilities: JSONValue = [:]) -> LanguageServer {
        let files = disk?.access ?? shopWorkspace().files
        let server = LanguageServer(workspace: Workspace(files: files), version: "test")
        _ = server.handle(["jsonrpc": "2.0", "id": 1, "method": "initialize", "params": ["capabilities": capabilities]])
        _ = server.handle(["jsonrpc": "2.0", "method": "initialized", "params": [:]])
        return server
    }

    func open(_ server: LanguageServer, _ uri: String, _ text: String, version: Int64 = 1) {
        _ = server.handle(["jsonrpc": "2.0", "method": "textDocument/didOpen",
                           "params": ["textDocument": ["uri": .string(uri), "languageId": "redress", "version": .integer(version), "text": .string(text)]]])
    }

    func request(_ server: LanguageServer, _ method: String, _ params: JSONValue, id: Int64 = 7) -> JSONValue? {
        server.handle(["jsonrpc": "2.0", "id": .integer(id), "method": .string(method), "params": params]).first
    }

    static func diagnostics(_ messages: [JSONValue], for uri: String) -> [JSONValue]? {
        messages.last { $0["method"]?.string == "textDocument/publishDiagnostics" && $0["params"]?["uri"]?.string == uri }?["params"]?["diagnostics"]?.array
    }

    @Test func initializeAnswersWithTheCapabilities() {
        let server = LanguageServer(workspace: shopWorkspace(), version: "9.9")
        let answer = server.handle(["jsonrpc": "2.0", "id": 1, "method": "initialize", "params": ["capabilities": [:]]])
        let capabilities = answer.first?["result"]?["capabilities"]
        #expect(capabilities?["positionEncoding"]?.string == "utf-16")
        #expect(capabilities?["textDocumentSync"]?["change"]?.integer == 2)
        for provider in ["hoverProvider", "definitionProvider", "documentSymbolProvider", "documentFormattingProvider"] {
            #expect(capabilities?[provider]?.bool == true, "\(provider)")
        }
        #expect(answer.first?["result"]?["serverInfo"]?["version"]?.string == "9.9")
        #expect(server.handle(["jsonrpc": "2.0", "id": 2, "method": "initialize", "params": [:]]).first?["error"]?["code"]?.integer == -32600)
    }

    @Test func errorsAreAnswersNotCrashes() {
        let waiting = LanguageServer(workspace: shopWorkspace(), version: "test")
        #expect(waiting.handle(["jsonrpc": "2.0", "id": 1, "method": "textDocument/hover", "params": [:]]).first?["error"]?["code"]?.integer == -32002)
        let server = started()
        #expect(server.handle(Array("{not json".utf8)).first?["error"]?["code"]?.integer == -32700)
        #expect(server.handle(Array("[1, 2]".utf8)).first?["error"]?["code"]?.integer == -32600)
        #expect(server.handle(["jsonrpc": "2.0", "id": ["x": 1], "method": "shutdown"]).first?["error"]?["code"]?.integer == -32600)
        let unknown = server.handle(["jsonrpc": "2.0", "id": "a", "method": "textDocument/rename", "params": [:]])
        #expect(unknown.first?["error"]?["code"]?.integer == -32601 && unknown.first?["id"]?.string == "a")
        #expect(request(server, "textDocument/hover", ["textDocument": ["uri": .string(Self.missionURI)]])?["error"]?["code"]?.integer == -32602)
        #expect(request(server, "textDocument/hover", ["position": ["line": 0, "character": 0]])?["error"]?["code"]?.integer == -32602)
        #expect(request(server, "textDocument/codeAction", ["textDocument": ["uri": .string(Self.missionURI)], "range": "x"])?["error"]?["code"]?.integer == -32602)
        // Unknown notifications and answers to the server's own requests are ignored.
        #expect(server.handle(["jsonrpc": "2.0", "method": "$/cancelRequest", "params": ["id": 3]]).isEmpty)
        #expect(server.handle(["jsonrpc": "2.0", "id": "redress-watch-files", "result": nil]).isEmpty)
    }

    @Test func malformedParamsNeverCrash() {
        // Every method with parameters of every wrong kind.
        let server = started()
        open(server, Self.missionURI, "when shipment.delay > 2d then refund 5 EUR\n")
        let wrong: [JSONValue] = [nil, 1, "x", true, [], [:], ["textDocument": 1], ["textDocument": ["uri": 5]], ["textDocument": ["uri": "http://x"]],
                                  ["textDocument": ["uri": .string(Self.missionURI)], "position": ["line": -1, "character": 2]],
                                  ["textDocument": ["uri": .string(Self.missionURI)], "position": ["line": 99999999, "character": 99999999]],
                                  ["textDocument": ["uri": .string(Self.missionURI), "version": "x"], "contentChanges": [["range": 1, "text": 2], [:], 3]],
                                  ["textDocument": ["uri": .string(Self.missionURI)], "contentChanges": [["range": ["start": ["line": 5, "character": 0], "end": ["line": 0, "character": 0]], "text": "x"]]]]
        let methods = ["textDocument/completion", "textDocument/hover", "textDocument/definition", "textDocument/documentSymbol",
                       "textDocument/formatting", "textDocument/codeAction", "textDocument/didOpen", "textDocument/didChange",
                       "textDocument/didSave", "textDocument/didClose", "workspace/didChangeWatchedFiles"]
        var number: Int64 = 100
        for method in methods {
            for params in wrong {
                number += 1
                for answer in server.handle(["jsonrpc": "2.0", "id": .integer(number), "method": .string(method), "params": params]) {
                    #expect(answer["id"] == .integer(number))
                }
                _ = server.handle(["jsonrpc": "2.0", "method": .string(method), "params": params])
                _ = server.diagnosticsToPublish()
            }
        }
    }

    @Test func diagnosticsFollowTheEditsWithTheirVersion() throws {
        let server = started()
        let text = "when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten\n"
        open(server, Self.missionURI, text)
        // Clean: nothing to publish for the file.
        #expect(Self.diagnostics(server.diagnosticsToPublish(), for: Self.missionURI) == nil)
        _ = server.handle(["jsonrpc": "2.0", "method": "textDocument/didChange", "params": [
            "textDocument": ["uri": .string(Self.missionURI), "version": 2],
            "contentChanges": [["range": ["start": ["line": 0, "character": 17], "end": ["line": 0, "character": 19]], "text": "ya"]]]])
        let published = server.diagnosticsToPublish()
        let found = try #require(Self.diagnostics(published, for: Self.missionURI))
        #expect(found.first?["code"]?.string == "E0201" && found.first?["message"]?.string?.hasPrefix("unknown field `shipment.delya`") == true)
        #expect(published.last?["params"]?["version"]?.integer == 2)
        // Nothing new, nothing sent.
        #expect(server.diagnosticsToPublish().isEmpty)
        // The fix as a code action, applied as the client would.
        let actions = try #require(request(server, "textDocument/codeAction", [
            "textDocument": ["uri": .string(Self.missionURI)], "range": ["start": ["line": 0, "character": 16], "end": ["line": 0, "character": 16]],
            "context": ["diagnostics": .array(found)]])?["result"]?.array)
        let edit = try #require(actions.first?["edit"]?["changes"]?[Self.missionURI]?.array?.first)
        #expect(actions.first?["title"]?.string == "Change to `delay` (E0201)" && edit["newText"]?.string == "delay")
        _ = server.handle(["jsonrpc": "2.0", "method": "textDocument/didChange", "params": [
            "textDocument": ["uri": .string(Self.missionURI), "version": 3],
            "contentChanges": [["range": edit["range"] ?? nil, "text": edit["newText"] ?? nil]]]])
        #expect(Self.diagnostics(server.diagnosticsToPublish(), for: Self.missionURI) == [])
    }

    @Test func aChangedSchemaRepublishesTheRules() throws {
        let server = started()
        open(server, Self.missionURI, "when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten\n")
        _ = server.diagnosticsToPublish()
        let schema = try #require(shopWorkspace().source("/shop/schema.yaml")).text
        open(server, Self.schemaURI, schema.replacingOccurrences(of: "Tier: [Standard, Plus, VIP]", with: "Tier: [Standard, Plus, Gold]"))
        let found = try #require(Self.diagnostics(server.diagnosticsToPublish(), for: Self.missionURI))
        #expect(found.first?["code"]?.string == "E0204", "\(found)")
        // Typing in the schema: `Gold` back to `VIP`.
        let gold = try #require(schema.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("Tier: [Standard, Plus, VIP]") })
        let column = Int64("  Tier: [Standard, Plus, ".utf16.count)
        _ = server.handle(["jsonrpc": "2.0", "method": "textDocument/didChange", "params": [
            "textDocument": ["uri": .string(Self.schemaURI), "version": 2],
            "contentChanges": [["range": ["start": ["line": .integer(Int64(gold)), "character": .integer(column)],
                                          "end": ["line": .integer(Int64(gold)), "character": .integer(column + 4)]], "text": "VIP"]]]])
        #expect(Self.diagnostics(server.diagnosticsToPublish(), for: Self.missionURI) == [])
        _ = server.handle(["jsonrpc": "2.0", "method": "textDocument/didChange", "params": [
            "textDocument": ["uri": .string(Self.schemaURI), "version": 3],
            "contentChanges": [["text": .string(schema.replacingOccurrences(of: "Tier: [Standard, Plus, VIP]", with: "Tier: [Standard, Plus, Gold]"))]]]])
        #expect(Self.diagnostics(server.diagnosticsToPublish(), for: Self.missionURI)?.first?["code"]?.string == "E0204")
        // Closing the schema without saving: the one on disk counts again.
        _ = server.handle(["jsonrpc": "2.0", "method": "textDocument/didClose", "params": ["textDocument": ["uri": .string(Self.schemaURI)]]])
        #expect(Self.diagnostics(server.diagnosticsToPublish(), for: Self.missionURI) == [])
    }

    @Test func aSchemaChangedOnDiskIsReadAgain() throws {
        var files: [String: String] = [:]
        for path in ["/shop/schema.yaml", "/shop/catalog.yaml", "/shop/mission.rules"] { files[path] = shopWorkspace().source(path)?.text }
        let disk = MemoryDisk(files)
        let server = started(disk, capabilities: ["workspace": ["didChangeWatchedFiles": ["dynamicRegistration": true]]])
        open(server, Self.missionURI, disk["/shop/mission.rules"] ?? "")
        #expect(server.diagnosticsToPublish().isEmpty)
        disk["/shop/schema.yaml"] = disk["/shop/schema.yaml"]?.replacingOccurrences(of: "      delay: duration?", with: "      lateness: duration?")
        _ = server.handle(["jsonrpc": "2.0", "method": "workspace/didChangeWatchedFiles",
                           "params": ["changes": [["uri": .string(Self.schemaURI), "type": 2]]]])
        let found = try #require(Self.diagnostics(server.diagnosticsToPublish(), for: Self.missionURI))
        #expect(found.first?["message"]?.string?.hasPrefix("unknown field `shipment.delay`") == true, "\(found)")
    }

    @Test func theWatcherIsRegisteredWhenTheClientCan() {
        let server = LanguageServer(workspace: shopWorkspace(), version: "test")
        _ = server.handle(["jsonrpc": "2.0", "id": 1, "method": "initialize",
                           "params": ["capabilities": ["workspace": ["didChangeWatchedFiles": ["dynamicRegistration": true]]]]])
        let registration = server.handle(["jsonrpc": "2.0", "method": "initialized", "params": [:]])
        #expect(registration.first?["method"]?.string == "client/registerCapability")
    }

    @Test func closingTheLastFileClearsItsDiagnostics() throws {
        let server = started()
        open(server, Self.missionURI, "when shipment.dealy > 2d then refund 5 EUR\n")
        #expect(Self.diagnostics(server.diagnosticsToPublish(), for: Self.missionURI)?.isEmpty == false)
        _ = server.handle(["jsonrpc": "2.0", "method": "textDocument/didClose", "params": ["textDocument": ["uri": .string(Self.missionURI)]]])
        #expect(Self.diagnostics(server.diagnosticsToPublish(), for: Self.missionURI) == [])
    }

    @Test func shutdownThenExit() {
        let server = started()
        #expect(server.handle(["jsonrpc": "2.0", "id": 9, "method": "shutdown"]).first?["result"] == .null)
        #expect(request(server, "textDocument/hover", [:])?["error"]?["code"]?.integer == -32600)
        _ = server.handle(["jsonrpc": "2.0", "method": "exit"])
        #expect(server.exitCode == 0)
        let abrupt = started()
        _ = abrupt.handle(["jsonrpc": "2.0", "method": "exit"])
        #expect(abrupt.exitCode == 1)
    }

    @Test func symbolsFlatOrNested() throws {
        let nested = started(capabilities: ["textDocument": ["documentSymbol": ["hierarchicalDocumentSymbolSupport": true]]])
        let params: JSONValue = ["textDocument": ["uri": "file:///shop/delivery.rules"]]
        let first = try #require(request(nested, "textDocument/documentSymbol", params)?["result"]?.array?.first)
        #expect(first["name"]?.string == "late_threshold" && first["selectionRange"] != nil && first["detail"]?.string == "= 2d")
        let flat = try #require(request(started(), "textDocument/documentSymbol", params)?["result"]?.array?.first)
        #expect(flat["location"]?["uri"]?.string == "file:///shop/delivery.rules")
    }

    @Test func uriEscapesAreDecoded() {
        #expect(LanguageServer.path(fromURI: "file:///home/Kundenservice/R%C3%BCckerstattung%20neu/a.rules") == "/home/Kundenservice/Rückerstattung neu/a.rules")
        #expect(LanguageServer.path(fromURI: "untitled:Untitled-1") == nil)
    }
}
