import Foundation
import RedressSemantics

/// Changes to what the rules are written against: `schema.yaml` (what a rule can read and
/// listen to) and `catalog.yaml` (what a rule can do, and what that costs). The rule text can
/// stay the same while its meaning or its price changes, so each change says which rules of
/// either version depend on it.
///
/// Every sentence starts with the file's role — `schema: enum `Tier` gains `Gold``,
/// `catalog: cost of channel `sms` 0.09 EUR → 0.12 EUR` — so that it reads on its own in a
/// pull-request comment, as the rule changes do.
enum EnvironmentComparison {
    typealias Change = RuleSetDiff.Change

    /// A change with the keys (see `uses(of:schema:catalog:)`) of what it is about, to find the
    /// rules that depend on it.
    struct Keyed {
        var change: Change
        var keys: [String]
    }

    /// What a rule depends on in the schema and the catalog, as keys: `field customer.tier`,
    /// `entity customer`, `enum Tier`, `event shipment.delivered` (a trigger, the awaited event of
    /// an absence, or the events a history aggregate counts, also through definitions),
    /// `action refund`, `template apology`, `channel sms`, `tag handwritten`; the enum a table is keyed by.
    static func uses(of rule: CheckedRule, in environment: CheckedRuleSet) -> Set<String> {
        let schema = environment.schema, catalog = environment.catalog
        var keys: Set<String> = []
        // History aggregates and table keys, followed through definitions once each.
        var visited: Set<String> = []
        func visit(_ expression: TypedExpression) {
            switch expression.kind {
            case .constant, .field, .parameter: break
            case .definition(let name):
                if visited.insert(name).inserted, let definition = environment.definitions[name] { visit(definition) }
            case .tableLookup(let table, let key):
                if let keyEnum = environment.tables.first(where: { $0.name == table })?.keyEnum { keys.insert("enum \(keyEnum)") }
                visit(key)
            case .list(let elements): elements.forEach(visit)
            case .caseOf(let subject, let arms, let otherwise):
                if let subject { visit(subject) }
                for arm in arms {
                    arm.patterns.forEach(visit)
                    visit(arm.value)
                }
                if let otherwise { visit(otherwise) }
            case .not(let operand), .negate(let operand), .presence(let operand, _): visit(operand)
            case .binary(_, let left, let right):
                visit(left)
                visit(right)
            case .function(_, let arguments): arguments.forEach(visit)
            case .aggregate(let aggregate):
                keys.insert("event \(aggregate.event)")
                if let value = aggregate.value { visit(value) }
                if let filter = aggregate.filter { visit(filter) }
            }
        }
        if let condition = rule.condition { visit(condition) }
        if let rollout = rule.rollout { visit(rollout) }
        func enumerations(of type: ValueType) -> [String] {
            switch type {
            case .enumeration(let name): [name]
            case .optional(let wrapped), .list(let wrapped): enumerations(of: wrapped)
            default: []
            }
        }
        for field in rule.reads {
            keys.insert("field \(field.entity).\(field.field)")
            keys.insert("entity \(field.entity)")
            if let type = schema.entity(field.entity)?.field(field.field)?.type {
                for name in enumerations(of: type) { keys.insert("enum \(name)") }
            }
        }
        for event in rule.triggers { keys.insert("event \(event)") }
        if let absence = rule.absence { keys.insert("event \(absence.event)") }
        for action in rule.actions {
            keys.insert("action \(action.verb)")
            if case .value(let value) = action.argument { visit(value) }
            var template: String?
            if case .name(let name) = action.argument {
                if catalog.template(name) != nil { keys.insert("template \(name)"); template = name }
                if catalog.tag(name) != nil { keys.insert("tag \(name)") }
            }
            switch action.channel {
            case .fixed(let channel)?: keys.insert("channel \(channel)")
            case .field(let expression)?:
                // `via customer.preferred_channel ?? email`: any case of the enum may be the channel.
                for name in enumerations(of: expression.type) {
                    keys.insert("enum \(name)")
                    for channel in schema.enumeration(name)?.cases ?? [] { keys.insert("channel \(channel)") }
                }
            case nil:
                if let template, let channel = catalog.template(template)?.defaultChannel { keys.insert("channel \(channel)") }
            }
        }
        return keys
    }

    // MARK: Schema

