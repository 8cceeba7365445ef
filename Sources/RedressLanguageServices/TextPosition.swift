import RedressSyntax

/// A place in a document as editors count it: a 0-based line and a 0-based offset in UTF-16
/// code units within that line. The Language Server Protocol counts this way by default, and so
/// do JavaScript strings (a web workbench), so every service takes and returns these; byte
/// offsets (`Span`) stay inside the module.
public struct TextPosition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var line: Int
    public var character: Int
    public init(line: Int, character: Int) {
        self.line = line
        self.character = character
    }
    public static func < (a: TextPosition, b: TextPosition) -> Bool { (a.line, a.character) < (b.line, b.character) }
    public var description: String { "\(line):\(character)" }
}

/// A half-open range `start..<end` of a document.
public struct TextRange: Hashable, Sendable, CustomStringConvertible {
    public var start: TextPosition
    public var end: TextPosition
    public init(start: TextPosition, end: TextPosition) {
        self.start = start
        self.end = max(start, end)
    }
    public func contains(_ position: TextPosition) -> Bool { start <= position && position <= end }
    public func overlaps(_ other: TextRange) -> Bool { start <= other.end && other.start <= end }
    public var description: String { "\(start)-\(end)" }
}

/// A place in a file of the rule set (a rule file, schema.yaml or catalog.yaml).
public struct FileLocation: Hashable, Sendable {
    public var path: String
    public var range: TextRange
    public init(path: String, range: TextRange) {
        self.path = path
        self.range = range
    }
}

/// A replacement of a range of a file's text.
public struct TextEdit: Hashable, Sendable {
    public var path: String
    public var range: TextRange
    public var newText: String
    public init(path: String, range: TextRange, newText: String) {
        self.path = path
        self.range = range
        self.newText = newText
    }
}

extension SourceFile {
    /// The byte order mark `SourceFile` sets aside is still in the editor's text: one UTF-16
    /// unit at the start of the first line that no offset of ours counts.
    private var leadingUnits: Int { hadByteOrderMark ? 1 : 0 }

    /// The editor position of a byte offset.
    public func position(of offset: Int) -> TextPosition {
        let clamped = max(0, min(offset, bytes.count))
        let line = location(of: clamped).line - 1
        var units = line == 0 ? leadingUnits : 0
        var index = lineStarts[line]
        while index < clamped {
            let byte = bytes[index]
            // A lead byte starts a character; a four-byte character is two UTF-16 units.
            if byte & 0xC0 != 0x80 { units += byte >= 0xF0 ? 2 : 1 }
            index += 1
        }
        return TextPosition(line: line, character: units)
    }

    /// The byte offset of an editor position. As the protocol asks, a character past the end of
    /// its line means the end of the line, and a line past the end means the end of the text.
    public func offset(of position: TextPosition) -> Int {
        guard position.line >= 0 else { return 0 }
        guard position.line < lineStarts.count else { return bytes.count }
        var index = lineStarts[position.line]
        var lineEnd = position.line + 1 < lineStarts.count ? lineStarts[position.line + 1] - 1 : bytes.count
        if lineEnd > index, bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
        var remaining = position.character - (position.line == 0 ? leadingUnits : 0)
        while remaining > 0, index < lineEnd {
            let byte = bytes[index]
            remaining -= byte >= 0xF0 ? 2 : 1
            index += 1
            while index < lineEnd, bytes[index] & 0xC0 == 0x80 { index += 1 }
        }
        return index
    }

    public func range(of span: Span) -> TextRange {
        TextRange(start: position(of: span.start), end: position(of: span.end))
    }

    public func span(of range: TextRange) -> Span {
        Span(start: offset(of: range.start), end: offset(of: range.end))
    }

    /// The editor's text after replacing `range` with `newText` (an incremental change).
    func replacing(_ range: TextRange, with newText: String) -> String {
        let span = span(of: range)
        var edited = bytes
        edited.replaceSubrange(span.start..<span.end, with: Array(newText.utf8))
        return (hadByteOrderMark ? "\u{FEFF}" : "") + String(decoding: edited, as: UTF8.self)
    }
}
