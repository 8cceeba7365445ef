import Foundation
import RedressIR
import RedressEvents
import RedressEngine

/// How events are written, for a run or a replay: JSON lines (docs/events.md), or CSV rows through
/// a mapping (docs/events.md, "CSV input") loaded for each program, with joined files by name.
public enum EventFormat {
    case jsonLines
    /// One mapping per program, in the order of the programs (the same file, loaded for each).
    case csv(mappings: [EventMapping], joinPaths: [String: String])
}

/// Why an input could not be opened or read: a message, or the diagnostics of a CSV file that does
/// not fit its mapping (they point into the mapping; the command renders them).
public struct InputFailure: Error, CustomStringConvertible {
    public var message: String
    /// The CSV file and its mapping do not fit (missing columns, unreadable joined files).
    public var mapping: CSVEventSource.OpenError? = nil
    public var description: String { message }
}

extension CSVLimits {
    /// Rows bounded like lines of JSON (`--max-line-bytes`); a header longer than 64 KiB is no CSV header.
    public static func bounding(lines maximumLineLength: Int) -> CSVLimits {
        CSVLimits(headerBytes: min(CSVLimits.defaultHeaderBytes, maximumLineLength), rowBytes: maximumLineLength)
    }
}

/// One thing an event source hands the run loop, in input order.
public enum SourceItem {
    /// The events of one unit of input: one JSON line, or all the events a CSV row maps to
    /// (they go to the engine together, and checkpoints fall only between units).
    case events([Event])
    /// A unit that could not be read (kept in the dead-letter file).
    case deadLetter(DeadLetter)
    /// A blank line or row.
    case blank
    /// Events of this unit whose id the state processed before: skipped and counted.
    case alreadyProcessed(Int)
    /// A bad unit read again that was kept before: skipped and counted.
    case alreadyKept
}

/// Where a run's events come from: JSON lines from a file, a pipe or a followed file, CSV rows
/// through a mapping, and later an HTTP endpoint. A source reads in input order, says where it
/// is (a position a restart goes on after, and what it consumed of its input), and never drops
/// anything silently: what it cannot read is a dead letter, what it skips is counted.
///
/// A new kind of input is one type conforming to this, in a file of its own; `run` and its
/// exactly-once protocol (`RunSession`) work with any.
public protocol EventSource: AnyObject {
    /// "line" or "row": what the summary counts bad input in.
    var unit: String { get }
    /// The input as the person running named it (a path, or `-`), for messages.
    var name: String { get }
    /// Why reading stopped before the end (an I/O error), or nil.
    var failure: String? { get }
    /// Reads to the end, or until `body` returns false, handing each item with its position (the
    /// line it ends on). `idle` is called when the input is quiet (a pipe or a followed file
    /// with nothing new); it returns in how many milliseconds it wants to be called again, or
    /// nil to wait for input only. Before each item the source tells `session` what it consumed.
    func read(into session: RunSession, idle: () -> Int64?, _ body: (SourceItem, Int) -> Bool)
    /// Called once before the loop reads: input to keep before the first unit (bad rows of a
    /// CSV file's joined files). Returns the first of them when `strict` stops the run there.
    func start(_ session: RunSession, strict: Bool) throws(RunFailure) -> DeadLetter?
    /// Whether the input is live (a pipe, a terminal, a followed file): it may go quiet, and is
    /// checkpointed when it does. A file read through is never quiet for long.
    var live: Bool { get }
    /// What the summary says was read ("read 5 rows (1 blank)"), or nil for "read N events".
    var readSummary: String? { get }
    /// More for the summary, after the events and decisions.
    var extraSummary: [String] { get }
}

extension EventSource {
    public func start(_ session: RunSession, strict: Bool) throws(RunFailure) -> DeadLetter? { nil }
    public var live: Bool { false }
    public var readSummary: String? { nil }
    public var extraSummary: [String] { [] }
}

/// A run's input, opened before the run's session touches its state: CSV through a mapping reads
/// its header and loads its joined files here, so a file that does not fit its mapping stops the
/// run before anything is written. The source the loop reads is made from it once the session
/// knows where to resume (`source(…)`).
public enum RunInput {
    case jsonLines
    case csv(CSVEventSource)

    /// `descriptor` is open on the input at its start; `path` names it (`-` for standard input).
    public static func open(_ format: EventFormat, program: Program, descriptor: Int32, path: String,
                            maximumLineLength: Int = LineLimit.defaultBytes) throws(InputFailure) -> RunInput {
        guard case .csv(let mappings, let joinPaths) = format, let mapping = mappings.first else { return .jsonLines }
        do {
            return .csv(try CSVEventSource(mapping: mapping, program: program, descriptor: descriptor, path: path, joinPaths: joinPaths,
                                           limits: .bounding(lines: maximumLineLength)))
        } catch {
            throw InputFailure(message: "cannot read \(path) through the mapping", mapping: error)
        }
    }

