import Foundation
import RedressSemantics
import RedressSyntax

/// A semantic diff of two checked rule sets (`redress diff`): rules added, removed, renamed and
/// changed, and the declarations they depend on, each change said in the rules' own words.
///
/// Rules are compared part by part — trigger, condition (its `and`-joined parts), actions,
/// policies, description — on their printed form with literals normalised, so layout, comments,
/// the order of `and` parts and `5.00 EUR` against `5 EUR` are not changes.
public struct RuleSetDiff: Sendable, Codable, Equatable {
    /// One change, as a sentence in domain words, with the text before and after where there is one.
    public struct Change: Sendable, Codable, Equatable {
        /// What changed: `name`, `description`, `trigger`, `absence`, `condition`, `threshold`,
        /// `operator`, `action`, `amount`, `argument`, `channel`, `policy`, `dependency`; for
        /// declarations `parameter`, `definition`, `table`, `group`; in the schema `currency`,
        /// `enum`, `entity`, `field`, `event`; in the catalog `currency`, `channel`, `template`,
        /// `tag`, `action`.
        public var kind: String
        /// The sentence; code is in backticks (Markdown).
        public var text: String
        public var before: String?
        public var after: String?
        /// For a change to the schema or the catalog: the rules of either version that depend on
        /// what changed (read the field, listen to the event, send the template, …).
        public var usedBy: [String]?

        public init(kind: String, text: String, before: String? = nil, after: String? = nil, usedBy: [String]? = nil) {
            self.kind = kind
            self.text = text
            self.before = before
            self.after = after
            self.usedBy = usedBy
        }
    }

    public enum Status: String, Sendable, Codable {
        case changed, renamed, added, removed
        /// Output order: changed and renamed rules (by name), then added, then removed.
        public var order: Int {
            switch self {
            case .changed, .renamed: 0
            case .added: 1
            case .removed: 2
            }
        }
    }

    public struct RuleChange: Sendable, Codable, Equatable {
        public var status: Status
        /// The rule's name in the new rule set (in the old one for a removed rule).
        public var name: String
        /// The old name of a renamed rule.
        public var oldName: String?
        public var file: String
        public var changes: [Change]
        /// The rule in canonical layout, for added and removed rules.
        public var source: String?
    }

    /// A parameter, definition, table, group or rule-set policy added, removed or changed.
    public struct DeclarationChange: Sendable, Codable, Equatable {
        /// `parameter`, `definition`, `table`, `group` or `policy`.
        public var kind: String
        public var name: String
        public var status: Status
        public var changes: [Change]
        /// Rules of either version that depend on it.
        public var usedBy: [String]
    }

    public struct Summary: Sendable, Codable, Equatable {
        public var added = 0
        public var removed = 0
        public var renamed = 0
        public var changed = 0
        public var unchanged = 0
        public var declarations = 0
        public var schema = 0
        public var catalog = 0
    }

    public var version = 1
    public var old: String
    public var new: String
    public var summary = Summary()
    public var rules: [RuleChange] = []
    public var declarations: [DeclarationChange] = []
    /// What changed in `schema.yaml`: currency, enums and their cases, entities and their keys,
    /// fields and their types, event types and the entities they carry.
    public var schema: [Change] = []
    /// What changed in `catalog.yaml`: currency, channels and tags and their costs, templates and
    /// their channels, actions and their arguments, cost models and redemption rates.
    public var catalog: [Change] = []
    /// The projected cost of both versions, with `--events`.
    public var cost: CostDiff? = nil
    /// Old name → new name of every rule paired under another name — renames, and anonymous
    /// rules whose place in their file moved (`mission:1` → `mission:2`): the cost table pairs
    /// them as one row. Not part of the JSON (renames are in `rules`).
    public var pairedNames: [String: String] = [:]

    enum CodingKeys: String, CodingKey { case version, old, new, summary, rules, declarations, schema, catalog, cost }

    public var hasChanges: Bool { !rules.isEmpty || !declarations.isEmpty || !schema.isEmpty || !catalog.isEmpty }

