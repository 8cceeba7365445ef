import Foundation
import Testing

/// The README's main command, read out of the README itself so the two cannot drift apart: it must
/// run on the bundled, generated shop history (rules/shop/events/history.jsonl) with nothing else.
@Suite(.serialized)
struct SampleDataTests {
    /// The arguments of the `redress simulate` part of the first command in README.md's first code
    /// block (`swift run redress check rules/ && swift run redress simulate … # comment`).
    static func readmeSimulateArguments() throws -> [String] {
        let readme = read(repositoryRoot.appendingPathComponent("README.md"))
        let fence = try #require(readme.range(of: "```sh\n"), "README.md has no ```sh code block")
        let firstLine = readme[fence.upperBound...].prefix { $0 != "\n" }
        let command = firstLine.split(separator: "#", maxSplits: 1).first.map(String.init) ?? ""
        let part = try #require(command.components(separatedBy: "&&").first { $0.contains("redress simulate") },
                                "the README's first command does not run `redress simulate`: \(firstLine)")
        let words = part.split(separator: " ").map(String.init)
        let start = try #require(words.firstIndex(of: "simulate"))
        #expect(Array(words[..<start]) == ["swift", "run", "redress"], "the README runs the package's redress: \(part)")
        return Array(words[start...])
    }

    /// The event types of rules/shop/schema.yaml (the names under `events:`).
    static func schemaEventTypes() -> [String] {
        let schema = read(repositoryRoot.appendingPathComponent("rules/shop/schema.yaml"))
        guard let section = schema.range(of: "\nevents:\n") else { return [] }
        return schema[section.upperBound...].split(separator: "\n").compactMap { line in
            guard line.hasPrefix("  "), !line.hasPrefix("   "), line.hasSuffix(":") else { return nil }
            return String(line.dropFirst(2).dropLast())
        }
    }

    @Test func readmeCommandSimulatesTheGeneratedHistory() throws {
        let arguments = try Self.readmeSimulateArguments()
        #expect(arguments.contains("rules/shop/events/history.jsonl"), "the README's main command replays the bundled history: \(arguments)")
        let table = try redress(arguments)
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.exitedNormally)
        #expect(!table.stdout.contains("bad lines"), "no dead letters in the bundled sample")
        #expect(!table.stdout.contains("out of time order"), "the bundled sample is sorted by time")
        #expect(!table.stdout.contains("\u{1B}["), "no colour on a pipe")
        #expect(table.stdout.contains("\nrule "), "the table has the per-rule section")
    }

    @Test func generatedHistoryExercisesTheShopRules() throws {
        let json = try redress(try Self.readmeSimulateArguments() + ["--format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(report["deadLetters"] as? Int == 0)
        #expect(report["outOfOrder"] as? Int == 0)
        let events = try #require(report["events"] as? Int)
        #expect((3_000...6_000).contains(events), "about 3,000 to 6,000 events: \(events)")

        // Every event type of the schema occurs.
        let byType = try #require(report["eventsByType"] as? [String: Int])
        let types = Self.schemaEventTypes()
        #expect(types.count == 13, "event types read from schema.yaml: \(types)")
        for type in types { #expect((byType[type] ?? 0) > 0, "no \(type) event in the history") }

        // The rules of every scenario decide something, and the policies hold something back.
        let byRule = try #require(report["byRule"] as? [[String: Any]])
        var decisions: [String: Int] = [:]
        for line in byRule { if let key = line["key"] as? String { decisions[key] = line["decisions"] as? Int ?? 0 } }
        let rules = [
            "mission:1", "vip_late_delivery", "carrier_delay_voucher", "pack_kpi_missed", "split_shipment_note",
            "split_shipment_refund", "split_shipment_voucher", "predicted_delay_notice", "delivery_overdue", "lost_parcel",
            "not_shipped_in_48h", "slow_delivery_for_country", "bad_checkout_apology", "poor_playback_refund",
            "size_guide_for_serial_returners", "slow_return_processing", "suppress_reminder_on_return", "no_reminder_after_return",
            "high_value_sms_updates", "ask_nps_reason", "vip_detractor_apology", "christmas_promise_missed",
        ]
        for rule in rules { #expect((decisions[rule] ?? 0) > 0, "no decision of \(rule) on the bundled history") }
        let saved = try #require(report["savedByPolicy"] as? [[String: Any]])
        let policies = Set(saved.compactMap { $0["key"] as? String })
        #expect(policies.isSuperset(of: ["cap", "group", "limit"]), "policies held back: \(policies)")
        let overlap = try #require(report["overlapSubjects"] as? Int)
        #expect(overlap > 0)
        let weeks = try #require(report["byWeek"] as? [[String: Any]])
        #expect(weeks.count >= 8, "several weeks of history: \(weeks.count)")
    }
}
