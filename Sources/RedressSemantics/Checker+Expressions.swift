import Foundation
import RedressSyntax

extension Checker {
    static let functions = ["min", "max", "clamp", "count", "sum", "share"]

    /// Types `expression`. `expected` only guides bare enum cases (`VIP` next to
    /// `customer.tier`); mismatches are reported by the caller that knows the context.
    mutating func check(_ expression: Expression, scope: inout Scope, expected: ValueType?) -> TypedExpression {
        let span = expression.span
        let file = scope.file
        switch expression.kind {
        case .literal(let literal):
            return checkLiteral(literal, file: file)

        case .name(let identifier):
            return checkName(identifier, scope: &scope, expected: expected)

        case .member(let base, let field):
            guard case .name(let entityName) = base.kind else {
                let typedBase = check(base, scope: &scope, expected: nil)
                if !typedBase.type.isError {
                    error(.unknownField, "a value of type \(typedBase.type) has no field `\(field.name)`", file: file, span: field.span,
                          label: "no such field", help: "fields belong to entities, as in `customer.tier`")
                }
                return TypedExpression(.constant(.bool(false)), .error, span)
            }
            return checkField(entityName, field, span: span, scope: &scope)

        case .index(let base, let key):
            guard case .name(let tableName) = base.kind, declared[tableName.name]?.kind == .table else {
                let typedBase = check(base, scope: &scope, expected: nil)
                if !typedBase.type.isError {
                    error(.unknownName, "only tables can be looked up with `[...]`", file: file, span: base.span,
                          label: "not a table", help: "declare a table: `table name by Enum { ... }`")
                }
                return TypedExpression(.constant(.bool(false)), .error, span)
            }
            used.insert(tableName.name)
            guard let table = table(tableName.name) else { return TypedExpression(.constant(.bool(false)), .error, span) }
            let typedKey = check(key, scope: &scope, expected: .enumeration(table.keyEnum))
            if typedKey.type.isError { return TypedExpression(.constant(.bool(false)), .error, span) }
            if typedKey.type.required != .enumeration(table.keyEnum) {
                error(.incompatibleComparison, "table `\(table.name)` is keyed by `\(table.keyEnum)`, but this is \(typedKey.type)",
                      file: file, span: key.span, label: "this is \(typedKey.type)",
                      help: "look it up with a value of `\(table.keyEnum)`, such as a field of that type")
                return TypedExpression(.constant(.bool(false)), .error, span)
            }
            return TypedExpression(.tableLookup(table: table.name, key: typedKey), table.valueType.optional(if: typedKey.type.isOptional), span)

        case .call(let call):
            return checkCall(call, span: span, scope: &scope)

        case .list(let elements):
            var elementType: ValueType? = nil
            if case .list(let inner)? = expected?.required { elementType = inner }
            var typed: [TypedExpression] = []
            var failed = false
            for element in elements {
                let t = check(element, scope: &scope, expected: elementType)
                if t.type.isError { failed = true; continue }
                if let known = elementType, !sameType(known.required, t.type.required) {
                    error(.mixedTypes, "a list mixes \(known) and \(t.type)", file: file, span: element.span, label: "this is \(t.type)",
                          help: "all elements of a list must have one type")
                    failed = true
                } else if elementType == nil {
                    elementType = t.type.required
                }
                typed.append(t)
            }
            if failed { return TypedExpression(.constant(.bool(false)), .error, span) }
            return TypedExpression(.list(typed), .list(elementType ?? .error), span)

        case .caseOf(let subject, let arms):
            return checkCase(subject: subject, arms: arms, span: span, scope: &scope, expected: expected)

        case .unary(.not, let operand):
            let typed = check(operand, scope: &scope, expected: .bool)
            if typed.type.isError { return typed }
            guard typed.type.required == .bool else {
                error(.notACondition, "`not` needs a condition, but this is \(typed.type)", file: file, span: operand.span,
                      label: "this is \(typed.type)")
                return TypedExpression(.constant(.bool(false)), .error, span)
            }
            return TypedExpression(.not(typed), typed.type, span)

        case .unary(.negate, let operand):
            let typed = check(operand, scope: &scope, expected: expected)
            if typed.type.isError { return typed }
            switch typed.type.required {
            case .integer, .decimal, .money, .percent, .duration:
                return TypedExpression(.negate(typed), typed.type, span)
            default:
                error(.meaninglessArithmetic, "cannot negate \(typed.type)", file: file, span: span, label: "`-` on \(typed.type)")
                return TypedExpression(.constant(.bool(false)), .error, span)
            }

        case .presence(let operand, let test):
            let typed = check(operand, scope: &scope, expected: nil)
            if typed.type.isError { return TypedExpression(.constant(.bool(false)), .error, span) }
            if !typed.type.isOptional {
                diagnostics.append(Diagnostic(test == .missing ? .alwaysFalse : .alwaysTrue,
                                              "`\(Formatter.print(operand))` is never missing, so this test is always \(test == .missing ? "false" : "true")",
                                              at: Label(file: file, span: span, message: "\(Formatter.print(operand)) is \(typed.type), not optional"),
                                              help: "remove the test; only optional fields (marked `?` in the schema) can be missing"))
            }
            return TypedExpression(.presence(typed, test), .bool, span)

        case .binary(let op, let left, let right):
            return checkBinary(op, left, right, span: span, scope: &scope, expected: expected)
        }
    }

