import ArgumentParser
import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressState
import RedressSyntax

enum ExplainFormat: String, ExpressibleByArgument, CaseIterable { case human, json }

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show, for each rule, whether it decides for an event and why (or why not).",
        discussion: """
            --event takes one event as JSON, or a file of JSON lines: the lines before the last build up \
            history and policy state, and the last one is explained. --events FILE --id ID explains the event \
            with that id in a history, after the lines before it. With --state, the explanation starts \
            from a `run` state (which is read, never changed).
            Exit status: 0 explained, 1 the event cannot be read, 2 usage or I/O error.
            """)

    @Argument(help: "The rule set: a directory of .rules files, or an IR file from `redress compile`.")
    var ruleSet: [String]

    @Option(help: "The event: inline JSON, or a JSON-lines file whose last line is explained.")
    var event: String?

    @Option(help: ArgumentHelp("A history of JSON-lines events; with --id, the event with that id is explained after the lines before it.", valueName: "FILE"))
    var events: String?

    @Option(help: ArgumentHelp("With --events: the id of the event to explain.", valueName: "ID"))
    var id: String?

    @Option(help: "Start from the state of `run --state PATH` (read only).")
    var state: String?

    @Flag(help: "Also list the rules the event does not trigger.")
    var all = false

    @Option(help: "Output format: human or json.")
    var format: ExplainFormat = .human

    @Option(help: "Schema file to use instead of the nearest schema.yaml.")
    var schema: String?

    @Option(help: "Catalog file to use instead of the nearest catalog.yaml.")
    var catalog: String?

    func run() throws {
        let program = try RuleSetInput.compile(ruleSet, schema: schema, catalog: catalog)
        guard (event == nil) != (events == nil), (events == nil) == (id == nil) else {
            Output.error("error: give --event JSON|FILE, or --events FILE with --id ID (the event of that id, after the lines before it)")
            throw ExitCode(2)
        }
        // Lines as bytes with their numbers: decoding the file to a String first would replace
        // invalid UTF-8, which the event reader must see to refuse.
        var lines: [(number: Int, bytes: [UInt8])] = []
        if let event, event.trimmingCharacters(in: .whitespaces).hasPrefix("{") {
            lines = [(1, Array(event.utf8))]
        } else if let path = event ?? events {
            lines = try Self.lines(of: path)
        }
        var engineState = EngineState()
        if let state {
            // A copy, so explaining never changes a live state.
            let copy = FileManager.default.temporaryDirectory.appendingPathComponent("redress-explain-\(UUID().uuidString).sqlite")
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: copy.path + suffix) } }
            do {
                try StateStore.copy(state, to: copy.path)
                if let (_, saved) = try StateStore(path: copy.path).load(program: program.fingerprint, legacy: program.legacyFingerprint, path: state) { engineState = saved }
            } catch {
                Output.error("error: \(error)")
                throw ExitCode(2)
            }
        }
        let engine = Engine(program: program, state: engineState)
        let reader = EventReader(program: program)
        var current = Event(slotCount: program.slots.count)
        if let id, let events {
            // A history: the lines before the event are replayed in file order, as `run` reads
            // them; lines that cannot be read are skipped and counted, as `run` does.
            var found = false, skipped = 0
            for line in lines {
                if line.bytes.withUnsafeBufferPointer({ reader.read($0, number: line.number, into: &current) }) != nil {
                    skipped += 1
                    continue
                }
                if current.id == id {
                    found = true
                    Output.error("explaining line \(line.number) of \(events) after the \(line.number - 1) line\(line.number == 2 ? "" : "s") before it"
                                 + (skipped > 0 ? " (\(skipped) could not be read and were skipped)" : ""))
                    break
                }
                _ = engine.process(current)
            }
            guard found else {
                Output.error("error: no event with id \(TerminalText.visible(id)) in \(events)")
                throw ExitCode(1)
            }
        } else {
            for (index, line) in lines.enumerated() {
                if let reason = line.bytes.withUnsafeBufferPointer({ reader.read($0, number: line.number, into: &current) }) {
                    Output.error("error: event \(lines.count == 1 && line.number == 1 ? "" : "on line \(line.number) ")cannot be read: \(TerminalText.visible(reason))")
                    throw ExitCode(1)
                }
                if index < lines.count - 1 { _ = engine.process(current) }
            }
        }
        let explanations = Explainer.explain(current, engine: engine)
        switch format {
        case .human:
            Output.write(Explainer.render(explanations, verbose: all))
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let shown = all ? explanations : explanations.filter { $0.outcome != "not triggered" }
            Output.write(String(decoding: (try? encoder.encode(shown)) ?? Data(), as: UTF8.self) + "\n")
        }
    }

    /// The non-blank lines of a JSON-lines file, as bytes with their line numbers.
    static func lines(of path: String) throws -> [(number: Int, bytes: [UInt8])] {
        let input = try InputFile.open(path)
        defer { InputFile.close(input) }
        let reader = LineReader(descriptor: input)
        var lines: [(number: Int, bytes: [UInt8])] = []
        var overlong: (Int, Int)? = nil
        while reader.next({ line, number in
            if reader.overlongLength > 0 { overlong = overlong ?? (number, reader.overlongLength) }
            if !line.allSatisfy({ $0 == 32 || $0 == 9 }) { lines.append((number, Array(line))) }
        }) {}
        if let failure = reader.failure {
            Output.error("error: cannot read \(path): \(failure)")
            throw ExitCode(2)
        }
        if let (number, length) = overlong {
            Output.error("error: line \(number) of \(path) is \(length) bytes long, over the limit of \(reader.maximumLineLength) bytes")
            throw ExitCode(1)
        }
        guard !lines.isEmpty else {
            Output.error("error: no event in \(path)")
            throw ExitCode(2)
        }
        return lines
    }
}
