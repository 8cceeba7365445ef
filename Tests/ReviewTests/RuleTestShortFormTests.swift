import Foundation
import RedressIR
@testable import RedressReview
import RedressEvents
import RedressEngine
import RedressSemantics
import RedressSyntax
import Testing

/// The short form of a rule test file (docs/testing.md): tests about some rules (`rules:`),
/// expectations of no decision (`none: true`), and events built from `defaults:`, `fixtures:`,
/// relative times and generated keys; each mistake in these keys as a located diagnostic.

/// The top of a short-form file against rules/shop, with the cases appended under `tests:`.
let shortFormTop = """
    rules: [late_delivery_points]
    start: 2026-11-02T09:00:00Z
    defaults:
      customer: { tier: Standard, country: DE, sms_opt_in: false }
      order: { placed_at: +3d, total: 59.00 EUR, payment_method: card }
      shipment: { destination_country: DE, promised_at: +4d }
    fixtures:
      pilot: { customer: { id: C-4 } }
      vip: { customer: { id: C-1, tier: VIP } }
      late: { shipment: { delivered_at: +6d, delay: 2d } }
    tests:

    """

enum ShortForm {
    static func parse(_ cases: String, top: String = shortFormTop) throws -> (RuleTestFile?, [Diagnostic]) {
        let program = try #require(RuleTestFixtures.shop)
        return RuleTestFixtures.parse(top + cases, program: program, catalog: RuleTestFixtures.shopCatalog)
    }

    static func run(_ cases: String, top: String = shortFormTop, coverage: CoverageRecorder? = nil) throws -> [RuleTestResult] {
        let program = try #require(RuleTestFixtures.shop)
        let (file, diagnostics) = try parse(cases, top: top)
        try #require(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        return (file?.cases ?? []).map { RuleTestRunner.run($0, file: "case.test.yaml", program: program, coverage: coverage) }
    }
}

struct RuleTestShortFormParsingTests {
    @Test func fixturesDefaultsRelativeTimesAndKeysMakeCompleteEvents() throws {
        let results = try ShortForm.run("""
              - name: a pilot customer's late parcel earns points
                use: pilot
                events:
                  - { event: order.placed }
                  - { event: shipment.delivered, time: +6d, use: late }
                expect:
                  - { rule: late_delivery_points, subject: shipment-1, customer: C-4, time: +6d, actions: [points 300, send late_points_notice via email] }
            """)
        let result = try #require(results.first)
        #expect(result.passed, "\(RuleTestReport.comparison(result))")
        // The order placed at `start` was never shipped: its notice is decided, and ignored.
        #expect(result.ignored.map(\.rule) == ["not_shipped_in_48h"])
        #expect(result.ignored.first?.subject.key == "order-1" && result.ignored.first?.customer == "C-4")
        #expect(result.actual.first?.time == "2026-11-08T09:00:00Z")
    }

