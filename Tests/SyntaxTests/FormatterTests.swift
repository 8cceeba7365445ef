import Foundation
import Testing
@testable import RedressSyntax

struct FormatterTests {
    /// Golden files: Fixtures/format/NAME.rules formats to NAME.expected.
    static let cases = files(in: fixtures.appendingPathComponent("format"), ending: ".rules").map(\.lastPathComponent)

    @Test(arguments: cases)
    func formatsToTheGoldenLayout(name: String) throws {
        let input = fixtures.appendingPathComponent("format").appendingPathComponent(name)
        let expectedURL = input.deletingPathExtension().appendingPathExtension("expected")
        let (file, diagnostics) = parse(read(input), path: name)
        #expect(diagnostics.isEmpty)
        let formatted = Formatter.format(file)
        if updatingGoldenFiles {
            try formatted.write(to: expectedURL, atomically: true, encoding: .utf8)
        }
        #expect(formatted == read(expectedURL))
    }

    static let allRuleTexts: [String] = cases.map { read(fixtures.appendingPathComponent("format").appendingPathComponent($0)) }
        + ruleFilesInRepository().map(read)

    /// Formatting keeps the meaning (the same tree), keeps every comment, and is idempotent.
    @Test(arguments: allRuleTexts)
    func formattingPreservesMeaningAndComments(text: String) {
        let (original, diagnostics) = parse(text)
        #expect(diagnostics.isEmpty)
        let once = Formatter.format(original)
        let (reparsed, reparseDiagnostics) = parse(once)
        #expect(reparseDiagnostics.isEmpty, "\(once)")
        #expect(TreeDump.dump(reparsed) == TreeDump.dump(original))
        #expect(reparsed.comments.map(\.text) == original.comments.map { $0.text.trimmingTrailingSpaces })
        #expect(Formatter.format(reparsed) == once)
    }

    @Test func rulesInTheRepositoryAreFormatted() {
        let urls = ruleFilesInRepository()
        #expect(!urls.isEmpty)
        for url in urls {
            let text = read(url)
            #expect(Formatter.format(parse(text).0) == text, "\(url.path) is not in canonical layout; run `redress fmt rules/`")
        }
    }

    @Test(arguments: [
        ("let a = (x.y)", "let a = x.y\n"),
        ("let a = 1 - (2 - 3)", "let a = 1 - (2 - 3)\n"),
        ("let a = (1 - 2) - 3", "let a = 1 - 2 - 3\n"),
        ("let a = not (x or y)", "let a = not (x or y)\n"),
        ("let a = (not x) == y", "let a = (not x) == y\n"),
        ("let a = 5EUR + 5   USD", "let a = 5 EUR + 5 USD\n"),
        ("let a = (a == b) == c", "let a = (a == b) == c\n"),
        ("let a = -(1 + 2)", "let a = -(1 + 2)\n"),
        ("let a = (x.y is missing) is missing", "let a = (x.y is missing) is missing\n"),
        ("let s = \"a\\\"b\\\\c\\n\"", "let s = \"a\\\"b\\\\c\\n\"\n"),
    ])
    func minimalParentheses(input: String, expected: String) {
        #expect(Formatter.format(parse(input).0) == expected)
    }
}
