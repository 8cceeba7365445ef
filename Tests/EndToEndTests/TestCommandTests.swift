import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// `redress test`: the rule tests in rules/ pass with full coverage; a broken expectation, a
/// malformed test file and broken rules give exit 1, 2 and 1 with the place to look.
@Suite(.serialized)
struct TestCommandTests {
    @Test func theRuleTestsOfTheRepositoryPass() throws {
        let run = try redress(["test", "rules/"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.hasSuffix(" passed, 0 failed\n"), "\(run.stdout)")
        #expect(!run.stdout.contains("FAIL"))
    }

    @Test func withoutAPathTheRulesDirectoryIsTested() throws {
        let run = try redress(["test"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout == (try redress(["test", "rules"])).stdout)
    }

    @Test func everyRuleInTheRepositoryIsFullyCovered() throws {
        let run = try redress(["test", "rules/", "--coverage", "--min-coverage", "100"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("coverage of rules/shop: 100.0%"), "\(run.stdout)")
        #expect(run.stdout.contains("coverage of rules/olist: 100.0%"), "\(run.stdout)")
        #expect(run.stdout.contains("coverage: 100.0% ("), "\(run.stdout)")
        // Every rule of both rule sets appears in the table.
        for rule in ["mission:1", "vip_late_delivery", "late_delivery_alarm", "poor_playback_refund", "not_delivered_by_estimate"] {
            #expect(run.stdout.contains("  \(rule) "), "\(rule) missing from\n\(run.stdout)")
        }
    }

    /// A copy of rules/shop with one test file; `expectation` is the `expect:` block.
    func ruleSetWithTest(_ expectation: String) throws -> URL {
        let directory = try temporaryRuleSet()
        for name in try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("rules/shop").path) where name.hasSuffix(".rules") {
            try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("rules/shop/\(name)"), to: directory.appendingPathComponent(name))
        }
        let test = """
            - name: a late VIP parcel
              events:
                - event: shipment.delivered
                  time: 2026-11-09T14:00:00Z
                  shipment: { id: S-1, order_id: O-1, destination_country: DE, promised_at: 2026-11-05T18:00:00Z, delivered_at: 2026-11-09T14:00:00Z, delay: 3d20h }
                  order: { id: O-1, customer_id: C-1, placed_at: 2026-11-02T09:00:00Z, total: 89.90 EUR, payment_method: card }
                  customer: { id: C-1, tier: VIP, country: DE, sms_opt_in: false }
            \(expectation)
            """
        try test.write(to: directory.appendingPathComponent("late.test.yaml"), atomically: true, encoding: .utf8)
        return directory
    }

    static let rightExpectation = """
          expect:
            - { rule: vip_late_delivery, subject: S-1, actions: [refund 5 EUR, send apology, flag handwritten] }
            - { rule: mission:1, subject: S-1, actions: [refund 5 EUR, send apology, flag handwritten] }
        """

    @Test func aCopiedRuleSetWithTheRightExpectationPasses() throws {
        let directory = try ruleSetWithTest(Self.rightExpectation)
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try redress(["test", "."], in: directory)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout == "1 passed, 0 failed\n")
    }