    @Test func eventTimesComeFromTimeAfterOrThePreviousEvent() throws {
        let (file, diagnostics) = try ShortForm.parse("""
              - name: times
                events:
                  - { event: order.placed }
                  - { event: order.packed, after: 27h, order: { time_to_pack: 27h } }
                  - { event: order.packed, order: { id: O-2, time_to_pack: 27h } }
                  - { event: shipment.shipped, time: +2d }
                  - { event: shipment.delivered, time: 2026-11-09T10:00:00+01:00, use: late }
                until: +10d
                expect: nothing
              - name: a start of its own
                start: 2026-12-01T00:00:00Z
                events:
                  - { event: order.placed, time: +1h }
                expect: nothing
            """)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        let cases = try #require(file?.cases)
        #expect(cases[0].events.map { TimeFormat.format(timestamp: $0.event.time) }
                == ["2026-11-02T09:00:00Z", "2026-11-03T12:00:00Z", "2026-11-03T12:00:00Z", "2026-11-04T09:00:00Z", "2026-11-09T09:00:00Z"])
        #expect(cases[0].until == TimeFormat.timestamp("2026-11-12T09:00:00Z"))
        #expect(cases[1].events.first.map { TimeFormat.format(timestamp: $0.event.time) } == "2026-12-01T01:00:00Z")
    }

    @Test func theFocusIsTheRulesOfTheCaseOrFileAndEveryRuleTheExpectationsName() throws {
        let (file, diagnostics) = try ShortForm.parse("""
              - name: file rules and a named rule
                events:
                  - { event: shipment.delivered, time: +6d, use: [pilot, late] }
                expect:
                  - { rule: vip_late_delivery, none: true }
              - name: the case's own rules
                rules: [lost_parcel, pack_kpi_missed]
                events:
                  - { event: shipment.lost, time: +6d }
                expect: nothing
              - name: every rule
                rules: all
                events:
                  - { event: order.placed }
                expect: nothing
            """)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        let cases = try #require(file?.cases)
        // In rule-set order, whatever the order written.
        let program = try #require(RuleTestFixtures.shop)
        let order = program.rules.map(\.name)
        #expect(cases[0].focus.map(Set.init) == ["late_delivery_points", "vip_late_delivery"])
        #expect(cases[0].focus == order.filter { ["late_delivery_points", "vip_late_delivery"].contains($0) })
        #expect(cases[0].expected.first?.absent == true)
        #expect(cases[1].focus.map(Set.init) == ["lost_parcel", "pack_kpi_missed"])
        #expect(cases[2].focus == nil)
    }

    /// The list form of a file (today's format) is read as before: no focus, no generated times.
    @Test func theListFormHasNoFocus() throws {
        let program = try #require(RuleTestFixtures.shop)
        let (file, diagnostics) = RuleTestFixtures.parse("- name: x\n  events:\n\(deliveredEvent)\n  expect:\n    - { rule: mission:1, none: true }\n", program: program)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        #expect(file?.cases.first?.focus == nil)
        #expect(file?.cases.first?.events.first?.event.time == TimeFormat.timestamp("2026-11-09T14:00:00Z"))
    }

    /// A fixture and `defaults:` give only the entities an event carries; the event's own
    /// fields win over its fixtures', and those over the defaults.
    @Test func overridesWinInOrder() throws {
        let results = try ShortForm.run("""
              - name: the event's fields win over the fixture's and the defaults'
                events:
                  - { event: shipment.delivered, time: +6d, use: [pilot, late], customer: { tier: VIP } }
                expect: nothing
              - name: the last fixture wins
                events:
                  - { event: shipment.delivered, time: +6d, use: [pilot, late, vip] }
                expect: nothing
              - name: a survey carries no order or shipment
                rules: all
                events:
                  - { event: survey.answered, time: +1d, use: [pilot, late], survey: { nps: 9, answered_at: +1d } }
                expect: nothing
            """)
        #expect(results.allSatisfy { $0.passed }, "\(results.map { RuleTestReport.comparison($0) })")
    }
}

struct RuleTestShortFormMistakeTests {
    struct Mistake: CustomTestStringConvertible, Sendable {
        var label: String
        /// The whole file, or (with `cases`) the cases under `shortFormTop`.
        var yaml: String
        var code: String
        var line: Int
        var column: Int
        var message: String
        var testDescription: String { label }
    }

    static let top = shortFormTop.split(separator: "\n", omittingEmptySubsequences: false).count - 1
    static let event = "      - { event: shipment.delivered, time: +6d, use: [pilot, late] }\n"
    static func cases(_ text: String) -> String { shortFormTop + text }

