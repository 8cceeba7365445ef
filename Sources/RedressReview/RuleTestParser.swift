import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressSemantics
import RedressSyntax
import Yams

typealias YAMLNode = Yams.Node

/// Reads a `*.test.yaml` file against a compiled rule set. Every mistake is a diagnostic with
/// the file, line and column (from Yams' node marks), rendered like `redress check` renders its
/// own. Codes: E0601 for YAML syntax, E0602 for a file that does not have the shape of a test
/// file (unknown keys, wrong types, values the event reader refuses), E0201–E0206 for names the
/// rule set does not know (with "did you mean").
public final class RuleTestParser {
    let source: SourceFile
    let program: Program
    /// The catalog as checked: argument kinds of actions. Without it, kinds are taken from the
    /// compiled catalog's costs (money for `amount`, integer for `per_unit`).
    let catalog: Catalog?
    let reader: EventReader
    /// Reads a file named by `events_file:` (path relative to the test file); nil if it cannot.
    /// The bytes of an `events_file` (bytes, not text: the event reader must see invalid UTF-8 to refuse it).
    let readFile: (String) -> [UInt8]?
    var diagnostics: [Diagnostic] = []
    /// What the top of the file (and, while a case is read, the case) sets for its events.
    var scope = Scope()

    init(source: SourceFile, program: Program, catalog: Catalog? = nil, readFile: @escaping (String) -> [UInt8]?) {
        self.source = source
        self.program = program
        self.catalog = catalog
        reader = EventReader(program: program)
        self.readFile = readFile
    }

    public static func parse(_ source: SourceFile, program: Program, catalog: Catalog? = nil, readFile: @escaping (String) -> [UInt8]? = { path in
        FileManager.default.contents(atPath: path).map { Array($0) }
    }) -> (RuleTestFile?, [Diagnostic]) {
        let parser = RuleTestParser(source: source, program: program, catalog: catalog, readFile: readFile)
        let file = parser.file()
        return (parser.diagnostics.isEmpty ? file : nil, parser.diagnostics)
    }

    static let fileKeys = ["rules", "start", "defaults", "fixtures", "tests"]
    static let caseKeys = ["name", "description", "rules", "start", "use", "given", "events", "events_file", "until", "expect"]
    static let givenKeys = ["events", "events_file", "decisions"]
    static let eventKeys = ["event", "type", "time", "after", "id", "use"]
    static let expectKeys = ["rule", "subject", "customer", "time", "actions", "none"]
    static let actionKeys = ["verb", "amount", "argument", "channel"]

    // MARK: - Structure

    func file() -> RuleTestFile {
        var result = RuleTestFile(path: source.path, source: source, cases: [])
        // Bounded like every YAML file Redress reads: nesting and what aliases repeat.
        let (root, refusal) = YAMLReader.compose(source)
        if let refusal {
            diagnostics.append(refusal)
            return result
        }
        // An empty or comment-only file has no cases, like `[]`.
        guard let root else { return result }
        let cases: [YAMLNode]
        switch root {
        case .sequence(let list):
            cases = Array(list)
        case .mapping(let mapping) where mapping.contains(where: { $0.key.string == "tests" })
            || !mapping.contains(where: { ["name", "events", "expect"].contains($0.key.string ?? "") }):
            // The short form: what the cases share above them, the cases under `tests:`.
            guard let entries = self.mapping(root, ""), let list = fileSettings(entries, root) else { return result }
            cases = list
        default:
            problem("a test file is a YAML list of test cases, or a mapping with the cases under `tests:`", root, "expected a list",
                    help: "start each case with `- name: ...` (or put the cases under `tests:`); see docs/testing.md")
            return result
        }
        var names: [String: Int] = [:]
        let fileScope = scope
        for node in cases {
            scope = fileScope
            guard let testCase = testCase(node) else { continue }
            if let first = names[testCase.name] {
                problem("two test cases are named `\(testCase.name)`", value(node, "name") ?? node, "also on line \(first)",
                        help: "give every case of a file its own name")
            }
            names[testCase.name] = testCase.line
            result.cases.append(testCase)
        }
        return result
    }

    func testCase(_ node: YAMLNode) -> RuleTestCase? {
        guard let entries = mapping(node, "a test case is a mapping with `name`, `events` and `expect`") else { return nil }
        checkKeys(entries, allowed: Self.caseKeys, in: "a test case")
        guard let nameNode = entries.first(where: { $0.key == "name" })?.value else {
            problem("this test case has no `name`", node, "no name", help: "add `name: what the case shows` as its first key")
            return nil
        }
        let name = text(nameNode, "`name` must be text") ?? ""
        if case .scalar = nameNode, name.trimmingCharacters(in: .whitespaces).isEmpty {
            problem("the name of a test case cannot be empty", nameNode, "empty name",
                    help: "say what the case shows, e.g. `name: a VIP parcel three days late is refunded`")
        }
        caseSettings(entries)
        var history: [(event: TestEvent, place: EventPlace)] = []
        var earlier: [(EarlierDecision, YAMLNode)] = []
        var testCase = RuleTestCase(name: name, description: nil, line: line(of: nameNode), history: [], earlierDecisions: [],
                                    events: [], until: nil, expected: [])
        if let description = entries.first(where: { $0.key == "description" })?.value {
            testCase.description = text(description, "`description` must be text")
        }
        if let given = entries.first(where: { $0.key == "given" })?.value, let givenEntries = mapping(given, "`given` is a mapping with `events`, `events_file` or `decisions`") {
            checkKeys(givenEntries, allowed: Self.givenKeys, in: "`given`")
            history = events(in: givenEntries, owner: given)
            testCase.history = history.map(\.event)
            if let decisions = givenEntries.first(where: { $0.key == "decisions" })?.value, let list = sequence(decisions, "`decisions` is a list of earlier decisions") {
                for item in list {
                    guard let decision = earlierDecision(item) else { continue }
                    testCase.earlierDecisions.append(decision)
                    earlier.append((decision, value(item, "time") ?? item))
                }
            }
        }
        testCase.events = events(in: entries, owner: node).map(\.event)
        // The starting state comes before the case: nothing of `given` may be later than its first event.
        if let first = testCase.events.first?.event.time {
            for (decision, timeNode) in earlier where decision.time > first {
                problem("this earlier decision is later than the case's first event (\(TimeFormat.format(timestamp: first)))", timeNode, "after the first event",
                        help: "`given` is the state before the case: date its decisions no later than the first event")
            }
            for (event, place) in history where event.event.time > first {
                problem("\(place.fromFile.map { "line \(event.line) of `\($0)`: " } ?? "")this history event is later than the case's first event (\(TimeFormat.format(timestamp: first)))",
                        place.node, "after the first event",
                        help: "`given` events are the history before the case: date them no later than its first event, or move them to `events`")
            }
        }
        if !entries.contains(where: { $0.key == "events" || $0.key == "events_file" }) {
            problem("test case `\(name)` has no `events`", nameNode, "no events",
                    help: "add `events:` with a list of events, or `events_file: FILE.jsonl`")
        }
        if let until = entries.first(where: { $0.key == "until" })?.value {
            testCase.until = timestamp(until, "`until`")
            if let time = testCase.until, let last = testCase.events.map(\.event.time).max(), time < last {
                problem("`until` is earlier than the case's last event (\(TimeFormat.format(timestamp: last)))", until, "before the last event",
                        help: "`until` moves the clock on after the last event: give a later time, or leave it out")
            }
        }
        if let expect = entries.first(where: { $0.key == "expect" })?.value {
            testCase.expected = expected(expect)
            if let rules = scope.rules {
                // A case is about its `rules:` and about every rule it says something of.
                let named = Set(rules.map { program.rules[$0].name } + testCase.expected.map(\.rule))
                testCase.focus = program.rules.map(\.name).filter(named.contains)
            }
        } else {
            problem("test case `\(name)` has no `expect`", nameNode, "nothing expected",
                    help: "add `expect:` with the decisions it should make, or `expect: nothing`")
        }
        return testCase
    }

