import Foundation
import RedressEvents
import RedressEngine
import RedressSemantics
import RedressSyntax

/// A piece of rule text twice over: as the formatter prints it (what a reader sees) and as a
/// comparison key in which literals are normalised, so that `5.00 EUR` and `5 EUR`, or `48h`
/// and `2d`, are the same value and not a change.
struct Printed: Equatable {
    var text: String
    var key: String

    init(_ expression: RedressSyntax.Expression) {
        text = Formatter.print(expression)
        key = Formatter.print(DiffNormal.expression(expression))
    }

    init(text: String, key: String) {
        self.text = text
        self.key = key
    }
}

/// Literal normalisation for comparison keys.
enum DiffNormal {
    static func decimal(_ text: String) -> Decimal? {
        guard !text.isEmpty, text.count <= 40 else { return nil }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }

    static func literal(_ literal: Literal) -> Literal {
        var copy = literal
        switch literal.kind {
        case .number:
            if let value = DiffNormal.decimal(literal.text) { copy.text = "\(value)" }
        case .money:
            let amount = String(literal.text.prefix { $0.isNumber || $0 == "." })
            if let value = DiffNormal.decimal(amount) { copy.text = "\(value) \(literal.text.suffix(3))" }
        case .percent:
            if let value = DiffNormal.decimal(String(literal.text.dropLast())) { copy.text = "\(value)%" }
        case .duration:
            if let ms = TimeFormat.duration(literal.text) { copy.text = "\(ms)ms" }
        case .timestamp:
            // One instant written in two zones is one value.
            if let ms = TimeFormat.timestamp(literal.text) { copy.text = "@\(ms)" }
        case .date, .string, .boolean:
            break
        }
        return copy
    }

    /// A comparison with a literal on the left and anything else on the right, turned around
    /// (`5 EUR <= order.total` → `order.total >= 5 EUR`); anything else as it is.
    static func oriented(_ op: BinaryOperator, _ left: RedressSyntax.Expression, _ right: RedressSyntax.Expression)
        -> (RedressSyntax.Expression, BinaryOperator, RedressSyntax.Expression) {
        guard case .literal = left.kind else { return (left, op, right) }
        if case .literal = right.kind { return (left, op, right) }
        let mirrored: BinaryOperator? = switch op {
        case .less: .greater
        case .lessEqual: .greaterEqual
        case .greater: .less
        case .greaterEqual: .lessEqual
        case .equal: .equal
        case .notEqual: .notEqual
        default: nil
        }
        guard let mirrored else { return (left, op, right) }
        return (right, mirrored, left)
    }

    /// The same tree with every literal normalised. Recursion is bounded by the parser's
    /// limit on expression height.
    static func expression(_ expression: RedressSyntax.Expression) -> RedressSyntax.Expression {
        func arm(_ arm: Arm) -> Arm {
            var copy = arm
            copy.patterns = arm.patterns.map { self.expression($0) }
            copy.value = self.expression(arm.value)
            return copy
        }
        var copy = expression
        switch expression.kind {
        case .literal(let literal): copy.kind = .literal(self.literal(literal))
        case .name: break
        case .member(let base, let field): copy.kind = .member(self.expression(base), field)
        case .index(let base, let key): copy.kind = .index(self.expression(base), self.expression(key))
        case .call(var call):
            call.arguments = call.arguments.map { self.expression($0) }
            call.filter = call.filter.map { self.expression($0) }
            call.window = call.window.map { self.expression($0) }
            copy.kind = .call(call)
        case .list(let elements): copy.kind = .list(elements.map { self.expression($0) })
        case .caseOf(let subject, let arms): copy.kind = .caseOf(subject: subject.map { self.expression($0) }, arms: arms.map(arm))
        case .unary(let op, let operand): copy.kind = .unary(op, self.expression(operand))
        case .binary(let op, let left, let right):
            // `2d < shipment.delay` is `shipment.delay > 2d`: the field goes left.
            let (l, o, r) = oriented(op, left, right)
            copy.kind = .binary(o, self.expression(l), self.expression(r))
        case .presence(let operand, let test): copy.kind = .presence(self.expression(operand), test)
        }
        return copy
    }

