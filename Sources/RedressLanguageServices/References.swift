import RedressSemantics
import RedressSyntax

/// What a name written in a rule file refers to.
enum Reference: Equatable {
    case field(entity: String, field: String)
    case entity(String)
    case event(String)
    case enumeration(String)
    /// A bare case name; `enumeration` is nil when several enums have it and the place does not say which.
    case enumCase(String, enumeration: String?)
    case action(String)
    case template(String)
    case tag(String)
    /// A name from an action's list in the catalog (`suppress payment_reminder`).
    case listedName(String, action: String)
    case channel(String)
    /// A parameter, definition or table.
    case declared(String)
    case group(String)
    /// The name after `rule`.
    case ruleName(String)
    case function(String)
    case keyword(Keyword)
}

extension RuleFileTokens {
    /// The name (or keyword) at `offset` and what it refers to, with the span it covers (both
    /// halves of `entity.field` and of an event type).
    func reference(at offset: Int, schema: Schema, catalog: Catalog, declarations: Declarations) -> (Reference, Span)? {
        guard let index = wordToken(at: offset) else { return nil }
        let span = tokens[index].span
        if case .keyword(let keyword) = tokens[index].kind { return (.keyword(keyword), span) }
        let name = text(index)
        // The first half of `entity.member`.
        if isSymbol(index + 1, .dot), isName(index + 2) {
            let whole = span.union(tokens[index + 2].span)
            if isEventPosition(index) { return (.event("\(name).\(text(index + 2))"), whole) }
            if schema.entity(name) != nil { return (.entity(name), span) }
            return declarations.isDeclared(name) ? (.declared(name), span) : nil
        }
        switch slot(at: index, start: span.start, schema: schema) {
        case .member(let entity, let eventPosition):
            let whole = tokens[index - 2].span.union(span)
            return eventPosition ? (.event("\(entity).\(name)"), whole) : (.field(entity: entity, field: name), whole)
        case .newName(.rule): return (.ruleName(name), span)
        case .newName(.group): return (.group(name), span)
        case .newName: return (.declared(name), span)
        case .actionVerb: return (.action(name), span)
        case .actionArgument(let verb):
            switch catalog.action(verb)?.argument {
            case .template?: return (.template(name), span)
            case .tag?: return (.tag(name), span)
            case .oneOf?: return (.listedName(name, action: verb), span)
            default: break
            }
        case .channel where catalog.channel(name) != nil: return (.channel(name), span)
        case .group: return (.group(name), span)
        case .entity: return (.entity(name), span)
        case .enumeration: return (.enumeration(name), span)
        case .enumCase(let enumeration): return (.enumCase(name, enumeration: enumeration), span)
        default: break
        }
        if isSymbol(index + 1, .leftParen), Set(CompletionSuggestions.functions.map(\.0)).contains(name) { return (.function(name), span) }
        if declarations.isDeclared(name) { return (.declared(name), span) }
        let owners = schema.enums.filter { $0.cases.contains(name) }
        if !owners.isEmpty { return (.enumCase(name, enumeration: owners.count == 1 ? owners[0].name : nil), span) }
        if schema.entity(name) != nil { return (.entity(name), span) }
        if catalog.channel(name) != nil { return (.channel(name), span) }
        return nil
    }
}
