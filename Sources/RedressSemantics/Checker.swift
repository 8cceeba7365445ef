import Foundation
import RedressSyntax

/// Resolves names and checks types and units for a rule set: all rule files of one
/// directory, against one schema and one catalog. Every error is collected; a broken
/// part gets the type `.error`, which keeps one mistake from causing a cascade.
public struct Checker {
    let schema: Schema
    let catalog: Catalog
    let files: [RuleFile]
    var diagnostics: [Diagnostic] = []
    /// Errors reported so far (all go through `error`); lets a rule tell whether checking it failed.
    var errorCount = 0

    // Declarations of the whole rule set, by name.
    struct Declared {
        enum Kind { case parameter, definition, table }
        var kind: Kind
        var name: Identifier
        var file: String
        var value: Expression?
        var table: Table?
    }
    var declared: [String: Declared] = [:]
    var declaredGroups: [String: (group: Group, file: String)] = [:]
    var used: Set<String> = []
    var usedGroups: Set<String> = []
    /// Files whose rules may be taken as checked before (see `check(files:schema:catalog:reusing:)`).
    var reusable: [String: CheckedFile] = [:]

    // Lazily checked definitions, parameters and tables.
    enum State { case inProgress, done(TypedExpression, reads: Set<FieldReference>) }
    var definitionStates: [String: State] = [:]
    var parameters: [String: CheckedParameter] = [:]
    var failedParameters: Set<String> = []
    var tables: [String: CheckedTable] = [:]

    /// Where the expression being checked sits.
    struct Scope {
        var file: String
        /// Fields read so far from the triggering event (or the aggregated event).
        var reads: Set<FieldReference> = []
        var readSpans: [FieldReference: Span] = [:]
        /// Entities available; nil while the triggers are not known yet.
        var available: Set<String>? = nil
        var availableFrom: String? = nil
        /// Optional fields known to be present here (the rule's condition compared them).
        var present: Set<FieldReference> = []
    }

    public static func check(files: [RuleFile], schema: Schema, catalog: Catalog) -> (CheckedRuleSet, [Diagnostic]) {
        check(files: files, schema: schema, catalog: catalog, reusing: [:])
    }

    /// Checks as above, taking the rules of the files in `reusing` as they were checked before
    /// instead of checking them again, where that gives the same result: the caller vouches that
    /// those files and the schema and catalog are unchanged, and an entry counts only if every
    /// declaration of the rule set (parameter, definition, table, group) is as it was, in the same
    /// place. An editor checks in this way after a keystroke; the cross-rule parts (duplicate names,
    /// unused declarations, the lints over groups) are always done over all rules.
    public static func check(files: [RuleFile], schema: Schema, catalog: Catalog,
                             reusing: [String: CheckedFile]) -> (CheckedRuleSet, [Diagnostic]) {
        var checker = Checker(schema: schema, catalog: catalog, files: files)
        checker.reusable = reusing
        let result = checker.run()
        return (result, checker.diagnostics)
    }

    init(schema: Schema, catalog: Catalog, files: [RuleFile]) {
        self.schema = schema
        self.catalog = catalog
        self.files = files
    }

    mutating func error(_ code: DiagnosticCode, _ message: String, file: String, span: Span, label: String = "",
                        secondary: [Label] = [], notes: [String] = [], help: String? = nil, fix: Edit? = nil) {
        errorCount += 1
        diagnostics.append(Diagnostic(code, message, at: Label(file: file, span: span, message: label),
                                      secondary: secondary, notes: notes, help: help, fix: fix))
    }

    // MARK: - The rule set

