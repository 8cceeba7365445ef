#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import RedressEvents
import RedressEngine
import RedressState

/// Writes `RunSession`'s checkpoints on a thread of its own, one at a time, in the order of the
/// exactly-once protocol: the output and dead-letter files are synced first, then one
/// transaction records what the checkpoint covers. The run goes on evaluating meanwhile.
///
/// Why: syncing a file waits for the disk (a millisecond when it is quiet, tens when others
/// write), and the transaction is a tenth of a `run --state`'s work; on the evaluating thread
/// both held up every event behind them. What a checkpoint records was taken when it began
/// (the changes, the output's length, the input consumed), so bytes written after it are
/// simply not covered yet, as a restart sees them: it cuts them away and evaluates again.
final class CheckpointWriter: @unchecked Sendable {
    /// One checkpoint as it was when it began.
    struct Job: Sendable {
        var changes: StateChanges
        var outputBytes: Int64
        /// Nil while no dead-letter file is open: the checkpoint records 0 (nothing to cut), and
        /// the length a later-opened file starts at is not overwritten by this one.
        var deadLetterBytes: Int64?
        var emitted: [String]
        var input: ConsumedInput
        var processed: ProcessedSegment
        var output: Int32
        var deadLetters: Int32?
        var outputName: String
        var deadLetterName: String
    }

    let store: StateStore
    let fingerprint: String
    let queue = DispatchQueue(label: "redress.checkpoint")
    let inFlight = DispatchGroup()
    // Written by the writing thread, read after `wait()` (the group orders the two).
    var failure: String? = nil
    /// The file lengths the last checkpoint that committed recorded (nil for a file it did not cover).
    var committed: (output: Int64, deadLetters: Int64?)? = nil

    init(store: StateStore, fingerprint: String) {
        self.store = store
        self.fingerprint = fingerprint
    }

    func submit(_ job: Job) {
        inFlight.enter()
        // Weakly held, so that when `wait()` returns no reference to the store is left on the
        // writing thread: the session closes the database when it ends, and a next run on the
        // same state (in the same process) must not find it still open ("database is locked").
        queue.async { [weak self, inFlight] in
            self?.commit(job)
            inFlight.leave()
        }
    }

    func commit(_ job: Job) {
        failure = write(job)
        if failure == nil { committed = (job.outputBytes, job.deadLetterBytes) }
    }

    /// Whether a checkpoint is being written (without waiting for it).
    var busy: Bool { inFlight.wait(timeout: .now()) == .timedOut }

    /// Waits for the checkpoint being written; returns why it failed, or nil (also when none was).
    func wait() -> String? {
        inFlight.wait()
        defer { failure = nil }
        return failure
    }

    func write(_ job: Job) -> String? {
        if let reason = OutputSink.sync(job.output) { return "cannot write decisions to \(job.outputName): \(reason)" }
        if let descriptor = job.deadLetters, let reason = OutputSink.sync(descriptor) {
            return "cannot write bad lines to \(job.deadLetterName): \(reason)"
        }
        do {
            try store.save(job.changes, outputBytes: job.outputBytes, deadLetterBytes: job.deadLetterBytes ?? 0, program: fingerprint,
                           emitted: job.emitted, input: job.input, processed: job.processed)
        } catch {
            return "\(error)"
        }
        return nil
    }
}