    @Test func aBrokenExpectationFailsWithExpectedAndActualAndTheLine() throws {
        let directory = try ruleSetWithTest(Self.rightExpectation.replacingOccurrences(of: "[refund 5 EUR, send apology, flag handwritten] }\n    - { rule: mission:1", with: "[refund 7.50 EUR, send apology, flag handwritten] }\n    - { rule: mission:1"))
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try redress(["test"], in: directory)
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("FAIL late.test.yaml:1 a late VIP parcel"), "\(run.stdout)")
        #expect(run.stdout.contains("- expected  vip_late_delivery for S-1: refund 7.50 EUR, send apology, flag handwritten   (line 9)"), "\(run.stdout)")
        #expect(run.stdout.contains("+ actual    vip_late_delivery for S-1 (customer C-1, at 2026-11-09T14:00:00Z): refund 5.00 EUR"), "\(run.stdout)")
        #expect(run.stdout.hasSuffix("0 passed, 1 failed\n"))
        #expect(!run.stdout.contains("\u{1B}["), "no colour when not on a terminal")
    }

    @Test func aMalformedTestFileExitsTwoWithItsPlace() throws {
        let directory = try ruleSetWithTest("  expect:\n    - rule: vip_late_delivry\n")
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try redress(["test", "late.test.yaml"], in: directory)
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains("error[E0205]: the rule set has no rule `vip_late_delivry`"), "\(run.stderr)")
        #expect(run.stderr.contains("--> late.test.yaml:9:13"), "\(run.stderr)")
        #expect(run.stderr.contains("help: did you mean `vip_late_delivery`?"), "\(run.stderr)")
    }

    @Test func invalidYAMLExitsTwo() throws {
        let directory = try ruleSetWithTest("  expect: [\n")
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try redress(["test"], in: directory)
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains("error[E0601]"), "\(run.stderr)")
        #expect(run.stderr.contains("--> late.test.yaml:"), "\(run.stderr)")
    }

    @Test func rulesThatDoNotCheckExitOne() throws {
        let directory = try ruleSetWithTest(Self.rightExpectation)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "when shipment.dealy > 2d then refund 5 EUR\n".write(to: directory.appendingPathComponent("broken.rules"), atomically: true, encoding: .utf8)
        let run = try redress(["test"], in: directory)
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains("error[E0201]: unknown field `shipment.dealy`"), "\(run.stderr)")
        #expect(run.stderr.contains("its tests were not run"), "\(run.stderr)")
    }

    @Test(arguments: [["test", "no-such-directory"], ["test", "rules/shop/mission.rules"], ["test", "rules", "--min-coverage", "101"],
                      ["test", "rules", "--format", "tap"], ["test", "docs"]])
    func usageProblemsExitTwo(arguments: [String]) throws {
        let run = try redress(arguments)
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(!run.stderr.isEmpty)
    }

    /// A malformed test file beside a good one: stderr has the diagnostic, and no format looks green.
    @Test func aMalformedTestFileIsAnErrorInEveryFormat() throws {
        let directory = try ruleSetWithTest(Self.rightExpectation)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "- name: x\n  events: 3\n  expect: nothing\n".write(to: directory.appendingPathComponent("bad.test.yaml"), atomically: true, encoding: .utf8)
        let human = try redress(["test", "."], in: directory)
        #expect(human.status == 2, "\(human.stdout)\(human.stderr)")
        #expect(human.stdout.hasSuffix("1 passed, 0 failed, 1 file with errors\n"), "\(human.stdout)")
        let junit = try redress(["test", ".", "--format", "junit"], in: directory)
        #expect(junit.status == 2)
        #expect(junit.stdout.contains("<testsuites name=\"redress test\" tests=\"2\" failures=\"0\" errors=\"1\" time=\"0\">"), "\(junit.stdout)")
        #expect(junit.stdout.contains("<testsuite name=\"bad.test.yaml\" tests=\"1\" failures=\"0\" errors=\"1\""), "\(junit.stdout)")
        #expect(junit.stdout.contains("<error message=\"`events` is a list of events, each a mapping like a line of JSON events\" type=\"E0602\">error[E0602]"), "\(junit.stdout)")
        #expect(junit.stdout.contains("--&gt; bad.test.yaml:2:11"), "\(junit.stdout)")
        #if canImport(FoundationXML) || os(macOS)
        _ = try XMLDocument(data: Data(junit.stdout.utf8))
        #endif
        let json = try redress(["test", ".", "--format", "json"], in: directory)
        #expect(json.status == 2)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((object["summary"] as? [String: Any])?["errors"] as? Int == 1)
        let files = try #require(object["files"] as? [[String: Any]])
        let bad = try #require(files.first { $0["file"] as? String == "bad.test.yaml" })
        #expect(bad["ruleSet"] as? String == ".")
        let diagnostics = try #require(bad["diagnostics"] as? [[String: Any]])
        #expect(diagnostics.first?["code"] as? String == "E0602" && diagnostics.first?["line"] as? Int == 2)
    }

    @Test func coverageOfRulesWithErrorsIsNotMeasured() throws {
        let directory = try ruleSetWithTest(Self.rightExpectation)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "when shipment.dealy > 2d then refund 5 EUR\n".write(to: directory.appendingPathComponent("broken.rules"), atomically: true, encoding: .utf8)
        let human = try redress(["test", "--min-coverage", "50"], in: directory)
        #expect(human.status == 1, "\(human.stdout)\(human.stderr)")
        #expect(!human.stdout.contains("100.0%") && !human.stdout.contains("minimum 50% reached"), "\(human.stdout)")
        #expect(human.stdout.contains("coverage: could not be measured (the rule set . has errors), minimum 50% not reached"), "\(human.stdout)")
        #expect(human.stdout.hasSuffix("0 passed, 0 failed, 1 file with errors\n"), "\(human.stdout)")
        let junit = try redress(["test", "--min-coverage", "50", "--format", "junit"], in: directory)
        #expect(junit.stdout.contains("<failure message=\"coverage could not be measured: the rule set . has errors\" type=\"CoverageNotMeasured\"/>"), "\(junit.stdout)")
        #expect(!junit.stdout.contains("<testcase name=\"coverage at least 50%\" classname=\"coverage\" time=\"0\"/>"), "\(junit.stdout)")
        #expect(junit.stdout.contains("errors=\"1\""), "\(junit.stdout)")
    }

    @Test func anEventsFileIsCheckedForTyposAtItsOwnLine() throws {
        let directory = try ruleSetWithTest("")
        defer { try? FileManager.default.removeItem(at: directory) }
        let lines = #"""
            {"event":"order.placed","time":"2026-11-02T09:00:00Z","order":{"id":"O-1","customer_id":"C-1"},"customer":{"id":"C-1","tier":"VIP","country":"DE","sms_opt_in":false}}
            {"event":"order.placed","time":"2026-11-02T10:00:00Z","order":{"id":"O-2","totl":"5 EUR"},"customer":{"id":"C-1"}}
            """#
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("events"), withIntermediateDirectories: true)
        try (lines + "\n").write(to: directory.appendingPathComponent("events/orders.jsonl"), atomically: true, encoding: .utf8)
        try "- name: from a file\n  events_file: events/orders.jsonl\n  expect: nothing\n".write(to: directory.appendingPathComponent("late.test.yaml"), atomically: true, encoding: .utf8)
        let run = try redress(["test"], in: directory)
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains("error[E0201]: line 2 of `events/orders.jsonl`: `order` has no field `totl`"), "\(run.stderr)")
        #expect(run.stderr.contains("--> events/orders.jsonl:2:75"), "\(run.stderr)")
        #expect(run.stderr.contains("late.test.yaml:2"), "\(run.stderr)")
    }

    @Test(arguments: ["", "# no cases yet\n"])
    func anEmptyTestFileHasNoCases(text: String) throws {
        let directory = try ruleSetWithTest(Self.rightExpectation)
        defer { try? FileManager.default.removeItem(at: directory) }
        try text.write(to: directory.appendingPathComponent("empty.test.yaml"), atomically: true, encoding: .utf8)
        let run = try redress(["test", "."], in: directory)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout == "1 passed, 0 failed\n")
    }

    @Test func aYAMLFileThatIsNotATestFileIsRefused() throws {
        let run = try redress(["test", "rules/shop/schema.yaml"])
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains("rules/shop/schema.yaml is not a test file"), "\(run.stderr)")
    }

    @Test func aFilterThatMatchesNothingWarns() throws {
        let run = try redress(["test", "rules/shop", "--filter", "no such case"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains("warning: no test case name contains `no such case`"), "\(run.stderr)")
        #expect(run.stdout == "0 passed, 0 failed\n")
    }

    @Test func theCurrentDirectoryIsNamedWithADotInJSON() throws {
        let directory = try ruleSetWithTest(Self.rightExpectation)
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try redress(["test", ".", "--format", "json", "--coverage"], in: directory)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\"ruleSet\" : \".\""), "\(run.stdout)")
        #expect(run.stdout.contains("\"directory\" : \".\""), "\(run.stdout)")
        #expect(!run.stdout.contains("\"ruleSet\" : \"\"") && !run.stdout.contains("\"directory\" : \"\""))
    }

    @Test func coverageBelowTheMinimumExitsOne() throws {
        let directory = try ruleSetWithTest(Self.rightExpectation)
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try redress(["test", "--min-coverage", "50"], in: directory)
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("below the minimum of 50%"), "\(run.stdout)")
        #expect(try redress(["test", "--min-coverage", "5"], in: directory).status == 0)
    }

    @Test func filterRunsTheMatchingCasesOnly() throws {
        let run = try redress(["test", "rules/shop", "--filter", "lost parcel", "--verbose"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout == "PASS rules/shop/delivery.test.yaml:119 a lost parcel is sent again once, with an apology\n1 passed, 0 failed\n", "\(run.stdout)")
    }

    @Test func jsonOutputIsStableAndVersioned() throws {
        let first = try redress(["test", "rules/", "--format", "json", "--coverage"])
        let second = try redress(["test", "rules/", "--format", "json", "--coverage"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == second.stdout)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        #expect(object["version"] as? Int == 1)
        let summary = try #require(object["summary"] as? [String: Any])
        #expect(summary["failed"] as? Int == 0)
        let coverage = try #require(object["coverage"] as? [String: Any])
        #expect(coverage["percent"] as? String == "100.0%")
    }

    @Test func junitOutputIsXMLThatCISystemsRead() throws {
        let directory = try ruleSetWithTest(Self.rightExpectation.replacingOccurrences(of: "refund 5 EUR", with: "refund 6 EUR"))
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try redress(["test", "--format", "junit", "--coverage"], in: directory)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "))
        #if canImport(FoundationXML) || os(macOS)
        let document = try XMLDocument(data: Data(run.stdout.utf8))
        let root = try #require(document.rootElement())
        #expect(root.name == "testsuites")
        #expect(root.attribute(forName: "failures")?.stringValue == "1")
        let cases = try document.nodes(forXPath: "//testsuite[@name='late.test.yaml']/testcase")
        #expect(cases.count == 1)
        let failure = try document.nodes(forXPath: "//testcase/failure").first as? XMLElement
        #expect(failure?.attribute(forName: "message")?.stringValue == "the decisions differ from those expected at late.test.yaml:1")
        #expect(failure?.stringValue?.contains("refund 6 EUR") == true)
        #expect(try document.nodes(forXPath: "//property[@name='coverage']").count == 1)
        #endif
    }
}