    mutating func run() -> CheckedRuleSet {
        collectDeclarations()
        var policies: [CheckedPolicy] = []
        var groups: [CheckedGroup] = []
        for file in files {
            for item in file.items {
                switch item {
                case .parameter(let d): _ = parameter(d.name.name)
                case .definition(let d): _ = definition(d.name.name, file: file.source.path, at: d.name.span)
                case .table(let t): _ = table(t.name.name)
                case .group(let g): if let checked = checkGroup(g, file: file.source.path) { groups.append(checked) }
                case .policy(let clause):
                    var scope = Scope(file: file.source.path)
                    if let policy = checkPolicyClause(clause, scope: &scope, rule: nil) { policies.append(policy) }
                case .rule: break
                }
            }
        }
        var rules: [CheckedRule] = []
        var ruleNames: [String: (file: String, span: Span)] = [:]
        var checkedFiles: [String: CheckedFile] = [:]
        let environment = declarationsText()
        for file in files {
            var anonymousCount = 0
            let stem = URL(fileURLWithPath: file.source.path).deletingPathExtension().lastPathComponent
            let kept = reusable[file.source.path].flatMap { $0.environment == environment ? $0 : nil }
            // What this file's rules use and report, apart from the rest: kept for the next check.
            var thisFile = CheckedFile(rules: [], diagnostics: [], used: [], usedGroups: [], environment: environment)
            let (usedElsewhere, groupsUsedElsewhere) = (used, usedGroups)
            (used, usedGroups) = ([], [])
            if let kept {
                rules += kept.rules
                diagnostics += kept.diagnostics
                thisFile = kept
            }
            for case .rule(let rule) in file.items {
                let name: String
                if let identifier = rule.name {
                    name = identifier.name
                    if let first = ruleNames[name] {
                        error(.duplicateRule, "there are two rules named `\(name)`", file: file.source.path, span: identifier.span,
                              label: "second rule with this name",
                              secondary: [Label(file: first.file, span: first.span, message: "first defined here")],
                              notes: ["decisions are keyed by rule name, so names must be unique in a rule set"],
                              help: "rename one of them")
                    } else {
                        ruleNames[name] = (file.source.path, identifier.span)
                    }
                } else {
                    anonymousCount += 1
                    name = "\(stem):\(anonymousCount)"
                }
                guard kept == nil else { continue }
                let diagnosticsBefore = diagnostics.count
                if let checked = checkRule(rule, name: name, file: file.source.path) {
                    rules.append(checked)
                    thisFile.rules.append(checked)
                }
                thisFile.diagnostics += diagnostics[diagnosticsBefore...]
            }
            if kept == nil { (thisFile.used, thisFile.usedGroups) = (used, usedGroups) }
            used = usedElsewhere.union(thisFile.used)
            usedGroups = groupsUsedElsewhere.union(thisFile.usedGroups)
            checkedFiles[file.source.path] = thisFile
        }
        lintUnused()
        lintExclusiveGroups(rules, groups: groups)
        lintCappedGroupMembers(rules)
        var definitions: [String: TypedExpression] = [:]
        for (name, state) in definitionStates {
            if case .done(let expression, _) = state { definitions[name] = expression }
        }
        let orderedParameters = parameters.values.sorted { $0.name < $1.name }
        let orderedTables = tables.values.sorted { $0.name < $1.name }
        return CheckedRuleSet(schema: schema, catalog: catalog, rules: rules, parameters: orderedParameters,
                              definitions: definitions, tables: orderedTables, groups: groups, policies: policies,
                              checkedFiles: checkedFiles)
    }

    /// Every declaration of the rule set as written, with its file and place: a file's rules
    /// checked against other declarations (or against the same ones elsewhere, which moves the
    /// places their messages point at) are checked again.
    func declarationsText() -> String {
        var text = ""
        for file in files {
            for item in file.items {
                switch item {
                case .parameter, .definition, .table, .group:
                    let span = item.span
                    text += "\(file.source.path)\u{0}\(span.start)\u{0}"
                    text += String(decoding: file.source.bytes[max(0, span.start)..<min(span.end, file.source.bytes.count)], as: UTF8.self) + "\u{0}"
                case .rule, .policy: break
                }
            }
        }
        return text
    }

