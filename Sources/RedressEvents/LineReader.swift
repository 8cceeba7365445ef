#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How long one line of input may be. Without a bound, one endless line (`--events /dev/zero`,
/// a file with no newline) would be gathered in memory until the machine runs out; with it, the
/// line becomes a dead letter and reading goes on at the next line, in constant memory.
public enum LineLimit {
    /// The default: 1 MiB, a thousand times a typical event; `--max-line-bytes` changes it.
    public static let defaultBytes = 1 << 20
    /// How much of an over-long line a dead letter keeps, so the operator can see what it was.
    public static let keptBytes = 256
}

extension DeadLetter {
    /// The dead letter for a line longer than the limit: its first bytes and its length.
    public static func overlong(line: Int, length: Int, limit: Int, start: UnsafeBufferPointer<UInt8>) -> DeadLetter {
        DeadLetter(line: line, reason: "the line is \(length) bytes long, over the limit of \(limit) bytes (--max-line-bytes); only its first \(min(length, LineLimit.keptBytes)) bytes are kept here",
                   text: String(decoding: start.prefix(LineLimit.keptBytes), as: UTF8.self))
    }
}

/// Reads a file descriptor line by line in constant memory, handing out each line as bytes
/// without copying (a line is valid until the next call). `\r\n` and `\n` both end a line.
/// A line longer than `maximumLineLength` is skipped in constant memory: the caller is handed
/// its first bytes with `overlongLength` set to its length, and makes it a dead letter.
public final class LineReader {
    let descriptor: Int32
    var buffer: UnsafeMutableRawBufferPointer
    var start = 0
    var end = 0
    var finished = false
    /// Ended by the wake descriptor: a line not yet complete is left unread (not handed out as a
    /// line, and not counted), so a restart reads it whole.
    var stopped = false
    public let maximumLineLength: Int
    /// The length of the line just handed out when it was over `maximumLineLength` (then only
    /// its first bytes were handed out); 0 for every other line.
    public private(set) var overlongLength = 0
    /// The first bytes of the over-long line being skipped.
    var overlongStart: [UInt8] = []
    public private(set) var lineNumber = 0
    /// Bytes handed out so far (lines and their line ends), for progress displays.
    public private(set) var consumed: Int64 = 0
    /// The hash of the bytes handed out so far, when asked for (`run --state` records it with
    /// each checkpoint: `ConsumedInput`); nil otherwise.
    public private(set) var prefix: StreamHash? = nil
    /// Why reading stopped early (a directory, a device error), or nil at a normal end of input.
    public private(set) var failure: String? = nil

    /// Follow the file like `tail -f`: at its end, wait for lines to be appended instead of
    /// ending (checked every `followInterval` microseconds), until `stop` says so.
    public let follow: Bool
    /// A descriptor that becomes readable when the input should end (the read end of a pipe a
    /// SIGINT/SIGTERM handler writes to): every wait for input also waits on it, so a stop ends
    /// even a read blocked on a quiet pipe, whichever thread the signal reached.
    public let wake: Int32?
    /// Milliseconds between looks at a followed file's end.
    let followInterval: Int32 = 10

    /// `prefix`: hash what is read, going on from this hash of what came before; the
    /// descriptor is then at byte `prefix.length` (a restart that seeked past what it had read),
    /// and lines are numbered on from `line`.
    public init(descriptor: Int32, bufferSize: Int = 1 << 20, maximumLineLength: Int = LineLimit.defaultBytes,
                follow: Bool = false, wake: Int32? = nil, prefix: StreamHash? = nil, line: Int = 0) {
        self.descriptor = descriptor
        self.maximumLineLength = max(1, maximumLineLength)
        self.follow = follow
        self.wake = wake
        self.prefix = prefix
        consumed = prefix?.length ?? 0
        lineNumber = line
        buffer = .allocate(byteCount: max(bufferSize, 64), alignment: 8)
    }

