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
    func runMapped(_ program: Program, mapping path: String, until untilMs: Int64? = nil) throws {
        let (source, input) = try Run.openMapped(program, mapping: path, events: events, join: join, maximumLineLength: maxLineBytes)
        defer { InputFile.close(input) }
        for warning in source.warnings { Output.error("warning: \(warning)") }

        let session = try RunSession(program: program, state: state, out: out, deadLetters: deadLetters, input: input, events: events)
        let engine = session.engine
        let resumeAfter = session.resumeAfter
        // With a state, each event gets the hash it is remembered by, and those processed before
        // are skipped (CSV is read on this thread: the check is here, not in a reader thread).
        source.identifying = session.store != nil

        // Rows of joined files that could not be read: kept once (not again on a resume).
        if session.checkpoint == nil {
            for letter in source.joinProblems {
                if strict {
                    Output.error("error: \(letter.reason) (line \(letter.line))")
                    throw ExitCode(1)
                }
                try session.keep(letter, counted: false)
            }
        }
        var rows = 0, blank = 0, bad = 0
        var evaluated = 0
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
                try session.keepOnce(letter)
            case .events(let events):
                for event in events {
                    if session.store == nil {
                        session.evaluate(event)
                        evaluated += 1
                    } else if session.evaluateOnce(event) {
                        evaluated += 1
                    }
                }
            }
            engine.state.position = number
            session.consumed(bytes: source.consumedBytes)
            // Checkpoints fall between rows only: a row's events go in together.
            // Events skipped as already processed do not count towards a checkpoint.
            if evaluated > 0 { try session.advance(by: evaluated, every: checkpointEvery) }
            evaluated = 0
        }
        if let stop {
            session.sink.flush()
            Output.error("error: line \(stop.line): \(TerminalText.visible(stop.reason))")
            throw ExitCode(1)
        }
        if let failure = source.readFailure {
            session.sink.flush()
            Output.error("error: cannot read \(events): \(failure)")
            throw ExitCode(2)
        }
        if let untilMs { session.fireDeadlines(until: untilMs) }
        // Bad rows of joined files are kept once, on the first run; their count is said apart.
        let joinBad = session.checkpoint == nil ? source.joinProblems.count : 0
        let extra = joinBad > 0 ? ["\(joinBad) bad row\(joinBad == 1 ? "" : "s") of joined files kept in \(deadLetters)"] : []
        let summary = session.summary(read: "read \(rows) row\(rows == 1 ? "" : "s") (\(blank) blank)", badUnit: "row", extra: extra)
        try session.finish(summary: summary)
    }

    /// Loads a mapping and opens `events` through it (shared by `run` and `simulate`).
    static func openMapped(_ program: Program, mapping path: String, events: String, join: [String],
                           maximumLineLength: Int = LineLimit.defaultBytes) throws -> (CSVEventSource, Int32) {
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
        let input = try InputFile.open(events)
        do {
            // A row is bounded like a line of JSON; a header longer than 64 KiB is no CSV header.
            let limits = CSVLimits(headerBytes: min(CSVLimits.defaultHeaderBytes, maximumLineLength), rowBytes: maximumLineLength)
            let source = try CSVEventSource(mapping: mapping, program: program, descriptor: input, path: events, joinPaths: joinPaths, limits: limits)
            return (source, input)
        } catch {
            InputFile.close(input)
            Output.error(renderer.human(error.diagnostics))
            Output.error("error: cannot read \(events) through the mapping \(path)")
            throw ExitCode(2)
        }
    }
}