    /// Compares two checked rule sets; `old` and `new` label them in the output (their paths).
    public static func compare(old: RuleSetReport, new: RuleSetReport, oldLabel: String, newLabel: String) -> RuleSetDiff {
        var diff = RuleSetDiff(old: oldLabel, new: newLabel)
        let before = RuleSetShape(old), after = RuleSetShape(new)
        // Actions whose argument is money: a change of their argument is a change of amount.
        let moneyVerbs = Set(((after.catalog?.actions ?? []) + (before.catalog?.actions ?? [])).filter { $0.argument == .money }.map(\.name))
        diff.declarations = DeclarationComparison.compare(before, after)
        // Schema and catalog changes name the rules of either version that depend on what changed.
        func usedBy(_ keyed: [EnvironmentComparison.Keyed]) -> [Change] {
            keyed.map { entry in
                var change = entry.change
                let rules = Set((before.rules + after.rules).filter { !$0.environmentUses.isDisjoint(with: entry.keys) }.map(\.name)).sorted()
                if !rules.isEmpty { change.usedBy = rules }
                return change
            }
        }
        diff.schema = usedBy(EnvironmentComparison.compare(before.schema, after.schema))
        diff.catalog = usedBy(EnvironmentComparison.compare(before.catalog, after.catalog))
        // Each changed declaration also changes what the rules that use it do.
        var dependencyChanges: [String: [Change]] = [:]
        for declaration in diff.declarations where declaration.status == .changed {
            let key = declaration.kind == "group" ? "group " + declaration.name : declaration.name
            for rule in after.rules where rule.uses.contains(key) {
                // `parameter `x` default 1d → 2d` reads `uses parameter `x`, changed: default 1d → 2d`.
                let prefix = "\(declaration.kind) `\(declaration.name)`"
                let what = declaration.changes.map { change in
                    var text = Substring(change.text.hasPrefix(prefix) ? String(change.text.dropFirst(prefix.count)) : change.text)
                    while text.first == ":" || text.first == " " { text = text.dropFirst() }
                    return String(text)
                }
                dependencyChanges[rule.name, default: []].append(Change(
                    kind: "dependency", text: "uses \(prefix), changed: " + what.joined(separator: "; ")))
            }
        }
        var unchanged = 0
        for pairing in RuleMatching.match(before.rules, after.rules) {
            switch pairing {
            case .added(let rule):
                diff.rules.append(RuleChange(status: .added, name: rule.name, file: rule.file, changes: [], source: rule.source))
            case .removed(let rule):
                diff.rules.append(RuleChange(status: .removed, name: rule.name, file: rule.file, changes: [], source: rule.source))
            case .paired(let old, let new):
                if old.name != new.name { diff.pairedNames[old.name] = new.name }
                var changes = RuleComparison.compare(old, new, moneyVerbs: moneyVerbs,
                                                     parameters: (before.parameters, after.parameters))
                // A rule that moved is not renamed when its name is only its position
                // (`mission:1` → `mission:2`).
                let renamed = old.name != new.name && !(old.isAnonymous && new.isAnonymous)
                if renamed { changes.insert(Change(kind: "name", text: "renamed `\(old.name)` → `\(new.name)`", before: old.name, after: new.name), at: 0) }
                changes += dependencyChanges[new.name] ?? []
                if changes.isEmpty {
                    unchanged += 1
                } else {
                    diff.rules.append(RuleChange(status: renamed ? .renamed : .changed, name: new.name, oldName: renamed ? old.name : nil,
                                                 file: new.file, changes: changes))
                }
            }
        }
        diff.rules.sort { ($0.status.order, $0.name) < ($1.status.order, $1.name) }
        diff.summary.unchanged = unchanged
        for rule in diff.rules {
            switch rule.status {
            case .added: diff.summary.added += 1
            case .removed: diff.summary.removed += 1
            case .renamed: diff.summary.renamed += 1
            case .changed: diff.summary.changed += 1
            }
        }
        diff.summary.declarations = diff.declarations.count
        diff.summary.schema = diff.schema.count
        diff.summary.catalog = diff.catalog.count
        return diff
    }
}

/// Which rule of the old set is which rule of the new one.
enum RuleMatching {
    enum Pairing {
        case paired(RuleShape, RuleShape)
        case added(RuleShape)
        case removed(RuleShape)
    }