    static func policy(_ clause: PolicyClause) -> PolicyClause {
        switch clause {
        case .limit(var limit):
            limit.count.text = DiffNormal.decimal(limit.count.text).map { "\($0)" } ?? limit.count.text
            limit.window = limit.window.map(expression)
            return .limit(limit)
        case .noLimit: return clause
        case .cap(var cap):
            cap.amount = expression(cap.amount)
            cap.window = cap.window.map(expression)
            return .cap(cap)
        case .exclusive(var exclusive):
            if let priority = exclusive.priority, let value = decimal(priority.text) { exclusive.priority?.text = "\(value)" }
            return .exclusive(exclusive)
        case .rollout(let share, let span): return .rollout(expression(share), span: span)
        case .active(var active):
            active.from = active.from.map(literal)
            active.until = active.until.map(literal)
            return .active(active)
        }
    }

    /// Bare names an expression refers to (parameters, definitions, tables; also enum cases,
    /// which are harmless here because no declaration shares their names).
    static func names(in expression: RedressSyntax.Expression, into names: inout Set<String>) {
        switch expression.kind {
        case .literal: break
        case .name(let name): names.insert(name.name)
        case .member(let base, _): self.names(in: base, into: &names)
        case .index(let base, let key):
            self.names(in: base, into: &names)
            self.names(in: key, into: &names)
        case .call(let call):
            for argument in call.arguments { self.names(in: argument, into: &names) }
            if let filter = call.filter { self.names(in: filter, into: &names) }
            if let window = call.window { self.names(in: window, into: &names) }
        case .list(let elements): for element in elements { self.names(in: element, into: &names) }
        case .caseOf(let subject, let arms):
            if let subject { self.names(in: subject, into: &names) }
            for arm in arms {
                for pattern in arm.patterns { self.names(in: pattern, into: &names) }
                self.names(in: arm.value, into: &names)
            }
        case .unary(_, let operand), .presence(let operand, _): self.names(in: operand, into: &names)
        case .binary(_, let left, let right):
            self.names(in: left, into: &names)
            self.names(in: right, into: &names)
        }
    }
}

/// A policy clause of a rule or of the whole rule set, with what it is paired by: its kind
/// and what it counts per (`limit … per order` and `limit … per customer` are two limits).
struct PolicyShape: Equatable {
    var kind: String
    var per: String
    var printed: Printed

    init(_ clause: PolicyClause) {
        switch clause {
        case .limit(let limit): (kind, per) = ("limit", limit.key.text)
        case .noLimit: (kind, per) = ("limit", "")
        case .cap(let cap): (kind, per) = ("cap", cap.key.text)
        case .exclusive(let exclusive): (kind, per) = ("exclusive", exclusive.group.name)
        case .rollout: (kind, per) = ("rollout", "")
        case .active: (kind, per) = ("active", "")
        }
        printed = Printed(text: Formatter.print(clause), key: Formatter.print(DiffNormal.policy(clause)))
    }

    init(kind: String, per: String, printed: Printed) {
        self.kind = kind
        self.per = per
        self.printed = printed
    }
}

/// `VERB [ARGUMENT] [via CHANNEL]`, printed and keyed.
struct ActionShape: Equatable {
    var verb: String
    var argument: Printed?
    var channel: Printed?
    var printed: Printed

    init(_ action: Action) {
        verb = action.verb.name
        argument = action.argument.map(Printed.init)
        channel = action.channel.map(Printed.init)
        var key = verb
        if let argument { key += " " + argument.key }
        if let channel { key += " via " + channel.key }
        printed = Printed(text: Formatter.print(action), key: key)
    }
}

