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

    /// Every kind of item and clause, each construct written across lines somewhere.
    static let everyConstruct = """
        param late = 2d
        let vip = customer.tier == VIP
        let amount = case customer.tier { VIP | Plus -> 10 EUR, else -> 3 EUR, }
        let short = case { customer.tier == VIP -> 1, else -> 2 }
        let list = [DE, AT]
        let sum = -(1 + 2) * 3 ?? 4
        let call = count(return.registered where return.reason == wrong_size per customer within 90d)
        let item = t[customer.country].days
        table days by Country { DE -> 2d, AT | CH -> 3d, else -> 5d }
        group delivery per order within 30d by amount
        policy cap 20 EUR per customer.country within 30d
        policy limit 3 per customer within 7d
        rule late_parcel "A late parcel"
          on shipment.delivered, shipment.lost
          unless shipment.shipped within 48h
          when shipment.delay > late and (customer.tier == VIP or customer.tier == Plus)
            and not order.total is missing and order.country not in [DE]
          then refund 5 EUR, send apology via customer.preferred_channel ?? email
          limit 1 per order within 1d
          exclusive delivery priority 10
          rollout 25%
          active from 2026-12-01 until 2027-01-01T00:00:00Z
        when shipment.delay > 2d then refund 5 EUR limit none
        rule deadline on order.placed unless shipment.shipped by order.promised_at then send apology active until 2027-01-01
        """

    /// The end offsets of the tokens of `text` (but the end of the file).
    static func tokenEnds(_ text: String) -> [Int] {
        Lexer.tokenize(SourceFile(path: "t", text: text)).tokens.filter { $0.kind != .endOfFile }.map(\.span.end)
    }

    static func inserting(_ comment: (Int) -> String, after ends: [Int], into text: String) -> [String] {
        let bytes = Array(text.utf8)
        return ends.enumerated().map { number, end in
            String(decoding: bytes[..<end], as: UTF8.self) + comment(number) + String(decoding: bytes[end...], as: UTF8.self)
        }
    }

    /// A comment after every token of every construct — at the end of the line, and on a line of
    /// its own — is kept, in order, without changing the tree, and a second `fmt` changes nothing.
    @Test(arguments: ["trailing", "own line", "own line, indented"])
    func aCommentAfterAnyTokenIsKeptAndStaysPut(style: String) {
        let ends = Self.tokenEnds(Self.everyConstruct)
        #expect(ends.count > 250)
        let comment: (Int) -> String = switch style {
        case "trailing": { "  # c\($0)\n" }
        case "own line": { "\n# c\($0)\n" }
        default: { "\n    # c\($0)\n  " }
        }
        let original = TreeDump.dump(parse(Self.everyConstruct).0)
        var failures: [String] = []
        for (number, text) in Self.inserting(comment, after: ends, into: Self.everyConstruct).enumerated() {
            let (file, diagnostics) = parse(text)
            guard diagnostics.isEmpty else {
                failures.append("c\(number): \(diagnostics.map(\.message))")
                continue
            }
            let once = Formatter.format(file)
            let (reparsed, reparseDiagnostics) = parse(once)
            let twice = Formatter.format(reparsed)
            if !reparseDiagnostics.isEmpty || TreeDump.dump(reparsed) != original
                || reparsed.comments.map(\.text) != ["# c\(number)"] || twice != once {
                failures.append("c\(number):\n\(once)\n---- formatted again:\n\(twice)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures; first:\n\(failures.first ?? "")")
    }

    /// Two comments at once (after every pair of neighbouring tokens, each style), as the
    /// placement of one can decide where the other goes.
    @Test func neighbouringCommentsKeepTheirOrder() {
        let ends = Self.tokenEnds(Self.everyConstruct)
        let bytes = Array(Self.everyConstruct.utf8)
        var failures: [String] = []
        for index in ends.indices.dropLast() {
            let (first, second) = (ends[index], ends[index + 1])
            let text = String(decoding: bytes[..<first], as: UTF8.self) + "  # one\n"
                + String(decoding: bytes[first..<second], as: UTF8.self) + "\n# two\n" + String(decoding: bytes[second...], as: UTF8.self)
            let (file, diagnostics) = parse(text)
            guard diagnostics.isEmpty else { continue }
            let once = Formatter.format(file)
            let reparsed = parse(once).0
            if reparsed.comments.map(\.text) != ["# one", "# two"] || Formatter.format(reparsed) != once {
                failures.append(once)
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures; first:\n\(failures.first ?? "")")
    }

    /// The defect this guards: a comment at the end of a one-line `case` let was put after the
    /// `{`, and a second pass moved it above the let, so `fmt --check` failed on formatted output.
    @Test func aCommentAfterACaseLetStaysAtItsEnd() {
        let once = Formatter.format(parse("let x = case customer.tier { VIP -> 10 EUR, else -> 3 EUR }  # note").0)
        #expect(once == "let x = case customer.tier {\n  VIP -> 10 EUR,\n  else -> 3 EUR,\n}  # note\n")
        #expect(Formatter.format(parse(once).0) == once)
    }

    @Test func lineEndingsAndAByteOrderMarkDoNotChangeTheLayout() {
        let text = read(fixtures.appendingPathComponent("format/messy.rules"))
        let expected = Formatter.format(parse(text).0)
        #expect(Formatter.format(parse(text.replacingOccurrences(of: "\n", with: "\r\n")).0) == expected)
        #expect(Formatter.format(parse("\u{FEFF}" + text).0) == expected)
    }

    @Test func aLongChainFormatsOnOneLine() {
        let chain = (0..<5_000).map { "shipment.delay > \($0 % 9 + 1)d" }.joined(separator: " and ")
        let (file, diagnostics) = parse("when \(chain) then refund 5 EUR")
        #expect(diagnostics.isEmpty)
        let once = Formatter.format(file)
        #expect(once == "when \(chain) then refund 5 EUR\n")
        let reparsed = parse(once).0
        #expect(TreeDump.dump(reparsed) == TreeDump.dump(file))
        #expect(Formatter.format(reparsed) == once)
    }

    @Test(arguments: [
        ("let a = x and (y and z)", "let a = x and y and z\n"),
        ("let a = (x or y) or (z or w)", "let a = x or y or z or w\n"),
        ("let a = x and (y or z)", "let a = x and (y or z)\n"),
        ("let a = (x and y) or z", "let a = x and y or z\n"),
    ])
    func chainsNeedNoParentheses(input: String, expected: String) {
        #expect(Formatter.format(parse(input).0) == expected)
    }
}
