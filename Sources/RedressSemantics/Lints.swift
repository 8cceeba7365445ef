import Foundation
import RedressSyntax

/// Warnings: things that check out but are almost certainly not what the author meant.
extension Checker {
    var foldedDefinitions: [String: TypedExpression] {
        var result: [String: TypedExpression] = [:]
        for (name, state) in definitionStates {
            if case .done(let expression, _) = state { result[name] = expression }
        }
        return result
    }

    /// W0503 / W0504: conditions that cannot depend on the event.
    mutating func lintCondition(_ condition: TypedExpression, written: Expression, file: String) {
        if case .bool(let value)? = ConstantFolder.fold(condition, definitions: foldedDefinitions, rounding: catalog.rounding) {
            diagnostics.append(Diagnostic(value ? .alwaysTrue : .alwaysFalse,
                                          "this condition is always \(value)",
                                          at: Label(file: file, span: written.span, message: "does not depend on the event"),
                                          notes: [value ? "the rule fires on every event of its triggers" : "the rule can never fire"],
                                          help: value ? "remove the condition, or compare a field" : "correct the condition or delete the rule"))
            return
        }
        if let (field, comparison, span) = selfComparison(in: condition) {
            let always = [.equal, .lessEqual, .greaterEqual].contains(comparison)
            diagnostics.append(Diagnostic(always ? .alwaysTrue : .alwaysFalse,
                                          "`\(field) \(comparison.rawValue) \(field)` compares a field with itself",
                                          at: Label(file: file, span: span, message: always ? "true whenever it is present" : "never true"),
                                          notes: ["a field always equals itself: this part does not depend on what happened"],
                                          help: "compare `\(field)` with a value or another field, for example `\(field) == ...`"))
            return
        }
        if let contradiction = contradiction(in: condition) {
            diagnostics.append(Diagnostic(.alwaysFalse, "this condition is always false: `\(contradiction.field)` cannot be \(contradiction.reason)",
                                          at: Label(file: file, span: written.span, message: "can never hold"),
                                          notes: ["the rule can never fire"],
                                          help: "check the bounds; perhaps `or` was meant instead of `and`"))
        }
    }

    /// A comparison of a field with itself anywhere in the condition (`complaint.topic == complaint.topic`).
    func selfComparison(in expression: TypedExpression) -> (FieldReference, BinaryOperator, Span)? {
        switch expression.kind {
        case .binary(let op, let l, let r):
            if [.equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual].contains(op),
               case .field(let a) = l.kind, case .field(let b) = r.kind, a == b {
                return (a, op, expression.span)
            }
            return selfComparison(in: l) ?? selfComparison(in: r)
        case .not(let inner), .negate(let inner), .presence(let inner, _): return selfComparison(in: inner)
        default: return nil
        }
    }

    /// W0509: a `share(...)` compared without a `count(...)` of the same events beside it: one
    /// late parcel out of one is 100%, so a share alarm on a quiet day fires on noise.
    mutating func lintShares(_ condition: TypedExpression, file: String) {
        var shares: [(Aggregate, Span)] = []
        var counts: [Aggregate] = []
        func visit(_ e: TypedExpression) {
            switch e.kind {
            case .aggregate(let aggregate):
                if aggregate.function == .share { shares.append((aggregate, e.span)) }
                if aggregate.function == .count { counts.append(aggregate) }
            case .binary(_, let l, let r): visit(l); visit(r)
            case .not(let inner), .negate(let inner), .presence(let inner, _): visit(inner)
            default: break
            }
        }
        visit(condition)
        for (share, span) in shares where !counts.contains(where: { $0.event == share.event && $0.per.description == share.per.description }) {
            let window = Self.durationText(share.window)
            diagnostics.append(Diagnostic(
                .shareWithoutMinimum, "`share(\(share.event) …)` has no minimum count beside it",
                at: Label(file: file, span: span, message: "one late parcel of one is 100%"),
                notes: ["on a quiet day a handful of events decide the share, so the rule fires on noise"],
                help: "add `and count(\(share.event) per \(share.per) within \(window)) >= N`, with N the fewest events worth judging"))
        }
    }

    static func durationText(_ milliseconds: Int64) -> String {
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where milliseconds % size == 0 {
            return "\(milliseconds / size)\(unit)"
        }
        return "\(milliseconds)ms"
    }

