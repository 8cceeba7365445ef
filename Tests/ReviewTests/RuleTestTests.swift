import Foundation
import RedressIR
@testable import RedressReview
import RedressEvents
import RedressEngine
import RedressSemantics
import RedressSyntax
import Testing

/// The rule-test format (`*.test.yaml`): reading it, each malformed-input diagnostic, matching
/// decisions, coverage, and the three renderings as golden files.
enum RuleTestFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tests")
    static let updating = ProcessInfo.processInfo.environment["REDRESS_UPDATE_GOLDEN"] == "1"

    static func text(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }
    static let schema = SourceFile(path: "rules/shop/schema.yaml", text: text(root.appendingPathComponent("rules/shop/schema.yaml")))
    static let catalog = SourceFile(path: "rules/shop/catalog.yaml", text: text(root.appendingPathComponent("rules/shop/catalog.yaml")))

    static func program(_ files: [String: String]) -> Program? {
        let report = RuleSetLoader.check(rules: files.sorted { $0.key < $1.key }.map { SourceFile(path: $0.key, text: $0.value) },
                                         schema: schema, catalog: catalog)
        return Program.compile(report).0
    }

    /// The example shop's rule set, compiled from the repository's rules/shop.
    static let shop: Program? = {
        let directory = root.appendingPathComponent("rules/shop")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".rules") }
        return program(Dictionary(uniqueKeysWithValues: names.map { ("rules/shop/\($0)", text(directory.appendingPathComponent($0))) }))
    }()

    static func parse(_ yaml: String, program: Program, path: String = "case.test.yaml", catalog: Catalog? = nil,
                      readFile: @escaping (String) -> [UInt8]? = { _ in nil }) -> (RuleTestFile?, [Diagnostic]) {
        RuleTestParser.parse(SourceFile(path: path, text: yaml), program: program, catalog: catalog, readFile: readFile)
    }

    /// The shop's catalog as checked (argument kinds of its actions).
    static let shopCatalog: Catalog? = {
        let directory = root.appendingPathComponent("rules/shop")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".rules") }
        let report = RuleSetLoader.check(rules: names.sorted().map { SourceFile(path: "rules/shop/\($0)", text: text(directory.appendingPathComponent($0))) },
                                         schema: schema, catalog: catalog)
        return report.checked?.catalog
    }()

    static func matchesGolden(_ actual: String, _ name: String) -> Bool {
        let url = directory.appendingPathComponent(name)
        if updating { try? actual.write(to: url, atomically: true, encoding: .utf8) }
        return actual == text(url)
    }
}

/// A well-formed delivered event of the shop, as test YAML lines (indented for `events:`).
let deliveredEvent = """
        - event: shipment.delivered
          time: 2026-11-09T14:00:00Z
          shipment: { id: S-1, order_id: O-1, destination_country: DE, promised_at: 2026-11-05T18:00:00Z, delivered_at: 2026-11-09T14:00:00Z, delay: 3d20h }
          order: { id: O-1, customer_id: C-1, placed_at: 2026-11-02T09:00:00Z, total: 89.90 EUR, payment_method: card }
          customer: { id: C-1, tier: VIP, country: DE, sms_opt_in: false }
    """

struct RuleTestFormatTests {
    struct Malformed: CustomTestStringConvertible, Sendable {
        var label: String
        var yaml: String
        var code: String
        var line: Int
        var column: Int
        var message: String
        /// Checked only with the catalog as checked (template names are not in the compiled kinds).
        var needsCatalog = false
        var testDescription: String { label }
    }

