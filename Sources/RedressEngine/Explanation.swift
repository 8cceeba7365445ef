import RedressIR
import RedressEvents

/// Why each rule did or did not decide for one event: `redress explain`. It runs the same
/// engine as `run` and then looks inside the conditions with the same compiled code.
public struct RuleExplanation: Sendable, Codable, Equatable {
    public struct Part: Sendable, Codable, Equatable {
        /// The part of the condition, printed from the IR (`shipment.delay > 2d`).
        public var text: String
        /// `true`, `false` or `unknown`.
        public var value: String
        /// The fields it read, with the values the event had (`shipment.delay = 3d`).
        public var values: [String]
    }
    public var rule: String
    public var file: String
    public var line: Int
    /// `decided`, `not triggered`, `condition false`, `condition unknown`, `waiting`, `limit`, ...
    public var outcome: String
    public var detail: String?
    public var triggers: [String]
    public var parts: [Part]
    public var missing: [String]
    public var decision: Decision?
}

public enum Explainer {
    /// Feeds `history` to the engine (to build up state), then explains `event`.
    public static func explain(_ event: Event, engine: Engine) -> [RuleExplanation] {
        engine.recordOutcomes = true
        let decisions = engine.process(event)
        let program = engine.program
        var explanations: [RuleExplanation] = []
        for (index, rule) in program.rules.enumerated() {
            let outcome = engine.outcomes[index] ?? .notTriggered
            var explanation = RuleExplanation(
                rule: rule.name, file: rule.file, line: rule.line, outcome: Engine.reason(outcome), detail: nil,
                triggers: rule.triggers.map { program.events[$0].name }, parts: [], missing: [], decision: nil)
            switch outcome {
            case .limit(let text), .cap(let text), .group(let text), .missingKey(let text): explanation.detail = text
            case .conditionUnknown(let missing): explanation.missing = missing
            case .waiting(let deadline): explanation.detail = "fires at \(TimeFormat.format(timestamp: deadline)) unless \(program.events[rule.absence?.event ?? 0].name) arrives"
            case .answered(let time): explanation.detail = "\(program.events[rule.absence?.event ?? 0].name) already arrived for this \(program.entities[rule.subject].name) at \(TimeFormat.format(timestamp: time)): nothing to wait for"
            case .inactive: explanation.detail = activePeriod(from: rule.activeFrom, until: rule.activeUntil)
            case .notInRollout: explanation.detail = "the customer is outside the rule's rollout share"
            default: break
            }
            if outcome != .notTriggered, let condition = rule.condition {
                explanation.parts = conjuncts(condition).map { part in
                    let value = Compiler.compile(part, program: program)(engine.frame)
                    let slots = part.slotsRead.sorted()
                    return RuleExplanation.Part(
                        text: NodePrinter.print(part, program: program),
                        value: value.isMissing ? "unknown" : (value == .true ? "true" : (value == .false ? "false" : ValueText.describe(value, program: program, strings: engine.frame.strings))),
                        values: slots.map { "\(engine.slotName($0)) = \(ValueText.describe(engine.frame.slots[$0], program: program, strings: engine.frame.strings))" }
                            + namedValues(in: part, engine: engine))
                }
            }
            explanation.decision = decisions.first { $0.rule == rule.name }
            explanations.append(explanation)
        }
        engine.recordOutcomes = false
        return explanations
    }

    /// The values of the parameters and history aggregates a part of a condition reads, by
    /// name (`alarm_min_deliveries = 5`, `count(shipment.delivered per … within 1d) = 3`): the
    /// numbers that decided it, which the event's own fields do not show.
    static func namedValues(in part: Node, engine: Engine) -> [String] {
        let program = engine.program
        var seen = Set<String>()
        var result: [String] = []
        func visit(_ node: Node) {
            if node.operation == .parameter || node.operation == .aggregate {
                let name = NodePrinter.print(node, program: program)
                if seen.insert(name).inserted {
                    let value = Compiler.compile(node, program: program)(engine.frame)
                    result.append("\(name) = \(value.isMissing ? "missing" : ValueText.describe(value, program: program, strings: engine.frame.strings))")
                }
                if node.operation == .parameter { return }
            }
            node.children.forEach(visit)
            node.otherwise.map(visit)
            for arm in node.arms ?? [] { visit(arm.value) }
        }
        visit(part)
        return result
    }

    /// A rule's active period as its author writes it: an instant at midnight UTC is a date, and
    /// `until` a date includes that day (stored as the next midnight, so shown as the day before).
    static func activePeriod(from: Int64?, until: Int64?) -> String {
        let day: Int64 = 86_400_000
        func date(_ milliseconds: Int64) -> String { String(TimeFormat.format(timestamp: milliseconds).prefix(10)) }
        var text = "active"
        if let from { text += " from " + (from % day == 0 ? date(from) : TimeFormat.format(timestamp: from)) }
        if let until { text += " until " + (until % day == 0 ? date(until - day) : TimeFormat.format(timestamp: until)) }
        return text
    }

    static func conjuncts(_ node: Node) -> [Node] {
        node.operation == .and ? node.children.flatMap(conjuncts) : [node]
    }

