import Foundation
import RedressSemantics
import RedressSyntax

/// The Language Server Protocol (3.17) on the language services: it reads one JSON-RPC message
/// at a time and answers with the messages to send back. The transport (framing over stdio) is
/// the command line's; everything here is plain data in, plain data out, so it is tested without
/// a process.
///
/// Diagnostics are not sent with each change: `diagnosticsToPublish()` is asked when no more input
/// is waiting, so a burst of keystrokes is checked once.
public final class LanguageServer {
    public let workspace: Workspace
    let version: String

    enum Phase { case waitingForInitialize, running, shutDown }
    private var phase = Phase.waitingForInitialize
    /// Set by the `exit` notification: 0 after `shutdown`, 1 without (as the protocol asks).
    public private(set) var exitCode: Int32?
    public var hasShutDown: Bool { phase == .shutDown }

    /// The URIs the client used, so that answers name files as the client does.
    private var uris: [String: String] = [:]
    private var documentVersions: [String: Int] = [:]
    /// Rule sets whose diagnostics may have changed since they were last published.
    private var pending: Set<String> = []
    /// What was last published per file (an empty list is not kept), and which files each rule set published for.
    private var published: [String: JSONValue] = [:]
    private var publishedFiles: [String: Set<String>] = [:]
    private var clientSupportsHierarchicalSymbols = false
    private var clientRegistersWatchers = false

    public init(workspace: Workspace = Workspace(), version: String) {
        self.workspace = workspace
        self.version = version
    }

    // MARK: - Messages

    public enum ErrorCode: Int64, Sendable {
        case parseError = -32700, invalidRequest = -32600, methodNotFound = -32601, invalidParams = -32602
        case internalError = -32603, serverNotInitialized = -32002
    }

    struct Failure: Error {
        var code: ErrorCode
        var message: String
    }

    /// A message body as it arrived; bodies that are not JSON get a parse error.
    public func handle(_ body: [UInt8]) -> [JSONValue] {
        guard let message = JSONValue.parse(body) else {
            return [Self.error(id: .null, .parseError, "the message is not valid JSON")]
        }
        return handle(message)
    }

    public func handle(_ message: JSONValue) -> [JSONValue] {
        guard message.isObject else { return [Self.error(id: .null, .invalidRequest, "a message must be a JSON object")] }
        let id = message["id"]
        guard let method = message["method"]?.string else {
            // A response to a request of ours (the watcher registration): nothing to do.
            if id != nil, message["result"] != nil || message["error"] != nil { return [] }
            return [Self.error(id: Self.validID(id) ?? .null, .invalidRequest, "a message needs a `method`")]
        }
        let params = message["params"]
        guard let id else { return notification(method, params) }
        guard let requestID = Self.validID(id) else {
            return [Self.error(id: .null, .invalidRequest, "a request id must be a number or a string")]
        }
        do {
            var extra: [JSONValue] = []
            let result = try request(method, params, extra: &extra)
            return [["jsonrpc": "2.0", "id": requestID, "result": result]] + extra
        } catch let failure as Failure {
            return [Self.error(id: requestID, failure.code, failure.message)]
        } catch {
            return [Self.error(id: requestID, .internalError, "\(error)")]
        }
    }

    static func validID(_ id: JSONValue?) -> JSONValue? {
        switch id {
        case .integer?, .string?: return id
        case .number(let value)? where value == value.rounded(): return id
        default: return nil
        }
    }

    public static func error(id: JSONValue, _ code: ErrorCode, _ message: String) -> JSONValue {
        ["jsonrpc": "2.0", "id": id, "error": ["code": .integer(code.rawValue), "message": .string(message)]]
    }

    static func notificationMessage(_ method: String, _ params: JSONValue) -> JSONValue {
        ["jsonrpc": "2.0", "method": .string(method), "params": params]
    }