/// One rule, reduced to what it means: the parts that are compared, each printed and keyed.
struct RuleShape {
    var name: String
    var isAnonymous: Bool
    var file: String
    /// The rule in canonical layout, for added and removed rules.
    var source: String
    var description: String?
    var triggers: [String]
    /// The triggers the checker settled on (written or inferred).
    var effectiveTriggers: [String]
    var absence: Printed?
    var condition: Printed?
    /// The `and`-joined parts of the condition, in order.
    var conditionParts: [(printed: Printed, expression: RedressSyntax.Expression)]
    var actions: [ActionShape]
    var policies: [PolicyShape]
    /// Parameters, definitions, tables and groups the rule depends on, directly or through
    /// definitions and tables.
    var uses: Set<String> = []
    /// What the rule depends on in the schema and the catalog (`EnvironmentComparison.uses`).
    var environmentUses: Set<String> = []

    var triggerKey: String { effectiveTriggers.joined(separator: ", ") + "|" + (absence?.key ?? "") }
    var conditionKey: String { conditionParts.map(\.printed.key).sorted().joined(separator: " and ") }
    var actionsKey: String { actions.map(\.printed.key).joined(separator: ", ") }
    var policiesKey: String { policies.map(\.printed.key).sorted().joined(separator: "; ") }
    /// Everything but the name: two rules with one body are the same rule.
    var bodyKey: String { [description ?? "", triggerKey, conditionKey, actionsKey, policiesKey].joined(separator: "\u{1}") }

    init(_ rule: Rule, name: String, file: RuleFile, checked: CheckedRule?) {
        self.name = name
        isAnonymous = rule.name == nil
        self.file = file.source.path
        source = Formatter.format(RuleFile(source: file.source, items: [.rule(rule)], comments: []))
        description = rule.description?.value
        triggers = rule.triggers.map(\.name)
        effectiveTriggers = checked?.triggers ?? triggers
        if let absence = rule.absence {
            let deadline = switch absence.deadline {
            case .within(let duration): ("within " + Formatter.print(duration), "within " + Printed(duration).key)
            case .by(let instant): ("by " + Formatter.print(instant), "by " + Printed(instant).key)
            }
            self.absence = Printed(text: "unless \(absence.event.name) \(deadline.0)", key: "unless \(absence.event.name) \(deadline.1)")
        }
        condition = rule.condition.map(Printed.init)
        var parts: [RedressSyntax.Expression] = []
        func flatten(_ expression: RedressSyntax.Expression) {
            if case .binary(.and, let left, let right) = expression.kind {
                flatten(left)
                flatten(right)
            } else {
                parts.append(expression)
            }
        }
        if let condition = rule.condition { flatten(condition) }
        conditionParts = parts.map { (Printed($0), $0) }
        actions = rule.actions.map(ActionShape.init)
        policies = rule.policies.map(PolicyShape.init)
        // A rule without a limit has the default `limit 1 per <subject>`: writing it out is no change.
        let writesLimit = rule.policies.contains { clause in
            switch clause {
            case .limit, .noLimit: true
            default: false
            }
        }
        if !writesLimit, let subject = checked?.subject {
            let text = "limit 1 per \(subject)"
            policies.append(PolicyShape(kind: "limit", per: subject, printed: Printed(text: text + " (the default)", key: text)))
        }
    }
}

/// The declarations of a rule set besides its rules, and the rules, by name.
struct RuleSetShape {
    var rules: [RuleShape] = []
    var parameters: [String: Printed] = [:]
    var definitions: [String: Printed] = [:]
    /// Table name → `by ENUM` and its arms (patterns → value).
    var tables: [String: (keyType: String, arms: [(pattern: String, value: Printed)])] = [:]
    var groups: [String: Printed] = [:]
    var policies: [PolicyShape] = []
    var schema: Schema?
    var catalog: Catalog?