    mutating func collectDeclarations() {
        for file in files {
            let path = file.source.path
            for item in file.items {
                let entry: Declared
                switch item {
                case .parameter(let d): entry = Declared(kind: .parameter, name: d.name, file: path, value: d.value)
                case .definition(let d): entry = Declared(kind: .definition, name: d.name, file: path, value: d.value)
                case .table(let t): entry = Declared(kind: .table, name: t.name, file: path, table: t)
                case .group(let g):
                    if let first = declaredGroups[g.name.name] {
                        error(.duplicateDefinition, "the group `\(g.name.name)` is declared twice", file: path, span: g.name.span,
                              label: "declared again", secondary: [Label(file: first.file, span: first.group.name.span, message: "first declared here")],
                              help: "remove one declaration or rename it")
                    } else {
                        declaredGroups[g.name.name] = (g, path)
                    }
                    continue
                default: continue
                }
                let name = entry.name.name
                if let first = declared[name] {
                    error(.duplicateDefinition, "`\(name)` is declared twice", file: path, span: entry.name.span, label: "declared again",
                          secondary: [Label(file: first.file, span: first.name.span, message: "first declared here")],
                          help: "parameters, definitions and tables share one namespace in a rule set; rename one")
                } else if schema.entity(name) != nil {
                    error(.duplicateDefinition, "`\(name)` is already the name of an entity", file: path, span: entry.name.span,
                          label: "would hide the entity `\(name)`", help: "choose another name, for example `\(name)_value`")
                } else {
                    declared[name] = entry
                }
            }
        }
    }

    // MARK: - Declarations

    mutating func parameter(_ name: String) -> CheckedParameter? {
        if let done = parameters[name] { return done }
        guard !failedParameters.contains(name), let entry = declared[name], entry.kind == .parameter, let value = entry.value else { return nil }
        failedParameters.insert(name)  // until it succeeds: report its errors once
        var scope = Scope(file: entry.file)
        scope.available = []
        let typed = check(value, scope: &scope, expected: nil)
        guard !typed.type.isError else { return nil }
        guard let constant = ConstantFolder.fold(typed, definitions: [:], rounding: catalog.rounding) else {
            error(.notConstant, "the default of parameter `\(name)` must be a constant", file: entry.file, span: value.span,
                  label: "not known before the rules run", help: "use a literal such as `2d` or `5 EUR`; use `let` for values computed from events")
            return nil
        }
        let checked = CheckedParameter(name: name, type: typed.type, defaultValue: constant, span: entry.name.span, file: entry.file)
        parameters[name] = checked
        return checked
    }

    /// Checks a `let` once, on first use; reports a cycle if it refers back to itself.
    mutating func definition(_ name: String, file: String, at span: Span) -> (TypedExpression, Set<FieldReference>)? {
        switch definitionStates[name] {
        case .done(let expression, let reads): return (expression, reads)
        case .inProgress:
            if let entry = declared[name] {
                error(.cyclicDefinition, "`\(name)` is defined in terms of itself", file: file, span: span, label: "refers back to `\(name)`",
                      secondary: [Label(file: entry.file, span: entry.name.span, message: "`\(name)` is defined here")],
                      help: "break the cycle: a definition can only use definitions that do not use it")
            }
            return nil
        case nil: break
        }
        guard let entry = declared[name], entry.kind == .definition, let value = entry.value else { return nil }
        definitionStates[name] = .inProgress
        var scope = Scope(file: entry.file)
        let typed = check(value, scope: &scope, expected: nil)
        definitionStates[name] = .done(typed, reads: scope.reads)
        return (typed, scope.reads)
    }