    /// Remarks about joined files (keys of `rows: one` joins that appear more than once).
    public var warnings: [String] {
        if case .csv(let rows) = self { return rows.warnings }
        return []
    }

    /// The source the run loop reads for `session`. `follow` and `wake` are for JSON lines (a
    /// followed file, a stop signal that ends a wait for input).
    public func source(program: Program, descriptor: Int32, path: String, session: RunSession, maximumLineLength: Int,
                       follow: Bool = false, wake: Int32? = nil) throws(RunFailure) -> EventSource {
        switch self {
        case .jsonLines:
            return try JSONLinesSource(program: program, descriptor: descriptor, path: path, session: session,
                                       maximumLineLength: maximumLineLength, follow: follow, wake: wake)
        case .csv(let rows):
            return CSVRowSource(rows, path: path, session: session)
        }
    }
}

/// JSON lines (docs/events.md), parsed on a second thread while the caller evaluates
/// (`EventPipeline`). With a state, a regular file's bytes are hashed as they are read, and a
/// restart in the same file seeks past what the last checkpoint consumed.
public final class JSONLinesSource: EventSource {
    public let unit = "line"
    public let name: String
    public let live: Bool
    let pipeline: EventPipeline
    public var failure: String? { pipeline.failure }

    /// `wake`: a descriptor that a stop signal makes readable (ends a wait for input at once).
    public init(program: Program, descriptor: Int32, path: String, session: RunSession, maximumLineLength: Int,
                follow: Bool = false, wake: Int32? = nil) throws(RunFailure) {
        name = path
        var status = stat()
        live = follow || fstat(descriptor, &status) != 0 || status.st_mode & S_IFMT != S_IFREG
        var prefix: StreamHash? = nil
        var firstLine = 0
        if session.store != nil, session.consumedInput.isFile {
            prefix = StreamHash(seed: ConsumedInput.seed)
            if case .after(let line, let bytes, let hash) = session.resume {
                guard lseek(descriptor, off_t(bytes), SEEK_SET) == off_t(bytes) else {
                    throw RunFailure("cannot read \(path): \(String(cString: strerror(errno)))")
                }
                prefix = hash
                firstLine = line
            }
        }
        pipeline = EventPipeline(reader: EventReader(program: program),
                                 lines: LineReader(descriptor: descriptor, maximumLineLength: maximumLineLength,
                                                   follow: follow, wake: wake, prefix: prefix, line: firstLine),
                                 slotCount: program.slots.count, skipThrough: firstLine > 0 ? 0 : session.resumeAfter,
                                 processed: session.processed)
    }

    public func read(into session: RunSession, idle: () -> Int64?, _ body: (SourceItem, Int) -> Bool) {
        pipeline.run(idle: idle) { item, number in
            if let consumed = pipeline.consumedThrough { session.consumed(through: consumed) }
            switch item {
            case .event(let event): return body(.events([event]), number)
            case .deadLetter(let letter): return body(.deadLetter(letter), number)
            case .alreadyProcessed: return body(.alreadyProcessed(1), number)
            case .alreadyKept: return body(.alreadyKept, number)
            }
        }
    }
}

/// CSV rows through a mapping (docs/events.md, "CSV input"), read on the caller's thread. A
/// restart in the same file reads the rows up to the checkpoint without evaluating them; with
/// a state, events processed before are skipped here (there is no reading thread to do it).
public final class CSVRowSource: EventSource {
    public let unit = "row"
    public let name: String
    let rows: CSVEventSource
    public var failure: String? { rows.readFailure }
    /// Rows read by this run (after those a restart passed over), and how many were blank.
    public private(set) var rowsRead = 0
    public private(set) var blankRows = 0

    /// Bad rows of joined files this run kept (on the first run of a state only), said apart.
    var joinProblemsKept = 0
    let deadLetterPath: String

    public init(_ rows: CSVEventSource, path: String, session: RunSession) {
        name = path
        self.rows = rows
        deadLetterPath = session.deadLetterPath
        rows.identifying = session.store != nil
    }

