#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import RedressIR
import RedressEvents
import RedressEngine

/// Parses a regular file of JSON-lines events on several threads at once, while the caller
/// evaluates the events in input order on its own thread.
///
/// Why: parsing is most of the work of a replay, and a single reading thread cannot keep up with
/// the evaluator, so `simulate` over a file would use one core and a half. The file is cut into
/// chunks of a few megabytes; each worker parses the lines that start in a chunk; the consumer
/// takes the chunks back in file order. Memory stays bounded: only `workers + 2` chunks are in
/// flight. A pipe or a terminal (no size, no `pread`) goes through `EventPipeline` instead.
///
/// The file is mapped into memory and parsed where it lies: reading it with `pread` copied every
/// byte once more (from the page cache into a buffer no cache holds), a tenth of a replay's CPU.
/// The pages of a chunk are given back once it is consumed, so resident memory stays that of the
/// chunks in flight, however large the file. Where mapping fails, chunks are read with `pread`.
/// A file that shrinks while mapped would raise SIGBUS on the lost pages: `MappedFileGuard` turns
/// that into a message and an exit status instead of a crash.
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
        /// The events a screen held back, and the order of all the chunk's event times.
        var screened = Screened(types: 0)
        var start: Int64 = 0
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

    /// One chunk's events a screen held back (they are not handed out), and the times of all its
    /// events: a consumer that checks the input is sorted does not see every event.
    public struct Screened: Sendable {
        /// Events held back, and how many of each event type.
        public var count = 0
        public var byType: [Int]
        /// The time of the chunk's first event and the latest time in it (`.min` with no event).
        public var first: Int64 = .min
        public var latest: Int64 = .min
        /// True when every event's time is at least the one before it, within the chunk.
        public var ordered = true

        init(types: Int) { byType = [Int](repeating: 0, count: types) }

        mutating func reset() {
            count = 0
            for type in byType.indices { byType[type] = 0 }
            first = .min
            latest = .min
            ordered = true
        }

        @inline(__always) mutating func saw(_ time: Int64) {
            if first == .min, latest == .min { first = time }
            if time < latest { ordered = false }
            latest = max(latest, time)
        }
    }

    let reader: EventReader
    let descriptor: Int32
    let size: Int64
    let chunkSize: Int64
    let chunkCount: Int
    /// Parsing threads.
    public let workers: Int
    let slotCount: Int
    /// The whole file, mapped read-only; nil when chunks are read with `pread`.
    let mapping: UnsafeRawPointer?
    let condition = NSCondition()
    // Guarded by `condition`:
    var freeBatches: [Batch]
    var done: [Int: Batch] = [:]
    var claimed = 0
    var stopped = false
    var failure: String? = nil
    var consumedBytes: Int64 = 0

    /// Nil when `descriptor` is not a regular file (then read it with `EventPipeline`). With
    /// `mapped: false` (for tests) chunks are read with `pread` even where mapping would work.
    /// Longer lines are dead letters (`LineLimit`): a mapped line costs no memory, but its dead
    /// letter's text, or its `pread` buffer, would.
    let maximumLineLength: Int

    public init?(reader: EventReader, descriptor: Int32, slotCount: Int,
                 workers: Int = ProcessInfo.processInfo.activeProcessorCount, chunkSize: Int = 4 << 20, mapped: Bool = true,
                 maximumLineLength: Int = LineLimit.defaultBytes) {
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        self.reader = reader
        self.descriptor = descriptor
        self.maximumLineLength = max(1, maximumLineLength)
        size = Int64(status.st_size)
        let chunkSize = max(1, chunkSize)
        self.chunkSize = Int64(chunkSize)
        chunkCount = Int((size + Int64(chunkSize) - 1) / Int64(chunkSize))
        self.workers = max(1, min(workers, 8))
        self.slotCount = slotCount
        mapping = mapped ? MappedFileGuard.map(descriptor, size: Int(size)) : nil
        // A mapped file needs no read buffer.
        let bufferSize = mapping == nil ? chunkSize + (64 << 10) : 0
        freeBatches = (0..<(self.workers + 2)).map { _ in Batch(slotCount: slotCount, bufferSize: bufferSize) }
        let types = reader.program.events.count
        for batch in freeBatches { batch.screened = Screened(types: types) }
    }

    deinit {
        if let mapping { munmap(UnsafeMutableRawPointer(mutating: mapping), Int(size)) }
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
        run(screens: [], screened: { _ in true }, event: event, deadLetter: deadLetter)
    }

    /// The same with screens on the parsing threads, one per worker (`workers` of them, or none):
    /// only the events a screen admits are handed to `event`. Before each chunk's events,
    /// `screened` gets what the chunk's screen held back (and the order of its times); returning
    /// false stops.
    @discardableResult
    public func run(screens: [EventScreen], screened: (Screened) -> Bool,
                    event: (UnsafePointer<Event>, Int) -> Bool, deadLetter: (DeadLetter, Int) -> Bool) -> String? {
        let group = DispatchGroup()
        for worker in 0..<workers {
            group.enter()
            let screen = screens.count == workers ? screens[worker] : nil
            let thread = Thread { [self] in
                work(screen: screen)
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
            guard screened(batch.screened) else {
                release(batch, end: batch.end)
                break consuming
            }
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
        if let mapping {
            // The chunk's whole pages go back (their lines are consumed); the page it shares with
            // the next chunk stays. Only the mapping is dropped: the page cache keeps the file.
            let page = Int64(MappedFileGuard.pageSize)
            let from = (batch.start + page - 1) / page * page, to = batch.end / page * page
            if to > from { madvise(UnsafeMutableRawPointer(mutating: mapping + Int(from)), Int(to - from), MADV_DONTNEED) }
        }
        condition.lock()
        freeBatches.append(batch)
        consumedBytes = end
        condition.broadcast()
        condition.unlock()
    }

    /// A worker: claims the next chunk whenever a batch is free, parses it, hands it over.
    func work(screen: EventScreen?) {
        #if os(Linux)
        // Below the consumer: it is the replay's critical path, and with more threads than
        // cores a parsing thread would otherwise take turns with it on a core. (On Linux the
        // nice value is per thread, and 0 names the calling one.)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        #endif
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
            let error = parse(chunk, into: batch, screen: screen)
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
    func parse(_ chunk: Int, into batch: Batch, screen: EventScreen? = nil) -> String? {
        batch.count = 0
        batch.screened.reset()
        batch.letters.removeAll(keepingCapacity: true)
        batch.lines = 0
        let start = Int64(chunk) * chunkSize
        let end = min(size, start + chunkSize)
        batch.start = start
        batch.end = end
        // One byte before the chunk tells whether the chunk begins a line.
        let from = chunk == 0 ? start : start - 1
        if let mapping {
            #if os(Linux)
            // The chunk's page table entries in one call rather than a fault per few pages
            // (MADV_POPULATE_READ, Linux 5.14; older kernels refuse it and the pages fault in).
            let page = Int64(MappedFileGuard.pageSize)
            let first = from / page * page
            _ = madvise(UnsafeMutableRawPointer(mutating: mapping + Int(first)), Int(end - first), 22)
            #endif
            // The rest of the file is there: a last line running into the next chunk is read in place.
            return parseLines(chunk, (mapping + Int(from)).assumingMemoryBound(to: UInt8.self), filled: Int(size - from),
                              limit: Int(end - from), into: batch, screen: screen)
        }
        guard var filled = readFully(batch, at: from, into: 0, length: Int(end - from)) else { return "cannot read the events file" }
        // The chunk's last line runs on into the next chunk: read on until the first newline at
        // or after the chunk's last byte (or the end of the file), then read the lines in memory.
        let limit = Int(end - from)
        var searched = max(0, limit - 1)
        while from + Int64(filled) < size,
              searched >= filled || memchr(batch.buffer.baseAddress! + searched, 10, filled - searched) == nil {
            let more = 64 << 10
            if filled + more > batch.buffer.count { batch.grow(to: batch.buffer.count * 2, keeping: filled) }
            guard let read = readFully(batch, at: from + Int64(filled), into: filled, length: more) else { return "cannot read the events file" }
            if read == 0 { break }
            searched = filled
            filled += read
        }
        return parseLines(chunk, batch.buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), filled: filled, limit: limit, into: batch, screen: screen)
    }

    /// Reads one line into the batch: an event (unless the screen holds it back), a dead letter,
    /// or nothing for a blank line.
    @inline(__always) func take(_ line: UnsafeBufferPointer<UInt8>, _ relative: Int, _ batch: Batch, _ screen: EventScreen?) {
        if line.count > maximumLineLength {
            let index = batch.next()
            batch.letters.append((index, .overlong(line: relative, length: line.count, limit: maximumLineLength, start: line)))
            return
        }
        if line.allSatisfy({ $0 == 32 || $0 == 9 }) { return }
        guard let start = line.baseAddress else { return }
        let index = batch.next()
        // Strings are made only for the events the screen admits (most are held back), when it
        // needs none to decide.
        let deferring = screen.map { !$0.readsStrings } ?? false
        if let reason = reader.read(line, number: relative, into: &batch.events[index], deferringStrings: deferring) {
            batch.letters.append((index, DeadLetter(line: relative, reason: reason, text: String(decoding: line, as: UTF8.self))))
            return
        }
        batch.screened.saw(batch.events[index].time)
        guard let screen else { return }
        let admitted = batch.events.withUnsafeMutableBufferPointer { events in
            guard let base = events.baseAddress else { return true }
            return screen.admits(base + index)
        }
        if admitted {
            if deferring { batch.events[index].makeStrings(start) }
        } else {
            // Its slot is reused by the next line.
            batch.count -= 1
            batch.screened.count += 1
            batch.screened.byType[batch.events[index].type] += 1
        }
    }

    /// The lines starting before `limit` in `filled` bytes already in memory (the mapped file,
    /// or a chunk read with `pread` up to its last line's newline).
    func parseLines(_ chunk: Int, _ bytes: UnsafePointer<UInt8>, filled: Int, limit: Int, into batch: Batch, screen: EventScreen?) -> String? {
        var position = 0
        if chunk > 0 {
            // Skip the rest of a line that began in an earlier chunk.
            guard let newline = memchr(bytes, 10, filled) else { return nil }
            position = bytes.distance(to: newline.assumingMemoryBound(to: UInt8.self)) + 1
        }
        var relative = 0
        while position < limit, position < filled {
            let found = memchr(bytes + position, 10, filled - position)
            var lineEnd = found.map { bytes.distance(to: $0.assumingMemoryBound(to: UInt8.self)) } ?? filled
            let next = lineEnd + 1
            if lineEnd > position, bytes[lineEnd - 1] == 13 { lineEnd -= 1 }
            relative += 1
            var line = UnsafeBufferPointer(start: bytes + position, count: lineEnd - position)
            if chunk == 0, relative == 1 { line = withoutByteOrderMark(line) }
            position = next
            take(line, relative, batch, screen)
        }
        batch.lines = relative
        return nil
    }
}

/// Maps files for `ChunkedEventPipeline`, and turns the SIGBUS that reading a page of a mapped
/// file raises when the file was truncated meanwhile into a message and exit status 74 (EX_IOERR)
/// rather than a crash. The handler only writes and exits (what a signal handler may do).
enum MappedFileGuard {
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// The file mapped read-only, or nil (empty, or the system refused).
    static func map(_ descriptor: Int32, size: Int) -> UnsafeRawPointer? {
        guard size > 0 else { return nil }
        _ = handlerInstalled
        guard let address = mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0), address != MAP_FAILED else { return nil }
        // Read front to back: a file not yet in the page cache is read ahead in large steps.
        _ = madvise(address, size, MADV_SEQUENTIAL)
        return UnsafeRawPointer(address)
    }

    /// Installs the handler once, before the first mapping (a static's initializer runs once).
    static let handlerInstalled: Bool = {
        signal(SIGBUS) { _ in
            let message: StaticString = "\nerror: the events file shrank while it was being read (it was truncated or replaced in place); run again on a file nothing is writing to\n"
            _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
            _exit(74)
        }
        return true
    }()
}