    mutating func table(_ name: String) -> CheckedTable? {
        if let done = tables[name] { return done }
        guard let entry = declared[name], entry.kind == .table, let table = entry.table else { return nil }
        let file = entry.file
        guard let enumeration = schema.enumeration(table.keyType.name) else {
            error(.unknownName, "unknown enum `\(table.keyType.name)` for the keys of table `\(name)`", file: file, span: table.keyType.span,
                  label: "not an enum of the schema",
                  help: Suggestions.didYouMean(table.keyType.name, among: schema.enums.map(\.name)) ?? "tables are keyed by an enum declared in the schema")
            return nil
        }
        var entries: [(key: String, value: Value)] = []
        var otherwise: Value? = nil
        var valueType: ValueType? = nil
        var keySpans: [String: Span] = [:]
        for arm in table.arms {
            var scope = Scope(file: file)
            scope.available = []
            let typedValue = check(arm.value, scope: &scope, expected: valueType)
            if !typedValue.type.isError {
                if let expected = valueType, !sameType(expected, typedValue.type) {
                    error(.mixedTypes, "table `\(name)` mixes \(expected) and \(typedValue.type)", file: file, span: arm.value.span,
                          label: "this is \(typedValue.type)", help: "all values of a table must have one type")
                } else if valueType == nil {
                    valueType = typedValue.type
                }
            }
            let constant = ConstantFolder.fold(typedValue, definitions: [:], rounding: catalog.rounding)
            if constant == nil, !typedValue.type.isError {
                error(.notConstant, "table values must be constants", file: file, span: arm.value.span,
                      label: "not known before the rules run", help: "write a literal such as `3d` or `5 EUR`")
            }
            if arm.isElse {
                if otherwise != nil {
                    error(.notExhaustive, "table `\(name)` has two `else` entries", file: file, span: arm.span, label: "second `else`")
                }
                otherwise = constant
                continue
            }
            for pattern in arm.patterns {
                guard case .name(let key) = pattern.kind else {
                    error(.unknownEnumCase, "table keys must be cases of `\(enumeration.name)`", file: file, span: pattern.span,
                          label: "not a case name", help: "write a case such as `\(enumeration.cases.first ?? "DE")`")
                    continue
                }
                guard enumeration.cases.contains(key.name) else {
                    error(.unknownEnumCase, "`\(key.name)` is not a case of `\(enumeration.name)`", file: file, span: key.span,
                          label: "unknown case", help: Suggestions.didYouMean(key.name, among: enumeration.cases)
                            ?? "the cases are \(enumeration.cases.joined(separator: ", "))")
                    continue
                }
                if let first = keySpans[key.name] {
                    error(.notExhaustive, "`\(key.name)` appears twice in table `\(name)`", file: file, span: key.span, label: "again",
                          secondary: [Label(file: file, span: first, message: "first here")], help: "keep one entry per case")
                    continue
                }
                keySpans[key.name] = key.span
                if let constant { entries.append((key.name, constant)) }
            }
        }
        let missing = enumeration.cases.filter { keySpans[$0] == nil }
        if !missing.isEmpty, table.arms.allSatisfy({ !$0.isElse }) {
            error(.notExhaustive, "table `\(name)` has no value for \(listed(missing))", file: file, span: table.name.span,
                  label: "not every case of `\(enumeration.name)` is covered",
                  help: "add the missing cases or an `else -> ...` entry")
        }
        let checked = CheckedTable(name: name, keyEnum: enumeration.name, valueType: valueType ?? .error, entries: entries, otherwise: otherwise)
        tables[name] = checked
        return checked
    }

    func listed(_ names: [String], limit: Int = 5) -> String {
        let shown = names.prefix(limit).map { "`\($0)`" }
        let rest = names.count > limit ? " and \(names.count - limit) more" : ""
        return shown.joined(separator: ", ") + rest
    }

    mutating func checkGroup(_ group: Group, file: String) -> CheckedGroup? {
        var scope = Scope(file: file)
        let key = checkKey(group.key, scope: &scope, requireAvailable: false)
        let window = group.window.flatMap { windowLength($0, file: file, what: "the window of group `\(group.name.name)`") }
        var order = CheckedGroup.Order.priority
        if let written = group.order {
            if let parsed = CheckedGroup.Order(rawValue: written.name) { order = parsed } else {
                error(.invalidPolicy, "a group is ordered `by priority` or `by amount`", file: file, span: written.span,
                      label: "unknown order", help: Suggestions.didYouMean(written.name, among: ["priority", "amount"]))
            }
        }
        guard let key else { return nil }
        return CheckedGroup(name: group.name.name, key: key, window: window, order: order)
    }

    /// A constant, positive duration in milliseconds.
    mutating func windowLength(_ expression: Expression, file: String, what: String) -> Int64? {
        var scope = Scope(file: file)
        scope.available = []
        let typed = check(expression, scope: &scope, expected: .duration)
        if typed.type.isError { return nil }
        guard typed.type == .duration else {
            error(.invalidPolicy, "\(what) must be a duration", file: file, span: expression.span, label: "this is \(typed.type)",
                  help: "write a duration such as `30d`")
            return nil
        }
        guard case .duration(let ms)? = ConstantFolder.fold(typed, definitions: [:], parameters: parameters, rounding: catalog.rounding) else {
            error(.notConstant, "\(what) must be a constant duration", file: file, span: expression.span, help: "write a duration such as `30d`")
            return nil
        }
        guard ms > 0 else {
            error(.invalidPolicy, "\(what) must be longer than zero", file: file, span: expression.span, label: "not positive")
            return nil
        }
        return ms
    }

