import Foundation
import Testing

/// `redress simulate` with a seasonal rule (`active from … until …`) over the bundled history
/// (2026-11-02 to 2027-01-03): its decisions outside the season are reported apart, as "out of
/// season (not active)", never as money saved by policies (issue 15, point 10).
@Suite(.serialized)
struct SimulateCommandSeasonTests {
    static let history = repositoryRoot.appendingPathComponent("rules/shop/events/history.jsonl").path

    static let rule = """
        rule december_late "Parcels more than a day late, in December only"
          on shipment.delivered
          when shipment.delay > 1d
          then voucher 5 EUR, send apology
        """
    static let season = "\n  active from 2026-12-01 until 2027-01-01\n"

    static func json(_ run: Run) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    static func line(_ lines: Any?, _ key: String) -> (decisions: Int, cost: Int)? {
        guard let line = (lines as? [[String: Any]])?.first(where: { $0["key"] as? String == key }) else { return nil }
        return (line["decisions"] as? Int ?? -1, line["cost"] as? Int ?? -1)
    }

    @Test func outOfSeasonDecisionsAreReportedApartFromPolicySavings() throws {
        let seasonal = try temporaryRuleSet(["december.rules": Self.rule + Self.season])
        let always = try temporaryRuleSet(["december.rules": Self.rule + "\n"])
        let run = try redress(["simulate", seasonal.path, "--events", Self.history, "--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try Self.json(run)
        let allYear = try Self.json(try redress(["simulate", always.path, "--events", Self.history, "--format", "json"]))

        // The history has late parcels in November too: the rule would have decided on them.
        let outOfSeason = try #require(Self.line(report["outOfSeason"], "december_late"))
        let inSeason = try #require(Self.line(report["byRule"], "december_late"))
        let wholeHistory = try #require(Self.line(allYear["byRule"], "december_late"))
        #expect(outOfSeason.decisions > 0 && inSeason.decisions > 0)
        // Each parcel is delivered once: the season splits the same decisions in two.
        #expect(inSeason.decisions + outOfSeason.decisions == wholeHistory.decisions)
        #expect(inSeason.cost + outOfSeason.cost == wholeHistory.cost)
        // Not "saved by policies", and not "held back" by one.
        #expect(Self.line(report["savedByPolicy"], "inactive") == nil, "\(report["savedByPolicy"] ?? "")")
        #expect((report["savedByPolicy"] as? [[String: Any]])?.isEmpty == true)
        #expect((report["heldBack"] as? [String: Int])?.keys.contains { $0.hasSuffix("|inactive") } == false)

        let table = try redress(["simulate", seasonal.path, "--events", Self.history])
        #expect(table.status == 0)
        #expect(table.stdout.contains("\nout of season (not active)   decisions         cost\ndecember_late   "), "\(table.stdout)")
        #expect(!table.stdout.contains("held back by"), "\(table.stdout)")
        #expect(!table.stdout.contains("inactive"), "\(table.stdout)")

        let csv = try redress(["simulate", seasonal.path, "--events", Self.history, "--format", "csv"])
        #expect(csv.stdout.contains("\r\nout of season,december_late,\(outOfSeason.decisions),"), "\(csv.stdout)")
        #expect(!csv.stdout.contains("held back by,"))

        let page = scratchPath("season", ".html")
        #expect(try redress(["simulate", seasonal.path, "--events", Self.history, "--html", page.path]).status == 0)
        let html = read(page)
        #expect(html.contains("<h2>Out of season (not active)</h2>"))
        #expect(!html.contains("Held back by policies"))
    }

    /// The example shop's own seasonal rule, `christmas_promise_missed`, is out of season in
    /// November; the shop's policies (cap, groups, limits) still save money.
    @Test func theShopsChristmasRuleIsNotCountedAsSaved() throws {
        let report = try Self.json(try redress(["simulate", "rules/shop", "--events", Self.history, "--format", "json"]))
        let saved = try #require(report["savedByPolicy"] as? [[String: Any]])
        #expect(!saved.contains { $0["key"] as? String == "inactive" })
        #expect(!saved.isEmpty)
        let season = try #require(report["outOfSeason"] as? [[String: Any]])
        #expect(season.allSatisfy { $0["key"] as? String == "christmas_promise_missed" }, "\(season)")
    }
}