    private func request(_ method: String, _ params: JSONValue?, extra: inout [JSONValue]) throws -> JSONValue {
        switch phase {
        case .waitingForInitialize where method != "initialize":
            throw Failure(code: .serverNotInitialized, message: "the server waits for `initialize`")
        case .shutDown:
            throw Failure(code: .invalidRequest, message: "the server is shut down; only `exit` is left")
        default: break
        }
        switch method {
        case "initialize":
            guard phase == .waitingForInitialize else { throw Failure(code: .invalidRequest, message: "`initialize` was already received") }
            phase = .running
            let capabilities = params?["capabilities"]
            clientSupportsHierarchicalSymbols = capabilities?["textDocument"]?["documentSymbol"]?["hierarchicalDocumentSymbolSupport"]?.bool == true
            clientRegistersWatchers = capabilities?["workspace"]?["didChangeWatchedFiles"]?["dynamicRegistration"]?.bool == true
            return initializeResult()
        case "shutdown":
            phase = .shutDown
            return .null
        case "textDocument/completion":
            let (path, position) = try documentPosition(params)
            guard let completions = workspace.completions(in: path, at: position) else { return .null }
            return ["isIncomplete": false, "items": .array(completions.items.enumerated().map { index, item in
                completionItem(item, index: index, range: completions.replacing)
            })]
        case "textDocument/hover":
            let (path, position) = try documentPosition(params)
            guard let hover = workspace.hover(in: path, at: position) else { return .null }
            return ["contents": ["kind": "markdown", "value": .string(hover.markdown)], "range": Self.json(hover.range)]
        case "textDocument/definition":
            let (path, position) = try documentPosition(params)
            guard let location = workspace.definition(in: path, at: position) else { return .null }
            return json(location)
        case "textDocument/documentSymbol":
            let path = try documentPath(params)
            let symbols = workspace.documentSymbols(in: path)
            if clientSupportsHierarchicalSymbols {
                return .array(symbols.map { symbol in
                    var object: [String: JSONValue] = ["name": .string(symbol.name), "kind": .integer(Self.symbolKind(symbol.kind)),
                                                       "range": Self.json(symbol.range), "selectionRange": Self.json(symbol.selectionRange)]
                    if let detail = symbol.detail { object["detail"] = .string(detail) }
                    return .object(object)
                })
            }
            return .array(symbols.map { symbol in
                ["name": .string(symbol.name), "kind": .integer(Self.symbolKind(symbol.kind)),
                 "location": json(FileLocation(path: path, range: symbol.range))]
            })
        case "textDocument/formatting":
            let path = try documentPath(params)
            guard let edits = workspace.formatting(of: path) else { return .null }
            return .array(edits.map(Self.json))
        case "textDocument/codeAction":
            let path = try documentPath(params)
            guard let range = Self.range(params?["range"]) else { throw Failure(code: .invalidParams, message: "`range` is missing or not a range") }
            let only = params?["context"]?["only"]?.array?.compactMap(\.string)
            func wanted(_ kind: CodeAction.Kind) -> Bool {
                guard let only else { return true }
                return only.contains { kind.rawValue == $0 || kind.rawValue.hasPrefix($0 + ".") }
            }
            let actions = workspace.codeActions(in: path, range: range, includeFixAll: wanted(.fixAll))
                .filter { wanted($0.kind) && ($0.kind != .fixAll || only != nil || $0.edits.count > 1) }
            return .array(actions.map(codeAction))
        default:
            throw Failure(code: .methodNotFound, message: "`\(method)` is not a method this server knows")
        }
    }

    private func notification(_ method: String, _ params: JSONValue?) -> [JSONValue] {
        if method == "exit" {
            exitCode = phase == .shutDown ? 0 : 1
            return []
        }
        // Before `initialize` and after `shutdown`, notifications are dropped (the protocol says so).
        guard phase == .running else { return [] }
        switch method {
        case "initialized":
            return clientRegistersWatchers ? [registerWatchers()] : []
        case "textDocument/didOpen":
            guard let document = params?["textDocument"], let uri = document["uri"]?.string, let path = Self.path(fromURI: uri),
                  let text = document["text"]?.string else { return [] }
            uris[path] = uri
            documentVersions[path] = document["version"]?.integer
            workspace.open(path, text: text)
            affects(path)
        case "textDocument/didChange":
            guard let document = params?["textDocument"], let uri = document["uri"]?.string, let path = Self.path(fromURI: uri),
                  workspace.isOpen(path), let changes = params?["contentChanges"]?.array else { return [] }
            for change in changes {
                guard let text = change["text"]?.string else { continue }
                if let range = Self.range(change["range"]) {
                    workspace.edit(path, range: range, newText: text)
                } else {
                    workspace.update(path, text: text)
                }
            }
            documentVersions[path] = document["version"]?.integer
            affects(path)
        case "textDocument/didSave":
            guard let uri = params?["textDocument"]?["uri"]?.string, let path = Self.path(fromURI: uri) else { return [] }
            if let text = params?["text"]?.string { workspace.update(path, text: text) }
            affects(path)
        case "textDocument/didClose":
            guard let uri = params?["textDocument"]?["uri"]?.string, let path = Self.path(fromURI: uri) else { return [] }
            affects(path)
            workspace.close(path)
            documentVersions[path] = nil
        case "workspace/didChangeWatchedFiles":
            for change in params?["changes"]?.array ?? [] {
                guard let uri = change["uri"]?.string, let path = Self.path(fromURI: uri) else { continue }
                // Before and after: a schema.yaml that appears or goes can move rule sets to another one.
                affects(path)
                workspace.fileChangedOnDisk(path)
                affects(path)
            }
        default:
            break  // `$/cancelRequest`, `$/setTrace` and anything else: answers go out in order anyway.
        }
        return []
    }

