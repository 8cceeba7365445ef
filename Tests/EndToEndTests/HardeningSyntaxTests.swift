import Foundation
import Testing

/// Defects found by an adversarial trial of `fmt`, `check` and `diff`, each through the binary.
@Suite(.serialized)
struct HardeningSyntaxTests {
    /// Writes `bytes` as a file (for byte order marks and line breaks the `String` helpers would not keep).
    private func write(_ bytes: [UInt8], to url: URL) throws {
        try Data(bytes).write(to: url)
    }

    private func ruleSet(_ name: String, bytes: [UInt8]) throws -> (directory: URL, file: URL) {
        let directory = try temporaryRuleSet()
        let file = directory.appendingPathComponent(name)
        try write(bytes, to: file)
        return (directory, file)
    }

    // MARK: - 12: fmt is idempotent, with comments anywhere

    @Test func formattedOutputPassesFmtCheck() throws {
        let text = "let x = case customer.tier { VIP -> 10 EUR, else -> 3 EUR }  # note\n"
            + "rule late \"Late\" on shipment.delivered # after the trigger\n  when shipment.delay > 2d # after the condition\n"
            + "  # before then\n  then refund 5 EUR, # after a comma\n  send apology\n# the end"
        let directory = try temporaryRuleSet(["shop.rules": text])
        let file = directory.appendingPathComponent("shop.rules")
        let format = try redress(["fmt", directory.path])
        #expect(format.status == 0, "\(format.stderr)")
        let once = read(file)
        #expect(once.contains("}  # note\n"), "\(once)")
        for comment in ["# note", "# after the trigger", "# after the condition", "# before then", "# after a comma", "# the end"] {
            #expect(once.contains(comment), "\(comment) was lost:\n\(once)")
        }
        let check = try redress(["fmt", "--check", directory.path])
        #expect(check.status == 0, "formatted output must pass --check:\n\(check.stdout)")
        #expect(check.stdout.isEmpty)
        #expect(try redress(["fmt", directory.path]).status == 0)
        #expect(read(file) == once)
    }

    // MARK: - 13: fmt --check on CRLF files