    /// The explanation as text for people.
    public static func render(_ explanations: [RuleExplanation], verbose: Bool) -> String {
        var out = ""
        for explanation in explanations where verbose || explanation.outcome != "not triggered" {
            let place = "\(explanation.file):\(explanation.line)"
            switch explanation.outcome {
            case "decided": out += "✔ \(explanation.rule) (\(place)): decided\n"
            case "not triggered": out += "· \(explanation.rule) (\(place)): not triggered (it runs on \(explanation.triggers.joined(separator: ", ")))\n"
            default: out += "✘ \(explanation.rule) (\(place)): \(explanation.outcome)\(explanation.detail.map { " — \($0)" } ?? "")\n"
            }
            for part in explanation.parts {
                out += "    \(part.value.padding(toLength: 7, withPad: " ", startingAt: 0)) \(part.text)"
                if !part.values.isEmpty { out += "   [\(part.values.joined(separator: ", "))]" }
                out += "\n"
            }
            if !explanation.missing.isEmpty { out += "    missing: \(explanation.missing.joined(separator: ", "))\n" }
            if let decision = explanation.decision {
                let actions = decision.actions.map { action in
                    [action.verb, action.amount, action.argument, action.channel.map { "via \($0)" }].compactMap { $0 }.joined(separator: " ")
                }
                out += "    then \(actions.joined(separator: ", "))   [key \(decision.key)]\n"
            }
        }
        let hidden = explanations.filter { $0.outcome == "not triggered" }.count
        if !verbose, hidden > 0 { out += "(\(hidden) rule\(hidden == 1 ? " is" : "s are") not triggered by this event; --all lists them)\n" }
        return out
    }
}

/// Prints IR expressions in the rule language's own notation, for explanations made without
/// the sources.
public enum NodePrinter {
    public static func print(_ node: Node, program: Program) -> String {
        func p(_ n: Node) -> String { print(n, program: program) }
        func wrapped(_ n: Node) -> String {
            [.and, .or, .compare, .arithmetic, .coalesce, .in, .notIn].contains(n.operation) ? "(\(p(n)))" : p(n)
        }
        switch node.operation {
        case .constant: return node.value.map { ValueText.describe($0, program: program) } ?? "missing"
        case .slot:
            let slot = program.slots[node.index ?? 0]
            return "\(program.entities[slot.entity].name).\(slot.field)"
        case .parameter: return program.parameters[node.index ?? 0].name
        case .table: return "\(program.tables[node.index ?? 0].name)[\(p(node.children[0]))]"
        case .list: return "[" + node.children.map(p).joined(separator: ", ") + "]"
        case .caseOf:
            let arms = (node.arms ?? []).map { "\($0.patterns.map(p).joined(separator: " | ")) -> \(p($0.value))" }
                + (node.otherwise.map { ["else -> \(p($0))"] } ?? [])
            return "case \(node.children.first.map { p($0) + " " } ?? ""){ \(arms.joined(separator: ", ")) }"
        case .not: return "not \(wrapped(node.children[0]))"
        case .negate: return "-\(wrapped(node.children[0]))"
        case .and: return "\(wrapped(node.children[0])) and \(wrapped(node.children[1]))"
        case .or: return "\(wrapped(node.children[0])) or \(wrapped(node.children[1]))"
        case .compare, .arithmetic: return "\(wrapped(node.children[0])) \(node.symbol?.text ?? "?") \(wrapped(node.children[1]))"
        case .in: return "\(wrapped(node.children[0])) in \(p(node.children[1]))"
        case .notIn: return "\(wrapped(node.children[0])) not in \(p(node.children[1]))"
        case .coalesce: return "\(wrapped(node.children[0])) ?? \(wrapped(node.children[1]))"
        case .isMissing: return "\(wrapped(node.children[0])) is missing"
        case .isPresent: return "\(wrapped(node.children[0])) is present"
        case .function: return "\(node.symbol?.text ?? "f")(\(node.children.map(p).joined(separator: ", ")))"
        case .aggregate:
            let aggregate = program.aggregates[node.index ?? 0]
            var text = "\(aggregate.function.rawValue)(\(program.events[aggregate.event].name)"
            if let value = aggregate.value { text += ", \(p(value))" }
            if let filter = aggregate.filter { text += " where \(p(filter))" }
            return text + " per \(aggregate.per.text) within \(TimeFormat.format(duration: aggregate.windowMilliseconds)))"
        }
    }
}

// MARK: - Earlier decisions (rule tests)

extension Engine {
    /// Records a decision as if the engine had made it at `time`, before any event: the rule
    /// tests' `given: decisions:`. Limits, caps, exclusive groups, rule-set policies and the
    /// occurrence count take it in exactly as they take in a decision the engine makes, so an
    /// earlier refund holds back a later one. `keys` holds the values of the policy key slots.
    public func assumeDecided(rule: Int, subject: String, customer: String?, keys: [Int: String],
                              actions: [Decision.Action], money: [Int32: Int64], at time: Int64) -> Decision {
        let reference = Decision.EventReference(type: "given", id: "given", line: 0, time: TimeFormat.format(timestamp: time))
        let draft = Draft(rule: rule, subjectKey: subject, customerKey: customer, event: reference,
                          actions: actions, money: MoneyByCurrency(money), keys: PolicyKeys(keys))
        return accept(draft, at: time)
    }
}
