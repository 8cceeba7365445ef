import ArgumentParser
import Foundation
import RedressIR
import RedressRuntime
import RedressSyntax

/// `redress run RULESET --events FILE.csv --mapping MAP.yaml`: the same evaluation as for JSON
/// lines, with events from CSV rows (docs/events.md, "CSV input"). Rows are processed in the
/// order of the file; a row is a unit: its events go to the engine one after another, a bad
/// row is one dead letter, and `--state` checkpoints only between rows (its position is the
/// line a row starts on).
extension Run {
    func runMapped(_ program: Program, mapping path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            Output.error("error: cannot read the mapping \(path)")
            throw ExitCode(2)
        }
        let mappingSource = SourceFile(path: path, text: text)
        let renderer = DiagnosticRenderer(files: [path: mappingSource])
        let (loaded, diagnostics) = EventMapping.load(mappingSource, program: program)
        if !diagnostics.isEmpty { Output.error(renderer.human(diagnostics)) }
        guard let mapping = loaded else {
            Output.error("error: the mapping \(path) has errors; see docs/events.md, \"CSV input\"")
            throw ExitCode(2)
        }
        var joinPaths: [String: String] = [:]
        for option in join {
            guard let equals = option.firstIndex(of: "="), equals != option.startIndex else {
                Output.error("error: --join takes NAME=PATH, found `\(option)`")
                throw ExitCode(2)
            }
            let name = String(option[..<equals])
            guard mapping.joins.contains(where: { $0.name == name }) else {
                Output.error("error: --join \(name): the mapping has no join `\(name)`; its joins are \(mapping.joins.map(\.name).joined(separator: ", "))")
                throw ExitCode(2)
            }
            joinPaths[name] = String(option[option.index(after: equals)...])
        }

        let input: Int32 = events == "-" ? STDIN_FILENO : open(events, O_RDONLY)
        guard input >= 0 else {
            Output.error("error: cannot read \(events): \(String(cString: strerror(errno)))")
            throw ExitCode(2)
        }
        defer { if input != STDIN_FILENO { close(input) } }
        let source: CSVEventSource
        do {
            source = try CSVEventSource(mapping: mapping, program: program, descriptor: input, path: events, joinPaths: joinPaths)
        } catch {
            Output.error(renderer.human(error.diagnostics))
            Output.error("error: cannot read \(events) through the mapping \(path)")
            throw ExitCode(2)
        }
        for warning in source.warnings { Output.error("warning: \(warning)") }

        // State and outputs as for JSON lines (see `run()`).
        let fingerprint = program.fingerprint
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
        let sink = OutputSink(descriptor: output)
        let outputStart = checkpoint?.outputBytes ?? 0
        var deadLetterSink = deadLetterDescriptor.map { OutputSink(descriptor: $0) }
        let deadLetterStart = checkpoint?.deadLetterBytes ?? 0
        var emitted: [String] = []
        var sinceCheckpoint = 0
        let resumeAfter = checkpoint?.position ?? 0

        func keep(_ letter: DeadLetter) {
            if deadLetterSink == nil {
                let descriptor = open(deadLetters, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                deadLetterSink = OutputSink(descriptor: descriptor >= 0 ? descriptor : STDERR_FILENO)
            }
            deadLetterSink?.write(DeadLetterText.line(letter))
        }
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

        // Rows of joined files that could not be read: kept once (not again on a resume).
        if checkpoint == nil {
            for letter in source.joinProblems {
                if strict {
                    Output.error("error: \(letter.reason) (line \(letter.line))")
                    throw ExitCode(1)
                }
                keep(letter)
            }
        }
        var rows = 0, blank = 0, bad = 0
        var stop: DeadLetter? = nil
        rows: while let row = source.next() {
            let number = source.line
            if number <= resumeAfter { continue }
            rows += 1
            switch row {
            case .blank:
                blank += 1
            case .deadLetter(let letter):
                bad += 1
                if strict {
                    stop = letter
                    break rows
                }
                keep(letter)
            case .events(let events):
                for event in events {
                    for decision in engine.process(event) {
                        sink.write(decision.jsonLine() + "\n")
                        if store != nil { emitted.append(decision.key) }
                    }
                }
                sinceCheckpoint += events.count
            }
            engine.state.position = number
            if store != nil, sinceCheckpoint >= checkpointEvery { try saveCheckpoint() }
        }
        sink.flush()
        deadLetterSink?.flush()
        if let stop {
            Output.error("error: line \(stop.line): \(stop.reason)")
            throw ExitCode(1)
        }
        try saveCheckpoint()
        let statistics = engine.statistics
        func plural(_ count: Int, _ word: String) -> String { "\(count) \(word)\(count == 1 ? "" : "s")" }
        var summary = "read \(plural(rows, "row")) (\(blank) blank), \(plural(statistics.events, "event")), \(plural(statistics.decisions, "decision"))"
        if bad > 0 { summary += ", \(plural(bad, "bad row")) kept in \(deadLetters)" }
        if checkpoint == nil, !source.joinProblems.isEmpty {
            summary += ", \(plural(source.joinProblems.count, "bad row")) of joined files kept in \(deadLetters)"
        }
        if !engine.state.pending.isEmpty { summary += ", \(plural(engine.state.pending.count, "deadline")) pending" }
        Output.error(summary)
        if case let details = Run.details(engine), !details.isEmpty { Output.error(details) }
        if sink.failed {
            Output.error("error: could not write all decisions")
            throw ExitCode(2)
        }
    }
}
