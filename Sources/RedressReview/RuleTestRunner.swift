import Foundation
import RedressIR
import RedressEvents
import RedressEngine

/// The outcome of one test case: what it expected, what the engine decided.
public struct RuleTestResult: Sendable {
    public var file: String
    public var name: String
    public var description: String?
    public var line: Int
    public var expected: [ExpectedDecision]
    /// The decisions of the rules the case is about (all decisions when it is about every rule).
    public var actual: [Decision]
    public var passed: Bool
    /// The rules the case is about (`rules:` and the rules its `expect` names); nil: every rule.
    public var focus: [String]? = nil
    /// Decisions of other rules: made (and counted for coverage), but not compared.
    public var ignored: [Decision] = []
}

/// Expected against actual decisions: the expectations matched by position, and the `none: true`
/// expectations with the decisions that break them (those decisions are left out of the
/// positional comparison, so that each is reported once, where it is unwanted).
public struct DecisionComparison {
    /// The expectations matched by position (without `none: true`).
    public var expected: [ExpectedDecision]
    /// The decisions compared by position: all but those that break a `none: true` expectation.
    public var actual: [Decision]
    /// Each decision that a `none: true` expectation forbids, with that expectation.
    public var unwanted: [(expectation: ExpectedDecision, decision: Decision)]

    public var passed: Bool {
        unwanted.isEmpty && expected.count == actual.count && zip(expected, actual).allSatisfy(RuleTestRunner.matches)
    }
}

/// Runs test cases on the one engine `run` uses: a fresh engine per case, the earlier decisions
/// recorded first, the history fed through it (its decisions discarded), then the case's events
/// in order, then the clock advanced to `until`.
public enum RuleTestRunner {
    public static func run(_ testCase: RuleTestCase, file: String, program: Program, coverage: CoverageRecorder? = nil) -> RuleTestResult {
        let made = decisions(testCase, program: program, coverage: coverage)
        // A case about some rules compares only their decisions; the others were still made (and
        // counted for coverage) but are none of its business.
        let focus = testCase.focus.map(Set.init)
        let actual = focus.map { rules in made.filter { rules.contains($0.rule) } } ?? made
        let ignored = focus.map { rules in made.filter { !rules.contains($0.rule) } } ?? []
        return RuleTestResult(file: file, name: testCase.name, description: testCase.description, line: testCase.line,
                              expected: testCase.expected, actual: actual, passed: matches(testCase.expected, actual),
                              focus: testCase.focus, ignored: ignored)
    }

    /// The decisions the case's events (and `until`) cause.
    public static func decisions(_ testCase: RuleTestCase, program: Program, coverage: CoverageRecorder? = nil) -> [Decision] {
        let engine = Engine(program: program)
        for earlier in testCase.earlierDecisions { record(earlier, in: engine) }
        for event in testCase.history { _ = engine.process(event.event) }
        guard let coverage else {
            var decisions: [Decision] = []
            for event in testCase.events { decisions += engine.process(event.event) }
            if let until = testCase.until { decisions += engine.advance(to: until) }
            return decisions
        }
        // With coverage, the engine records each rule's outcome; policies report what they hold back.
        engine.recordOutcomes = true
        engine.heldBack = { draft, _ in coverage.markKept(draft.rule) }
        defer { engine.heldBack = nil }
        var decisions: [Decision] = []
        func take(_ made: [Decision]) {
            for decision in made {
                if let rule = program.rules.firstIndex(where: { $0.name == decision.rule }) { coverage.markFired(rule) }
            }
            decisions += made
        }
        for event in testCase.events {
            // Deadlines first, separately, so what they decide is seen before the event's own outcomes.
            take(engine.advance(to: event.event.time))
            let waiting = Dictionary(engine.state.pending.map { ($0.key, $0.value.draft.rule) }, uniquingKeysWith: { a, _ in a })
            take(engine.process(event.event))
            // An absence rule whose awaited event arrived in time was kept from firing.
            for (key, rule) in waiting where engine.state.pending[key] == nil { coverage.markKept(rule) }
            for (rule, outcome) in engine.outcomes {
                switch outcome {
                case .notTriggered: continue
                case .decided, .waiting: break
                default: coverage.markKept(rule)
                }
                coverage.evaluate(rule, frame: engine.frame)
            }
        }
        if let until = testCase.until { take(engine.advance(to: until)) }
        return decisions
    }

    static func record(_ earlier: EarlierDecision, in engine: Engine) {
        let program = engine.program
        let rule = program.rules[earlier.rule]
        var keys: [Int: String] = [:]
        for key in rule.limits.map(\.key) + rule.caps.map(\.key) + program.policies.map(\.key) + (rule.group.map { [program.groups[$0].key] } ?? []) {
            if let value = earlier.keys[key.text] { keys[key.slot] = value }
        }
        var money: [Int32: Int64] = [:]
        for action in earlier.actions {
            if let amount = action.amount, let (minor, currency) = Amount.money(amount, program: program) { money[currency, default: 0] += minor }
        }
        let actions = earlier.actions.map { Decision.Action(verb: $0.verb, amount: $0.amount, argument: $0.argument, channel: $0.channel) }
        _ = engine.assumeDecided(rule: earlier.rule, subject: earlier.keys[program.entities[rule.subject].name] ?? "",
                                 customer: earlier.keys["customer"], keys: keys, actions: actions, money: money, at: earlier.time)
    }

    /// Exactly the expected decisions, in order, and none that a `none: true` expectation forbids.
    public static func matches(_ expected: [ExpectedDecision], _ actual: [Decision]) -> Bool {
        compare(expected, actual).passed
    }

    /// Splits the expectations into those matched by position and those of `none: true`, and
    /// takes out of the decisions those such an expectation forbids.
    public static func compare(_ expected: [ExpectedDecision], _ actual: [Decision]) -> DecisionComparison {
        let absent = expected.filter(\.absent)
        var comparison = DecisionComparison(expected: expected.filter { !$0.absent }, actual: [], unwanted: [])
        for decision in actual {
            if let expectation = absent.first(where: { matches($0, decision) }) {
                comparison.unwanted.append((expectation, decision))
            } else {
                comparison.actual.append(decision)
            }
        }
        return comparison
    }

    /// One decision: the rule always; subject, customer, time and actions when written. (For a
    /// `none: true` expectation: whether it forbids the decision.)
    public static func matches(_ expected: ExpectedDecision, _ actual: Decision) -> Bool {
        guard expected.rule == actual.rule else { return false }
        if let subject = expected.subject, subject != actual.subject.key { return false }
        if let customer = expected.customer, customer != actual.customer { return false }
        if let time = expected.time, TimeFormat.timestamp(time) != TimeFormat.timestamp(actual.time) { return false }
        if let actions = expected.actions {
            guard actions.count == actual.actions.count, zip(actions, actual.actions).allSatisfy({ $0.matches($1) }) else { return false }
        }
        return true
    }
}