    @Test func aCRLFFileGetsALineByLineDiff() throws {
        let text = "rule late on shipment.delivered when shipment.delay>2d\r\n  then refund 5 EUR\r\n"
        let (directory, file) = try ruleSet("late.rules", bytes: Array(text.utf8))
        let check = try redress(["fmt", "--check", directory.path])
        #expect(check.status == 1)
        #expect(!check.stdout.contains("\r"), "\(check.stdout.debugDescription)")
        #expect(check.stdout.contains("\(file.path): the file has CRLF (\\r\\n) line endings; formatted, it has LF (\\n) line endings\n"))
        #expect(check.stdout.contains("""
            --- \(file.path) (as written)
            +++ \(file.path) (formatted)
            @@ -1,2 +1,4 @@
            -rule late on shipment.delivered when shipment.delay>2d
            +rule late
            +  on shipment.delivered
            +  when shipment.delay > 2d
               then refund 5 EUR

            """), "\(check.stdout)")
    }

    @Test func aFileThatDiffersOnlyInLineEndingsSaysSo() throws {
        let text = "rule late\r\n  on shipment.delivered\r\n  when shipment.delay > 2d\r\n  then refund 5 EUR\r\n"
        let (directory, file) = try ruleSet("late.rules", bytes: Array(text.utf8))
        let check = try redress(["fmt", "--check", directory.path])
        #expect(check.status == 1)
        #expect(check.stdout == "\(file.path): the file has CRLF (\\r\\n) line endings; formatted, it has LF (\\n) line endings\n")
        #expect(try redress(["fmt", directory.path]).status == 0)
        #expect(read(file) == text.replacingOccurrences(of: "\r\n", with: "\n"))
        #expect(try redress(["fmt", "--check", directory.path]).stdout.isEmpty)
    }

    @Test func aMissingLineBreakAtTheEndIsShown() throws {
        let (directory, file) = try ruleSet("late.rules", bytes: Array("when shipment.delay > 2d then refund 5 EUR".utf8))
        let check = try redress(["fmt", "--check", directory.path])
        #expect(check.status == 1)
        #expect(check.stdout == """
            --- \(file.path) (as written)
            +++ \(file.path) (formatted)
            @@ -1,1 +1,1 @@
            -when shipment.delay > 2d then refund 5 EUR
            \\ No newline at end of file
            +when shipment.delay > 2d then refund 5 EUR

            """, "\(check.stdout)")
    }

    // MARK: - 14: a byte order mark

    @Test func aByteOrderMarkIsSkipped() throws {
        let rule = "rule late\n  on shipment.delivered\n  when shipment.delay > 2d\n  then refund 5 EUR\n"
        let (directory, _) = try ruleSet("late.rules", bytes: [0xEF, 0xBB, 0xBF] + Array(rule.utf8))
        let check = try redress(["check", directory.path])
        #expect(check.status == 0, "\(check.stdout)")
        #expect(!check.stdout.contains("E0001"))
        #expect(try redress(["fmt", "--check", directory.path]).status == 0)
        // `fmt` keeps the mark when it rewrites a file.
        let messy = "when shipment.delay>2d then refund 5 EUR\n"
        let (rewritten, messyFile) = try ruleSet("messy.rules", bytes: [0xEF, 0xBB, 0xBF] + Array(messy.utf8))
        #expect(try redress(["fmt", rewritten.path]).status == 0)
        #expect((try? Data(contentsOf: messyFile)).map { [UInt8]($0) } == [0xEF, 0xBB, 0xBF] + Array("when shipment.delay > 2d then refund 5 EUR\n".utf8))
        // Columns count from the first character after the mark.
        let broken = "when shipment.dealy > 2d then refund 5 EUR\n"
        let (other, file) = try ruleSet("broken.rules", bytes: [0xEF, 0xBB, 0xBF] + Array(broken.utf8))
        let error = try redress(["check", other.path])
        #expect(error.status == 1)
        #expect(error.stdout.contains("\(file.path):1:6\n"), "\(error.stdout)")
        #expect(error.stdout.contains("1 | when shipment.dealy > 2d then refund 5 EUR\n  |      ^^^^^^^^^^^^^^"), "\(error.stdout)")
    }

    // MARK: - 15: a long flat chain is not nesting

    @Test func aChainOf5000PartsChecksFormatsAndCompiles() throws {
        let chain = (0..<5_000).map { "shipment.delay > \($0 % 9 + 1)d" }.joined(separator: " and ")
        let directory = try temporaryRuleSet(["chain.rules": "rule long_chain\n  on shipment.delivered\n  when \(chain)\n  then refund 5 EUR\n"])
        let check = try redress(["check", directory.path])
        #expect(check.exitedNormally)
        #expect(check.status == 0, "\(check.stdout.prefix(2_000))")
        #expect(!check.stdout.contains("E0103"))
        let format = try redress(["fmt", "--check", directory.path])
        #expect(format.exitedNormally && format.status == 0, "\(format.stdout.prefix(2_000))")
        let compile = try redress(["compile", directory.path, "--out", scratchPath("chain", ".json").path])
        #expect(compile.exitedNormally && compile.status == 0, "\(compile.stderr)")
        let simulate = try redress(["simulate", directory.path, "--events", "rules/shop/events/history.jsonl"])
        #expect(simulate.exitedNormally && simulate.status == 0, "\(simulate.stderr)")
    }

    // MARK: - 16: Markdown from `diff`

    @Test func diffMarkdownKeepsRuleTextInsideCode() throws {
        let old = try temporaryRuleSet(["a.rules": "rule late \"Late parcel\"\n  on shipment.delivered\n  when shipment.delay > 2d\n  then refund 5 EUR\n"])
        let hostile = #"x` <img src=x onerror=alert(1)> [click](https://evil.example) `y"#
        let new = try temporaryRuleSet([
            "a.rules": "rule late \"\(hostile)\"\n  on shipment.delivered\n  when shipment.delay > 2d\n  then refund 5 EUR\n\n"
                + "rule added \"``` <script>alert(1)</script>\"\n  on shipment.delivered\n  when shipment.delay > 9d\n  then send apology\n",
        ])
        let run = try redress(["diff", old.path, new.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("- description `\"Late parcel\"` → ``\"\(hostile)\"``\n"), "\(run.stdout)")
        #expect(run.stdout.contains("\n````\nrule added \"``` <script>alert(1)</script>\"\n"), "\(run.stdout)")
        #expect(run.stdout.contains("  then send apology\n````\n"), "\(run.stdout)")
    }

    // MARK: - 17: control characters in diagnostics

    @Test func controlCharactersInARuleLineAreShownNotObeyed() throws {
        let line = "when shipment.dealy > 2d and customer.email == \"\u{1B}]0;pwned\u{7}\u{1B}[2J\" then refund 5 EUR\n"
        let directory = try temporaryRuleSet(["bad.rules": line])
        let run = try redress(["check", directory.path])
        #expect(run.status == 1)
        #expect(!run.stdout.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || $0.value == 0x7F }, "\(run.stdout.debugDescription)")
        #expect(run.stdout.contains(#"1 | when shipment.dealy > 2d and customer.email == "\u{1B}]0;pwned\u{7}\u{1B}[2J" then refund 5 EUR"#), "\(run.stdout)")
        // The caret still stands under the misspelt field.
        #expect(run.stdout.contains("  |      ^^^^^^^^^^^^^^ `shipment` has no field `dealy`"), "\(run.stdout)")
    }
}
