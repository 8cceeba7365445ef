import Foundation
import Testing

/// `redress diff` when the rules stay the same and `schema.yaml` or `catalog.yaml` changes: what
/// the rules mean or cost changed, and the diff says so (issue 15, point 9).
@Suite(.serialized)
struct DiffSchemaTests {
    /// A copy of rules/shop (its rules unchanged) whose schema and catalog have `schema` and
    /// `catalog` edits, (from, to) pairs, applied.
    static func shop(schema: [(String, String)] = [], catalog: [(String, String)] = []) throws -> URL {
        let copy = try temporaryRuleSet()
        let shop = repositoryRoot.appendingPathComponent("rules/shop")
        for name in try FileManager.default.contentsOfDirectory(atPath: shop.path) where name.hasSuffix(".rules") {
            try FileManager.default.copyItem(at: shop.appendingPathComponent(name), to: copy.appendingPathComponent(name))
        }
        for (name, edits) in [("schema.yaml", schema), ("catalog.yaml", catalog)] {
            var text = read(copy.appendingPathComponent(name))
            for (from, to) in edits {
                #expect(text.contains(from), "\(name): \(from)")
                text = text.replacingOccurrences(of: from, with: to)
            }
            try text.write(to: copy.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return copy
    }

    static let dearerSMS = [("sms:      { cost: 0.09 EUR }", "sms:      { cost: 0.12 EUR }")]
    static let goldTier = [("Tier: [Standard, Plus, VIP]", "Tier: [Standard, Plus, VIP, Gold]")]

    @Test func schemaAndCatalogChangesAreSaidInDomainWords() throws {
        let new = try Self.shop(schema: Self.goldTier, catalog: Self.dearerSMS)
        let run = try redress(["diff", "rules/shop", new.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\n1 schema change, 1 catalog change.\n"), "\(run.stdout)")
        #expect(run.stdout.contains("\n### Schema and catalog\n\n- schema: enum `Tier` gains `Gold` (used by "), "\(run.stdout)")
        #expect(run.stdout.contains("\n- catalog: cost of channel `sms` 0.09 EUR → 0.12 EUR (used by "), "\(run.stdout)")
        // The SMS updates for valuable orders go out by SMS.
        let sms = try #require(run.stdout.split(separator: "\n").first { $0.contains("channel `sms`") })
        #expect(sms.contains("`high_value_sms_updates`"))
        // No rule changed.
        #expect(!run.stdout.contains("### Changed"))

        let json = try redress(["diff", "rules/shop", new.path, "--format", "json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let summary = try #require(object["summary"] as? [String: Any])
        #expect(summary["schema"] as? Int == 1 && summary["catalog"] as? Int == 1 && summary["changed"] as? Int == 0)
        let schema = try #require((object["schema"] as? [[String: Any]])?.first)
        #expect(schema["kind"] as? String == "enum")
        #expect(schema["text"] as? String == "schema: enum `Tier` gains `Gold`")
        #expect(schema["before"] as? String == "Standard, Plus, VIP" && schema["after"] as? String == "Standard, Plus, VIP, Gold")
        #expect((schema["usedBy"] as? [String])?.contains("mission:1") == true)
        let catalog = try #require((object["catalog"] as? [[String: Any]])?.first)
        #expect(catalog["kind"] as? String == "channel")
        #expect(catalog["before"] as? String == "0.09 EUR" && catalog["after"] as? String == "0.12 EUR")

        // A schema or catalog change is a semantic change.
        #expect(try redress(["diff", "rules/shop", new.path, "--exit-code"]).status == 1)
    }

    /// The cost of a catalog change comes from replaying history through both versions: the same
    /// decisions, each SMS 3 cents dearer.
    @Test func theCostOfACatalogChangeComesFromTheReplay() throws {
        let new = try Self.shop(catalog: Self.dearerSMS)
        let run = try redress(["diff", "rules/shop", new.path, "--events", "rules/shop/events/history.jsonl", "--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let cost = try #require(object["cost"] as? [String: Any])
        let delta = try #require(cost["deltaMinor"] as? Int)
        #expect(cost["events"] as? Int == 3069)
        #expect(cost["oldDecisions"] as? Int == cost["decisions"] as? Int)
        #expect(delta > 0 && delta % 3 == 0, "\(delta)")
        let rows = try #require(cost["byRule"] as? [[String: Any]])
        let sms = try #require(rows.first { $0["rule"] as? String == "high_value_sms_updates" })
        #expect((sms["deltaMinor"] as? Int ?? 0) == 3 * (sms["decisions"] as? Int ?? -1))
        let markdown = try redress(["diff", "rules/shop", new.path, "--events", "rules/shop/events/history.jsonl"])
        #expect(markdown.stdout.contains("1 catalog change; projected cost +"), "\(markdown.stdout)")
    }

    /// A schema change that breaks a rule is an error of NEW, as `check` reports it, not a diff.
    @Test func aSchemaChangeThatBreaksARuleIsAnError() throws {
        let new = try Self.shop(schema: [("Tier: [Standard, Plus, VIP]", "Tier: [Standard, Plus, Premium]")])
        let run = try redress(["diff", "rules/shop", new.path])
        #expect(run.status == 1)
        #expect(run.stderr.contains("VIP"), "\(run.stderr)")
        #expect(run.stderr.contains("the NEW rule set"), "\(run.stderr)")
    }
}