    static func match(_ old: [RuleShape], _ new: [RuleShape]) -> [Pairing] {
        var pairs: [Pairing] = []
        var oldLeft = Array(old.indices), newLeft = Array(new.indices)
        func pair(where matches: (RuleShape, RuleShape) -> Bool) {
            for o in oldLeft {
                guard let n = newLeft.first(where: { matches(old[o], new[$0]) }) else { continue }
                pairs.append(.paired(old[o], new[n]))
                oldLeft.removeAll { $0 == o }
                newLeft.removeAll { $0 == n }
            }
        }
        // 1. Named rules by name.
        pair { !$0.isAnonymous && !$1.isAnonymous && $0.name == $1.name }
        // 2. The same body under another name (or an anonymous rule that moved): a rename at most.
        pair { $0.bodyKey == $1.bodyKey }
        // 3. Anonymous rules in the same place of the same file.
        pair { $0.isAnonymous && $1.isAnonymous && $0.name == $1.name }
        // 4. A rename with edits: same condition or same actions, and at most one other part changed.
        pair { a, b in
            let same = [a.triggerKey == b.triggerKey, a.conditionKey == b.conditionKey, a.actionsKey == b.actionsKey,
                        a.policiesKey == b.policiesKey, a.description == b.description]
            return (same[1] || same[2]) && same.filter { $0 }.count >= 4
        }
        pairs += newLeft.map { .added(new[$0]) }
        pairs += oldLeft.map { .removed(old[$0]) }
        return pairs
    }
}

/// The changes between two versions of one rule, in domain words.
enum RuleComparison {
    typealias Change = RuleSetDiff.Change

    /// `parameters`: the old and new rule sets' parameters, to show what a parameter in a
    /// threshold stood for (`carrier_delay_threshold (1d) → 2d`).
    static func compare(_ old: RuleShape, _ new: RuleShape, moneyVerbs: Set<String> = [],
                        parameters: (old: [String: Printed], new: [String: Printed]) = ([:], [:])) -> [Change] {
        var changes: [Change] = []
        // Descriptions are the authors' free text: in code spans, so a pull-request comment shows
        // `<b>` as written instead of rendering it.
        switch (old.description, new.description) {
        case let (a?, b?) where a != b:
            changes.append(Change(kind: "description", text: "description `\(Formatter.quote(a))` → `\(Formatter.quote(b))`", before: a, after: b))
        case let (nil, b?):
            changes.append(Change(kind: "description", text: "description added: `\(Formatter.quote(b))`", after: b))
        case let (a?, nil):
            changes.append(Change(kind: "description", text: "description removed (was `\(Formatter.quote(a))`)", before: a))
        default: break
        }
        // What the rule listens to, written or inferred: writing out the trigger the checker
        // inferred anyway is not a change.
        if old.effectiveTriggers != new.effectiveTriggers {
            let a = old.effectiveTriggers.joined(separator: ", "), b = new.effectiveTriggers.joined(separator: ", ")
            let text = old.triggers.isEmpty || new.triggers.isEmpty ? "triggers (inferred) `\(a)` → `\(b)`" : "trigger `on \(a)` → `on \(b)`"
            changes.append(Change(kind: "trigger", text: text, before: a, after: b))
        }
        if old.absence?.key != new.absence?.key {
            changes.append(sentence(kind: "absence", what: "absence", old.absence?.text, new.absence?.text))
        }
        changes += compareConditions(old, new, parameters: parameters)
        changes += compareActions(old.actions, new.actions, moneyVerbs: moneyVerbs)
        changes += comparePolicies(old.policies, new.policies, whose: "")
        return changes
    }

    /// `X added: …`, `X removed (was …)` or `X … → …`.
    static func sentence(kind: String, what: String, _ before: String?, _ after: String?) -> Change {
        switch (before, after) {
        case let (a?, b?): Change(kind: kind, text: "\(what) `\(a)` → `\(b)`", before: a, after: b)
        case let (nil, b?): Change(kind: kind, text: "\(what) added: `\(b)`", after: b)
        case let (a?, nil): Change(kind: kind, text: "\(what) removed: `\(a)`", before: a)
        default: Change(kind: kind, text: what)
        }
    }

    // MARK: Conditions

