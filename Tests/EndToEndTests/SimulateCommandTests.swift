import Foundation
import Testing

@Suite(.serialized)
struct SimulateCommandTests {
    @Test func simulatesTheBundledSample() throws {
        let table = try redress(["simulate", "rules/shop", "--events", "rules/shop/events/sample.jsonl"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("projected cost    15.11 EUR"))
        #expect(table.stdout.contains("mission:1                   1     7.51 EUR"))
        let json = try redress(["simulate", "rules/shop", "--events", "rules/shop/events/sample.jsonl", "--format", "json"])
        let again = try redress(["simulate", "rules/shop", "--events", "rules/shop/events/sample.jsonl", "--format", "json"])
        #expect(json.stdout == again.stdout, "same input, same bytes")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["costMinor"] as? Int == 1511)
        #expect(object["decisions"] as? Int == 3)
        let csv = try redress(["simulate", "rules/shop", "--events", "rules/shop/events/sample.jsonl", "--format", "csv"])
        let rows = csv.stdout.split(separator: "\r\n").map(String.init)
        #expect(rows.first == "section,key,decisions,cost,cost_minor")
        #expect(rows.contains("total,all,3,15.11 EUR,1511"))
        #expect(rows.contains("rule,mission:1,1,7.51 EUR,751"))
    }

    @Test func comparesWithABaselineRuleSet() throws {
        // The baseline compensates VIPs only after 4 days: the sample's 3d20h delay then falls to the
        // delivery group's next member (slow delivery: 3 EUR voucher at 35% + e-mail = 1.06 EUR).
        let baseline = try temporaryRuleSet()
        let shop = repositoryRoot.appendingPathComponent("rules/shop")
        for name in try FileManager.default.contentsOfDirectory(atPath: shop.path) where name.hasSuffix(".rules") {
            let text = read(shop.appendingPathComponent(name)).replacingOccurrences(of: "param late_threshold = 2d", with: "param late_threshold = 4d")
            try text.write(to: baseline.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let run = try redress(["simulate", "rules/shop", "--events", "rules/shop/events/sample.jsonl", "--baseline", baseline.path, "--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let comparison = try #require(object["comparison"] as? [String: Any])
        #expect(comparison["baselineCostMinor"] as? Int == 866)
        #expect(comparison["baselineUnconverted"] as? [String: Any] != nil && comparison["unconverted"] as? [String: Any] != nil)
        #expect(comparison["costMinor"] as? Int == 1511)
        #expect(comparison["deltaMinor"] as? Int == 645)
        let rows = try #require(comparison["byRule"] as? [[String: Any]])
        #expect(rows.compactMap { $0["rule"] as? String }.prefix(2) == ["vip_late_delivery", "slow_delivery_for_country"])
        #expect(rows.compactMap { $0["delta"] as? Int }.prefix(2) == [751, -106])
        let table = try redress(["simulate", "rules/shop", "--events", "rules/shop/events/sample.jsonl", "--baseline", baseline.path])
        #expect(table.stdout.contains("  difference      +6.45 EUR"))
    }

    @Test func sweepsAParameter() throws {
        let run = try redress(["simulate", "rules/shop", "--events", "rules/shop/events/sample.jsonl", "--sweep", "late_threshold=2d,4d", "--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let sweep = try #require(object["sweep"] as? [String: Any])
        let points = try #require(sweep["points"] as? [[String: Any]])
        #expect(points.compactMap { $0["value"] as? String } == ["2d", "4d"])
        #expect(points.compactMap { $0["costMinor"] as? Int } == [1511, 866])
        let bad = try redress(["simulate", "rules/shop", "--events", "rules/shop/events/sample.jsonl", "--sweep", "late_threshold=2 EUR"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("is not a duration"))
    }
}