    static let malformed: [Malformed] = [
        Malformed(label: "YAML syntax", yaml: "- name: x\n  events: [\n", code: "E0601", line: 3, column: 1, message: "YAML syntax error"),
        Malformed(label: "not a list", yaml: "name: x\n", code: "E0602", line: 1, column: 1, message: "a test file is a YAML list"),
        Malformed(label: "unknown key", yaml: "- name: x\n  event:\n\(deliveredEvent)\n  expect: nothing\n", code: "E0602", line: 2, column: 3, message: "unknown key `event` in a test case"),
        Malformed(label: "no name", yaml: "- events:\n\(deliveredEvent)\n  expect: nothing\n", code: "E0602", line: 1, column: 3, message: "has no `name`"),
        Malformed(label: "no expect", yaml: "- name: x\n  events:\n\(deliveredEvent)\n", code: "E0602", line: 1, column: 9, message: "has no `expect`"),
        Malformed(label: "no events", yaml: "- name: x\n  expect: nothing\n", code: "E0602", line: 1, column: 9, message: "has no `events`"),
        Malformed(label: "events not a list", yaml: "- name: x\n  events: 3\n  expect: nothing\n", code: "E0602", line: 2, column: 11, message: "`events` is a list"),
        Malformed(label: "unknown rule", yaml: "- name: x\n  events:\n\(deliveredEvent)\n  expect:\n    - rule: vip_late_delivry\n", code: "E0205", line: 9, column: 13, message: "no rule `vip_late_delivry`"),
        Malformed(label: "unknown event type", yaml: "- name: x\n  events:\n    - { event: shipment.delivred, time: 2026-11-09T14:00:00Z }\n  expect: nothing\n", code: "E0203", line: 3, column: 16, message: "unknown event type `shipment.delivred`"),
        Malformed(label: "entity not carried", yaml: "- name: x\n  events:\n    - { event: order.placed, time: 2026-11-09T14:00:00Z, rental: { id: L-1 } }\n  expect: nothing\n", code: "E0202", line: 3, column: 58, message: "does not carry `rental`"),
        Malformed(label: "unknown field", yaml: "- name: x\n  events:\n    - { event: order.placed, time: 2026-11-09T14:00:00Z, order: { id: O-1, totl: 5 EUR } }\n  expect: nothing\n", code: "E0201", line: 3, column: 76, message: "`order` has no field `totl`"),
        Malformed(label: "value the reader refuses", yaml: "- name: x\n  events:\n\(deliveredEvent.replacingOccurrences(of: "delay: 3d20h", with: "delay: three days"))\n  expect: nothing\n", code: "E0602", line: 3, column: 7, message: "shipment.delay must be a duration"),
        Malformed(label: "bad until", yaml: "- name: x\n  events:\n\(deliveredEvent)\n  until: tomorrow\n  expect: nothing\n", code: "E0602", line: 8, column: 10, message: "`until` must be an RFC 3339 time"),
        Malformed(label: "unknown action", yaml: "- name: x\n  events:\n\(deliveredEvent)\n  expect:\n    - { rule: mission:1, actions: [refnd 5 EUR] }\n", code: "E0206", line: 9, column: 36, message: "no action `refnd`"),
        Malformed(label: "unreadable action", yaml: "- name: x\n  events:\n\(deliveredEvent)\n  expect:\n    - { rule: mission:1, actions: [refund 5 EUR via] }\n", code: "E0602", line: 9, column: 36, message: "cannot read the action"),
        Malformed(label: "earlier decision without its keys", yaml: "- name: x\n  given:\n    decisions:\n      - { rule: vip_late_delivery, time: 2026-11-01T10:00:00Z, shipment: S-0 }\n  events:\n\(deliveredEvent)\n  expect: nothing\n", code: "E0602", line: 4, column: 9, message: "needs `order`, `customer`"),
        Malformed(label: "events file missing", yaml: "- name: x\n  events_file: nowhere.jsonl\n  expect: nothing\n", code: "E0602", line: 2, column: 16, message: "cannot read the events file"),
        Malformed(label: "event and type", yaml: "- name: x\n  events:\n    - { event: order.placed, type: order.placed, time: 2026-11-09T14:00:00Z }\n  expect: nothing\n", code: "E0602", line: 3, column: 30, message: "both `event` and `type`"),
        Malformed(label: "id not a scalar", yaml: "- name: x\n  events:\n    - { event: order.placed, id: [a, b], time: 2026-11-09T14:00:00Z }\n  expect: nothing\n", code: "E0602", line: 3, column: 34, message: "`id` of an event must be a text or a number"),
        Malformed(label: "empty name", yaml: "- name: \"\"\n  events:\n\(deliveredEvent)\n  expect: nothing\n", code: "E0602", line: 1, column: 9, message: "name of a test case cannot be empty"),
        Malformed(label: "name without value", yaml: "- name:\n  events:\n\(deliveredEvent)\n  expect: nothing\n", code: "E0602", line: 1, column: 8, message: "name of a test case cannot be empty"),
        Malformed(label: "until before the last event", yaml: "- name: x\n  events:\n\(deliveredEvent)\n  until: 2026-11-09T13:00:00Z\n  expect: nothing\n", code: "E0602", line: 8, column: 10, message: "`until` is earlier than the case's last event"),
        Malformed(label: "earlier decision after the first event", yaml: "- name: x\n  given:\n    decisions:\n      - { rule: pack_kpi_missed, time: 2026-11-10T10:00:00Z, order: O-9, customer: C-1 }\n  events:\n\(deliveredEvent)\n  expect: nothing\n", code: "E0602", line: 4, column: 40, message: "earlier decision is later than the case's first event"),
        Malformed(label: "history after the first event", yaml: "- name: x\n  given:\n    events:\n      - { event: order.placed, time: 2026-11-10T09:00:00Z, order: { id: O-1, customer_id: C-1 }, customer: { id: C-1, tier: VIP, country: DE, sms_opt_in: false } }\n  events:\n\(deliveredEvent)\n  expect: nothing\n", code: "E0602", line: 4, column: 9, message: "history event is later than the case's first event"),
        Malformed(label: "argument for a money action", yaml: "- name: x\n  events:\n\(deliveredEvent)\n  expect:\n    - { rule: mission:1, actions: [refund refund] }\n", code: "E0602", line: 9, column: 36, message: "`refund` takes an amount of money, not `refund`"),
        Malformed(label: "lower-case currency", yaml: "- name: x\n  events:\n\(deliveredEvent)\n  expect:\n    - { rule: mission:1, actions: [refund 5 eur] }\n", code: "E0602", line: 9, column: 36, message: "`5 eur` is not an amount of money"),
        Malformed(label: "currency sign", yaml: "- name: x\n  events:\n\(deliveredEvent)\n  expect:\n    - { rule: mission:1, actions: [refund €5] }\n", code: "E0602", line: 9, column: 36, message: "`refund` takes an amount of money, not `€5`"),
        Malformed(label: "money without currency", yaml: "- name: x\n  events:\n\(deliveredEvent)\n  expect:\n    - { rule: mission:1, actions: [refund 5] }\n", code: "E0602", line: 9, column: 36, message: "`5` is not an amount of money"),
        Malformed(label: "unknown template", yaml: "- name: x\n  events:\n\(deliveredEvent)\n  expect:\n    - { rule: mission:1, actions: [send apolgy] }\n", code: "E0602", line: 9, column: 36, message: "`apolgy` is not a template of `send`", needsCatalog: true),
        Malformed(label: "duplicate case name", yaml: "- name: x\n  events:\n\(deliveredEvent)\n  expect: nothing\n- name: x\n  events:\n\(deliveredEvent)\n  expect: nothing\n", code: "E0602", line: 9, column: 9, message: "two test cases are named `x`"),
    ]

