import RedressSemantics
import RedressSyntax

/// One suggestion of what to write at the cursor.
public struct CompletionItem: Hashable, Sendable {
    public enum Kind: String, Sendable {
        case keyword, event, field, entity, enumeration, enumCase, action, template, tag, channel, listedName
        case parameter, definition, table, group, function
    }
    /// What is inserted (and shown).
    public var label: String
    public var kind: Kind
    /// A short line beside the label: a field's type, an action's cost, a parameter's default.
    public var detail: String?
    /// What the schema or catalog says about it, for people.
    public var documentation: String?

    public init(_ label: String, _ kind: Kind, detail: String? = nil, documentation: String? = nil) {
        self.label = label
        self.kind = kind
        self.detail = detail
        self.documentation = documentation
    }
}

/// The suggestions for a place, and the range of text they replace (the part of a word already
/// typed). Items come in a meaningful order (schema order for fields, declaration order for
/// names); a client sorts by it and filters by what is typed.
public struct Completions: Hashable, Sendable {
    public var replacing: TextRange
    public var items: [CompletionItem]
}

extension Workspace {
    public func completions(in path: String, at position: TextPosition) -> Completions? {
        guard PathText.isRuleFile(path), let source = source(path), let analysis = analysis(of: path) else { return nil }
        let offset = source.offset(of: position)
        let tokens = RuleFileTokens(source)
        var start = offset
        var index = tokens.firstToken(endingAfter: offset)
        if let word = tokens.wordToken(at: offset), tokens.tokens[word].span.start < offset {
            start = tokens.tokens[word].span.start
            index = word
        }
        let replacing = TextRange(start: source.position(of: start), end: position)
        if tokens.isInCommentOrString(offset) { return Completions(replacing: replacing, items: []) }
        let schema = analysis.schema?.schema
        let slot = tokens.slot(at: index, start: start, schema: schema)
        let suggestions = CompletionSuggestions(analysis: analysis)
        return Completions(replacing: replacing, items: suggestions.items(for: slot))
    }
}

/// The candidates for each kind of place, from the schema, the catalog and the rule set's declarations.
struct CompletionSuggestions {
    let schema: Schema
    let schemaSource: SourceFile?
    let catalog: Catalog
    let declarations: Declarations
    let ruleFiles: [String: RuleFile]

    init(analysis: Analysis) {
        schema = analysis.schema?.schema ?? .empty
        schemaSource = analysis.schema?.source
        catalog = analysis.catalog?.catalog ?? .empty
        declarations = analysis.declarations
        var files: [String: RuleFile] = [:]
        for parsed in analysis.ruleFiles { files[parsed.file.source.path] = parsed.file }
        ruleFiles = files
    }

    static let itemKeywords: [(Keyword, String)] = [
        (.rule, "a rule: rule NAME \"description\" on EVENT when CONDITION then ACTIONS"),
        (.when, "an anonymous rule: when CONDITION then ACTIONS"),
        (.param, "a parameter with a default: param NAME = VALUE"),
        (.let, "a named condition or value: let NAME = EXPRESSION"),
        (.table, "a lookup table: table NAME by ENUM { CASE -> VALUE, else -> VALUE }"),
        (.group, "an exclusive group: group NAME per KEY by priority|amount"),
        (.policy, "a policy for every rule: policy cap AMOUNT per KEY within DURATION"),
    ]
    static let ruleKeywords: [Keyword] = [.and, .or, .not, .in, .is, .missing, .present, .case, .else, .true, .false,
                                          .on, .when, .unless, .within, .by, .then, .via, .per, .where,
                                          .limit, .none, .cap, .exclusive, .priority, .rollout, .active, .from, .until]
    static let functions: [(String, String)] = [
        ("min", "the smallest of its arguments: min(5 EUR, 10% of order.total)"),
        ("max", "the largest of its arguments: max(3 EUR, 5% of order.total)"),
        ("clamp", "a value kept between a lowest and a highest: clamp(5% of order.total, 3 EUR, 5 EUR)"),
        ("count", "how many earlier events of a type: count(return.registered where … within 90d)"),
        ("sum", "the sum of a value over earlier events: sum(order.placed, order.total within 365d)"),
        ("share", "the share of earlier events that match: share(shipment.delivered where … per customer.country within 1d)"),
    ]

