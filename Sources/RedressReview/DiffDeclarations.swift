import Foundation
import RedressSemantics

/// Changes to what rules share: parameters, definitions, tables, groups, rule-set policies,
/// and the costs in the catalog.
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

    /// The costs of the catalog: its currency, each action's cost model and redemption rate,
    /// each channel's and tag's cost. Templates cost nothing themselves and are not compared.
    static func compare(_ old: Catalog?, _ new: Catalog?) -> [Change] {
        guard let old, let new else { return [] }
        var changes: [Change] = []
        if old.currency != new.currency {
            changes.append(Change(kind: "catalog", text: "catalog currency \(old.currency) → \(new.currency)", before: old.currency, after: new.currency))
        }
        /// `6.90 EUR`, not `6.9 EUR`: cents are written in full, whole amounts as in rules (`5 EUR`).
        func money(_ value: Decimal, _ currency: String) -> String {
            var text = "\(value)"
            if let point = text.firstIndex(of: "."), text.distance(from: point, to: text.endIndex) == 2 { text += "0" }
            return "\(text) \(currency)"
        }
        func cost(_ cost: Catalog.Cost, _ currency: String) -> String {
            switch cost {
            case .free: "free"
            case .amount: "the amount"
            case .fixed(let value): money(value, currency)
            case .perUnit(let value): "\(money(value, currency)) per unit"
            }
        }
        func compareCosts(_ what: String, _ a: [(String, String)], _ b: [(String, String)]) {
            let before = Dictionary(a, uniquingKeysWith: { first, _ in first }), after = Dictionary(b, uniquingKeysWith: { first, _ in first })
            for name in Set(before.keys).union(after.keys).sorted() {
                switch (before[name], after[name]) {
                case let (x?, y?) where x != y:
                    changes.append(Change(kind: "catalog", text: "\(what) `\(name)` costs \(x) → \(y)", before: x, after: y))
                case let (nil, y?):
                    changes.append(Change(kind: "catalog", text: "\(what) `\(name)` added (costs \(y))", after: y))
                case let (x?, nil):
                    changes.append(Change(kind: "catalog", text: "\(what) `\(name)` removed (cost \(x))", before: x))
                default: break
                }
            }
        }
        func action(_ definition: Catalog.ActionDefinition, _ currency: String) -> String {
            cost(definition.cost, currency) + (definition.redemptionRate.map { ", redeemed \($0 * 100)%" } ?? "")
        }
        compareCosts("action", old.actions.map { ($0.name, action($0, old.currency)) }, new.actions.map { ($0.name, action($0, new.currency)) })
        compareCosts("channel", old.channels.map { ($0.name, money($0.cost, old.currency)) }, new.channels.map { ($0.name, money($0.cost, new.currency)) })
        compareCosts("tag", old.tags.map { ($0.name, money($0.cost, old.currency)) }, new.tags.map { ($0.name, money($0.cost, new.currency)) })
        return changes
    }
}
