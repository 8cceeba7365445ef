import Foundation
import RedressSemantics

/// Changes to what rules share: parameters, definitions, tables, groups and rule-set policies.
/// (The schema and the catalog: `EnvironmentComparison`.)
enum DeclarationComparison {
    typealias Change = RuleSetDiff.Change
    typealias DeclarationChange = RuleSetDiff.DeclarationChange

    static func compare(_ old: RuleSetShape, _ new: RuleSetShape) -> [DeclarationChange] {
        var result: [DeclarationChange] = []
        func usedBy(_ key: String) -> [String] {
            Set((old.rules + new.rules).filter { $0.uses.contains(key) }.map(\.name)).sorted()
        }
        func named(_ kind: String, _ before: [String: Printed], _ after: [String: Printed], prefix: String = "", what: (String) -> String) {
            for name in Set(before.keys).union(after.keys).sorted() {
                let a = before[name], b = after[name]
                guard a?.key != b?.key else { continue }
                let status: RuleSetDiff.Status = a == nil ? .added : (b == nil ? .removed : .changed)
                let change: Change
                switch (a, b) {
                case let (a?, b?): change = Change(kind: kind, text: "\(what(name)) \(a.text) → \(b.text)", before: a.text, after: b.text)
                case let (nil, b?): change = Change(kind: kind, text: "\(kind) `\(name)` added: `\(b.text)`", after: b.text)
                case let (a?, nil): change = Change(kind: kind, text: "\(kind) `\(name)` removed (was `\(a.text)`)", before: a.text)
                default: continue
                }
                result.append(DeclarationChange(kind: kind, name: name, status: status, changes: [change], usedBy: usedBy(prefix + name)))
            }
        }
        named("parameter", old.parameters, new.parameters) { "parameter `\($0)` default" }
        named("definition", old.definitions, new.definitions) { "definition `\($0)`:" }
        named("group", old.groups, new.groups, prefix: "group ") { "group `\($0)`:" }
        // The `:` readings above print values bare; definitions and groups read better in backticks.
        for index in result.indices where result[index].kind != "parameter" && result[index].status == .changed {
            if let a = result[index].changes[0].before, let b = result[index].changes[0].after {
                result[index].changes[0].text = "\(result[index].kind) `\(result[index].name)`: `\(a)` → `\(b)`"
            }
        }
        for name in Set(old.tables.keys).union(new.tables.keys).sorted() {
            let a = old.tables[name], b = new.tables[name]
            var changes: [Change] = []
            let status: RuleSetDiff.Status
            switch (a, b) {
            case let (a?, b?):
                status = .changed
                if a.keyType != b.keyType {
                    changes.append(Change(kind: "table", text: "table `\(name)` keyed by `\(a.keyType)` → `\(b.keyType)`", before: a.keyType, after: b.keyType))
                }
                // Entries by key, in the order written.
                let before = Dictionary(a.arms.map { ($0.pattern, $0.value) }, uniquingKeysWith: { first, _ in first })
                let after = Dictionary(b.arms.map { ($0.pattern, $0.value) }, uniquingKeysWith: { first, _ in first })
                for pattern in a.arms.map(\.pattern) + b.arms.map(\.pattern).filter({ before[$0] == nil }) {
                    switch (before[pattern], after[pattern]) {
                    case let (x?, y?) where x.key != y.key:
                        changes.append(Change(kind: "table", text: "table `\(name)`: \(pattern) \(x.text) → \(y.text)", before: "\(pattern) -> \(x.text)", after: "\(pattern) -> \(y.text)"))
                    case let (nil, y?):
                        changes.append(Change(kind: "table", text: "table `\(name)`: entry added `\(pattern) -> \(y.text)`", after: "\(pattern) -> \(y.text)"))
                    case let (x?, nil):
                        changes.append(Change(kind: "table", text: "table `\(name)`: entry removed `\(pattern) -> \(x.text)`", before: "\(pattern) -> \(x.text)"))
                    default: break
                    }
                }
            case (nil, .some): status = .added; changes.append(Change(kind: "table", text: "table `\(name)` added"))
            case (.some, nil): status = .removed; changes.append(Change(kind: "table", text: "table `\(name)` removed"))
            default: continue
            }
            if !changes.isEmpty { result.append(DeclarationChange(kind: "table", name: name, status: status, changes: changes, usedBy: usedBy(name))) }
        }
        // Rule-set policies have no names: each change is its own entry, named by its kind.
        for change in RuleComparison.comparePolicies(old.policies, new.policies, whose: "rule-set ") {
            let status: RuleSetDiff.Status = change.before == nil ? .added : (change.after == nil ? .removed : .changed)
            let name = (change.after ?? change.before ?? "").split(separator: " ").first.map(String.init) ?? "policy"
            result.append(DeclarationChange(kind: "policy", name: name, status: status, changes: [change], usedBy: []))
        }
        let kinds = ["parameter": 0, "definition": 1, "table": 2, "group": 3, "policy": 4]
        return result.sorted { (kinds[$0.kind] ?? 9, $0.name, $0.changes.first?.text ?? "") < (kinds[$1.kind] ?? 9, $1.name, $1.changes.first?.text ?? "") }
    }
}