    static let mistakes: [Mistake] = [
        Mistake(label: "unknown file key", yaml: "rule: [late_delivery_points]\ntests: []\n", code: "E0602", line: 1, column: 1, message: "unknown key `rule` in a test file"),
        Mistake(label: "no tests", yaml: "rules: [late_delivery_points]\n", code: "E0602", line: 1, column: 1, message: "this test file has no `tests`"),
        Mistake(label: "tests not a list", yaml: "tests: 3\n", code: "E0602", line: 1, column: 8, message: "`tests` is a list of test cases"),
        Mistake(label: "a case as the whole file", yaml: "name: x\nexpect: nothing\n", code: "E0602", line: 1, column: 1, message: "a test file is a YAML list of test cases"),
        Mistake(label: "unknown rule in rules", yaml: "rules: [late_delivery_pionts]\ntests: []\n", code: "E0205", line: 1, column: 9, message: "no rule `late_delivery_pionts`"),
        Mistake(label: "empty rules", yaml: "rules: []\ntests: []\n", code: "E0602", line: 1, column: 8, message: "`rules` names no rule"),
        Mistake(label: "rules a mapping", yaml: "rules: { a: b }\ntests: []\n", code: "E0602", line: 1, column: 8, message: "`rules` is a list of rule names"),
        Mistake(label: "start not a time", yaml: "start: monday\ntests: []\n", code: "E0602", line: 1, column: 8, message: "`start` must be an RFC 3339 time"),
        Mistake(label: "start relative", yaml: "start: +1d\ntests: []\n", code: "E0602", line: 1, column: 8, message: "`start` must be a time written in full"),
        Mistake(label: "unknown entity in defaults", yaml: "defaults:\n  custmer: { tier: VIP }\ntests: []\n", code: "E0202", line: 2, column: 3, message: "`custmer` is not an entity of the schema"),
        Mistake(label: "unknown field in a fixture", yaml: "fixtures:\n  vip: { customer: { teir: VIP } }\ntests: []\n", code: "E0201", line: 2, column: 22, message: "`customer` has no field `teir`"),
        Mistake(label: "fixture not a mapping", yaml: "fixtures:\n  vip: VIP\ntests: []\n", code: "E0602", line: 2, column: 8, message: "the fixture `vip` is a mapping of entities"),
        Mistake(label: "fixtures a list", yaml: "fixtures: [vip]\ntests: []\n", code: "E0602", line: 1, column: 11, message: "`fixtures` is a mapping of names to fixtures"),
        Mistake(label: "unknown fixture", yaml: cases("  - name: x\n    events:\n      - { event: shipment.delivered, time: +6d, use: [pilto] }\n    expect: nothing\n"),
                code: "E0602", line: top + 3, column: 55, message: "there is no fixture `pilto`"),
        Mistake(label: "unknown fixture of a case", yaml: cases("  - name: x\n    use: [vip, lat]\n    events:\n\(event)    expect: nothing\n"),
                code: "E0602", line: top + 2, column: 16, message: "there is no fixture `lat`"),
        Mistake(label: "use without fixtures", yaml: "- name: x\n  events:\n    - { event: order.placed, time: 2026-11-02T09:00:00Z, use: vip }\n  expect: nothing\n",
                code: "E0602", line: 3, column: 63, message: "there is no fixture `vip`"),
        Mistake(label: "relative time without start", yaml: "- name: x\n  events:\n    - { event: order.placed, time: +1d, order: { id: O-1 } }\n  expect: nothing\n",
                code: "E0602", line: 3, column: 36, message: "`time` `+1d` is relative, but there is no `start:`"),
        Mistake(label: "no time and no start", yaml: "- name: x\n  events:\n    - { event: order.placed, order: { id: O-1 } }\n  expect: nothing\n",
                code: "E0602", line: 3, column: 7, message: "this event has no `time`"),
        Mistake(label: "relative field without start", yaml: "- name: x\n  events:\n    - { event: order.placed, time: 2026-11-02T09:00:00Z, order: { id: O-1, placed_at: -1h } }\n  expect: nothing\n",
                code: "E0602", line: 3, column: 87, message: "`order.placed_at` `-1h` is relative"),
        Mistake(label: "after not a duration", yaml: cases("  - name: x\n    events:\n\(event)      - { event: shipment.lost, after: soon }\n    expect: nothing\n"),
                code: "E0602", line: top + 4, column: 40, message: "`after` must be a duration"),
        Mistake(label: "after and time", yaml: cases("  - name: x\n    events:\n\(event)      - { event: shipment.lost, time: +7d, after: 1d }\n    expect: nothing\n"),
                code: "E0602", line: top + 4, column: 44, message: "this event has both `time` and `after`"),
        Mistake(label: "none not a boolean", yaml: cases("  - name: x\n    events:\n\(event)    expect:\n      - { rule: vip_late_delivery, none: yes please }\n"),
                code: "E0602", line: top + 5, column: 42, message: "`none` is `true` or left out"),
        Mistake(label: "unknown rule in a none expectation", yaml: cases("  - name: x\n    events:\n\(event)    expect:\n      - { rule: vip_late_delivry, none: true }\n"),
                code: "E0205", line: top + 5, column: 17, message: "no rule `vip_late_delivry`"),
        Mistake(label: "unknown rule in a case's rules", yaml: cases("  - name: x\n    rules: [lost_parcle]\n    events:\n\(event)    expect: nothing\n"),
                code: "E0205", line: top + 2, column: 13, message: "no rule `lost_parcle`"),
        Mistake(label: "a missing field names the places to give it", yaml: cases("  - name: x\n    events:\n      - { event: shipment.delivered, time: +6d, use: pilot, order: { placed_at: ~ } }\n    expect: nothing\n"),
                code: "E0602", line: top + 3, column: 9, message: "order.placed_at is missing"),
    ]

