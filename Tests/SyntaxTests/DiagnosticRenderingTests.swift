import Testing
@testable import RedressSyntax

/// The human rendering of diagnostics must not pass control characters from a rule file on to
/// the terminal (an ESC starts an escape sequence, a CR or backspace overwrites what was
/// printed): they are spelled out as `\u{1B}`, and the carets still stand under what they mark.
struct DiagnosticRenderingTests {
    func render(_ text: String, only code: DiagnosticCode? = nil) -> String {
        let source = SourceFile(path: "t.rules", text: text)
        let diagnostics = Parser.parse(source).1.filter { code == nil || $0.code == code }
        return DiagnosticRenderer(files: ["t.rules": source]).human(diagnostics)
    }

    @Test func controlCharactersInASourceLineAreSpelledOut() {
        let rendered = render("when x == \"\u{1B}[31mred\u{7}\" and y >> 2 then z")
        #expect(!rendered.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(rendered.debugDescription)")
        #expect(rendered.contains(#"when x == "\u{1B}[31mred\u{7}" and y >> 2 then z"#), "\(rendered)")
        // The caret under the second `>` of `>>`, past the spelled-out characters.
        let lines = rendered.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let sourceLine = lines.firstIndex(where: { $0.contains("when x") }), sourceLine + 1 < lines.count else {
            Issue.record("no source line in \(rendered)")
            return
        }
        let caret = lines[sourceLine + 1].firstIndex(of: "^").map { lines[sourceLine + 1].distance(from: lines[sourceLine + 1].startIndex, to: $0) }
        let target = lines[sourceLine].range(of: ">> 2").map { lines[sourceLine].distance(from: lines[sourceLine].startIndex, to: $0.lowerBound) + 1 }
        #expect(caret != nil && caret == target, "\(rendered)")
    }

    @Test func tabsAndSpelledOutCharactersBeforeTheCaretKeepItAligned() {
        let rendered = render("\t\u{1B}\u{202E} when 1.5h > 1 then z", only: .malformedLiteral)
        let lines = rendered.split(separator: "\n").map(String.init)
        guard let sourceLine = lines.firstIndex(where: { $0.contains("when 1.5h") }) else {
            Issue.record("no source line in \(rendered)")
            return
        }
        #expect(lines[sourceLine].contains(#"    \u{1B}\u{202E} when 1.5h"#))
        let caret = lines[sourceLine + 1].firstIndex(of: "^").map { lines[sourceLine + 1].distance(from: lines[sourceLine + 1].startIndex, to: $0) }
        let target = lines[sourceLine].range(of: "1.5h").map { lines[sourceLine].distance(from: lines[sourceLine].startIndex, to: $0.lowerBound) }
        #expect(caret != nil && caret == target, "\(rendered)")
        #expect(lines[sourceLine + 1].contains("^^^^ "), "the whole literal is underlined")
        // The invisible characters themselves are reported by name.
        let unexpected = render("\t\u{1B}\u{202E} when 1.5h > 1 then z", only: .unexpectedCharacter)
        #expect(unexpected.contains("unexpected character byte 0x1B"))
        #expect(unexpected.contains(#"unexpected character `\u{202E}`"#), "\(unexpected)")
    }

    @Test func messagesAndLabelsAreSpelledOutToo() {
        let diagnostic = Diagnostic(.unexpectedToken, "expected x, found `\u{1B}]0;title\u{7}`",
                                    at: Label(file: "t\u{1B}.rules", span: Span(start: 0, end: 1), message: "here\r"),
                                    notes: ["a note\u{8}"], help: "help\u{9B}")
        let source = SourceFile(path: "t\u{1B}.rules", text: "x")
        let rendered = DiagnosticRenderer(files: ["t\u{1B}.rules": source]).human(diagnostic)
        #expect(!rendered.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }, "\(rendered.debugDescription)")
        #expect(rendered.contains(#"found `\u{1B}]0;title\u{7}`"#))
        #expect(rendered.contains(#"here\u{D}"#))
        #expect(rendered.contains(#"a note\u{8}"#))
        #expect(rendered.contains(#"help\u{9B}"#))
        #expect(rendered.contains(#"t\u{1B}.rules:1:1"#))
        let github = DiagnosticRenderer(files: ["t\u{1B}.rules": source]).github([diagnostic])
        #expect(!github.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
    }

    @Test func colourIsStillColour() {
        let source = SourceFile(path: "t.rules", text: "when x > then y")
        let rendered = DiagnosticRenderer(files: ["t.rules": source], colour: true).human(Parser.parse(source).1)
        #expect(rendered.contains("\u{1B}[1;31merror[E0101]\u{1B}[0m"))
    }
}
