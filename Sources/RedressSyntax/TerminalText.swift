/// Text from data (event values, rule lines, file names) shown on a terminal or in a review.
/// Hidden characters would be obeyed rather than shown (`ESC [31m` colours the screen, CR and
/// backspace overwrite what was printed, bidirectional controls make a line read differently
/// from what it is), so each is written as its Swift-style escape, `\u{1B}`: visible,
/// unambiguous, and what a reader can search the file for. The one definition for the
/// diagnostic renderer, the diff's Markdown and the reports.
public enum TerminalText {
    /// C0 control characters (tab only where `keepingTabs`), DEL, C1 control characters, and the
    /// invisible bidirectional-text controls.
    public static func isHidden(_ scalar: Unicode.Scalar, keepingTabs: Bool = false) -> Bool {
        switch scalar.value {
        case 0x09: !keepingTabs
        case 0x00...0x08, 0x0A...0x1F, 0x7F...0x9F: true
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// The visible spelling of a hidden character: upper-case hexadecimal without leading zeros.
    public static func escaped(_ scalar: Unicode.Scalar) -> String {
        "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
    }

    /// `text` with every hidden character spelled out (newlines too: the result is one line).
    public static func visible(_ text: String, keepingTabs: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { isHidden($0, keepingTabs: keepingTabs) }) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            if isHidden(scalar, keepingTabs: keepingTabs) { result += escaped(scalar) } else { result.unicodeScalars.append(scalar) }
        }
        return result
    }
}
