import Foundation
import RedressLanguageServices

/// JSON-RPC messages framed as the Language Server Protocol frames them on standard input and
/// output: a header block (`Content-Length: N`, optionally `Content-Type`, lines ending in CRLF,
/// an empty line) and then N bytes of JSON.
///
/// Written by hand: no LSP or JSON-RPC package is available to this project (its dependencies are
/// the four in Package.swift), and the framing is only a header and a length. The reader never
/// trusts the input: a header without a usable length, an over-long header or an oversized body
/// is reported and skipped up to the next `Content-Length`, so one bad message costs one message.
struct MessageReader {
    let descriptor: Int32
    private var buffer: [UInt8] = []
    /// Bytes before this are consumed.
    private var start = 0
    /// After a bad header: bytes are skipped until the next `Content-Length`.
    private var resynchronizing = false

    static let maximumHeaderBytes = 16 * 1024
    static let maximumBodyBytes = 64 * 1024 * 1024
    private static let headerEnd: [UInt8] = Array("\r\n\r\n".utf8)
    private static let lengthName: [UInt8] = Array("content-length".utf8)

    enum Frame {
        case message([UInt8])
        /// The framing was broken; the reason, for an error response.
        case malformed(String)
        /// The input ended (the client went away).
        case end
    }

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    mutating func next() -> Frame {
        while true {
            if let frame = frameInBuffer() { return frame }
            guard fill() else { return .end }
        }
    }

    /// Whether another message is already waiting (so diagnostics can wait until the burst is read).
    func hasWaitingInput() -> Bool {
        if buffer.count > start { return true }
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&request, 1, 0) > 0 && request.revents & Int16(POLLIN) != 0
    }

    private mutating func fill() -> Bool {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
    }

    /// The first (or `last`) place of `needle` in the buffer from `offset` up to `limit`.
    private func find(_ needle: [UInt8], from offset: Int, ignoringCase: Bool = false, before limit: Int? = nil, last: Bool = false) -> Int? {
        let end = limit ?? buffer.count
        guard end - offset >= needle.count else { return nil }
        func matches(at index: Int) -> Bool {
            for (position, byte) in needle.enumerated() {
                let found = buffer[index + position]
                if (ignoringCase && found >= 0x41 && found <= 0x5A ? found + 0x20 : found) != byte { return false }
            }
            return true
        }
        let candidates = offset...(end - needle.count)
        return last ? candidates.reversed().first(where: matches) : candidates.first(where: matches)
    }

    private mutating func frameInBuffer() -> Frame? {
        if resynchronizing {
            if let next = find(Self.lengthName, from: start, ignoringCase: true) {
                start = next
                resynchronizing = false
            } else {
                // Keep a tail that may be the beginning of the name.
                start = max(start, buffer.count - Self.lengthName.count)
                return nil
            }
        }
        guard let end = find(Self.headerEnd, from: start) else {
            if buffer.count - start > Self.maximumHeaderBytes {
                start = buffer.count
                resynchronizing = true
                return .malformed("a message header longer than \(Self.maximumHeaderBytes) bytes")
            }
            return nil
        }
        let bodyStart = end + Self.headerEnd.count
        // The length is read from the last `Content-Length` of the block, so noise in front of a
        // header (the rest of a broken message) does not cost the message after it.
        var length: Int? = nil
        if let name = find(Self.lengthName, from: start, ignoringCase: true, before: end, last: true) {
            let value = String(decoding: buffer[(name + Self.lengthName.count)..<end], as: UTF8.self)
                .split(separator: "\r\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(":") { length = Int(trimmed.dropFirst().trimmingCharacters(in: .whitespaces)) }
        }
        guard let length, length >= 0 else {
            start = bodyStart
            resynchronizing = true
            return .malformed("a message header without a valid Content-Length")
        }
        guard length <= Self.maximumBodyBytes else {
            start = bodyStart
            resynchronizing = true
            return .malformed("a message of \(length) bytes, more than the \(Self.maximumBodyBytes) allowed")
        }
        guard buffer.count - bodyStart >= length else { return nil }
        let body = Array(buffer[bodyStart..<(bodyStart + length)])
        start = bodyStart + length
        return .message(body)
    }
}

/// Writes messages with the same framing.
struct MessageWriter {
    let descriptor: Int32

    /// False when the client is gone (the pipe is closed).
    func send(_ message: JSONValue) -> Bool {
        let body = message.encoded()
        return OutputFile.writeAll(descriptor, Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body) == nil
    }
}
