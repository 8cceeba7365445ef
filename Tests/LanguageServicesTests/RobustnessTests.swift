import Foundation
import RedressLanguageServices
import RedressSyntax
import Testing

/// Half-typed text at every place: the services answer (or say nothing), they never trap.
@Suite struct RobustnessTests {
    func everyService(_ workspace: Workspace, _ path: String, at position: TextPosition) {
        _ = workspace.completions(in: path, at: position)
        _ = workspace.hover(in: path, at: position)
        _ = workspace.definition(in: path, at: position)
        _ = workspace.codeActions(in: path, range: TextRange(start: position, end: position), includeFixAll: true)
    }

    @Test(arguments: ["delivery.rules", "returns.rules"])
    func everyPositionOfAnExampleFile(_ name: String) throws {
        let workspace = shopWorkspace()
        let source = try #require(workspace.source("/shop/" + name))
        for offset in 0...source.bytes.count where offset == source.bytes.count || source.bytes[offset] & 0xC0 != 0x80 {
            everyService(workspace, "/shop/" + name, at: source.position(of: offset))
        }
    }

    @Test func truncatedAndSplicedText() throws {
        // A linear congruential sequence: the same inputs on every run.
        var state: UInt64 = 16
        func random(upTo bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound + 1))
        }
        let workspace = shopWorkspace()
        let texts = ["delivery.rules", "streaming.rules", "service.rules", "alarms.rules"].compactMap { workspace.source("/shop/" + $0)?.bytes }
        for round in 0..<200 {
            let text = texts[round % texts.count]
            // A prefix (typing at the end), or two pieces spliced (an edit in the middle), with some umlauts.
            let cut = random(upTo: text.count)
            var bytes = Array(text[0..<cut])
            if round % 3 == 0 {
                let from = random(upTo: text.count)
                bytes += Array("ä🚚".utf8) + Array(text[from...])
            }
            let path = "/shop/fuzz.rules"
            workspace.open(path, text: String(decoding: bytes, as: UTF8.self))
            let source = try #require(workspace.source(path))
            _ = workspace.diagnostics(of: path)
            _ = workspace.documentSymbols(in: path)
            _ = workspace.formatting(of: path)
            for offset in [source.bytes.count, cut, random(upTo: source.bytes.count)] {
                everyService(workspace, path, at: source.position(of: min(offset, source.bytes.count)))
            }
            everyService(workspace, path, at: TextPosition(line: 10_000, character: 10_000))
        }
    }

    @Test func deeplyNestedJSONIsAParseError() {
        let server = LanguageServer(workspace: shopWorkspace(), version: "test")
        let nested = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        #expect(server.handle(Array(nested.utf8)).first?["error"]?["code"]?.integer == -32700)
        let deepParams = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":" + nested + "}"
        #expect(server.handle(Array(deepParams.utf8)).first?["error"]?["code"]?.integer == -32700)
    }
}
