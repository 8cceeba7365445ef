import Foundation
import Testing

/// `redress test` on tests that stay small (docs/testing.md, "The short form"): a test about
/// some rules is not broken by a new rule, an expectation of no decision fails with the decision
/// it did not want, and events are written with fixtures, defaults and relative times.
@Suite(.serialized)
struct RuleTestFocusTests {
    static let latePoints = """
        rule late_points "A parcel more than a day late: 300 bonus points"
          on shipment.delivered
          when shipment.delay > 1d
          then points 300

        """

    /// The rule whose arrival failed nine unrelated tests (issue 15): an alarm per country.
    static let countryAlarm = """
        rule country_alarm "Two deliveries to one country in a day: alert the ops team"
          on shipment.delivered
          when count(shipment.delivered per customer.country within 1d) >= 2
          then alert ops_team via slack
          limit 1 per customer.country within 1d

        """

    static let top = """
        start: 2026-11-02T09:00:00Z
        defaults:
          customer: { tier: Standard, country: DE, sms_opt_in: false }
          shipment: { destination_country: DE, promised_at: +3d }

        """

    /// Two parcels to Germany an hour apart, the first two days late.
    static let focused = top.replacingOccurrences(of: "start:", with: "rules: [late_points]\nstart:") + """
        tests:
          - name: a parcel two days late earns points
            events:
              - { event: shipment.delivered, time: +5d, shipment: { id: S-1, delivered_at: +5d, delay: 2d } }
              - { event: shipment.delivered, after: 1h, shipment: { id: S-2, delivered_at: +5d, delay: 12h } }
            expect:
              - { rule: late_points, subject: S-1, time: +5d, actions: [points 300] }

        """

    /// The same case in the list form, which expects every decision.
    static let exhaustive = """
        - name: a parcel two days late earns points
          events:
            - { event: shipment.delivered, time: 2026-11-07T09:00:00Z, shipment: { id: S-1, delay: 2d }, customer: { id: C-1, country: DE } }
            - { event: shipment.delivered, time: 2026-11-07T10:00:00Z, shipment: { id: S-2, delay: 12h }, customer: { id: C-1, country: DE } }
          expect:
            - { rule: late_points, subject: S-1, actions: [points 300] }

        """

    @Test func aNewRuleDoesNotBreakAFocusedTest() throws {
        let directory = try temporaryRuleSet(["points.rules": Self.latePoints, "focused.test.yaml": Self.focused, "exhaustive.test.yaml": Self.exhaustive])
        let before = try redress(["test", "."], in: directory)
        #expect(before.status == 0, "\(before.stdout)\(before.stderr)")
        #expect(before.stdout == "2 passed, 0 failed\n", "\(before.stdout)")

        try Self.countryAlarm.write(to: directory.appendingPathComponent("alarms.rules"), atomically: true, encoding: .utf8)
        let focused = try redress(["test", "focused.test.yaml", "--coverage"], in: directory)
        #expect(focused.status == 0, "\(focused.stdout)\(focused.stderr)")
        #expect(focused.stdout.hasSuffix("1 passed, 0 failed\n"), "\(focused.stdout)")
        // The alarm's decision was ignored by the test, but it still counts as covered.
        #expect(focused.stdout.contains("  country_alarm  ✓"), "\(focused.stdout)")

        // A test that lists every decision fails on the new rule's: what `rules:` avoids.
        let exhaustive = try redress(["test", "exhaustive.test.yaml"], in: directory)
        #expect(exhaustive.status == 1, "\(exhaustive.stdout)\(exhaustive.stderr)")
        #expect(exhaustive.stdout.contains("+ actual    country_alarm for S-2"), "\(exhaustive.stdout)")
    }

    @Test func aNoneExpectationFailsWhenTheRuleDecides() throws {
        let test = Self.focused.replacingOccurrences(of: "      - { rule: late_points, subject: S-1, time: +5d, actions: [points 300] }\n",
                                                     with: "      - { rule: late_points, subject: S-1, time: +5d, actions: [points 300] }\n      - { rule: country_alarm, none: true }\n")
        let directory = try temporaryRuleSet(["points.rules": Self.latePoints, "alarms.rules": Self.countryAlarm, "alarm.test.yaml": test])
        let run = try redress(["test"], in: directory)
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines == [
            "FAIL alarm.test.yaml:7 a parcel two days late earns points",
            "    = late_points for S-1 (customer customer-1, at 2026-11-07T09:00:00Z): points 300",
            "    - expected  no decision of country_alarm   (line 13)",
            "    + actual    country_alarm for S-2 (customer customer-1, at 2026-11-07T10:00:00Z): alert ops_team via slack",
            "0 passed, 1 failed",
        ], "\(run.stdout)")