    // MARK: - Leaves

    mutating func checkLiteral(_ literal: Literal, file: String) -> TypedExpression {
        let span = literal.span
        func bad(_ message: String, _ help: String) -> TypedExpression {
            error(.malformedLiteral, message, file: file, span: span, label: "malformed", help: help)
            return TypedExpression(.constant(.bool(false)), .error, span)
        }
        switch literal.kind {
        case .boolean:
            return TypedExpression(.constant(.bool(literal.text == "true")), .bool, span)
        case .string:
            return TypedExpression(.constant(.string(literal.text)), .string, span)
        case .number:
            if !literal.text.contains("."), let value = Int64(literal.text) {
                return TypedExpression(.constant(.integer(value)), .integer, span)
            }
            guard literal.text.contains("."), let value = LiteralValue.decimal(literal.text) else {
                return bad("the number `\(literal.text)` is too large", "numbers in rules have at most 18 digits")
            }
            if literal.text.split(separator: ".").last.map({ $0.count > 6 }) ?? false {
                return bad("`\(literal.text)` has more than 6 decimals", "rules compute decimals with 6 decimal places")
            }
            if let problem = RuntimeRange.problem(.decimal(value)) {
                return bad("the number `\(literal.text)` is too large", problem)
            }
            return TypedExpression(.constant(.decimal(value)), .decimal, span)
        case .percent:
            guard let value = LiteralValue.decimal(String(literal.text.dropLast())) else {
                return bad("the percentage `\(literal.text)` is too large", "write a percentage such as `5%`")
            }
            if literal.text.dropLast().split(separator: ".").dropFirst().first.map({ $0.count > 4 }) ?? false {
                return bad("`\(literal.text)` has more than 4 decimals", "percentages are computed with 4 decimal places (0.0001%)")
            }
            if let problem = RuntimeRange.problem(.percent(value)) {
                return bad("the percentage `\(literal.text)` is too large", problem)
            }
            return TypedExpression(.constant(.percent(value)), .percent, span)
        case .duration:
            let unit = literal.text.drop { $0.isASCII && $0.isNumber }
            if !Lexer.durationUnits.contains(String(unit)) {
                // The lexer has reported the unknown unit already.
                return TypedExpression(.constant(.bool(false)), .error, span)
            }
            guard let ms = LiteralValue.duration(literal.text) else {
                return bad("the duration `\(literal.text)` is out of range", "use a smaller number or a larger unit")
            }
            return TypedExpression(.constant(.duration(ms)), .duration, span)
        case .money:
            let printed = Formatter.print(literal)
            let currency = String(printed.suffix(3))
            let amountText = String(printed.dropLast(4))
            guard Currency.isKnown(currency) else {
                let suggestion = Suggestions.closest(currency, among: Array(Currency.minorUnits.keys))
                error(.unknownCurrency, "unknown currency `\(currency)`", file: file, span: span, label: "not an ISO 4217 currency code",
                      help: suggestion.map { "did you mean `\(amountText) \($0)`?" } ?? "money is written with a currency code such as `5 EUR`",
                      fix: suggestion.map { Edit(file: file, span: span, replacement: "\(amountText) \($0)") })
                return TypedExpression(.constant(.bool(false)), .error, span)
            }
            guard let amount = LiteralValue.decimal(amountText) else {
                return bad("the amount `\(printed)` is too large", "amounts have at most 18 digits")
            }
            let minor = Currency.minorUnits[currency] ?? 2
            if amount.exponent < -minor {
                return bad("`\(printed)` has more decimals than \(currency) has cents", "\(currency) amounts have \(minor) decimals")
            }
            if let problem = RuntimeRange.problem(.money(amount, currency: currency)) {
                return bad("the amount `\(printed)` is too large", problem)
            }
            return TypedExpression(.constant(.money(amount, currency: currency)), .money(currency: currency), span)
        case .date:
            guard let days = LiteralValue.date(literal.text) else {
                return bad("`\(literal.text)` is not a calendar date", "write dates as YYYY-MM-DD with a real month and day")
            }
            return TypedExpression(.constant(.date(days)), .date, span)
        case .timestamp:
            if !(literal.text.hasSuffix("Z") || literal.text.dropFirst(16).contains(where: { $0 == "+" || $0 == "-" })) {
                // No zone: the lexer has reported it already.
                return TypedExpression(.constant(.bool(false)), .error, span)
            }
            guard let ms = LiteralValue.timestamp(literal.text) else {
                return bad("`\(literal.text)` is not a valid timestamp", "write timestamps as YYYY-MM-DDTHH:MM[:SS] with a zone, e.g. 2026-12-01T08:00:00Z")
            }
            return TypedExpression(.constant(.timestamp(ms)), .timestamp, span)
        }
    }

