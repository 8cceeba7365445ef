import RedressSyntax
import Yams

/// Entities, their fields, enums and event types: what rules can read, from `schema.yaml`.
public struct Schema: Sendable {
    public struct Enumeration: Sendable {
        public var name: String
        public var cases: [String]
        public var span: Span
    }
    public struct Field: Sendable {
        public var name: String
        public var type: ValueType
        public var span: Span
    }
    public struct Entity: Sendable {
        public var name: String
        public var key: String?
        public var fields: [Field]
        public var span: Span
        /// The `description:` written for people (shown by editors; the checker ignores it).
        public var description: String? = nil
        public func field(_ name: String) -> Field? { fields.first { $0.name == name } }
    }
    public struct EventType: Sendable {
        public var name: String
        public var subject: String
        public var carries: [String]
        public var span: Span
        /// The `description:` written for people (shown by editors; the checker ignores it).
        public var description: String? = nil
    }

    public var file: String
    public var currency: String
    public var enums: [Enumeration]
    public var entities: [Entity]
    public var events: [EventType]

    public func enumeration(_ name: String) -> Enumeration? { enums.first { $0.name == name } }
    public func entity(_ name: String) -> Entity? { entities.first { $0.name == name } }
    public func event(_ name: String) -> EventType? { events.first { $0.name == name } }

    public static let empty = Schema(file: "", currency: "EUR", enums: [], entities: [], events: [])
}

/// Whether `text` can be used as a name in rules (and so in a schema or catalog).
func isValidName(_ text: String) -> Bool {
    guard let first = text.utf8.first, Keyword(rawValue: text) == nil else { return false }
    let isLetter = { (b: UInt8) in (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F }
    return isLetter(first) && text.utf8.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) }
}

func nameProblem(_ text: String) -> String {
    Keyword(rawValue: text) != nil
        ? "`\(text)` is a reserved word of the rule language"
        : "`\(text)` is not a valid name (letters, digits and `_`, not starting with a digit)"
}

