import Foundation
import RedressSemantics
import RedressSyntax

/// What an editor shows when the pointer rests on a name: Markdown, and the range it is about.
public struct Hover: Hashable, Sendable {
    public var range: TextRange
    public var markdown: String
}

extension Workspace {
    public func hover(in path: String, at position: TextPosition) -> Hover? {
        guard PathText.isRuleFile(path), let source = source(path), let analysis = analysis(of: path),
              let parsed = analysis.ruleFile(path) else { return nil }
        let offset = source.offset(of: position)
        let tokens = RuleFileTokens(source)
        let schema = analysis.schema?.schema ?? .empty
        let catalog = analysis.catalog?.catalog ?? .empty
        let declarations = analysis.declarations
        guard let (reference, span) = tokens.reference(at: offset, schema: schema, catalog: catalog, declarations: declarations) else {
            return nil
        }
        let texts = HoverText(analysis: analysis, declarations: declarations, checked: { self.report(ofRuleSet: analysis.directory)?.checked })
        let markdown: String?
        switch reference {
        case .ruleName, .keyword(.rule), .keyword(.when):
            // The rule whose head this is (`rule NAME`, or the `when` that starts an anonymous rule).
            let rule = parsed.file.items.lazy.compactMap { item -> Rule? in
                guard case .rule(let rule) = item else { return nil }
                let headStart = rule.span.start
                let isHead = rule.name?.span == span || (headStart == span.start)
                return isHead ? rule : nil
            }.first
            markdown = rule.flatMap { texts.rule($0, in: path) } ?? (reference.keywordValue.flatMap(HoverText.keyword))
        case .keyword(let keyword): markdown = HoverText.keyword(keyword)
        default: markdown = texts.markdown(for: reference)
        }
        return markdown.map { Hover(range: source.range(of: span), markdown: $0) }
    }
}

extension Reference {
    var keywordValue: Keyword? {
        if case .keyword(let keyword) = self { return keyword }
        return nil
    }
}

/// The Markdown of hovers (and the details of completion items).
struct HoverText {
    let analysis: Analysis
    let declarations: Declarations
    /// The rule set checked, asked for only by the hovers that need types or triggers.
    let checked: () -> CheckedRuleSet?
    var schema: Schema { analysis.schema?.schema ?? .empty }
    var catalog: Catalog { analysis.catalog?.catalog ?? .empty }

    func markdown(for reference: Reference) -> String? {
        switch reference {
        case .field(let entityName, let fieldName):
            guard let entity = schema.entity(entityName), let field = entity.field(fieldName) else { return nil }
            var text = "**\(entityName).\(fieldName)**: `\(field.type)`"
            if field.type.isOptional { text += " — optional: a rule that reads it does not fire while it is missing" }
            if case .enumeration(let enumName) = field.type.required, let enumeration = schema.enumeration(enumName) {
                text += "\n\none of \(Self.codeList(enumeration.cases))"
            }
            if let comment = yamlComment(field.span) { text += "\n\n\(comment)" }
            if let description = entity.description { text += "\n\n`\(entityName)`: \(description)" }
            return text
        case .entity(let name):
            guard let entity = schema.entity(name) else { return nil }
            var text = "**entity** `\(name)`"
            if let description = entity.description { text += ": \(description)" }
            text += "\n\nkey `\(entity.key ?? "–")`; \(entity.fields.count) fields: \(Self.codeList(entity.fields.map(\.name)))"
            let carriers = schema.events.filter { $0.carries.contains(name) }.map(\.name)
            text += "\n\ncarried by \(Self.codeList(carriers, empty: "no event"))"
            return text
        case .event(let name):
            guard let event = schema.event(name) else { return nil }
            var text = "**event** `\(name)`"
            if let description = event.description { text += ": \(description)" }
            text += "\n\nabout `\(event.subject)`; carries \(Self.codeList(event.carries))"
            return text
        case .enumeration(let name):
            guard let enumeration = schema.enumeration(name) else { return nil }
            var text = "**enum** `\(name)`: \(Self.codeList(enumeration.cases))"
            if let comment = yamlComment(enumeration.span) { text += "\n\n\(comment)" }
            return text
        case .enumCase(let name, let enumName):
            let owners = enumName.map { [$0] } ?? schema.enums.filter { $0.cases.contains(name) }.map(\.name)
            guard !owners.isEmpty else { return nil }
            return owners.compactMap { owner in
                schema.enumeration(owner).map { "`\(name)`: a case of enum `\(owner)` (\(Self.codeList($0.cases)))" }
            }.joined(separator: "\n\n")
        case .action(let name):
            return catalog.action(name).map { "**action** `\(name)`\n\n" + Self.action($0, catalog: catalog) }
        case .template(let name):
            guard let template = catalog.template(name) else { return nil }
            var text = "**template** `\(name)`"
            if let description = template.description { text += ": \(description)" }
            text += "\n\n" + Self.channels(of: template, catalog: catalog)
            if let channel = template.defaultChannel { text += "; without `via` it goes by `\(channel)`" }
            return text
        case .tag(let name):
            guard let tag = catalog.tag(name) else { return nil }
            return "**tag** `\(name)`\(tag.description.map { ": \($0)" } ?? "")\n\ncosts \(Self.money(tag.cost, catalog.currency)) each time"
        case .channel(let name):
            guard let channel = catalog.channel(name) else { return nil }
            return "**channel** `\(name)`\(channel.description.map { ": \($0)" } ?? "")\n\ncosts \(Self.money(channel.cost, catalog.currency)) a message"
        case .listedName(let name, let action):
            return "`\(name)`: one of the names `\(action)` takes (catalog.yaml)"
        case .declared(let name):
            return declared(name)
        case .group(let name):
            return group(name)
        case .function(let name):
            return CompletionSuggestions.functions.first { $0.0 == name }.map { "**\(name)**: \($0.1)" }
        case .ruleName, .keyword:
            return nil
        }
    }