    mutating func checkName(_ identifier: Identifier, scope: inout Scope, expected: ValueType?) -> TypedExpression {
        let name = identifier.name
        let span = identifier.span
        let file = scope.file
        // A case of the enum the context expects wins over everything else.
        if case .enumeration(let enumName)? = expected?.required, let enumeration = schema.enumeration(enumName),
           enumeration.cases.contains(name) {
            return TypedExpression(.constant(.enumCase(type: enumName, name: name)), .enumeration(enumName), span)
        }
        if let entry = declared[name] {
            used.insert(name)
            switch entry.kind {
            case .parameter:
                guard let parameter = parameter(name) else { return TypedExpression(.constant(.bool(false)), .error, span) }
                return TypedExpression(.parameter(name), parameter.type, span)
            case .definition:
                guard let (typed, reads) = definition(name, file: file, at: span) else {
                    return TypedExpression(.constant(.bool(false)), .error, span)
                }
                for reference in reads { noteRead(reference, span: span, scope: &scope) }
                return TypedExpression(.definition(name), typed.type, span)
            case .table:
                error(.unknownName, "table `\(name)` needs a key", file: file, span: span, label: "a table, not a value",
                      help: "look a value up with `\(name)[...]`, for example `\(name)[customer.country]`")
                return TypedExpression(.constant(.bool(false)), .error, span)
            }
        }
        if case .enumeration(let enumName)? = expected?.required, let enumeration = schema.enumeration(enumName) {
            error(.unknownEnumCase, "`\(name)` is not a case of `\(enumName)`", file: file, span: span, label: "unknown case",
                  help: Suggestions.didYouMean(name, among: enumeration.cases) ?? "the cases are \(listed(enumeration.cases, limit: 12))")
            return TypedExpression(.constant(.bool(false)), .error, span)
        }
        let owners = schema.enums.filter { $0.cases.contains(name) }
        if owners.count == 1 {
            return TypedExpression(.constant(.enumCase(type: owners[0].name, name: name)), .enumeration(owners[0].name), span)
        }
        if schema.entity(name) != nil {
            error(.unknownField, "`\(name)` is an entity; name one of its fields", file: file, span: span, label: "an entity, not a value",
                  help: "for example `\(name).\(schema.entity(name)?.fields.first?.name ?? "id")`")
            return TypedExpression(.constant(.bool(false)), .error, span)
        }
        if owners.isEmpty, let phrasing = unknownNamePhrasing(name) {
            error(.unknownName, phrasing.message, file: file, span: span, label: phrasing.label, help: phrasing.help,
                  fix: phrasing.replacement.map { Edit(file: file, span: span, replacement: $0) })
            return TypedExpression(.constant(.bool(false)), .error, span)
        }
        let candidates = Array(declared.keys) + schema.entities.map(\.name) + schema.enums.flatMap(\.cases)
        error(.unknownName, owners.count > 1 ? "`\(name)` is a case of several enums; compare it with a field so its enum is known"
                                             : "unknown name `\(name)`", file: file, span: span,
              label: owners.count > 1 ? "ambiguous" : "not defined",
              help: owners.count > 1 ? "for example `customer.tier == \(name)`"
                : Suggestions.didYouMean(name, among: candidates) ?? "define it with `let \(name) = ...` or `param \(name) = ...`")
        return TypedExpression(.constant(.bool(false)), .error, span)
    }

