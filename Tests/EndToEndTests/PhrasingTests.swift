import Foundation
import Testing

/// First drafts in plain words, through the built binary: the message names the Redress form,
/// and `redress check --fix` turns the draft into a rule set that checks clean.
struct PhrasingTests {
    /// Drafts from issue 15, each with what `check` must say and the text after `--fix`.
    static let drafts: [(text: String, says: String, fixed: String)] = [
        ("when shipment.delay > 36 hours then refund 5 EUR\n", "`36 hours` is written `36h`",
         "when shipment.delay > 36h then refund 5 EUR\n"),
        ("rule black_friday\n  on shipment.delivered\n  when shipment.delay > 1d\n  then voucher 10 EUR\n  active from 2026-11-23 to 2026-11-30\n",
         "written with `until`",
         "rule black_friday\n  on shipment.delivered\n  when shipment.delay > 1d\n  then voucher 10 EUR\n  active from 2026-11-23 until 2026-11-30\n"),
        ("rule pack_kpi\n  on order.packed\n  when order.time_to_pack > 24h\n  then voucher 10% of order.total min 5 EUR max 25 EUR\n",
         "`clamp(value, lowest, highest)`",
         "rule pack_kpi\n  on order.packed\n  when order.time_to_pack > 24h\n  then voucher clamp(10% of order.total, 5 EUR, 25 EUR)\n"),
        ("rule notice\n  on shipment.exception\n  when shipment.predicted_delivery_at > shipment.promised_at\n  then send delay_notice via customer.preferred_channel or email\n",
         "given with `??`",
         "rule notice\n  on shipment.exception\n  when shipment.predicted_delivery_at > shipment.promised_at\n  then send delay_notice via customer.preferred_channel ?? email\n"),
        ("policy cap 40 EUR per customer per 30d\n", "a window is written with `within`", "policy cap 40 EUR per customer within 30d\n"),
        ("rule split_refund\n  on order.split\n  then case customer.tier { VIP -> refund 10 EUR, Plus -> refund 5 EUR, else -> refund 3 EUR }\n",
         "`case` chooses a value, not an action",
         "rule split_refund\n  on order.split\n  then refund case customer.tier { VIP -> 10 EUR, Plus -> 5 EUR, else -> 3 EUR }\n"),
    ]

    @Test(arguments: 0..<drafts.count)
    func checkNamesTheRedressForm(number: Int) throws {
        let draft = Self.drafts[number]
        let directory = try temporaryRuleSet(["draft.rules": draft.text])
        let run = try redress(["check", directory.path])
        #expect(run.status == 1)
        #expect(run.stdout.contains(draft.says), "\(run.stdout)")
        // The message never blames the wrong thing.
        #expect(!run.stdout.contains("choose another name"))
        #expect(!run.stdout.contains("E0102"))
    }

    @Test(arguments: 0..<drafts.count)
    func fixTurnsTheDraftIntoARuleSetThatChecksClean(number: Int) throws {
        let draft = Self.drafts[number]
        let directory = try temporaryRuleSet(["draft.rules": draft.text])
        let run = try redress(["check", "--fix", directory.path])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains("applied 1 fix"))
        #expect(read(directory.appendingPathComponent("draft.rules")) == draft.fixed)
    }

    @Test func bareFieldInAKeySuggestsTheQualifiedFields() throws {
        let directory = try temporaryRuleSet(["alarm.rules": """
            rule alarm
              on shipment.delivered
              when shipment.delay > 2d
              then alert ops_team via slack
              limit 1 per country within 1d

            """])
        let run = try redress(["check", directory.path])
        #expect(run.status == 1)
        #expect(run.stdout.contains("`customer.country`"))
        #expect(run.stdout.contains("`shipment.destination_country`"))
    }

    @Test func unknownEventSaysWhereEventsAreDeclared() throws {
        let directory = try temporaryRuleSet(["cancel.rules": "rule cancelled\n  on order.cancelled\n  then voucher 5 EUR\n"])
        let run = try redress(["check", directory.path])
        #expect(run.status == 1)
        #expect(run.stdout.contains("under `events:`"))
        #expect(run.stdout.contains("`payment.reminder_due`"))
        #expect(!run.stdout.contains("more"))
    }

    @Test func fixesAreInTheJSONOutput() throws {
        let directory = try temporaryRuleSet(["draft.rules": "when shipment.delay > 3 days then refund 5 euro\n"])
        let run = try redress(["check", "--format", "json", directory.path])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let diagnostics = try #require(json["diagnostics"] as? [[String: Any]])
        let fix = try #require(diagnostics.first?["fix"] as? [String: Any])
        #expect(fix["replacement"] as? String == "3d")
    }
}