    /// Marks the rule sets a file is part of for publishing.
    private func affects(_ path: String) {
        for directory in workspace.ruleSetDirectories(for: path) { pending.insert(directory) }
    }

    // MARK: - Diagnostics

    /// The rule sets with a file open in the editor.
    private var activeRuleSets: Set<String> {
        Set(workspace.openPaths.flatMap { workspace.ruleSetDirectories(for: $0) })
    }

    /// `textDocument/publishDiagnostics` for every file whose diagnostics changed since they were
    /// last sent (the rule files of a rule set, its schema and its catalog); files of rule sets
    /// no longer open are cleared.
    public func diagnosticsToPublish() -> [JSONValue] {
        guard phase == .running, !pending.isEmpty else { return [] }
        let active = activeRuleSets
        var messages: [JSONValue] = []
        for directory in pending.sorted() {
            var current: [String: JSONValue] = [:]
            if active.contains(directory) {
                for (path, diagnostics) in workspace.diagnostics(ofRuleSet: directory) where !diagnostics.isEmpty {
                    current[path] = .array(diagnostics.map(diagnostic))
                }
            } else {
                workspace.forget(ruleSet: directory)
            }
            let paths = Set(current.keys).union(publishedFiles[directory] ?? [])
            for path in paths.sorted() {
                let list = current[path] ?? .array([])
                guard list != (published[path] ?? .array([])) else { continue }
                published[path] = current[path]
                var params: [String: JSONValue] = ["uri": .string(uri(path)), "diagnostics": list]
                if let version = documentVersions[path] { params["version"] = .integer(Int64(version)) }
                messages.append(Self.notificationMessage("textDocument/publishDiagnostics", .object(params)))
            }
            publishedFiles[directory] = Set(current.keys)
        }
        pending = []
        return messages
    }

    // MARK: - To and from the protocol's shapes

    private func initializeResult() -> JSONValue {
        [
            "capabilities": [
                "positionEncoding": "utf-16",
                "textDocumentSync": ["openClose": true, "change": 2, "save": ["includeText": false]],
                "completionProvider": ["triggerCharacters": ["."], "resolveProvider": false],
                "hoverProvider": true,
                "definitionProvider": true,
                "documentSymbolProvider": true,
                "documentFormattingProvider": true,
                "codeActionProvider": ["codeActionKinds": ["quickfix", "source.fixAll"]],
            ],
            "serverInfo": ["name": "redress", "version": .string(version)],
        ]
    }

    private func registerWatchers() -> JSONValue {
        let watchers: JSONValue = [["globPattern": "**/*.rules"], ["globPattern": "**/schema.yaml"], ["globPattern": "**/catalog.yaml"]]
        return ["jsonrpc": "2.0", "id": "redress-watch-files", "method": "client/registerCapability",
                "params": ["registrations": [["id": "redress-watch-files", "method": "workspace/didChangeWatchedFiles",
                                              "registerOptions": ["watchers": watchers]]]]]
    }

    /// The path of a `file:` URI (percent escapes decoded); other schemes (unsaved `untitled:`
    /// buffers) have no rule set and get no answers.
    public static func path(fromURI uri: String) -> String? {
        guard let url = URL(string: uri), url.isFileURL, !url.path.isEmpty else { return nil }
        return url.standardizedFileURL.path
    }

    func uri(_ path: String) -> String {
        uris[path] ?? URL(fileURLWithPath: path).absoluteString
    }

