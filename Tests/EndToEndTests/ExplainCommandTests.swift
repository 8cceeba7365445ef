import Foundation
import Testing

@Suite(.serialized)
struct ExplainCommandTests {
    @Test func explainsWhyEachRuleDecidedOrNot() throws {
        let run = try redress(["explain", "rules/shop", "--event", "rules/shop/events/sample.jsonl"])
        #expect(run.status == 0, "\(run.stderr)")
        let text = run.stdout
        #expect(text.contains("✔ mission:1 (rules/shop/mission.rules:2): decided"))
        #expect(text.contains("    true    shipment.delay > 2d   [shipment.delay = 3d20h]"))
        #expect(text.contains("    then refund 5.00 EUR, send apology via email, flag handwritten   [key mission:1|shipment:S-1|1]"))
        #expect(text.contains("✘ carrier_delay_voucher (rules/shop/delivery.rules:47): condition unknown"))
        #expect(text.contains("    missing: shipment.exception_reason"))
        #expect(text.contains("✘ slow_delivery_for_country (rules/shop/delivery.rules:106): group — delivery_compensation: `vip_late_delivery` wins"))
        #expect(text.contains("not triggered by this event; --all lists them"))
        let all = try redress(["explain", "rules/shop", "--event", "rules/shop/events/sample.jsonl", "--all"])
        #expect(all.stdout.contains("· pack_kpi_missed (rules/shop/delivery.rules:54): not triggered (it runs on order.packed)"))
    }

    @Test func explainsAHeldBackDecisionAndInlineEvents() throws {
        let directory = try temporaryRuleSet(["m.rules": "when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten\n"])
        let event = "{\"event\":\"shipment.delivered\",\"time\":\"2026-11-09T14:00:00Z\",\"shipment\":{\"id\":\"S1\",\"delay\":\"3d\"},\"customer\":{\"id\":\"C1\",\"tier\":\"VIP\"}}"
        let once = try redress(["explain", directory.path, "--event", event, "--format", "json"])
        #expect(once.status == 0, "\(once.stderr)")
        let decided = try #require(try JSONSerialization.jsonObject(with: Data(once.stdout.utf8)) as? [[String: Any]])
        #expect(decided.first?["outcome"] as? String == "decided")

        // The same event twice: the second is held back by the default limit (once per subject).
        let file = directory.appendingPathComponent("twice.jsonl")
        try (event + "\n" + event + "\n").write(to: file, atomically: true, encoding: .utf8)
        let twice = try redress(["explain", directory.path, "--event", file.path])
        #expect(twice.stdout.contains("✘ m:1 (\(directory.path)/m.rules:1): limit — limit 1 per shipment"))

        let broken = try redress(["explain", directory.path, "--event", "{\"event\":\"shipment.delivered\"}"])
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("no \"time\""))
    }
}
