import Foundation
import Testing

/// What a CX manager needs while writing rules (issue 15): `explain` with the numbers that
/// decided, `rollout` membership, and the lints that catch money mistakes — through the binary.
@Suite struct AuthoringTests {
    static let history = repositoryRoot.appendingPathComponent("rules/shop/events/history.jsonl")

    // MARK: explain shows the numbers

    @Test func explainShowsAggregateAndParameterValues() throws {
        let result = try redress(["explain", "rules/shop", "--events", Self.history.path, "--id", "h291"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("explaining line 291 of"), "\(result.stderr)")
        // The alarm's two parts, each with the aggregate's value and the parameter's.
        #expect(result.stdout.contains("[count(shipment.delivered per customer.country within 1d) = 2, alarm_min_deliveries = 50]"), "\(result.stdout)")
        #expect(result.stdout.contains("late_share_alarm = 5%]"), "\(result.stdout)")
        // The same in JSON.
        let json = try redress(["explain", "rules/shop", "--events", Self.history.path, "--id", "h291", "--format", "json"])
        #expect(json.stdout.contains("\"alarm_min_deliveries = 50\""))
    }

    @Test func explainPicksOneEventOutOfAHistory() throws {
        // The 2,000th line is explained after the 1,999 before it: its history counts.
        let picked = try redress(["explain", "rules/shop", "--events", Self.history.path, "--id", "h2000", "--format", "json"])
        #expect(picked.status == 0, "\(picked.stderr)")
        let lines = read(Self.history).split(separator: "\n")
        let prefix = scratchPath("prefix", ".jsonl")
        try (lines.prefix(2000).joined(separator: "\n") + "\n").write(to: prefix, atomically: true, encoding: .utf8)
        let whole = try redress(["explain", "rules/shop", "--event", prefix.path, "--format", "json"])
        #expect(picked.stdout == whole.stdout, "picking by id is explaining the file up to that line")
        let missing = try redress(["explain", "rules/shop", "--events", Self.history.path, "--id", "no-such-event"])
        #expect(missing.status == 1 && missing.stderr.contains("no event with id no-such-event"), "\(missing.stderr)")
        let both = try redress(["explain", "rules/shop", "--event", prefix.path, "--id", "h2"])
        #expect(both.status == 2, "\(both.stderr)")
    }

    @Test func explainShowsActiveDatesAsWritten() throws {
        let rules = try temporaryRuleSet(["season.rules": """
            rule black_week "Black Week delivery promise"
              on shipment.delivered
              when shipment.delay > 1d
              then voucher 5 EUR
              active from 2026-11-23 until 2026-11-30

            """])
        let event = #"{"event":"shipment.delivered","time":"2026-12-05T10:00:00Z","id":"e1","shipment":{"id":"S-1","order_id":"O-1","destination_country":"DE","promised_at":"2026-12-01T18:00:00Z","delivered_at":"2026-12-05T10:00:00Z","delay":"3d16h"},"order":{"id":"O-1","customer_id":"C-1","placed_at":"2026-11-28T09:00:00Z","total":"49.00 EUR","payment_method":"card"},"customer":{"id":"C-1","tier":"VIP","country":"DE","sms_opt_in":false}}"#
        let result = try redress(["explain", rules.path, "--event", event])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("inactive — active from 2026-11-23 until 2026-11-30"), "\(result.stdout)")
    }

    // MARK: rollout

    /// The stable choice, computed here independently: FNV-1a over the rule's name, a 0x1F
    /// separator and the customer's key, modulo a million, below the share in millionths.
    static func oracleIncludes(rule: String, customer: String, millionths: UInt64) -> Bool {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array(rule.utf8) + [0x1F] + Array(customer.utf8) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash % 1_000_000 < millionths
    }

