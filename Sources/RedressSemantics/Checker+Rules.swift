import RedressSyntax

extension Checker {
    mutating func checkRule(_ rule: Rule, name: String, file: String) -> CheckedRule? {
        var scope = Scope(file: file)

        // Explicit triggers.
        var triggers: [Schema.EventType] = []
        for reference in rule.triggers {
            if let event = lookupEvent(reference, file: file), !triggers.contains(where: { $0.name == event.name }) {
                triggers.append(event)
            }
        }
        let errorsBefore = errorCount
        if !triggers.isEmpty {
            scope.available = triggers.dropFirst().reduce(Set(triggers[0].carries)) { $0.intersection($1.carries) }
        }

        let condition = rule.condition.map { expression -> TypedExpression in
            let typed = check(expression, scope: &scope, expected: .bool)
            if !typed.type.isError, typed.type.required != .bool {
                error(.notACondition, "a `when` condition must be true or false, but this is \(typed.type)", file: file, span: expression.span,
                      label: "this is \(typed.type)", help: "compare it with something, for example `... > 2d`")
            }
            return typed
        }

        // When the rule fires its condition is definitely true, so the fields it compares were
        // present: actions may use them as required values.
        if let condition { scope.present = definitelyPresent(condition) }
        var actions: [CheckedAction] = []
        for action in rule.actions {
            if let checked = checkAction(action, scope: &scope) { actions.append(checked) }
        }

        // Absence: the awaited event must concern the same subject.
        var absence: CheckedAbsence? = nil
        var awaited: Schema.EventType? = nil
        if let written = rule.absence {
            awaited = lookupEvent(written.event, file: file)
            switch written.deadline {
            case .within(let duration):
                if let ms = windowLength(duration, file: file, what: "the deadline") , let awaited {
                    absence = CheckedAbsence(event: awaited.name, deadline: .after(ms))
                }
            case .by(let instant):
                let typed = check(instant, scope: &scope, expected: .timestamp)
                if !typed.type.isError {
                    if typed.type.required != .timestamp {
                        error(.incompatibleComparison, "the deadline after `by` must be a timestamp, but this is \(typed.type)", file: file,
                              span: instant.span, label: "this is \(typed.type)",
                              help: "use a timestamp field such as `shipment.promised_at`, or `within DURATION` for a deadline relative to the trigger")
                    } else if typed.type.isOptional {
                        requireValue(typed, written: instant, file: file, what: "the deadline")
                    } else if let awaited {
                        absence = CheckedAbsence(event: awaited.name, deadline: .at(typed))
                    }
                }
            }
        }

        // Policies.
        var limits: [CheckedPolicy] = []
        var caps: [CheckedPolicy] = []
        var exclusive: (String, Int64)? = nil
        var rollout: TypedExpression? = nil
        var activeFrom: Int64? = nil, activeUntil: Int64? = nil
        var noLimit = false
        var seen: [String: Span] = [:]
        for clause in rule.policies {
            let kind: String
            switch clause {
            case .limit, .noLimit: kind = "limit"
            case .cap: kind = "cap"
            case .exclusive: kind = "exclusive"
            case .rollout: kind = "rollout"
            case .active: kind = "active"
            }
            if kind != "limit" && kind != "cap", let first = seen[kind] {
                error(.invalidPolicy, "a rule can have only one `\(kind)` clause", file: file, span: clause.span, label: "second `\(kind)`",
                      secondary: [Label(file: file, span: first, message: "first here")], help: "remove one of them")
                continue
            }
            seen[kind] = clause.span
            switch clause {
            case .limit:
                if let policy = checkPolicyClause(clause, scope: &scope, rule: name) { limits.append(policy) }
            case .noLimit(let span):
                noLimit = true
                if rule.policies.contains(where: { if case .limit = $0 { return true } else { return false } }) {
                    error(.invalidPolicy, "`limit none` contradicts the other `limit` of this rule", file: file, span: span,
                          label: "lifts all limits", help: "keep either `limit none` or the counted limits")
                }
            case .cap:
                if let policy = checkPolicyClause(clause, scope: &scope, rule: name) { caps.append(policy) }
            case .exclusive(let written):
                usedGroups.insert(written.group.name)
                if declaredGroups[written.group.name] == nil {
                    error(.unknownGroup, "unknown exclusive group `\(written.group.name)`", file: file, span: written.group.span,
                          label: "no `group` declares this",
                          help: Suggestions.didYouMean(written.group.name, among: Array(declaredGroups.keys))
                            ?? "declare it, for example `group \(written.group.name) per order by priority`")
                }
                var priority: Int64 = 0
                if let literal = written.priority {
                    if let value = Int64(literal.text) { priority = value } else {
                        error(.invalidPolicy, "a priority must be a whole number", file: file, span: literal.span, label: "not a whole number")
                    }
                }
                exclusive = (written.group.name, priority)
            case .rollout(let expression, _):
                var inner = Scope(file: file)
                inner.available = []
                let typed = check(expression, scope: &inner, expected: .percent)
                if !typed.type.isError {
                    if typed.type != .percent {
                        error(.invalidPolicy, "a rollout is a percentage of customers", file: file, span: expression.span,
                              label: "this is \(typed.type)", help: "write for example `rollout 25%`")
                    } else if case .percent(let share)? = ConstantFolder.fold(typed, definitions: [:], parameters: parameters, rounding: catalog.rounding) {
                        if share <= 0 || share > 100 {
                            error(.invalidPolicy, "a rollout must be more than 0% and at most 100%", file: file, span: expression.span,
                                  label: "out of range")
                        } else {
                            rollout = typed
                        }
                    } else {
                        error(.notConstant, "a rollout must be a constant percentage", file: file, span: expression.span,
                              help: "write a literal such as `25%` or use a parameter")
                    }
                }
            case .active(let active):
                activeFrom = active.from.flatMap { instant($0, file: file) }
                // `until DATE` includes that whole day (UTC); `until TIMESTAMP` is exclusive.
                activeUntil = active.until.flatMap { literal in
                    instant(literal, file: file).map { literal.kind == .date ? $0 + 86_400_000 : $0 }
                }
                if let from = activeFrom, let until = activeUntil, from >= until {
                    error(.invalidPolicy, "the rule would never be active: it ends before it starts", file: file, span: active.span,
                          label: "`from` is not before `until`", help: "swap the dates or correct one of them")
                }
            }
        }

        // Triggers: explicit, or inferred from the entities the rule reads.
        let readEntities = Set(scope.reads.map(\.entity))
        var inferred = false
        let hadErrors = errorCount > errorsBefore
        if triggers.isEmpty {
            // Inferring from a broken rule would only add noise to the errors already reported.
            if hadErrors || rule.triggers.count > 0 { return nil }
            inferred = true
            triggers = readEntities.isEmpty ? [] : schema.events.filter { readEntities.isSubset(of: Set($0.carries)) }
            if triggers.isEmpty {
                let entities = readEntities.sorted()
                var notes: [String] = []
                for entity in entities {
                    let carriers = schema.events.filter { $0.carries.contains(entity) }.map(\.name)
                    notes.append("`\(entity)` is carried by \(carriers.isEmpty ? "no event" : listed(carriers))")
                }
                let span = rule.condition?.span ?? rule.actionsSpan
                error(.noTrigger, entities.isEmpty
                      ? "the rule reads no field, so no event can be inferred to trigger it"
                      : "no event carries everything this rule reads (\(entities.map { "`\($0)`" }.joined(separator: ", ")))",
                      file: file, span: span, label: entities.isEmpty ? "reads no field" : "reads \(entities.joined(separator: " and "))", notes: notes,
                      help: "name the triggering event with `on EVENT`, or read fields that one event carries together")
                return nil
            }
        } else if let available = scope.available {
            // Every entity read must be carried by every trigger.
            for reference in scope.reads.sorted() where !available.contains(reference.entity) {
                let lacking = triggers.filter { !$0.carries.contains(reference.entity) }
                let span = scope.readSpans[reference] ?? rule.span
                error(.triggerLacksEntity, "`\(lacking.map(\.name).joined(separator: "`, `"))` does not carry `\(reference.entity)`",
                      file: file, span: span, label: "read here",
                      secondary: rule.triggerSpan.map { [Label(file: file, span: $0, message: "triggered by this")] } ?? [],
                      notes: ["`\(lacking[0].name)` carries \(lacking[0].carries.map { "`\($0)`" }.joined(separator: ", "))"],
                      help: "trigger on an event that carries `\(reference.entity)`, or add it to the event's `carries` in the schema")
            }
        }

        let subjects = Array(Set(triggers.map(\.subject))).sorted()
        if subjects.count > 1 {
            let byEvent = triggers.map { "`\($0.name)` is about `\($0.subject)`" }
            error(.mixedSubjects, "the rule's triggers are about different subjects (\(subjects.joined(separator: ", ")))", file: file,
                  span: rule.triggerSpan ?? rule.condition?.span ?? rule.span,
                  label: inferred ? "triggers inferred from the fields read" : "triggers", notes: byEvent,
                  help: "choose triggers about one subject with `on`, for example `on \(triggers[0].name)`")
        }
        let subject = triggers.first?.subject ?? ""

        // An exclusive group holds decisions per its key: every trigger must carry that key.
        if let written = rule.policies.lazy.compactMap({ clause -> Exclusive? in if case .exclusive(let e) = clause { return e } else { return nil } }).first,
           let group = declaredGroups[written.group.name]?.group,
           let lacking = triggers.first(where: { !$0.carries.contains(group.key.entity.name) }) {
            error(.triggerLacksEntity, "`\(lacking.name)` does not carry `\(group.key.entity.name)`, which group `\(written.group.name)` is kept per",
                  file: file, span: written.span, label: "member of `\(written.group.name)`",
                  secondary: [Label(file: declaredGroups[written.group.name]?.file ?? file, span: group.key.span, message: "kept per \(group.key.text)")],
                  notes: ["`\(lacking.name)` carries \(lacking.carries.map { "`\($0)`" }.joined(separator: ", "))"],
                  help: "trigger the rule on an event that carries `\(group.key.entity.name)`, or use a group kept per an entity it carries")
        }

        if let awaited, let written = rule.absence, !awaited.carries.contains(subject), !subject.isEmpty {
            error(.triggerLacksEntity, "`\(awaited.name)` does not carry `\(subject)`, so it cannot be matched to the triggering event",
                  file: file, span: written.event.span, label: "awaited event",
                  notes: ["the rule waits for this event about the same `\(subject)` as its trigger"],
                  help: "await an event that carries `\(subject)`, or add `\(subject)` to its `carries`")
        }

        // A rollout picks customers: a rule triggered by an event without one would never decide.
        if rollout != nil, schema.entity("customer") != nil,
           let written = rule.policies.lazy.compactMap({ clause -> Span? in if case .rollout(let share, _) = clause { return share.span } else { return nil } }).first,
           let lacking = triggers.first(where: { !$0.carries.contains("customer") }) {
            error(.triggerLacksEntity, "`\(lacking.name)` does not carry `customer`, so a rollout can pick no one",
                  file: file, span: written, label: "a share of customers",
                  notes: ["the rollout keeps a stable share of customers by their key; without one the rule would never decide",
                          "`\(lacking.name)` carries \(lacking.carries.map { "`\($0)`" }.joined(separator: ", "))"],
                  help: "trigger the rule on an event that carries `customer`, or remove the rollout")
        }

        // Written limits replace the default of once per rule and subject.
        if !noLimit && limits.isEmpty {
            limits.append(CheckedPolicy(kind: .limit(count: 1), key: PolicyKey(entity: subject, field: nil), window: nil,
                                        span: rule.span, file: file))
        }
        // Lints on the condition.
        if let condition, let written = rule.condition {
            lintCondition(condition, written: written, file: file)
            lintShares(condition, file: file)
        }

        return CheckedRule(
            name: name, isAnonymous: rule.name == nil, description: rule.description?.value, file: file, span: rule.span,
            triggers: triggers.map(\.name), triggersInferred: inferred, subject: subject, absence: absence, condition: condition,
            actions: actions, limits: limits, caps: caps, exclusive: exclusive, rollout: rollout,
            activeFrom: activeFrom, activeUntil: activeUntil, reads: scope.reads.sorted(), conditionSyntax: rule.condition)
    }

