/// A span-free S-expression of a syntax tree. Two files have the same meaning exactly when
/// their dumps are equal (a chain of `and` or of `or` is one list, however it is grouped); `fmt` is tested with it (formatting must not change the tree),
/// and it makes parser tests readable.
public enum TreeDump {
    public static func dump(_ file: RuleFile) -> String {
        file.items.map(dump).joined(separator: "\n")
    }

    public static func dump(_ item: Item) -> String {
        switch item {
        case .parameter(let d): return "(param \(d.name.name) \(dump(d.value)))"
        case .definition(let d): return "(let \(d.name.name) \(dump(d.value)))"
        case .table(let t): return "(table \(t.name.name) \(t.keyType.name) \(t.arms.map(dump).joined(separator: " ")))"
        case .group(let g):
            return "(group \(g.name.name) \(g.key.text) \(g.window.map(dump) ?? "-") \(g.order?.name ?? "-"))"
        case .policy(let p): return "(policy \(dump(p)))"
        case .rule(let r):
            var parts = ["rule", r.name?.name ?? "-", r.description.map { Formatter.quote($0.value) } ?? "-"]
            parts.append("(on \(r.triggers.map(\.name).joined(separator: " ")))")
            if let absence = r.absence {
                switch absence.deadline {
                case .within(let e): parts.append("(unless \(absence.event.name) within \(dump(e)))")
                case .by(let e): parts.append("(unless \(absence.event.name) by \(dump(e)))")
                }
            }
            parts.append("(when \(r.condition.map(dump) ?? "-"))")
            parts.append("(then \(r.actions.map(dump).joined(separator: " ")))")
            parts.append(contentsOf: r.policies.map(dump))
            return "(" + parts.joined(separator: " ") + ")"
        }
    }

    static func dump(_ action: Action) -> String {
        "(\(action.verb.name) \(action.argument.map(dump) ?? "-") \(action.channel.map(dump) ?? "-"))"
    }

    static func dump(_ clause: PolicyClause) -> String {
        switch clause {
        case .limit(let l): "(limit \(l.count.text) \(l.key.text) \(l.window.map(dump) ?? "-"))"
        case .noLimit: "(limit none)"
        case .cap(let c): "(cap \(dump(c.amount)) \(c.key.text) \(c.window.map(dump) ?? "-"))"
        case .exclusive(let e): "(exclusive \(e.group.name) \(e.priority?.text ?? "-"))"
        case .rollout(let e, _): "(rollout \(dump(e)))"
        case .active(let a): "(active \(a.from?.text ?? "-") \(a.until?.text ?? "-"))"
        }
    }

    static func dump(_ arm: Arm) -> String {
        "(\(arm.isElse ? "else" : arm.patterns.map(dump).joined(separator: " | ")) -> \(dump(arm.value)))"
    }

    public static func dump(_ e: Expression) -> String {
        switch e.kind {
        case .literal(let l): return Formatter.print(l)
        case .name(let n): return n.name
        case .member(let base, let field): return "(. \(dump(base)) \(field.name))"
        case .index(let base, let key): return "([] \(dump(base)) \(dump(key)))"
        case .call(let c):
            var parts = ["call", c.function.name] + c.arguments.map(dump)
            if let f = c.filter { parts.append("where \(dump(f))") }
            if let p = c.per { parts.append("per \(p.text)") }
            if let w = c.window { parts.append("within \(dump(w))") }
            return "(" + parts.joined(separator: " ") + ")"
        case .list(let elements): return "[" + elements.map(dump).joined(separator: " ") + "]"
        case .caseOf(let subject, let arms):
            return "(case \(subject.map(dump) ?? "-") \(arms.map(dump).joined(separator: " ")))"
        case .unary(let op, let operand): return "(\(op.rawValue) \(dump(operand)))"
        case .presence(let operand, let test): return "(is-\(test.rawValue) \(dump(operand)))"
        case .binary(let op, let l, let r):
            // `and` and `or` are associative: a chain is dumped as one list of its parts,
            // however the tree groups them (see `Parser.longestLeftLeaningChain`).
            if op == .and || op == .or {
                return "(\(op.rawValue) \(chainParts(of: e, op).map(dump).joined(separator: " ")))"
            }
            return "(\(op.rawValue) \(dump(l)) \(dump(r)))"
        }
    }

    /// The parts of the chain of `op` at the top of `expression`, in order; a part is any
    /// expression that is not itself `op`. Walks the left spine in a loop and recurses only to
    /// the right, so a left-leaning chain costs no stack.
    static func chainParts(of expression: Expression, _ op: BinaryOperator) -> [Expression] {
        var parts: [Expression] = []
        var rights: [Expression] = []
        var current = expression
        while case .binary(op, let left, let right) = current.kind {
            rights.append(right)
            current = left
        }
        parts.append(current)
        for right in rights.reversed() {
            if case .binary(op, _, _) = right.kind { parts += chainParts(of: right, op) } else { parts.append(right) }
        }
        return parts
    }
}
