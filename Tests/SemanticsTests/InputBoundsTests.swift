import Foundation
import Testing
@testable import RedressSemantics
import RedressSyntax
import Yams

/// Input that is well-formed but beyond what Redress can read or hold: YAML alias bombs and
/// deep nesting (every YAML reader), catalog costs that are not exact amounts, and constants
/// the runtime's 64-bit numbers cannot represent. Each is a diagnostic where it is written.
struct InputBoundsTests {
    /// Ten levels of ten aliases: ten billion nodes once expanded, from a dozen lines.
    static func aliasBomb(indent: String, levels: Int = 10) -> String {
        var lines = ["\(indent)- &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1..<levels {
            lines.append("\(indent)- &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func elapsed(_ body: () -> Void) -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        body()
        return clock.now - start
    }

    // MARK: - YAML

    @Test func anAliasBombIsRefusedWithItsPlace() throws {
        let text = "bomb:\n" + Self.aliasBomb(indent: "  ")
        let source = SourceFile(path: "bomb.yaml", text: text)
        var result: (root: Node?, diagnostic: Diagnostic?) = (nil, nil)
        let time = Self.elapsed { result = YAMLReader.compose(source) }
        #expect(time < .seconds(2))
        #expect(result.root == nil)
        let diagnostic = try #require(result.diagnostic)
        #expect(diagnostic.code == .yamlSyntax)
        #expect(diagnostic.message == "YAML aliases repeat more than \(YAMLReader.maximumAliasedNodes) nodes")
        // At the alias that goes over the bound: the eighth `*a3` on line 6 (12,330 nodes are
        // repeated on the lines before, and each `*a3` repeats 11,111).
        let place = source.location(of: diagnostic.span.start)
        #expect(place.line == 6)
        #expect(place.column == 10 + 5 * 7)
        #expect(source.text.utf8.dropFirst(diagnostic.span.start).starts(with: "*a3".utf8))
    }

    /// Yams hashes every key of a mapping while composing it: an aliased key would be expanded
    /// before any reader sees it.
    @Test func anAliasedKeyIsRefusedBeforeComposing() throws {
        let text = "anchors:\n" + Self.aliasBomb(indent: "  ") + "keyed:\n  ? *a9\n  : 1\n  {*a9 : 2}: 3\n"
        var result: (root: Node?, diagnostic: Diagnostic?) = (nil, nil)
        let time = Self.elapsed { result = YAMLReader.compose(SourceFile(path: "keys.yaml", text: text)) }
        #expect(time < .seconds(2))
        #expect(result.diagnostic?.code == .yamlSyntax)
    }

    @Test(arguments: ["schema", "catalog"])
    func schemaAndCatalogRefuseAnAliasBomb(kind: String) {
        let text = kind == "schema" ? "entities:\n  customer:\n    fields:\n      segments:\n" + Self.aliasBomb(indent: "        ")
                                    : "actions:\n  refund:\n    description:\n" + Self.aliasBomb(indent: "      ")
        let source = SourceFile(path: "\(kind).yaml", text: text)
        var diagnostics: [Diagnostic] = []
        let time = Self.elapsed { diagnostics = kind == "schema" ? SchemaLoader.load(source).1 : CatalogLoader.load(source).1 }
        #expect(time < .seconds(2))
        #expect(diagnostics.map(\.code) == [.yamlSyntax])
    }

    @Test func ordinaryAliasesStillWork() throws {
        // A few hundred repetitions of an anchored mapping are well within the bound.
        var text = "channels:\n  email: &cheap { cost: 0.01 EUR }\n  sms: *cheap\n"
        text += "actions:\n" + (0..<300).map { "  action_\($0): { argument: none, cost: 1 EUR }\n" }.joined()
        let (catalog, diagnostics) = CatalogLoader.load(SourceFile(path: "catalog.yaml", text: text))
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        #expect(catalog.channels.map { "\($0.cost)" } == ["0.01", "0.01"])
        // Many aliases of a small node, and text with stars and ampersands that are no aliases.
        let list = "a: &one [1, 2, 3]\nb: [" + Array(repeating: "*one", count: 2000).joined(separator: ", ") + "]\nc: \"x * y & z\"\nd: 2 * 3\n"
        let (root, diagnostic) = YAMLReader.compose(SourceFile(path: "list.yaml", text: list))
        #expect(diagnostic == nil)
        #expect(root?["b"]?.sequence?.count == 2000)
        #expect(root?["d"]?.string == "2 * 3")
    }

    @Test func anAliasBombJustBelowTheBoundIsRead() {
        // Four levels repeat 12,330 nodes: under 100,000.
        let text = "bomb:\n" + Self.aliasBomb(indent: "  ", levels: 4)
        #expect(YAMLReader.compose(SourceFile(path: "small.yaml", text: text)).diagnostic == nil)
    }

    @Test func aSyntaxErrorInAFileWithAliasesIsReportedWhereItIs() throws {
        let text = "a: &x [1, 2]\nb: *x\nc: [3, 4\nd: 5\n"
        let (root, diagnostic) = YAMLReader.compose(SourceFile(path: "broken.yaml", text: text))
        #expect(root == nil)
        let found = try #require(diagnostic)
        #expect(found.message.hasPrefix("YAML syntax error"))
        // The same place as without the alias.
        let plain = YAMLReader.compose(SourceFile(path: "broken.yaml", text: text.replacingOccurrences(of: "*x", with: "xx"))).diagnostic
        #expect(found.span == plain?.span)
        #expect(found.message == plain?.message)
        #expect(YAMLReader.compose(SourceFile(path: "undefined.yaml", text: "a: &x 1\nb: *y\n")).diagnostic?.message == "YAML syntax error: found undefined alias")
    }

    @Test func deepNestingIsRefusedByTheSharedReader() {
        let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        let (root, diagnostic) = YAMLReader.compose(SourceFile(path: "deep.yaml", text: deep))
        #expect(root == nil)
        #expect(diagnostic?.message == "YAML nested more than 100 levels deep")
    }

    // MARK: - Catalog costs

    static func catalog(cost: String, currency: String = "EUR") -> [Diagnostic] {
        CatalogLoader.load(SourceFile(path: "catalog.yaml", text: "currency: \(currency)\nchannels:\n  sms: { cost: \(cost) }\n")).1
    }

    @Test(arguments: [".nan", ".NaN", ".inf", "-.inf", "+.inf", ".Inf EUR", "nan", "infinity", "4.99abc", "1e3", "0x10", "4.", "."])
    func costsThatAreNotExactAmountsAreRefused(cost: String) throws {
        let diagnostics = Self.catalog(cost: cost)
        let diagnostic = try #require(diagnostics.first, "`\(cost)` was accepted")
        #expect(diagnostic.code == .invalidCatalog)
        #expect(diagnostic.message == "the cost of `sms` must be an amount such as `2.50 EUR`")
        #expect(diagnostic.span != .empty)
    }

    @Test func notANumberSaysWhy() {
        #expect(Self.catalog(cost: ".nan").first?.help?.contains("floating-point") == true)
    }

    @Test func costsTheRuntimeCannotHoldAreRefusedWhereWritten() throws {
        let large = try #require(Self.catalog(cost: "99999999999999999999 EUR").first)
        #expect(large.code == .invalidCatalog)
        #expect(large.message == "the cost of `sms` is too large")
        #expect(large.help == "EUR amounts are kept in 2 decimal places and at most 92233720368547758.07 EUR")
        let source = "currency: EUR\nchannels:\n  sms: { cost: 99999999999999999999 EUR }\n"
        #expect(SourceFile(path: "c", text: source).location(of: large.span.start).line == 3)
        #expect(Self.catalog(cost: "92233720368547758.07 EUR").isEmpty)
        #expect(Self.catalog(cost: "92233720368547758.08 EUR").first?.message == "the cost of `sms` is too large")
        // Currencies without minor units hold more.
        #expect(Self.catalog(cost: "9223372036854775807 JPY", currency: "JPY").isEmpty)
        // More decimals than the currency has cannot be priced exactly (`compile` refused them).
        #expect(Self.catalog(cost: "0.001 EUR").first?.message == "the cost of `sms` has more decimals than EUR has cents")
        #expect(Self.catalog(cost: "0.010 EUR").isEmpty)
        #expect(Self.catalog(cost: "1.5 EUR").isEmpty)
        #expect(Self.catalog(cost: ".5").isEmpty)
    }

    @Test func redemptionRatesKeepFourDecimals() {
        func rate(_ text: String) -> [Diagnostic] {
            CatalogLoader.load(SourceFile(path: "catalog.yaml", text: "actions:\n  voucher: { argument: money, cost: amount, redemption_rate: \(text) }\n")).1
        }
        #expect(rate("35%").isEmpty)
        #expect(rate("35.1234%").isEmpty)
        #expect(rate("35.12345%").first?.code == .invalidCatalog)
        #expect(rate(".nan%").first?.code == .invalidCatalog)
    }

    @Test(arguments: ["5", "4.99", ".5", "0", "007.10"])
    func decimalsAreDigitsWithAnOptionalFraction(text: String) {
        #expect(LiteralValue.decimal(text) == Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")))
    }

    @Test(arguments: ["", ".", "5.", ".nan", "inf", "-1", "+1", "1e5", "1,5", "1.2.3", " 1", "٣"])
    func otherTextsAreNoDecimals(text: String) {
        #expect(LiteralValue.decimal(text) == nil)
    }

    // MARK: - Constants in rules

    struct OutOfRange: CustomTestStringConvertible, Sendable {
        var rule: String
        var written: String
        var message: String
        var testDescription: String { written }
    }

    static let outOfRange: [OutOfRange] = [
        OutOfRange(rule: "rule r on order.placed then refund 99999999999999999999 EUR", written: "99999999999999999999 EUR",
                   message: "the amount `99999999999999999999 EUR` is too large"),
        OutOfRange(rule: "rule r on order.placed then refund 92233720368547758.08 EUR", written: "92233720368547758.08 EUR",
                   message: "the amount `92233720368547758.08 EUR` is too large"),
        OutOfRange(rule: "rule r on order.placed when order.item_count > 9999999999999.5 then send apology", written: "9999999999999.5",
                   message: "the number `9999999999999.5` is too large"),
        OutOfRange(rule: "rule r on order.placed then refund 1000000000000000% of order.total", written: "1000000000000000%",
                   message: "the percentage `1000000000000000%` is too large"),
        OutOfRange(rule: "rule r on order.placed then refund 90000000000000000 EUR + 90000000000000000 EUR",
                   written: "90000000000000000 EUR + 90000000000000000 EUR",
                   message: "`90000000000000000 EUR + 90000000000000000 EUR` is too large"),
        OutOfRange(rule: "rule r on order.placed then refund 90000000000000000 EUR * 2", written: "90000000000000000 EUR * 2",
                   message: "`90000000000000000 EUR * 2` is too large"),
        OutOfRange(rule: "rule r on order.placed when order.item_count > 9000000000000000000 + 9000000000000000000 then send apology",
                   written: "9000000000000000000 + 9000000000000000000", message: "`9000000000000000000 + 9000000000000000000` is too large"),
        OutOfRange(rule: "rule r on shipment.delivered when shipment.delay > 15250284452w + 15250284452w then send apology",
                   written: "15250284452w + 15250284452w", message: "`15250284452w + 15250284452w` is too large"),
        OutOfRange(rule: "param big = 90000000000000000 EUR + 90000000000000000 EUR\nrule r on order.placed then refund big",
                   written: "90000000000000000 EUR + 90000000000000000 EUR",
                   message: "`90000000000000000 EUR + 90000000000000000 EUR` is too large"),
        OutOfRange(rule: "rule r on order.placed then refund 5 EUR cap 99999999999999999999 EUR per customer", written: "99999999999999999999 EUR",
                   message: "the amount `99999999999999999999 EUR` is too large"),
    ]

    @Test(arguments: outOfRange)
    func constantsTheRuntimeCannotHoldAreReportedWhereWritten(_ example: OutOfRange) throws {
        let report = check(example.rule)
        let errors = report.diagnostics.filter { $0.severity == .error }
        #expect(errors.count == 1, "\(errors.map(\.message))")
        let diagnostic = try #require(errors.first)
        #expect(diagnostic.code == .malformedLiteral)
        #expect(diagnostic.message == example.message)
        let start = try #require(example.rule.range(of: example.written)).lowerBound
        #expect(diagnostic.span.start == example.rule.utf8.distance(from: example.rule.startIndex, to: start))
        #expect(diagnostic.span.end - diagnostic.span.start == example.written.utf8.count)
    }

    @Test(arguments: [
        "rule r on order.placed then refund 92233720368547758.07 EUR",
        "rule r on order.placed then refund 46116860184273879 EUR + 46116860184273879 EUR",
        "rule r on order.placed when order.item_count > 9223372036854775807 then send apology",
        "rule r on order.placed when order.item_count > 9223372036854.775807 then send apology",
        "rule r on shipment.delivered when shipment.delay > 15250284452w then send apology",
    ])
    func theLargestConstantsAreAccepted(rule: String) {
        #expect(check(rule).diagnostics.filter { $0.severity == .error }.isEmpty, "\(check(rule).diagnostics.map(\.message))")
    }

    @Test func theLimitsAreThoseOfTheRuntime() {
        #expect(RuntimeRange.largest(places: 2) == "92233720368547758.07")
        #expect(RuntimeRange.largest(places: 0) == "9223372036854775807")
        #expect(RuntimeRange.fits(Decimal(string: "92233720368547758.07")!, places: 2))
        #expect(!RuntimeRange.fits(Decimal(string: "92233720368547758.08")!, places: 2))
        #expect(!RuntimeRange.fits(Decimal(string: "0.001")!, places: 2))
        #expect(RuntimeRange.problem(.money(Decimal(string: "-92233720368547758.09")!, currency: "EUR")) != nil)
    }
}