    func declared(_ name: String) -> String? {
        let checked = checked()
        if let d = declarations.parameters[name] {
            var text = "**param** `\(name)` = `\(Formatter.print(d.item.value))`"
            if let parameter = checked?.parameters.first(where: { $0.name == name }) {
                text += " (\(parameter.type)); a parameter: `simulate --sweep` and `--param` try other values"
            }
            return text + ruleComment(d.item.name.span, in: d.path)
        }
        if let d = declarations.definitions[name] {
            var text = "**let** `\(name)` = `\(Self.shortened(Formatter.print(d.item.value), limit: 200))`"
            if let type = checked?.definitions[name]?.type, !type.isError { text += " (\(type))" }
            return text + ruleComment(d.item.name.span, in: d.path)
        }
        if let t = declarations.tables[name] {
            var text = "**table** `\(name)` by `\(t.item.keyType.name)`"
            if let table = checked?.tables.first(where: { $0.name == name }) { text += " → \(table.valueType)" }
            text += "\n\n" + t.item.arms.map { "`\(Formatter.print($0))`" }.joined(separator: ", ")
            return text + ruleComment(t.item.name.span, in: t.path)
        }
        return nil
    }

    func group(_ name: String) -> String? {
        guard let g = declarations.groups[name] else { return nil }
        var text = "**group** `\(name)` per `\(g.item.key.text)`"
        if let window = g.item.window { text += " within `\(Formatter.print(window))`" }
        text += ", by \(g.item.order?.name ?? "priority"): at most one member decides per \(g.item.key.text)"
        let members = checked()?.rules.filter { $0.exclusive?.group == name }.map(\.name) ?? []
        if !members.isEmpty { text += "\n\nmembers: \(Self.codeList(members))" }
        return text + ruleComment(g.item.name.span, in: g.path)
    }

    /// A rule's triggers (written or inferred), subject and policies, as checked.
    func rule(_ rule: Rule, in path: String) -> String? {
        guard let checked = checked()?.rules.first(where: { $0.file == path && $0.span == rule.span }) else {
            return rule.name.map { "**rule** `\($0.name)` (not checked: see its diagnostics)" }
        }
        var text = "**rule** `\(checked.name)`"
        if let description = checked.description { text += ": \(description)" }
        let how = checked.triggersInferred ? "inferred from the fields it reads" : "as written"
        text += "\n\non \(Self.codeList(checked.triggers)) (\(how)); about `\(checked.subject)`"
        var policies: [String] = []
        let writesLimit = rule.policies.contains { if case .limit = $0 { true } else if case .noLimit = $0 { true } else { false } }
        for limit in checked.limits {
            guard case .limit(let count) = limit.kind else { continue }
            var line = "`limit \(count) per \(limit.key)\(limit.window.map { " within \(Value.describeDuration($0))" } ?? "")`"
            if !writesLimit { line += " (the default: once per rule and \(checked.subject))" }
            policies.append(line)
        }
        if checked.limits.isEmpty { policies.append("`limit none`: decides every time") }
        for cap in checked.caps {
            guard case .cap(let amount) = cap.kind else { continue }
            policies.append("`cap \(amount) per \(cap.key)\(cap.window.map { " within \(Value.describeDuration($0))" } ?? "")`")
        }
        if let (group, priority) = checked.exclusive { policies.append("`exclusive \(group) priority \(priority)`") }
        if checked.rollout != nil, let clause = rule.policies.first(where: { if case .rollout = $0 { true } else { false } }) {
            policies.append("`\(Formatter.print(clause))`")
        }
        if let clause = rule.policies.first(where: { if case .active = $0 { true } else { false } }) {
            policies.append("`\(Formatter.print(clause))`")
        }
        text += "\n\n" + policies.joined(separator: "; ")
        return text
    }