    /// A name that is none of the rule set's: what people mean by it when it is a field name
    /// without its entity (`tier`), a yes/no, or money written the other way round (`EUR5`).
    func unknownNamePhrasing(_ name: String) -> (message: String, label: String, help: String, replacement: String?)? {
        let lowered = name.lowercased()
        if ["yes", "no", "true", "false", "y", "n"].contains(lowered), lowered != name || ["yes", "no", "y", "n"].contains(lowered) {
            let value = ["yes", "true", "y"].contains(lowered) ? "true" : "false"
            return ("yes and no are written `true` and `false`", "write `\(value)`", "for example `customer.sms_opt_in == \(value)`, or just `customer.sms_opt_in`", value)
        }
        if let match = name.wholeMatch(of: /([A-Z]{3})(\d+(?:\.\d+)?)/), Currency.isKnown(String(match.1)) {
            let money = "\(match.2) \(match.1)"
            return ("amounts of money are written with the number first: `\(money)`", "write `\(money)`",
                    "a number and a three-letter currency code: `5 EUR`", money)
        }
        if let field = Suggestions.didYouMeanField(name, in: schema) {
            return ("unknown name `\(name)`; fields are written with their entity", "not defined", field.help, field.only)
        }
        return nil
    }

    mutating func checkField(_ entityName: Identifier, _ field: Identifier, span: Span, scope: inout Scope) -> TypedExpression {
        let file = scope.file
        guard let entity = schema.entity(entityName.name) else {
            if declared[entityName.name] != nil {
                error(.unknownField, "`\(entityName.name)` is not an entity and has no fields", file: file, span: span,
                      label: "no field `\(field.name)`", help: "fields belong to entities, as in `customer.tier`")
            } else {
                let events = schema.events.map(\.name)
                let asEvent = "\(entityName.name).\(field.name)"
                error(.unknownEntity, "unknown entity `\(entityName.name)`", file: file, span: entityName.span, label: "not an entity of the schema",
                      notes: events.contains(asEvent) ? ["`\(asEvent)` is an event type; events are named after `on` or in `count(...)`"] : [],
                      help: Suggestions.didYouMean(entityName.name, among: schema.entities.map(\.name))
                        ?? "the entities are \(listed(schema.entities.map(\.name), limit: 10))")
            }
            return TypedExpression(.constant(.bool(false)), .error, span)
        }
        guard let schemaField = entity.field(field.name) else {
            let suggestion = Suggestions.closest(field.name, among: entity.fields.map(\.name))
            error(.unknownField, "unknown field `\(entity.name).\(field.name)`", file: file, span: span,
                  label: "`\(entity.name)` has no field `\(field.name)`",
                  help: suggestion.map { "did you mean `\(entity.name).\($0)`?" } ?? "the fields of `\(entity.name)` are \(listed(entity.fields.map(\.name), limit: 12))",
                  fix: suggestion.map { Edit(file: file, span: field.span, replacement: $0) })
            return TypedExpression(.constant(.bool(false)), .error, span)
        }
        let reference = FieldReference(entity: entity.name, field: field.name)
        if let available = scope.available, !available.contains(entity.name), let from = scope.availableFrom {
            // Inside an aggregate the event is known; report right here.
            error(.triggerLacksEntity, "`\(from)` does not carry `\(entity.name)`", file: file, span: span, label: "read here",
                  notes: ["`\(from)` carries \(schema.event(from)?.carries.map { "`\($0)`" }.joined(separator: ", ") ?? "other entities")"],
                  help: "read a field of an entity that the event carries")
            return TypedExpression(.constant(.bool(false)), .error, span)
        }
        noteRead(reference, span: span, scope: &scope)
        let type = scope.present.contains(reference) ? schemaField.type.required : schemaField.type
        return TypedExpression(.field(reference), type, span)
    }

