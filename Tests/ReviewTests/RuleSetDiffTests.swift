import Foundation
import RedressIR
import RedressReview
import RedressEvents
import RedressEngine
import RedressSemantics
import RedressSyntax
import Testing

/// Inputs for the diff tests: the example shop's schema and catalog, and rule texts checked
/// against them. (A namespace, so nothing clashes with the other ReviewTests files.)
enum DiffFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/diff")
    static let updating = ProcessInfo.processInfo.environment["REDRESS_UPDATE_GOLDEN"] == "1"

    static func text(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }
    static let schema = SourceFile(path: "rules/shop/schema.yaml", text: text(root.appendingPathComponent("rules/shop/schema.yaml")))
    static let catalog = SourceFile(path: "rules/shop/catalog.yaml", text: text(root.appendingPathComponent("rules/shop/catalog.yaml")))

    static func check(_ files: [String: String], schema: SourceFile = schema, catalog: SourceFile = catalog) -> RuleSetReport {
        RuleSetLoader.check(rules: files.sorted { $0.key < $1.key }.map { SourceFile(path: $0.key, text: $0.value) }, schema: schema, catalog: catalog)
    }

    /// The shop's schema or catalog with `edits` (from, to) applied; each must apply.
    static func edited(_ file: SourceFile, _ edits: [(String, String)]) throws -> SourceFile {
        var text = file.text
        for (from, to) in edits {
            try #require(text.contains(from), "\(file.path): \(from)")
            text = text.replacingOccurrences(of: from, with: to)
        }
        return SourceFile(path: file.path, text: text)
    }

    /// The diff of two versions of one file `rules.rules`; both must check clean.
    static func diff(_ old: String, _ new: String) throws -> RuleSetDiff {
        try diff(["rules.rules": old], ["rules.rules": new])
    }

    static func diff(_ old: [String: String], _ new: [String: String]) throws -> RuleSetDiff {
        let before = check(old), after = check(new)
        try #require(before.diagnostics.filter { $0.severity == .error }.isEmpty, "old: \(before.diagnostics.map(\.message))")
        try #require(after.diagnostics.filter { $0.severity == .error }.isEmpty, "new: \(after.diagnostics.map(\.message))")
        return RuleSetDiff.compare(old: before, new: after, oldLabel: "old", newLabel: "new")
    }

    /// rules/shop/events/sample.jsonl, read for `program`.
    static func sampleEvents(_ program: Program) -> [Event] {
        let lines = text(root.appendingPathComponent("rules/shop/events/sample.jsonl")).split(separator: "\n").map(String.init)
        let reader = EventReader(program: program)
        var event = Event(slotCount: program.slots.count)
        return lines.enumerated().compactMap { index, line in
            var text = line
            return text.withUTF8 { reader.read($0, number: index + 1, into: &event) } == nil ? event : nil
        }
    }

    /// Compares with a golden file, or rewrites it with REDRESS_UPDATE_GOLDEN=1.
    static func matchesGolden(_ actual: String, _ name: String) -> Bool {
        let url = directory.appendingPathComponent(name)
        if updating { try? actual.write(to: url, atomically: true, encoding: .utf8) }
        return actual == text(url)
    }

    static let vipRule = """
        rule vip_late "VIP parcels more than two days late"
          on shipment.delivered
          when shipment.delay > 2d and customer.tier == VIP
          then refund 5 EUR, send apology, flag handwritten
          limit 1 per order

        """
}

