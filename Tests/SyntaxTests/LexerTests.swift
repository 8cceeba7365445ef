import Testing
@testable import RedressSyntax

/// Token shapes and their priority, as in the terminals of grammar/redress.lark.
struct LexerTests {
    static let shapes: [(String, [TokenKind])] = [
        ("2d", [.duration]),
        ("36h 90m 1w 500ms 30s", [.duration, .duration, .duration, .duration, .duration]),
        ("5 EUR", [.money]),
        ("4.99EUR", [.money]),
        ("5\tUSD", [.money]),
        ("5%", [.percent]),
        ("2.5%", [.percent]),
        ("3", [.number]),
        ("4.5", [.number]),
        ("2026-12-01", [.date]),
        ("2026-12-01T08:00:00Z", [.timestamp]),
        ("2026-12-01T08:00+01:00", [.timestamp]),
        ("2026-12-1", [.number, .symbol(.minus), .number, .symbol(.minus), .number]),
        ("\"a \\\"quoted\\\" text\"", [.string]),
        ("customer.tier", [.name, .symbol(.dot), .name]),
        ("rules", [.name]),
        ("rule", [.keyword(.rule)]),
        ("-> ?? == != <= >= < > = | + - * /", [.symbol(.arrow), .symbol(.coalesce), .symbol(.equal), .symbol(.notEqual),
                                                .symbol(.lessEqual), .symbol(.greaterEqual), .symbol(.less), .symbol(.greater),
                                                .symbol(.assign), .symbol(.bar), .symbol(.plus), .symbol(.minus), .symbol(.star), .symbol(.slash)]),
        ("5\nEUR", [.number, .name]),
        ("12EURO", [.duration]),  // reported as an unknown unit, see below
        ("x # a comment\ny", [.name, .name]),
    ]

    @Test(arguments: shapes)
    func tokenShapes(text: String, kinds: [TokenKind]) {
        let (tokens, _, _) = Lexer.tokenize(SourceFile(path: "t", text: text))
        #expect(tokens.map(\.kind) == kinds + [.endOfFile])
    }

    static let errors: [(String, DiagnosticCode)] = [
        ("2days", .malformedLiteral),
        ("1.5h", .malformedLiteral),
        ("12EURO", .malformedLiteral),
        ("\"open", .unterminatedString),
        ("\"bad \\q escape\"", .malformedLiteral),
        ("5 %", .unexpectedCharacter),
        ("a & b", .unexpectedCharacter),
        ("größe", .unexpectedCharacter),
        ("2026-12-01T08:00:00", .malformedLiteral),
    ]

    @Test(arguments: errors)
    func lexicalErrors(text: String, code: DiagnosticCode) {
        let (_, _, diagnostics) = Lexer.tokenize(SourceFile(path: "t", text: text))
        #expect(diagnostics.map(\.code).contains(code), "\(diagnostics.map(\.message))")
    }

    @Test func commentsAreKept() {
        let (_, comments, _) = Lexer.tokenize(SourceFile(path: "t", text: "# one\nx # two\n"))
        #expect(comments.map(\.text) == ["# one", "# two"])
    }

    @Test func locationsCountCharactersNotBytes() {
        let source = SourceFile(path: "t", text: "\"ä\" x\nsecond")
        let x = source.text.utf8.firstIndex(of: UInt8(ascii: "x"))!
        #expect(source.location(of: source.text.utf8.distance(from: source.text.utf8.startIndex, to: x)) == SourceLocation(line: 1, column: 5))
        #expect(source.location(of: source.bytes.count) == SourceLocation(line: 2, column: 7))
    }

    /// A UTF-8 byte order mark (which editors on Windows write) is not part of the text: it used
    /// to be reported as E0001 "unexpected character", with nothing visible to point at.
    @Test func aByteOrderMarkIsSkipped() {
        let source = SourceFile(path: "t", text: "\u{FEFF}when x then y\nwhen z then w")
        #expect(source.hadByteOrderMark)
        #expect(source.text == "when x then y\nwhen z then w")
        let (file, diagnostics) = Parser.parse(source)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        #expect(file.items.count == 2)
        // Lines and columns count from the first character after the mark.
        let (tokens, _, _) = Lexer.tokenize(source)
        #expect(tokens.map { source.location(of: $0.span.start) }.prefix(2) == [SourceLocation(line: 1, column: 1), SourceLocation(line: 1, column: 6)])
        let broken = SourceFile(path: "t", text: "\u{FEFF}when x > then y")
        let error = Parser.parse(broken).1.first
        #expect(error.map { broken.location(of: $0.span.start) } == SourceLocation(line: 1, column: 10))
        // Only at the very start: elsewhere it is a character of the text like any other.
        #expect(!SourceFile(path: "t", text: "x\u{FEFF}").hadByteOrderMark)
        #expect(Lexer.tokenize(SourceFile(path: "t", text: "x \u{FEFF}")).diagnostics.map(\.code) == [.unexpectedCharacter])
    }
}