    /// `customer` or `customer.country`.
    mutating func checkKey(_ key: KeyPath, scope: inout Scope, requireAvailable: Bool) -> PolicyKey? {
        guard let entity = schema.entity(key.entity.name) else {
            // `per country`: a field name without its entity.
            if key.field == nil, let field = Suggestions.didYouMeanField(key.entity.name, in: schema) {
                error(.unknownEntity, "`\(key.entity.name)` is not an entity; a field is written with its entity", file: scope.file,
                      span: key.entity.span, label: "not an entity of the schema",
                      notes: ["a key is an entity (`per customer`) or one of its fields (`per customer.country`)"], help: field.help,
                      fix: field.only.map { Edit(file: scope.file, span: key.entity.span, replacement: $0) })
                return nil
            }
            error(.unknownEntity, "unknown entity `\(key.entity.name)`", file: scope.file, span: key.entity.span, label: "not an entity of the schema",
                  help: Suggestions.didYouMean(key.entity.name, among: schema.entities.map(\.name))
                    ?? "the entities are \(Suggestions.listing(schema.entities.map(\.name), nearestTo: key.entity.name))")
            return nil
        }
        if let field = key.field {
            guard entity.field(field.name) != nil else {
                error(.unknownField, "unknown field `\(key.text)`", file: scope.file, span: key.span,
                      label: "`\(entity.name)` has no field `\(field.name)`",
                      help: Suggestions.didYouMean(field.name, among: entity.fields.map(\.name)) { "`\(entity.name).\($0)`" })
                return nil
            }
            noteRead(FieldReference(entity: entity.name, field: field.name), span: key.span, scope: &scope)
        } else {
            noteRead(FieldReference(entity: entity.name, field: entity.key ?? "id"), span: key.span, scope: &scope)
        }
        return PolicyKey(entity: entity.name, field: key.field?.name)
    }

    mutating func noteRead(_ field: FieldReference, span: Span, scope: inout Scope) {
        scope.reads.insert(field)
        if scope.readSpans[field] == nil { scope.readSpans[field] = span }
    }

    // MARK: - Policies

    mutating func checkPolicyClause(_ clause: PolicyClause, scope: inout Scope, rule: String?) -> CheckedPolicy? {
        switch clause {
        case .limit(let limit):
            guard let count = Int64(limit.count.text), count >= 1 else {
                error(.invalidPolicy, "a limit must be a whole number of at least 1", file: scope.file, span: limit.count.span,
                      label: "not a positive whole number", help: "write for example `limit 1 per order`; `limit none` lifts the default limit")
                return nil
            }
            let key = checkKey(limit.key, scope: &scope, requireAvailable: rule != nil)
            let window = limit.window.flatMap { windowLength($0, file: scope.file, what: "the window of a limit") }
            guard let key else { return nil }
            return CheckedPolicy(kind: .limit(count: count), key: key, window: window, span: limit.span, file: scope.file)
        case .cap(let cap):
            var inner = Scope(file: scope.file)
            inner.available = []
            let typed = check(cap.amount, scope: &inner, expected: nil)
            var amount: Value? = nil
            if !typed.type.isError {
                if case .money = typed.type {
                    amount = ConstantFolder.fold(typed, definitions: [:], parameters: parameters, rounding: catalog.rounding)
                    if case .money(let value, _)? = amount, value <= 0 {
                        error(.invalidPolicy, "a cap must be more than zero", file: scope.file, span: cap.amount.span,
                              label: "not positive", help: "a cap of zero or less would hold back every decision with money; remove the rule instead")
                        amount = nil
                    } else if amount == nil {
                        error(.notConstant, "a cap must be a constant amount", file: scope.file, span: cap.amount.span,
                              help: "write an amount such as `20 EUR` or use a parameter")
                    }
                } else {
                    error(.invalidPolicy, "a cap must be an amount of money", file: scope.file, span: cap.amount.span,
                          label: "this is \(typed.type)", help: "write an amount such as `20 EUR`")
                }
            }
            let key = checkKey(cap.key, scope: &scope, requireAvailable: rule != nil)
            let window = cap.window.flatMap { windowLength($0, file: scope.file, what: "the window of a cap") }
            guard let key, let amount else { return nil }
            return CheckedPolicy(kind: .cap(amount: amount), key: key, window: window, span: cap.span, file: scope.file)
        default:
            return nil
        }
    }
}
