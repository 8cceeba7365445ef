/// Text from data (event values, rule lines, file names) shown on a terminal. Control characters
/// would be obeyed rather than shown (`ESC [31m` colours the screen, others move the cursor or
/// set the window title), so each is written as its Swift-style escape, `\u{1B}`: visible,
/// unambiguous, and what a reader can search the file for.
public enum TerminalText {
    public static func visible(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// C0 controls (tab and newline included: on one table row they break the layout), DEL and C1.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