    /// Fields that must be present for `condition` to be true (three-valued logic: a comparison
    /// with a missing operand is unknown, and unknown is not true).
    func definitelyPresent(_ condition: TypedExpression) -> Set<FieldReference> {
        func operands(_ e: TypedExpression) -> Set<FieldReference> {
            switch e.kind {
            case .field(let reference): return [reference]
            case .negate(let inner): return operands(inner)
            case .binary(let op, let l, let r) where op != .coalesce && !op.isComparison && op != .and && op != .or:
                return operands(l).union(operands(r))
            case .function(_, let arguments): return arguments.reduce(into: []) { $0.formUnion(operands($1)) }
            default: return []
            }
        }
        switch condition.kind {
        case .binary(.and, let l, let r): return definitelyPresent(l).union(definitelyPresent(r))
        case .binary(let op, let l, let r) where op.isComparison: return operands(l).union(operands(r))
        case .presence(let operand, .present): return operands(operand)
        case .not(let inner):
            if case .presence(let operand, .missing) = inner.kind { return operands(operand) }
            return []
        default: return []
        }
    }

    mutating func instant(_ literal: Literal, file: String) -> Int64? {
        if literal.kind == .date {
            guard let days = LiteralValue.date(literal.text) else {
                error(.malformedLiteral, "`\(literal.text)` is not a calendar date", file: file, span: literal.span, label: "no such day",
                      help: "write dates as YYYY-MM-DD with a real month and day")
                return nil
            }
            return days * 86_400_000
        }
        guard let ms = LiteralValue.timestamp(literal.text) else {
            error(.malformedLiteral, "`\(literal.text)` is not a valid timestamp", file: file, span: literal.span, label: "no such time",
                  help: "write timestamps as YYYY-MM-DDTHH:MM[:SS] with a zone, e.g. 2026-12-01T08:00:00Z")
            return nil
        }
        return ms
    }