    @Test(arguments: malformed, [false, true])
    func malformedInputIsADiagnosticWithItsPlace(_ example: Malformed, withCatalog: Bool) throws {
        let program = try #require(RuleTestFixtures.shop)
        let catalog = withCatalog ? try #require(RuleTestFixtures.shopCatalog) : nil
        if example.needsCatalog && !withCatalog { return }
        let (file, diagnostics) = RuleTestFixtures.parse(example.yaml, program: program, catalog: catalog)
        #expect(file == nil)
        let diagnostic = try #require(diagnostics.first, "no diagnostic for \(example.label)")
        let source = SourceFile(path: "case.test.yaml", text: example.yaml)
        let place = source.location(of: diagnostic.span.start)
        #expect(diagnostic.code.rawValue == example.code, "\(diagnostic.message)")
        #expect(diagnostic.message.contains(example.message), "\(diagnostic.message)")
        #expect(place.line == example.line && place.column == example.column, "at \(place.line):\(place.column): \(diagnostic.message)")
        let rendered = DiagnosticRenderer(files: ["case.test.yaml": source]).human(diagnostics)
        #expect(rendered.contains("--> case.test.yaml:\(example.line):\(example.column)"), "\(rendered)")
    }

    @Test(arguments: ["", "# only a comment\n", "\n\n"])
    func anEmptyFileHasNoCases(yaml: String) throws {
        let program = try #require(RuleTestFixtures.shop)
        let (file, diagnostics) = RuleTestFixtures.parse(yaml, program: program)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        #expect(file?.cases.count == 0)
    }

    @Test func actionsThatCanMatchAreAccepted() throws {
        let program = try #require(RuleTestFixtures.shop)
        let catalog = try #require(RuleTestFixtures.shopCatalog)
        let yaml = "- name: x\n  events:\n\(deliveredEvent)\n  expect:\n    - { rule: mission:1, actions: [refund 5.00 EUR, send apology via email, flag handwritten, points 300, reship, suppress marketing_email, alert ops_team via slack] }\n"
        let (_, diagnostics) = RuleTestFixtures.parse(yaml, program: program, catalog: catalog)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
    }

    struct EventsFileTypo: CustomTestStringConvertible, Sendable {
        var label: String
        var line: String
        var code: String
        var column: Int
        var message: String
        var testDescription: String { label }
    }

    static let eventsFileTypos: [EventsFileTypo] = [
        EventsFileTypo(label: "unknown field", line: #"{"event":"order.placed","time":"2026-11-02T09:00:00Z","order":{"id":"O-1","totl":"5 EUR"}}"#,
                       code: "E0201", column: 75, message: "line 2 of `events/typo.jsonl`: `order` has no field `totl`"),
        EventsFileTypo(label: "entity not carried", line: #"{"event":"order.placed","time":"2026-11-02T09:00:00Z","rental":{"id":"L-1"}}"#,
                       code: "E0202", column: 55, message: "line 2 of `events/typo.jsonl`: `order.placed` does not carry `rental`"),
        EventsFileTypo(label: "unknown entity", line: #"{"event":"order.placed","time":"2026-11-02T09:00:00Z","ordr":{"id":"O-1"}}"#,
                       code: "E0202", column: 55, message: "`ordr` is neither an entity nor a key of an event"),
    ]