    @Test(arguments: mistakes)
    func aMistakeInTheNewKeysIsALocatedDiagnosticWithHelp(_ example: Mistake) throws {
        let program = try #require(RuleTestFixtures.shop)
        let (file, diagnostics) = RuleTestFixtures.parse(example.yaml, program: program, catalog: RuleTestFixtures.shopCatalog)
        #expect(file == nil)
        let diagnostic = try #require(diagnostics.first, "no diagnostic for \(example.label)")
        let source = SourceFile(path: "case.test.yaml", text: example.yaml)
        let place = source.location(of: diagnostic.span.start)
        #expect(diagnostic.code.rawValue == example.code, "\(diagnostic.message)")
        #expect(diagnostic.message.contains(example.message), "\(diagnostic.message)")
        #expect(place.line == example.line && place.column == example.column, "at \(place.line):\(place.column): \(diagnostic.message)")
        #expect(diagnostic.help?.isEmpty == false, "no help for \(diagnostic.message)")
        let rendered = DiagnosticRenderer(files: ["case.test.yaml": source]).human(diagnostics)
        #expect(rendered.contains("--> case.test.yaml:\(example.line):\(example.column)"), "\(rendered)")
        #expect(rendered.contains("= help: "), "\(rendered)")
    }

    @Test func helpSuggestsTheClosestFixture() throws {
        let (_, diagnostics) = try ShortForm.parse("  - name: x\n    events:\n      - { event: shipment.delivered, time: +6d, use: [pilto] }\n    expect: nothing\n")
        #expect(diagnostics.first?.help == "did you mean `pilot`?")
    }

    @Test func aMissingFieldSaysWhereToGiveIt() throws {
        let (_, diagnostics) = try ShortForm.parse("  - name: x\n    events:\n      - { event: shipment.delivered, time: +6d, use: pilot, order: { placed_at: ~ } }\n    expect: nothing\n")
        #expect(diagnostics.first?.help?.contains("under `defaults:`") == true, "\(diagnostics.map(\.help))")
    }

    @Test func aShortFormFileWithoutCasesIsEmpty() throws {
        let (file, diagnostics) = try ShortForm.parse("  []\n", top: shortFormTop.replacingOccurrences(of: "tests:\n", with: "tests:"))
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        #expect(file?.cases.isEmpty == true)
    }
}

struct RuleTestFocusRunnerTests {
    static let lateParcel = """
              - name: late
                events:
                  - { event: order.placed, use: pilot }
                  - { event: shipment.delivered, time: +6d, use: [pilot, late] }
        """