    mutating func lookupEvent(_ reference: EventReference, file: String) -> Schema.EventType? {
        if let event = schema.event(reference.name) { return event }
        let advice = Suggestions.unknownEvent(reference.name, in: schema)
        error(.unknownEvent, "unknown event type `\(reference.name)`", file: file, span: reference.span, label: "not an event of the schema",
              notes: advice.notes, help: advice.help)
        return nil
    }

    // MARK: - Actions

    mutating func checkAction(_ action: Action, scope: inout Scope) -> CheckedAction? {
        let file = scope.file
        guard let definition = catalog.action(action.verb.name) else {
            let names = catalog.actions.map(\.name)
            error(.unknownAction, "unknown action `\(action.verb.name)`", file: file, span: action.verb.span, label: "not in the catalog",
                  help: Suggestions.didYouMean(action.verb.name, among: names) ?? "the catalog's actions are \(listed(names, limit: 10))")
            return nil
        }
        var argument = CheckedAction.Argument.none
        let verb = action.verb.name

        func bareName(_ expression: Expression) -> Identifier? {
            if case .name(let identifier) = expression.kind { return identifier }
            return nil
        }
        // `send apology and free_shipping`: two actions joined with `and`.
        if let written = action.argument, case .binary(.and, let left, let right) = written.kind, let next = bareName(right),
           catalog.action(next.name) != nil {
            error(.wrongActionArgument, "actions are separated by commas, not `and`", file: file,
                  span: Span(start: left.span.end, end: right.span.start), label: "write `,`",
                  help: "`\(verb) \(Formatter.print(left)), \(next.name)`",
                  fix: Edit(file: file, span: Span(start: left.span.end, end: right.span.start), replacement: ", "))
            return nil
        }
        /// `send "apology"`: a catalog name in quotes.
        func quotedName(_ expression: Expression, known: (String) -> Bool) -> String? {
            if case .literal(let literal) = expression.kind, literal.kind == .string, known(literal.text) { return literal.text }
            return nil
        }

        switch definition.argument {
        case .none:
            if let written = action.argument {
                error(.wrongActionArgument, "`\(verb)` takes no argument", file: file, span: written.span, label: "unexpected argument",
                      help: "write just `\(verb)`")
            }
        case .template, .tag, .oneOf:
            guard let written = action.argument else {
                error(.wrongActionArgument, "`\(verb)` needs \(definition.argument.phrase)", file: file, span: action.verb.span,
                      label: "argument missing", help: "for example `\(verb) \(exampleArgument(definition.argument))`")
                return nil
            }
            if let name = quotedName(written, known: { catalog.template($0) != nil || catalog.tag($0) != nil }) {
                error(.wrongActionArgument, "`\(verb)` takes \(definition.argument.phrase) written without quotes: `\(verb) \(name)`",
                      file: file, span: written.span, label: "write `\(name)`",
                      help: "names from the catalog are written bare (`\(verb) \(name)`); quotes make a string",
                      fix: Edit(file: file, span: written.span, replacement: name))
                return nil
            }
            guard let identifier = bareName(written) else {
                error(.wrongActionArgument, "`\(verb)` needs \(definition.argument.phrase), written as a bare name",
                      file: file, span: written.span, label: "not a name", help: "for example `\(verb) \(exampleArgument(definition.argument))`")
                return nil
            }
            switch definition.argument {
            case .template:
                if catalog.template(identifier.name) == nil {
                    let names = catalog.templates.map(\.name)
                    error(.unknownTemplate, "unknown template `\(identifier.name)`", file: file, span: identifier.span, label: "not in the catalog",
                          help: Suggestions.didYouMean(identifier.name, among: names) ?? "the templates are \(listed(names, limit: 10))")
                    return nil
                }
            case .tag:
                if catalog.tag(identifier.name) == nil {
                    let names = catalog.tags.map(\.name)
                    error(.unknownTag, "unknown tag `\(identifier.name)`", file: file, span: identifier.span, label: "not in the catalog",
                          help: Suggestions.didYouMean(identifier.name, among: names) ?? "the tags are \(listed(names, limit: 10))")
                    return nil
                }
            case .oneOf(let allowed):
                if !allowed.contains(identifier.name) {
                    error(.unknownArgumentValue, "`\(verb)` does not know `\(identifier.name)`", file: file, span: identifier.span,
                          label: "not one of its values",
                          help: Suggestions.didYouMean(identifier.name, among: allowed) ?? "`\(verb)` takes one of \(listed(allowed, limit: 10))")
                    return nil
                }
            default: break
            }
            argument = .name(identifier.name)
        case .money, .integer, .percent:
            let expected: ValueType = switch definition.argument {
            case .money: .money(currency: catalog.currency)
            case .integer: .integer
            default: .percent
            }
            guard let written = action.argument else {
                error(.wrongActionArgument, "`\(verb)` needs \(definition.argument.phrase)", file: file, span: action.verb.span,
                      label: "argument missing", help: "for example `\(verb) \(exampleArgument(definition.argument))`")
                return nil
            }
            let typed = check(written, scope: &scope, expected: expected)
            if typed.type.isError { return nil }
            let matches: Bool = switch (definition.argument, typed.type.required) {
            case (.money, .money): true
            case (.integer, .integer): true
            case (.percent, .percent): true
            default: false
            }
            guard matches else {
                let share = typed.type.required == .percent && definition.argument == .money
                error(.wrongActionArgument, "`\(verb)` needs \(definition.argument.phrase), but this is \(typed.type.required)",
                      file: file, span: written.span, label: "this is \(typed.type.required)",
                      help: share ? "a percentage is a share of an amount: say of which, for example `\(verb) \(Formatter.print(written)) of order.total`"
                                  : "for example `\(verb) \(exampleArgument(definition.argument))`")
                return nil
            }
            if typed.type.isOptional {
                requireValue(typed, written: written, file: file, what: "the amount of `\(verb)`")
                return nil
            }
            // Allowed (the runtime keeps each currency apart), but nothing can price it without
            // exchange rates: say so where the amount is written.
            if case .money(let currency) = typed.type.required, currency != catalog.currency {
                diagnostics.append(Diagnostic(
                    .foreignCurrencyPayout, "`\(verb)` pays \(currency), but the catalog prices in \(catalog.currency)",
                    at: Label(file: file, span: written.span, message: "an amount in \(currency)"),
                    notes: ["a cap counts only amounts in its own currency, and `simulate` and `diff` price this one only with `--rates`"],
                    help: "write the amount in \(catalog.currency), or keep \(currency) and give `simulate --rates` a rate for it"))
            }
            argument = .value(typed)
        }

        var channel: CheckedAction.Channel? = nil
        if let written = action.channel {
            if !definition.allowsChannel {
                error(.wrongActionArgument, "`\(verb)` is not sent through a channel", file: file, span: written.span, label: "`via` not allowed here",
                      help: "remove `via ...`; only actions marked `via: true` in the catalog take a channel")
                return nil
            }
            let allowedByTemplate: [String] = {
                if case .name(let name) = argument, definition.argument == .template { return catalog.template(name)?.channels ?? [] }
                return []
            }()
            if let name = quotedName(written, known: { catalog.channel($0) != nil }) {
                error(.unknownChannel, "channel names are written without quotes: `via \(name)`", file: file, span: written.span,
                      label: "write `\(name)`", help: "names from the catalog are written bare (`via \(name)`); quotes make a string",
                      fix: Edit(file: file, span: written.span, replacement: name))
                return nil
            }
            if let identifier = bareName(written), declared[identifier.name] == nil {
                guard catalog.channel(identifier.name) != nil else {
                    let names = catalog.channels.map(\.name)
                    error(.unknownChannel, "unknown channel `\(identifier.name)`", file: file, span: identifier.span, label: "not in the catalog",
                          help: Suggestions.didYouMean(identifier.name, among: names) ?? "the channels are \(listed(names))")
                    return nil
                }
                if !allowedByTemplate.isEmpty, !allowedByTemplate.contains(identifier.name), case .name(let template) = argument {
                    error(.unknownChannel, "template `\(template)` cannot be sent via `\(identifier.name)`", file: file, span: identifier.span,
                          label: "not a channel of this template", help: "its channels are \(listed(allowedByTemplate))")
                    return nil
                }
                channel = .fixed(identifier.name)
            } else {
                let typed = check(written, scope: &scope, expected: nil)
                if typed.type.isError { return nil }
                guard case .enumeration(let enumName) = typed.type.required, let enumeration = schema.enumeration(enumName) else {
                    error(.unknownChannel, "a channel must be a channel name or a field holding one, but this is \(typed.type)",
                          file: file, span: written.span, label: "not a channel", help: "for example `via email` or `via customer.preferred_channel ?? email`")
                    return nil
                }
                let unknown = enumeration.cases.filter { catalog.channel($0) == nil }
                if !unknown.isEmpty {
                    error(.unknownChannel, "`\(enumName)` has cases that are not channels of the catalog: \(listed(unknown))", file: file,
                          span: written.span, label: "may hold \(unknown[0])", help: "add them under `channels` in the catalog")
                    return nil
                }
                if typed.type.isOptional {
                    requireValue(typed, written: written, file: file, what: "the channel")
                    return nil
                }
                // The field may hold a channel the template has no text for.
                let lacking = enumeration.cases.filter { !allowedByTemplate.isEmpty && !allowedByTemplate.contains($0) }
                if !lacking.isEmpty, case .name(let template) = argument {
                    diagnostics.append(Diagnostic(
                        .templateLacksChannel, "template `\(template)` has no text for \(listed(lacking)), which this channel may be",
                        at: Label(file: file, span: written.span, message: "may hold \(lacking[0])"),
                        notes: ["`\(enumName)` has the cases \(listed(enumeration.cases)); the template's channels are \(listed(allowedByTemplate))"],
                        help: "add \(listed(lacking)) to the channels of `\(template)` in catalog.yaml, or choose the channel with a `case` that maps them to one it has"))
                }
                channel = .field(typed)
            }
        }
        return CheckedAction(verb: verb, argument: argument, channel: channel, span: action.span)
    }