struct RuleSetDiffTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        /// Replaces `from` with `to` in the VIP rule.
        var from: String
        var to: String
        var expected: [String]
        var testDescription: String { name }
    }

    /// Each kind of change to one rule, and the sentence it is reported with.
    static let cases: [Case] = [
        Case(name: "threshold", from: "> 2d", to: "> 3d", expected: ["`shipment.delay` threshold 2d → 3d"]),
        Case(name: "threshold written value first", from: "shipment.delay > 2d", to: "3d < shipment.delay",
             expected: ["`shipment.delay` threshold 2d → 3d"]),
        Case(name: "equality value", from: "== VIP", to: "== Plus", expected: ["`customer.tier ==` VIP → Plus"]),
        Case(name: "operator", from: "> 2d", to: ">= 2d", expected: ["operator of `shipment.delay … 2d`: `>` → `>=`"]),
        Case(name: "condition part added", from: "== VIP\n", to: "== VIP and order.total > 50 EUR\n",
             expected: ["condition part added: `order.total > 50 EUR`"]),
        Case(name: "condition part removed", from: "shipment.delay > 2d and ", to: "shipment.delay > 2d and shipment.delay < 30d and ",
             expected: ["condition part added: `shipment.delay < 30d`"]),
        Case(name: "condition removed", from: "  when shipment.delay > 2d and customer.tier == VIP\n", to: "",
             expected: ["condition removed (was `when shipment.delay > 2d and customer.tier == VIP`)"]),
        Case(name: "amount", from: "refund 5 EUR", to: "refund 7.50 EUR", expected: ["`refund` 5 EUR → 7.50 EUR"]),
        Case(name: "channel added", from: "send apology,", to: "send apology via sms,", expected: ["`send apology` channel added: `sms`"]),
        Case(name: "action added", from: "flag handwritten", to: "flag handwritten, voucher 5 EUR", expected: ["action added: `voucher 5 EUR`"]),
        Case(name: "action removed", from: ", flag handwritten", to: "", expected: ["action removed: `flag handwritten`"]),
        Case(name: "actions reordered", from: "refund 5 EUR, send apology", to: "send apology, refund 5 EUR",
             expected: ["actions reordered: `refund 5 EUR, send apology, flag handwritten` → `send apology, refund 5 EUR, flag handwritten`"]),
        Case(name: "actions reordered and a channel added", from: "refund 5 EUR, send apology", to: "send apology via sms, refund 5 EUR",
             expected: ["`send apology` channel added: `sms`",
                        "actions reordered: `refund 5 EUR, send apology, flag handwritten` → `send apology via sms, refund 5 EUR, flag handwritten`"]),
        Case(name: "trigger", from: "on shipment.delivered", to: "on shipment.delivered, shipment.lost",
             expected: ["trigger `on shipment.delivered` → `on shipment.delivered, shipment.lost`"]),
        Case(name: "limit changed", from: "limit 1 per order", to: "limit 2 per order",
             expected: ["limit `limit 1 per order` → `limit 2 per order`"]),
        Case(name: "limit replaced", from: "limit 1 per order", to: "limit none", expected: ["limit `limit 1 per order` → `limit none`"]),
        Case(name: "policy added", from: "limit 1 per order\n", to: "limit 1 per order\n  rollout 50%\n", expected: ["policy added: `rollout 50%`"]),
        Case(name: "limit removed: back to the default", from: "  limit 1 per order\n", to: "",
             expected: ["limit `limit 1 per order` → `limit 1 per shipment (the default)`"]),
        Case(name: "active dates", from: "limit 1 per order\n", to: "limit 1 per order\n  active from 2026-12-01\n",
             expected: ["policy added: `active from 2026-12-01`"]),
        Case(name: "points argument", from: "flag handwritten", to: "flag handwritten, points 100", expected: ["action added: `points 100`"]),
        Case(name: "template argument", from: "send apology", to: "send delay_notice", expected: ["`send` apology → delay_notice"]),
        Case(name: "cap added", from: "limit 1 per order\n", to: "limit 1 per order\n  cap 10 EUR per customer within 30d\n",
             expected: ["policy added: `cap 10 EUR per customer within 30d`"]),
        Case(name: "description", from: "\"VIP parcels more than two days late\"", to: "\"VIP parcels late\"",
             expected: ["description `\"VIP parcels more than two days late\"` → `\"VIP parcels late\"`"]),
    ]

    @Test(arguments: cases)
    func eachKindOfChangeIsSaidInDomainWords(_ change: Case) throws {
        let edited = DiffFixtures.vipRule.replacingOccurrences(of: change.from, with: change.to)
        #expect(edited != DiffFixtures.vipRule, "the edit must apply")
        let diff = try DiffFixtures.diff(DiffFixtures.vipRule, edited)
        #expect(diff.rules.count == 1)
        #expect(diff.rules.first?.status == .changed)
        #expect(diff.rules.first?.name == "vip_late")
        #expect(diff.rules.first?.changes.map(\.text) == change.expected)
        #expect(diff.summary.changed == 1 && diff.summary.unchanged == 0)
        #expect(diff.markdown().contains(change.expected[0]))
    }

    /// Layout, comments, the order of `and` parts and equal values written differently are not changes.
    @Test(arguments: [
        "# a comment\nrule vip_late \"VIP parcels more than two days late\" on shipment.delivered when shipment.delay>2d and customer.tier==VIP then refund 5 EUR,send apology,flag handwritten limit 1 per order  # trailing\n",
        DiffFixtures.vipRule.replacingOccurrences(of: "shipment.delay > 2d and customer.tier == VIP", with: "customer.tier == VIP and shipment.delay > 2d"),
        DiffFixtures.vipRule.replacingOccurrences(of: "> 2d", with: "> 48h").replacingOccurrences(of: "5 EUR", with: "5.00 EUR"),
        DiffFixtures.vipRule.replacingOccurrences(of: "shipment.delay > 2d", with: "(shipment.delay > 2d)"),
        DiffFixtures.vipRule.replacingOccurrences(of: "shipment.delay > 2d", with: "2d < shipment.delay"),
        DiffFixtures.vipRule.replacingOccurrences(of: "send apology,", with: "send apology via email,"),  // the template's default channel
    ])
    func formattingIsNotAChange(_ reformatted: String) throws {
        let diff = try DiffFixtures.diff(DiffFixtures.vipRule, reformatted)
        #expect(diff.rules.isEmpty, "\(diff.rules)")
        #expect(!diff.hasChanges)
        #expect(diff.summary.unchanged == 1)
        #expect(diff.summaryLine == "no semantic changes")
        #expect(diff.markdown().contains("No semantic changes."))
    }

    /// A rule without a limit has `limit 1 per <subject>`: writing the default out changes nothing;
    /// changing it is said against the default.
    @Test func theDefaultLimitWrittenOutIsNoChange() throws {
        let implicit = DiffFixtures.vipRule.replacingOccurrences(of: "  limit 1 per order\n", with: "")
        let explicit = DiffFixtures.vipRule.replacingOccurrences(of: "limit 1 per order", with: "limit 1 per shipment")
        #expect(try !DiffFixtures.diff(implicit, explicit).hasChanges)
        let doubled = DiffFixtures.vipRule.replacingOccurrences(of: "limit 1 per order", with: "limit 2 per shipment")
        let diff = try DiffFixtures.diff(implicit, doubled)
        #expect(diff.rules.first?.changes.map(\.text) == ["limit `limit 1 per shipment (the default)` → `limit 2 per shipment`"])
    }

    @Test func aRuleWithTheSameBodyUnderAnotherNameIsRenamed() throws {
        let diff = try DiffFixtures.diff(DiffFixtures.vipRule, DiffFixtures.vipRule.replacingOccurrences(of: "rule vip_late", with: "rule vip_parcel_late"))
        #expect(diff.rules.count == 1)
        let rule = try #require(diff.rules.first)
        #expect(rule.status == .renamed)
        #expect(rule.name == "vip_parcel_late" && rule.oldName == "vip_late")
        #expect(rule.changes.map(\.text) == ["renamed `vip_late` → `vip_parcel_late`"])
        #expect(diff.summaryLine == "1 rule renamed")
    }

    @Test func aRenameWithAnEditKeepsBoth() throws {
        let new = DiffFixtures.vipRule.replacingOccurrences(of: "rule vip_late", with: "rule vip_parcel_late")
            .replacingOccurrences(of: "refund 5 EUR", with: "refund 10 EUR")
        let diff = try DiffFixtures.diff(DiffFixtures.vipRule, new)
        let rule = try #require(diff.rules.first)
        #expect(diff.rules.count == 1)
        #expect(rule.status == .renamed)
        #expect(rule.changes.map(\.text) == ["renamed `vip_late` → `vip_parcel_late`", "`refund` 5 EUR → 10 EUR"])
    }

    @Test func anonymousRulesAreMatchedByTheirBodyNotTheirPosition() throws {
        let mission = "when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten\n"
        let other = "when shipment.delay > 5d then send apology\n"
        // A rule inserted before the mission sentence moves it from `rules:1` to `rules:2`.
        let diff = try DiffFixtures.diff(mission, other + "\n" + mission)
        #expect(diff.rules.map(\.status) == [.added])
        #expect(diff.rules.first?.name == "rules:1")
        #expect(diff.summary.unchanged == 1)
    }

    @Test func addedAndRemovedRulesCarryTheirText() throws {
        let other = """
            rule lost_parcel
              on shipment.lost
              then refund 10 EUR

            """
        let diff = try DiffFixtures.diff(DiffFixtures.vipRule + "\n" + other,
                                         "rule pack\n  on order.packed\n  when order.time_to_pack > 2d\n  then send pack_delay_notice\n")
        #expect(diff.rules.map(\.status) == [.added, .removed, .removed])
        #expect(diff.rules.map(\.name) == ["pack", "lost_parcel", "vip_late"])
        #expect(diff.rules[1].source == "rule lost_parcel\n  on shipment.lost\n  then refund 10 EUR\n")
        #expect(diff.summaryLine == "1 added, 2 removed")
    }

    @Test func aParameterDefaultChangeIsReportedWithTheRulesThatUseIt() throws {
        let old = """
            param late_threshold = 2d

            let late = shipment.delay > late_threshold

            \(DiffFixtures.vipRule.replacingOccurrences(of: "shipment.delay > 2d", with: "late"))
            rule other
              on shipment.lost
              then refund 10 EUR
            """
        let diff = try DiffFixtures.diff(old, old.replacingOccurrences(of: "= 2d", with: "= 3d"))
        #expect(diff.declarations.count == 1)
        let parameter = try #require(diff.declarations.first)
        #expect(parameter.kind == "parameter" && parameter.name == "late_threshold" && parameter.status == .changed)
        #expect(parameter.changes.map(\.text) == ["parameter `late_threshold` default 2d → 3d"])
        // Through the definition `late`.
        #expect(parameter.usedBy == ["vip_late"])
        #expect(diff.rules.map(\.name) == ["vip_late"])
        #expect(diff.rules.first?.changes.map(\.kind) == ["dependency"])
        #expect(diff.rules.first?.changes.first?.text.contains("2d → 3d") == true)
        #expect(diff.summaryLine == "1 rule changed; 1 shared declaration changed")
    }

    @Test func absenceDeadlinesAndDefinitionsAreCompared() throws {
        let old = """
            let slow = order.total > 100 EUR

            rule not_shipped
              on order.placed
              unless shipment.shipped within 3d
              when slow
              then send dispatch_delay_notice
            """
        let new = old.replacingOccurrences(of: "within 3d", with: "within 5d").replacingOccurrences(of: "100 EUR", with: "150 EUR")
        let diff = try DiffFixtures.diff(old, new)
        #expect(diff.declarations.map(\.changes).flatMap { $0 }.map(\.text) == ["definition `slow`: `order.total > 100 EUR` → `order.total > 150 EUR`"])
        #expect(diff.rules.first?.changes.map(\.text) == [
            "absence `unless shipment.shipped within 3d` → `unless shipment.shipped within 5d`",
            "uses definition `slow`, changed: `order.total > 100 EUR` → `order.total > 150 EUR`",
        ])
    }

    @Test func tableEntriesGroupsAndRuleSetPoliciesAreCompared() throws {
        let old = """
            table days by Country {
              DE -> 3d,
              AT | NL -> 4d,
              else -> 6d,
            }

            group compensation per order by amount

            policy cap 20 EUR per customer within 30d

            rule late_for_country
              on shipment.delivered
              when shipment.delay > days[shipment.destination_country]
              then refund 5 EUR
              exclusive compensation priority 1
            """
        let new = old.replacingOccurrences(of: "DE -> 3d", with: "DE -> 2d").replacingOccurrences(of: "else -> 6d,", with: "CH -> 5d,\n  else -> 6d,")
            .replacingOccurrences(of: "by amount", with: "by priority").replacingOccurrences(of: "cap 20 EUR", with: "cap 25 EUR")
        let diff = try DiffFixtures.diff(old, new)
        #expect(diff.declarations.map(\.kind) == ["table", "group", "policy"])
        #expect(diff.declarations[0].changes.map(\.text) == ["table `days`: DE 3d → 2d", "table `days`: entry added `CH -> 5d`"])
        #expect(diff.declarations[1].changes.map(\.text) == ["group `compensation`: `group compensation per order by amount` → `group compensation per order by priority`"])
        #expect(diff.declarations[2].changes.map(\.text) == ["rule-set cap `cap 20 EUR per customer within 30d` → `cap 25 EUR per customer within 30d`"])
        #expect(diff.declarations[0].usedBy == ["late_for_country"] && diff.declarations[1].usedBy == ["late_for_country"])
        #expect(diff.rules.first?.changes.count == 2)
    }

    /// A parameter in a threshold is shown with the value it stood for.
    @Test func aParameterInAThresholdShowsItsValue() throws {
        let old = "param late = 1d\n" + DiffFixtures.vipRule.replacingOccurrences(of: "> 2d", with: "> late")
        let diff = try DiffFixtures.diff(old, old.replacingOccurrences(of: "> late", with: "> 2d"))
        #expect(diff.rules.first?.changes.map(\.text) == ["`shipment.delay` threshold late (1d) → 2d"])
    }

    /// Table entries are compared per key: keys regrouped or reordered are no change; a key
    /// moved to another value is one change.
    @Test func tableKeysAreComparedOneByOne() throws {
        let old = """
            table days by Country {
              DE -> 3d,
              AT | NL | LU -> 4d,
              CH | FR -> 5d,
              else -> 6d,
            }

            rule late_for_country
              on shipment.delivered
              when shipment.delay > days[shipment.destination_country]
              then refund 5 EUR
            """
        let reordered = old.replacingOccurrences(of: "AT | NL | LU -> 4d", with: "LU | AT -> 4d,\n  NL -> 4d")
        #expect(try !DiffFixtures.diff(old, reordered).hasChanges)
        let moved = old.replacingOccurrences(of: "AT | NL | LU -> 4d", with: "AT | NL -> 4d").replacingOccurrences(of: "CH | FR -> 5d", with: "CH | FR | LU -> 5d")
        let diff = try DiffFixtures.diff(old, moved)
        #expect(diff.declarations.first?.changes.map(\.text) == ["table `days`: LU 4d → 5d"])
    }

    @Test func catalogCostsAreCompared() throws {
        let dearer = try DiffFixtures.edited(DiffFixtures.catalog, [("sms:      { cost: 0.09 EUR }", "sms:      { cost: 0.12 EUR }")])
        let before = DiffFixtures.check(["rules.rules": DiffFixtures.vipRule]), after = DiffFixtures.check(["rules.rules": DiffFixtures.vipRule], catalog: dearer)
        let diff = RuleSetDiff.compare(old: before, new: after, oldLabel: "a", newLabel: "b")
        #expect(diff.catalog.map(\.text) == ["catalog: cost of channel `sms` 0.09 EUR → 0.12 EUR"])
        #expect(diff.catalog.first?.kind == "channel")
        #expect(diff.catalog.first?.before == "0.09 EUR" && diff.catalog.first?.after == "0.12 EUR")
        // The VIP rule sends its apology on the template's default channel, e-mail: not a user of `sms`.
        #expect(diff.catalog.first?.usedBy == nil)
        #expect(diff.rules.isEmpty)
        #expect(diff.hasChanges)
        #expect(diff.summaryLine == "1 catalog change")
    }

    struct EnvironmentCase: CustomTestStringConvertible, Sendable {
        var name: String
        var schema: [(String, String)] = []
        var catalog: [(String, String)] = []
        var expected: [String]
        /// The rules of the test's rule set (`vip_late` and `sms_update`) that depend on it.
        var usedBy: [String]? = nil
        var testDescription: String { name }
    }

    /// A second rule, so that a change can be used by one rule and not the other.
    static let smsRule = """
        rule sms_update
          on shipment.shipped
          when order.total > 500 EUR
          then send order_status via sms
        """

    /// Each kind of change to `schema.yaml` and `catalog.yaml`, and the sentence it is reported with.
    static let environmentCases: [EnvironmentCase] = [
        EnvironmentCase(name: "enum case added", schema: [("Tier: [Standard, Plus, VIP]", "Tier: [Standard, Plus, VIP, Gold]")],
                        expected: ["schema: enum `Tier` gains `Gold`"], usedBy: ["vip_late"]),
        EnvironmentCase(name: "enum case removed", schema: [("VideoQuality: [SD, HD, UHD]", "VideoQuality: [SD, HD]")],
                        expected: ["schema: enum `VideoQuality` loses `UHD`"]),
        EnvironmentCase(name: "enum added", schema: [("  Tier: [", "  Segment: [new, loyal]\n  Tier: [")],
                        expected: ["schema: enum `Segment` added: `new`, `loyal`"]),
        EnvironmentCase(name: "field type", schema: [("      weight_kg: decimal", "      weight_kg: integer")],
                        expected: ["schema: field `shipment.weight_kg` type `decimal` → `integer`"]),
        EnvironmentCase(name: "field made required", schema: [("      delay: duration?", "      delay: duration")],
                        expected: ["schema: field `shipment.delay` type `duration?` → `duration`"], usedBy: ["vip_late"]),
        EnvironmentCase(name: "field added", schema: [("      lifetime_value: money\n", "      lifetime_value: money\n      points: integer?\n")],
                        expected: ["schema: field `customer.points` added: `integer?`"]),
        EnvironmentCase(name: "field removed", schema: [("      coupon_code: string?\n", "")],
                        expected: ["schema: field `order.coupon_code` removed (was `string?`)"]),
        EnvironmentCase(name: "field in another currency", schema: [("      lifetime_value: money\n", "      lifetime_value: money(USD)\n")],
                        expected: ["schema: field `customer.lifetime_value` type `money` → `money(USD)`"]),
        EnvironmentCase(name: "enum of a field", schema: [("      tier: Tier\n", "      tier: Tier?\n")],
                        expected: ["schema: field `customer.tier` type `Tier` → `Tier?`"], usedBy: ["vip_late"]),
        EnvironmentCase(name: "event carries less",
                        schema: [("  shipment.shipped:\n    subject: shipment\n    carries: [shipment, order, customer]", "  shipment.shipped:\n    subject: shipment\n    carries: [shipment, order]")],
                        expected: ["schema: event `shipment.shipped` no longer carries `customer`"], usedBy: ["sms_update"]),
        EnvironmentCase(name: "event carries more",
                        schema: [("  survey.answered:\n    subject: survey\n    carries: [survey, customer]", "  survey.answered:\n    subject: survey\n    carries: [survey, order, customer]")],
                        expected: ["schema: event `survey.answered` now also carries `order`"]),
        EnvironmentCase(name: "event added",
                        schema: [("  payment.reminder_due:\n", "  order.cancelled:\n    subject: order\n    carries: [order, customer]\n  payment.reminder_due:\n")],
                        expected: ["schema: event `order.cancelled` added: about `order`, carries `order`, `customer`"]),
        EnvironmentCase(name: "entity key", schema: [("  rental:\n    key: id", "  rental:\n    key: title")],
                        expected: ["schema: key of `rental` `id` → `title`"]),
        // Fields written `money` change their currency with the schema's; `money(EUR)` written out does not.
        EnvironmentCase(name: "schema currency", schema: [("\ncurrency: EUR\n", "\ncurrency: CHF\n"), ("      total: money ", "      total: money(EUR) ")],
                        expected: ["schema: currency of `money` fields EUR → CHF"]),
        EnvironmentCase(name: "channel cost", catalog: [("sms:      { cost: 0.09 EUR }", "sms:      { cost: 0.12 EUR }")],
                        expected: ["catalog: cost of channel `sms` 0.09 EUR → 0.12 EUR"], usedBy: ["sms_update"]),
        EnvironmentCase(name: "channel added", catalog: [("  slack:    { cost: 0 EUR }", "  slack:    { cost: 0 EUR }\n  fax:      { cost: 0.5 EUR }")],
                        expected: ["catalog: channel `fax` added (costs 0.50 EUR)"]),
        EnvironmentCase(name: "tag cost", catalog: [("cost: 2.50 EUR", "cost: 3 EUR")],
                        expected: ["catalog: cost of tag `handwritten` 2.50 EUR → 3 EUR"], usedBy: ["vip_late"]),
        EnvironmentCase(name: "template channels", catalog: [("    channels: [sms, email, app, whatsapp]", "    channels: [sms, email, app, letter]")],
                        expected: ["catalog: template `order_status` now also on `letter`", "catalog: template `order_status` no longer on `whatsapp`"],
                        usedBy: ["sms_update"]),
        EnvironmentCase(name: "template default channel", catalog: [("    default_channel: sms", "    default_channel: email")],
                        expected: ["catalog: default channel of template `order_status` `sms` → `email`"], usedBy: ["sms_update"]),
        EnvironmentCase(name: "action cost", catalog: [("cost: 6.90 EUR", "cost: 7.50 EUR")],
                        expected: ["catalog: cost of action `reship` 6.90 EUR → 7.50 EUR"]),
        EnvironmentCase(name: "redemption rate", catalog: [("redemption_rate: 35%", "redemption_rate: 40%")],
                        expected: ["catalog: redemption rate of action `voucher` 35% → 40%"]),
        EnvironmentCase(name: "argument list", catalog: [("argument: [payment_reminder, review_request, marketing_email]", "argument: [payment_reminder, review_request]")],
                        expected: ["catalog: action `suppress` no longer takes `marketing_email`"]),
        EnvironmentCase(name: "action via", catalog: [("flag:          { argument: tag }", "flag:          { argument: tag, via: true }")],
                        expected: ["catalog: action `flag` may now be sent `via` a channel"], usedBy: ["vip_late"]),
        EnvironmentCase(name: "action added", catalog: [("  points:", "  gift:          { argument: money, cost: amount }\n  points:")],
                        expected: ["catalog: action `gift` added (argument money, costs its amount)"]),
        EnvironmentCase(name: "catalog currency and its rounding",
                        catalog: [("\ncurrency: EUR\n", "\ncurrency: JPY\n"), (" EUR }", " JPY }"), ("0.01 JPY", "1 JPY"), ("0.09 JPY", "9 JPY"), ("0.06 JPY", "6 JPY"),
                                  ("1.10 JPY", "110 JPY"), ("2.50 EUR", "250 JPY"), ("0 EUR\n", "0 JPY\n"), ("6.90 JPY", "690 JPY"), ("4.90 EUR", "490 JPY")],
                        expected: ["catalog: currency EUR → JPY (amounts rounded to 0 decimals instead of 2)"]),
        EnvironmentCase(name: "rounding rule", catalog: [("\ncurrency: EUR\n", "\ncurrency: EUR\nrounding: half_up\n")],
                        expected: ["catalog: rounding `half_even` → `half_up` (halves of a cent now go away from zero)"]),
    ]

    @Test(arguments: environmentCases)
    func eachSchemaAndCatalogChangeIsSaidInDomainWords(_ change: EnvironmentCase) throws {
        let rules = ["rules.rules": DiffFixtures.vipRule + "\n" + Self.smsRule + "\n"]
        let schema = try DiffFixtures.edited(DiffFixtures.schema, change.schema), catalog = try DiffFixtures.edited(DiffFixtures.catalog, change.catalog)
        let before = DiffFixtures.check(rules), after = DiffFixtures.check(rules, schema: schema, catalog: catalog)
        try #require(before.diagnostics.filter { $0.severity == .error }.isEmpty)
        try #require(after.diagnostics.filter { $0.severity == .error }.isEmpty, "\(after.diagnostics.map(\.message))")
        let diff = RuleSetDiff.compare(old: before, new: after, oldLabel: "old", newLabel: "new")
        let said = (diff.schema + diff.catalog).map(\.text)
        if change.name.hasPrefix("catalog currency") {
            // A change of currency changes every cost written in it: the currency comes first.
            #expect(said.first == change.expected[0])
            #expect(said.contains("catalog: currency EUR → JPY (amounts rounded to 0 decimals instead of 2)"), "\(said)")
            #expect(said.contains("catalog: cost of channel `sms` 0.09 EUR → 9 JPY"), "\(said)")
        } else {
            #expect(said == change.expected)
            #expect((diff.schema + diff.catalog).first?.usedBy == change.usedBy)
        }
        // The rules themselves did not change; the schema and the catalog did.
        #expect(diff.rules.isEmpty)
        #expect(diff.hasChanges)
        #expect(diff.summary.schema == diff.schema.count && diff.summary.catalog == diff.catalog.count)
        let markdown = diff.markdown()
        #expect(markdown.contains("\n### Schema and catalog\n\n- " + MarkdownText.sentence(said[0])), "\(markdown)")
        if let usedBy = change.usedBy, !change.name.hasPrefix("catalog currency") {
            #expect(markdown.contains(MarkdownText.sentence(said[0]) + " (used by " + usedBy.map { "`\($0)`" }.joined(separator: ", ") + ")\n"), "\(markdown)")
        }
    }

    /// An event a history aggregate counts, through a definition, is used by the rule too.
    @Test func anEventCountedByAnAggregateIsUsedByTheRule() throws {
        let rules = ["rules.rules": """
            let returns = count(return.registered within 90d)

            rule many_returns
              on return.processed
              when returns >= 3
              then send size_guide
            """]
        let schema = try DiffFixtures.edited(DiffFixtures.schema, [
            ("  return.registered:\n    subject: return\n    carries: [return, order, customer]", "  return.registered:\n    subject: return\n    carries: [return, customer]"),
        ])
        let before = DiffFixtures.check(rules), after = DiffFixtures.check(rules, schema: schema)
        try #require(after.diagnostics.filter { $0.severity == .error }.isEmpty, "\(after.diagnostics.map(\.message))")
        let diff = RuleSetDiff.compare(old: before, new: after, oldLabel: "old", newLabel: "new")
        #expect(diff.schema.map(\.text) == ["schema: event `return.registered` no longer carries `order`"])
        #expect(diff.schema.first?.usedBy == ["many_returns"])
    }

    /// A schema and a catalog that differ only in layout, comments, descriptions and the order of
    /// their entries: no change.
    @Test func layoutCommentsDescriptionsAndOrderInTheSchemaAndCatalogAreNoChange() throws {
        let schema = try DiffFixtures.edited(DiffFixtures.schema, [
            ("description: \"A registered shop customer.\"", "description: \"A customer with an account.\""),
            ("      email: string\n      phone: string?", "      phone: string?   # moved up\n      email: string"),
        ])
        let catalog = try DiffFixtures.edited(DiffFixtures.catalog, [
            ("  email:    { cost: 0.01 EUR }\n  sms:      { cost: 0.09 EUR }", "  sms: {cost: 0.09 EUR}\n  email:\n    cost: 0.01 EUR"),
            ("description: \"Short status update", "description: \"A short status update"),
        ])
        let rules = ["rules.rules": DiffFixtures.vipRule]
        let before = DiffFixtures.check(rules), after = DiffFixtures.check(rules, schema: schema, catalog: catalog)
        try #require(after.diagnostics.filter { $0.severity == .error }.isEmpty, "\(after.diagnostics.map(\.message))")
        let diff = RuleSetDiff.compare(old: before, new: after, oldLabel: "old", newLabel: "new")
        #expect(diff.schema.isEmpty && diff.catalog.isEmpty, "\(diff.schema) \(diff.catalog)")
        #expect(!diff.hasChanges)
    }

    /// The example shop against an edited copy: the golden Markdown and JSON, and the same bytes twice.
    @Test func shopEditsMatchTheGoldenFiles() throws {
        let (old, new) = try Self.shopVersions()
        let diff = RuleSetDiff.compare(old: old, new: new, oldLabel: "rules/shop", newLabel: "rules/shop (edited)")
        let again = RuleSetDiff.compare(old: old, new: new, oldLabel: "rules/shop", newLabel: "rules/shop (edited)")
        #expect(diff.json() == again.json())
        #expect(diff.markdown() == again.markdown())
        #expect(DiffFixtures.matchesGolden(diff.markdown(), "shop.md"), "\(diff.markdown())")
        #expect(DiffFixtures.matchesGolden(diff.json(), "shop.json"), "\(diff.json())")
        // Changed rules by name, then added, then removed.
        #expect(diff.rules.map(\.status.order) == diff.rules.map(\.status.order).sorted())
        #expect(diff.rules.map(\.status) == [.changed, .changed, .changed, .renamed, .added, .removed])
    }

    @Test func projectedCostComparesEachRuleInExactMoney() throws {
        let (old, new) = try Self.shopVersions()
        let diff = RuleSetDiff.compare(old: old, new: new, oldLabel: "rules/shop", newLabel: "rules/shop (edited)")
        let before = try #require(Program.compile(old).0), after = try #require(Program.compile(new).0)
        let read = DiffFixtures.sampleEvents
        let renames = Dictionary(uniqueKeysWithValues: diff.rules.compactMap { rule in rule.oldName.map { ($0, rule.name) } })
        let cost = try #require(CostDiff.replay(old: before, new: after, oldEvents: read(before), newEvents: read(after), oldDeadLetters: 0, newDeadLetters: 0, renames: renames))
        #expect(cost.events == 3)
        #expect(cost.currency == "EUR")
        // The sample's parcel is 3d20h late for a VIP: the old mission rule decides (refund 5 EUR + e-mail
        // 0.01 EUR + handwritten note 2.50 EUR = 7.51 EUR); with the threshold at 4d it no longer does.
        let mission = try #require(cost.byRule.first { $0.rule == "mission:1" })
        #expect(mission.oldCostMinor == 751 && mission.costMinor == 0 && mission.deltaMinor == -751)
        #expect(mission.oldDecisions == 1 && mission.decisions == 0)
        #expect(cost.deltaMinor == cost.costMinor - cost.oldCostMinor)
        #expect(cost.byRule.reduce(0) { $0 + $1.deltaMinor } == cost.deltaMinor)
        #expect(cost.delta.hasPrefix("-") && cost.delta.hasSuffix(" EUR"))
        var priced = diff
        priced.cost = cost
        #expect(DiffFixtures.matchesGolden(priced.markdown(), "shop-with-events.md"), "\(priced.markdown())")
        #expect(DiffFixtures.matchesGolden(priced.json(), "shop-with-events.json"), "\(priced.json())")
    }

    /// The example shop's rules over an edited schema and catalog: the golden Markdown and JSON,
    /// with the projected cost over the sample (the same rules, priced by each catalog).
    @Test func shopSchemaAndCatalogEditsMatchTheGoldenFiles() throws {
        let directory = DiffFixtures.root.appendingPathComponent("rules/shop")
        var rules: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".rules") {
            rules["rules/shop/\(name)"] = DiffFixtures.text(directory.appendingPathComponent(name))
        }
        let schema = try DiffFixtures.edited(DiffFixtures.schema, [
            ("Tier: [Standard, Plus, VIP]", "Tier: [Standard, Plus, VIP, Gold]"),
            ("  survey.answered:\n    subject: survey\n    carries: [survey, customer]", "  survey.answered:\n    subject: survey\n    carries: [survey, order, customer]"),
            ("      coupon_code: string?\n", ""),
        ])
        let catalog = try DiffFixtures.edited(DiffFixtures.catalog, [
            ("email:    { cost: 0.01 EUR }", "email:    { cost: 0.02 EUR }"),
            ("cost: 2.50 EUR", "cost: 3 EUR"),
            ("    default_channel: sms", "    default_channel: email"),
            ("redemption_rate: 35%", "redemption_rate: 40%"),
        ])
        let old = DiffFixtures.check(rules), new = DiffFixtures.check(rules, schema: schema, catalog: catalog)
        try #require(new.diagnostics.filter { $0.severity == .error }.isEmpty, "\(new.diagnostics.map(\.message))")
        var diff = RuleSetDiff.compare(old: old, new: new, oldLabel: "rules/shop", newLabel: "rules/shop (new schema and catalog)")
        #expect(diff.rules.isEmpty && diff.declarations.isEmpty)
        #expect(diff.schema.map(\.text) == [
            "schema: enum `Tier` gains `Gold`",
            "schema: field `order.coupon_code` removed (was `string?`)",
            "schema: event `survey.answered` now also carries `order`",
        ])
        #expect(diff.catalog.map(\.text) == [
            "catalog: cost of channel `email` 0.01 EUR → 0.02 EUR",
            "catalog: cost of tag `handwritten` 2.50 EUR → 3 EUR",
            "catalog: default channel of template `order_status` `sms` → `email`",
            "catalog: redemption rate of action `voucher` 35% → 40%",
        ])
        #expect(diff.schema[0].usedBy?.contains("mission:1") == true && diff.schema[0].usedBy?.contains("vip_late_delivery") == true)
        #expect(diff.catalog[2].usedBy == ["high_value_sms_updates"])
        // The cost comes from replaying the sample through both: the same rules, priced by each catalog.
        let before = try #require(Program.compile(old).0), after = try #require(Program.compile(new).0)
        diff.cost = try #require(CostDiff.replay(old: before, new: after, oldEvents: DiffFixtures.sampleEvents(before), newEvents: DiffFixtures.sampleEvents(after),
                                                 oldDeadLetters: 0, newDeadLetters: 0))
        // The mission sentence: refund 5 EUR + e-mail 0.01 → 0.02 EUR + handwritten note 2.50 → 3 EUR.
        let mission = try #require(diff.cost?.byRule.first { $0.rule == "mission:1" })
        #expect(mission.oldCostMinor == 751 && mission.costMinor == 802)
        #expect(diff.summaryLine.hasPrefix("3 schema changes, 4 catalog changes; projected cost +"), "\(diff.summaryLine)")
        #expect(DiffFixtures.matchesGolden(diff.markdown(), "shop-schema-catalog.md"), "\(diff.markdown())")
        #expect(DiffFixtures.matchesGolden(diff.json(), "shop-schema-catalog.json"), "\(diff.json())")
    }

    /// rules/shop, and a copy with: the mission threshold 2d → 4d, an amount changed, one rule
    /// renamed, one removed, one added, a parameter default changed — and one file reformatted.
    static func shopVersions() throws -> (RuleSetReport, RuleSetReport) {
        let directory = DiffFixtures.root.appendingPathComponent("rules/shop")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".rules") }.sorted()
        var old: [String: String] = [:]
        for name in names { old["rules/shop/\(name)"] = DiffFixtures.text(directory.appendingPathComponent(name)) }
        var new = old
        for (file, edits) in DiffFixtures.shopEdits {
            var text = try #require(new[file])
            for (from, to) in edits {
                #expect(text.contains(from), "\(file): \(from)")
                text = text.replacingOccurrences(of: from, with: to)
            }
            new[file] = text
        }
        let before = DiffFixtures.check(old), after = DiffFixtures.check(new)
        try #require(after.diagnostics.filter { $0.severity == .error }.isEmpty, "\(after.diagnostics.map(\.message))")
        return (before, after)
    }
}

