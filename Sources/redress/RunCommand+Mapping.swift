import ArgumentParser
import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressRuntime
import RedressSyntax

/// `redress run RULESET --events FILE.csv --mapping MAP.yaml`: the same evaluation as for JSON
/// lines, with events from CSV rows (docs/events.md, "CSV input"). Rows are processed in the
/// order of the file; a row is a unit: its events go to the engine one after another, a bad
/// row is one dead letter, and `--state` checkpoints only between rows (its position is the
/// line a row starts on).
extension Run {
    func runMapped(_ program: Program, mapping path: String, until untilMs: Int64? = nil, retention: Int64? = Engine.defaultRetention) throws {
        let (rows, input) = try Run.openMapped(program, mapping: path, events: events, join: join, maximumLineLength: maxLineBytes)
        defer { InputFile.close(input) }
        for warning in rows.warnings { Output.error("warning: \(warning)") }
        try reportingFailure {
            let session = try RunSession(program: program, state: state, out: out, deadLetters: deadLetters, input: input, events: events,
                                         retention: retention)
            for notice in session.notices { Output.error(notice) }
            // Rows of joined files that could not be read: kept once (not again on a resume).
            // The first run is the one whose state has consumed nothing and kept nothing yet (a new
            // state has a checkpoint from its start; a run killed before the next one is first again).
            let firstRun = session.checkpoint.map { $0.position == 0 && $0.deadLetterBytes == 0 && session.engine.statistics.events == 0 } ?? true
            if firstRun, !rows.joinProblems.isEmpty {
                for letter in rows.joinProblems {
                    if strict {
                        Output.error("error: \(letter.reason) (line \(letter.line))")
                        throw ExitCode(1)
                    }
                    try session.keep(letter, counted: false)
                }
                try session.saveCheckpoint()
            }
            let source = CSVRowSource(rows, path: events, session: session)
            // Event time only (a mapping is read as a batch): it counts events behind it.
            let watermark = Watermark(engine: session.engine)
            let ending = try session.run(source, watermark: watermark, strict: strict, checkpointEvery: checkpointEvery)
            // Bad rows of joined files are kept once, on the first run; their count is said apart.
            let joinBad = firstRun ? rows.joinProblems.count : 0
            let extra = joinBad > 0 ? ["\(joinBad) bad row\(joinBad == 1 ? "" : "s") of joined files kept in \(deadLetters)"] : []
            try finish(session, ending: ending, until: untilMs) { stopped in
                session.summary(read: "read \(source.rowsRead) row\(source.rowsRead == 1 ? "" : "s") (\(source.blankRows) blank)", badUnit: "row",
                                extra: extra + Run.late(watermark) + stopped)
            }
        }
    }

    /// Loads a mapping and opens `events` through it.
    static func openMapped(_ program: Program, mapping path: String, events: String, join: [String],
                           maximumLineLength: Int = LineLimit.defaultBytes) throws -> (CSVEventSource, Int32) {
        let (mapping, renderer) = try loadMapping(path, for: program)
        let joinPaths = try Run.joinPaths(join, of: mapping)
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

    /// Reads the mapping at `path` for `program`, printing its diagnostics (exit 2 on errors;
    /// warnings only when `warnings`); the renderer shows later diagnostics that point into it.
    static func loadMapping(_ path: String, for program: Program, warnings: Bool = true) throws -> (EventMapping, DiagnosticRenderer) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            Output.error("error: cannot read the mapping \(path)")
            throw ExitCode(2)
        }
        let mappingSource = SourceFile(path: path, text: text)
        let renderer = DiagnosticRenderer(files: [path: mappingSource])
        let (loaded, diagnostics) = EventMapping.load(mappingSource, program: program)
        if !diagnostics.isEmpty, warnings || loaded == nil { Output.error(renderer.human(diagnostics)) }
        guard let mapping = loaded else {
            Output.error("error: the mapping \(path) has errors; see docs/events.md, \"CSV input\"")
            throw ExitCode(2)
        }
        return (mapping, renderer)
    }

    /// `--join NAME=PATH` options, checked against the mapping's joins.
    static func joinPaths(_ join: [String], of mapping: EventMapping) throws -> [String: String] {
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
        return joinPaths
    }
}