    /// W0510: an exclusive group keeps one decision per key, chosen before caps are applied; a
    /// member with a cap of its own can win and then be held back by its cap, and the customer
    /// gets nothing from the group although another member would have fitted.
    mutating func lintCappedGroupMembers(_ rules: [CheckedRule]) {
        for rule in rules {
            guard let group = rule.exclusive?.group, let cap = rule.caps.first else { continue }
            let others = rules.filter { $0.exclusive?.group == group && $0.name != rule.name }
            guard !others.isEmpty else { continue }
            diagnostics.append(Diagnostic(
                .capBlocksGroupWinner, "rule `\(rule.name)` can win group `\(group)` and then be held back by its cap",
                at: Label(file: rule.file, span: cap.span, message: "applied after the group has chosen"),
                notes: ["the group keeps one decision per key before caps are applied: when `\(rule.name)` wins and its cap is used up, the customer gets nothing from the group, although \(others.map { "`\($0.name)`" }.prefix(3).joined(separator: ", ")) might have fitted"],
                help: "move the cap to a rule-set `policy cap … per …` if it should bound the whole group, or take `\(rule.name)` out of the group"))
        }
    }

    struct Contradiction { var field: String; var reason: String }

    /// Looks for `x > 5 and x < 3` or `x == A and x == B` among the `and`-joined parts.
    func contradiction(in condition: TypedExpression) -> Contradiction? {
        var conjuncts: [TypedExpression] = []
        func flatten(_ e: TypedExpression) {
            if case .binary(.and, let l, let r) = e.kind { flatten(l); flatten(r) } else { conjuncts.append(e) }
        }
        flatten(condition)
        struct Bounds { var low: (Value, Bool)?; var high: (Value, Bool)?; var equal: Value? }
        var bounds: [FieldReference: Bounds] = [:]
        let definitions = foldedDefinitions
        for part in conjuncts {
            guard case .binary(var op, let l, let r) = part.kind else { continue }
            var field: FieldReference
            var value: Value
            if case .field(let f) = l.kind, let v = ConstantFolder.fold(r, definitions: definitions, rounding: catalog.rounding) {
                field = f; value = v
            } else if case .field(let f) = r.kind, let v = ConstantFolder.fold(l, definitions: definitions, rounding: catalog.rounding) {
                field = f; value = v
                switch op {
                case .less: op = .greater
                case .lessEqual: op = .greaterEqual
                case .greater: op = .less
                case .greaterEqual: op = .lessEqual
                default: break
                }
            } else { continue }
            var b = bounds[field] ?? Bounds()
            switch op {
            case .equal:
                if let existing = b.equal, !ConstantFolder.equal(existing, value) {
                    return Contradiction(field: field.description, reason: "both \(existing) and \(value)")
                }
                b.equal = value
            case .greater, .greaterEqual:
                if let low = b.low, ConstantFolder.order(value, low.0) != .orderedDescending {} else { b.low = (value, op == .greaterEqual) }
            case .less, .lessEqual:
                if let high = b.high, ConstantFolder.order(value, high.0) != .orderedAscending {} else { b.high = (value, op == .lessEqual) }
            default: continue
            }
            if let low = b.low, let high = b.high, let o = ConstantFolder.order(low.0, high.0) {
                if o == .orderedDescending || (o == .orderedSame && !(low.1 && high.1)) {
                    return Contradiction(field: field.description, reason: "above \(low.0) and below \(high.0) at once")
                }
            }
            if let e = b.equal {
                if let low = b.low, let o = ConstantFolder.order(e, low.0), o == .orderedAscending || (o == .orderedSame && !low.1) {
                    return Contradiction(field: field.description, reason: "\(e) and above \(low.0) at once")
                }
                if let high = b.high, let o = ConstantFolder.order(e, high.0), o == .orderedDescending || (o == .orderedSame && !high.1) {
                    return Contradiction(field: field.description, reason: "\(e) and below \(high.0) at once")
                }
            }
            bounds[field] = b
        }
        return nil
    }