    /// Lines of an `events_file` get the typo checks of inline events, at their own line and column.
    @Test(arguments: eventsFileTypos)
    func eventsFileLinesAreCheckedForTypos(_ example: EventsFileTypo) throws {
        let program = try #require(RuleTestFixtures.shop)
        let good = #"{"event":"order.placed","time":"2026-11-02T08:00:00Z","order":{"id":"O-0","customer_id":"C-1"},"customer":{"id":"C-1","tier":"VIP","country":"DE","sms_opt_in":false}}"#
        let contents = good + "\n" + example.line + "\n"
        let yaml = "- name: x\n  events_file: events/typo.jsonl\n  expect: nothing\n"
        let (file, diagnostics) = RuleTestFixtures.parse(yaml, program: program, readFile: { $0 == "events/typo.jsonl" ? Array(contents.utf8) : nil })
        #expect(file == nil)
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostic.code.rawValue == example.code, "\(diagnostic.message)")
        #expect(diagnostic.message.contains(example.message), "\(diagnostic.message)")
        #expect(diagnostic.primary.file == "events/typo.jsonl")
        let place = SourceFile(path: "events/typo.jsonl", text: contents).location(of: diagnostic.primary.span.start)
        #expect(place.line == 2 && place.column == example.column, "at \(place.line):\(place.column)")
        #expect(diagnostic.secondary.first?.file == "case.test.yaml")
    }

    @Test func aWellFormedCaseIsRead() throws {
        let program = try #require(RuleTestFixtures.shop)
        let yaml = """
            - name: late VIP parcel
              description: the mission sentence
              given:
                decisions:
                  - { rule: pack_kpi_missed, time: 2026-11-01T10:00:00Z, order: O-9, customer: C-1, actions: [refund 4 EUR] }
              events:
            \(deliveredEvent)
              until: 2026-11-10T00:00:00Z
              expect:
                - rule: mission:1
                  subject: S-1
                  customer: C-1
                  time: 2026-11-09T15:00:00+01:00
                  actions: [refund 5 EUR, { verb: send, argument: apology, channel: email }, flag handwritten]
            """
        let (file, diagnostics) = RuleTestFixtures.parse(yaml, program: program)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        let testCase = try #require(file?.cases.first)
        #expect(testCase.name == "late VIP parcel" && testCase.description == "the mission sentence" && testCase.line == 1)
        #expect(testCase.events.count == 1 && testCase.events[0].line == 7)
        #expect(testCase.until == TimeFormat.timestamp("2026-11-10T00:00:00Z"))
        #expect(testCase.earlierDecisions.first?.keys == ["order": "O-9", "customer": "C-1"])
        #expect(testCase.expected == [ExpectedDecision(rule: "mission:1", subject: "S-1", customer: "C-1", time: "2026-11-09T15:00:00+01:00",
                                                       actions: [ExpectedAction(verb: "refund", amount: "5 EUR"),
                                                                 ExpectedAction(verb: "send", argument: "apology", channel: "email"),
                                                                 ExpectedAction(verb: "flag", argument: "handwritten")], line: 14)])
    }

    @Test(arguments: [
        ("refund 5 EUR", ExpectedAction(verb: "refund", amount: "5 EUR")),
        ("send apology via email", ExpectedAction(verb: "send", argument: "apology", channel: "email")),
        ("points 300", ExpectedAction(verb: "points", amount: "300")),
        ("reship", ExpectedAction(verb: "reship")),
        ("free_shipping via sms", ExpectedAction(verb: "free_shipping", channel: "sms")),
        ("refund -1.50 EUR", ExpectedAction(verb: "refund", amount: "-1.50 EUR")),
    ])
    func actionsAreReadFromOneLine(text: String, expected: ExpectedAction) {
        #expect(ExpectedAction.parse(text) == expected)
    }

    @Test(arguments: ["", "send apology via", "send a b", "refund 5 EUR extra", "send apology via email sms"])
    func malformedActionsAreRefused(text: String) {
        #expect(ExpectedAction.parse(text) == nil)
    }

    @Test(arguments: [
        ("5 EUR", "5.00 EUR", true), ("4.9 EUR", "4.90 EUR", true), ("4.99 EUR", "4.90 EUR", false), ("5 EUR", "5.00 BRL", false),
        ("300", "300", true), ("0300", "300", true), ("2.50%", "2.5%", true), ("-0.00 EUR", "0.00 EUR", true), ("5 EUR", "50 EUR", false),
    ])
    func amountsCompareExactly(expected: String, actual: String, same: Bool) {
        #expect((Amount.canonical(expected) == Amount.canonical(actual)) == same)
    }

    @Test(arguments: [("5 EUR", Int64(500)), ("4.99 EUR", 499), ("0.5 EUR", 50), ("-1.50 EUR", -150)])
    func moneyIsReadInMinorUnits(text: String, minor: Int64) throws {
        let program = try #require(RuleTestFixtures.shop)
        #expect(Amount.money(text, program: program)?.minor == minor)
    }

    @Test(arguments: ["4.999 EUR", "5 XXX", "five EUR", "5"])
    func moneyThatIsNotMoneyIsRefused(text: String) throws {
        let program = try #require(RuleTestFixtures.shop)
        #expect(Amount.money(text, program: program) == nil)
    }

    @Test(arguments: [("0", true), ("-12", true), ("1.25", true), ("007", false), ("1e5", false), ("1.", false), ("", false), ("4.99 EUR", false)])
    func onlyJSONNumbersStayNumbers(text: String, number: Bool) {
        #expect(RuleTestParser.isJSONNumber(text) == number)
    }
}

