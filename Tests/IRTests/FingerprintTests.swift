import Foundation
import Testing
@testable import RedressIR
import RedressSemantics
import RedressSyntax

/// The fingerprint keys the state `run --state` saves: it follows what the rules mean (names,
/// conditions, actions, policies, their order), not where their text sits (paths, lines, layout,
/// comments, descriptions).
struct FingerprintTests {
    static let rules = """
        # S1
        param late_threshold = 2d

        rule late_vip "VIP parcels late by more than late_threshold"
          on shipment.delivered
          when shipment.delay > late_threshold and customer.tier == VIP
          then refund 5 EUR, send apology
          limit 1 per shipment

        when shipment.delay > 5d then voucher 3 EUR

        """

    static func program(_ text: String, path: String = "rules/shop/late.rules") throws -> Program {
        let report = RuleSetLoader.check(rules: [SourceFile(path: path, text: text)], schema: shopSource("schema.yaml"),
                                         catalog: shopSource("catalog.yaml"))
        return try #require(Program.compile(report).0, "\(report.diagnostics)")
    }

    @Test(arguments: ["./rules/shop/late.rules", "/srv/checkout/rules/shop/late.rules", "late.rules", "rules/shop/../shop/late.rules"])
    func theSameRulesElsewhereHaveTheSameFingerprint(path: String) throws {
        let here = try Self.program(Self.rules), there = try Self.program(Self.rules, path: path)
        #expect(there.rules.map(\.file) != here.rules.map(\.file))
        #expect(there.fingerprint == here.fingerprint)
    }

    static let layouts = [
        // Blank lines and comments added.
        "\n\n# copied from the shop\n\n" + rules.replacingOccurrences(of: "\n\n", with: "\n\n\n# more\n\n"),
        // Each rule on one line.
        """
        param late_threshold = 2d
        rule late_vip "VIP parcels late by more than late_threshold" on shipment.delivered when shipment.delay > late_threshold and customer.tier == VIP then refund 5 EUR, send apology limit 1 per shipment
        when shipment.delay > 5d then voucher 3 EUR
        """,
        // The description reworded (documentation, not meaning).
        rules.replacingOccurrences(of: "\"VIP parcels late by more than late_threshold\"", with: "\"Late VIP parcels\""),
        // Formatted.
        Formatter.format(Parser.parse(SourceFile(path: "x.rules", text: rules)).0),
    ]

    @Test(arguments: Self.layouts)
    func layoutCommentsAndDescriptionsDoNotCount(text: String) throws {
        let original = try Self.program(Self.rules), moved = try Self.program(text)
        #expect(moved.fingerprint == original.fingerprint)
    }

    static let changes = [
        ("param late_threshold = 2d", "param late_threshold = 3d"),
        ("when shipment.delay > 5d", "when shipment.delay > 6d"),
        ("rule late_vip", "rule late_vip_parcel"),
        ("refund 5 EUR", "refund 6 EUR"),
        ("send apology", "send apology via sms"),
        ("limit 1 per shipment", "limit 2 per shipment"),
        ("customer.tier == VIP", "customer.tier == Plus"),
    ]

    @Test(arguments: Self.changes)
    func whatTheRulesDecideCounts(before: String, after: String) throws {
        #expect(Self.rules.contains(before))
        let original = try Self.program(Self.rules), changed = try Self.program(Self.rules.replacingOccurrences(of: before, with: after))
        #expect(changed.fingerprint != original.fingerprint)
    }

    /// The state's keys hold rule indices: the same rules in another order are other rules.
    @Test func ruleOrderCounts() throws {
        let swapped = """
            param late_threshold = 2d
            when shipment.delay > 5d then voucher 3 EUR
            rule late_vip "VIP parcels late by more than late_threshold" on shipment.delivered when shipment.delay > late_threshold and customer.tier == VIP then refund 5 EUR, send apology limit 1 per shipment
            """
        #expect(try Self.program(swapped).fingerprint != Self.program(Self.rules).fingerprint)
    }

    /// A compiled IR file keeps the files and lines (for decisions and `explain`) and has the
    /// fingerprint of the sources it was compiled from; compiling stays deterministic.
    @Test func compiledIRKeepsPlacesAndTheFingerprint() throws {
        let program = try Self.program(Self.rules)
        let loaded = try Program.load(json: program.json())
        #expect(loaded.fingerprint == program.fingerprint)
        #expect(loaded.rules.map(\.file) == ["rules/shop/late.rules", "rules/shop/late.rules"])
        #expect(loaded.rules.map(\.line) == [4, 10])
        #expect(loaded.rules.first?.description == "VIP parcels late by more than late_threshold")
        #expect(try Self.program(Self.rules).json() == program.json())
        // Reading the fingerprint leaves the program as it was.
        _ = program.fingerprint
        #expect(program.rules.map(\.file) == ["rules/shop/late.rules", "rules/shop/late.rules"])
        // The whole IR's hash, as states were keyed before, still depends on the place.
        #expect(try Self.program(Self.rules, path: "./late.rules").legacyFingerprint != program.legacyFingerprint)
    }

    /// The example shop, located as `rules/shop` and as `./rules/shop`-like paths.
    @Test func theShopByAnyPath() throws {
        let plain = try compileShop()
        for path in [repositoryRoot.path + "/./rules/shop", repositoryRoot.path + "/rules/../rules/shop/"] {
            let location = try RuleSetLoader.locate([path])[0]
            let other = try #require(Program.compile(try RuleSetLoader.check(location)).0)
            #expect(other.fingerprint == plain.fingerprint, "\(path)")
        }
    }
}
