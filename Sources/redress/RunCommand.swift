import ArgumentParser
import Foundation
import RedressIR
import RedressRuntime

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a stream of events and write the decisions as JSON lines.",
        discussion: """
            Events are JSON lines (docs/events.md). Lines that cannot be read go to the dead-letter file with \
            their number and the reason; the stream goes on (with --strict it stops).
            Exit status: 0 done, 1 a bad line with --strict, 2 usage or I/O error.
            """)

    @Argument(help: "The rule set: a directory of .rules files, or an IR file from `redress compile`.")
    var ruleSet: [String]

    @Option(help: "Events as JSON lines; `-` reads standard input.")
    var events: String

    @Option(help: "Write decisions to this file (appending) instead of standard output.")
    var out: String?

    @Option(help: "Where to keep lines that could not be read (JSON lines with line number and reason).")
    var deadLetters: String = "redress-dead-letters.jsonl"

    @Flag(help: "Stop at the first line that cannot be read.")
    var strict = false

    @Option(help: "Schema file to use instead of the nearest schema.yaml.")
    var schema: String?

    @Option(help: "Catalog file to use instead of the nearest catalog.yaml.")
    var catalog: String?

    func run() throws {
        let program = try RuleSetInput.compile(ruleSet, schema: schema, catalog: catalog)
        let input: Int32 = events == "-" ? STDIN_FILENO : open(events, O_RDONLY)
        guard input >= 0 else {
            Output.error("error: cannot read \(events): \(String(cString: strerror(errno)))")
            throw ExitCode(2)
        }
        defer { if input != STDIN_FILENO { close(input) } }
        var output: Int32 = STDOUT_FILENO
        if let out {
            output = open(out, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            guard output >= 0 else {
                Output.error("error: cannot write \(out): \(String(cString: strerror(errno)))")
                throw ExitCode(2)
            }
        }
        defer { if output != STDOUT_FILENO { close(output) } }

        let engine = Engine(program: program)
        let reader = EventReader(program: program)
        let lines = LineReader(descriptor: input)
        let sink = OutputSink(descriptor: output)
        var deadLetterSink: OutputSink? = nil
        var deadLetterCount = 0
        var event = Event(slotCount: program.slots.count)
        var stop: DeadLetter? = nil
        while stop == nil, lines.next({ line, number in
            if line.allSatisfy({ $0 == 32 || $0 == 9 }) { return }
            if let reason = reader.read(line, number: number, into: &event) {
                let letter = DeadLetter(line: number, reason: reason, text: String(decoding: line, as: UTF8.self))
                deadLetterCount += 1
                if strict { stop = letter; return }
                if deadLetterSink == nil {
                    let descriptor = open(deadLetters, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                    deadLetterSink = OutputSink(descriptor: descriptor >= 0 ? descriptor : STDERR_FILENO)
                }
                deadLetterSink?.write(DeadLetterText.line(letter))
                return
            }
            for decision in engine.process(event) { sink.write(decision.jsonLine() + "\n") }
        }) {}
        sink.flush()
        deadLetterSink?.flush()
        if let stop {
            Output.error("error: line \(stop.line): \(stop.reason)")
            throw ExitCode(1)
        }
        let statistics = engine.state.statistics
        var summary = "read \(statistics.events) event\(statistics.events == 1 ? "" : "s"), \(statistics.decisions) decision\(statistics.decisions == 1 ? "" : "s")"
        if deadLetterCount > 0 { summary += ", \(deadLetterCount) bad line\(deadLetterCount == 1 ? "" : "s") kept in \(deadLetters)" }
        if !engine.state.pending.isEmpty { summary += ", \(engine.state.pending.count) deadline\(engine.state.pending.count == 1 ? "" : "s") pending" }
        Output.error(summary)
        if sink.failed {
            Output.error("error: could not write all decisions")
            throw ExitCode(2)
        }
    }
}

enum DeadLetterText {
    static func line(_ letter: DeadLetter) -> String {
        "{\"line\":\(letter.line),\"reason\":\(quote(letter.reason)),\"text\":\(quote(letter.text))}\n"
    }
    static func quote(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }
}
