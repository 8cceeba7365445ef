/// A unified diff of two texts, as `diff -u` prints it, for `fmt --check`.
///
/// Lines are compared without their line breaks (`\n` and `\r\n` both end a line); that the
/// two texts end their lines differently is said in one sentence before the diff
/// (`lineEndingNote`), and a last line without a line break is marked as `diff` marks it.
enum UnifiedDiff {
    /// One line of a text, without its line break.
    struct TextLine: Equatable {
        var text: String
        /// The last line of a text that does not end with a line break.
        var unterminated = false
    }

    enum Line: Equatable { case same(TextLine), removed(TextLine), added(TextLine) }

    /// The diff of `old` and `new`, or "" when their lines are the same.
    static func render(old: String, new: String, oldName: String, newName: String, context: Int = 3) -> String {
        let a = split(old), b = split(new)
        if a == b { return "" }
        let lines = diff(a, b)
        var out = "--- \(oldName)\n+++ \(newName)\n"
        // Group changes into hunks with `context` unchanged lines around them.
        var index = 0
        var oldLine = 1, newLine = 1
        var positions: [(old: Int, new: Int)] = []
        for line in lines {
            positions.append((oldLine, newLine))
            switch line {
            case .same: oldLine += 1; newLine += 1
            case .removed: oldLine += 1
            case .added: newLine += 1
            }
        }
        while index < lines.count {
            guard let firstChange = lines[index...].firstIndex(where: { if case .same = $0 { return false } else { return true } }) else { break }
            let start = max(index, firstChange - context)
            var end = firstChange
            var lastChange = firstChange
            while end < lines.count {
                if case .same = lines[end] {
                    if end - lastChange > context * 2 { break }
                } else {
                    lastChange = end
                }
                end += 1
            }
            end = min(lines.count, lastChange + context + 1)
            let hunk = lines[start..<end]
            let oldCount = hunk.filter { if case .added = $0 { return false } else { return true } }.count
            let newCount = hunk.filter { if case .removed = $0 { return false } else { return true } }.count
            out += "@@ -\(positions[start].old),\(oldCount) +\(positions[start].new),\(newCount) @@\n"
            for line in hunk {
                let (prefix, text) = switch line {
                case .same(let text): (" ", text)
                case .removed(let text): ("-", text)
                case .added(let text): ("+", text)
                }
                out += prefix + text.text + "\n"
                if text.unterminated { out += "\\ No newline at end of file\n" }
            }
            index = end
        }
        return out
    }

    /// The lines of a text. `\r\n` ends a line as `\n` does: splitting the `String` on `"\n"`
    /// would not do, because Swift reads `\r\n` as one character (a CRLF file would come out
    /// as one line).
    static func split(_ text: String) -> [TextLine] {
        var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            TextLine(text: String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line, as: UTF8.self))
        }
        if lines.last?.text == "" {
            lines.removeLast()
        } else if !lines.isEmpty {
            lines[lines.count - 1].unterminated = true
        }
        return lines
    }

    /// How the lines of a text end.
    enum LineEnding: Equatable {
        case none, lf, crlf, mixed

        var description: String {
            switch self {
            case .none: "no line breaks"
            case .lf: "LF (\\n) line endings"
            case .crlf: "CRLF (\\r\\n) line endings"
            case .mixed: "mixed CRLF (\\r\\n) and LF (\\n) line endings"
            }
        }
    }

    static func lineEnding(of text: String) -> LineEnding {
        var crlf = 0, lf = 0
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\n") {
                if previous == UInt8(ascii: "\r") { crlf += 1 } else { lf += 1 }
            }
            previous = byte
        }
        switch (crlf > 0, lf > 0) {
        case (false, false): return .none
        case (false, true): return .lf
        case (true, false): return .crlf
        case (true, true): return .mixed
        }
    }

    /// A sentence for when `old` and `new` end their lines differently, which a diff of their
    /// lines cannot show; nil when they do not.
    static func lineEndingNote(old: String, new: String, name: String) -> String? {
        let before = lineEnding(of: old), after = lineEnding(of: new)
        guard before != after, before != .none, after != .none else { return nil }
        return "\(name): the file has \(before.description); formatted, it has \(after.description)"
    }

    /// Longest common subsequence after trimming the common prefix and suffix; a very large
    /// changed middle is shown as one replaced block rather than taking quadratic time.
    static func diff(_ a: [TextLine], _ b: [TextLine]) -> [Line] {
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        let middleA = Array(a[prefix..<(a.count - suffix)]), middleB = Array(b[prefix..<(b.count - suffix)])
        var result = a[..<prefix].map { Line.same($0) }
        if middleA.count * middleB.count > 4_000_000 {
            result += middleA.map { .removed($0) } + middleB.map { .added($0) }
        } else {
            let n = middleA.count, m = middleB.count
            var table = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    table[i][j] = middleA[i] == middleB[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
                }
            }
            var i = 0, j = 0
            while i < n || j < m {
                if i < n, j < m, middleA[i] == middleB[j] {
                    result.append(.same(middleA[i])); i += 1; j += 1
                } else if i < n, j == m || table[i + 1][j] >= table[i][j + 1] {
                    // Removed lines before added ones, as `diff -u` prints them.
                    result.append(.removed(middleA[i])); i += 1
                } else {
                    result.append(.added(middleB[j])); j += 1
                }
            }
        }
        result += a[(a.count - suffix)...].map { Line.same($0) }
        return result
    }
}