    static func compareConditions(_ old: RuleShape, _ new: RuleShape,
                                  parameters: (old: [String: Printed], new: [String: Printed]) = ([:], [:])) -> [Change] {
        func shown(_ side: Printed, _ values: [String: Printed]) -> String {
            values[side.text].map { "\(side.text) (\($0.text))" } ?? side.text
        }
        guard old.conditionKey != new.conditionKey else { return [] }
        switch (old.condition, new.condition) {
        case let (nil, b?): return [Change(kind: "condition", text: "condition added: `when \(b.text)`", after: b.text)]
        case let (a?, nil): return [Change(kind: "condition", text: "condition removed (was `when \(a.text)`)", before: a.text)]
        default: break
        }
        // Parts present on both sides (as a multiset) are unchanged.
        var removed = old.conditionParts, added = new.conditionParts
        for part in old.conditionParts {
            if let index = added.firstIndex(where: { $0.printed.key == part.printed.key }),
               let mine = removed.firstIndex(where: { $0.printed.key == part.printed.key }) {
                added.remove(at: index)
                removed.remove(at: mine)
            }
        }
        var changes: [Change] = []
        // A comparison that keeps its left side and changes its constant or its operator.
        var index = 0
        while index < removed.count {
            guard let before = Relation(removed[index].expression),
                  let match = added.firstIndex(where: { Relation($0.expression).map { $0.left.key == before.left.key } ?? false }),
                  let after = Relation(added[match].expression) else {
                index += 1
                continue
            }
            let field = before.left.text
            if before.op == after.op {
                let from = shown(before.right, parameters.old), to = shown(after.right, parameters.new)
                let text = before.op.isOrdering ? "`\(field)` threshold \(from) → \(to)"
                    : "`\(field) \(before.op.rawValue)` \(from) → \(to)"
                changes.append(Change(kind: "threshold", text: text,
                                      before: removed[index].printed.text, after: added[match].printed.text))
            } else if before.right.key == after.right.key {
                changes.append(Change(kind: "operator", text: "operator of `\(field) … \(before.right.text)`: `\(before.op.rawValue)` → `\(after.op.rawValue)`",
                                      before: removed[index].printed.text, after: added[match].printed.text))
            } else {
                changes.append(Change(kind: "condition", text: "condition `\(removed[index].printed.text)` → `\(added[match].printed.text)`",
                                      before: removed[index].printed.text, after: added[match].printed.text))
            }
            removed.remove(at: index)
            added.remove(at: match)
        }
        for part in removed { changes.append(Change(kind: "condition", text: "condition part removed: `\(part.printed.text)`", before: part.printed.text)) }
        for part in added { changes.append(Change(kind: "condition", text: "condition part added: `\(part.printed.text)`", after: part.printed.text)) }
        return changes
    }

    /// `LEFT OP RIGHT` with a comparison operator.
    struct Relation {
        var left: Printed
        var op: BinaryOperator
        var right: Printed
        init?(_ expression: RedressSyntax.Expression) {
            guard case .binary(let written, let writtenLeft, let writtenRight) = expression.kind, written.isComparison else { return nil }
            let (left, op, right) = DiffNormal.oriented(written, writtenLeft, writtenRight)
            self.left = Printed(left)
            self.op = op
            self.right = Printed(right)
        }
    }

    // MARK: Actions

