import Foundation
import Testing
@testable import RedressSemantics
import RedressSyntax

/// Constant arithmetic (issue 15, points 7 and 8): the checker folds with the evaluator's own
/// arithmetic (`Arithmetic.apply` on fixed point) and the catalog's rounding rule.
struct ConstantArithmeticTests {
    static func parameter(_ text: String, catalog: SourceFile = shopCatalog) -> (Value?, [String]) {
        let report = RuleSetLoader.check(rules: [SourceFile(path: "p.rules", text: "param p = \(text)\nrule r when shipment.delay > 2d then refund 1 EUR\n")],
                                         schema: shopSchema, catalog: catalog)
        return (report.checked?.parameters.first { $0.name == "p" }?.defaultValue, report.diagnostics.filter { $0.severity == .error }.map(\.code.rawValue))
    }

    static func halfUpCatalog() -> SourceFile {
        SourceFile(path: "catalog.yaml", text: "rounding: half_up\n" + shopCatalog.text)
    }

    @Test(arguments: [
        ("10 EUR / 3", Value.money(Decimal(string: "3.33")!, currency: "EUR")),
        ("2d * 2", .duration(4 * 86_400_000)),
        ("2026-12-01T00:00Z + 1d", .timestamp(1_796_169_600_000)),
        ("1d / 4", .duration(6 * 3_600_000)),
        ("-(0.49 EUR / 2)", .money(Decimal(string: "-0.24")!, currency: "EUR")),
        ("5% of 4.90 EUR", .money(Decimal(string: "0.24")!, currency: "EUR")),
        ("10% * 3", .percent(30)),
        ("7 / 2", .decimal(Decimal(string: "3.5")!)),
    ])
    func constantArithmeticFolds(text: String, expected: Value) {
        let (value, codes) = Self.parameter(text)
        #expect(codes.isEmpty, "\(text): \(codes)")
        #expect(value == expected, "\(text) folded to \(String(describing: value))")
    }

    @Test(arguments: [
        ("0.49 EUR / 2", "0.24", "0.25"),
        ("-0.49 EUR / 2", "-0.24", "-0.25"),
        ("5% of 4.90 EUR", "0.24", "0.25"),
        ("5% of 129.90 EUR", "6.50", "6.50"),
        ("0.51 EUR / 2", "0.26", "0.26"),
        ("1.01 EUR * 0.5", "0.50", "0.51"),
    ])
    func theCatalogChoosesTheRounding(text: String, halfEven: String, halfUp: String) {
        #expect(Self.parameter(text).0 == .money(Decimal(string: halfEven)!, currency: "EUR"))
        #expect(Self.parameter(text, catalog: Self.halfUpCatalog()).0 == .money(Decimal(string: halfUp)!, currency: "EUR"))
    }

    @Test func fixedPointRoundsHalvesByTheRuleAndEverythingElseToTheNearest() {
        // value × numerator / denominator: 245 / 10 = 24.5, -245 / 10 = -24.5, 235 / 10 = 23.5, 246 / 10 = 24.6.
        for (value, even, up) in [(245, 24, 25), (-245, -24, -25), (235, 24, 24), (246, 25, 25), (244, 24, 24), (-246, -25, -25), (240, 24, 24)] {
            #expect(FixedPoint.multiplyDivide(Int64(value), 1, 10, rounding: .halfEven) == Int64(even), "\(value)")
            #expect(FixedPoint.multiplyDivide(Int64(value), 1, 10, rounding: .halfUp) == Int64(up), "\(value)")
        }
        #expect(FixedPoint.multiplyDivide(1, 1, 0) == nil)
        #expect(FixedPoint.multiplyDivide(.max, 2, 1) == nil)
    }

    @Test func exactScalingRefusesWhatItWouldRound() {
        #expect(FixedPoint.exact(Decimal(string: "4.99")!, places: 2) == 499)
        #expect(FixedPoint.exact(Decimal(string: "-0.5")!, places: 6) == -500_000)
        #expect(FixedPoint.exact(Decimal(string: "0.001")!, places: 2) == nil)
        #expect(FixedPoint.exact(Decimal(string: "99999999999999999999")!, places: 2) == nil)
    }

    @Test func anUnknownRoundingIsACatalogError() {
        let catalog = SourceFile(path: "catalog.yaml", text: "rounding: commercial\n" + shopCatalog.text)
        let (_, diagnostics) = CatalogLoader.load(catalog)
        #expect(diagnostics.contains { $0.code == .invalidCatalog && $0.message.contains("`rounding` must be `half_even` or `half_up`") })
    }

    @Test func divisionByZeroIsNotAConstant() {
        #expect(Self.parameter("10 EUR / 0").1.contains("E0410"))
    }
}
