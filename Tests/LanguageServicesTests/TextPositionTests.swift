import RedressLanguageServices
import RedressSyntax
import Testing

/// Editors count positions in UTF-16 code units; the services count bytes inside.
@Suite struct TextPositionTests {
    // `ä` is 2 bytes and 1 unit, `🚚` 4 bytes and 2 units, `€` 3 bytes and 1 unit.
    static let text = "# Verspätung 🚚\r\nrule r \"5 € zurück\" when shipment.delay > 2d then refund 5 EUR\n"

    @Test func offsetsAndPositionsRoundTrip() {
        let source = SourceFile(path: "t.rules", text: Self.text)
        // Every offset where a character starts, but the one between CR and LF (no position names it).
        for offset in 0...source.bytes.count where offset == source.bytes.count || source.bytes[offset] & 0xC0 != 0x80 {
            if offset > 0, source.bytes[offset - 1] == UInt8(ascii: "\r") { continue }
            #expect(source.offset(of: source.position(of: offset)) == offset, "offset \(offset)")
        }
        let when = Self.text.utf8.count - "when shipment.delay > 2d then refund 5 EUR\n".utf8.count
        #expect(source.position(of: when) == TextPosition(line: 1, character: 20))
        // After the truck: `# Verspätung ` is 13 units, the truck 2.
        #expect(source.position(of: Array("# Verspätung 🚚".utf8).count) == TextPosition(line: 0, character: 15))
    }

    @Test func positionsPastTheLineOrTheTextAreClamped() {
        let source = SourceFile(path: "t.rules", text: Self.text)
        // The first line ends before its CR.
        #expect(source.offset(of: TextPosition(line: 0, character: 999)) == Array("# Verspätung 🚚".utf8).count)
        #expect(source.offset(of: TextPosition(line: 99, character: 0)) == source.bytes.count)
        // Inside the truck's surrogate pair: after the truck.
        #expect(source.offset(of: TextPosition(line: 0, character: 14)) == Array("# Verspätung 🚚".utf8).count)
    }

    @Test func aByteOrderMarkIsOneUnitOfTheFirstLine() {
        let source = SourceFile(path: "t.rules", text: "\u{FEFF}rule r when order.total > 5 EUR then refund 1 EUR\n")
        #expect(source.hadByteOrderMark)
        #expect(source.position(of: 0) == TextPosition(line: 0, character: 1))
        #expect(source.offset(of: TextPosition(line: 0, character: 6)) == 5)
    }

    @Test func incrementalEditsInTextWithUmlautsAndEmoji() {
        let workspace = Workspace(files: .memory([:]))
        workspace.open("/x/a.rules", text: Self.text)
        // Replace `zurück` (line 1, after `rule r "5 € `) with `zurück 🚚`.
        let start = TextPosition(line: 1, character: 12)
        #expect(workspace.edit("/x/a.rules", range: TextRange(start: start, end: TextPosition(line: 1, character: 18)), newText: "zurück 🚚"))
        #expect(workspace.source("/x/a.rules")?.text == Self.text.replacingOccurrences(of: "zurück\"", with: "zurück 🚚\""))
        // Delete across the line break: from after the truck on line 0 to the start of line 1.
        #expect(workspace.edit("/x/a.rules", range: TextRange(start: TextPosition(line: 0, character: 15), end: TextPosition(line: 1, character: 0)), newText: " "))
        #expect(workspace.source("/x/a.rules")?.text.hasPrefix("# Verspätung 🚚 rule r \"5 € zurück 🚚\"") == true)
        #expect(!workspace.edit("/x/not-open.rules", range: TextRange(start: start, end: start), newText: "x"))
    }
}