    // MARK: - The short form: focus, start, defaults and fixtures

    /// What applies to the events and expectations being read: set at the top of a file in the
    /// short form, and changed by a case (`rules:`, `start:`, `use:`) for that case.
    struct Scope {
        /// The rules (by index) the cases are about; nil: every rule.
        var rules: [Int]?
        /// `start:`: what relative times (`+3d`) count from, and the time of a first event without one.
        var start: Int64?
        /// `defaults:`: fields of entities, given to every event that carries the entity.
        var defaults: [Int: [Entry]] = [:]
        /// `fixtures:` by name.
        var fixtures: [String: Fixture] = [:]
        /// `use:` of the case: fixtures applied to each of its events.
        var use: [Fixture] = []
    }

    /// A named set of entities with some of their fields (`vip: { customer: { id: C-1, tier: VIP } }`).
    struct Fixture {
        var name: String
        var entities: [Int: [Entry]]
    }

    /// The top of a file in the short form: `rules`, `start`, `defaults` and `fixtures` (into
    /// `scope`), and the list of cases under `tests`.
    func fileSettings(_ entries: [Entry], _ root: YAMLNode) -> [YAMLNode]? {
        checkKeys(entries, allowed: Self.fileKeys, in: "a test file")
        if let rules = entries.first(where: { $0.key == "rules" }) { scope.rules = focus(rules.value) ?? nil }
        if let start = entries.first(where: { $0.key == "start" }) { scope.start = startTime(start.value) }
        if let defaults = entries.first(where: { $0.key == "defaults" }) { scope.defaults = entities(defaults.value, "`defaults`") ?? [:] }
        if let fixtures = entries.first(where: { $0.key == "fixtures" }) {
            let help = "name each fixture and give its entities, e.g. `fixtures: { vip: { customer: { id: C-1, tier: VIP } } }`"
            for entry in mapping(fixtures.value, "`fixtures` is a mapping of names to fixtures", help: help) ?? [] {
                guard case .scalar = entry.keyNode, !entry.key.isEmpty else {
                    problem("a fixture's name must be a text", entry.keyNode, "not a name", help: help)
                    continue
                }
                guard let entities = entities(entry.value, "the fixture `\(entry.key)`") else { continue }
                scope.fixtures[entry.key] = Fixture(name: entry.key, entities: entities)
            }
        }
        guard let tests = entries.first(where: { $0.key == "tests" }) else {
            problem("this test file has no `tests`", root, "no tests",
                    help: "list the test cases under `tests:`, each starting with `- name: ...`")
            return nil
        }
        return sequence(tests.value, "`tests` is a list of test cases", help: "start each case with `- name: ...`")
    }

    /// A case's own `rules`, `start` and `use`, over those of the file.
    func caseSettings(_ entries: [Entry]) {
        if let rules = entries.first(where: { $0.key == "rules" }), let focus = focus(rules.value) { scope.rules = focus }
        if let start = entries.first(where: { $0.key == "start" }), let time = startTime(start.value) { scope.start = time }
        if let use = entries.first(where: { $0.key == "use" }), let fixtures = fixtures(use.value) { scope.use = fixtures }
    }

    /// `rules: [a, b]` (or one name): the rules a test is about, by index. `rules: all`: every
    /// rule (`.some(nil)`). nil when the value is wrong (with a diagnostic).
    func focus(_ node: YAMLNode) -> [Int]?? {
        let help = "name the rules the test is about, e.g. `rules: [late_delivery_points]`, or write `rules: all`"
        if case .scalar(let scalar) = node, scalar.style == .plain, scalar.string == "all" { return .some(nil) }
        let names: [YAMLNode]
        switch node {
        case .scalar: names = [node]
        case .sequence(let list): names = Array(list)
        default:
            problem("`rules` is a list of rule names", node, "expected a list", help: help)
            return nil
        }
        if names.isEmpty {
            problem("`rules` names no rule", node, "empty list", help: help)
            return nil
        }
        var rules: [Int] = []
        for name in names {
            guard let text = text(name, "`rules` is a list of rule names", help: help) else { return nil }
            guard let index = program.rules.firstIndex(where: { $0.name == text }) else {
                error(.unknownName, "the rule set has no rule `\(text)`", name, "unknown rule",
                      help: Suggestions.closest(text, among: program.rules.map(\.name)).map { "did you mean `\($0)`?" } ?? "rules are named as in `rule NAME`; anonymous ones as `FILE:N`")
                return nil
            }
            rules.append(index)
        }
        return .some(rules)
    }

