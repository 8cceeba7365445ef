#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Parses a regular file of JSON-lines events on several threads at once, while the caller
/// evaluates the events in input order on its own thread.
///
/// Why: parsing is most of the work of a replay, and a single reading thread cannot keep up with
/// the evaluator, so `simulate` over a file would use one core and a half. The file is cut into
/// chunks of a few megabytes; each worker reads a whole chunk with `pread` and parses the lines
/// that start in it; the consumer takes the chunks back in file order. Memory stays bounded:
/// only `workers + 2` chunks are in flight. A pipe or a terminal (no size, no `pread`) goes
/// through `EventPipeline` instead.
public final class ChunkedEventPipeline: @unchecked Sendable {
    public typealias Item = EventPipeline.Item

    /// One chunk's parsed lines. Line numbers are first counted from the chunk's start; the
    /// consumer adds the lines of the chunks before it.
    final class Batch: @unchecked Sendable {
        var events: [Event] = []
        /// The dead letters, by position in `events` (in order): few, so kept apart rather than
        /// as an optional per event that the consumer would read for every line.
        var letters: [(position: Int, letter: DeadLetter)] = []
        var count = 0
        var lines = 0
        var end: Int64 = 0
        var buffer: UnsafeMutableRawBufferPointer
        let slotCount: Int

        init(slotCount: Int, bufferSize: Int) {
            self.slotCount = slotCount
            buffer = .allocate(byteCount: bufferSize, alignment: 16)
        }

        deinit { buffer.deallocate() }

        /// The next event slot to parse into, growing the (reused) storage when needed.
        func next() -> Int {
            if count == events.count {
                events.append(Event(slotCount: slotCount))
            }
            count += 1
            return count - 1
        }