extension DiffFixtures {
    static let shopEdits: [(String, [(String, String)])] = [
        ("rules/shop/mission.rules", [("shipment.delay > 2d", "shipment.delay > 4d")]),
        ("rules/shop/delivery.rules", [
            ("param carrier_delay_threshold = 1d", "param carrier_delay_threshold = 2d"),
            ("then send carrier_delay_apology via email, voucher 5 EUR", "then send carrier_delay_apology via email, voucher 7.50 EUR"),
            ("rule split_shipment_note ", "rule split_shipment_handwritten_note "),
        ]),
        ("rules/shop/policies.rules", [
            ("  rollout 25%", "  rollout 50%"),
            ("policy cap 20 EUR per customer within 30d", "policy cap 25 EUR per customer within 30d"),
            // Removed: the seasonal rule (its definition stays, unused).
            ("""
            rule christmas_promise_missed "Ordered by 18 December noon but delivered after Christmas Eve noon"
              on shipment.delivered
              when christmas_order and shipment.delivered_at > 2026-12-24T12:00+01:00
              then send christmas_apology, voucher 10 EUR
              exclusive delivery_compensation priority 15
              active from 2026-12-01 until 2027-01-15
            """, """
            rule shipping_fee_back "Parcel more than five days late: the shipping fee back"
              on shipment.delivered
              when shipment.delay > 5d
              then refund order.shipping_fee
            """),
        ]),
        // Layout only: clauses indented further, a comment added.
        ("rules/shop/streaming.rules", [("\n  then ", "\n      then "), ("\n  on ", "  # streaming\n  on ")]),
    ]
}