    /// `start:`: a time written in full (what relative times count from).
    func startTime(_ node: YAMLNode) -> Int64? {
        if Self.relative(node) != nil {
            problem("`start` must be a time written in full", node, "relative time",
                    help: "write e.g. `start: 2026-11-02T09:00:00Z`; the times of the events may then be relative to it, such as `+3d`")
            return nil
        }
        return timestamp(node, "`start`")
    }

    /// `customer: { tier: VIP }, order: { total: 5 EUR }`: entities with some of their fields,
    /// as `defaults:` and each fixture give them. Names are checked as in events.
    func entities(_ node: YAMLNode, _ what: String) -> [Int: [Entry]]? {
        let help = "give entities with some of their fields, e.g. `customer: { id: C-1, tier: VIP }`"
        guard let entries = mapping(node, "\(what) is a mapping of entities to their fields", help: help) else { return nil }
        var result: [Int: [Entry]] = [:]
        var valid = true
        for entry in entries {
            guard let entity = program.entities.firstIndex(where: { $0.name == entry.key }) else {
                let names = program.entities.map(\.name)
                error(.unknownEntity, "`\(entry.key)` is not an entity of the schema", entry.keyNode, "unknown entity",
                      help: Suggestions.closest(entry.key, among: names).map { "did you mean `\($0)`?" } ?? "the schema's entities: \(names.joined(separator: ", "))")
                valid = false
                continue
            }
            guard let fields = fields(of: entity, entry.value) else { valid = false; continue }
            result[entity] = fields
        }
        return valid ? result : nil
    }

    /// The fields written for an entity (in an event, `defaults:` or a fixture), each checked
    /// against the schema.
    func fields(of entity: Int, _ node: YAMLNode) -> [Entry]? {
        let name = program.entities[entity].name
        guard let fields = mapping(node, "`\(name)` must be a mapping of its fields", help: "write e.g. `\(name): { \(program.entities[entity].key): X-1 }`") else { return nil }
        let names = program.entities[entity].fields.map(\.name)
        var valid = true
        for field in fields where !names.contains(field.key) {
            error(.unknownField, "`\(name)` has no field `\(field.key)`", field.keyNode, "unknown field",
                  help: Suggestions.closest(field.key, among: names).map { "did you mean `\($0)`?" } ?? "see the schema's fields of `\(name)`")
            valid = false
        }
        return valid ? fields : nil
    }

    /// `use: vip` or `use: [vip, late_parcel]`: fixtures by name.
    func fixtures(_ node: YAMLNode) -> [Fixture]? {
        let names: [YAMLNode]
        switch node {
        case .scalar: names = [node]
        case .sequence(let list): names = Array(list)
        default:
            problem("`use` is a fixture's name or a list of them", node, "expected a list", help: "write e.g. `use: [vip, late_parcel]`")
            return nil
        }
        var result: [Fixture] = []
        for name in names {
            guard let text = text(name, "`use` is a list of fixture names", help: "write e.g. `use: [vip, late_parcel]`") else { return nil }
            guard let fixture = scope.fixtures[text] else {
                let known = scope.fixtures.keys.sorted()
                problem("there is no fixture `\(text)`", name, "unknown fixture",
                        help: known.isEmpty ? "define it at the top of the file, under `fixtures:` (see docs/testing.md)"
                            : Suggestions.closest(text, among: known).map { "did you mean `\($0)`?" } ?? "the fixtures of this file: \(known.joined(separator: ", "))")
                return nil
            }
            result.append(fixture)
        }
        return result
    }

    /// A value for the JSON line of an event: as written in YAML, or made by the reading.
    enum Value {
        case written(YAMLNode)
        case made(String)
        var json: String {
            switch self {
            case .written(let node): RuleTestParser.json(node)
            case .made(let text): JSONText.quote(text)
            }
        }
    }

    /// The time of an event: `time:` as written (in full, or relative to `start:`), or `after:`
    /// the event before it, or, without either, that of the event before it (the first: `start:`).
    func eventTime(_ entries: [Entry], _ node: YAMLNode, previous: Int64?) -> Value? {
        let time = entries.first(where: { $0.key == "time" })
        let after = entries.first(where: { $0.key == "after" })
        if let time, let after {
            problem("this event has both `time` and `after`", after.keyNode, "second time",
                    help: "give `time:` (e.g. `+3d` after `start:`) or `after:` (e.g. `2h` after the event before), not both")
            return nil
        }
        if let time {
            guard Self.relative(time.value) != nil else { return .written(time.value) }
            return timestamp(time.value, "`time`").map { .made(TimeFormat.format(timestamp: $0)) }
        }
        let base = previous ?? scope.start
        if let after {
            guard let text = text(after.value, "`after` must be a duration", help: "write e.g. `after: 2h`"),
                  let duration = Self.duration(text), duration >= 0 else {
                problem("`after` must be a duration such as `2h` or `1d12h`", after.value, "not a duration",
                        help: "write how long after the event before this one it happens, e.g. `after: 2h`")
                return nil
            }
            guard let base else {
                problem("`after` needs an event before it, or a `start:`", after.value, "after nothing",
                        help: "give the first event a `time:`, or add `start: 2026-11-02T09:00:00Z` to the test or at the top of the file")
                return nil
            }
            let (time, overflow) = base.addingReportingOverflow(duration)
            guard !overflow else {
                problem("`after` is too long", after.value, "out of range", help: "write a duration of days or hours, e.g. `after: 2h`")
                return nil
            }
            return .made(TimeFormat.format(timestamp: time))
        }
        guard let base else {
            problem("this event has no `time`", node, "no time",
                    help: "add `time: 2026-11-09T14:00:00Z`, or `start:` to the test or at the top of the file: an event without a time happens when the one before it did, the first at `start`")
            return nil
        }
        return .made(TimeFormat.format(timestamp: base))
    }

