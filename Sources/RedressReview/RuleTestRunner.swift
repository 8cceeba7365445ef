import Foundation
import RedressIR
import RedressRuntime

/// The outcome of one test case: what it expected, what the engine decided.
public struct RuleTestResult: Sendable {
    public var file: String
    public var name: String
    public var description: String?
    public var line: Int
    public var expected: [ExpectedDecision]
    public var actual: [Decision]
    public var passed: Bool
}

/// Runs test cases on the one engine `run` uses: a fresh engine per case, the earlier decisions
/// recorded first, the history fed through it (its decisions discarded), then the case's events
/// in order, then the clock advanced to `until`.
public enum RuleTestRunner {
    public static func run(_ testCase: RuleTestCase, file: String, program: Program, coverage: CoverageRecorder? = nil) -> RuleTestResult {
        let actual = decisions(testCase, program: program, coverage: coverage)
        return RuleTestResult(file: file, name: testCase.name, description: testCase.description, line: testCase.line,
                              expected: testCase.expected, actual: actual, passed: matches(testCase.expected, actual))
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

    /// Exactly the expected decisions, in order.
    public static func matches(_ expected: [ExpectedDecision], _ actual: [Decision]) -> Bool {
        expected.count == actual.count && zip(expected, actual).allSatisfy(matches)
    }

    /// One decision: the rule always; subject, customer, time and actions when written.
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
