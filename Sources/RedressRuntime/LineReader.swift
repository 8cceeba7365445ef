#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file descriptor line by line in constant memory, handing out each line as bytes
/// without copying (a line is valid until the next call). `\r\n` and `\n` both end a line.
public final class LineReader {
    let descriptor: Int32
    var buffer: UnsafeMutableRawBufferPointer
    var start = 0
    var end = 0
    var finished = false
    public private(set) var lineNumber = 0
    /// Bytes handed out so far (lines and their line ends), for progress displays.
    public private(set) var consumed: Int64 = 0
    /// Why reading stopped early (a directory, a device error), or nil at a normal end of input.
    public private(set) var failure: String? = nil

    public init(descriptor: Int32, bufferSize: Int = 1 << 20) {
        self.descriptor = descriptor
        buffer = .allocate(byteCount: bufferSize, alignment: 8)
    }

    deinit { buffer.deallocate() }

    /// Calls `body` with the next line, or returns false at the end of the input.
    public func next(_ body: (UnsafeBufferPointer<UInt8>, Int) -> Void) -> Bool {
        while true {
            if let newline = findNewline() {
                var lineEnd = newline
                if lineEnd > start, buffer[lineEnd - 1] == 13 { lineEnd -= 1 }
                lineNumber += 1
                var line = UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + start, count: lineEnd - start)
                if lineNumber == 1 { line = withoutByteOrderMark(line) }
                consumed += Int64(newline + 1 - start)
                start = newline + 1
                body(line, lineNumber)
                return true
            }
            if finished {
                guard start < end else { return false }
                var lineEnd = end
                if buffer[lineEnd - 1] == 13 { lineEnd -= 1 }
                lineNumber += 1
                var line = UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + start, count: lineEnd - start)
                if lineNumber == 1 { line = withoutByteOrderMark(line) }
                consumed += Int64(end - start)
                start = end
                body(line, lineNumber)
                return true
            }
            fill()
        }
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
        var count = read(descriptor, buffer.baseAddress! + end, buffer.count - end)
        while count < 0, errno == EINTR { count = read(descriptor, buffer.baseAddress! + end, buffer.count - end) }
        if count < 0 { failure = String(cString: strerror(errno)) }
        if count <= 0 { finished = true } else { end += count }
    }
}

/// Buffered writing to a file descriptor (decisions, dead letters).
public final class OutputSink {
    let descriptor: Int32
    var pending: [UInt8] = []
    public private(set) var failed = false
    /// Bytes handed to the file so far (after `flush`).
    public private(set) var written: Int64 = 0

    public init(descriptor: Int32) {
        self.descriptor = descriptor
        pending.reserveCapacity(1 << 16)
    }

    public func write(_ text: String) {
        pending.append(contentsOf: text.utf8)
        if pending.count >= 1 << 16 { flush() }
    }

    public func flush() {
        var offset = 0
        while offset < pending.count {
            let written = pending.withUnsafeBytes { bytes in
                #if canImport(Glibc)
                Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                #else
                Darwin.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                #endif
            }
            if written <= 0 { failed = true; break }
            offset += written
            self.written += Int64(written)
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Flushes and asks the system to put the bytes on disk (before a checkpoint refers to them).
    public func synchronize() {
        flush()
        fsync(descriptor)
    }
}