    /// The entities of an event, complete: for each entity the event carries and something
    /// gives (`defaults:`, the fixtures used, the event itself, in that order, later fields over
    /// earlier ones), its fields, with relative times resolved, the key `<entity>-1` when none
    /// is given (so events without keys are about one customer, one order, ...), and references
    /// to the other entities of the event (`order_id`, `customer_id`) filled in from their keys.
    func complete(type: Int, written: [Int: [Entry]], used: [Fixture]) -> [(entity: Int, fields: [(name: String, value: Value)])]? {
        var result: [(entity: Int, fields: [(name: String, value: Value)])] = []
        var valid = true
        for entity in program.events[type].carries {
            let layers = [scope.defaults[entity]] + used.map { $0.entities[entity] } + [written[entity]]
            guard layers.contains(where: { $0 != nil }) else { continue }
            var fields: [(name: String, value: Value)] = []
            for layer in layers.compactMap({ $0 }) {
                for entry in layer {
                    if let index = fields.firstIndex(where: { $0.name == entry.key }) { fields[index].value = .written(entry.value) } else {
                        fields.append((entry.key, .written(entry.value)))
                    }
                }
            }
            let definition = program.entities[entity]
            for index in fields.indices {
                guard case .written(let node) = fields[index].value, Self.relative(node) != nil,
                      definition.fields.first(where: { $0.name == fields[index].name })?.type.hasPrefix("timestamp") == true else { continue }
                guard let time = timestamp(node, "`\(definition.name).\(fields[index].name)`") else { valid = false; continue }
                fields[index].value = .made(TimeFormat.format(timestamp: time))
            }
            if !fields.contains(where: { $0.name == definition.key }) { fields.insert((definition.key, .made("\(definition.name)-1")), at: 0) }
            result.append((entity, fields))
        }
        for index in result.indices {
            let definition = program.entities[result[index].entity]
            for other in result where other.entity != result[index].entity {
                let otherDefinition = program.entities[other.entity]
                let reference = otherDefinition.name + "_" + otherDefinition.key
                guard definition.fields.contains(where: { $0.name == reference }), !result[index].fields.contains(where: { $0.name == reference }),
                      let key = other.fields.first(where: { $0.name == otherDefinition.key }) else { continue }
                result[index].fields.append((reference, key.value))
            }
        }
        return valid ? result : nil
    }

    /// `+3d`, `-12h`: a plain scalar that is a signed duration (a time relative to `start:`).
    static func relative(_ node: YAMLNode) -> Int64? {
        guard case .scalar(let scalar) = node, scalar.style == .plain, let sign = scalar.string.first, sign == "+" || sign == "-",
              let duration = duration(String(scalar.string.dropFirst())) else { return nil }
        return sign == "-" ? -duration : duration
    }

    /// `3d`, `1d12h`, `90m` in milliseconds (unsigned), as the event reader reads durations;
    /// nil when the sum does not fit.
    static func duration(_ text: String) -> Int64? {
        guard let first = text.first, first.isASCII, first.isNumber else { return nil }
        // Part by part (`1d`, `12h`), so that a sum too large is refused rather than overflowing.
        var total: Int64 = 0
        var part: [UInt8] = []
        let bytes = Array(text.utf8)
        for (index, byte) in bytes.enumerated() {
            part.append(byte)
            let digit = byte >= 48 && byte <= 57
            let next = index + 1 < bytes.count ? bytes[index + 1] : nil
            // A part ends after its unit: a letter not followed by another letter (`ms`).
            guard !digit, next.map({ $0 >= 48 && $0 <= 57 }) ?? true else { continue }
            guard let value = part.withUnsafeBufferPointer({ TimeFormat.duration($0) }) else { return nil }
            let (sum, overflow) = total.addingReportingOverflow(value)
            guard !overflow else { return nil }
            total = sum
            part = []
        }
        return part.isEmpty ? total : nil
    }

    // MARK: - Events

    /// Where an event was written: its inline mapping, or the `events_file:` value (with the file's name).
    struct EventPlace {
        var node: YAMLNode
        var fromFile: String?
    }

    /// The events of `events:` or `events_file:` in a case or in `given`.
    func events(in entries: [Entry], owner: YAMLNode) -> [(event: TestEvent, place: EventPlace)] {
        let inline = entries.first(where: { $0.key == "events" })
        let file = entries.first(where: { $0.key == "events_file" })
        if let inline, let file {
            problem("`events` and `events_file` cannot both be given", file.keyNode, "second source of events",
                    help: "put the events in one place: inline under `events:`, or in the file")
            return []
        }
        if let inline {
            guard let list = sequence(inline.value, "`events` is a list of events, each a mapping like a line of JSON events") else { return [] }
            // An event without a time happens when the one before it did; `after:` counts from it.
            var previous: Int64? = nil
            var result: [(event: TestEvent, place: EventPlace)] = []
            for node in list {
                guard let event = inlineEvent(node, previous: previous) else { continue }
                previous = event.event.time
                result.append((event, EventPlace(node: node, fromFile: nil)))
            }
            return result
        }
        if let file {
            let name = file.value.string
            return eventsFile(file.value).map { ($0, EventPlace(node: file.value, fromFile: name)) }
        }
        return []
    }