struct RuleTestMatchingTests {
    /// Decisions as `run` writes them (read back through their Codable form).
    static func decision(_ rule: String, subject: String = "S-1", actions: String) -> Decision? {
        let json = """
            {"rule":"\(rule)","subject":{"entity":"shipment","key":"\(subject)"},"customer":"C-1","event":{"type":"shipment.delivered","id":"e1","line":1,"time":"2026-11-09T14:00:00Z"},"time":"2026-11-09T14:00:00Z","actions":[\(actions)],"occurrence":1,"dimensions":[],"key":"\(rule)|shipment:\(subject)|1"}
            """
        return try? JSONDecoder().decode(Decision.self, from: Data(json.utf8))
    }
    static let refund = #"{"verb":"refund","amount":"5.00 EUR"}"#
    static let apology = #"{"verb":"send","argument":"apology","channel":"email"}"#
    static let actual = [decision("vip_late_delivery", actions: refund + "," + apology), decision("mission:1", actions: refund)].compactMap { $0 }

    struct Example: CustomTestStringConvertible, Sendable {
        var label: String
        var expected: [ExpectedDecision]
        var matches: Bool
        var testDescription: String { label }
    }

    static let examples: [Example] = [
        Example(label: "rules only", expected: [ExpectedDecision(rule: "vip_late_delivery", line: 1), ExpectedDecision(rule: "mission:1", line: 2)], matches: true),
        Example(label: "wrong order", expected: [ExpectedDecision(rule: "mission:1", line: 1), ExpectedDecision(rule: "vip_late_delivery", line: 2)], matches: false),
        Example(label: "one missing", expected: [ExpectedDecision(rule: "vip_late_delivery", line: 1)], matches: false),
        Example(label: "nothing", expected: [], matches: false),
        Example(label: "exact actions, channel left out", expected: [
            ExpectedDecision(rule: "vip_late_delivery", subject: "S-1", actions: [ExpectedAction(verb: "refund", amount: "5 EUR"), ExpectedAction(verb: "send", argument: "apology")], line: 1),
            ExpectedDecision(rule: "mission:1", customer: "C-1", time: "2026-11-09T15:00:00+01:00", line: 2)], matches: true),
        Example(label: "an action missing", expected: [
            ExpectedDecision(rule: "vip_late_delivery", actions: [ExpectedAction(verb: "refund", amount: "5 EUR")], line: 1),
            ExpectedDecision(rule: "mission:1", line: 2)], matches: false),
        Example(label: "wrong amount", expected: [
            ExpectedDecision(rule: "vip_late_delivery", line: 1),
            ExpectedDecision(rule: "mission:1", actions: [ExpectedAction(verb: "refund", amount: "5.01 EUR")], line: 2)], matches: false),
        Example(label: "wrong channel", expected: [
            ExpectedDecision(rule: "vip_late_delivery", actions: [ExpectedAction(verb: "refund", amount: "5 EUR"), ExpectedAction(verb: "send", argument: "apology", channel: "sms")], line: 1),
            ExpectedDecision(rule: "mission:1", line: 2)], matches: false),
        Example(label: "wrong subject", expected: [ExpectedDecision(rule: "vip_late_delivery", subject: "S-2", line: 1), ExpectedDecision(rule: "mission:1", line: 2)], matches: false),
        Example(label: "wrong time", expected: [ExpectedDecision(rule: "vip_late_delivery", time: "2026-11-09T14:00:01Z", line: 1), ExpectedDecision(rule: "mission:1", line: 2)], matches: false),
    ]

    @Test(arguments: examples)
    func decisionsMatchExactlyInOrder(_ example: Example) {
        #expect(Self.actual.count == 2)
        #expect(RuleTestRunner.matches(example.expected, Self.actual) == example.matches)
    }
}

struct RuleTestCoverageTests {
    /// Leaves (by position) that settle `a and b`, `a or b` for each combination of values.
    @Test(arguments: [
        ([true, true], "and", [0, 1]), ([true, false], "and", [1]), ([false, true], "and", [0]), ([false, false], "and", [0]),
        ([true, true], "or", [0]), ([true, false], "or", [0]), ([false, true], "or", [1]), ([false, false], "or", [0, 1]),
    ])
    func decisiveOperandsOfTwo(values: [Bool], operation: String, decisive: [Int]) throws {
        let rules = "rule r on checkout.completed when checkout.page_load > 4s \(operation) checkout.searches_before_cart >= 3 then send checkout_apology\n"
        let program = try #require(RuleTestFixtures.program(["r.rules": rules]))
        let condition = try #require(program.rules.first?.condition)
        var position = 0
        #expect(CoverageRecorder.decisiveLeaves(condition, values: values, position: &position).1 == decisive)
    }

