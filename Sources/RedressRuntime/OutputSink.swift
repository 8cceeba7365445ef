#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered writing to a file descriptor (decisions, dead letters).
public final class OutputSink {
    let descriptor: Int32
    var pending: [UInt8] = []
    /// Why a write (or the sync before a checkpoint) failed, e.g. "No space left on device";
    /// nil while every byte has gone through. After a failure nothing more is written.
    public private(set) var failure: String? = nil
    public var failed: Bool { failure != nil }
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
        while failure == nil, offset < pending.count {
            let written = pending.withUnsafeBytes { bytes in
                #if canImport(Glibc)
                Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                #else
                Darwin.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                #endif
            }
            if written < 0, errno == EINTR { continue }
            if written <= 0 {
                failure = written == 0 ? "nothing could be written" : String(cString: strerror(errno))
                break
            }
            offset += written
            self.written += Int64(written)
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Puts a file's bytes on disk (before a checkpoint refers to them; `CheckpointWriter`); why
    /// not, or nil. Pipes, terminals and devices cannot be synced (EINVAL): that is no failure.
    static func sync(_ descriptor: Int32) -> String? {
        if fsync(descriptor) != 0, errno != EINVAL, errno != ENOTSUP, errno != EROFS { return String(cString: strerror(errno)) }
        return nil
    }
}
