import Foundation
import RedressSyntax
import Yams

/// The actions rules may take, with their argument kinds and costs, from `catalog.yaml`.
public struct Catalog: Sendable {
    public enum ArgumentKind: Sendable, Equatable {
        case none, money, integer, percent, template, tag
        case oneOf([String])
    }
    public enum Cost: Sendable, Equatable {
        /// Nothing configured.
        case free
        /// The money argument itself.
        case amount
        case fixed(Decimal)
        case perUnit(Decimal)
    }
    public struct ActionDefinition: Sendable {
        public var name: String
        public var argument: ArgumentKind
        public var allowsChannel: Bool
        public var cost: Cost
        /// Share of vouchers actually redeemed (0...1); nil means 1.
        public var redemptionRate: Decimal?
        public var span: Span
        /// The `description:` written for people (shown by editors; costs and checks ignore it).
        public var description: String? = nil
    }
    public struct Channel: Sendable {
        public var name: String
        public var cost: Decimal
        public var span: Span
        /// The `description:` written for people (shown by editors; costs and checks ignore it).
        public var description: String? = nil
    }
    public struct Template: Sendable {
        public var name: String
        /// Empty means every channel.
        public var channels: [String]
        public var defaultChannel: String?
        public var span: Span
        /// The `description:` written for people (shown by editors; costs and checks ignore it).
        public var description: String? = nil
    }
    public struct Tag: Sendable {
        public var name: String
        public var cost: Decimal
        public var span: Span
        /// The `description:` written for people (shown by editors; costs and checks ignore it).
        public var description: String? = nil
    }

    public var file: String
    public var currency: String
    /// How money is rounded to the currency's last place (`rounding:`; default half to even).
    public var rounding: Rounding = .halfEven
    public var actions: [ActionDefinition]
    public var channels: [Channel]
    public var templates: [Template]
    public var tags: [Tag]

    public func action(_ name: String) -> ActionDefinition? { actions.first { $0.name == name } }
    public func channel(_ name: String) -> Channel? { channels.first { $0.name == name } }
    public func template(_ name: String) -> Template? { templates.first { $0.name == name } }
    public func tag(_ name: String) -> Tag? { tags.first { $0.name == name } }

    public static let empty = Catalog(file: "", currency: "EUR", actions: [], channels: [], templates: [], tags: [])
}

extension Catalog.ArgumentKind {
    /// The argument in words, for messages and editors: "an amount of money", "one of `a`, `b`".
    public var phrase: String {
        switch self {
        case .none: "no argument"
        case .money: "an amount of money"
        case .integer: "a whole number"
        case .percent: "a percentage"
        case .template: "a template"
        case .tag: "a tag"
        case .oneOf(let names):
            "one of " + names.prefix(5).map { "`\($0)`" }.joined(separator: ", ") + (names.count > 5 ? " and \(names.count - 5) more" : "")
        }
    }
}

