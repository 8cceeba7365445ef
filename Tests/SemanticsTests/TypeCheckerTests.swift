import Foundation
import Testing
@testable import RedressSemantics
import RedressSyntax

/// Conditions and actions checked against the example shop, with the codes they must (not) produce.
struct TypeCheckerTests {
    @Test func missionSentenceChecksCleanly() {
        let report = check("when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten",
                           path: "mission.rules")
        #expect(report.diagnostics.isEmpty)
        let rule = try! #require(report.checked?.rules.first)
        #expect(rule.name == "mission:1")
        #expect(rule.triggersInferred)
        #expect(rule.triggers == ["shipment.shipped", "shipment.exception", "shipment.delivered", "shipment.lost"])
        #expect(rule.subject == "shipment")
        #expect(rule.reads.map(\.description) == ["customer.tier", "shipment.delay"])
        #expect(rule.actions.map(\.verb) == ["refund", "send", "flag"])
        // The default policy: once per rule and subject.
        #expect(rule.limits.count == 1 && rule.limits[0].key.description == "shipment")
        // Written limits replace the default; `until DATE` includes that day.
        let limited = check("rule r on shipment.delivered then send apology limit 2 per customer within 30d active until 2026-12-31")
        let checked = try! #require(limited.checked?.rules.first)
        #expect(checked.limits.map(\.key.description) == ["customer"])
        #expect(checked.activeUntil == 1_798_761_600_000)  // 2027-01-01T00:00:00Z
    }

    static let accepted: [String] = [
        // units that make sense
        "rule r on order.placed when order.total - order.shipping_fee > 100 EUR then refund 5% of order.total",
        "rule r on order.placed when order.total * 2 >= 1000 EUR then refund order.total / 10",
        "rule r on shipment.delivered when shipment.delivered_at - shipment.promised_at > 1d then send apology",
        "rule r on shipment.delivered when shipment.promised_at + 2d < shipment.delivered_at then send apology",
        "rule r on order.packed then refund clamp(5% of order.total, 3 EUR, 5 EUR)",
        "rule r on order.packed when order.time_to_pack * 50% > 2h then send apology",
        "rule r on order.packed then refund min(order.total, 5 EUR), voucher max(1 EUR, 2% of order.total)",
        "rule r on playback.ended when playback.rebuffer_ratio > 2% then refund rental.price",
        "rule r on order.placed when order.item_count > 2.5 then send apology",
        // enums and lists
        "rule r on order.placed when customer.country in [DE, AT, CH] and customer.tier != Standard then send apology",
        "rule r on order.placed when VIP == customer.tier then send apology",
        // optional fields: fine in conditions, defaulted in values
        "rule r on shipment.delivered when shipment.delay > 2d then send apology via customer.preferred_channel ?? email",
        "rule r on shipment.delivered when customer.preferred_channel is missing then send apology",
        "rule r on order.packed when (order.time_to_pack ?? 0h) > 24h then send apology",
        // a compared optional field is present when the rule fires
        "rule r on playback.ended when customer.preferred_channel == sms then send apology via customer.preferred_channel",
        "rule r on playback.ended when customer.preferred_channel is present then send apology via customer.preferred_channel",
        // case, history, absence, policies
        "rule r on order.split then refund case customer.tier { VIP -> 10 EUR, Plus -> 5 EUR, else -> 3 EUR }",
        "rule r on order.split then refund case { order.total > 100 EUR -> 10 EUR, else -> 5 EUR }",
        "rule r on return.registered when count(return.registered where return.reason == wrong_size within 90d) >= 3 then send size_guide",
        "rule r on shipment.delivered when share(shipment.delivered where shipment.delay > 0d per customer.country within 1d) > 5% and count(shipment.delivered per customer.country within 1d) >= 20 then send apology limit 1 per customer.country within 1d",
        "rule r on order.placed when sum(order.placed, order.total within 365d) > 1000 EUR then send apology",
        "rule r on order.placed unless shipment.shipped within 48h then send dispatch_delay_notice",
        "rule r on shipment.shipped unless shipment.delivered by shipment.promised_at then send delivery_overdue_notice",
        "rule r on shipment.delivered when shipment.delay > 2d then refund 5 EUR cap 20 EUR per customer within 30d rollout 25% active from 2026-12-01 until 2027-01-01",
        "rule r on shipment.delivered when shipment.delay > 2d then refund 5 EUR limit none",
        "rule r on shipment.lost then reship, send lost_parcel_apology",
        "rule r on return.registered then suppress payment_reminder",
    ]