    func exampleArgument(_ kind: Catalog.ArgumentKind) -> String {
        switch kind {
        case .none: ""
        case .money: "5 \(catalog.currency)"
        case .integer: "100"
        case .percent: "10%"
        case .template: catalog.templates.first?.name ?? "apology"
        case .tag: catalog.tags.first?.name ?? "handwritten"
        case .oneOf(let names): names.first ?? ""
        }
    }

    /// Reports an optional value used where a definite one is needed (E0306).
    mutating func requireValue(_ typed: TypedExpression, written: Expression, file: String, what: String) {
        let example = defaultExample(for: typed.type.required)
        let text = Formatter.print(written)
        let needsParentheses: Bool = {
            if case .binary(let op, _, _) = written.kind { return op.precedence <= BinaryOperator.coalesce.precedence }
            return false
        }()
        let replacement = (needsParentheses ? "(\(text))" : text) + " ?? \(example)"
        error(.optionalWithoutDefault, "\(what) may be missing, and nothing says what to do then", file: file, span: written.span,
              label: "optional: may be missing",
              notes: ["in a `when` condition a missing value makes the rule not fire; in a value there is no such default"],
              help: "give a default with `??`: `\(replacement)`",
              fix: Edit(file: file, span: written.span, replacement: replacement))
    }

    func defaultExample(for type: ValueType) -> String {
        switch type {
        case .money(let currency): "0 \(currency)"
        case .integer: "0"
        case .decimal: "0.0"
        case .percent: "0%"
        case .duration: "0d"
        case .bool: "false"
        case .string: "\"\""
        case .enumeration(let name): schema.enumeration(name)?.cases.first ?? "..."
        default: "..."
        }
    }
}