    // MARK: - Calls and aggregates

    mutating func checkCall(_ call: Call, span: Span, scope: inout Scope) -> TypedExpression {
        let file = scope.file
        let name = call.function.name
        let failed = TypedExpression(.constant(.bool(false)), .error, span)
        guard Checker.functions.contains(name) else {
            error(.unknownFunction, "unknown function `\(name)`", file: file, span: call.function.span, label: "not a function",
                  help: Suggestions.didYouMean(name, among: Checker.functions) ?? "the functions are \(Checker.functions.joined(separator: ", "))")
            return failed
        }
        if ["count", "sum", "share"].contains(name) { return checkAggregate(call, span: span, scope: &scope) }
        if call.filter != nil || call.per != nil || call.window != nil {
            error(.wrongFunctionArguments, "`where`, `per` and `within` belong to history aggregates, not to `\(name)`", file: file,
                  span: span, label: "not an aggregate", help: "use them with `count`, `sum` or `share`")
            return failed
        }
        let arity = name == "clamp" ? 3 : nil
        if let arity, call.arguments.count != arity {
            error(.wrongFunctionArguments, "`clamp` takes 3 arguments (value, lowest, highest), not \(call.arguments.count)", file: file,
                  span: span, label: "\(call.arguments.count) argument\(call.arguments.count == 1 ? "" : "s")",
                  help: "for example `clamp(5% of order.total, 3 EUR, 5 EUR)`")
            return failed
        }
        if arity == nil, call.arguments.count < 2 {
            error(.wrongFunctionArguments, "`\(name)` needs at least 2 arguments", file: file, span: span,
                  label: "\(call.arguments.count) argument\(call.arguments.count == 1 ? "" : "s")", help: "for example `\(name)(5 EUR, 10% of order.total)`")
            return failed
        }
        var typed: [TypedExpression] = []
        var common: ValueType? = nil
        var optional = false
        for argument in call.arguments {
            let t = check(argument, scope: &scope, expected: common)
            if t.type.isError { return failed }
            optional = optional || t.type.isOptional
            guard t.type.isOrderable else {
                error(.wrongFunctionArguments, "`\(name)` compares values, but \(t.type) has no order", file: file, span: argument.span,
                      label: "this is \(t.type)", help: "use numbers, money, percentages, durations or timestamps")
                return failed
            }
            if let known = common {
                if !unitsCompatible(known.required, t.type.required) {
                    reportMismatch(known, t.type, at: argument.span, file: file, what: "`\(name)`")
                    return failed
                }
                if known.required == .integer, t.type.required == .decimal { common = .decimal }
            } else {
                common = t.type.required
            }
            typed.append(t)
        }
        return TypedExpression(.function(name, typed), (common ?? .error).optional(if: optional), span)
    }

