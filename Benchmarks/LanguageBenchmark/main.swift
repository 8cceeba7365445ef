// Measures what an editor waits for after a keystroke in a rule set of 1,000 rules (issue 16:
// under 50 ms for the diagnostics and a completion). Run from the repository root:
//
//     swift build -c release --product LanguageBenchmark
//     .build/release/LanguageBenchmark [rule count]
//
// The rule set is generated as CheckBenchmark generates it (ten files and a file of groups and
// tables, with the example shop's schema and catalog), held in memory; one file is open in the
// "editor". A new rule is typed into it one character at a time (most of the time the file does
// not parse), then one character is changed in the middle of a rule, then one in a table that
// rules read. After each keystroke the time is taken for
//   - the services: the rule set's diagnostics and a completion at the cursor, and
//   - the protocol: the `didChange` message, the `publishDiagnostics` that follow and a
//     `textDocument/completion` request, JSON in and out (what `redress lsp` does, without the pipe);
// and, for comparison, `RuleSetLoader.check` of the whole rule set from its texts (nothing kept).
import Foundation
import GeneratedRuleSet
import RedressLanguageServices
import RedressSemantics
import RedressSyntax

let ruleCount = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 1_000 : 1_000
let shop = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("rules/shop")
guard let schema = try? String(contentsOf: shop.appendingPathComponent("schema.yaml"), encoding: .utf8),
      let catalog = try? String(contentsOf: shop.appendingPathComponent("catalog.yaml"), encoding: .utf8) else {
    FileHandle.standardError.write(Data("run from the repository root (rules/shop/schema.yaml not found)\n".utf8))
    exit(2)
}
let directory = "/benchmark"
var files = ["\(directory)/schema.yaml": schema, "\(directory)/catalog.yaml": catalog]
for (name, text) in GeneratedRuleSet.files(ruleCount: ruleCount) { files["\(directory)/\(name)"] = text }
let edited = "\(directory)/generated_0.rules"
let original = files[edited] ?? ""
print("\(ruleCount) rules in \(files.count - 2) files (\(files.values.map(\.utf8.count).reduce(0, +) / 1024) KiB with schema and catalog); editing \(edited) (\(original.utf8.count / 1024) KiB)")

func milliseconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
}

/// The position just after the last character of `text`.
func end(of text: String) -> TextPosition {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    return TextPosition(line: lines.count - 1, character: lines.last?.utf16.count ?? 0)
}

func summary(_ name: String, _ times: [Double]) -> String {
    let sorted = times.sorted()
    guard !sorted.isEmpty else { return name }
    let median = sorted[sorted.count / 2], p90 = sorted[sorted.count * 9 / 10], worst = sorted[sorted.count - 1]
    return String(format: "%@ median %.1f ms, 90th percentile %.1f ms, max %.1f ms", name, median, p90, worst)
}

// The keystrokes: a new rule typed at the end of the file, then `24h` → `25h` in its first rule.
let typed = "\nrule typed_here \"typed in the editor\"\n  on shipment.delivered\n  when shipment.delay > 2d and customer.tier == VIP\n  then refund 5 EUR, send apology\n"
struct Keystroke { var range: TextRange; var text: String; var textAfter: String; var cursor: TextPosition }
var keystrokes: [Keystroke] = []
var current = original
for character in typed {
    let at = end(of: current)
    current.append(character)
    keystrokes.append(Keystroke(range: TextRange(start: at, end: at), text: String(character), textAfter: current, cursor: end(of: current)))
}
if let range = current.range(of: "> 24h") {
    let lineStart = current[..<range.lowerBound].lastIndex(of: "\n").map { current.index(after: $0) } ?? current.startIndex
    let line = current[..<range.lowerBound].filter { $0 == "\n" }.count
    let column = current[lineStart..<range.lowerBound].utf16.count + 3
    let place = TextRange(start: TextPosition(line: line, character: column), end: TextPosition(line: line, character: column + 1))
    current.replaceSubrange(current.index(range.lowerBound, offsetBy: 3)..<current.index(range.lowerBound, offsetBy: 4), with: "5")
    keystrokes.append(Keystroke(range: place, text: "5", textAfter: current, cursor: place.end))
}

// Services.
let workspace = Workspace(files: .memory(files))
workspace.open(edited, text: original)
let cold = milliseconds { _ = workspace.diagnostics(ofRuleSet: directory) }
print(String(format: "first diagnostics of the rule set (parse all, load YAML, check): %.1f ms", cold))
var serviceTimes: [Double] = [], diagnosticTimes: [Double] = [], completionTimes: [Double] = []
var problems = 0, items = 0
for keystroke in keystrokes {
    var diagnostics: Double = 0, completion: Double = 0
    let total = milliseconds {
        workspace.edit(edited, range: keystroke.range, newText: keystroke.text)
        diagnostics = milliseconds { problems = workspace.diagnostics(ofRuleSet: directory).values.map(\.count).reduce(0, +) }
        completion = milliseconds { items = workspace.completions(in: edited, at: keystroke.cursor)?.items.count ?? 0 }
    }
    serviceTimes.append(total)
    diagnosticTimes.append(diagnostics)
    completionTimes.append(completion)
}
print("\(keystrokes.count) keystrokes; after the last: \(problems) diagnostics, \(items) completion items")
print(summary("  services, diagnostics + completion:", serviceTimes))
print(summary("    of which diagnostics:            ", diagnosticTimes))
print(summary("    of which completion:             ", completionTimes))

