import RedressSemantics
import RedressSyntax

extension Workspace {
    /// Where the name at a position is declared: parameters, definitions, tables and groups in the
    /// rule files; entities, fields, enums and events in schema.yaml; actions, templates, tags and
    /// channels in catalog.yaml.
    public func definition(in path: String, at position: TextPosition) -> FileLocation? {
        guard PathText.isRuleFile(path), let source = source(path), let analysis = analysis(of: path) else { return nil }
        let schema = analysis.schema?.schema ?? .empty
        let catalog = analysis.catalog?.catalog ?? .empty
        let declarations = analysis.declarations
        let tokens = RuleFileTokens(source)
        guard let (reference, _) = tokens.reference(at: source.offset(of: position), schema: schema, catalog: catalog,
                                                    declarations: declarations) else { return nil }
        let sources = analysis.sources
        func at(_ file: String?, _ span: Span?) -> FileLocation? {
            guard let file, let span, let source = sources[file] else { return nil }
            return FileLocation(path: file, range: source.range(of: span))
        }
        let schemaPath = analysis.schema?.source.path
        let catalogPath = analysis.catalog?.source.path
        switch reference {
        case .field(let entity, let field): return at(schemaPath, schema.entity(entity)?.field(field)?.span)
        case .entity(let name): return at(schemaPath, schema.entity(name)?.span)
        case .event(let name): return at(schemaPath, schema.event(name)?.span)
        case .enumeration(let name): return at(schemaPath, schema.enumeration(name)?.span)
        case .enumCase(let name, let enumName):
            let owner = enumName.flatMap(schema.enumeration) ?? schema.enums.first { $0.cases.contains(name) }
            guard let owner, let schemaSource = analysis.schema?.source else { return nil }
            return at(schemaPath, Self.caseSpan(name, of: owner, in: schemaSource) ?? owner.span)
        case .action(let name): return at(catalogPath, catalog.action(name)?.span)
        case .listedName(_, let action): return at(catalogPath, catalog.action(action)?.span)
        case .template(let name): return at(catalogPath, catalog.template(name)?.span)
        case .tag(let name): return at(catalogPath, catalog.tag(name)?.span)
        case .channel(let name): return at(catalogPath, catalog.channel(name)?.span)
        case .declared(let name):
            return declarations.declaration(of: name).flatMap { at($0.path, $0.span) }
        case .group(let name):
            return declarations.groups[name].flatMap { at($0.path, $0.item.name.span) }
        case .ruleName(let name):
            for parsed in analysis.ruleFiles {
                for case .rule(let rule) in parsed.file.items where rule.name?.name == name {
                    return at(parsed.file.source.path, rule.name?.span)
                }
            }
            return nil
        case .function, .keyword:
            return nil
        }
    }

    /// Where a case is written in its enum's list (`Tier: [Standard, Plus, VIP]`): the first
    /// whole-word match after the enum's name, within the next lines of the list.
    static func caseSpan(_ name: String, of enumeration: Schema.Enumeration, in source: SourceFile) -> Span? {
        let bytes = source.bytes
        let word = Array(name.utf8)
        guard !word.isEmpty else { return nil }
        func isNamePart(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
        }
        var offset = enumeration.span.end
        // A flow list closes with `]`; a block list ends where the indentation does. Either way
        // the cases lie within a few hundred lines at most.
        let limit = min(bytes.count, offset + 64 * 1024)
        while offset + word.count <= limit {
            if bytes[offset] == UInt8(ascii: "#") {
                while offset < limit, bytes[offset] != UInt8(ascii: "\n") { offset += 1 }
                continue
            }
            if bytes[offset] == UInt8(ascii: "]") { return nil }
            if Array(bytes[offset..<offset + word.count]) == word, offset == 0 || !isNamePart(bytes[offset - 1]),
               offset + word.count == bytes.count || !isNamePart(bytes[offset + word.count]) {
                return Span(start: offset, end: offset + word.count)
            }
            offset += 1
        }
        return nil
    }
}
