import ArgumentParser
import Foundation
import RedressIR
import RedressRuntime

/// What both ways of running (JSON lines and CSV through a mapping) share: the state store and
/// its last checkpoint, the engine, the decision and dead-letter files (cut back to the
/// checkpoint on a restart), and checkpoints themselves.
final class RunSession {
    let engine: Engine
    let store: StateStore?
    let checkpoint: StateStore.Checkpoint?
    let fingerprint: String
    let sink: OutputSink
    let output: Int32
    let deadLetterPath: String
    var deadLetterDescriptor: Int32?
    var deadLetterSink: OutputSink?
    let outputStart: Int64
    let deadLetterStart: Int64
    var emitted: [String] = []
    var sinceCheckpoint = 0

    /// Input lines up to this one were handled before the last checkpoint.
    var resumeAfter: Int { checkpoint?.position ?? 0 }

    init(program: Program, state: String?, out: String?, deadLetters: String) throws {
        fingerprint = program.fingerprint
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
        self.store = store
        self.checkpoint = checkpoint
        deadLetterPath = deadLetters
        output = try RunSession.open(out, keeping: checkpoint?.outputBytes)
        if checkpoint.map({ $0.deadLetterBytes > 0 }) ?? false {
            let descriptor = try RunSession.open(deadLetters, keeping: checkpoint?.deadLetterBytes)
            deadLetterDescriptor = descriptor
            deadLetterSink = OutputSink(descriptor: descriptor)
        }
        engine = Engine(program: program, state: engineState)
        sink = OutputSink(descriptor: output)
        outputStart = checkpoint?.outputBytes ?? 0
        deadLetterStart = checkpoint?.deadLetterBytes ?? 0
    }

    deinit {
        if output != STDOUT_FILENO { close(output) }
        if let deadLetterDescriptor { close(deadLetterDescriptor) }
    }

    func evaluate(_ event: Event) {
        for decision in engine.process(event) {
            sink.write(decision.jsonLine() + "\n")
            if store != nil { emitted.append(decision.key) }
        }
    }

    /// `--until`: fires the deadlines due by `time` (inclusive) as if the clock had reached it,
    /// writing their decisions like any others; later deadlines stay pending in the state.
    func fireDeadlines(until time: Int64) {
        for decision in engine.advance(to: time + 1) {
            sink.write(decision.jsonLine() + "\n")
            if store != nil { emitted.append(decision.key) }
        }
        engine.state.clock = max(engine.state.clock, time)
    }

    /// Appends a line that could not be read to the dead-letter file (created on first use).
    func keep(_ letter: DeadLetter) {
        if deadLetterSink == nil {
            let descriptor = Foundation.open(deadLetterPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            deadLetterDescriptor = descriptor >= 0 ? descriptor : nil
            deadLetterSink = OutputSink(descriptor: descriptor >= 0 ? descriptor : STDERR_FILENO)
        }
        deadLetterSink?.write(DeadLetterText.line(letter))
    }

    /// Counts `handled` lines (or events) and checkpoints every `every` of them.
    func advance(by handled: Int, every: Int) throws {
        sinceCheckpoint += handled
        if store != nil, sinceCheckpoint >= every { try saveCheckpoint() }
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

    /// Flushes, checkpoints and prints the summary line and the per-rule details.
    func finish(summary: String) throws {
        sink.flush()
        deadLetterSink?.flush()
        try saveCheckpoint()
        var text = summary
        if !engine.state.pending.isEmpty {
            text += ", \(engine.state.pending.count) deadline\(engine.state.pending.count == 1 ? "" : "s") pending"
        }
        Output.error(text)
        if case let details = Run.details(engine), !details.isEmpty { Output.error(details) }
        if sink.failed {
            Output.error("error: could not write all decisions")
            throw ExitCode(2)
        }
    }

    /// Opens an output file for appending; with `keeping`, first cuts it back to that many
    /// bytes (what the last checkpoint had written), so nothing after it is there twice.
    static func open(_ path: String?, keeping bytes: Int64?) throws -> Int32 {
        guard let path else { return STDOUT_FILENO }
        let descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
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