        // Without the alarm's decision (one parcel only), the same expectation holds.
        let one = test.replacingOccurrences(of: "      - { event: shipment.delivered, after: 1h, shipment: { id: S-2, delivered_at: +5d, delay: 12h } }\n", with: "")
        try one.write(to: directory.appendingPathComponent("alarm.test.yaml"), atomically: true, encoding: .utf8)
        let passing = try redress(["test"], in: directory)
        #expect(passing.status == 0, "\(passing.stdout)\(passing.stderr)")
    }

    static let fixtures = top + """
        fixtures:
          anna: { customer: { id: C-ANNA, country: SE } }
          late: { shipment: { delivered_at: +5d, delay: 2d } }
        tests:
          - name: fixtures, overrides and relative times
            rules: [late_points]
            use: anna
            events:
              - { event: shipment.delivered, time: +5d, use: late }
              - { event: shipment.delivered, after: 1d, use: late, shipment: { id: S-2, delay: 3h } }
              - { event: shipment.delivered, after: 2h, use: late, shipment: { id: S-3 }, customer: { id: C-BEN } }
            expect:
              - { rule: late_points, subject: shipment-1, customer: C-ANNA, time: 2026-11-07T09:00:00Z }
              - { rule: late_points, subject: S-3, customer: C-BEN, time: +6d2h }

        """

    @Test func fixturesWithOverridesAndRelativeTimes() throws {
        let directory = try temporaryRuleSet(["points.rules": Self.latePoints, "alarms.rules": Self.countryAlarm, "fixtures.test.yaml": Self.fixtures])
        let run = try redress(["test", "--format", "json"], in: directory)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let testCase = try #require(((object["files"] as? [[String: Any]])?.first?["cases"] as? [[String: Any]])?.first)
        #expect(testCase["passed"] as? Bool == true)
        #expect(testCase["rules"] as? [String] == ["late_points"])
        let actual = try #require(testCase["actual"] as? [[String: Any]])
        #expect(actual.map { $0["subject"] as? String } == ["shipment-1", "S-3"])
        #expect(actual.map { $0["customer"] as? String } == ["C-ANNA", "C-BEN"])
        #expect(actual.map { $0["time"] as? String } == ["2026-11-07T09:00:00Z", "2026-11-08T11:00:00Z"])
        // Anna's two deliveries to Sweden within a day raised the alarm: ignored, and listed.
        #expect((testCase["ignored"] as? [[String: Any]])?.map { $0["rule"] as? String } == ["country_alarm"])
        let expected = try #require(testCase["expected"] as? [[String: Any]])
        #expect(expected.last?["time"] as? String == "2026-11-08T11:00:00Z")
    }

    @Test func aMistakeInTheShortFormIsALocatedDiagnostic() throws {
        let test = Self.fixtures.replacingOccurrences(of: "use: late, shipment: { id: S-3 }", with: "use: lat, shipment: { id: S-3 }")
        let directory = try temporaryRuleSet(["points.rules": Self.latePoints, "fixtures.test.yaml": test])
        let run = try redress(["test"], in: directory)
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains("error[E0602]: there is no fixture `lat`"), "\(run.stderr)")
        #expect(run.stderr.contains("--> fixtures.test.yaml:15:54"), "\(run.stderr)")
        #expect(run.stderr.contains("= help: did you mean `late`?"), "\(run.stderr)")
    }

    /// The example of docs/testing.md's short form passes against the shop's rules, and the
    /// failures the page shows are what `redress test` prints for the two cases it describes.
    @Test func theShortFormExampleOfTheDocsRunsAsShown() throws {
        let page = read(repositoryRoot.appendingPathComponent("docs/testing.md"))
        let section = try #require(page.range(of: "## The short form\n"))
        let rest = page[section.upperBound...]
        let start = try #require(rest.range(of: "```yaml\n"))
        let end = try #require(rest[start.upperBound...].range(of: "```\n"))
        let example = String(rest[start.upperBound..<end.lowerBound])
        var files: [String: String] = ["points.test.yaml": example]
        let shop = repositoryRoot.appendingPathComponent("rules/shop")
        for name in try FileManager.default.contentsOfDirectory(atPath: shop.path) where name.hasSuffix(".rules") {
            files[name] = read(shop.appendingPathComponent(name))
        }
        let directory = try temporaryRuleSet(files)
        let passing = try redress(["test", "points.test.yaml"], in: directory)
        #expect(passing.status == 0, "\(passing.stdout)\(passing.stderr)")
        #expect(passing.stdout == "3 passed, 0 failed\n", "\(passing.stdout)")

        let failing = example + """

              - name: a parcel three days late earns 300 points
                events:
                  - { event: shipment.delivered, time: +4d, use: late, shipment: { delivered_at: +4d, delay: 3d } }
                expect:
                  - { rule: late_delivery_points, actions: [points 300, send late_points_notice] }

              - name: a Plus customer earns no points
                events:
                  - { event: shipment.delivered, time: +3d, use: late, customer: { tier: Plus } }
                expect:
                  - { rule: late_delivery_points, none: true }

            """
        try failing.write(to: directory.appendingPathComponent("points.test.yaml"), atomically: true, encoding: .utf8)
        let run = try redress(["test", "points.test.yaml"], in: directory)
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        let shown = try #require(page.range(of: "```\nFAIL rules/shop/points.test.yaml"))
        let block = page[page.index(shown.lowerBound, offsetBy: 4)...]
        let output = String(block[..<(try #require(block.range(of: "```\n"))).lowerBound])
        #expect(run.stdout == output.replacingOccurrences(of: "rules/shop/points.test.yaml", with: "points.test.yaml") + "3 passed, 2 failed\n", "\(run.stdout)")
    }
}
