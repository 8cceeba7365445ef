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
}