    /// Adds bytes `from..<to` of the buffer to the prefix hash, when there is one.
    @inline(__always) func hashConsumed(_ from: Int, _ to: Int) {
        guard prefix != nil, to > from else { return }
        prefix?.add(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[from..<to]))
    }

    /// Whether the wake descriptor says stop; with `waiting`, waits up to that many milliseconds
    /// for it or for `descriptor` to have input (-1: as long as it takes).
    func stopRequested(waiting milliseconds: Int32 = 0, forInput: Bool = false) -> Bool {
        guard let wake else {
            if milliseconds > 0 { usleep(UInt32(milliseconds) * 1000) }
            return false
        }
        var descriptors = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        if forInput { descriptors.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)) }
        let ready = poll(&descriptors, nfds_t(descriptors.count), milliseconds)
        return ready > 0 && descriptors[0].revents != 0
    }

    deinit { buffer.deallocate() }

    /// Calls `body` with the next line, or returns false at the end of the input.
    public func next(_ body: (UnsafeBufferPointer<UInt8>, Int) -> Void) -> Bool {
        overlongLength = 0
        // Bytes of an over-long line already skipped.
        var skipped = 0
        while true {
            let newline = findNewline()
            if newline != nil || finished {
                let lineStop = newline ?? end
                if newline == nil, (start >= end && skipped == 0) || stopped { return false }
                var lineEnd = lineStop
                if lineEnd > start, buffer[lineEnd - 1] == 13 { lineEnd -= 1 }
                lineNumber += 1
                let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
                consumed += Int64((newline.map { $0 + 1 } ?? end) - start)
                hashConsumed(start, newline.map { $0 + 1 } ?? end)
                let length = skipped + (lineEnd - start)
                var line = UnsafeBufferPointer(start: base + start, count: lineEnd - start)
                start = newline.map { $0 + 1 } ?? end
                if skipped > 0 || length > maximumLineLength {
                    if skipped == 0 { overlongStart = Array(line.prefix(LineLimit.keptBytes)) }
                    overlongLength = length
                    overlongStart.withUnsafeBufferPointer { body($0, lineNumber) }
                    overlongStart = []
                    return true
                }
                if lineNumber == 1 { line = withoutByteOrderMark(line) }
                body(line, lineNumber)
                return true
            }
            if end - start > maximumLineLength {
                // Over the limit with no end in sight: keep its first bytes, drop the rest as it comes.
                if skipped == 0 {
                    overlongStart = Array(UnsafeRawBufferPointer(rebasing: buffer[start..<min(end, start + LineLimit.keptBytes)]))
                }
                skipped += end - start
                consumed += Int64(end - start)
                hashConsumed(start, end)
                start = end
            }
            fill()
        }
    }

    /// Bytes of a regular file not yet handed out (its size now, less what was read); nil for a
    /// pipe or terminal, whose length is not known.
    public var bytesLeft: Int64? {
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
        return max(0, Int64(status.st_size) - consumed)
    }

    /// Whether `next` can hand out a line without waiting for more input: a whole line is in
    /// the buffer, or the input has ended. A reader of a pipe asks before it would block, so
    /// that what it has gathered goes on at once (a live stream, not a file being read through).
    public var hasLineWithoutWaiting: Bool {
        finished || findNewline() != nil
    }

    func findNewline() -> Int? {
        guard start < end else { return nil }
        let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard let found = memchr(base + start, 10, end - start) else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    /// Moves the unread rest to the front and reads more; grows the buffer for very long lines.
    func fill() {
        if start > 0 {
            let remaining = end - start
            if remaining > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + start, remaining) }
            start = 0
            end = remaining
        }
        if end == buffer.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 8)
            bigger.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<end]))
            buffer.deallocate()
            buffer = bigger
        }
        // A regular file always has input (or its end) ready; a pipe or terminal may block, so
        // the wait includes the wake descriptor.
        while true {
            if stopRequested(waiting: wake == nil ? 0 : -1, forInput: true) {
                stopped = true
                break
            }
            let count = read(descriptor, buffer.baseAddress! + end, buffer.count - end)
            if count > 0 {
                end += count
                return
            }
            if count < 0, errno == EINTR || errno == EAGAIN { continue }
            if count < 0 {
                failure = String(cString: strerror(errno))
                break
            }
            // The end of the input, for now: a followed file may still grow.
            guard follow else { break }
            if stopRequested(waiting: followInterval) {
                stopped = true
                break
            }
        }
        finished = true
    }
}
