import Foundation
import RedressIR
import RedressEvents
import RedressEngine

/// Reads and parses JSON-lines events on one thread while the caller evaluates them on
/// another: reading is about half the work of `run`, so the two cores together nearly double
/// its speed. Events arrive in input order, in batches whose storage is reused (no allocation
/// per event), so the output is the same as reading and evaluating one line at a time.
public final class EventPipeline: @unchecked Sendable {
    public enum Item {
        case event(Event)
        case deadLetter(DeadLetter)
        /// An event whose id (`Event.idHash`) was processed before, in this input or an earlier
        /// one: only with a `processed` set, whose owner skips and counts it.
        case alreadyProcessed(Event)
        /// A line that cannot be read and was kept as a dead letter before (same text, same
        /// reason): only with a `processed` set.
        case alreadyKept(DeadLetter)
    }

    final class Batch: @unchecked Sendable {
        var events: [Event]
        /// Per position: nil for an event, or the dead letter read there.
        var letters: [DeadLetter?]
        /// Per position, with a `processed` set: the item's `EventIdentity` hash (an event's, or
        /// a dead letter's), then whether it was processed before.
        var identities: [UInt64]
        var repeated: [Bool]
        /// Per position: the hash of the input through that line (when the lines are hashed).
        var prefixes: [StreamHash]
        var count = 0
        init(size: Int, slotCount: Int, hashing: Bool) {
            events = (0..<size).map { _ in Event(slotCount: slotCount) }
            letters = [DeadLetter?](repeating: nil, count: size)
            identities = [UInt64](repeating: 0, count: size)
            repeated = [Bool](repeating: false, count: size)
            prefixes = hashing ? [StreamHash](repeating: StreamHash(), count: size) : []
        }
    }

    let reader: EventReader
    let lines: LineReader
    let skipThrough: Int
    /// Events seen before: the producer sets each event's `idHash`, adds it, and hands out the
    /// events already there as `.alreadyProcessed`. Touched by the producer thread only.
    let processed: ProcessedEvents?
    let hashing: Bool
    let free: DispatchSemaphore
    let full = DispatchSemaphore(value: 0)
    let lock = NSLock()
    var freeBatches: [Batch]
    var fullBatches: [Batch?] = []
    var stopped = false
    var bytesRead: Int64 = 0

    /// Why the input stopped early (a read error), or nil at its normal end; read after `run`.
    public var failure: String? { lines.failure }

    /// The hash of the input through the line of the item `body` was last given (when the line
    /// reader hashes what it reads): what a checkpoint taken in `body` records as consumed.
    public private(set) var consumedThrough: StreamHash? = nil

    /// Bytes of input parsed so far (safe to read from the consuming thread).
    public var progress: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return bytesRead
    }

    /// `skipThrough`: lines up to this number are not parsed (a restart resumes after them).
    /// `processed`: the events processed before, to hand out again as `.alreadyProcessed`.
    public init(reader: EventReader, lines: LineReader, slotCount: Int, skipThrough: Int = 0, processed: ProcessedEvents? = nil,
                batchSize: Int = 2048, batches: Int = 4) {
        self.reader = reader
        self.lines = lines
        self.skipThrough = skipThrough
        self.processed = processed
        let hashing = lines.prefix != nil
        self.hashing = hashing
        consumedThrough = lines.prefix
        freeBatches = (0..<batches).map { _ in Batch(size: batchSize, slotCount: slotCount, hashing: hashing) }
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
                if hashing { consumedThrough = batch.prefixes[i] }
                let item: Item = batch.letters[i].map { batch.repeated[i] ? .alreadyKept($0) : .deadLetter($0) }
                    ?? (batch.repeated[i] ? .alreadyProcessed(batch.events[i]) : .event(batch.events[i]))
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
        var reserved = false
        let firstByte = lines.consumed
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
                        let letter = DeadLetter.overlong(line: number, length: lines.overlongLength, limit: lines.maximumLineLength, start: line)
                        batch.letters[index] = letter
                        if processed != nil { batch.identities[index] = EventIdentity.deadLetter(letter) }
                        if hashing, let prefix = lines.prefix { batch.prefixes[index] = prefix }
                        batch.count += 1
                        return
                    }
                    if line.allSatisfy({ $0 == 32 || $0 == 9 }) { return }
                    if let reason = reader.read(line, number: number, into: &batch.events[index]) {
                        let letter = DeadLetter(line: number, reason: reason, text: String(decoding: line, as: UTF8.self))
                        batch.letters[index] = letter
                        if processed != nil { batch.identities[index] = EventIdentity.deadLetter(letter) }
                    } else {
                        batch.letters[index] = nil
                        if processed != nil {
                            let id = batch.events[index].id
                            let identity = id.isEmpty ? EventIdentity.derived(line: line) : EventIdentity.of(id: id)
                            batch.events[index].idHash = identity
                            batch.identities[index] = identity
                        }
                    }
                    if hashing, let prefix = lines.prefix { batch.prefixes[index] = prefix }
                    batch.count += 1
                }
                if !read { more = false; break }
                // Nothing more without waiting for input (a pipe that is quiet): hand over what
                // was read instead of holding it until the batch is full.
                if batch.count > 0, !lines.hasLineWithoutWaiting { break }
            }
            if let processed, !reserved {
                // Room in the set for the rest of a file, from the first batch's bytes per line.
                reserved = true
                if batch.count > 0, let left = lines.bytesLeft {
                    let perLine = max(1, (lines.consumed - firstByte) / Int64(batch.count))
                    processed.reserve(processed.count + batch.count + Int(left / perLine))
                }
            }
            if let processed {
                // A batch at a time: its slots are fetched first, all at once (independent loads
                // overlap), then the inserts find them in the cache — in a set too large for the
                // cache, one wait for memory per event otherwise (a tenth of a --state run's time).
                processed.touch(batch.identities, count: batch.count)
                for index in 0..<batch.count { batch.repeated[index] = !processed.insert(batch.identities[index]) }
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
