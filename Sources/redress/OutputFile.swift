import ArgumentParser
import Foundation

/// The one way every command writes a whole file (`fmt`, `check --fix`, `compile --out`,
/// `simulate --html`), so that writing never harms what is already there:
///
/// - A symbolic link is written through: its target changes, the link stays a link.
/// - A device, a FIFO or a socket (`/dev/null`, `/dev/stdout`, a named pipe) is written
///   directly; renaming a file over it would replace a system device node when run as root.
/// - A regular file is replaced whole: the new bytes go to a temporary file beside it, which
///   gets the old file's mode (and owner, where allowed), is synced, and is renamed over it, so
///   a reader never sees half a file and a crash leaves the old one. Where the directory cannot
///   take a temporary file but the file itself is writable, the file is rewritten in place.
///
/// Every failure is an `OutputFile.Failure` naming the path and the system's reason; commands
/// turn it into exit 2.
enum OutputFile {
    struct Failure: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String { "cannot write \(path): \(reason)" }
    }

    static func write(_ text: String, to path: String) throws(Failure) {
        try write(Array(text.utf8), to: path)
    }

    static func write(_ bytes: [UInt8], to path: String) throws(Failure) {
        let target = try resolveLinks(path)
        var status = stat()
        if lstat(target, &status) == 0 {
            switch status.st_mode & S_IFMT {
            case S_IFREG: try replace(target, with: bytes, keeping: status, shownAs: path)
            case S_IFDIR: throw Failure(path: path, reason: "it is a directory")
            default: try writeInPlace(target, bytes, flags: O_WRONLY, shownAs: path)
            }
        } else if errno == ENOENT {
            try replace(target, with: bytes, keeping: nil, shownAs: path)
        } else {
            throw Failure(path: path, reason: systemReason())
        }
    }

    /// Writes `bytes` and throws the command's exit 2 with the message printed: for commands.
    static func writeOrExit(_ bytes: [UInt8], to path: String) throws {
        do { try write(bytes, to: path) } catch {
            Output.error("error: \(error)")
            throw ExitCode(2)
        }
    }

    /// Follows symbolic links to the file they finally name (the last one may not exist yet).
    static func resolveLinks(_ path: String) throws(Failure) -> String {
        var current = path
        for _ in 0..<40 {
            var status = stat()
            guard lstat(current, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(current, &buffer, buffer.count - 1)
            guard length >= 0 else { throw Failure(path: path, reason: systemReason()) }
            let destination = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if destination.hasPrefix("/") {
                current = destination
            } else {
                current = (current as NSString).deletingLastPathComponent
                current = current.isEmpty ? destination : current + "/" + destination
            }
        }
        throw Failure(path: path, reason: "too many levels of symbolic links")
    }

    static func replace(_ target: String, with bytes: [UInt8], keeping old: stat?, shownAs path: String) throws(Failure) {
        let directory = (target as NSString).deletingLastPathComponent
        let name = (target as NSString).lastPathComponent
        var template = Array(((directory.isEmpty ? "." : directory) + "/.\(name).redress-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            // No room for a temporary file beside it (a read-only directory): rewrite in place.
            if let old, old.st_mode & S_IFMT == S_IFREG { return try writeInPlace(target, bytes, flags: O_WRONLY | O_TRUNC, shownAs: path) }
            throw Failure(path: path, reason: systemReason())
        }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var failure: String? = nil
        if let old {
            if fchmod(descriptor, old.st_mode & 0o7777) != 0 { failure = systemReason() }
            // Only root can give a file away; for everyone else the owner stays theirs, as with any editor.
            if geteuid() == 0 { _ = fchown(descriptor, old.st_uid, old.st_gid) }
        } else {
            // A new file gets the mode `open(O_CREAT, 0666)` would give it under the umask.
            let mask = umask(0)
            _ = umask(mask)
            if fchmod(descriptor, 0o666 & ~mask) != 0 { failure = systemReason() }
        }
        if failure == nil { failure = writeAll(descriptor, bytes) }
        if failure == nil, fsync(descriptor) != 0 { failure = systemReason() }
        if close(descriptor) != 0, failure == nil { failure = systemReason() }
        if failure == nil, rename(temporary, target) != 0 { failure = systemReason() }
        if let failure {
            unlink(temporary)
            throw Failure(path: path, reason: failure)
        }
    }

    static func writeInPlace(_ target: String, _ bytes: [UInt8], flags: Int32, shownAs path: String) throws(Failure) {
        let descriptor = open(target, flags)
        guard descriptor >= 0 else { throw Failure(path: path, reason: systemReason()) }
        var failure = writeAll(descriptor, bytes)
        if close(descriptor) != 0, failure == nil { failure = systemReason() }
        if let failure { throw Failure(path: path, reason: failure) }
    }

    /// Writes every byte, retrying short writes and interruptions; the system's reason on failure.
    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> String? {
        var offset = 0
        return bytes.withUnsafeBytes { buffer -> String? in
            guard let base = buffer.baseAddress else { return nil }
            while offset < buffer.count {
                let count = Foundation.write(descriptor, base + offset, buffer.count - offset)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return count == 0 ? "nothing could be written" : systemReason() }
                offset += count
            }
            return nil
        }
    }

    static func systemReason() -> String { String(cString: strerror(errno)) }
}