    /// One inline event. In the short form it may leave out what fixtures (`use:`) and
    /// `defaults:` give, its time (then it happens when the event before it did, the first at
    /// `start:`), times relative to `start:` (`+3d`) and the keys of its entities.
    func inlineEvent(_ node: YAMLNode, previous: Int64?) -> TestEvent? {
        guard let entries = mapping(node, "an event is a mapping: `event`, `time`, `id` and one mapping per entity") else { return nil }
        guard let typeEntry = entries.first(where: { $0.key == "event" || $0.key == "type" }) else {
            problem("this event has no `event`", node, "no event type", help: "add `event: shipment.delivered` (a type from the schema)")
            return nil
        }
        if let second = entries.filter({ $0.key == "event" || $0.key == "type" }).dropFirst().first {
            problem("this event has both `event` and `type`", second.keyNode, "second event type",
                    help: "`event` and `type` are the same key: give one of them")
            return nil
        }
        let idEntry = entries.first(where: { $0.key == "id" })
        if let id = idEntry, !id.value.isScalarNode {
            problem("the `id` of an event must be a text or a number", id.value, "not a scalar", help: "write e.g. `id: E-1`")
            return nil
        }
        guard let typeName = text(typeEntry.value, "`event` must be an event type such as shipment.delivered") else { return nil }
        guard let type = program.events.firstIndex(where: { $0.name == typeName }) else {
            error(.unknownEvent, "unknown event type `\(typeName)`", typeEntry.value, "not in the schema",
                  help: Suggestions.closest(typeName, among: program.events.map(\.name)).map { "did you mean `\($0)`?" } ?? "the schema's events: \(program.events.map(\.name).joined(separator: ", "))")
            return nil
        }
        let carried = program.events[type].carries.map { program.entities[$0].name }
        var valid = true
        var written: [Int: [Entry]] = [:]
        for entry in entries where !Self.eventKeys.contains(entry.key) {
            guard let entity = program.entities.firstIndex(where: { $0.name == entry.key }) else {
                error(.unknownEntity, "`\(entry.key)` is neither an entity nor a key of an event", entry.keyNode, "unknown",
                      help: Suggestions.closest(entry.key, among: carried + Self.eventKeys).map { "did you mean `\($0)`?" }
                        ?? "`\(typeName)` carries \(carried.map { "`\($0)`" }.joined(separator: ", "))")
                valid = false
                continue
            }
            guard carried.contains(entry.key) else {
                error(.unknownEntity, "`\(typeName)` does not carry `\(entry.key)`", entry.keyNode, "not carried by this event",
                      help: "`\(typeName)` carries \(carried.map { "`\($0)`" }.joined(separator: ", "))")
                valid = false
                continue
            }
            guard let fields = fields(of: entity, entry.value) else { valid = false; continue }
            written[entity] = fields
        }
        var used = scope.use
        if let use = entries.first(where: { $0.key == "use" }) {
            if let fixtures = fixtures(use.value) { used += fixtures } else { valid = false }
        }
        let time = eventTime(entries, node, previous: previous)
        guard valid, let time else { return nil }
        guard let entities = complete(type: type, written: written, used: used) else { return nil }
        var json = "{\"event\":" + JSONText.quote(typeName) + ",\"time\":" + time.json
        if let id = idEntry { json += ",\"id\":" + Self.json(id.value) }
        for (entity, fields) in entities {
            json += "," + JSONText.quote(program.entities[entity].name) + ":{" + fields.map { JSONText.quote($0.name) + ":" + $0.value.json }.joined(separator: ",") + "}"
        }
        json += "}"
        let number = line(of: node)
        var event = Event(slotCount: program.slots.count)
        if let reason = json.withUTF8({ reader.read($0, number: number, into: &event) }) {
            let missing = reason.contains(" is missing; ")
            problem("this event cannot be read: \(reason)", node, "refused by the event reader",
                    help: missing ? "give that field in the event, in a fixture it uses (`use:`), or under `defaults:` at the top of the file"
                        : "write values as in JSON events (docs/events.md): amounts as `4.99 EUR`, durations as `3d`, times as RFC 3339; quote texts that look like numbers")
            return nil
        }
        return TestEvent(event: event, line: number)
    }