    mutating func checkAggregate(_ call: Call, span: Span, scope: inout Scope) -> TypedExpression {
        let file = scope.file
        let name = call.function.name
        let failed = TypedExpression(.constant(.bool(false)), .error, span)
        let function = Aggregate.Function(rawValue: name) ?? .count
        let expectedArguments = function == .sum ? 2 : 1
        let usage = switch function {
        case .count: "count(return.registered where return.reason == wrong_size within 90d)"
        case .sum: "sum(order.placed, order.total within 365d)"
        case .share: "share(shipment.delivered where shipment.delay > 0d per customer.country within 1d)"
        }
        guard call.arguments.count == expectedArguments else {
            error(.wrongFunctionArguments, "`\(name)` takes \(function == .sum ? "an event type and a value" : "an event type"), then `where`, `per` and `within`",
                  file: file, span: span, label: "\(call.arguments.count) argument\(call.arguments.count == 1 ? "" : "s")", help: "for example `\(usage)`")
            return failed
        }
        guard case .member(let base, let happening) = call.arguments[0].kind, case .name(let entity) = base.kind else {
            error(.wrongFunctionArguments, "the first argument of `\(name)` must be an event type", file: file, span: call.arguments[0].span,
                  label: "not an event type", help: "for example `\(usage)`")
            return failed
        }
        let eventName = "\(entity.name).\(happening.name)"
        guard let event = lookupEvent(EventReference(entity: entity, happening: happening, span: call.arguments[0].span), file: file) else {
            return failed
        }
        guard let windowExpression = call.window else {
            error(.wrongFunctionArguments, "`\(name)` needs a window: how far back to look", file: file, span: span, label: "no `within`",
                  help: "add `within DURATION`, for example `\(usage)`")
            return failed
        }
        guard let window = windowLength(windowExpression, file: file, what: "the window of `\(name)`") else { return failed }
        if function == .share, call.filter == nil {
            error(.wrongFunctionArguments, "`share` needs `where`: the share of which events?", file: file, span: span, label: "no `where`",
                  help: "for example `\(usage)`")
            return failed
        }
        // The aggregated event's own fields are read in a scope of their own.
        var inner = Scope(file: file)
        inner.available = Set(event.carries)
        inner.availableFrom = eventName
        var value: TypedExpression? = nil
        if function == .sum {
            let typed = check(call.arguments[1], scope: &inner, expected: nil)
            if typed.type.isError { return failed }
            switch typed.type.required {
            case .integer, .decimal, .money, .duration: value = typed
            default:
                error(.wrongFunctionArguments, "`sum` adds numbers, money or durations, but this is \(typed.type)", file: file,
                      span: call.arguments[1].span, label: "this is \(typed.type)")
                return failed
            }
        }
        var filter: TypedExpression? = nil
        if let written = call.filter {
            let typed = check(written, scope: &inner, expected: .bool)
            if typed.type.isError { return failed }
            guard typed.type.required == .bool else {
                error(.notACondition, "`where` needs a condition, but this is \(typed.type)", file: file, span: written.span, label: "this is \(typed.type)")
                return failed
            }
            filter = typed
        }
        // `per` defaults to the customer; both the aggregated event and the rule's trigger need it.
        let per: PolicyKey
        if let written = call.per {
            guard let key = checkKey(written, scope: &scope, requireAvailable: true) else { return failed }
            per = key
        } else {
            per = PolicyKey(entity: "customer", field: nil)
            guard let customer = schema.entity("customer") else {
                error(.unknownEntity, "`\(name)` counts per customer unless told otherwise, but the schema has no `customer`", file: file,
                      span: span, help: "add `per ENTITY`, for example `per order`")
                return failed
            }
            noteRead(FieldReference(entity: customer.name, field: customer.key ?? "id"), span: span, scope: &scope)
        }
        if !event.carries.contains(per.entity) {
            error(.triggerLacksEntity, "`\(eventName)` does not carry `\(per.entity)`, so it cannot be counted per \(per)", file: file,
                  span: call.per?.span ?? span, label: "counted per \(per)",
                  help: "count per an entity the event carries: \(listed(event.carries))")
            return failed
        }
        let type: ValueType = switch function {
        case .count: .integer
        case .share: .percent
        case .sum: value?.type.required ?? .error
        }
        return TypedExpression(.aggregate(Aggregate(function: function, event: eventName, value: value, filter: filter, per: per, window: window)),
                               type, span)
    }