    func items(for slot: Slot) -> [CompletionItem] {
        switch slot {
        case .itemStart:
            return Self.itemKeywords.map { CompletionItem($0.0.rawValue, .keyword, detail: $0.1) }
        case .newName:
            return []
        case .member(let entityName, let eventPosition):
            if eventPosition {
                return schema.events.filter { $0.name.hasPrefix(entityName + ".") }.map { event in
                    CompletionItem(String(event.name.dropFirst(entityName.count + 1)), .event, detail: event.name,
                                   documentation: eventDocumentation(event))
                }
            }
            return fields(of: entityName)
        case .event:
            return schema.events.map { CompletionItem($0.name, .event, detail: "about \($0.subject)", documentation: eventDocumentation($0)) }
        case .actionVerb:
            return catalog.actions.map { action in
                CompletionItem(action.name, .action, detail: action.argument.phrase, documentation: HoverText.action(action, catalog: catalog))
            }
        case .actionArgument(let verb):
            guard let action = catalog.action(verb) else { return expressionItems(clause: .then) }
            switch action.argument {
            case .template:
                return catalog.templates.map { CompletionItem($0.name, .template, detail: HoverText.channels(of: $0, catalog: catalog),
                                                              documentation: $0.description) }
            case .tag:
                return catalog.tags.map { CompletionItem($0.name, .tag, detail: "costs \(HoverText.money($0.cost, catalog.currency))",
                                                         documentation: $0.description) }
            case .oneOf(let names):
                return names.map { CompletionItem($0, .listedName, detail: "for `\(verb)`") }
            case .none:
                return action.allowsChannel ? [CompletionItem("via", .keyword, detail: "the channel to send on")] : []
            case .money, .integer, .percent:
                return expressionItems(clause: .then)
            }
        case .channel:
            return catalog.channels.map { CompletionItem($0.name, .channel, detail: "costs \(HoverText.money($0.cost, catalog.currency))",
                                                        documentation: $0.description) }
                + channelEntities()
        case .group:
            return declarations.groups.keys.sorted().compactMap { name in
                declarations.groups[name].map { CompletionItem(name, .group, detail: "group per \($0.item.key.text)") }
            }
        case .entity:
            return entities(detail: nil)
        case .enumeration:
            return schema.enums.map { CompletionItem($0.name, .enumeration, detail: $0.cases.joined(separator: ", ")) }
        case .groupOrder:
            return [CompletionItem("priority", .keyword, detail: "the member with the highest `priority` wins"),
                    CompletionItem("amount", .keyword, detail: "the member paying the most wins")]
        case .enumCase(let enumName):
            return (schema.enumeration(enumName)?.cases ?? []).map { CompletionItem($0, .enumCase, detail: enumName) }
        case .expression(let clause):
            guard clause != nil else { return items(for: .itemStart) }
            return expressionItems(clause: clause)
        }
    }

    func fields(of entityName: String) -> [CompletionItem] {
        guard let entity = schema.entity(entityName) else { return [] }
        return entity.fields.map { field in
            CompletionItem(field.name, .field, detail: HoverText.type(field.type),
                           documentation: schemaSource.flatMap { Commentary.yamlComment(at: field.span.start, in: $0) })
        }
    }

    /// The entities with a field that can name a channel (`customer.preferred_channel`): an enum
    /// whose cases are channels of the catalog.
    func channelEntities() -> [CompletionItem] {
        let channels = Set(catalog.channels.map(\.name))
        return schema.entities.filter { entity in
            entity.fields.contains { field in
                guard case .enumeration(let name) = field.type.required, let enumeration = schema.enumeration(name) else { return false }
                return !enumeration.cases.isEmpty && enumeration.cases.allSatisfy(channels.contains)
            }
        }.map { CompletionItem($0.name, .entity, detail: "one of its fields names the channel", documentation: $0.description) }
    }

    func entities(detail: String?) -> [CompletionItem] {
        schema.entities.map { CompletionItem($0.name, .entity, detail: detail ?? "entity", documentation: $0.description) }
    }

    func eventDocumentation(_ event: Schema.EventType) -> String {
        let carries = "carries " + event.carries.joined(separator: ", ")
        return event.description.map { "\($0)\n\n\(carries)" } ?? carries
    }

    /// What may appear in a condition or value: the rule set's parameters, definitions and tables,
    /// the entities, the functions, then the keywords.
    func expressionItems(clause: Keyword?) -> [CompletionItem] {
        var items: [CompletionItem] = []
        for name in declarations.order {
            if let d = declarations.parameters[name] {
                items.append(CompletionItem(name, .parameter, detail: "param = \(Formatter.print(d.item.value))",
                                            documentation: comment(above: d.item.name.span, in: d.path)))
            } else if let d = declarations.definitions[name] {
                items.append(CompletionItem(name, .definition, detail: "let = \(HoverText.shortened(Formatter.print(d.item.value)))",
                                            documentation: comment(above: d.item.name.span, in: d.path)))
            } else if let t = declarations.tables[name] {
                items.append(CompletionItem(name, .table, detail: "table by \(t.item.keyType.name)",
                                            documentation: comment(above: t.item.name.span, in: t.path)))
            }
        }
        items += entities(detail: nil)
        items += Self.functions.map { CompletionItem($0.0, .function, detail: $0.1) }
        items += Self.ruleKeywords.map { CompletionItem($0.rawValue, .keyword) }
        return items
    }

    func comment(above span: Span, in path: String) -> String? {
        ruleFiles[path].flatMap { Commentary.ruleComment(above: span, in: $0) }
    }
}
