import Foundation
import Testing

@Suite(.serialized)
struct DiffCommandTests {
    /// A copy of rules/shop (rules, schema, catalog) with `edits` applied: file name → (from, to) pairs.
    static func editedShop(_ edits: [String: [(String, String)]]) throws -> URL {
        let copy = try temporaryRuleSet()
        let shop = repositoryRoot.appendingPathComponent("rules/shop")
        for name in try FileManager.default.contentsOfDirectory(atPath: shop.path) where name.hasSuffix(".rules") {
            var text = read(shop.appendingPathComponent(name))
            for (from, to) in edits[name] ?? [] {
                #expect(text.contains(from), "\(name): \(from)")
                text = text.replacingOccurrences(of: from, with: to)
            }
            try text.write(to: copy.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return copy
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func saysWhatChangedInDomainWords() throws {
        let new = try Self.editedShop([
            "mission.rules": [("shipment.delay > 2d", "shipment.delay > 3d")],
            "delivery.rules": [
                ("then send carrier_delay_apology via email, voucher 5 EUR", "then send carrier_delay_apology via email, voucher 7.50 EUR"),
                ("rule split_shipment_note ", "rule split_shipment_handwritten_note "),
            ],
            "returns.rules": [("\n  then ", "\n      then ")],
        ])
        let run = try redress(["diff", "rules/shop", new.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("## Rule changes: `rules/shop` → `\(new.path)`\n\n2 rules changed, 1 renamed.\n"))
        #expect(run.stdout.contains("#### `mission:1` — \(new.path)/mission.rules\n\n- `shipment.delay` threshold 2d → 3d\n"))
        #expect(run.stdout.contains("- `voucher` 5 EUR → 7.50 EUR\n"))
        #expect(run.stdout.contains("#### `split_shipment_handwritten_note` (was `split_shipment_note`)"))
        // returns.rules only changed its layout.
        #expect(!run.stdout.contains("returns.rules"))
        #expect(!run.stdout.contains("### Projected cost"))

        let json = try redress(["diff", "rules/shop", new.path, "--format", "json"])
        let again = try redress(["diff", "rules/shop", new.path, "--format", "json"])
        #expect(json.status == 0)
        #expect(json.stdout == again.stdout, "same input, same bytes")
        let object = try Self.json(json.stdout)
        #expect(object["version"] as? Int == 1)
        let summary = try #require(object["summary"] as? [String: Any])
        #expect(summary["changed"] as? Int == 2 && summary["renamed"] as? Int == 1 && summary["added"] as? Int == 0)
        let rules = try #require(object["rules"] as? [[String: Any]])
        let mission = try #require(rules.first { $0["name"] as? String == "mission:1" })
        let change = try #require((mission["changes"] as? [[String: Any]])?.first)
        #expect(change["kind"] as? String == "threshold")
        #expect(change["before"] as? String == "shipment.delay > 2d" && change["after"] as? String == "shipment.delay > 3d")
        #expect(object["cost"] == nil)
    }

    @Test func noSemanticChangesAndExitCode() throws {
        let same = try Self.editedShop(["delivery.rules": [("\n  then ", "  then "), ("# S1", "# Scenario S1")]])
        let run = try redress(["diff", "rules/shop", same.path, "--exit-code"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("No semantic changes."))
        let changed = try Self.editedShop(["mission.rules": [("refund 5 EUR", "refund 6 EUR")]])
        let withChanges = try redress(["diff", "rules/shop", changed.path, "--exit-code"])
        #expect(withChanges.status == 1)
        #expect(withChanges.stdout.contains("- `refund` 5 EUR → 6 EUR"))
        #expect(try redress(["diff", "rules/shop", changed.path]).status == 0, "a diff is not a failure")
    }

    @Test func projectsTheCostOfBothVersionsOverTheSample() throws {
        // At 4 days the mission sentence no longer compensates the sample's parcel (3d20h late).
        let new = try Self.editedShop(["mission.rules": [("shipment.delay > 2d", "shipment.delay > 4d")]])
        let run = try redress(["diff", "rules/shop", new.path, "--events", "rules/shop/events/sample.jsonl"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("1 rule changed; projected cost -7.51 EUR (-49.7%) over 3 events."))
        #expect(run.stdout.contains("| `mission:1` | 1 | 0 | 7.51 EUR | 0.00 EUR | -7.51 EUR |"))
        #expect(run.stdout.contains("| **total** | **3** | **2** | **15.11 EUR** | **7.60 EUR** | **-7.51 EUR (-49.7%)** |"))
        let json = try Self.json(try redress(["diff", "rules/shop", new.path, "--events", "rules/shop/events/sample.jsonl", "--format", "json"]).stdout)
        let cost = try #require(json["cost"] as? [String: Any])
        #expect(cost["oldCostMinor"] as? Int == 1511 && cost["costMinor"] as? Int == 760 && cost["deltaMinor"] as? Int == -751)
        #expect(cost["currency"] as? String == "EUR" && cost["events"] as? Int == 3 && cost["deltaPercent"] as? String == "-49.7%")
    }

    /// Generated events: one late VIP parcel per customer, some late enough for the mission sentence.
    @Test func projectsTheCostOverGeneratedEventsWithARenameAndExactMoney() throws {
        // The sample's delivery (its last line), for another parcel and customer each time.
        let delivered = try #require(read(repositoryRoot.appendingPathComponent("rules/shop/events/sample.jsonl")).split(separator: "\n").last.map(String.init))
        #expect(delivered.contains("\"delay\":\"3d20h\""))
        var lines: [String] = []
        var late = 0
        for index in 0..<40 {
            let hours = 12 + index * 5   // 12h … 207h
            if hours > 48 { late += 1 }
            let day = String(format: "%02d", 1 + index % 28)
            lines.append(delivered.replacingOccurrences(of: "\"delay\":\"3d20h\"", with: "\"delay\":\"\(hours)h\"")
                .replacingOccurrences(of: "\"time\":\"2026-11-09T14:00:00Z\"", with: "\"time\":\"2026-12-\(day)T10:00:00Z\"")
                .replacingOccurrences(of: "\"id\":\"e3\"", with: "\"id\":\"e\(index)\"")
                .replacingOccurrences(of: "S-1", with: "S-\(index)").replacingOccurrences(of: "O-1", with: "O-\(index)")
                .replacingOccurrences(of: "C-1", with: "C-\(index)"))
        }
        let events = scratchPath("diff-events", ".jsonl")
        try lines.joined(separator: "\n").write(to: events, atomically: true, encoding: .utf8)
        // The mission sentence gets a name (a rename of `mission:1`) and 2.50 EUR more.
        let new = try Self.editedShop(["mission.rules": [("when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR",
                                                          "rule mission_sentence when shipment.delay > 2d and customer.tier == VIP then refund 7.50 EUR")]])
        let run = try redress(["diff", "rules/shop", new.path, "--events", events.path, "--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try Self.json(run.stdout)
        let rules = try #require(object["rules"] as? [[String: Any]])
        #expect(rules.count == 1)
        #expect(rules.first?["status"] as? String == "renamed" && rules.first?["oldName"] as? String == "mission:1")
        let cost = try #require(object["cost"] as? [String: Any])
        #expect(cost["events"] as? Int == 40)
        let rows = try #require(cost["byRule"] as? [[String: Any]])
        let mission = try #require(rows.first { $0["rule"] as? String == "mission_sentence" })
        // 5 EUR + e-mail 0.01 EUR + handwritten note 2.50 EUR = 7.51 EUR before; 2.50 EUR more after.
        #expect(late > 0)
        #expect(mission["oldName"] as? String == "mission:1")
        #expect(mission["oldDecisions"] as? Int == late && mission["decisions"] as? Int == late)
        #expect(mission["oldCostMinor"] as? Int == late * 751 && mission["costMinor"] as? Int == late * 1001)
        #expect(mission["deltaMinor"] as? Int == late * 250)
        #expect(mission["delta"] as? String == "+\(late * 250 / 100).\(String(format: "%02d", late * 250 % 100)) EUR")
        #expect(!rows.contains { $0["rule"] as? String == "mission:1" }, "a renamed rule is one row")
        let markdown = try redress(["diff", "rules/shop", new.path, "--events", events.path])
        #expect(markdown.stdout.contains("over 40 events."))
        #expect(markdown.stdout.contains("| `mission_sentence` (was `mission:1`) | \(late) | \(late) |"))
    }

    /// An anonymous rule inserted above another renumbers it (`mission:1` → `mission:2`): the
    /// cost table pairs the moved rule with itself and shows the new one as new.
    @Test func anonymousRulesThatMovedKeepTheirCostRow() throws {
        let new = try Self.editedShop(["mission.rules": [("when shipment.delay > 2d and customer.tier == VIP",
            "when shipment.delay > 5d and customer.tier == Plus then voucher 3 EUR\nwhen shipment.delay > 2d and customer.tier == VIP")]])
        let run = try redress(["diff", "rules/shop", new.path, "--events", "rules/shop/events/history.jsonl"])
        #expect(run.status == 0, "\(run.stderr)")
        let rows = run.stdout.split(separator: "\n").filter { $0.hasPrefix("| `mission:") }
        #expect(rows.count == 2)
        #expect(rows.contains { $0.hasPrefix("| `mission:1` | 0 | ") }, "\(rows)")
        #expect(rows.contains { $0.hasPrefix("| `mission:2` (was `mission:1`) |") && $0.hasSuffix("| 0.00 EUR |") }, "\(rows)")
    }

    @Test func aRuleSetWithErrorsIsReportedAndExitsOne() throws {
        let broken = try Self.editedShop(["mission.rules": [("shipment.delay", "shipment.dealy")]])
        let run = try redress(["diff", "rules/shop", broken.path])
        #expect(run.status == 1)
        #expect(run.stderr.contains("error[E0201]: unknown field `shipment.dealy`"))
        #expect(run.stderr.contains("the NEW rule set \(broken.path) has 1 error"))
        #expect(run.stdout.isEmpty)
    }

    @Test(arguments: [
        (["diff", "rules/shop", "rules/no-such-place"], "NEW rules/no-such-place: no such file or directory"),
        (["diff", "rules/no-such-place", "rules/shop"], "OLD rules/no-such-place: no such file or directory"),
        (["diff", "rules/shop"], "Missing expected argument"),
        (["diff", "rules/shop", "rules/shop", "--format", "html"], "--format"),
        (["diff", "rules/shop", "rules/shop", "--events", "rules/shop/events/none.jsonl"], "cannot read rules/shop/events/none.jsonl"),
        (["diff", "rules/shop", "rules/shop/events"], "no .rules files found"),
    ])
    func usageAndInputProblemsExitTwo(_ arguments: [String], _ message: String) throws {
        let run = try redress(arguments)
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains(message), "\(run.stderr)")
    }
}