    @Test func decisionsOfOtherRulesAreIgnoredAndStillCovered() throws {
        let program = try #require(RuleTestFixtures.shop)
        let recorder = CoverageRecorder(program: program)
        let results = try ShortForm.run(Self.lateParcel + "\n        expect:\n          - { rule: late_delivery_points, subject: shipment-1 }\n", coverage: recorder)
        let result = try #require(results.first)
        #expect(result.passed, "\(RuleTestReport.comparison(result))")
        #expect(result.actual.map(\.rule) == ["late_delivery_points"] && result.ignored.map(\.rule) == ["not_shipped_in_48h"])
        let fired = recorder.report(directory: "rules/shop").rules.filter(\.fires).map(\.rule)
        #expect(Set(fired) == ["late_delivery_points", "not_shipped_in_48h"])
    }

    @Test func withoutAFocusTheSameCaseFails() throws {
        let results = try ShortForm.run(Self.lateParcel + "\n        rules: all\n        expect:\n          - { rule: late_delivery_points, subject: shipment-1 }\n")
        let result = try #require(results.first)
        #expect(!result.passed)
        #expect(result.ignored.isEmpty && result.actual.count == 2)
    }

    @Test func aNoneExpectationFailsWhenTheRuleDecides() throws {
        let results = try ShortForm.run(Self.lateParcel + "\n        expect:\n          - { rule: late_delivery_points, subject: shipment-1 }\n          - { rule: not_shipped_in_48h, none: true }\n")
        let result = try #require(results.first)
        #expect(!result.passed)
        let text = RuleTestReport.comparison(result)
        #expect(text.contains("    = late_delivery_points for shipment-1"), "\(text)")
        #expect(text.contains("    - expected  no decision of not_shipped_in_48h   (line \(RuleTestShortFormMistakeTests.top + 7))"), "\(text)")
        #expect(text.contains("    + actual    not_shipped_in_48h for order-1 (customer C-4, at 2026-11-04T09:00:00Z): send dispatch_delay_notice via email"), "\(text)")
        #expect(!text.contains("(no further decision)"), "reported once, where it is unwanted:\n\(text)")
    }

    @Test func aNoneExpectationWithASubjectForbidsOnlyThatSubject() throws {
        let base = Self.lateParcel + "\n        expect:\n          - { rule: late_delivery_points }\n"
        #expect(try ShortForm.run(base + "          - { rule: late_delivery_points, subject: S-2, none: true }\n").first?.passed == true)
        #expect(try ShortForm.run(base + "          - { rule: late_delivery_points, subject: shipment-1, none: true }\n").first?.passed == false)
    }

    @Test func aNoneExpectationPassesWhenTheRuleDoesNotDecide() throws {
        let results = try ShortForm.run("""
              - name: a VIP earns no points
                events:
                  - { event: shipment.delivered, time: +6d, use: [vip, late] }
                expect:
                  - { rule: late_delivery_points, none: true }
            """)
        #expect(results.first?.passed == true)
    }

    @Test func ignoredDecisionsAreListedWhenACaseFails() throws {
        let results = try ShortForm.run(Self.lateParcel + "\n        expect: nothing\n")
        let result = try #require(results.first)
        #expect(!result.passed)
        let text = RuleTestReport.comparison(result)
        #expect(text.contains("(ignored: 1 decision of not_shipped_in_48h, not among the rules of this test)"), "\(text)")
    }

    @Test func jsonShowsTheFocusTheIgnoredDecisionsAndNone() throws {
        let results = try ShortForm.run(Self.lateParcel + "\n        expect:\n          - { rule: late_delivery_points }\n          - { rule: vip_late_delivery, none: true }\n")
        let run = RuleTestRun(files: [.init(path: "case.test.yaml", ruleSet: "rules/shop", cases: results)], coverage: nil)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(RuleTestReport.json(run).utf8)) as? [String: Any])
        let testCase = try #require(((object["files"] as? [[String: Any]])?.first?["cases"] as? [[String: Any]])?.first)
        #expect((testCase["rules"] as? [String]).map(Set.init) == ["vip_late_delivery", "late_delivery_points"])
        #expect((testCase["ignored"] as? [[String: Any]])?.map { $0["rule"] as? String } == ["not_shipped_in_48h"])
        #expect((testCase["expected"] as? [[String: Any]])?.map { $0["none"] as? Bool } == [nil, true])
    }
}