    func eventsFile(_ node: YAMLNode) -> [TestEvent] {
        guard let name = text(node, "`events_file` must be a path") else { return [] }
        let directory = (source.path as NSString).deletingLastPathComponent
        let path = name.hasPrefix("/") || directory.isEmpty ? name : directory + "/" + name
        guard let contents = readFile(path) else {
            problem("cannot read the events file `\(path)`", node, "not found or unreadable",
                    help: "give the path of a JSON-lines file relative to this test file")
            return []
        }
        var result: [TestEvent] = []
        // Only for the places of diagnostics; each line is read from its bytes.
        let file = SourceFile(path: path, text: String(decoding: contents, as: UTF8.self))
        for (index, line) in contents.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
            var bytes = Array(line)
            if bytes.last == 13 { bytes.removeLast() }
            if index == 0, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
            if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
            // Names are checked on text; a line that is not UTF-8 goes straight to the reader, which says where.
            if bytes.withUnsafeBufferPointer({ UTF8Validation.firstInvalidByte(in: $0) }) == nil {
                guard checkNames(String(decoding: bytes, as: UTF8.self), line: index + 1, in: file, testFileNode: node) else { continue }
            }
            var event = Event(slotCount: program.slots.count)
            if let reason = bytes.withUnsafeBufferPointer({ reader.read($0, number: index + 1, into: &event) }) {
                problem("line \(index + 1) of `\(name)` cannot be read: \(reason)", node, "in this file",
                        help: "fix that line; the format is docs/events.md's JSON lines")
                continue
            }
            result.append(TestEvent(event: event, line: index + 1))
        }
        return result
    }

    /// The typo checks of inline events, for one line of an events file: an unknown event type
    /// (E0203), an entity the event does not carry or an unknown key (E0202), a field the entity
    /// does not have (E0201). The diagnostic points at the line and column in the events file,
    /// with the test file's `events_file:` as a second place. Lines that are not JSON objects are
    /// left to the event reader.
    func checkNames(_ text: String, line: Int, in file: SourceFile, testFileNode: YAMLNode) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return true }
        let lineStart = file.offset(line: line, column: 1)
        let bytes = Array(text.utf8)
        /// The span of `"key"` (followed by `:`) in the line, searching from byte `from`.
        func place(_ key: String, from: Int = 0) -> (start: Int, end: Int) {
            let quoted = Array(JSONText.quote(key).utf8)
            var index = from
            while index + quoted.count <= bytes.count {
                if Array(bytes[index..<index + quoted.count]) == quoted {
                    var after = index + quoted.count
                    while after < bytes.count, bytes[after] == UInt8(ascii: " ") || bytes[after] == UInt8(ascii: "\t") { after += 1 }
                    if after < bytes.count, bytes[after] == UInt8(ascii: ":") { return (index, index + quoted.count) }
                }
                index += 1
            }
            return (0, 1)
        }
        var valid = true
        func report(_ code: DiagnosticCode, _ message: String, _ at: (start: Int, end: Int), _ label: String, help: String?) {
            let primary = Label(file: file.path, span: Span(start: lineStart + at.start, end: lineStart + at.end), message: label)
            let secondary = Label(file: source.path, span: span(of: testFileNode), message: "line \(line) of this events file")
            diagnostics.append(Diagnostic(code, "line \(line) of `\(file.path)`: \(message)", at: primary, secondary: [secondary], help: help))
            valid = false
        }
        guard let typeName = (object["event"] ?? object["type"]) as? String else { return true }
        guard let type = program.events.firstIndex(where: { $0.name == typeName }) else {
            let key = object["event"] != nil ? "event" : "type"
            let at = place(key)
            report(.unknownEvent, "unknown event type `\(typeName)`", at, "not in the schema",
                   help: Suggestions.closest(typeName, among: program.events.map(\.name)).map { "did you mean `\($0)`?" } ?? "the schema's events: \(program.events.map(\.name).joined(separator: ", "))")
            return false
        }
        let carried = program.events[type].carries.map { program.entities[$0].name }
        for key in object.keys.sorted() where !["event", "type", "time", "id"].contains(key) {
            let at = place(key)
            guard let entity = program.entities.first(where: { $0.name == key }) else {
                report(.unknownEntity, "`\(key)` is neither an entity nor a key of an event", at, "unknown",
                       help: Suggestions.closest(key, among: carried + ["event", "time", "id"]).map { "did you mean `\($0)`?" }
                        ?? "`\(typeName)` carries \(carried.map { "`\($0)`" }.joined(separator: ", "))")
                continue
            }
            guard carried.contains(entity.name) else {
                report(.unknownEntity, "`\(typeName)` does not carry `\(entity.name)`", at, "not carried by this event",
                       help: "`\(typeName)` carries \(carried.map { "`\($0)`" }.joined(separator: ", "))")
                continue
            }
            guard let fields = object[key] as? [String: Any] else { continue }
            let names = entity.fields.map(\.name)
            for field in fields.keys.sorted() where !names.contains(field) {
                report(.unknownField, "`\(entity.name)` has no field `\(field)`", place(field, from: at.end), "unknown field",
                       help: Suggestions.closest(field, among: names).map { "did you mean `\($0)`?" } ?? "see the schema's fields of `\(entity.name)`")
            }
        }
        return valid
    }

    /// The event as one JSON line: YAML plain scalars that read as JSON numbers, booleans or null
    /// become those; everything else (quoted, or any other text) becomes a string.
    static func json(_ node: YAMLNode) -> String {
        switch node {
        case .scalar(let scalar):
            let value = scalar.string
            if scalar.style == .plain {
                if ["true", "True", "TRUE"].contains(value) { return "true" }
                if ["false", "False", "FALSE"].contains(value) { return "false" }
                if ["", "~", "null", "Null", "NULL"].contains(value) { return "null" }
                if isJSONNumber(value) { return value }
            }
            return JSONText.quote(value)
        case .mapping(let mapping):
            return "{" + mapping.map { JSONText.quote($0.key.string ?? "") + ":" + json($0.value) }.joined(separator: ",") + "}"
        case .sequence(let sequence):
            return "[" + sequence.map(json).joined(separator: ",") + "]"
        default:
            return "null"
        }
    }

    /// `-?(0|[1-9][0-9]*)(.[0-9]+)?`: no exponent, no leading zeros (`007` stays a text).
    static func isJSONNumber(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.first == "-" { rest = rest.dropFirst() }
        let whole = rest.prefix(while: { $0.isASCII && $0.isNumber })
        guard !whole.isEmpty, whole == "0" || whole.first != "0" else { return false }
        rest = rest.dropFirst(whole.count)
        if rest.isEmpty { return true }
        guard rest.first == "." else { return false }
        let fraction = rest.dropFirst()
        return !fraction.isEmpty && fraction.allSatisfy { $0.isASCII && $0.isNumber }
    }


    // MARK: - Expectations

    func expected(_ node: YAMLNode) -> [ExpectedDecision] {
        if case .scalar(let scalar) = node, scalar.style == .plain, scalar.string == "nothing" { return [] }
        guard let list = sequence(node, "`expect` is a list of decisions, or `nothing`") else { return [] }
        return list.compactMap(expectedDecision)
    }

    func expectedDecision(_ node: YAMLNode) -> ExpectedDecision? {
        guard let entries = mapping(node, "an expected decision is a mapping with `rule` and optionally `subject`, `customer`, `time`, `actions`, `none`") else { return nil }
        checkKeys(entries, allowed: Self.expectKeys, in: "an expected decision")
        guard let rule = ruleName(entries, node) else { return nil }
        var decision = ExpectedDecision(rule: program.rules[rule].name, line: line(of: node))
        if let subject = entries.first(where: { $0.key == "subject" })?.value { decision.subject = text(subject, "`subject` must be the key of the decision's subject") }
        if let customer = entries.first(where: { $0.key == "customer" })?.value { decision.customer = text(customer, "`customer` must be a customer's key") }
        if let time = entries.first(where: { $0.key == "time" })?.value, let instant = timestamp(time, "`time`") {
            // A relative time is shown as the instant it stands for.
            decision.time = Self.relative(time) == nil ? text(time, "") : TimeFormat.format(timestamp: instant)
        }
        if let actions = entries.first(where: { $0.key == "actions" })?.value {
            decision.actions = self.actions(actions)
        }
        if let none = entries.first(where: { $0.key == "none" })?.value {
            switch none {
            case .scalar(let scalar) where scalar.style == .plain && ["true", "True", "TRUE"].contains(scalar.string): decision.absent = true
            case .scalar(let scalar) where scalar.style == .plain && ["false", "False", "FALSE"].contains(scalar.string): break
            default:
                problem("`none` is `true` or left out", none, "not true or false",
                        help: "write `none: true` to expect no decision of `\(decision.rule)`")
            }
        }
        return decision
    }

    func ruleName(_ entries: [Entry], _ node: YAMLNode) -> Int? {
        guard let ruleNode = entries.first(where: { $0.key == "rule" })?.value else {
            problem("this decision names no `rule`", node, "no rule", help: "add `rule: NAME` (a rule of this rule set)")
            return nil
        }
        guard let name = text(ruleNode, "`rule` must be a rule name") else { return nil }
        guard let index = program.rules.firstIndex(where: { $0.name == name }) else {
            error(.unknownName, "the rule set has no rule `\(name)`", ruleNode, "unknown rule",
                  help: Suggestions.closest(name, among: program.rules.map(\.name)).map { "did you mean `\($0)`?" } ?? "rules are named as in `rule NAME`; anonymous ones as `FILE:N`")
            return nil
        }
        return index
    }

    func actions(_ node: YAMLNode) -> [ExpectedAction] {
        guard let list = sequence(node, "`actions` is a list such as `[refund 5 EUR, send apology]`") else { return [] }
        var result: [ExpectedAction] = []
        for item in list {
            var action: ExpectedAction? = nil
            switch item {
            case .scalar(let scalar):
                action = ExpectedAction.parse(scalar.string)
                if action == nil {
                    problem("cannot read the action `\(scalar.string)`", item, "not an action",
                            help: "write `VERB [AMOUNT | ARGUMENT] [via CHANNEL]`, e.g. `refund 5 EUR` or `send apology via email`")
                }
            case .mapping:
                guard let entries = mapping(item, "") else { continue }
                checkKeys(entries, allowed: Self.actionKeys, in: "an action")
                guard let verbNode = entries.first(where: { $0.key == "verb" })?.value, let verb = text(verbNode, "`verb` must be an action verb") else {
                    problem("this action has no `verb`", item, "no verb", help: "add `verb: refund` (an action of the catalog)")
                    continue
                }
                var made = ExpectedAction(verb: verb)
                for (key, path) in [("amount", \ExpectedAction.amount), ("argument", \.argument), ("channel", \.channel)] {
                    if let value = entries.first(where: { $0.key == key })?.value { made[keyPath: path] = text(value, "`\(key)` must be text") }
                }
                action = made
            default:
                problem("an action is text such as `refund 5 EUR`, or a mapping with `verb`", item, "not an action")
            }
            guard let action else { continue }
            let verbs = program.catalog.actions.map(\.name)
            if !verbs.contains(action.verb) {
                error(.unknownAction, "the catalog has no action `\(action.verb)`", item, "unknown action",
                      help: Suggestions.closest(action.verb, among: verbs).map { "did you mean `\($0)`?" } ?? "the catalog's actions: \(verbs.joined(separator: ", "))")
                continue
            }
            guard canMatch(action, item) else { continue }
            result.append(action)
        }
        return result
    }

    /// Whether an action of a known verb could ever be decided as written: the argument its
    /// catalog entry takes (money in a currency of the rule set with at most its decimals, an
    /// integer, a percentage, a template, tag or listed name, or nothing) and a channel the
    /// action is sent by. Anything else would fail every run, so it is a mistake in the test.
    func canMatch(_ action: ExpectedAction, _ node: YAMLNode) -> Bool {
        let verb = action.verb
        let definition = catalog?.action(verb)
        var kind = definition?.argument
        if kind == nil, let compiled = program.catalog.actions.first(where: { $0.name == verb }) {
            // From an IR file (no catalog beside it): the kind the IR keeps.
            kind = switch compiled.argument {
            case .none: Catalog.ArgumentKind.none
            case .money: .money
            case .integer: .integer
            case .percent: .percent
            case .template: .template
            case .tag: .tag
            case .name: nil   // the listed names are the catalog's; without it, any name may match
            }
        }
        let currencies = program.currencies.map(\.code)
        let currency = catalog?.currency ?? currencies.first ?? "EUR"
        let written = action.amount ?? action.argument
        func refuse(_ message: String, help: String) -> Bool {
            problem(message, node, "can never match", help: help)
            return false
        }
        func isNumber(_ text: String, integer: Bool) -> Bool {
            let canonical = Amount.canonical(text)
            return RuleTestParser.isJSONNumber(canonical) && (!integer || !canonical.contains("."))
        }
        switch kind {
        case .money?:
            guard let amount = action.amount, action.argument == nil else {
                return refuse("`\(verb)` takes an amount of money, not \(written.map { "`\($0)`" } ?? "nothing")",
                              help: "write the amount and the currency code, e.g. `\(verb) 5 \(currency)`")
            }
            if Amount.money(amount, program: program) == nil {
                return refuse("`\(amount)` is not an amount of money this rule set knows",
                              help: "write a number with at most the currency's decimals and a currency code (\(currencies.joined(separator: ", "))), e.g. `\(verb) 5 \(currency)`")
            }
        case .integer?:
            guard let amount = action.amount, action.argument == nil, isNumber(amount, integer: true) else {
                return refuse("`\(verb)` takes a whole number, not \(written.map { "`\($0)`" } ?? "nothing")", help: "write e.g. `\(verb) 300`")
            }
        case .percent?:
            guard let amount = action.amount, action.argument == nil, amount.hasSuffix("%"), isNumber(String(amount.dropLast()), integer: false) else {
                return refuse("`\(verb)` takes a percentage, not \(written.map { "`\($0)`" } ?? "nothing")", help: "write e.g. `\(verb) 10%`")
            }
        case .none?:
            if let written {
                return refuse("`\(verb)` takes no argument, but `\(written)` is written", help: "write just `\(verb)`")
            }
        case .template?, .tag?, .oneOf?:
            let names: [String]
            let what: String
            switch kind {
            case .template?: names = catalog?.templates.map(\.name) ?? Array(program.catalog.templates.keys).sorted(); what = "template"
            case .tag?: names = catalog?.tags.map(\.name) ?? program.catalog.tags.map(\.name); what = "tag"
            case .oneOf(let list)?: names = list; what = "argument"
            default: names = []; what = "argument"
            }
            guard let argument = action.argument, action.amount == nil else {
                return refuse("`\(verb)` takes a \(what) name, not \(written.map { "`\($0)`" } ?? "nothing")",
                              help: "the \(what)s of `\(verb)`: \(names.joined(separator: ", "))")
            }
            if !names.contains(argument) {
                return refuse("`\(argument)` is not a \(what) of `\(verb)`",
                              help: Suggestions.closest(argument, among: names).map { "did you mean `\($0)`?" } ?? "the \(what)s of `\(verb)`: \(names.joined(separator: ", "))")
            }
        case nil:
            if let amount = action.amount, amount.contains(" "), Amount.money(amount, program: program) == nil {
                return refuse("`\(amount)` is not an amount of money this rule set knows",
                              help: "write a number with at most the currency's decimals and a currency code (\(currencies.joined(separator: ", ")))")
            }
        }
        if let channel = action.channel {
            if definition?.allowsChannel == false {
                return refuse("`\(verb)` is not sent via a channel", help: "leave out `via \(channel)`")
            }
            let channels = catalog?.channels.map(\.name) ?? program.catalog.channels.map(\.name)
            if !channels.contains(channel) {
                return refuse("the catalog has no channel `\(channel)`",
                              help: Suggestions.closest(channel, among: channels).map { "did you mean `\($0)`?" } ?? "the catalog's channels: \(channels.joined(separator: ", "))")
            }
        }
        return true
    }

    // MARK: - Earlier decisions

    /// `- rule: NAME, time: T, <entity or key>: VALUE ..., actions: [...]`: the subject's key and
    /// the key of every limit, cap and group of the rule (and of the rule-set policies) must be
    /// given, so the earlier decision counts exactly where a real one would.
    func earlierDecision(_ node: YAMLNode) -> EarlierDecision? {
        guard let entries = mapping(node, "an earlier decision is a mapping with `rule`, `time`, the keys of its subject and policies, and `actions`") else { return nil }
        guard let rule = ruleName(entries, node) else { return nil }
        guard let timeNode = entries.first(where: { $0.key == "time" })?.value else {
            problem("this earlier decision has no `time`", node, "no time", help: "add `time: 2026-11-01T10:00:00Z`: windows of limits and caps count from it")
            return nil
        }
        guard let time = timestamp(timeNode, "`time`") else { return nil }
        var decision = EarlierDecision(rule: rule, time: time, keys: [:], actions: [], line: line(of: node))
        for entry in entries where !["rule", "time", "actions"].contains(entry.key) {
            if let value = text(entry.value, "`\(entry.key)` must be a key value") { decision.keys[entry.key] = value }
        }
        if let actions = entries.first(where: { $0.key == "actions" })?.value { decision.actions = self.actions(actions) }
        let needed = Self.keysNeeded(by: rule, program: program)
        let missing = needed.filter { decision.keys[$0] == nil }
        if !missing.isEmpty {
            problem("this earlier decision of `\(program.rules[rule].name)` needs \(missing.map { "`\($0)`" }.joined(separator: ", "))", node,
                    "keys missing", help: "add \(missing.map { "`\($0): KEY`" }.joined(separator: ", ")): the subject and the keys its limits, caps and groups count by")
        }
        let unknown = decision.keys.keys.filter { !needed.contains($0) && $0 != "customer" }.sorted()
        if let first = unknown.first {
            problem("`\(first)` is not a key of `\(program.rules[rule].name)`'s subject or policies", node, "unknown key",
                    help: "its keys are \(needed.map { "`\($0)`" }.joined(separator: ", "))")
        }
        return missing.isEmpty && unknown.isEmpty ? decision : nil
    }

    /// The subject entity and every policy key text that applies to the rule.
    static func keysNeeded(by rule: Int, program: Program) -> [String] {
        let definition = program.rules[rule]
        let carried = Set(definition.triggers.flatMap { program.events[$0].carries })
        var keys = [program.entities[definition.subject].name]
        var texts = (definition.limits + definition.caps).map(\.key.text)
        if let group = definition.group { texts.append(program.groups[group].key.text) }
        for policy in program.policies where carried.contains(program.slots[policy.key.slot].entity) { texts.append(policy.key.text) }
        for text in texts where !keys.contains(text) { keys.append(text) }
        return keys
    }

    // MARK: - YAMLNode helpers

    typealias Entry = (key: String, keyNode: YAMLNode, value: YAMLNode)

    func mapping(_ node: YAMLNode, _ message: String, help: String? = nil) -> [Entry]? {
        guard case .mapping(let mapping) = node else {
            if !message.isEmpty { problem(message, node, "expected a mapping", help: help) }
            return nil
        }
        return mapping.map { ($0.key.string ?? "", $0.key, $0.value) }
    }

    func sequence(_ node: YAMLNode, _ message: String, help: String? = nil) -> [YAMLNode]? {
        if case .sequence(let sequence) = node { return Array(sequence) }
        problem(message, node, "expected a list", help: help)
        return nil
    }

    func text(_ node: YAMLNode, _ message: String, help: String? = nil) -> String? {
        if case .scalar(let scalar) = node { return scalar.string }
        if !message.isEmpty { problem(message, node, "expected text", help: help) }
        return nil
    }

    /// A time written in full (RFC 3339), or relative to `start:` (`+3d`, `-1h`).
    func timestamp(_ node: YAMLNode, _ what: String) -> Int64? {
        guard let value = text(node, "\(what) must be a time") else { return nil }
        if let offset = Self.relative(node) {
            guard let start = scope.start else {
                problem("\(what) `\(value)` is relative, but there is no `start:` to count from", node, "relative to nothing",
                        help: "add `start: 2026-11-02T09:00:00Z` to the test or at the top of the file, or write the time in full")
                return nil
            }
            let (time, overflow) = start.addingReportingOverflow(offset)
            guard !overflow else {
                problem("\(what) `\(value)` is too far from `start:`", node, "out of range", help: "write a duration of days or hours, e.g. `+3d`")
                return nil
            }
            return time
        }
        guard let time = TimeFormat.timestamp(value) else {
            problem("\(what) must be an RFC 3339 time, found `\(value)`", node, "not a time",
                    help: "write e.g. `2026-11-20T10:00:00Z`, or `+3d` for three days after `start:`")
            return nil
        }
        return time
    }

    func checkKeys(_ entries: [Entry], allowed: [String], in place: String) {
        for entry in entries where !allowed.contains(entry.key) {
            problem("unknown key `\(entry.key)` in \(place)", entry.keyNode, "unknown key",
                    help: Suggestions.closest(entry.key, among: allowed).map { "did you mean `\($0)`?" } ?? "the keys of \(place): \(allowed.joined(separator: ", "))")
        }
    }

    func value(_ node: YAMLNode, _ key: String) -> YAMLNode? {
        guard case .mapping(let mapping) = node else { return nil }
        return mapping.first { $0.key.string == key }?.value
    }

    func line(of node: YAMLNode) -> Int { node.mark?.line ?? 1 }

    func span(of node: YAMLNode) -> Span {
        guard let mark = node.mark else { return .empty }
        let start = source.offset(line: mark.line, column: mark.column)
        var length = 1
        if case .scalar(let scalar) = node, scalar.style == .plain { length = max(1, scalar.string.utf8.count) }
        return Span(start: start, end: min(source.bytes.count, start + length))
    }

    func problem(_ message: String, _ node: YAMLNode?, _ label: String, help: String? = nil) {
        error(.invalidSchema, message, node, label, help: help)
    }

    func error(_ code: DiagnosticCode, _ message: String, _ node: YAMLNode?, _ label: String, help: String? = nil) {
        let at = node.map { Label(file: source.path, span: span(of: $0), message: label) } ?? Label(file: source.path, span: .empty, message: label)
        diagnostics.append(Diagnostic(code, message, at: at, help: help))
    }

}


extension Yams.Node {
    var isScalarNode: Bool {
        if case .scalar = self { return true }
        return false
    }
}