public enum SchemaLoader {
    public static func load(_ source: SourceFile) -> (Schema, [Diagnostic]) {
        let document = YAMLDocument(source: source)
        var diagnostics = document.diagnostics
        var schema = Schema(file: source.path, currency: "EUR", enums: [], entities: [], events: [])
        func problem(_ node: Node, _ message: String, label: String = "", help: String? = nil) {
            diagnostics.append(Diagnostic(.invalidSchema, message, at: document.label(node, label), help: help))
        }
        guard let top = document.sections(of: "schema", code: .invalidSchema,
                                           known: ["currency", "enums", "entities", "events", "description", "version"],
                                           into: &diagnostics) else { return (schema, diagnostics) }
        let section = { (name: String) in top.first { $0.key == name } }
        if let currency = document.currency(in: top, code: .invalidSchema, into: &diagnostics) { schema.currency = currency }

        // Enums first: field types refer to them.
        if let (_, _, node) = section("enums") {
            if let entries = document.entries(node) {
                for (name, keyNode, value) in entries {
                    if !isValidName(name) { problem(keyNode, "invalid enum name: \(nameProblem(name))"); continue }
                    if schema.enumeration(name) != nil { problem(keyNode, "enum `\(name)` is declared twice"); continue }
                    guard let items = document.sequence(value) else {
                        problem(value, "enum `\(name)` must list its cases, found \(YAMLDocument.describe(value))",
                                help: "write the cases as a list: `\(name): [A, B, C]`")
                        continue
                    }
                    var cases: [String] = []
                    for item in items {
                        guard let text = document.scalar(item), isValidName(text) else {
                            problem(item, "invalid case in enum `\(name)`: \(document.scalar(item).map(nameProblem) ?? "expected a name")")
                            continue
                        }
                        if cases.contains(text) { problem(item, "case `\(text)` appears twice in enum `\(name)`") } else { cases.append(text) }
                    }
                    if cases.isEmpty, !items.isEmpty { continue }
                    if cases.isEmpty { problem(value, "enum `\(name)` has no cases") }
                    schema.enums.append(Schema.Enumeration(name: name, cases: cases, span: document.span(of: keyNode)))
                }
            } else {
                problem(node, "`enums` must be a mapping from enum names to lists of cases")
            }
        }
        let enumNames = Set(schema.enums.map(\.name))

        if let (_, _, node) = section("entities") {
            if let entries = document.entries(node) {
                for (name, keyNode, value) in entries {
                    if !isValidName(name) { problem(keyNode, "invalid entity name: \(nameProblem(name))"); continue }
                    if schema.entity(name) != nil { problem(keyNode, "entity `\(name)` is declared twice"); continue }
                    var entity = Schema.Entity(name: name, key: nil, fields: [], span: document.span(of: keyNode))
                    guard let parts = document.entries(value) else {
                        problem(value, "entity `\(name)` must be a mapping with `key` and `fields`")
                        continue
                    }
                    for (partName, partKey, partValue) in parts {
                        switch partName {
                        case "description": entity.description = document.scalar(partValue)
                        case "key":
                            entity.key = document.scalar(partValue)
                        case "fields":
                            guard let fields = document.entries(partValue) else {
                                problem(partValue, "`fields` of `\(name)` must map field names to types",
                                        help: "for example `tier: Tier` or `total: money`")
                                continue
                            }
                            for (fieldName, fieldKey, typeNode) in fields {
                                if !isValidName(fieldName) { problem(fieldKey, "invalid field name: \(nameProblem(fieldName))"); continue }
                                if entity.field(fieldName) != nil { problem(fieldKey, "field `\(name).\(fieldName)` is declared twice"); continue }
                                guard let typeText = document.scalar(typeNode),
                                      let type = ValueType.parse(typeText, defaultCurrency: schema.currency, enums: enumNames) else {
                                    let text = document.scalar(typeNode) ?? ""
                                    let candidates = ValueType.builtinNames + enumNames.sorted()
                                    problem(typeNode, "unknown type `\(text)` for field `\(name).\(fieldName)`", label: "not a type",
                                            help: Suggestions.didYouMean(text.replacingOccurrences(of: "?", with: ""), among: candidates)
                                                ?? "types are \(ValueType.builtinNames.joined(separator: ", ")) or an enum from `enums`; add `?` for an optional field")
                                    continue
                                }
                                entity.fields.append(Schema.Field(name: fieldName, type: type, span: document.span(of: fieldKey)))
                            }
                        default:
                            problem(partKey, "unknown key `\(partName)` in entity `\(name)`",
                                    help: Suggestions.didYouMean(partName, among: ["key", "fields", "description"]) ?? "an entity has `key`, `fields` and `description`")
                        }
                    }
                    if let key = entity.key, entity.field(key) == nil {
                        let node = parts.first { $0.key == "key" }?.value ?? keyNode
                        problem(node, "the key `\(key)` of entity `\(name)` is not one of its fields",
                                help: Suggestions.didYouMean(key, among: entity.fields.map(\.name)) ?? "add the field or name an existing one")
                    }
                    schema.entities.append(entity)
                }
            } else {
                problem(node, "`entities` must be a mapping from entity names to their fields")
            }
        }

        if let (_, _, node) = section("events") {
            if let entries = document.entries(node) {
                for (name, keyNode, value) in entries {
                    let parts = name.split(separator: ".", omittingEmptySubsequences: false)
                    guard parts.count == 2, parts.allSatisfy({ isValidName(String($0)) }) else {
                        problem(keyNode, "invalid event name `\(name)`", label: "expected `entity.happening`",
                                help: "event names have two parts, as in `shipment.delivered`")
                        continue
                    }
                    if schema.event(name) != nil { problem(keyNode, "event `\(name)` is declared twice"); continue }
                    guard let parts = document.entries(value) else {
                        problem(value, "event `\(name)` must be a mapping with `subject` and `carries`")
                        continue
                    }
                    var event = Schema.EventType(name: name, subject: "", carries: [], span: document.span(of: keyNode))
                    var subjectNode: Node? = nil
                    for (partName, partKey, partValue) in parts {
                        switch partName {
                        case "description": event.description = document.scalar(partValue)
                        case "subject":
                            subjectNode = partValue
                            event.subject = document.scalar(partValue) ?? ""
                        case "carries":
                            guard let items = document.sequence(partValue) else {
                                problem(partValue, "`carries` of `\(name)` must be a list of entities", help: "for example `carries: [order, customer]`")
                                continue
                            }
                            for item in items {
                                let entityName = document.scalar(item) ?? ""
                                if schema.entity(entityName) == nil {
                                    problem(item, "event `\(name)` carries unknown entity `\(entityName)`", label: "not an entity",
                                            help: Suggestions.didYouMean(entityName, among: schema.entities.map(\.name)))
                                } else if !event.carries.contains(entityName) {
                                    event.carries.append(entityName)
                                }
                            }
                        default:
                            problem(partKey, "unknown key `\(partName)` in event `\(name)`",
                                    help: Suggestions.didYouMean(partName, among: ["subject", "carries", "description"]) ?? "an event has `subject`, `carries` and `description`")
                        }
                    }
                    if let subjectNode {
                        if !event.carries.contains(event.subject) {
                            problem(subjectNode, "the subject `\(event.subject)` of `\(name)` is not among the entities it carries",
                                    help: "add `\(event.subject)` to `carries`")
                        }
                    } else {
                        problem(keyNode, "event `\(name)` has no `subject`", help: "name the entity the event is about, e.g. `subject: order`")
                    }
                    schema.events.append(event)
                }
            } else {
                problem(node, "`events` must be a mapping from event names to their subject and entities")
            }
        }
        return (schema, diagnostics)
    }
}
