import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressState

/// Why a run stopped with an error (the command exits 2): the message, and a note on what was
/// left behind (with a state: the output as at the last checkpoint).
public struct RunFailure: Error, CustomStringConvertible {
    public let message: String
    public let note: String?
    public init(_ message: String, note: String? = nil) {
        self.message = message
        self.note = note
    }
    public var description: String { message }
}

/// The exactly-once protocol of a run over any event source: the state store and its last
/// checkpoint, the engine, the decision and dead-letter files (cut back to the checkpoint on a
/// restart), what was consumed and processed, and checkpoints themselves. The order is what
/// makes a restart after `kill -9` write nothing twice and lose nothing: decisions and bad lines
/// are written and synced first, then one transaction records the engine's changes, the
/// output's length, the input consumed and the events processed.
///
/// It prints nothing: warnings and notes for the person running it are in `notices`, the
/// summary is returned by `finish`, and errors are thrown as `RunFailure`.
public final class RunSession {
    public let engine: Engine
    public let store: StateStore?
    public let checkpoint: StateStore.Checkpoint?
    let fingerprint: String
    public let sink: OutputSink
    let output: Int32
    let outputPath: String?
    let deadLetterPath: String
    var deadLetterDescriptor: Int32?
    var deadLetterSink: OutputSink?
    /// Bytes the output and dead-letter files held when this run began writing to them.
    let outputStart: Int64
    var deadLetterStart: Int64
    /// What the files held at the last checkpoint (or at the start): a failed checkpoint cuts
    /// them back to this, so they agree with the state a restart will resume from.
    var checkpointedOutput: Int64
    var checkpointedDeadLetters: Int64
    /// With a state: writes the checkpoints, one at a time, while the run goes on.
    let writer: CheckpointWriter?
    var emitted: [String] = []
    var sinceCheckpoint = 0
    /// The engine's counts when this process began (non-zero when resuming), and the bad lines
    /// of this process, so that the summary can say which figure covers what.
    let startStatistics: EngineState.Statistics
    var deadLettersThisRun = 0
    /// Held open for the whole run: the exclusive lock on the state file (see `lockState`).
    var stateLock: Int32? = nil
    /// Warnings and notes about how this run starts (e.g. a resumed state read from the start
    /// of a new input), for the command to print before it runs.
    public private(set) var notices: [String] = []

    /// Where this run reads its input from, given the last checkpoint (docs/events.md, "Restarts").
    public let resume: InputResume
    /// With a state: the events processed before the last checkpoint (by `EventIdentity`); the
    /// reader skips those it reads again. The events this run evaluated since the last
    /// checkpoint, for the next one; and how many it skipped as already processed.
    public let processed: ProcessedEvents?
    var fresh = ProcessedSegment()
    public var alreadyProcessed = 0
    /// Bad lines read again that were kept as dead letters before: skipped and counted too.
    public var alreadyKept = 0
    /// What this run consumed of its input, as the next checkpoint records it. `consumedHash`
    /// covers the bytes hashed so far, `consumedBytes` all the bytes consumed: a reader that
    /// does not hash (CSV) leaves the rest to the checkpoint, which reads and hashes them again.
    let inputDescriptor: Int32
    public var consumedInput: ConsumedInput
    var consumedHash: StreamHash
    var consumedBytes: Int64 = 0

    /// Input lines up to this one were handled before the last checkpoint (a restart in the same
    /// file, or a state of an earlier version); 0 when the input is read from its start.
    public var resumeAfter: Int {
        switch resume {
        case .after(let line, _, _), .afterLine(let line): line
        case .fromStart: 0
        }
    }

