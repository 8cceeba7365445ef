import ArgumentParser
import Foundation
import RedressIR
import RedressRuntime

enum ExplainFormat: String, ExpressibleByArgument, CaseIterable { case human, json }

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show, for each rule, whether it decides for an event and why (or why not).",
        discussion: """
            --event takes one event as JSON, or a file of JSON lines: the lines before the last build up \
            history and policy state, and the last one is explained. With --state, the explanation starts \
            from a `run` state (which is read, never changed).
            Exit status: 0 explained, 1 the event cannot be read, 2 usage or I/O error.
            """)

    @Argument(help: "The rule set: a directory of .rules files, or an IR file from `redress compile`.")
    var ruleSet: [String]

    @Option(help: "The event: inline JSON, or a JSON-lines file whose last line is explained.")
    var event: String

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
        var lines: [String]
        if event.trimmingCharacters(in: .whitespaces).hasPrefix("{") {
            lines = [event]
        } else {
            guard let data = FileManager.default.contents(atPath: event) else {
                Output.error("error: cannot read \(event)")
                throw ExitCode(2)
            }
            lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
                .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        }
        guard !lines.isEmpty else {
            Output.error("error: no event in \(event)")
            throw ExitCode(2)
        }
        var engineState = EngineState()
        if let state {
            // A copy, so explaining never changes a live state.
            let copy = FileManager.default.temporaryDirectory.appendingPathComponent("redress-explain-\(UUID().uuidString).sqlite")
            defer { try? FileManager.default.removeItem(at: copy) }
            do {
                try FileManager.default.copyItem(atPath: state, toPath: copy.path)
                if let (_, saved) = try StateStore(path: copy.path).load(program: program.fingerprint, path: state) { engineState = saved }
            } catch {
                Output.error("error: \(error)")
                throw ExitCode(2)
            }
        }
        let engine = Engine(program: program, state: engineState)
        let reader = EventReader(program: program)
        var current = Event(slotCount: program.slots.count)
        for (index, line) in lines.enumerated() {
            var text = line
            if let reason = text.withUTF8({ reader.read($0, number: index + 1, into: &current) }) {
                Output.error("error: event \(lines.count == 1 ? "" : "on line \(index + 1) ")cannot be read: \(reason)")
                throw ExitCode(1)
            }
            if index < lines.count - 1 { _ = engine.process(current) }
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
}