// A keystroke in a declaration (a table's value, `DE -> 2d` → `3d` and back): the rules of every
// file may read it, so all of them are checked again.
let declarationsPath = "\(directory)/declarations.rules"
let declarationsText = files[declarationsPath] ?? ""
workspace.open(declarationsPath, text: declarationsText)
_ = workspace.diagnostics(ofRuleSet: directory)
var declarationTimes: [Double] = []
if let range = declarationsText.range(of: "DE -> 2d") {
    let line = declarationsText[..<range.lowerBound].filter { $0 == "\n" }.count
    let column = declarationsText[..<range.lowerBound].split(separator: "\n", omittingEmptySubsequences: false).last.map { $0.utf16.count } ?? 0
    let digit = TextRange(start: TextPosition(line: line, character: column + 6), end: TextPosition(line: line, character: column + 7))
    for round in 0..<20 {
        declarationTimes.append(milliseconds {
            workspace.edit(declarationsPath, range: digit, newText: round % 2 == 0 ? "3" : "2")
            _ = workspace.diagnostics(ofRuleSet: directory)
            _ = workspace.completions(in: declarationsPath, at: digit.end)
        })
    }
}
print(summary("  services, a keystroke in a declaration (every rule checked again):", declarationTimes))

// The protocol.
let server = LanguageServer(workspace: Workspace(files: .memory(files)), version: "benchmark")
let uri = "file://\(edited)"
func message(_ value: JSONValue) -> [UInt8] { value.encoded() }
_ = server.handle(message(["jsonrpc": "2.0", "id": 1, "method": "initialize", "params": ["capabilities": [:]]]))
_ = server.handle(message(["jsonrpc": "2.0", "method": "initialized", "params": [:]]))
_ = server.handle(message(["jsonrpc": "2.0", "method": "textDocument/didOpen",
                           "params": ["textDocument": ["uri": .string(uri), "languageId": "redress", "version": 1, "text": .string(original)]]]))
_ = server.diagnosticsToPublish()
var protocolTimes: [Double] = []
var bytesOut = 0
for (number, keystroke) in keystrokes.enumerated() {
    func json(_ p: TextPosition) -> JSONValue { ["line": .integer(Int64(p.line)), "character": .integer(Int64(p.character))] }
    let change: JSONValue = ["jsonrpc": "2.0", "method": "textDocument/didChange", "params": [
        "textDocument": ["uri": .string(uri), "version": .integer(Int64(number + 2))],
        "contentChanges": [["range": ["start": json(keystroke.range.start), "end": json(keystroke.range.end)], "text": .string(keystroke.text)]]]]
    let completion: JSONValue = ["jsonrpc": "2.0", "id": .integer(Int64(number + 2)), "method": "textDocument/completion",
                                 "params": ["textDocument": ["uri": .string(uri)], "position": json(keystroke.cursor)]]
    let changeBytes = message(change), completionBytes = message(completion)
    protocolTimes.append(milliseconds {
        var out = server.handle(changeBytes)
        out += server.diagnosticsToPublish()
        out += server.handle(completionBytes)
        bytesOut = out.map { $0.encoded().count }.reduce(0, +)
    })
}
print(summary("  protocol, didChange + publishDiagnostics + completion, JSON in and out:", protocolTimes) + " (\(bytesOut) bytes out after the last)")

// Nothing kept: the whole rule set parsed and checked from its texts, as `check` does.
var sources = files.filter { $0.key.hasSuffix(".rules") }.map { SourceFile(path: $0.key, text: $0.key == edited ? current : $0.value) }
sources.sort { $0.path < $1.path }
var fullTimes: [Double] = []
for _ in 0..<9 {
    fullTimes.append(milliseconds {
        _ = RuleSetLoader.check(rules: sources, schema: SourceFile(path: "\(directory)/schema.yaml", text: schema),
                                catalog: SourceFile(path: "\(directory)/catalog.yaml", text: catalog))
    })
}
print(summary("  for comparison, check of the whole rule set from its texts (nothing kept):", fullTimes))
let worst = max(serviceTimes.max() ?? 0, protocolTimes.max() ?? 0, declarationTimes.max() ?? 0)
print(worst < 50 ? String(format: "target met: every keystroke answered in under 50 ms (slowest %.1f ms)", worst)
                 : String(format: "TARGET MISSED: 50 ms per keystroke (%.1f ms)", worst))