    /// `input`: the descriptor events are read from (at its start), so that writing into it can
    /// be refused, and `events` its path, by which a restart tells whether it is the same input.
    /// `retention`: how long keys without a window are kept after their last use (nil: for ever).
    public init(program: Program, state: String?, out: String?, deadLetters: String, input: Int32, events: String,
                retention: Int64? = Engine.defaultRetention) throws(RunFailure) {
        fingerprint = program.fingerprint
        try RunSession.refuseOverlap(input: input, out: out, deadLetters: deadLetters, state: state)
        var store: StateStore? = nil
        var checkpoint: StateStore.Checkpoint? = nil
        var engineState = EngineState()
        var loadedProcessed: ProcessedEvents? = nil
        if let state {
            // Locked before anything is read or written: a second run on the same state (a cron
            // job overlapping the last) stops here, before it could write a decision twice.
            stateLock = try RunSession.lockState(state)
            do {
                store = try StateStore(path: state)
                if let (saved, savedState) = try store?.load(program: fingerprint, legacy: program.legacyFingerprint, path: state) {
                    checkpoint = saved
                    engineState = savedState
                }
                try store?.dropProcessedEvents(olderThan: retention, clock: engineState.clock)
                loadedProcessed = try store?.loadProcessed()
            } catch {
                throw RunFailure("\(error)")
            }
            if checkpoint != nil, out == nil {
                notices.append("warning: resuming with decisions on standard output: those written after the last checkpoint are written again; use --out for exactly-once output")
            }
        }
        processed = loadedProcessed
        self.store = store
        writer = store.map { [fingerprint = program.fingerprint] in CheckpointWriter(store: $0, fingerprint: fingerprint) }
        self.checkpoint = checkpoint
        inputDescriptor = input
        consumedInput = ConsumedInput(descriptor: input, path: events)
        resume = InputResume.decide(descriptor: input, input: consumedInput, checkpointLine: checkpoint?.position, recorded: checkpoint?.input)
        switch resume {
        case .after(_, let bytes, let hash):
            consumedHash = hash
            consumedBytes = bytes
        default:
            consumedHash = StreamHash(seed: ConsumedInput.seed)
        }
        if let note = RunSession.explain(resume, events: events) { notices.append(note) }
        outputPath = out
        deadLetterPath = deadLetters
        let (output, outputSize) = try RunSession.open(out, keeping: checkpoint?.outputBytes, lock: true)
        self.output = output
        outputStart = outputSize
        checkpointedOutput = outputSize
        deadLetterStart = 0
        if checkpoint.map({ $0.deadLetterBytes > 0 }) ?? false {
            let (descriptor, size) = try RunSession.open(deadLetters, keeping: checkpoint?.deadLetterBytes, lock: false)
            deadLetterDescriptor = descriptor
            deadLetterSink = OutputSink(descriptor: descriptor)
            deadLetterStart = size
        }
        checkpointedDeadLetters = deadLetterStart
        engine = Engine(program: program, state: engineState)
        engine.retention = retention
        // The store holds what the engine starts from: checkpoints write what changes after.
        if store != nil { engine.trackChanges() }
        startStatistics = engine.statistics
        sink = OutputSink(descriptor: output)
        // A new state gets its first checkpoint before anything is read: a run killed before its
        // first regular checkpoint then restarts with the output cut back to where it began,
        // rather than appending the same decisions after those it had written.
        if store != nil, checkpoint == nil { try saveCheckpoint() }
    }

    deinit {
        // A checkpoint being written still syncs the files: it ends before they are closed.
        _ = writer?.wait()
        if output != STDOUT_FILENO { close(output) }
        if let deadLetterDescriptor { close(deadLetterDescriptor) }
        if let stateLock { close(stateLock) }
    }

    /// Why a resumed run reads its input from the start, or nil.
    static func explain(_ resume: InputResume, events: String) -> String? {
        let name = events == "-" ? "standard input" : events
        switch resume {
        case .fromStart(.notAFile):
            return ("note: reading \(name) from its start; events the state processed before are skipped")
        case .fromStart(.otherFile(let earlier)):
            return ("note: \(name) is not the file the state last read (\(earlier)): reading it from its start; events the state processed before are skipped")
        case .fromStart(.changed(let earlier)):
            return ("note: \(earlier) changed since the state read it (rewritten, edited or cut): reading \(name) from its start; events the state processed before are skipped")
        case .afterLine(let line):
            return ("note: the state was written by an earlier version, which recorded input lines only: going on after line \(line) of \(name) as it would have; from this run on, the input is recorded by identity and events by id")
        case .fromStart(.firstRun), .after:
            return nil
        }
    }

