import Foundation
import Testing

/// `run --retention` through the binary (issue 13, point 4): keys without a window are kept for
/// the retention period after their last use, and the summary says what was dropped.
@Suite struct RetentionRunTests {
    static let rules = "rule late on shipment.delivered when shipment.delay > 2d then refund 5 EUR\n"

    static func delivered(_ time: String, shipment: String) -> String {
        "{\"event\":\"shipment.delivered\",\"time\":\"\(time)\",\"shipment\":{\"id\":\"\(shipment)\",\"delay\":\"3d\"},"
            + "\"order\":{\"id\":\"O-\(shipment)\"},\"customer\":{\"id\":\"C1\",\"tier\":\"VIP\"}}"
    }

    /// S1 late on 1 January, again on 1 March and again the next February: once per shipment holds
    /// in March; with 400 days' retention it still holds in February, with 60 days it has been
    /// forgotten by then and the rule decides again (occurrence 1 again).
    static let events = [
        delivered("2026-01-01T10:00:00Z", shipment: "S1"), delivered("2026-01-01T11:00:00Z", shipment: "S2"),
        delivered("2026-03-01T10:00:00Z", shipment: "S1"), delivered("2027-02-01T10:00:00Z", shipment: "S1"),
    ].joined(separator: "\n") + "\n"

    func decisions(_ output: String) -> [String] {
        output.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]).flatMap { $0["key"] as? String }.map { "\($0)" }
        }
    }

    @Test func theDefaultKeepsOncePerShipmentOverAYear() throws {
        let directory = try temporaryRuleSet(["r.rules": Self.rules])
        let events = directory.appendingPathComponent("events.jsonl")
        try Self.events.write(to: events, atomically: true, encoding: .utf8)
        let result = try redress(["run", directory.path, "--events", events.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(decisions(result.stdout) == ["late|shipment:S1|1", "late|shipment:S2|1"])
        #expect(!result.stderr.contains("retention"), "\(result.stderr)")
    }

    @Test func aShorterRetentionForgetsAndTheSummarySaysSo() throws {
        let directory = try temporaryRuleSet(["r.rules": Self.rules])
        let events = directory.appendingPathComponent("events.jsonl")
        try Self.events.write(to: events, atomically: true, encoding: .utf8)
        let state = directory.appendingPathComponent("s.db").path
        let result = try redress(["run", directory.path, "--events", events.path, "--retention", "60d", "--state", state,
                                  "--out", directory.appendingPathComponent("out.jsonl").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(decisions(read(directory.appendingPathComponent("out.jsonl"))) == ["late|shipment:S1|1", "late|shipment:S2|1", "late|shipment:S1|1"])
        // S1 (last used in March) and S2 (January): a limit use and an occurrence number each.
        #expect(result.stderr.contains("retention dropped 4 keys not used since 2026-12-03T10:00:00Z"), "\(result.stderr)")

        let forever = try redress(["run", directory.path, "--events", events.path, "--retention", "none"])
        #expect(decisions(forever.stdout) == ["late|shipment:S1|1", "late|shipment:S2|1"])
    }

    @Test func aRetentionThatIsNoDurationIsAUsageError() throws {
        let directory = try temporaryRuleSet(["r.rules": Self.rules])
        for bad in ["0d", "soon", "-3d"] {
            let result = try redress(["run", directory.path, "--events", "/dev/null", "--retention=\(bad)"])
            #expect(result.status == 2, "\(bad): \(result.stderr)")
            #expect(result.stderr.contains("--retention takes a duration"), "\(result.stderr)")
        }
    }
}