    private func documentPath(_ params: JSONValue?) throws -> String {
        guard let uri = params?["textDocument"]?["uri"]?.string else {
            throw Failure(code: .invalidParams, message: "`textDocument.uri` is missing")
        }
        guard let path = Self.path(fromURI: uri) else { throw Failure(code: .invalidParams, message: "not a file URI: \(uri)") }
        return path
    }

    private func documentPosition(_ params: JSONValue?) throws -> (String, TextPosition) {
        let path = try documentPath(params)
        guard let position = Self.position(params?["position"]) else {
            throw Failure(code: .invalidParams, message: "`position` is missing or not a position")
        }
        return (path, position)
    }

    static func position(_ value: JSONValue?) -> TextPosition? {
        guard let line = value?["line"]?.integer, let character = value?["character"]?.integer, line >= 0, character >= 0 else { return nil }
        return TextPosition(line: line, character: character)
    }

    static func range(_ value: JSONValue?) -> TextRange? {
        guard let start = position(value?["start"]), let end = position(value?["end"]) else { return nil }
        return TextRange(start: start, end: end)
    }

    static func json(_ position: TextPosition) -> JSONValue {
        ["line": .integer(Int64(position.line)), "character": .integer(Int64(position.character))]
    }

    static func json(_ range: TextRange) -> JSONValue {
        ["start": json(range.start), "end": json(range.end)]
    }

    static func json(_ edit: TextEdit) -> JSONValue {
        ["range": json(edit.range), "newText": .string(edit.newText)]
    }

    func json(_ location: FileLocation) -> JSONValue {
        ["uri": .string(uri(location.path)), "range": Self.json(location.range)]
    }

    func diagnostic(_ diagnostic: EditorDiagnostic) -> JSONValue {
        var object: [String: JSONValue] = [
            "range": Self.json(diagnostic.range),
            "severity": diagnostic.diagnostic.severity == .error ? 1 : 2,
            "code": .string(diagnostic.diagnostic.code.rawValue),
            "source": "redress",
            "message": .string(diagnostic.fullMessage),
        ]
        if !diagnostic.related.isEmpty {
            object["relatedInformation"] = .array(diagnostic.related.map { ["location": json($0.location), "message": .string($0.message)] })
        }
        // Unused declarations are drawn faded.
        if [.unusedDefinition, .unusedParameter, .unusedDeclaration].contains(diagnostic.diagnostic.code) { object["tags"] = [1] }
        return .object(object)
    }

    func codeAction(_ action: CodeAction) -> JSONValue {
        var changes: [String: JSONValue] = [:]
        for (path, edits) in Dictionary(grouping: action.edits, by: \.path) {
            changes[uri(path)] = .array(edits.map(Self.json))
        }
        return ["title": .string(action.title), "kind": .string(action.kind.rawValue), "isPreferred": .bool(action.isPreferred),
                "diagnostics": .array(action.diagnostics.map(diagnostic)), "edit": ["changes": .object(changes)]]
    }

    func completionItem(_ item: CompletionItem, index: Int, range: TextRange) -> JSONValue {
        var object: [String: JSONValue] = [
            "label": .string(item.label),
            "kind": .integer(Self.completionKind(item.kind)),
            // The services' order (schema order, declaration order) is the one to show.
            "sortText": .string(String(repeating: "0", count: max(0, 5 - String(index).count)) + String(index)),
            "textEdit": ["range": Self.json(range), "newText": .string(item.label)],
        ]
        if let detail = item.detail { object["detail"] = .string(detail) }
        if let documentation = item.documentation { object["documentation"] = ["kind": "markdown", "value": .string(documentation)] }
        return .object(object)
    }

    static func completionKind(_ kind: CompletionItem.Kind) -> Int64 {
        switch kind {
        case .keyword: 14
        case .event: 23
        case .field: 5
        case .entity: 7
        case .enumeration: 13
        case .enumCase: 20
        case .action: 2
        case .template, .tag, .listedName, .channel: 12
        case .parameter: 21
        case .definition: 6
        case .table: 22
        case .group: 9
        case .function: 3
        }
    }

    static func symbolKind(_ kind: DocumentSymbol.Kind) -> Int64 {
        switch kind {
        case .rule: 12
        case .parameter: 14
        case .definition: 13
        case .table: 23
        case .group: 3
        case .policy: 7
        }
    }
}