    public func evaluate(_ event: Event) {
        if store != nil { fresh.append(event.idHash, time: event.time) }
        emit(engine.process(event))
    }

    /// Writes decisions (an event's, or deadlines' that a watermark passed); with a state, their
    /// keys go into the next checkpoint like any others.
    public func emit(_ decisions: [Decision]) {
        for decision in decisions {
            sink.write(decision.jsonLine() + "\n")
            if store != nil { emitted.append(decision.key) }
        }
    }

    /// Records the input consumed through the item just handled: its hash as the line reader
    /// computed it (JSON lines), or only its length (CSV), hashed at the next checkpoint.
    public func consumed(through hash: StreamHash) {
        consumedHash = hash
        consumedBytes = hash.length
    }

    public func consumed(bytes: Int64) {
        consumedBytes = bytes
    }

    /// The input as the checkpoint being written records it.
    func checkpointedInput() -> ConsumedInput {
        var input = consumedInput
        input.bytes = consumedBytes
        if input.isFile, consumedHash.length < consumedBytes,
           !InputResume.extend(&consumedHash, descriptor: inputDescriptor, to: consumedBytes) {
            // The file is shorter than what was read from it: cut while being read. Recorded as
            // no file, the next run reads its input from the start (skipping what was processed).
            input.device = 0
            input.inode = 0
        }
        input.prefixHash = consumedHash.length == consumedBytes ? consumedHash.digest : 0
        return input
    }

    /// `--until`: fires the deadlines due by `time` (inclusive) as if the clock had reached it,
    /// writing their decisions like any others; later deadlines stay pending in the state.
    public func fireDeadlines(until time: Int64) {
        emit(engine.advance(to: time + 1))
        engine.state.clock = max(engine.state.clock, time)
    }

    /// Appends a line that could not be read to the dead-letter file (created on first use).
    /// `counted: false` for bad rows of joined files, which the summary counts apart.
    public func keep(_ letter: DeadLetter, counted: Bool = true) throws(RunFailure) {
        if counted { deadLettersThisRun += 1 }
        // Remembered like an event, so that reading the line again does not keep it twice.
        if counted, store != nil { fresh.append(EventIdentity.deadLetter(letter), time: engine.state.clock) }
        if deadLetterSink == nil {
            let (descriptor, size) = try RunSession.open(deadLetterPath, keeping: nil, lock: false)
            deadLetterDescriptor = descriptor
            deadLetterSink = OutputSink(descriptor: descriptor)
            // What the file held before (earlier runs' bad lines) is not this run's to cut back.
            deadLetterStart = size
            checkpointedDeadLetters = size
        }
        deadLetterSink?.write(letter.jsonLine())
        try checkWrites()
    }

    /// Counts `handled` lines (or events) and checkpoints every `every` of them (or a little
    /// later, when the last checkpoint is still being written).
    public func advance(by handled: Int, every: Int) throws(RunFailure) {
        sinceCheckpoint += handled
        try checkWrites()
        // A checkpoint due while the last one is still being written (a slow sync on a busy
        // disk) is not waited for: it is taken at the first unit after that one is done.
        if store != nil, sinceCheckpoint >= every, writer?.busy != true { try beginCheckpoint() }
    }

    /// A decision or dead letter that could not be written ends the run (exit 2) at once: going
    /// on would report work whose output is lost.
    public func checkWrites() throws(RunFailure) {
        if let failure = sink.failure {
            try fail("cannot write decisions to \(outputPath ?? "standard output"): \(failure)")
        }
        if let failure = deadLetterSink?.failure {
            try fail("cannot write bad lines to \(deadLetterPath): \(failure)")
        }
    }

    /// Takes a checkpoint and waits until it is on disk.
    public func saveCheckpoint() throws(RunFailure) {
        try beginCheckpoint()
        try settle()
    }

