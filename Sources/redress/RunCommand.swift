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

    @Option(help: "Keep the engine's state (history, limits, caps, deadlines, position) in this SQLite file; a restart resumes from it.")
    var state: String?

    @Option(help: "Events between checkpoints of --state.")
    var checkpointEvery: Int = 1000

    // CSV input through a YAML mapping (docs/events.md, "CSV input"): see RunCommand+Mapping.swift.
    @Option(help: "Read --events as CSV through this YAML mapping (docs/events.md, \"CSV input\").")
    var mapping: String?

    @Option(help: ArgumentHelp("With --mapping: read the joined file NAME from PATH instead of the mapping's file.", valueName: "NAME=PATH"))
    var join: [String] = []

    func run() throws {
        let program = try RuleSetInput.compile(ruleSet, schema: schema, catalog: catalog)
        if let mapping { return try runMapped(program, mapping: mapping) }
        let fingerprint = program.fingerprint
        let input: Int32 = events == "-" ? STDIN_FILENO : open(events, O_RDONLY)
        guard input >= 0 else {
            Output.error("error: cannot read \(events): \(String(cString: strerror(errno)))")
            throw ExitCode(2)
        }
        defer { if input != STDIN_FILENO { close(input) } }

        // Resume from the last checkpoint, if there is one.
        var store: StateStore? = nil
        var checkpoint: StateStore.Checkpoint? = nil
        var engineState = EngineState()
        if let state {
            do {
                store = try StateStore(path: state)
                if let (saved, savedState) = try store?.load(program: fingerprint, path: state) {
                    checkpoint = saved
                    engineState = savedState
                }
            } catch {
                Output.error("error: \(error)")
                throw ExitCode(2)
            }
            if checkpoint != nil, out == nil {
                Output.error("warning: resuming with decisions on standard output: those written after the last checkpoint are written again; use --out for exactly-once output")
            }
        }
        let output = try openOutput(out, keeping: checkpoint?.outputBytes)
        defer { if output != STDOUT_FILENO { close(output) } }
        var deadLetterDescriptor: Int32? = nil
        if checkpoint.map({ $0.deadLetterBytes > 0 }) ?? false {
            deadLetterDescriptor = try openOutput(deadLetters, keeping: checkpoint?.deadLetterBytes)
        }
        defer { if let deadLetterDescriptor { close(deadLetterDescriptor) } }

        let engine = Engine(program: program, state: engineState)
        let reader = EventReader(program: program)
        let lines = LineReader(descriptor: input)
        let sink = OutputSink(descriptor: output)
        let outputStart = checkpoint?.outputBytes ?? 0
        var deadLetterSink = deadLetterDescriptor.map { OutputSink(descriptor: $0) }
        let deadLetterStart = checkpoint?.deadLetterBytes ?? 0
        var deadLetterCount = 0
        var stop: DeadLetter? = nil
        var emitted: [String] = []
        var sinceCheckpoint = 0
        let resumeAfter = checkpoint?.position ?? 0

        func saveCheckpoint() throws {
            guard let store else { return }
            sink.synchronize()
            deadLetterSink?.synchronize()
            do {
                try store.save(engine.snapshot(), outputBytes: outputStart + sink.written,
                               deadLetterBytes: deadLetterStart + (deadLetterSink?.written ?? 0), program: fingerprint, emitted: emitted)
            } catch {
                Output.error("error: \(error)")
                throw ExitCode(2)
            }
            emitted.removeAll(keepingCapacity: true)
            sinceCheckpoint = 0
        }

        var failure: Error? = nil
        // Lines are parsed on a second thread while this one evaluates (see EventPipeline).
        let pipeline = EventPipeline(reader: reader, lines: lines, slotCount: program.slots.count, skipThrough: resumeAfter)
        pipeline.run { item, number in
            engine.state.position = number
            switch item {
            case .deadLetter(let letter):
                deadLetterCount += 1
                if strict { stop = letter; return false }
                if deadLetterSink == nil {
                    let descriptor = open(deadLetters, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                    deadLetterSink = OutputSink(descriptor: descriptor >= 0 ? descriptor : STDERR_FILENO)
                }
                deadLetterSink?.write(DeadLetterText.line(letter))
            case .event(let event):
                for decision in engine.process(event) {
                    sink.write(decision.jsonLine() + "\n")
                    if store != nil { emitted.append(decision.key) }
                }
            }
            sinceCheckpoint += 1
            if store != nil, sinceCheckpoint >= checkpointEvery {
                do { try saveCheckpoint() } catch { failure = error; return false }
            }
            return true
        }
        if let failure { throw failure }
        sink.flush()
        deadLetterSink?.flush()
        if let stop {
            Output.error("error: line \(stop.line): \(stop.reason)")
            throw ExitCode(1)
        }
        try saveCheckpoint()
        let statistics = engine.statistics
        var summary = "read \(statistics.events) event\(statistics.events == 1 ? "" : "s"), \(statistics.decisions) decision\(statistics.decisions == 1 ? "" : "s")"
        if deadLetterCount > 0 { summary += ", \(deadLetterCount) bad line\(deadLetterCount == 1 ? "" : "s") kept in \(deadLetters)" }
        if !engine.state.pending.isEmpty { summary += ", \(engine.state.pending.count) deadline\(engine.state.pending.count == 1 ? "" : "s") pending" }
        Output.error(summary)
        if case let details = Run.details(engine), !details.isEmpty { Output.error(details) }
        if sink.failed {
            Output.error("error: could not write all decisions")
            throw ExitCode(2)
        }
    }

    /// Conditions left undecided by missing fields, and decisions held back by policies, per
    /// rule: the counts of the whole run (a restarted run includes those before the restart).
    static func details(_ engine: Engine) -> String {
        var lines: [String] = []
        func section(_ title: String, _ counts: [String: Int]) {
            guard !counts.isEmpty else { return }
            lines.append(title)
            for (key, count) in counts.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
                let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
                lines.append("  \(parts[0]): \(parts.count > 1 ? parts[1] : "") \(count)")
            }
        }
        section("missing data (rule: field, events whose condition it left undecided):", engine.state.misses)
        section("held back (rule: policy, decisions):", engine.state.statistics.heldBack)
        return lines.joined(separator: "\n")
    }

    /// Opens an output file for appending; with `keeping`, first cuts it back to that many
    /// bytes (what the last checkpoint had written), so nothing after it is there twice.
    func openOutput(_ path: String?, keeping bytes: Int64?) throws -> Int32 {
        guard let path else { return STDOUT_FILENO }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard descriptor >= 0 else {
            Output.error("error: cannot write \(path): \(String(cString: strerror(errno)))")
            throw ExitCode(2)
        }
        if let bytes {
            let size = lseek(descriptor, 0, SEEK_END)
            guard size >= bytes else {
                Output.error("error: \(path) is shorter than the state says it was (\(size) < \(bytes) bytes); it was changed outside redress")
                throw ExitCode(2)
            }
            if size > bytes, ftruncate(descriptor, off_t(bytes)) != 0 {
                Output.error("error: cannot cut \(path) back to the last checkpoint: \(String(cString: strerror(errno)))")
                throw ExitCode(2)
            }
        }
        return descriptor
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