    @Test func rolloutSaysWhoIsInAndWhatShareOfAHistory() throws {
        let customers = ["C-1", "C-2", "C-10143", "C-10117", "C-10001"]
        let result = try redress(["rollout", "rules/shop", "late_delivery_points"] + customers + ["--events", Self.history.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("late_delivery_points: rollout 25% of customers"), "\(result.stdout)")
        for customer in customers {
            let verdict = Self.oracleIncludes(rule: "late_delivery_points", customer: customer, millionths: 250_000) ? "in" : "out"
            #expect(result.stdout.split(separator: "\n").contains { line in
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                return parts.count == 2 && parts[0] == customer && parts[1] == verdict
            }, "\(customer) should be \(verdict): \(result.stdout)")
        }
        // The share of the history's customers on the rule's triggering events, counted here.
        var seen = Set<String>()
        for line in read(Self.history).split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["event"] as? String == "shipment.delivered",
                  let customer = (object["customer"] as? [String: Any])?["id"] as? String else { continue }
            seen.insert(customer)
        }
        let included = seen.filter { Self.oracleIncludes(rule: "late_delivery_points", customer: $0, millionths: 250_000) }.count
        #expect(result.stdout.contains("\(included) of \(seen.count) customers on the rule's events are in"), "\(result.stdout)")
        let unknown = try redress(["rollout", "rules/shop", "late_delivery_point"])
        #expect(unknown.status == 2 && unknown.stderr.contains("no rule `late_delivery_point`"), "\(unknown.stderr)")
        let noRollout = try redress(["rollout", "rules/shop", "mission:1", "C-1"])
        #expect(noRollout.status == 0 && noRollout.stdout.contains("no rollout; every customer is in"), "\(noRollout.stdout)")
    }

    @Test func aRolloutOnEventsWithoutACustomerIsAnError() throws {
        let rules = try temporaryRuleSet(["pilot.rules": """
            rule stock_pilot
              on stock.counted
              when order.total > 100 EUR
              then alert ops_team via slack
              rollout 20%

            """])
        let schema = rules.appendingPathComponent("schema.yaml")
        let text = try String(contentsOf: schema, encoding: .utf8)
            .replacingOccurrences(of: "\nevents:\n", with: "\nevents:\n  stock.counted:\n    subject: order\n    carries: [order]\n")
        try text.write(to: schema, atomically: true, encoding: .utf8)
        let result = try redress(["check", rules.path])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("error[E0401]: `stock.counted` does not carry `customer`, so a rollout can pick no one"), "\(result.stdout)")
    }

    // MARK: lints a CX manager needs

    @Test func moneyMistakesAreWarnedAbout() throws {
        let rules = try temporaryRuleSet(["mistakes.rules": """
            group late_compensation per order by priority

            rule same_reason
              on return.registered
              when return.reason == return.reason
              then send apology

            rule noisy_alarm
              on shipment.delivered
              when share(shipment.delivered where shipment.delay > 0d per customer.country within 1d) > 5%
              then alert ops_team via slack
              limit 1 per customer.country within 1d

            rule big_refund
              on shipment.delivered
              when shipment.delay > 3d
              then refund 10 EUR
              exclusive late_compensation priority 2
              cap 10 EUR per customer within 30d

            rule small_refund
              on shipment.delivered
              when shipment.delay > 2d
              then refund 5 EUR, send carrier_delay_apology via customer.preferred_channel ?? email
              exclusive late_compensation priority 1

            """])
        let result = try redress(["check", rules.path, "--format", "json"])
        #expect(result.status == 0, "warnings only: \(result.stdout)")
        for code in ["W0503", "W0509", "W0510", "W0511"] {
            #expect(result.stdout.contains("\"\(code)\""), "\(code) missing: \(result.stdout)")
        }
        let strict = try redress(["check", rules.path, "--warnings-as-errors"])
        #expect(strict.status == 1)
        // The example rules are free of them.
        let shop = try redress(["check", "rules/"])
        #expect(shop.status == 0 && shop.stdout.contains("0 warnings"), "\(shop.stdout)")
    }

    // MARK: constant arithmetic and rounding

    @Test func constantArithmeticFoldsAndTheCatalogsRoundingIsHonouredEverywhere() throws {
        let rules = """
            param third = 10 EUR / 3
            param half_of_total = 50%

            rule half_back
              on order.placed
              when order.total > 0 EUR
              then refund half_of_total of order.total
              limit none

            """
        let event = #"{"event":"order.placed","time":"2026-11-02T09:00:00Z","id":"o1","order":{"id":"O-1","customer_id":"C-1","placed_at":"2026-11-02T09:00:00Z","total":"0.49 EUR","shipping_fee":"0.00 EUR","item_count":1,"payment_method":"card","shipping_country":"DE","express":false,"promised_delivery_at":"2026-11-05T20:00:00Z","shipment_count":1},"customer":{"id":"C-1","tier":"VIP","country":"DE","sms_opt_in":false}}"#
        for (rounding, refund) in [(nil, "0.24 EUR"), ("half_even", "0.24 EUR"), ("half_up", "0.25 EUR")] {
            let directory = try temporaryRuleSet(["r.rules": rules])
            if let rounding {
                let catalog = directory.appendingPathComponent("catalog.yaml")
                try ("rounding: \(rounding)\n" + String(contentsOf: catalog, encoding: .utf8)).write(to: catalog, atomically: true, encoding: .utf8)
            }
            let check = try redress(["check", directory.path])
            #expect(check.status == 0 && !check.stdout.contains("E0410"), "\(check.stdout)")
            let events = directory.appendingPathComponent("events.jsonl")
            try (event + "\n").write(to: events, atomically: true, encoding: .utf8)
            let run = try redress(["run", directory.path, "--events", events.path])
            #expect(run.stdout.contains("{\"verb\":\"refund\",\"amount\":\"\(refund)\"}"), "\(rounding ?? "default"): \(run.stdout)\(run.stderr)")
            let simulated = try redress(["simulate", directory.path, "--events", events.path, "--format", "json"])
            let report = try JSONSerialization.jsonObject(with: Data(simulated.stdout.utf8)) as? [String: Any]
            #expect(report?["cost"] as? String == refund, "\(simulated.stdout)")
            let ir = try redress(["compile", directory.path])
            #expect(ir.stdout.contains("\"bits\" : 333") || ir.stdout.contains("\"bits\":333"), "10 EUR / 3 folds to 3.33 EUR")
        }
    }
}