    static func compare(_ old: Schema?, _ new: Schema?) -> [Keyed] {
        guard let old, let new else { return [] }
        var changes: [Keyed] = []
        func change(_ kind: String, _ text: String, _ before: String? = nil, _ after: String? = nil, uses: [String]) {
            changes.append(Keyed(change: Change(kind: kind, text: "schema: " + text, before: before, after: after), keys: uses))
        }
        if old.currency != new.currency {
            change("currency", "currency of `money` fields \(old.currency) → \(new.currency)\(rounding(old.currency, new.currency))",
                   old.currency, new.currency, uses: [])
        }
        // Enums and their cases.
        let oldEnums = Dictionary(old.enums.map { ($0.name, $0.cases) }, uniquingKeysWith: { first, _ in first })
        let newEnums = Dictionary(new.enums.map { ($0.name, $0.cases) }, uniquingKeysWith: { first, _ in first })
        for name in Set(oldEnums.keys).union(newEnums.keys).sorted() {
            let uses = ["enum \(name)"]
            switch (oldEnums[name], newEnums[name]) {
            case let (a?, b?):
                let gained = b.filter { !a.contains($0) }, lost = a.filter { !b.contains($0) }
                if !gained.isEmpty { change("enum", "enum `\(name)` gains \(codes(gained))", a.joined(separator: ", "), b.joined(separator: ", "), uses: uses) }
                if !lost.isEmpty { change("enum", "enum `\(name)` loses \(codes(lost))", a.joined(separator: ", "), b.joined(separator: ", "), uses: uses) }
            case let (nil, b?):
                change("enum", "enum `\(name)` added: \(codes(b))", nil, b.joined(separator: ", "), uses: uses)
            case let (a?, nil):
                change("enum", "enum `\(name)` removed (was \(codes(a)))", a.joined(separator: ", "), nil, uses: uses)
            default: break
            }
        }
        // Entities, their keys and fields.
        let oldEntities = Dictionary(old.entities.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let newEntities = Dictionary(new.entities.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for name in Set(oldEntities.keys).union(newEntities.keys).sorted() {
            switch (oldEntities[name], newEntities[name]) {
            case let (a?, b?):
                if a.key != b.key {
                    change("entity", "key of `\(name)` \(a.key.map { "`\($0)`" } ?? "(none)") → \(b.key.map { "`\($0)`" } ?? "(none)")",
                           a.key, b.key, uses: ["entity \(name)"])
                }
                let before = Dictionary(a.fields.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first })
                let after = Dictionary(b.fields.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first })
                // Fields in the order written: the old ones first, then those added.
                for field in a.fields.map(\.name) + b.fields.map(\.name).filter({ before[$0] == nil }) {
                    let path = "\(name).\(field)", uses = ["field \(path)"]
                    switch (before[field], after[field]) {
                    case let (x?, y?) where x != y:
                        // A field written `money` follows the schema's currency: that change is said
                        // once, as the currency's. Otherwise types are shown as written, or in full
                        // (`money(EUR)`) when the two schemas' currencies differ.
                        let (p, q) = (type(x, old.currency), type(y, new.currency))
                        guard p != q else { continue }
                        let (shownBefore, shownAfter) = old.currency == new.currency ? (p, q) : (type(x, nil), type(y, nil))
                        change("field", "field `\(path)` type `\(shownBefore)` → `\(shownAfter)`", shownBefore, shownAfter, uses: uses)
                    case let (nil, y?):
                        let shown = type(y, new.currency)
                        change("field", "field `\(path)` added: `\(shown)`", nil, shown, uses: uses)
                    case let (x?, nil):
                        let shown = type(x, old.currency)
                        change("field", "field `\(path)` removed (was `\(shown)`)", shown, nil, uses: uses)
                    default: break
                    }
                }
            case let (nil, b?):
                change("entity", "entity `\(name)` added with fields \(codes(b.fields.map(\.name)))", nil, name, uses: ["entity \(name)"])
            case let (a?, nil):
                change("entity", "entity `\(name)` removed (had fields \(codes(a.fields.map(\.name))))", name, nil, uses: ["entity \(name)"])
            default: break
            }
        }
        // Event types: their subject and the entities they carry.
        let oldEvents = Dictionary(old.events.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let newEvents = Dictionary(new.events.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for name in Set(oldEvents.keys).union(newEvents.keys).sorted() {
            let uses = ["event \(name)"]
            switch (oldEvents[name], newEvents[name]) {
            case let (a?, b?):
                if a.subject != b.subject {
                    change("event", "event `\(name)` is about `\(a.subject)` → `\(b.subject)`", a.subject, b.subject, uses: uses)
                }
                let gained = b.carries.filter { !a.carries.contains($0) }, lost = a.carries.filter { !b.carries.contains($0) }
                let before = a.carries.joined(separator: ", "), after = b.carries.joined(separator: ", ")
                if !gained.isEmpty { change("event", "event `\(name)` now also carries \(codes(gained))", before, after, uses: uses) }
                // A rule reading a field of an entity the event no longer carries finds it missing.
                if !lost.isEmpty { change("event", "event `\(name)` no longer carries \(codes(lost))", before, after, uses: uses) }
            case let (nil, b?):
                change("event", "event `\(name)` added: about `\(b.subject)`, carries \(codes(b.carries))", nil, b.carries.joined(separator: ", "), uses: uses)
            case let (a?, nil):
                change("event", "event `\(name)` removed (was about `\(a.subject)`, carried \(codes(a.carries)))", a.carries.joined(separator: ", "), nil, uses: uses)
            default: break
            }
        }
        return changes
    }

    /// A field type as `schema.yaml` writes it: `duration?`, `list(string)`, `money` in the
    /// schema's currency (`currency`) and `money(USD)` in another.
    static func type(_ type: ValueType, _ currency: String?) -> String {
        switch type {
        case .money(let code): code == currency ? "money" : "money(\(code))"
        case .enumeration(let name): name
        case .list(let element): "list(\(self.type(element, currency)))"
        case .optional(let wrapped): self.type(wrapped, currency) + "?"
        default: type.description
        }
    }

    /// `` `a`, `b` `` — names as code.
    static func codes(_ names: [String]) -> String {
        names.isEmpty ? "nothing" : names.map { "`\($0)`" }.joined(separator: ", ")
    }

    /// ` (amounts rounded to 0 decimals instead of 2)` when two currencies have different minor units.
    static func rounding(_ old: String, _ new: String) -> String {
        let a = Currency.minorUnits[old] ?? 2, b = Currency.minorUnits[new] ?? 2
        return a == b ? "" : " (amounts rounded to \(b) decimal\(b == 1 ? "" : "s") instead of \(a))"
    }

    // MARK: Catalog

    /// The catalog: its currency; each channel's and tag's cost; each template's channels and
    /// default channel (which prices a `send` without `via`); each action's argument, `via`,
    /// cost model and redemption rate; entries added and removed.
    static func compare(_ old: Catalog?, _ new: Catalog?) -> [Keyed] {
        guard let old, let new else { return [] }
        var changes: [Keyed] = []
        func change(_ kind: String, _ text: String, _ before: String? = nil, _ after: String? = nil, uses: [String]) {
            changes.append(Keyed(change: Change(kind: kind, text: "catalog: " + text, before: before, after: after), keys: uses))
        }
        if old.currency != new.currency {
            change("currency", "currency \(old.currency) → \(new.currency)\(rounding(old.currency, new.currency))", old.currency, new.currency, uses: [])
        }
        // Every amount computed from money is rounded by this rule: it changes what rules pay.
        if old.rounding != new.rounding {
            change("rounding", "rounding `\(old.rounding.rawValue)` → `\(new.rounding.rawValue)` (halves of a cent now go \(new.rounding == .halfUp ? "away from zero" : "to the even cent"))",
                   old.rounding.rawValue, new.rounding.rawValue, uses: [])
        }
        /// `6.90 EUR`, not `6.9 EUR`: cents are written in full, whole amounts as in rules (`5 EUR`).
        func money(_ value: Decimal, _ currency: String) -> String {
            var text = "\(value)"
            if let point = text.firstIndex(of: "."), text.distance(from: point, to: text.endIndex) == 2 { text += "0" }
            return "\(text) \(currency)"
        }
        /// Entries of one section by name, compared with `describe` when both sides have one.
        func section<T>(_ kind: String, _ a: [T], _ b: [T], name: (T) -> String, summary: (T, String) -> String,
                        describe: (String, T, T) -> Void) {
            let before = Dictionary(a.map { (name($0), $0) }, uniquingKeysWith: { first, _ in first })
            let after = Dictionary(b.map { (name($0), $0) }, uniquingKeysWith: { first, _ in first })
            for entry in Set(before.keys).union(after.keys).sorted() {
                let uses = ["\(kind) \(entry)"]
                switch (before[entry], after[entry]) {
                case let (x?, y?): describe(entry, x, y)
                case let (nil, y?):
                    let text = summary(y, new.currency)
                    change(kind, "\(kind) `\(entry)` added (\(text))", nil, text, uses: uses)
                case let (x?, nil):
                    let text = summary(x, old.currency)
                    change(kind, "\(kind) `\(entry)` removed (was \(text))", text, nil, uses: uses)
                default: break
                }
            }
        }
        func costs(_ kind: String, _ name: String, _ a: Decimal, _ b: Decimal) {
            let x = money(a, old.currency), y = money(b, new.currency)
            if x != y { change(kind, "cost of \(kind) `\(name)` \(x) → \(y)", x, y, uses: ["\(kind) \(name)"]) }
        }
        section("channel", old.channels, new.channels, name: \.name, summary: { "costs \(money($0.cost, $1))" }) { name, a, b in
            costs("channel", name, a.cost, b.cost)
        }
        section("tag", old.tags, new.tags, name: \.name, summary: { "costs \(money($0.cost, $1))" }) { name, a, b in
            costs("tag", name, a.cost, b.cost)
        }
        func channels(_ template: Catalog.Template) -> String {
            (template.channels.isEmpty ? "every channel" : "on " + codes(template.channels))
                + (template.defaultChannel.map { ", by default `\($0)`" } ?? "")
        }
        section("template", old.templates, new.templates, name: \.name, summary: { template, _ in channels(template) }) { name, a, b in
            let uses = ["template \(name)"]
            let before = a.channels.joined(separator: ", "), after = b.channels.joined(separator: ", ")
            // An empty list means every channel.
            if a.channels.isEmpty != b.channels.isEmpty {
                change("template", "template `\(name)` \(a.channels.isEmpty ? "on every channel" : "on " + codes(a.channels)) → \(b.channels.isEmpty ? "on every channel" : "on " + codes(b.channels))",
                       before, after, uses: uses)
            } else {
                let gained = b.channels.filter { !a.channels.contains($0) }, lost = a.channels.filter { !b.channels.contains($0) }
                if !gained.isEmpty { change("template", "template `\(name)` now also on \(codes(gained))", before, after, uses: uses) }
                if !lost.isEmpty { change("template", "template `\(name)` no longer on \(codes(lost))", before, after, uses: uses) }
            }
            if a.defaultChannel != b.defaultChannel {
                // `send TEMPLATE` without `via` goes out, and is priced, on the default channel.
                change("template", "default channel of template `\(name)` \(a.defaultChannel.map { "`\($0)`" } ?? "(none)") → \(b.defaultChannel.map { "`\($0)`" } ?? "(none)")",
                       a.defaultChannel, b.defaultChannel, uses: uses)
            }
        }
        func argument(_ kind: Catalog.ArgumentKind) -> String {
            switch kind {
            case .none: "none"
            case .money: "money"
            case .integer: "integer"
            case .percent: "percent"
            case .template: "template"
            case .tag: "tag"
            case .oneOf(let names): names.joined(separator: ", ")
            }
        }
        func cost(_ cost: Catalog.Cost, _ currency: String) -> String {
            switch cost {
            case .free: "free"
            case .amount: "its amount"
            case .fixed(let value): money(value, currency)
            case .perUnit(let value): "\(money(value, currency)) per unit"
            }
        }
        func rate(_ value: Decimal?) -> String { value.map { "\($0 * 100)%" } ?? "100%" }
        section("action", old.actions, new.actions, name: \.name, summary: { action, currency in
            "argument \(argument(action.argument))\(action.allowsChannel ? ", via a channel" : ""), costs \(cost(action.cost, currency))"
                + (action.redemptionRate.map { ", redeemed \(rate($0))" } ?? "")
        }) { name, a, b in
            let uses = ["action \(name)"]
            let x = cost(a.cost, old.currency), y = cost(b.cost, new.currency)
            if x != y { change("action", "cost of action `\(name)` \(x) → \(y)", x, y, uses: uses) }
            if a.redemptionRate != b.redemptionRate {
                change("action", "redemption rate of action `\(name)` \(rate(a.redemptionRate)) → \(rate(b.redemptionRate))",
                       rate(a.redemptionRate), rate(b.redemptionRate), uses: uses)
            }
            switch (a.argument, b.argument) {
            case let (.oneOf(p), .oneOf(q)):
                let gained = q.filter { !p.contains($0) }, lost = p.filter { !q.contains($0) }
                if !gained.isEmpty { change("action", "action `\(name)` now also takes \(codes(gained))", argument(a.argument), argument(b.argument), uses: uses) }
                if !lost.isEmpty { change("action", "action `\(name)` no longer takes \(codes(lost))", argument(a.argument), argument(b.argument), uses: uses) }
            case let (p, q) where p != q:
                change("action", "argument of action `\(name)` `\(argument(p))` → `\(argument(q))`", argument(p), argument(q), uses: uses)
            default: break
            }
            if a.allowsChannel != b.allowsChannel {
                change("action", b.allowsChannel ? "action `\(name)` may now be sent `via` a channel" : "action `\(name)` may no longer be sent `via` a channel",
                       String(a.allowsChannel), String(b.allowsChannel), uses: uses)
            }
        }
        return changes
    }
}