    /// Takes a checkpoint and hands it to the writer (`CheckpointWriter`), which syncs the files
    /// and commits it while the run goes on; first waits for the one before, so that one at a
    /// time is in flight. What it records is taken now: the engine's changes, the files'
    /// lengths (their bytes written, not yet synced), the input consumed, the events processed.
    public func beginCheckpoint() throws(RunFailure) {
        guard let writer else { return }
        try settle()
        sink.flush()
        deadLetterSink?.flush()
        try checkWrites()
        let job = CheckpointWriter.Job(
            changes: engine.takeChanges(), outputBytes: outputStart + sink.written,
            deadLetterBytes: deadLetterSink.map { deadLetterStart + $0.written }, emitted: emitted, input: checkpointedInput(),
            processed: fresh, output: output, deadLetters: deadLetterDescriptor, outputName: outputPath ?? "standard output",
            deadLetterName: deadLetterPath)
        writer.submit(job)
        // New buffers: the job holds the old ones.
        emitted = []
        fresh = ProcessedSegment()
        sinceCheckpoint = 0
    }

    /// Waits for the checkpoint being written, if any; when it failed, ends the run (`fail`).
    public func settle() throws(RunFailure) {
        guard let writer else { return }
        let failure = writer.wait()
        takeCommitted()
        if let failure { try fail(failure) }
    }

    /// The lengths the last committed checkpoint recorded: what a failure cuts the files back to.
    func takeCommitted() {
        guard let committed = writer?.committed else { return }
        checkpointedOutput = committed.output
        if let deadLetters = committed.deadLetters { checkpointedDeadLetters = deadLetters }
    }

    /// Ends the run with exit 2 and the reason. With a state, the output and dead-letter files
    /// are first cut back to the last checkpoint, so they hold what the state says they hold
    /// and a restart writes nothing twice.
    public func fail(_ message: String) throws(RunFailure) -> Never {
        guard store != nil else { throw RunFailure(message) }
        // A checkpoint still being written may yet commit: the files are cut back to the last that did.
        _ = writer?.wait()
        takeCommitted()
        if output != STDOUT_FILENO { _ = ftruncate(output, off_t(checkpointedOutput)) }
        if let deadLetterDescriptor { _ = ftruncate(deadLetterDescriptor, off_t(checkpointedDeadLetters)) }
        throw RunFailure(message, note: "the output was left as at the last checkpoint; run again with the same --state to go on")
    }

    /// Flushes, checkpoints and returns the summary line and the per-rule details.
    public func finish(summary: String) throws(RunFailure) -> String {
        sink.flush()
        deadLetterSink?.flush()
        try checkWrites()
        try saveCheckpoint()
        var text = summary
        if !engine.state.pending.isEmpty {
            text += ", \(engine.state.pending.count) deadline\(engine.state.pending.count == 1 ? "" : "s") pending"
        }
        if engine.retentionDropped > 0, let before = engine.retentionDroppedBefore {
            let count = engine.retentionDropped
            text += ", retention dropped \(count) key\(count == 1 ? "" : "s") not used since \(TimeFormat.format(timestamp: before))"
        }
        if case let details = details(), !details.isEmpty { text += "\n" + details }
        return text
    }