    init(_ report: RuleSetReport) {
        schema = report.checked?.schema
        catalog = report.checked?.catalog
        let checkedRules = Dictionary((report.checked?.rules ?? []).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // What each declaration refers to, to follow a rule's uses through definitions and tables.
        var references: [String: Set<String>] = [:]
        var ruleReferences: [[String]] = []
        for file in report.files {
            // Anonymous rules are named as the checker names them: `<file stem>:<n>`.
            let stem = URL(fileURLWithPath: file.source.path).deletingPathExtension().lastPathComponent
            var anonymous = 0
            for item in file.items {
                switch item {
                case .rule(let rule):
                    let name: String
                    if let identifier = rule.name { name = identifier.name } else {
                        anonymous += 1
                        name = "\(stem):\(anonymous)"
                    }
                    var shape = RuleShape(rule, name: name, file: file, checked: checkedRules[name])
                    if let checked = checkedRules[name], let environment = report.checked {
                        shape.environmentUses = EnvironmentComparison.uses(of: checked, in: environment)
                    }
                    rules.append(shape)
                    var names: Set<String> = []
                    if let condition = rule.condition { DiffNormal.names(in: condition, into: &names) }
                    for action in rule.actions {
                        if let argument = action.argument { DiffNormal.names(in: argument, into: &names) }
                        if let channel = action.channel { DiffNormal.names(in: channel, into: &names) }
                    }
                    if let absence = rule.absence {
                        switch absence.deadline {
                        case .within(let expression), .by(let expression): DiffNormal.names(in: expression, into: &names)
                        }
                    }
                    for policy in rule.policies {
                        switch policy {
                        case .exclusive(let exclusive): names.insert("group " + exclusive.group.name)
                        case .cap(let cap): DiffNormal.names(in: cap.amount, into: &names)
                        case .rollout(let share, _): DiffNormal.names(in: share, into: &names)
                        default: break
                        }
                    }
                    ruleReferences.append(names.sorted())
                case .parameter(let definition):
                    parameters[definition.name.name] = Printed(definition.value)
                case .definition(let definition):
                    definitions[definition.name.name] = Printed(definition.value)
                    var names: Set<String> = []
                    DiffNormal.names(in: definition.value, into: &names)
                    references[definition.name.name] = names
                case .table(let table):
                    // One entry per key (`AT | NL -> 4d` is AT -> 4d and NL -> 4d): keys regrouped
                    // or reordered are no change, and a key moved to another value is one change.
                    let arms = table.arms.flatMap { arm in
                        arm.isElse ? [(pattern: "else", value: Printed(arm.value))]
                            : arm.patterns.map { (pattern: Formatter.print($0), value: Printed(arm.value)) }
                    }
                    tables[table.name.name] = (table.keyType.name, arms)
                    var names: Set<String> = []
                    for arm in table.arms { DiffNormal.names(in: arm.value, into: &names) }
                    references[table.name.name] = names
                case .group(let group):
                    var text = "group \(group.name.name) per \(group.key.text)", key = text
                    if let window = group.window {
                        text += " within \(Formatter.print(window))"
                        key += " within \(Printed(window).key)"
                    }
                    if let order = group.order {
                        text += " by \(order.name)"
                        key += " by \(order.name)"
                    }
                    groups[group.name.name] = Printed(text: text, key: key)
                case .policy(let clause):
                    policies.append(PolicyShape(clause))
                }
            }
        }
        // A template sent without `via` goes out on its default channel: writing it out is no change.
        if let catalog {
            for rule in rules.indices {
                for index in rules[rule].actions.indices {
                    let action = rules[rule].actions[index]
                    guard action.channel == nil, let argument = action.argument,
                          let channel = catalog.template(argument.text)?.defaultChannel, !channel.isEmpty else { continue }
                    rules[rule].actions[index].printed.key += " via " + channel
                }
            }
        }
        // The transitive closure; the worklist visits each name once, so cycles (an error the
        // checker reports anyway) cannot loop.
        for index in rules.indices {
            var seen: Set<String> = []
            var work = ruleReferences[index]
            while let name = work.popLast() {
                guard seen.insert(name).inserted else { continue }
                work += references[name].map { Array($0) } ?? []
            }
            rules[index].uses = seen
        }
    }
}