    @Test(arguments: accepted)
    func acceptsUnitCorrectRules(text: String) {
        let diagnostics = check(text).diagnostics
        #expect(diagnostics.isEmpty, "\(diagnostics.map { "\($0.code.rawValue) \($0.message)" })")
    }

    static let rejected: [(String, String)] = [
        ("rule r on shipment.delivered when shipment.delay > 5 EUR then send apology", "E0301"),
        ("rule r on order.placed when order.total > 500 USD then send apology", "E0302"),
        ("rule r on order.placed when order.total + 1 EUR + 2 USD > 5 EUR then send apology", "E0302"),
        ("rule r on playback.ended when playback.rebuffer_ratio > 2 then send apology", "E0307"),
        ("rule r on order.placed when order.total * order.total > 5 EUR then send apology", "E0303"),
        ("rule r on order.placed when order.placed_at + order.placed_at > order.placed_at then send apology", "E0303"),
        ("rule r on shipment.delivered when shipment.delay > 10 then send apology", "E0301"),
        ("rule r on order.placed when customer.tier > Standard then send apology", "E0301"),
        ("rule r on order.placed when customer.tier == \"VIP\" then send apology", "E0301"),
        ("rule r on order.placed when customer.country in [DE, VIP] then send apology", "E0204"),
        ("rule r on order.placed when order.total then send apology", "E0304"),
        ("rule r on order.packed then refund 5% of order.total ?? 1 EUR + order.time_to_pack", "E0303"),
        ("rule r on order.packed then refund 5", "E0305"),
        ("rule r on order.packed then reship 5 EUR", "E0305"),
        ("rule r on order.packed then send", "E0305"),
        ("rule r on order.packed then flag handwritten via sms", "E0305"),
        ("rule r on order.packed then send carrier_delay_apology via sms", "E0208"),
        ("rule r on survey.answered then refund 5 EUR, send apology via customer.preferred_channel", "E0306"),
        ("rule r on survey.answered when customer.preferred_channel == sms or customer.tier == VIP then send apology via customer.preferred_channel", "E0306"),
        ("rule r on survey.answered when (customer.preferred_channel ?? sms) == sms then send apology via customer.preferred_channel", "E0306"),
        ("rule r on order.packed then refund case customer.tier { VIP -> 10 EUR, Plus -> 5 EUR }", "E0405"),
        ("rule r on order.packed then refund case { order.total > 5 EUR -> 1 EUR }", "E0405"),
        ("rule r on return.registered when count(return.registered within 90d where return.reason == wrong_size) >= 3 then send size_guide", "E0101"),
        ("rule r on return.registered when count(return.registred within 90d) >= 3 then send size_guide", "E0203"),
        ("rule r on return.registered when count(return.registered) >= 3 then send size_guide", "E0308"),
        ("rule r on return.registered when count(return.registered where shipment.delay > 1d within 9d) >= 3 then send size_guide", "E0401"),
        ("rule r on return.registered when share(return.registered within 9d) > 5% then send size_guide", "E0308"),
        ("rule r on order.placed unless shipment.shipped within 5 EUR then send apology", "E0408"),
        ("rule r on order.placed unless shipment.shipped by 2d then send apology", "E0301"),
        ("rule r on order.placed then send apology limit 0 per order", "E0408"),
        ("rule r on order.placed then send apology limit 1 per parcel", "E0202"),
        ("rule r on order.placed then send apology limit 1 per customer.tierr", "E0201"),
        ("rule r on order.placed then send apology rollout 5 EUR", "E0408"),
        ("rule r on order.placed then send apology cap 5% per customer", "E0408"),
        ("rule r on order.placed then send apology active from 2026-02-30", "E0003"),
        ("rule r on order.placed then send apology rollout 10% rollout 20%", "E0408"),
        ("rule r on order.placed then send apology exclusive nothing", "E0406"),
        ("group g per shipment\nrule r on order.placed then send apology exclusive g", "E0401"),
        ("rule r on order.placed when t[customer.country] > 1d then send apology", "E0205"),
        ("rule r on order.placed when order.total.amount > 1 EUR then send apology", "E0201"),
        ("rule r on order.placed when customer > 1 then send apology", "E0201"),
        ("rule r on order.placed when avg(order.total) > 1 EUR then send apology", "E0210"),
        ("rule r on order.placed when 5 EUR > 1 EUR then send apology", "W0503"),
        ("rule r on order.placed when order.total > 5 EUR and order.total < 5 EUR then send apology", "W0504"),
        ("rule r on order.placed when customer.tier == VIP and customer.tier == Plus then send apology", "W0504"),
        ("rule r on order.placed when order.total is missing then send apology", "W0504"),
        ("rule r on order.placed when order.total > 1.001 EUR then send apology", "E0003"),
        ("rule r on shipment.delivered when shipment.weight_kg > 0.1234567 then send apology", "E0003"),
        ("rule r on playback.ended when playback.rebuffer_ratio > 2.00001% then send apology", "E0003"),
        ("rule r on shipment.shipped unless shipment.delivered by shipment.predicted_delivery_at then send apology", "E0306"),
        ("rule r on order.placed then refund 5 EUR cap -5 EUR per customer", "E0408"),
        ("table t by Country { \"DE\" -> 1d, else -> 2d }\nrule r on order.placed when order.placed_at + t[customer.country] > order.placed_at then send apology", "E0204"),
    ]