    /// Conditions left undecided by missing fields, and decisions held back by policies, per
    /// rule: the counts of the whole run (a restarted run includes those before the restart).
    public func details() -> String {
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

    /// The summary line: `read` (what was read, e.g. "read 5 rows (1 blank)"), this run's events
    /// and decisions, then `extra`, then this run's bad lines. A run that resumed a state says
    /// so: its figures are this process's, followed by the state's totals since it began.
    public func summary(read: String? = nil, badUnit: String = "line", extra: [String] = []) -> String {
        func plural(_ count: Int, _ word: String) -> String { "\(count) \(word)\(count == 1 ? "" : "s")" }
        let total = engine.statistics
        let events = plural(total.events - startStatistics.events, "event")
        var parts = [read.map { "\($0), \(events)" } ?? "read \(events)", plural(total.decisions - startStatistics.decisions, "decision")]
        if deadLettersThisRun > 0 { parts.append("\(plural(deadLettersThisRun, "bad \(badUnit)")) kept in \(deadLetterPath)") }
        if alreadyProcessed > 0 { parts.append("\(plural(alreadyProcessed, "event")) already processed, skipped") }
        if alreadyKept > 0 { parts.append("\(plural(alreadyKept, "bad \(badUnit)")) already kept, skipped") }
        parts += extra
        let text = parts.joined(separator: ", ")
        guard checkpoint != nil else { return text }
        return "this run: \(text); since the state began: \(plural(total.events, "event")), \(plural(total.decisions, "decision"))"
    }

    /// Refuses to write decisions or bad lines into the events being read, or into each other
    /// or the state: appending to the input would feed the run its own output.
    static func refuseOverlap(input: Int32, out: String?, deadLetters: String, state: String?) throws(RunFailure) {
        var inputStatus = stat()
        let inputIdentity = fstat(input, &inputStatus) == 0 && inputStatus.st_mode & S_IFMT == S_IFREG
            ? FileIdentity(inputStatus) : nil
        var named: [(String, String, FileIdentity)] = []
        for (option, path) in [("--out", out), ("--dead-letters", Optional(deadLetters)), ("--state", state)] {
            guard let path, let identity = FileIdentity(path: path) else { continue }
            if identity == inputIdentity {
                throw RunFailure("\(option) \(path) is the events file being read; write \(option == "--state" ? "the state" : "them") to another file")
            }
            if let earlier = named.first(where: { $0.2 == identity }) {
                throw RunFailure("\(earlier.0) and \(option) name the same file (\(path)); give each its own")
            }
            named.append((option, path, identity))
        }
    }

    /// An exclusive, non-blocking lock on the state file, held until the process ends. It is
    /// `flock`, which SQLite's own (`fcntl`) locks do not see, on a descriptor never closed while
    /// the database is open (closing one would drop SQLite's locks: POSIX lock semantics).
    public static func lockState(_ path: String) throws(RunFailure) -> Int32 {
        let descriptor = Foundation.open(path, O_RDWR | O_CREAT, 0o644)
        guard descriptor >= 0 else {
            throw RunFailure("cannot open the state \(path): \(String(cString: strerror(errno)))")
        }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            close(descriptor)
            throw RunFailure(busy ? "another redress run is using the state \(path); wait for it to end (two runs on one state would write decisions twice)"
                              : "cannot lock the state \(path): \(String(cString: strerror(errno)))")
        }
        return descriptor
    }

    /// Opens an output file for appending; with `keeping`, first cuts it back to that many
    /// bytes (what the last checkpoint had written), so nothing after it is there twice. With
    /// `lock`, a regular file is locked exclusively first (two runs appending to one file would
    /// interleave and duplicate decisions). Returns the descriptor and the size it starts at.
    static func open(_ path: String?, keeping bytes: Int64?, lock: Bool) throws(RunFailure) -> (Int32, Int64) {
        guard let path else { return (STDOUT_FILENO, 0) }
        let descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard descriptor >= 0 else {
            throw RunFailure("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        var status = stat()
        let regular = fstat(descriptor, &status) == 0 && status.st_mode & S_IFMT == S_IFREG
        if lock, regular, flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            close(descriptor)
            throw RunFailure("another redress run is writing to \(path); wait for it to end or write to another file")
        }
        var size = regular ? Int64(lseek(descriptor, 0, SEEK_END)) : 0
        if let bytes, regular {
            guard size >= bytes else {
                close(descriptor)
                throw RunFailure("\(path) is shorter than the state says it was (\(size) < \(bytes) bytes); it was changed outside redress")
            }
            if size > bytes, ftruncate(descriptor, off_t(bytes)) != 0 {
                close(descriptor)
                throw RunFailure("cannot cut \(path) back to the last checkpoint: \(String(cString: strerror(errno)))")
            }
            size = bytes
        }
        return (descriptor, size)
    }
}

/// A file's device and inode: two names of one file compare equal.
public struct FileIdentity: Equatable {
    var device: UInt64
    var inode: UInt64
    public init(_ status: stat) {
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }
    /// Nil when the file does not exist (yet) or is not a regular file.
    public init?(path: String) {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
        self.init(status)
    }
}

extension DeadLetter {
    /// One JSON line per dead letter, quoted like every other string the tool writes (`JSONText`).
    public func jsonLine() -> String {
        "{\"line\":\(line),\"reason\":\(JSONText.quote(reason)),\"text\":\(JSONText.quote(text))}\n"
    }
}
