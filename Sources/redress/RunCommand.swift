import ArgumentParser
import Foundation
import RedressIR
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

    @Option(help: "Events between checkpoints of --state.")
    var checkpointEvery: Int = 1000

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

    // CSV input through a YAML mapping (docs/events.md, "CSV input"): see RunCommand+Mapping.swift.
    @Option(help: "Read --events as CSV through this YAML mapping (docs/events.md, \"CSV input\").")
    var mapping: String?

    @Option(help: ArgumentHelp("With --mapping: read the joined file NAME from PATH instead of the mapping's file.", valueName: "NAME=PATH"))
    var join: [String] = []

    @Option(help: ArgumentHelp("Longest line of input read, in bytes; a longer line is a dead letter (docs/events.md, \"Limits\").", valueName: "BYTES"))
    var maxLineBytes: Int = LineLimit.defaultBytes

    @Flag(help: "Follow --events like `tail -f`: wait for appended lines; SIGINT or SIGTERM ends the run after a final checkpoint.")
    var follow = false

    func run() throws {
        let program = try RuleSetInput.compile(ruleSet, schema: schema, catalog: catalog)
        let untilMs = try untilTime()
        try InputLimitOptions.check(maxLineBytes: maxLineBytes)
        if follow, events == "-" || mapping != nil {
            Output.error("error: --follow follows a file of JSON lines; give --events FILE (a pipe is read as it comes anyway)")
            throw ExitCode(2)
        }
        if let mapping { return try runMapped(program, mapping: mapping, until: untilMs) }
        let wake = StopSignal.install()
        let input = try InputFile.open(events)
        defer { InputFile.close(input) }
        let session = try RunSession(program: program, state: state, out: out, deadLetters: deadLetters, input: input, events: events)
        var stop: DeadLetter? = nil
        var failure: Error? = nil
        // With a state, a file's bytes are hashed as they are read (what a checkpoint records as
        // consumed); a restart in the same file goes on where the last checkpoint was.
        var prefix: StreamHash? = nil
        var firstLine = 0
        if session.store != nil, session.consumedInput.isFile {
            prefix = StreamHash(seed: ConsumedInput.seed)
            if case .after(let line, let bytes, let hash) = session.resume {
                guard lseek(input, off_t(bytes), SEEK_SET) == off_t(bytes) else {
                    Output.error("error: cannot read \(events): \(String(cString: strerror(errno)))")
                    throw ExitCode(2)
                }
                prefix = hash
                firstLine = line
            }
        }
        // Lines are parsed on a second thread while this one evaluates (see EventPipeline).
        let pipeline = EventPipeline(reader: EventReader(program: program),
                                     lines: LineReader(descriptor: input, maximumLineLength: maxLineBytes,
                                                       follow: follow, wake: wake, prefix: prefix, line: firstLine),
                                     slotCount: program.slots.count, skipThrough: firstLine > 0 ? 0 : session.resumeAfter,
                                     processed: session.processed)
        // Decisions are flushed whenever the input is quiet: on a pipe that stays open each one
        // goes out as soon as its line has been evaluated, not when the input ends.
        pipeline.run(idle: { session.sink.flush() }) { item, number in
            session.engine.state.position = number
            if let consumed = pipeline.consumedThrough { session.consumed(through: consumed) }
            do {
                switch item {
                case .deadLetter(let letter):
                    if strict { stop = letter; return false }
                    try session.keep(letter)
                case .event(let event):
                    session.evaluate(event)
                case .alreadyProcessed:
                    session.alreadyProcessed += 1
                case .alreadyKept:
                    session.alreadyKept += 1
                }
                // Skipped lines do not count towards a checkpoint: a million of them would
                // otherwise cost a thousand syncs that record nothing but a position.
                if case .alreadyProcessed = item { try session.checkWrites(); return true }
                if case .alreadyKept = item { try session.checkWrites(); return true }
                try session.advance(by: 1, every: checkpointEvery)
            } catch {
                failure = error
                return false
            }
            return true
        }
        if let failure { throw failure }
        if let readFailure = pipeline.failure {
            session.sink.flush()
            Output.error("error: cannot read \(events): \(readFailure)")
            throw ExitCode(2)
        }
        if let stop {
            session.sink.flush()
            Output.error("error: line \(stop.line): \(TerminalText.visible(stop.reason))")
            throw ExitCode(1)
        }
        if let untilMs { session.fireDeadlines(until: untilMs) }
        let stopped = StopSignal.requested ? ["stopped by \(StopSignal.name) after a final checkpoint"] : []
        try session.finish(summary: session.summary(extra: stopped))
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

}

enum DeadLetterText {
    /// One JSON line per dead letter, quoted like every other string the tool writes (`JSONText`).
    static func line(_ letter: DeadLetter) -> String {
        "{\"line\":\(letter.line),\"reason\":\(JSONText.quote(letter.reason)),\"text\":\(JSONText.quote(letter.text))}\n"
    }
}