    /// Rows of joined files that could not be read are kept once, on the first run: the one
    /// whose state has consumed nothing and kept nothing yet (a new state has a checkpoint from
    /// its start; a run killed before the next one is first again). Not on a resume.
    public func start(_ session: RunSession, strict: Bool) throws(RunFailure) -> DeadLetter? {
        let firstRun = session.checkpoint.map { $0.position == 0 && $0.deadLetterBytes == 0 && session.engine.statistics.events == 0 } ?? true
        guard firstRun, !rows.joinProblems.isEmpty else { return nil }
        for letter in rows.joinProblems {
            if strict { return letter }
            try session.keep(letter, counted: false)
        }
        try session.saveCheckpoint()
        joinProblemsKept = rows.joinProblems.count
        return nil
    }

    public var readSummary: String? { "read \(rowsRead) row\(rowsRead == 1 ? "" : "s") (\(blankRows) blank)" }

    public var extraSummary: [String] {
        joinProblemsKept == 0 ? [] : ["\(joinProblemsKept) bad row\(joinProblemsKept == 1 ? "" : "s") of joined files kept in \(deadLetterPath)"]
    }

    public func read(into session: RunSession, idle: () -> Int64?, _ body: (SourceItem, Int) -> Bool) {
        let resumeAfter = session.resumeAfter
        while let row = rows.next() {
            let number = rows.line
            if number <= resumeAfter { continue }
            session.consumed(bytes: rows.consumedBytes)
            rowsRead += 1
            let item: SourceItem
            switch row {
            case .blank:
                blankRows += 1
                item = .blank
            case .deadLetter(let letter):
                if let processed = session.processed, !processed.insert(EventIdentity.deadLetter(letter)) {
                    item = .alreadyKept
                } else {
                    item = .deadLetter(letter)
                }
            case .events(let events):
                var fresh = events
                if let processed = session.processed { fresh.removeAll { !processed.insert($0.idHash) } }
                if fresh.count < events.count, !body(.alreadyProcessed(events.count - fresh.count), number) { return }
                item = .events(fresh)
            }
            if !body(item, number) { return }
        }
    }
}

extension RunSession {
    /// How a run ended: at the end of its input (or a stop signal), or at a bad unit with
    /// `strict` (the command exits 1).
    public enum Ending {
        case endOfInput
        case badInput(DeadLetter)
    }

    /// The one run loop: reads `source` to its end, evaluating each event, keeping bad input,
    /// firing the deadlines the watermark passes (also while the input is quiet), flushing
    /// decisions whenever the input is quiet, and checkpointing every `checkpointEvery` events.
    public func run(_ source: EventSource, watermark: Watermark, strict: Bool, checkpointEvery: Int) throws(RunFailure) -> Ending {
        var stop: DeadLetter? = nil
        var failure: RunFailure? = nil
        source.read(into: self, idle: {
            emit(watermark.fireDue())
            sink.flush()
            // A live input that pauses is checkpointed: what was decided before the pause is
            // then durable however long the next event takes to come. (A file read through
            // pauses too, whenever evaluating catches up with reading: a checkpoint each time
            // would be a sync per batch.)
            if store != nil, source.live, sinceCheckpoint > 0, failure == nil {
                do throws(RunFailure) { try saveCheckpoint() } catch { failure = error }
            }
            return watermark.millisecondsUntilDue()
        }) { item, number in
            if failure != nil { return false }
            engine.state.position = number
            do throws(RunFailure) {
                switch item {
                case .deadLetter(let letter):
                    if strict { stop = letter; return false }
                    try keep(letter)
                case .events(let events):
                    for event in events {
                        emit(watermark.admit(event.time))
                        evaluate(event)
                    }
                    // Checkpoints fall between units only: a row's events go in together.
                    if !events.isEmpty { try advance(by: events.count, every: checkpointEvery) }
                    return true
                case .alreadyProcessed(let count):
                    // Skipped input does not count towards a checkpoint: a million skipped events
                    // would otherwise cost a thousand syncs that record nothing but a position.
                    alreadyProcessed += count
                    try checkWrites()
                    return true
                case .alreadyKept:
                    alreadyKept += 1
                    try checkWrites()
                    return true
                case .blank:
                    return true
                }
                try advance(by: 1, every: checkpointEvery)
            } catch {
                failure = error
                return false
            }
            return true
        }
        if let failure { throw failure }
        // The checkpoint still being written: the run's ending waits for it, and a failed one
        // cuts the files back (`fail`) whatever the ending.
        try settle()
        if let readFailure = source.failure {
            sink.flush()
            throw RunFailure("cannot read \(source.name): \(readFailure)")
        }
        if let stop {
            sink.flush()
            return .badInput(stop)
        }
        emit(watermark.fireDue())
        return .endOfInput
    }
}
