import Foundation
import Testing
@testable import RedressSemantics
import RedressSyntax

/// First drafts as business users write them (`within 36 hours`, `more than`, `5 euro`, `to` for
/// `until`), one per file in Fixtures/phrasing/, each with the message it gets as a golden file.
/// The file name starts with the code the draft must get first; where the message carries a fix,
/// the golden shows the text after `redress check --fix`, and that text must check clean.
struct PhrasingTests {
    static let directory = fixtures.appendingPathComponent("phrasing")
    static let cases = files(in: directory, ending: ".rules").map(\.lastPathComponent)

    /// What `redress check --fix` does: each edit, last first, skipping edits that overlap.
    static func applyFixes(_ diagnostics: [Diagnostic], to text: String, path: String) -> String? {
        let edits = diagnostics.compactMap(\.fix).filter { $0.file == path }
        guard !edits.isEmpty else { return nil }
        var bytes = Array(text.utf8)
        var lowestStart = Int.max
        for edit in edits.sorted(by: { $0.span.start > $1.span.start }) where edit.span.end <= lowestStart {
            bytes.replaceSubrange(edit.span.start..<edit.span.end, with: Array(edit.replacement.utf8))
            lowestStart = edit.span.start
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func render(_ name: String) -> (output: String, diagnostics: [Diagnostic], fixed: String?) {
        let text = read(directory.appendingPathComponent(name))
        let report = check(text, path: name)
        var output = DiagnosticRenderer(files: report.sources).human(report.diagnostics)
        let fixed = applyFixes(report.diagnostics, to: text, path: name)
        if let fixed { output += "\n--- after `redress check --fix`:\n" + fixed }
        return (output, report.diagnostics, fixed)
    }

    @Test func corpusIsLargeEnough() {
        #expect(Self.cases.count >= 60)
    }

    @Test(arguments: cases)
    func draftGetsItsMessage(name: String) {
        let (output, diagnostics, fixed) = Self.render(name)
        let code = String(name.prefix(5))
        // A stable code: the first (and here only) error is the one the file is named after.
        #expect(diagnostics.first?.code.rawValue == code, "\(name): \(diagnostics.map(\.code.rawValue))")
        #expect(diagnostics.count == 1, "\(name): one draft, one message; got \(diagnostics.map { "\($0.code.rawValue) \($0.message)" })")
        // Every message says what to write instead.
        #expect(diagnostics.allSatisfy { ($0.help ?? "").contains("`") }, "\(name): the help should show the Redress form")
        let golden = Self.directory.appendingPathComponent(name.replacingOccurrences(of: ".rules", with: ".expected"))
        #expect(matchesGolden(output, golden), "\(output)")
        if let fixed {
            let after = check(fixed, path: name).diagnostics
            #expect(after.isEmpty, "\(name): after the fix: \(after.map { "\($0.code.rawValue) \($0.message)" })\n\(fixed)")
        }
    }
}

/// The one "did you mean" of all stages.
struct SuggestionTests {
    static let schema = SchemaLoader.load(shopSchema).0

    @Test func closestIsIndependentOfCandidateOrder() {
        #expect(Suggestions.closest("shipment.dealy", among: ["shipment.delay", "shipment.id"]) == "shipment.delay")
        #expect(Suggestions.closest("ab", among: ["ac", "aa"]) == Suggestions.closest("ab", among: ["aa", "ac"]))
        #expect(Suggestions.closest("parcel", among: ["shipment"]) == nil)
    }

    @Test func bareFieldNamesSuggestQualifiedFields() {
        #expect(Suggestions.fieldPaths(for: "tier", in: Self.schema) == ["customer.tier"])
        let country = Suggestions.fieldPaths(for: "country", in: Self.schema)
        #expect(country.first == "customer.country")
        #expect(country.contains("shipment.destination_country"))
        #expect(Suggestions.didYouMeanField("tier", in: Self.schema)?.only == "customer.tier")
        #expect(Suggestions.didYouMeanField("country", in: Self.schema)?.only == nil)
    }

    @Test func unknownEventsPointToTheSchema() {
        let (help, notes) = Suggestions.unknownEvent("order.cancelled", in: Self.schema)
        #expect(notes.contains { $0.contains("events:") && $0.contains("schema.yaml") })
        #expect(!help.contains("and 1 more") && help.contains("`survey.answered`"), "\(help)")
        #expect(Suggestions.unknownEvent("shipment.delivred", in: Self.schema).help == "did you mean `shipment.delivered`?")
    }

    @Test func listingShowsTheNearestWhenMany() {
        let names = (1...30).map { "event_\($0)" }
        let listing = Suggestions.listing(names, nearestTo: "event_7", limit: 5)
        #expect(listing.hasPrefix("`event_7`"))
        #expect(listing.hasSuffix("and 25 more"))
        #expect(Suggestions.listing(["a", "b", "c"]) == "`a`, `b` and `c`")
    }
}