    @Test(arguments: rejected)
    func rejectsWithTheRightCode(text: String, code: String) {
        let found = codes(text)
        #expect(found.contains(code), "expected \(code), got \(found)")
    }

    @Test func allErrorsOfAFileAreReported() {
        let text = """
            rule a on order.placed when order.totl > 5 EUR then send apology
            rule b on order.placed when customer.tier == VPI then send apology
            rule c on order.placed then refnd 5 EUR
            rule d on order.placed then send apologee
            """
        #expect(codes(text) == ["E0201", "E0204", "E0206", "E0207"])
    }

    @Test func triggersAreInferredFromTheFieldsRead() {
        let report = check("when return.reason == wrong_size then send size_guide")
        #expect(report.checked?.rules.first?.triggers == ["return.registered", "return.processed"])
        let aggregate = check("rule r when count(return.registered within 90d) >= 3 then send size_guide")
        // The aggregate reads the customer (its default `per`), so any event carrying a customer triggers it.
        #expect(aggregate.diagnostics.map(\.code.rawValue) == ["E0409"])
    }

    @Test func rulesCountedPerDefinitionUse() {
        // A definition's reads count for the rules that use it (for trigger checks).
        let text = "let late = shipment.delay > 2d\nrule r on order.placed when late then send apology"
        #expect(codes(text) == ["E0401"])
    }

    @Test func moneyIsExactAndRoundsHalfEven() {
        // 0.245 EUR → 0.24, 0.255 EUR → 0.26: to the even cent.
        for (text, expected) in [("0.49 EUR / 2", Value.money(Decimal(string: "0.24")!, currency: "EUR")),
                                 ("0.51 EUR / 2", .money(Decimal(string: "0.26")!, currency: "EUR"))] {
            let folded = check("param p = \(text)\nrule r on order.placed when order.total > p then send apology").checked?.parameters.first?.defaultValue
            #expect(folded == expected, "\(text) → \(String(describing: folded))")
        }
        let report = check("param p = 5% of 4.99 EUR\nrule r on order.placed when order.total > p then send apology")
        #expect(report.checked?.parameters.first?.defaultValue == .money(Decimal(string: "0.25")!, currency: "EUR"))
    }
}

/// A rollout picks customers by key, so every trigger must carry `customer`; rules triggered by
/// events without one are refused (they would never decide).
@Suite struct RolloutTests {
    static let schema = SourceFile(path: "schema.yaml", text: shopSchema.text.replacingOccurrences(
        of: "events:\n", with: "events:\n  warehouse.audited:\n    subject: order\n    carries: [order]\n"))

    @Test(arguments: [
        ("rule r on warehouse.audited when order.total > 5 EUR then refund 1 EUR rollout 10%", ["E0401"]),
        ("rule r on warehouse.audited when order.total > 5 EUR then refund 1 EUR", [String]()),
        ("rule r on order.placed when order.total > 5 EUR then refund 1 EUR rollout 10%", [String]()),
    ])
    func rolloutNeedsACustomer(_ text: String, _ expected: [String]) {
        let report = RuleSetLoader.check(rules: [SourceFile(path: "t.rules", text: text)], schema: Self.schema, catalog: shopCatalog)
        #expect(report.diagnostics.map(\.code.rawValue) == expected, "\(report.diagnostics.map(\.message))")
    }
}