    /// `not (...)` is descended into: its operand's leaves are operands, and whatever settled the
    /// operand settled the negation.
    @Test(arguments: [
        ([true, false, true], [0]), ([false, false, true], [0, 1, 2]), ([false, true, true], [1]), ([false, false, false], [2]),
        ([nil, false, true], [0, 1]),
    ] as [([Bool?], [Int])])
    func decisiveOperandsUnderNot(values: [Bool?], decisive: [Int]) throws {
        let rules = "rule r on checkout.completed when not (checkout.page_load > 4s or checkout.searches_before_cart >= 3) and checkout.payment_errors > 0 then send checkout_apology\n"
        let program = try #require(RuleTestFixtures.program(["r.rules": rules]))
        let condition = try #require(program.rules.first?.condition)
        #expect(CoverageRecorder(program: program).operands[0].count == 3)
        var position = 0
        #expect(CoverageRecorder.decisiveLeaves(condition, values: values, position: &position).1 == decisive)
    }

    @Test func anOperandInsideNotThatNeverMatteredIsNotCovered() throws {
        let rules = "rule r on checkout.completed when not (checkout.page_load > 4s or checkout.searches_before_cart >= 3) and checkout.payment_errors > 0 then send checkout_apology\n"
        let program = try #require(RuleTestFixtures.program(["r.rules": rules]))
        let yaml = """
            - name: slow
              events:
                - { event: checkout.completed, time: 2026-11-02T09:00:00Z, checkout: { id: K1, page_load: 5s, searches_before_cart: 0, payment_errors: 1 }, order: { id: O-1 }, customer: { id: C-1 } }
              expect: nothing
            """
        let (file, diagnostics) = RuleTestFixtures.parse(yaml, program: program)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        let recorder = CoverageRecorder(program: program)
        for testCase in file?.cases ?? [] { #expect(RuleTestRunner.run(testCase, file: "f", program: program, coverage: recorder).passed) }
        let rule = recorder.report(directory: "x").rules[0]
        #expect(rule.operands.map(\.text).count == 3)
        #expect(rule.operands.map(\.decisive) == [true, false, false])
        let table = RuleTestReport.coverageText(CoverageReport(ruleSets: [recorder.report(directory: "x")]), minimum: nil)
        #expect(table.contains("1/3   never decisive"), "\(table)")
    }

    @Test func constantOperandsAreNotCounted() throws {
        let rules = """
            param switched_on = true
            rule r on checkout.completed when switched_on and checkout.page_load > 4s then send checkout_apology limit none
            """
        let program = try #require(RuleTestFixtures.program(["r.rules": rules]))
        let report = CoverageRecorder(program: program).report(directory: "x")
        #expect(report.rules[0].operands.map(\.counted) == [false, true])
        #expect(report.total == 3)
    }

    @Test func coverageCountsFiringKeepingAndDecisiveOperands() throws {
        let rules = "rule r on checkout.completed when checkout.page_load > 4s or checkout.searches_before_cart >= 3 then send checkout_apology, voucher 5 EUR\n"
        let program = try #require(RuleTestFixtures.program(["r.rules": rules]))
        func checkout(_ id: String, _ load: String, _ searches: Int) -> String {
            "    - { event: checkout.completed, time: 2026-11-02T09:00:00Z, checkout: { id: \(id), page_load: \(load), searches_before_cart: \(searches) }, order: { id: O-\(id) }, customer: { id: C-\(id) } }\n"
        }
        let recorder = CoverageRecorder(program: program)
        let (fast, _) = RuleTestFixtures.parse("- name: fast\n  events:\n" + checkout("K1", "1s", 0) + "  expect: nothing\n", program: program)
        for testCase in fast?.cases ?? [] { #expect(RuleTestRunner.run(testCase, file: "f", program: program, coverage: recorder).passed) }
        var report = recorder.report(directory: "x")
        #expect(!report.rules[0].fires && report.rules[0].keptFromFiring == true)
        #expect(report.rules[0].operands.map(\.decisive) == [true, true])
        #expect(report.covered == 3 && report.total == 4)
        #expect(CoverageReport(ruleSets: [report]).reaches(75) && !CoverageReport(ruleSets: [report]).reaches(Decimal(string: "75.1") ?? 100))
        let (slow, _) = RuleTestFixtures.parse("- name: slow\n  events:\n" + checkout("K2", "5s", 0) + "  expect:\n    - { rule: r, actions: [send checkout_apology, voucher 5 EUR] }\n", program: program)
        for testCase in slow?.cases ?? [] { #expect(RuleTestRunner.run(testCase, file: "f", program: program, coverage: recorder).passed) }
        report = recorder.report(directory: "x")
        #expect(report.covered == 4 && CoverageReport.percentText(report.covered, report.total) == "100.0%")
    }

    @Test func anAbsenceRuleCancelledInTimeWasKeptFromFiring() throws {
        let program = try #require(RuleTestFixtures.shop)
        let yaml = """
            - name: shipped in time
              events:
                - { event: order.placed, time: 2026-11-02T09:00:00Z, order: { id: O-1, customer_id: C-2 }, customer: { id: C-2, tier: Standard, country: DE, sms_opt_in: false } }
                - { event: shipment.shipped, time: 2026-11-03T09:00:00Z, shipment: { id: S-1, order_id: O-1, promised_at: 2026-11-06T09:00:00Z, destination_country: DE }, order: { id: O-1, customer_id: C-2, total: 10 EUR }, customer: { id: C-2, tier: Standard, country: DE, sms_opt_in: false } }
              until: 2026-11-05T00:00:00Z
              expect: nothing
            """
        let (file, diagnostics) = RuleTestFixtures.parse(yaml, program: program)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        let recorder = CoverageRecorder(program: program)
        for testCase in file?.cases ?? [] { #expect(RuleTestRunner.run(testCase, file: "f", program: program, coverage: recorder).passed) }
        let rule = try #require(recorder.report(directory: "x").rules.first { $0.rule == "not_shipped_in_48h" })
        #expect(!rule.fires && rule.keptFromFiring == true)
    }
}

struct RuleTestGoldenTests {
    static func run(coverage: Bool) throws -> RuleTestRun {
        let program = try #require(RuleTestFixtures.shop)
        let path = "tests/failing.test.yaml"
        let (file, diagnostics) = RuleTestParser.parse(SourceFile(path: path, text: RuleTestFixtures.text(RuleTestFixtures.directory.appendingPathComponent("failing.test.yaml"))),
                                                       program: program)
        try #require(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        let recorder = coverage ? CoverageRecorder(program: program) : nil
        let results = (file?.cases ?? []).map { RuleTestRunner.run($0, file: path, program: program, coverage: recorder) }
        return RuleTestRun(files: [.init(path: path, ruleSet: "rules/shop", cases: results)],
                           coverage: recorder.map { CoverageReport(ruleSets: [$0.report(directory: "rules/shop")]) })
    }

    @Test func humanFailureOutputMatchesGolden() throws {
        let run = try Self.run(coverage: false)
        #expect(run.passed == 1 && run.failed == 2)
        let output = RuleTestReport.human(run)
        #expect(output.contains("FAIL tests/failing.test.yaml:15 the author expects 10 EUR where the rule refunds 5 EUR"))
        #expect(RuleTestFixtures.matchesGolden(output, "failing.human.expected"), "\(output)")
    }

    @Test func jsonOutputMatchesGolden() throws {
        let output = RuleTestReport.json(try Self.run(coverage: true), minimumCoverage: 90)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(object["version"] as? Int == 1)
        #expect(RuleTestFixtures.matchesGolden(output, "failing.json.expected"), "\(output)")
    }

    @Test func junitOutputMatchesGolden() throws {
        let output = RuleTestReport.junit(try Self.run(coverage: true), minimumCoverage: 90)
        #expect(output.contains("<failure message=\"the decisions differ from those expected at tests/failing.test.yaml:15\""))
        #expect(output.contains("name=\"the author expects nothing &lt;&amp; &quot;escaped&quot;&gt;\""))
        #expect(RuleTestFixtures.matchesGolden(output, "failing.junit.expected"), "\(output)")
    }

    @Test(arguments: [("a<b", "a&lt;b"), ("\"x\" & 'y'", "&quot;x&quot; &amp; &apos;y&apos;"), ("bell\u{07}", "bell\u{FFFD}"), ("ok\nline", "ok\nline")])
    func xmlIsEscaped(text: String, escaped: String) {
        #expect(RuleTestReport.escape(text) == escaped)
    }

    @Test(arguments: [("tab\there", "tab&#9;here"), ("two\nlines", "two&#10;lines"), ("crlf\r\n", "crlf&#13;&#10;"), ("a<b", "a&lt;b")])
    func attributesKeepTabsAndNewlines(text: String, escaped: String) {
        #expect(RuleTestReport.attribute(text) == escaped)
    }

    /// A test file that could not be read is not green in JUnit or JSON, and the summary says so.
    @Test func aFileWithErrorsIsReportedInEveryFormat() throws {
        let good = try Self.run(coverage: false)
        let error = RuleTestRun.FileError(code: "E0602", message: "`events` is a list of events", file: "tests/bad.test.yaml", line: 2, column: 11,
                                          text: "error[E0602]: `events` is a list of events\n --> tests/bad.test.yaml:2:11\n")
        let run = RuleTestRun(files: good.files + [.init(path: "tests/bad.test.yaml", ruleSet: "", cases: [], errors: [error])], coverage: nil)
        #expect(RuleTestReport.human(run).hasSuffix("1 passed, 2 failed, 1 file with errors\n"))
        let junit = RuleTestReport.junit(run)
        #expect(junit.contains("<testsuites name=\"redress test\" tests=\"4\" failures=\"2\" errors=\"1\" time=\"0\">"), "\(junit)")
        #expect(junit.contains("<testsuite name=\"tests/bad.test.yaml\" tests=\"1\" failures=\"0\" errors=\"1\""), "\(junit)")
        #expect(junit.contains("<error message=\"`events` is a list of events\" type=\"E0602\">error[E0602]: `events` is a list of events\n --&gt; tests/bad.test.yaml:2:11\n</error>"), "\(junit)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(RuleTestReport.json(run).utf8)) as? [String: Any])
        #expect((object["summary"] as? [String: Any])?["errors"] as? Int == 1)
        let bad = try #require((object["files"] as? [[String: Any]])?.last)
        #expect(bad["ruleSet"] as? String == ".")
        let diagnostics = try #require(bad["diagnostics"] as? [[String: Any]])
        #expect(diagnostics.first?["code"] as? String == "E0602" && diagnostics.first?["line"] as? Int == 2 && diagnostics.first?["column"] as? Int == 11)
    }

    /// A rule set with errors has no coverage: no "100.0% (0/0)", no passing minimum.
    @Test func coverageOfARuleSetWithErrorsIsNotMeasured() throws {
        let coverage = CoverageReport(ruleSets: [], unmeasured: ["rules/broken"])
        #expect(!coverage.reaches(50))
        let run = RuleTestRun(files: [], coverage: coverage)
        let human = RuleTestReport.human(run, minimumCoverage: 50)
        #expect(!human.contains("100.0%") && !human.contains("minimum 50% reached"), "\(human)")
        #expect(human.contains("coverage: could not be measured (the rule set rules/broken has errors), minimum 50% not reached"), "\(human)")
        let junit = RuleTestReport.junit(run, minimumCoverage: 50)
        #expect(junit.contains("<failure message=\"coverage could not be measured: the rule set rules/broken has errors\" type=\"CoverageNotMeasured\"/>"), "\(junit)")
        let json = RuleTestReport.json(run, minimumCoverage: 50)
        #expect(json.contains("\"reached\" : false") && json.contains("\"unmeasured\" : [") && !json.contains("\"percent\""), "\(json)")
    }
}

/// YAML aliases in a test file are read like in every other YAML file: what they repeat is
/// bounded, so an alias bomb in an event's field is a diagnostic, not a reader walking ten
/// billion nodes (it was: `redress test` hung, while the same bomb in `expect` was refused).
struct RuleTestAliasTests {
    /// Ten levels of ten aliases, as the items of a list, indented by `indent`.
    static func bomb(_ indent: String) -> String {
        var lines = ["\(indent)- &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1..<10 {
            lines.append("\(indent)- &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n")
    }

    static let eventWithSegments = """
        - event: shipment.delivered
          time: 2026-11-09T14:00:00Z
          shipment: { id: S-1, order_id: O-1, destination_country: DE, promised_at: 2026-11-05T18:00:00Z, delivered_at: 2026-11-09T14:00:00Z, delay: 3d20h }
          order: { id: O-1, customer_id: C-1, placed_at: 2026-11-02T09:00:00Z, total: 89.90 EUR, payment_method: card }
          customer:
            id: C-1
            tier: VIP
            country: DE
            sms_opt_in: false
            segments:
    """

    @Test(arguments: ["event field", "expect", "given"])
    func anAliasBombIsRefusedAtOnce(place: String) throws {
        let program = try #require(RuleTestFixtures.shop)
        let yaml: String
        switch place {
        case "event field": yaml = "- name: bomb\n  events:\n\(Self.eventWithSegments)\n\(Self.bomb("          "))\n  expect: nothing\n"
        case "expect": yaml = "- name: bomb\n  events:\n\(deliveredEvent)\n  expect:\n\(Self.bomb("    "))\n"
        default: yaml = "- name: bomb\n  given:\n    events:\n  \(Self.eventWithSegments.replacingOccurrences(of: "\n", with: "\n  "))\n\(Self.bomb("            "))\n  events:\n\(deliveredEvent)\n  expect: nothing\n"
        }
        let clock = ContinuousClock()
        let start = clock.now
        let (file, diagnostics) = RuleTestFixtures.parse(yaml, program: program)
        #expect(clock.now - start < .seconds(2))
        #expect(file == nil)
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostics.count == 1)
        #expect(diagnostic.code.rawValue == "E0601")
        #expect(diagnostic.message == "YAML aliases repeat more than \(YAMLReader.maximumAliasedNodes) nodes")
        #expect(diagnostic.span != .empty)
    }

    @Test func anchoredValuesWithinTheBoundAreRead() throws {
        let program = try #require(RuleTestFixtures.shop)
        let yaml = """
            - name: anchors for repeated values
              events:
                - event: shipment.delivered
                  time: 2026-11-09T14:00:00Z
                  shipment: { id: S-1, order_id: O-1, destination_country: DE, promised_at: 2026-11-05T18:00:00Z, delivered_at: 2026-11-09T14:00:00Z, delay: 3d20h }
                  order: &order { id: O-1, customer_id: C-1, placed_at: 2026-11-02T09:00:00Z, total: 89.90 EUR, payment_method: card }
                  customer: &vip { id: C-1, tier: VIP, country: DE, sms_opt_in: false, segments: &segments [a, b] }
                - event: shipment.delivered
                  time: 2026-11-09T15:00:00Z
                  shipment: { id: S-2, order_id: O-1, destination_country: DE, promised_at: 2026-11-05T18:00:00Z, delivered_at: 2026-11-09T15:00:00Z, delay: 3d21h }
                  order: *order
                  customer: *vip
              expect: nothing

            """
        let (file, diagnostics) = RuleTestFixtures.parse(yaml, program: program)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        #expect(file?.cases.first?.events.count == 2)
    }
}