    // MARK: - case

    mutating func checkCase(subject: Expression?, arms: [Arm], span: Span, scope: inout Scope, expected: ValueType?) -> TypedExpression {
        let file = scope.file
        let failed = TypedExpression(.constant(.bool(false)), .error, span)
        var typedSubject: TypedExpression? = nil
        if let subject {
            let t = check(subject, scope: &scope, expected: nil)
            if t.type.isError { return failed }
            typedSubject = t
        }
        var typedArms: [(patterns: [TypedExpression], value: TypedExpression)] = []
        var otherwise: TypedExpression? = nil
        var resultType: ValueType? = expected.flatMap { $0.isError ? nil : $0 }
        var declaredResult = false
        var covered: Set<String> = []
        var seenPatterns: [Value: Span] = [:]
        var broken = false
        for arm in arms {
            var patterns: [TypedExpression] = []
            for pattern in arm.patterns {
                let t = check(pattern, scope: &scope, expected: typedSubject?.type.required ?? .bool)
                if t.type.isError { broken = true; continue }
                if let typedSubject {
                    if !unitsCompatible(typedSubject.type.required, t.type.required) {
                        reportMismatch(typedSubject.type, t.type, at: pattern.span, file: file, what: "a case of `case`")
                        broken = true
                        continue
                    }
                    if case .constant(let value) = t.kind {
                        // The first case that matches wins: a repeated value can never be reached.
                        if let first = seenPatterns[value] {
                            diagnostics.append(Diagnostic(
                                .unreachableCase, "`case` already has `\(Formatter.print(pattern))`, so this one is never reached",
                                at: Label(file: file, span: pattern.span, message: "never reached"),
                                secondary: [Label(file: file, span: first, message: "matched here first")],
                                help: "remove this pattern, or give each value its own case"))
                        } else {
                            seenPatterns[value] = pattern.span
                        }
                    }
                    if case .constant(.enumCase(_, let name)) = t.kind { covered.insert(name) }
                } else if t.type.required != .bool {
                    error(.notACondition, "without a subject, each case of `case` is a condition, but this is \(t.type)", file: file,
                          span: pattern.span, label: "this is \(t.type)", help: "write `case customer.tier { VIP -> ... }` to compare with a value")
                    broken = true
                    continue
                }
                patterns.append(t)
            }
            let value = check(arm.value, scope: &scope, expected: declaredResult ? resultType : nil)
            if value.type.isError { broken = true; continue }
            if declaredResult, let known = resultType {
                if !unitsCompatible(known.required, value.type.required) {
                    error(.mixedTypes, "`case` gives \(known.required) in one case and \(value.type) in another", file: file,
                          span: arm.value.span, label: "this is \(value.type)", help: "every case must give a value of one type")
                    broken = true
                    continue
                }
            } else {
                resultType = value.type.required
                declaredResult = true
            }
            if value.type.isOptional {
                requireValue(value, written: arm.value, file: file, what: "this case's value")
                broken = true
                continue
            }
            if arm.isElse { otherwise = value } else { typedArms.append((patterns, value)) }
        }
        if broken { return failed }
        var optional = false
        if otherwise == nil {
            if let typedSubject, case .enumeration(let enumName) = typedSubject.type.required, let enumeration = schema.enumeration(enumName) {
                let missing = enumeration.cases.filter { !covered.contains($0) }
                if !missing.isEmpty {
                    error(.notExhaustive, "`case` has no value for \(listed(missing))", file: file, span: span, label: "not every case is covered",
                          help: "add the missing cases or `else -> ...`")
                    return failed
                }
                optional = typedSubject.type.isOptional
            } else {
                error(.notExhaustive, "`case` needs `else` unless it covers every case of an enum", file: file, span: span,
                      label: "no `else`", help: "add a last case `else -> ...`")
                return failed
            }
        }
        return TypedExpression(.caseOf(subject: typedSubject, arms: typedArms, otherwise: otherwise),
                               (resultType ?? .error).optional(if: optional), span)
    }
}