        func grow(to size: Int, keeping used: Int) {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
            bigger.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<used]))
            buffer.deallocate()
            buffer = bigger
        }
    }

    let reader: EventReader
    let descriptor: Int32
    let size: Int64
    let chunkSize: Int64
    let chunkCount: Int
    let workers: Int
    let slotCount: Int
    let condition = NSCondition()
    // Guarded by `condition`:
    var freeBatches: [Batch]
    var done: [Int: Batch] = [:]
    var claimed = 0
    var stopped = false
    var failure: String? = nil
    var consumedBytes: Int64 = 0

    /// Nil when `descriptor` is not a regular file (then read it with `EventPipeline`).
    public init?(reader: EventReader, descriptor: Int32, slotCount: Int,
                 workers: Int = ProcessInfo.processInfo.activeProcessorCount, chunkSize: Int = 4 << 20) {
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        self.reader = reader
        self.descriptor = descriptor
        size = Int64(status.st_size)
        let chunkSize = max(1, chunkSize)
        self.chunkSize = Int64(chunkSize)
        chunkCount = Int((size + Int64(chunkSize) - 1) / Int64(chunkSize))
        self.workers = max(1, min(workers, 8))
        self.slotCount = slotCount
        freeBatches = (0..<(self.workers + 2)).map { _ in Batch(slotCount: slotCount, bufferSize: chunkSize + (64 << 10)) }
    }

    /// Bytes of input handed to the consumer so far.
    public var progress: Int64 {
        condition.lock()
        defer { condition.unlock() }
        return consumedBytes
    }

    /// Calls `body` for every line in order with its line number; `body` returns false to stop
    /// early. Returns a message when the file could not be read.
    @discardableResult
    public func run(_ body: (Item, Int) -> Bool) -> String? {
        run(event: { event, number in body(.event(event.pointee), number) }, deadLetter: { letter, number in body(.deadLetter(letter), number) })
    }

    /// The same with events lent to `event` in place, by pointer (valid during the call): no
    /// copy of an event (and so no retain and release of its arrays, shared with the parsing
    /// thread) per line.
    @discardableResult
    public func run(event: (UnsafePointer<Event>, Int) -> Bool, deadLetter: (DeadLetter, Int) -> Bool) -> String? {
        let group = DispatchGroup()
        for _ in 0..<workers {
            group.enter()
            let thread = Thread { [self] in
                work()
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        var base = 0
        consuming: for chunk in 0..<chunkCount {
            condition.lock()
            while done[chunk] == nil, failure == nil { condition.wait() }
            guard let batch = done.removeValue(forKey: chunk) else {
                condition.unlock()
                break
            }
            condition.unlock()
            let going = batch.events.withUnsafeMutableBufferPointer { events -> Bool in
                var nextLetter = 0
                for i in 0..<batch.count {
                    if nextLetter < batch.letters.count, batch.letters[nextLetter].position == i {
                        var moved = batch.letters[nextLetter].letter
                        nextLetter += 1
                        moved.line += base
                        if !deadLetter(moved, moved.line) { return false }
                    } else {
                        events[i].line += base
                        let number = events[i].line
                        if !event(UnsafePointer(events.baseAddress! + i), number) { return false }
                    }
                }
                return true
            }
            if !going {
                release(batch, end: batch.end)
                break consuming
            }
            base += batch.lines
            release(batch, end: batch.end)
        }
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
        group.wait()
        return failure
    }

    func release(_ batch: Batch, end: Int64) {
        condition.lock()
        freeBatches.append(batch)
        consumedBytes = end
        condition.broadcast()
        condition.unlock()
    }

    /// A worker: claims the next chunk whenever a batch is free, parses it, hands it over.
    func work() {
        while true {
            condition.lock()
            while freeBatches.isEmpty, !stopped { condition.wait() }
            guard !stopped, failure == nil, claimed < chunkCount else {
                condition.unlock()
                return
            }
            let batch = freeBatches.removeLast()
            let chunk = claimed
            claimed += 1
            condition.unlock()
            let error = parse(chunk, into: batch)
            condition.lock()
            if let error, failure == nil { failure = error }
            done[chunk] = batch
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Reads `length` bytes at `offset` into the batch's buffer at `into`; returns the bytes read.
    func readFully(_ batch: Batch, at offset: Int64, into position: Int, length: Int) -> Int? {
        var total = 0
        while total < length {
            let count = pread(descriptor, batch.buffer.baseAddress! + position + total, length - total, off_t(offset + Int64(total)))
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            total += count
        }
        return total
    }

    /// Parses the lines that start in chunk `chunk`: from the first line start at or after the
    /// chunk's first byte up to the last line starting before its end (read on past the end
    /// until that line's newline).
    func parse(_ chunk: Int, into batch: Batch) -> String? {
        batch.count = 0
        batch.letters.removeAll(keepingCapacity: true)
        batch.lines = 0
        let start = Int64(chunk) * chunkSize
        let end = min(size, start + chunkSize)
        batch.end = end
        // One byte before the chunk tells whether the chunk begins a line.
        let from = chunk == 0 ? start : start - 1
        guard var filled = readFully(batch, at: from, into: 0, length: Int(end - from)) else { return "cannot read the events file" }
        let base = batch.buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var position = 0
        if chunk > 0 {
            // Skip the rest of a line that began in an earlier chunk.
            guard let newline = memchr(base, 10, filled) else { return nil }
            position = base.distance(to: newline.assumingMemoryBound(to: UInt8.self)) + 1
        }
        let limit = Int(end - from)  // lines starting at or after this belong to the next chunk
        var relative = 0
        while position < limit, position < filled {
            let current = batch.buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var newline = memchr(current + position, 10, filled - position).map { current.distance(to: $0.assumingMemoryBound(to: UInt8.self)) }
            // The chunk's last line runs on into the next chunk: read until its newline (or the end).
            while newline == nil, from + Int64(filled) < size {
                let more = 64 << 10
                if filled + more > batch.buffer.count { batch.grow(to: batch.buffer.count * 2, keeping: filled) }
                guard let read = readFully(batch, at: from + Int64(filled), into: filled, length: more) else { return "cannot read the events file" }
                if read == 0 { break }
                let searched = filled
                filled += read
                let grown = batch.buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
                newline = memchr(grown + searched, 10, filled - searched).map { grown.distance(to: $0.assumingMemoryBound(to: UInt8.self)) }
            }
            let bytes = batch.buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var lineEnd = newline ?? filled
            let next = lineEnd + 1
            if lineEnd > position, bytes[lineEnd - 1] == 13 { lineEnd -= 1 }
            relative += 1
            var line = UnsafeBufferPointer(start: bytes + position, count: lineEnd - position)
            if chunk == 0, relative == 1 { line = withoutByteOrderMark(line) }
            position = next
            if line.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
            let index = batch.next()
            if let reason = reader.read(line, number: relative, into: &batch.events[index]) {
                batch.letters.append((index, DeadLetter(line: relative, reason: reason, text: String(decoding: line, as: UTF8.self))))
            }
        }
        batch.lines = relative
        return nil
    }
}