public enum CatalogLoader {
    public static func load(_ source: SourceFile) -> (Catalog, [Diagnostic]) {
        let document = YAMLDocument(source: source)
        var diagnostics = document.diagnostics
        var catalog = Catalog(file: source.path, currency: "EUR", actions: [], channels: [], templates: [], tags: [])
        func problem(_ node: Node, _ message: String, label: String = "", help: String? = nil) {
            diagnostics.append(Diagnostic(.invalidCatalog, message, at: document.label(node, label), help: help))
        }
        guard let top = document.sections(of: "catalog", code: .invalidCatalog,
                                           known: ["currency", "rounding", "actions", "channels", "templates", "tags", "description", "version"],
                                           into: &diagnostics) else { return (catalog, diagnostics) }
        let section = { (name: String) in top.first { $0.key == name } }
        if let currency = document.currency(in: top, code: .invalidCatalog, into: &diagnostics) { catalog.currency = currency }
        if let entry = top.first(where: { $0.key == "rounding" }) {
            if let text = document.scalar(entry.value), let rounding = Rounding(rawValue: text) {
                catalog.rounding = rounding
            } else {
                problem(entry.value, "`rounding` must be `half_even` or `half_up`", label: "not a rounding rule",
                        help: "`half_even` rounds 0.245 EUR to 0.24 EUR (the default); `half_up` rounds it to 0.25 EUR, as German shops round")
            }
        }

        /// `2.50 EUR` or `0` in the catalog's currency.
        func money(_ node: Node, _ what: String) -> Decimal? {
            let text = (document.scalar(node) ?? "").trimmingCharacters(in: .whitespaces)
            let parts = text.split(separator: " ", omittingEmptySubsequences: true)
            if let amount = parts.first.flatMap({ LiteralValue.decimal(String($0)) }), amount >= 0, parts.count <= 2 {
                if parts.count == 2, String(parts[1]) != catalog.currency {
                    problem(node, "\(what) is in \(parts[1]), but the catalog's currency is \(catalog.currency)",
                            help: "write costs in the catalog currency, e.g. `\(parts[0]) \(catalog.currency)`")
                    return nil
                }
                // The runtime prices in minor units (cents) in 64 bits: what it cannot hold exactly is refused here, where it is written.
                let minor = Currency.minorUnits[catalog.currency] ?? 2
                if !RuntimeRange.hasAtMost(minor, amount) {
                    problem(node, "\(what) has more decimals than \(catalog.currency) has cents", label: "too many decimals",
                            help: "\(catalog.currency) amounts have \(minor) decimals")
                    return nil
                }
                if let range = RuntimeRange.problem(.money(amount, currency: catalog.currency)) {
                    problem(node, "\(what) is too large", label: "out of range", help: range)
                    return nil
                }
                return amount
            }
            let number = parts.first.map { $0.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "+-.")) }
            let notANumber = ["nan", "inf", "infinity"].contains(number ?? "")
            problem(node, "\(what) must be an amount such as `2.50 \(catalog.currency)`", label: "not an amount",
                    help: notANumber ? "costs are exact amounts of money; `\(text)` is not one (YAML's `.nan` and `.inf` are floating-point values)" : nil)
            return nil
        }

        /// Entries of a named section, each a mapping of options.
        func each(_ name: String, _ body: (String, Node, [(key: String, keyNode: Node, value: Node)]) -> Void) {
            guard let (_, _, node) = section(name) else { return }
            guard let entries = document.entries(node) else {
                problem(node, "`\(name)` must be a mapping from names to their settings")
                return
            }
            var seen: Set<String> = []
            for (entryName, keyNode, value) in entries {
                if !isValidName(entryName) { problem(keyNode, "invalid name in `\(name)`: \(nameProblem(entryName))"); continue }
                if !seen.insert(entryName).inserted { problem(keyNode, "`\(entryName)` appears twice in `\(name)`"); continue }
                if document.scalar(value) == "" || document.scalar(value) == "~" || document.scalar(value) == "null" {
                    body(entryName, keyNode, [])
                    continue
                }
                guard let options = document.entries(value) else {
                    problem(value, "settings of `\(entryName)` must be a mapping, such as `{ cost: 1 \(catalog.currency) }`")
                    continue
                }
                body(entryName, keyNode, options)
            }
        }
        func unknownOption(_ key: Node, _ option: String, in entry: String, allowed: [String]) {
            problem(key, "unknown setting `\(option)` for `\(entry)`",
                    help: Suggestions.didYouMean(option, among: allowed) ?? "allowed: \(allowed.map { "`\($0)`" }.joined(separator: ", "))")
        }

        /// Channels and tags are both a name with a cost.
        func costs(_ sectionName: String, _ add: (String, Decimal, Span, String?) -> Void) {
            each(sectionName) { name, keyNode, options in
                var cost = Decimal(0)
                var description: String? = nil
                for (option, optionKey, value) in options {
                    switch option {
                    case "cost": cost = money(value, "the cost of `\(name)`") ?? 0
                    case "description": description = document.scalar(value)
                    default: unknownOption(optionKey, option, in: name, allowed: ["cost", "description"])
                    }
                }
                add(name, cost, document.span(of: keyNode), description)
            }
        }
        costs("channels") { catalog.channels.append(Catalog.Channel(name: $0, cost: $1, span: $2, description: $3)) }
        costs("tags") { catalog.tags.append(Catalog.Tag(name: $0, cost: $1, span: $2, description: $3)) }
        each("templates") { name, keyNode, options in
            var template = Catalog.Template(name: name, channels: [], defaultChannel: nil, span: document.span(of: keyNode))
            for (option, optionKey, value) in options {
                switch option {
                case "channels":
                    guard let items = document.sequence(value) else {
                        problem(value, "`channels` of template `\(name)` must be a list", help: "for example `channels: [email, sms]`")
                        continue
                    }
                    for item in items {
                        let channel = document.scalar(item) ?? ""
                        if catalog.channel(channel) == nil {
                            problem(item, "template `\(name)` names unknown channel `\(channel)`", label: "not a channel",
                                    help: Suggestions.didYouMean(channel, among: catalog.channels.map(\.name)) ?? "declare it under `channels`")
                        } else {
                            template.channels.append(channel)
                        }
                    }
                case "default_channel":
                    let channel = document.scalar(value) ?? ""
                    if catalog.channel(channel) == nil {
                        problem(value, "template `\(name)` has unknown default channel `\(channel)`", label: "not a channel",
                                help: Suggestions.didYouMean(channel, among: catalog.channels.map(\.name)) ?? "declare it under `channels`")
                    } else {
                        template.defaultChannel = channel
                    }
                case "description": template.description = document.scalar(value)
                case "subject": break
                default: unknownOption(optionKey, option, in: name, allowed: ["channels", "default_channel", "description", "subject"])
                }
            }
            catalog.templates.append(template)
        }
        each("actions") { name, keyNode, options in
            var action = Catalog.ActionDefinition(name: name, argument: .none, allowsChannel: false, cost: .free,
                                                  redemptionRate: nil, span: document.span(of: keyNode))
            var argumentInvalid = false
            for (option, optionKey, value) in options {
                switch option {
                case "argument":
                    if let items = document.sequence(value) {
                        let names = items.compactMap { document.scalar($0) }
                        if names.isEmpty || !names.allSatisfy(isValidName) {
                            problem(value, "the argument list of `\(name)` must hold names", help: "for example `argument: [payment_reminder, review_request]`")
                        }
                        action.argument = .oneOf(names.filter(isValidName))
                        continue
                    }
                    switch document.scalar(value) ?? "" {
                    case "none": action.argument = .none
                    case "money": action.argument = .money
                    case "integer": action.argument = .integer
                    case "percent": action.argument = .percent
                    case "template": action.argument = .template
                    case "tag": action.argument = .tag
                    default:
                        argumentInvalid = true
                        problem(value, "unknown argument kind for `\(name)`", label: "not an argument kind",
                                help: "use none, money, integer, percent, template, tag, or a list of allowed names")
                    }
                case "via":
                    action.allowsChannel = document.scalar(value) == "true"
                    if !["true", "false"].contains(document.scalar(value) ?? "") {
                        problem(value, "`via` of `\(name)` must be true or false")
                    }
                case "cost":
                    if document.scalar(value) == "amount" { action.cost = .amount } else if let fixed = money(value, "the cost of `\(name)`") {
                        action.cost = .fixed(fixed)
                    }
                case "cost_per_unit":
                    if let unit = money(value, "the unit cost of `\(name)`") { action.cost = .perUnit(unit) }
                case "redemption_rate":
                    let text = (document.scalar(value) ?? "").trimmingCharacters(in: .whitespaces)
                    if text.hasSuffix("%"), let rate = LiteralValue.decimal(text.dropLast().trimmingCharacters(in: .whitespaces)), rate >= 0, rate <= 100 {
                        if RuntimeRange.fits(rate, places: RuntimeRange.percentPlaces) {
                            action.redemptionRate = rate / 100
                        } else {
                            problem(value, "`redemption_rate` of `\(name)` has more than \(RuntimeRange.percentPlaces) decimals",
                                    label: "too many decimals", help: "for example `redemption_rate: 35.5%`")
                        }
                    } else {
                        problem(value, "`redemption_rate` of `\(name)` must be a percentage between 0% and 100%", help: "for example `redemption_rate: 35%`")
                    }
                case "description": action.description = document.scalar(value)
                default:
                    unknownOption(optionKey, option, in: name, allowed: ["argument", "via", "cost", "cost_per_unit", "redemption_rate", "description"])
                }
            }
            if action.cost == .amount, action.argument != .money, !argumentInvalid {
                problem(keyNode, "`\(name)` costs its `amount`, but its argument is not money", help: "set `argument: money` or give a fixed cost")
            }
            catalog.actions.append(action)
        }
        return (catalog, diagnostics)
    }
}
