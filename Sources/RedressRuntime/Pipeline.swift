import Foundation
import RedressIR

/// Reads and parses JSON-lines events on one thread while the caller evaluates them on
/// another: reading is about half the work of `run`, so the two cores together nearly double
/// its speed. Events arrive in input order, in batches whose storage is reused (no allocation
/// per event), so the output is the same as reading and evaluating one line at a time.
public final class EventPipeline: @unchecked Sendable {
    public enum Item {
        case event(Event)
        case deadLetter(DeadLetter)
    }

    final class Batch: @unchecked Sendable {
        var events: [Event]
        /// Per position: nil for an event, or the dead letter read there.
        var letters: [DeadLetter?]
        var count = 0
        init(size: Int, slotCount: Int) {
            events = (0..<size).map { _ in Event(slotCount: slotCount) }
            letters = [DeadLetter?](repeating: nil, count: size)
        }
    }

    let reader: EventReader
    let lines: LineReader
    let skipThrough: Int
    let free: DispatchSemaphore
    let full = DispatchSemaphore(value: 0)
    let lock = NSLock()
    var freeBatches: [Batch]
    var fullBatches: [Batch?] = []
    var stopped = false
    var bytesRead: Int64 = 0

    /// Why the input stopped early (a read error), or nil at its normal end; read after `run`.
    public var failure: String? { lines.failure }

    /// Bytes of input parsed so far (safe to read from the consuming thread).
    public var progress: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return bytesRead
    }

    /// `skipThrough`: lines up to this number are not parsed (a restart resumes after them).
    public init(reader: EventReader, lines: LineReader, slotCount: Int, skipThrough: Int = 0, batchSize: Int = 2048, batches: Int = 4) {
        self.reader = reader
        self.lines = lines
        self.skipThrough = skipThrough
        freeBatches = (0..<batches).map { _ in Batch(size: batchSize, slotCount: slotCount) }
        free = DispatchSemaphore(value: batches)
    }

    /// Calls `body` for every line in order; `body` returns false to stop early. `idle` is called
    /// whenever the consumer has handled every line read so far and would wait for more (a quiet
    /// pipe): the place to flush what was written, so a live stream's decisions go out at once.
    /// It returns how many milliseconds to wait for input before it is called again (a deadline
    /// due on the wall clock), or nil to wait for input as long as it takes.
    public func run(idle: () -> Int64? = { nil }, _ body: (Item, Int) -> Bool) {
        let producer = Thread { [self] in produce() }
        producer.stackSize = 1 << 20
        producer.start()
        consuming: while true {
            if full.wait(timeout: .now()) == .timedOut {
                // The producer ends on end of input and on a stop signal alike, and signals
                // `full` then: a timed wait here never delays a stop.
                while true {
                    guard let wait = idle() else {
                        full.wait()
                        break
                    }
                    if full.wait(timeout: .now() + .milliseconds(Int(clamping: max(0, wait)))) == .success { break }
                }
            }
            lock.lock()
            let next = fullBatches.removeFirst()
            lock.unlock()
            guard let batch = next else { break }
            for i in 0..<batch.count {
                let item: Item = batch.letters[i].map { .deadLetter($0) } ?? .event(batch.events[i])
                if !body(item, batch.letters[i]?.line ?? batch.events[i].line) {
                    stop(returning: batch)
                    break consuming
                }
            }
            lock.lock()
            freeBatches.append(batch)
            lock.unlock()
            free.signal()
        }
    }

    func stop(returning batch: Batch) {
        lock.lock()
        stopped = true
        freeBatches.append(batch)
        lock.unlock()
        free.signal()
        // Let the producer finish its current batch and see the flag.
        while true {
            full.wait()
            lock.lock()
            let next = fullBatches.removeFirst()
            if let next { freeBatches.append(next) }
            lock.unlock()
            if next == nil { return }
            free.signal()
        }
    }

    func produce() {
        var more = true
        while more {
            free.wait()
            lock.lock()
            let stop = stopped
            let batch = freeBatches.removeLast()
            if stop { freeBatches.append(batch) }
            lock.unlock()
            if stop {
                // The batch goes back unused, and so does its count: a semaphore released
                // below its starting value traps (libdispatch), which once turned a stop on
                // a state-database error into a crash.
                free.signal()
                break
            }
            batch.count = 0
            while batch.count < batch.events.count {
                let index = batch.count
                let read = lines.next { line, number in
                    if number <= skipThrough { return }
                    if lines.overlongLength > 0 {
                        batch.letters[index] = .overlong(line: number, length: lines.overlongLength, limit: lines.maximumLineLength, start: line)
                        batch.count += 1
                        return
                    }
                    if line.allSatisfy({ $0 == 32 || $0 == 9 }) { return }
                    if let reason = reader.read(line, number: number, into: &batch.events[index]) {
                        batch.letters[index] = DeadLetter(line: number, reason: reason, text: String(decoding: line, as: UTF8.self))
                    } else {
                        batch.letters[index] = nil
                    }
                    batch.count += 1
                }
                if !read { more = false; break }
                // Nothing more without waiting for input (a pipe that is quiet): hand over what
                // was read instead of holding it until the batch is full.
                if batch.count > 0, !lines.hasLineWithoutWaiting { break }
            }
            lock.lock()
            fullBatches.append(batch)
            bytesRead = lines.consumed
            lock.unlock()
            full.signal()
        }
        lock.lock()
        fullBatches.append(nil)
        lock.unlock()
        full.signal()
    }
}
