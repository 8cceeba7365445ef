import ArgumentParser
import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressRuntime
import RedressSyntax

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a stream of events and write the decisions as JSON lines.",
        discussion: """
            Events are JSON lines (docs/events.md). Lines that cannot be read go to the dead-letter file with \
            their number and the reason; the stream goes on (with --strict it stops).
            Exit status: 0 done, 1 the rule set has errors or a bad line with --strict, 2 usage, I/O or state error.
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

    // 10,000: a checkpoint syncs the output and the state's log (about a millisecond each here),
    // and at 1,000 those syncs were most of a replay's time; after a crash at most this many
    // events are evaluated again (milliseconds). A quiet live input is checkpointed anyway.
    @Option(help: "Events between checkpoints of --state (a quiet input is also checkpointed whenever it pauses).")
    var checkpointEvery: Int = 10_000

    @Option(help: ArgumentHelp("After the input, fire the absence deadlines due by this time (RFC 3339), as a batch run at that moment would; without it they stay pending.", valueName: "TIME"))
    var until: String?

    /// `--until` in milliseconds, checked before any input is read.
    func untilTime() throws -> Int64? {
        guard let until else { return nil }
        guard let ms = TimeFormat.timestamp(until) else {
            Output.error("error: --until takes an RFC 3339 time such as 2026-11-20T10:00:00Z (found \"\(until)\")")
            throw ExitCode(2)
        }
        return ms
    }

    @Option(help: ArgumentHelp("Keep keys without a window (once per subject, limits, caps and groups without `within`, occurrence counts, answered absence rules) this long after their last use, in event time; `none` keeps them for ever (docs/language.md, \"Retention\").", valueName: "DURATION"))
    var retention: String = "400d"

    /// `--retention` in milliseconds (nil: `none`), checked before any input is read.
    func retentionTime() throws -> Int64? {
        if retention == "none" { return nil }
        guard let ms = TimeFormat.duration(retention), ms > 0 else {
            Output.error("error: --retention takes a duration longer than zero such as 400d, or none (found \"\(retention)\")")
            throw ExitCode(2)
        }
        return ms
    }

    // CSV input through a YAML mapping (docs/events.md, "CSV input"): rows are processed in the
    // order of the file; a row is a unit (its events go to the engine together, a bad row is one
    // dead letter, checkpoints fall between rows). The runtime's `RunInput` and `CSVRowSource`.
    @Option(help: "Read --events as CSV through this YAML mapping (docs/events.md, \"CSV input\").")
    var mapping: String?

    @Option(help: ArgumentHelp("With --mapping: read the joined file NAME from PATH instead of the mapping's file.", valueName: "NAME=PATH"))
    var join: [String] = []

    @Option(help: ArgumentHelp("Longest line of input read, in bytes; a longer line is a dead letter (docs/events.md, \"Limits\").", valueName: "BYTES"))
    var maxLineBytes: Int = LineLimit.defaultBytes

    @Flag(help: "Follow --events like `tail -f`: wait for appended lines; SIGINT or SIGTERM ends the run after a final checkpoint.")
    var follow = false

    @Option(help: ArgumentHelp("What absence deadlines fire on: `event`, the latest event time (replays), or `wall`, also the wall clock minus --lateness, so a deadline fires on a quiet stream.", valueName: "event|wall"))
    var clock: ClockChoice = .event

    @Option(help: ArgumentHelp("With --clock wall: how late an event may arrive; a deadline fires this long after it passes on the wall clock (default 5m).", valueName: "DURATION"))
    var lateness: String?

    enum ClockChoice: String, ExpressibleByArgument, CaseIterable {
        case event, wall
    }

    /// `--clock` and `--lateness`: the wall clock (nil for event time) and the lateness in
    /// milliseconds, checked before any input is read.
    func clockOptions() throws -> (TimeSource?, Int64) {
        guard clock == .wall else {
            if lateness != nil {
                Output.error("error: --lateness applies to --clock wall (by event time a deadline fires when a later event arrives)")
                throw ExitCode(2)
            }
            return (nil, Watermark.defaultLateness)
        }
        if mapping != nil {
            Output.error("error: --clock wall needs JSON lines (a pipe or --follow); CSV through a mapping is read as a batch in event time")
            throw ExitCode(2)
        }
        guard let lateness else { return (WallClock(), Watermark.defaultLateness) }
        guard let ms = TimeFormat.duration(lateness), ms >= 0 else {
            Output.error("error: --lateness takes a duration of zero or more such as 5m, 30s or 1h (found \"\(lateness)\")")
            throw ExitCode(2)
        }
        return (WallClock(), ms)
    }

    func run() throws {
        let program = try RuleSetInput.compile(ruleSet, schema: schema, catalog: catalog)
        let untilMs = try untilTime()
        let retentionMs = try retentionTime()
        let (wallClock, latenessMs) = try clockOptions()
        try InputLimitOptions.check(maxLineBytes: maxLineBytes)
        if follow, events == "-" || mapping != nil {
            Output.error("error: --follow follows a file of JSON lines; give --events FILE (a pipe is read as it comes anyway)")
            throw ExitCode(2)
        }
        let (format, renderer) = try EventInput.format([program], mapping: mapping, join: join)
        // A stop signal ends a wait for JSON lines (a pipe, a followed file); CSV is read as a batch.
        let wake = mapping == nil ? StopSignal.install() : nil
        let input = try InputFile.open(events)
        defer { InputFile.close(input) }
        let opened: RunInput
        do {
            opened = try RunInput.open(format, program: program, descriptor: input, path: events, maximumLineLength: maxLineBytes)
        } catch {
            try EventInput.exit(error, mapping: mapping, renderer: renderer)
        }
        for warning in opened.warnings { Output.error("warning: \(warning)") }
        try reportingFailure {
            let session = try RunSession(program: program, state: state, out: out, deadLetters: deadLetters, input: input, events: events,
                                         retention: retentionMs)
            for notice in session.notices { Output.error(notice) }
            let source = try opened.source(program: program, descriptor: input, path: events, session: session,
                                           maximumLineLength: maxLineBytes, follow: follow, wake: wake)
            if let stop = try source.start(session, strict: strict) {
                Output.error("error: \(stop.reason) (line \(stop.line))")
                throw ExitCode(1)
            }
            let watermark = Watermark(engine: session.engine, clock: wallClock, lateness: latenessMs)
            try finish(session, ending: session.run(source, watermark: watermark, strict: strict, checkpointEvery: checkpointEvery),
                       until: untilMs) { stopped in
                session.summary(read: source.readSummary, badUnit: source.unit, extra: source.extraSummary + Run.late(watermark) + stopped)
            }
        }
    }

    /// After the loop: a bad line with --strict exits 1; otherwise `--until` fires its deadlines,
    /// and the final checkpoint is taken and the summary printed.
    func finish(_ session: RunSession, ending: RunSession.Ending, until untilMs: Int64?, summary: ([String]) -> String) throws {
        if case .badInput(let stop) = ending {
            Output.error("error: line \(stop.line): \(TerminalText.visible(stop.reason))")
            throw ExitCode(1)
        }
        if let untilMs { session.fireDeadlines(until: untilMs) }
        let stopped = StopSignal.requested ? ["stopped by \(StopSignal.name) after a final checkpoint"] : []
        Output.error(try session.finish(summary: summary(stopped)))
    }

    /// Prints a run's failure (and what it left behind) and exits 2.
    func reportingFailure(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let failure as RunFailure {
            Output.error("error: \(failure.message)")
            if let note = failure.note { Output.error("note: \(note)") }
            throw ExitCode(2)
        }
    }

    /// "N events arrived after the watermark", when any did: absence decisions they might have
    /// prevented had already gone out (docs/events.md, "Order and time").
    static func late(_ watermark: Watermark) -> [String] {
        let count = watermark.lateEvents
        return count == 0 ? [] : ["\(count) event\(count == 1 ? "" : "s") arrived after the watermark"]
    }
}
