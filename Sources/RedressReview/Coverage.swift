import Foundation
import RedressIR
import RedressEvents
import RedressEngine

/// What the rule tests of one rule set exercised, rule by rule: whether some test made the rule
/// fire, whether some test kept it from firing (it was evaluated and did not decide), and, for
/// each operand of its condition, whether the operand was ever decisive.
///
/// The operands are the parts of the condition joined by `and` and `or`, also inside `not (...)`
/// (definitions inlined, as the IR has them); a `case` expression is one operand. An operand is
/// decisive in an evaluation when it settles the condition's outcome (true, or not true) in
/// left-to-right evaluation: for `a and b`, `a` when it is not true and `b` when `a` is true; both
/// when both are true. For `a or b`, `a` when it is true and `b` when `a` is not; both when neither
/// is. For `not a`, the operands that settled `a`. Operands that read no field and no history
/// (constants and parameters only) cannot depend on an event and are not counted.
public final class CoverageRecorder {
    public let program: Program
    /// By rule: some evaluation decided / did not decide.
    public private(set) var fired: [Bool]
    public private(set) var kept: [Bool]
    /// By rule, by operand (in `operands[rule]` order).
    public private(set) var decisive: [[Bool]]
    /// By rule: the condition's operands, left to right.
    public let operands: [[Node]]
    let compiled: [[Compiled]]

    public init(program: Program) {
        self.program = program
        fired = Array(repeating: false, count: program.rules.count)
        kept = fired
        operands = program.rules.map { rule in rule.condition.map(CoverageRecorder.leaves) ?? [] }
        compiled = operands.map { $0.map { Compiler.compile($0, program: program) } }
        decisive = operands.map { Array(repeating: false, count: $0.count) }
    }

    static func leaves(_ node: Node) -> [Node] {
        switch node.operation {
        case .and where node.children.count == 2, .or where node.children.count == 2, .not where node.children.count == 1:
            return node.children.flatMap(leaves)
        default:
            return [node]
        }
    }

    /// Whether an operand depends on the event: it reads a field or an aggregate.
    public static func dependsOnEvent(_ node: Node) -> Bool {
        if node.operation == .slot || node.operation == .aggregate { return true }
        if node.children.contains(where: dependsOnEvent) { return true }
        for arm in node.arms ?? [] where arm.patterns.contains(where: dependsOnEvent) || dependsOnEvent(arm.value) { return true }
        return node.otherwise.map(dependsOnEvent) ?? false
    }

    func markFired(_ rule: Int) { fired[rule] = true }
    func markKept(_ rule: Int) { kept[rule] = true }

    /// Records one evaluation of `rule`'s condition on the engine's current event.
    func evaluate(_ rule: Int, frame: Frame) {
        guard let condition = program.rules[rule].condition else { return }
        // true, false, or nil for unknown (a missing value): `not` turns only false into true.
        let values: [Bool?] = compiled[rule].map { operand in
            let value = operand(frame)
            return value == .true ? true : value == .false ? false : nil
        }
        var position = 0
        for leaf in CoverageRecorder.decisiveLeaves(condition, values: values, position: &position).1 { decisive[rule][leaf] = true }
    }

    /// The truth of `node` (nil: unknown) and the leaves (by position) that settled it, from the
    /// truth of each leaf. Which leaves settle `and` and `or` depends only on whether each side is
    /// true; the three-valued truth is kept so that `not` negates false and unknown correctly.
    static func decisiveLeaves(_ node: Node, values: [Bool?], position: inout Int) -> (Bool?, [Int]) {
        switch node.operation {
        case .and where node.children.count == 2, .or where node.children.count == 2:
            let (a, left) = decisiveLeaves(node.children[0], values: values, position: &position)
            let (b, right) = decisiveLeaves(node.children[1], values: values, position: &position)
            if node.operation == .and {
                if a != true { return (a == false || b == false ? false : nil, left) }
                return b == true ? (true, left + right) : (b, right)
            }
            if a == true { return (true, left) }
            if b == true { return (true, right) }
            return (a == false && b == false ? false : nil, left + right)
        case .not where node.children.count == 1:
            let (a, leaves) = decisiveLeaves(node.children[0], values: values, position: &position)
            return (a.map { !$0 }, leaves)
        default:
            defer { position += 1 }
            return (values.indices.contains(position) ? values[position] : false, [position])
        }
    }