    /// W0501 / W0502 / W0506: declarations nothing uses.
    mutating func lintUnused() {
        for (name, entry) in declared.sorted(by: { $0.key < $1.key }) where !used.contains(name) {
            switch entry.kind {
            case .parameter:
                diagnostics.append(Diagnostic(.unusedParameter, "parameter `\(name)` is never used",
                                              at: Label(file: entry.file, span: entry.name.span, message: "declared here"),
                                              help: "use it in a rule or remove it; sweeping an unused parameter changes nothing"))
            case .definition:
                diagnostics.append(Diagnostic(.unusedDefinition, "definition `\(name)` is never used",
                                              at: Label(file: entry.file, span: entry.name.span, message: "declared here"),
                                              help: "use it in a rule or remove it"))
            case .table:
                diagnostics.append(Diagnostic(.unusedDeclaration, "table `\(name)` is never used",
                                              at: Label(file: entry.file, span: entry.name.span, message: "declared here"),
                                              help: "look it up with `\(name)[...]` in a rule or remove it"))
            }
        }
        for (name, entry) in declaredGroups.sorted(by: { $0.key < $1.key }) where !usedGroups.contains(name) {
            diagnostics.append(Diagnostic(.unusedDeclaration, "group `\(name)` has no member rules",
                                          at: Label(file: entry.file, span: entry.group.name.span, message: "declared here"),
                                          help: "add `exclusive \(name)` to the rules it should hold apart, or remove it"))
        }
    }

    /// W0505: in a group ordered by priority, a rule whose every firing is also a firing of a
    /// rule with a higher priority (same triggers, a subset of its conditions, no rollout or
    /// dates) can never win.
    mutating func lintExclusiveGroups(_ rules: [CheckedRule], groups: [CheckedGroup]) {
        var conjuncts: [String: Set<String>] = [:]
        for rule in rules where rule.exclusive != nil { conjuncts[rule.name] = Set(conjunctTexts(rule.conditionSyntax)) }
        for group in groups {
            let members = rules.filter { $0.exclusive?.group == group.name }
            for lower in members {
                for higher in members where higher.name != lower.name {
                    guard let lp = lower.exclusive?.priority, let hp = higher.exclusive?.priority else { continue }
                    let wins: Bool
                    switch group.order {
                    case .priority: wins = hp > lp
                    case .amount:
                        guard let ha = constantAmount(higher), let la = constantAmount(lower) else { continue }
                        wins = ha > la || (ha == la && hp > lp)
                    }
                    guard wins, higher.rollout == nil, higher.activeFrom == nil, higher.activeUntil == nil,
                          Set(lower.triggers).isSubset(of: Set(higher.triggers)), lower.absence == nil, higher.absence == nil else { continue }
                    guard let higherParts = conjuncts[higher.name], let lowerParts = conjuncts[lower.name],
                          higherParts.isSubset(of: lowerParts) else { continue }
                    diagnostics.append(Diagnostic(
                        .unreachableRule, "rule `\(lower.name)` can never win in group `\(group.name)`",
                        at: Label(file: lower.file, span: lower.span.prefix(of: 0), message: "always beaten by `\(higher.name)`"),
                        secondary: [Label(file: higher.file, span: higher.span.prefix(of: 0), message: "fires whenever `\(lower.name)` does, and wins")],
                        notes: ["group `\(group.name)` keeps one decision per \(group.key), chosen by \(group.order.rawValue)"],
                        help: group.order == .priority ? "give `\(lower.name)` a higher priority, narrow `\(higher.name)`, or remove one of them"
                                                       : "make `\(lower.name)` more generous, narrow `\(higher.name)`, or remove one of them"))
                    break
                }
            }
        }
    }

    func conjunctTexts(_ condition: Expression?) -> [String] {
        guard let condition else { return [] }
        if case .binary(.and, let l, let r) = condition.kind { return conjunctTexts(l) + conjunctTexts(r) }
        return [Formatter.print(condition)]
    }

    /// Sum of the constant money amounts of a rule's actions, or nil if any amount varies.
    func constantAmount(_ rule: CheckedRule) -> Decimal? {
        var total = Decimal(0)
        for action in rule.actions {
            if case .value(let e) = action.argument, case .money = e.type {
                guard case .money(let amount, _)? = ConstantFolder.fold(e, definitions: foldedDefinitions, parameters: parameters, rounding: catalog.rounding) else { return nil }
                total += amount
            }
        }
        return total
    }
}

extension Span {
    /// The first `length` bytes of the span (at least one), for pointing at where a rule starts.
    func prefix(of length: Int) -> Span {
        Span(start: start, end: start + max(1, min(self.length, length == 0 ? 4 : length)))
    }
}