    func yamlComment(_ span: Span) -> String? {
        analysis.schema.flatMap { Commentary.yamlComment(at: span.start, in: $0.source) }
    }

    func ruleComment(_ span: Span, in path: String) -> String {
        guard let file = analysis.ruleFile(path)?.file, let comment = Commentary.ruleComment(above: span, in: file) else { return "" }
        return "\n\n" + comment
    }

    // MARK: - Pieces

    static func codeList(_ names: [String], empty: String = "none") -> String {
        names.isEmpty ? empty : names.map { "`\($0)`" }.joined(separator: ", ")
    }

    static func type(_ type: ValueType) -> String { type.description }

    static func shortened(_ text: String, limit: Int = 60) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// An amount with the currency's decimals: `1.10 EUR`.
    static func money(_ amount: Decimal, _ currency: String) -> String {
        let places = Currency.minorUnits[currency] ?? 2
        var text = "\(amount)"
        if places > 0 {
            if !text.contains(".") { text += "." }
            let decimals = text.count - (text.distance(from: text.startIndex, to: text.firstIndex(of: ".") ?? text.endIndex) + 1)
            if decimals < places { text += String(repeating: "0", count: places - decimals) }
        }
        return "\(text) \(currency)"
    }

    static func action(_ action: Catalog.ActionDefinition, catalog: Catalog) -> String {
        var lines: [String] = []
        if let description = action.description { lines.append(description) }
        lines.append("takes \(action.argument.phrase)\(action.allowsChannel ? ", and `via CHANNEL`" : "")")
        let cost: String
        switch action.cost {
        case .free: cost = "costs nothing"
        case .amount: cost = "costs the amount given"
        case .fixed(let amount): cost = "costs \(money(amount, catalog.currency)) each time"
        case .perUnit(let amount): cost = "costs \(money(amount, catalog.currency)) per unit"
        }
        var costLine = cost
        if let rate = action.redemptionRate { costLine += ", priced at \(rate * 100)% (the share redeemed)" }
        if action.allowsChannel { costLine += ", plus the channel's cost" }
        lines.append(costLine)
        return lines.joined(separator: "\n\n")
    }

    static func channels(of template: Catalog.Template, catalog: Catalog) -> String {
        let names = template.channels.isEmpty ? catalog.channels.map(\.name) : template.channels
        return "channels: " + names.map { name in
            catalog.channel(name).map { "`\(name)` (\(money($0.cost, catalog.currency)))" } ?? "`\(name)`"
        }.joined(separator: ", ")
    }

    static func keyword(_ keyword: Keyword) -> String? {
        let explanations: [Keyword: String] = [
            .rule: "`rule NAME \"description\"` begins a rule; its clauses follow on lines of their own",
            .on: "`on EVENT`: the events that make the rule evaluate; without `on`, they are inferred from the fields the rule reads",
            .when: "`when CONDITION`: the rule decides only when the condition is true",
            .unless: "`unless EVENT within DURATION` (or `by TIMESTAMP`): the rule decides when that event has not arrived by the deadline",
            .then: "`then ACTION, ACTION`: what the rule does, from the catalog",
            .via: "`via CHANNEL`: the channel a message goes on (a channel name or a field such as `customer.preferred_channel ?? email`)",
            .limit: "`limit N per KEY within DURATION`: how often the rule may decide; by default once per rule and subject (`limit none` lifts it)",
            .cap: "`cap AMOUNT per KEY within DURATION`: the most money the rule (or, in a `policy`, all rules) may pay out",
            .exclusive: "`exclusive GROUP priority N`: at most one member of the group decides per its key",
            .rollout: "`rollout N%`: the rule decides only for that share of customers (the same customers every time)",
            .active: "`active from DATE until DATE`: the rule decides only between these dates (event time)",
            .param: "`param NAME = VALUE`: a constant with a default that `simulate --sweep` and `--param` can vary",
            .let: "`let NAME = EXPRESSION`: a named condition or value",
            .table: "`table NAME by ENUM { CASE -> VALUE, else -> VALUE }`: values looked up by a case, `NAME[field]`",
            .group: "`group NAME per KEY by priority|amount`: an exclusive group; its members are rules with `exclusive NAME`",
            .policy: "`policy cap …` or `policy limit …`: a policy for every rule of the set",
        ]
        return explanations[keyword]
    }
}