    /// Whether the rule can be kept from firing at all: a rule without condition, absence,
    /// rollout, active period or any limit, cap, group or rule-set policy fires on every event.
    func canBeKept(_ rule: Int) -> Bool {
        let definition = program.rules[rule]
        return definition.condition != nil || definition.absence != nil || definition.rollout != nil
            || definition.activeFrom != nil || definition.activeUntil != nil
            || !definition.limits.isEmpty || !definition.caps.isEmpty || definition.group != nil || !program.policies.isEmpty
    }

    /// The coverage as a report, rules in rule-set order.
    public func report(directory: String) -> RuleSetCoverage {
        var rules: [RuleCoverage] = []
        for (index, rule) in program.rules.enumerated() {
            let parts = operands[index].enumerated().map { position, node in
                OperandCoverage(text: NodePrinter.print(node, program: program), decisive: decisive[index][position],
                                counted: CoverageRecorder.dependsOnEvent(node))
            }
            rules.append(RuleCoverage(rule: rule.name, file: rule.file, line: rule.line, fires: fired[index],
                                      keptFromFiring: canBeKept(index) ? kept[index] : nil, operands: parts))
        }
        return RuleSetCoverage(directory: directory, rules: rules)
    }
}

public struct OperandCoverage: Sendable, Codable, Equatable {
    public var text: String
    public var decisive: Bool
    /// False for operands that read no field and no history: never counted.
    public var counted: Bool
}

public struct RuleCoverage: Sendable, Codable, Equatable {
    public var rule: String
    public var file: String
    public var line: Int
    public var fires: Bool
    /// nil when nothing can keep the rule from firing (not counted).
    public var keptFromFiring: Bool?
    public var operands: [OperandCoverage]

    /// Items covered and counted: "fires", "kept from firing" and each counted operand.
    public var covered: Int {
        (fires ? 1 : 0) + (keptFromFiring == true ? 1 : 0) + operands.filter { $0.counted && $0.decisive }.count
    }
    public var total: Int { 1 + (keptFromFiring == nil ? 0 : 1) + operands.filter(\.counted).count }
}

public struct RuleSetCoverage: Sendable, Codable, Equatable {
    public var directory: String
    public var rules: [RuleCoverage]
    public var covered: Int { rules.reduce(0) { $0 + $1.covered } }
    public var total: Int { rules.reduce(0) { $0 + $1.total } }
}

/// The coverage of every rule set a run tested.
public struct CoverageReport: Sendable, Equatable {
    public var ruleSets: [RuleSetCoverage]
    /// Rule sets whose coverage could not be measured (they have errors, or no rules to load):
    /// while any is left, no minimum is reached.
    public var unmeasured: [String]
    public init(ruleSets: [RuleSetCoverage], unmeasured: [String] = []) {
        self.ruleSets = ruleSets
        self.unmeasured = unmeasured
    }
    public var covered: Int { ruleSets.reduce(0) { $0 + $1.covered } }
    public var total: Int { ruleSets.reduce(0) { $0 + $1.total } }

    /// The share in tenths of a percent, rounded down (so 99.96% never shows as 100%).
    public static func permille(_ covered: Int, _ total: Int) -> Int { total == 0 ? 1000 : covered * 1000 / total }

    public static func percentText(_ covered: Int, _ total: Int) -> String {
        let value = permille(covered, total)
        return "\(value / 10).\(value % 10)%"
    }

    /// Whether covered/total reaches `minimum` percent, compared exactly in decimal.
    public func reaches(_ minimum: Decimal) -> Bool {
        guard unmeasured.isEmpty else { return false }
        guard total > 0 else { return true }
        return Decimal(covered) * 100 >= minimum * Decimal(total)
    }
}
