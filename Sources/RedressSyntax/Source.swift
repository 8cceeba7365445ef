/// A text file given to Redress (a rule file or a YAML file), with the line table
/// that turns byte offsets into line and column for diagnostics.
public struct SourceFile: Sendable {
    public let path: String
    public let text: String
    /// UTF-8 bytes of `text`; the lexer works on bytes for speed.
    public let bytes: [UInt8]
    /// Byte offset at which each line starts (line 1 at index 0).
    public let lineStarts: [Int]

    /// Whether the file started with a UTF-8 byte order mark. The mark is not part of `text`:
    /// editors on Windows write it, it is invisible, and it means nothing in a rule or YAML
    /// file, so it is dropped here (as the JSON and CSV event readers drop it) and all offsets,
    /// lines and columns count from the first character after it.
    public let hadByteOrderMark: Bool

    public init(path: String, text: String) {
        self.path = path
        if text.unicodeScalars.first == "\u{FEFF}" {
            self.text = String(text.unicodeScalars.dropFirst())
            self.hadByteOrderMark = true
        } else {
            self.text = text
            self.hadByteOrderMark = false
        }
        self.bytes = Array(self.text.utf8)
        var starts = [0]
        starts.reserveCapacity(bytes.count / 32 + 1)
        for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            starts.append(offset + 1)
        }
        self.lineStarts = starts
    }

    /// 1-based line and column (in characters) of a byte offset.
    public func location(of offset: Int) -> SourceLocation {
        let clamped = max(0, min(offset, bytes.count))
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= clamped { low = middle } else { high = middle - 1 }
        }
        let lineStart = lineStarts[low]
        let prefix = bytes[lineStart..<clamped]
        // Count characters, not bytes: continuation bytes (10xxxxxx) do not start a character.
        let column = prefix.reduce(0) { $0 + (($1 & 0xC0) == 0x80 ? 0 : 1) } + 1
        return SourceLocation(line: low + 1, column: column)
    }

    /// The text of a 1-based line, without its line break.
    public func line(_ number: Int) -> String {
        guard number >= 1, number <= lineStarts.count else { return "" }
        let start = lineStarts[number - 1]
        var end = number < lineStarts.count ? lineStarts[number] - 1 : bytes.count
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(decoding: bytes[start..<max(start, end)], as: UTF8.self)
    }

    /// Byte offset of a 1-based line and column (columns counted in characters).
    public func offset(line: Int, column: Int) -> Int {
        guard line >= 1, line <= lineStarts.count else { return bytes.count }
        var offset = lineStarts[line - 1]
        var remaining = column - 1
        while remaining > 0, offset < bytes.count, bytes[offset] != UInt8(ascii: "\n") {
            offset += 1
            while offset < bytes.count, (bytes[offset] & 0xC0) == 0x80 { offset += 1 }
            remaining -= 1
        }
        return offset
    }
}

public struct SourceLocation: Hashable, Sendable, Comparable {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.line, a.column) < (b.line, b.column)
    }
}

/// A half-open byte range `start..<end` in one source file.
public struct Span: Hashable, Sendable {
    public var start: Int
    public var end: Int
    public init(start: Int, end: Int) {
        self.start = start
        self.end = max(start, end)
    }
    public static let empty = Span(start: 0, end: 0)
    public func union(_ other: Span) -> Span { Span(start: min(start, other.start), end: max(end, other.end)) }
    public var length: Int { end - start }
}