/// Text from the rule files must not become markup in the pull-request comment: a description
/// with backticks used to close its code span and put raw HTML and links into the comment.
struct RuleSetDiffMarkdownTests {
    @Test func aDescriptionWithBackticksStaysInsideItsCodeSpan() throws {
        let hostile = "x` <img src=x onerror=alert(1)> [click](https://evil.example) `y"
        let edited = DiffFixtures.vipRule.replacingOccurrences(of: "\"VIP parcels more than two days late\"", with: Formatter.quote(hostile))
        let diff = try DiffFixtures.diff(DiffFixtures.vipRule, edited)
        let markdown = diff.markdown()
        #expect(markdown.contains("- description `\"VIP parcels more than two days late\"` → ``\"x` <img src=x onerror=alert(1)> [click](https://evil.example) `y\"``\n"),
                "\(markdown)")
    }

    @Test func stringsOutsideCodeSpansBecomeCodeSpans() throws {
        // A table value is printed bare in its sentence (`table `t`: DE 2d → 3d`); a string there is code.
        let old = "table t by Country { DE -> \"a\", else -> \"b\" }\nrule r on shipment.delivered when t[customer.country] == \"a\" then send apology\n"
        let new = old.replacingOccurrences(of: "DE -> \"a\"", with: "DE -> \"<b>`x`</b> https://evil.example\"")
        let markdown = try DiffFixtures.diff(old, new).markdown()
        #expect(markdown.contains("- table `t`: DE `\"a\"` → ``\"<b>`x`</b> https://evil.example\"``"), "\(markdown)")
    }

    @Test func addedRulesAreFencedLongerThanAnyBacktickRunInThem() throws {
        let added = "rule r \"``` and ````\" on shipment.delivered when shipment.delay > 9d then send apology\n"
        let markdown = try DiffFixtures.diff(DiffFixtures.vipRule, DiffFixtures.vipRule + "\n" + added).markdown()
        #expect(markdown.contains("\n`````\nrule r \"``` and ````\"\n"), "\(markdown)")
        #expect(markdown.contains("  then send apology\n`````\n"), "\(markdown)")
    }

    @Test(arguments: [
        ("plain", "`plain`"),
        ("a`b", "``a`b``"),
        ("`a", "`` `a ``"),
        ("a``", "``` a`` ```"),
        (" a ", "`  a  `"),
        ("line\nbreak\u{1B}", "`line\\u{A}break\\u{1B}`"),
    ])
    func codeSpansShowTheirContentExactly(content: String, expected: String) {
        #expect(MarkdownText.code(content) == expected)
    }

    @Test func tableCellsEscapeThePipeEvenInCode() {
        #expect(MarkdownText.code("a|b:1", inTable: true) == "`a\\|b:1`")
    }

    @Test(arguments: [
        ("rules/shop/delivery.rules", "rules/shop/delivery.rules"),
        ("rules/<b>x</b>_y.rules", "rules/\\<b\\>x\\</b\\>\\_y.rules"),
        ("late_delivery _a_ b_", "late_delivery \\_a\\_ b\\_"),
        ("[a](https://evil.example) *b* | c", "\\[a\\](https\\://evil.example) \\*b\\* \\| c"),
        ("www.evil.example & me@evil.example", "www\\.evil.example \\& me\\@evil.example"),
        ("-7.51 EUR (-49.7%)", "-7.51 EUR (-49.7%)"),
    ])
    func proseEscapesMarkup(text: String, expected: String) {
        #expect(MarkdownText.prose(text) == expected)
    }

    @Test(arguments: [
        ("`voucher` 5 EUR → 7.50 EUR", "`voucher` 5 EUR → 7.50 EUR"),
        ("description `\"a`b\"` → `\"c\"`", "description ``\"a`b\"`` → `\"c\"`"),
        ("`send` \"<i>\" → \"x\"", "`send` `\"<i>\"` → `\"x\"`"),
        // Not splittable as code and words: all words.
        ("unbalanced ` <b>", "unbalanced \\` \\<b\\>"),
    ])
    func sentencesKeepCodeAndWordsApart(text: String, expected: String) {
        #expect(MarkdownText.sentence(text) == expected)
    }
}