    static func compareActions(_ old: [ActionShape], _ new: [ActionShape], moneyVerbs: Set<String>) -> [Change] {
        guard old.map(\.printed.key) != new.map(\.printed.key) else { return [] }
        var removed = old, added = new
        var changes: [Change] = []
        func pairOff(_ matches: (ActionShape, ActionShape) -> Bool, _ describe: (ActionShape, ActionShape) -> [Change]) {
            var index = 0
            while index < removed.count {
                if let match = added.firstIndex(where: { matches(removed[index], $0) }) {
                    changes += describe(removed[index], added[match])
                    removed.remove(at: index)
                    added.remove(at: match)
                } else {
                    index += 1
                }
            }
        }
        pairOff({ $0.printed.key == $1.printed.key }) { _, _ in [] }
        if removed.isEmpty && added.isEmpty {
            let a = old.map(\.printed.text).joined(separator: ", "), b = new.map(\.printed.text).joined(separator: ", ")
            return [Change(kind: "action", text: "actions reordered: `\(a)` → `\(b)`", before: a, after: b)]
        }
        // Same verb and argument: only the channel changed.
        pairOff({ $0.verb == $1.verb && $0.argument?.key == $1.argument?.key }) { a, b in
            let what = "`\(a.verb)\(a.argument.map { " " + $0.text } ?? "")` channel"
            return [sentence(kind: "channel", what: what, a.channel?.text, b.channel?.text)]
        }
        // Same verb: the amount (or the argument) changed, perhaps the channel too.
        pairOff({ $0.verb == $1.verb }) { a, b in
            var result: [Change] = [Change(kind: moneyVerbs.contains(a.verb) ? "amount" : "argument",
                                           text: "`\(a.verb)` \(a.argument?.text ?? "(nothing)") → \(b.argument?.text ?? "(nothing)")",
                                           before: a.printed.text, after: b.printed.text)]
            if a.channel?.key != b.channel?.key { result.append(sentence(kind: "channel", what: "`\(b.verb)` channel", a.channel?.text, b.channel?.text)) }
            return result
        }
        for action in removed { changes.append(Change(kind: "action", text: "action removed: `\(action.printed.text)`", before: action.printed.text)) }
        for action in added { changes.append(Change(kind: "action", text: "action added: `\(action.printed.text)`", after: action.printed.text)) }
        // The actions both versions have, in another order (decisions list actions in rule order).
        let oldVerbs = Set(old.map(\.verb)), newVerbs = Set(new.map(\.verb))
        let kept = old.map(\.verb).filter(newVerbs.contains), keptNew = new.map(\.verb).filter(oldVerbs.contains)
        if kept != keptNew, kept.sorted() == keptNew.sorted() {
            let a = old.map(\.printed.text).joined(separator: ", "), b = new.map(\.printed.text).joined(separator: ", ")
            changes.append(Change(kind: "action", text: "actions reordered: `\(a)` → `\(b)`", before: a, after: b))
        }
        return changes
    }

    // MARK: Policies

    /// Policy clauses paired by kind and what they count per; `whose` prefixes the sentence
    /// (empty for a rule's own policies).
    static func comparePolicies(_ old: [PolicyShape], _ new: [PolicyShape], whose: String) -> [Change] {
        var removed = old, added = new
        var changes: [Change] = []
        func pairOff(_ matches: (PolicyShape, PolicyShape) -> Bool, describe: Bool) {
            var index = 0
            while index < removed.count {
                if let match = added.firstIndex(where: { matches(removed[index], $0) }) {
                    if describe { changes.append(describeChange(removed[index], added[match], whose: whose)) }
                    removed.remove(at: index)
                    added.remove(at: match)
                } else {
                    index += 1
                }
            }
        }
        pairOff({ $0.printed.key == $1.printed.key }, describe: false)
        pairOff({ $0.kind == $1.kind && $0.per == $1.per }, describe: true)
        // One limit replaced by another (`limit 1 per order` → `limit none`).
        if removed.filter({ $0.kind == "limit" }).count == 1, added.filter({ $0.kind == "limit" }).count == 1 {
            pairOff({ $0.kind == "limit" && $1.kind == "limit" }, describe: true)
        }
        for policy in removed { changes.append(Change(kind: "policy", text: "\(whose)policy removed: `\(policy.printed.text)`", before: policy.printed.text)) }
        for policy in added { changes.append(Change(kind: "policy", text: "\(whose)policy added: `\(policy.printed.text)`", after: policy.printed.text)) }
        return changes
    }

    static func describeChange(_ a: PolicyShape, _ b: PolicyShape, whose: String) -> Change {
        // The part after the keyword reads as the value: `rollout 25% → 50%`.
        func rest(_ text: String) -> String { String(text.drop { $0 != " " }.dropFirst()) }
        let text: String
        switch a.kind {
        case "rollout": text = "rollout \(rest(a.printed.text)) → \(rest(b.printed.text))"
        case "exclusive": text = "exclusive group `\(a.per)`: `\(a.printed.text)` → `\(b.printed.text)`"
        default: text = "\(a.kind) `\(a.printed.text)` → `\(b.printed.text)`"
        }
        return Change(kind: "policy", text: whose + text, before: a.printed.text, after: b.printed.text)
    }
}

extension BinaryOperator {
    var isOrdering: Bool { [.less, .lessEqual, .greater, .greaterEqual].contains(self) }
}
