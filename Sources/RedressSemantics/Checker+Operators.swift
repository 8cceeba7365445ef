import RedressSyntax

/// The unit rules of the language: which operand types each operator accepts and what it gives.
extension Checker {
    func sameType(_ a: ValueType, _ b: ValueType) -> Bool {
        a.required == b.required || (a.isNumeric && b.isNumeric)
    }

    /// Whether two (required) types can be compared or combined as one unit.
    func unitsCompatible(_ a: ValueType, _ b: ValueType) -> Bool {
        if a == .error || b == .error { return true }
        if a.isNumeric && b.isNumeric { return true }
        return a == b
    }

    mutating func reportMismatch(_ a: ValueType, _ b: ValueType, at span: Span, file: String, what: String) {
        let left = a.required, right = b.required
        if case .money(let c1) = left, case .money(let c2) = right {
            error(.currencyMismatch, "\(what) mixes \(c1) and \(c2)", file: file, span: span, label: "this is in \(c2)",
                  notes: ["rules never convert currencies; exchange rates belong to reporting"],
                  help: "write the amount in \(c1)")
            return
        }
        if (left == .percent && right.isNumeric) || (right == .percent && left.isNumeric) {
            error(.percentVersusNumber, "\(what) mixes a percentage and a plain number", file: file, span: span,
                  label: left == .percent ? "a plain number" : "a percentage",
                  help: "write the number as a percentage, for example `5%`")
            return
        }
        error(.incompatibleComparison, "\(what) mixes \(left) and \(right)", file: file, span: span, label: "this is \(right)",
              help: hint(left, right))
    }

    /// `customer.tier == VIP or Plus` (and longer chains): the fix `customer.tier in [VIP, Plus]`,
    /// when the field's enum has every bare name as a case.
    func caseList(_ left: Expression, _ right: Expression) -> (span: Span, text: String)? {
        func parts(_ e: Expression) -> [Expression] {
            if case .binary(.or, let l, let r) = e.kind { return parts(l) + parts(r) }
            return [e]
        }
        var all = parts(left) + parts(right)
        // `a and customer.tier == VIP or Plus`: `and` binds tighter, but the names belong to the last comparison.
        while case .binary(.and, _, let last) = all[0].kind { all[0] = last }
        guard all.count >= 2, case .binary(.equal, let field, let first) = all[0].kind, case .name(let firstCase) = first.kind,
              case .member(let base, let fieldName) = field.kind, case .name(let entityName) = base.kind,
              let type = schema.entity(entityName.name)?.field(fieldName.name)?.type,
              case .enumeration(let enumName) = type.required, let enumeration = schema.enumeration(enumName) else { return nil }
        var cases = [firstCase.name]
        for part in all.dropFirst() {
            guard case .name(let name) = part.kind, declared[name.name] == nil, enumeration.cases.contains(name.name) else { return nil }
            cases.append(name.name)
        }
        guard enumeration.cases.contains(firstCase.name) else { return nil }
        return (Span(start: all[0].span.start, end: all[all.count - 1].span.end),
                "\(Formatter.print(field)) in [\(cases.joined(separator: ", "))]")
    }

    func hint(_ a: ValueType, _ b: ValueType) -> String {
        switch (a, b) {
        case (.duration, .integer), (.duration, .decimal): "durations have units: write `2d`, `36h` or `90m`"
        case (.money, .integer), (.money, .decimal): "amounts of money have a currency: write `5 EUR`"
        case (.timestamp, .duration), (.duration, .timestamp): "a point in time is not a length of time; subtract two timestamps to get a duration"
        case (.enumeration(let name), .string): "enum cases are bare names: write the case without quotes, as a case of `\(name)`"
        default: "both sides must be of one unit"
        }
    }

    mutating func checkBinary(_ op: BinaryOperator, _ left: Expression, _ right: Expression, span: Span,
                              scope: inout Scope, expected: ValueType?) -> TypedExpression {
        let file = scope.file
        let failed = TypedExpression(.constant(.bool(false)), .error, span)

        switch op {
        case .and, .or:
            if op == .or, let fix = caseList(left, right) {
                error(.notACondition, "`or` joins conditions; one field with several values is written with `in`", file: file, span: fix.span,
                      label: "write `\(fix.text)`", help: "test membership with `in` and a list: `\(fix.text)`",
                      fix: Edit(file: file, span: fix.span, replacement: fix.text))
                return failed
            }
            let l = check(left, scope: &scope, expected: .bool)
            let r = check(right, scope: &scope, expected: l.type.isError || l.type.required == .bool ? .bool : l.type.required)
            if l.type.isError || r.type.isError { return failed }
            // `customer.preferred_channel or email`: a default, which is `??`.
            if op == .or, l.type.required != .bool, l.type.isOptional, unitsCompatible(l.type.required, r.type.required) {
                let text = "\(Formatter.print(left)) ?? \(Formatter.print(right))"
                error(.notACondition, "`or` joins conditions; a value to use when another is missing is given with `??`", file: file,
                      span: span, label: "write `\(text)`",
                      help: "`\(text)` is \(Formatter.print(left)), or \(Formatter.print(right)) when it is missing",
                      fix: Edit(file: file, span: span, replacement: text))
                return failed
            }
            for (side, written) in [(l, left), (r, right)] where side.type.required != .bool {
                error(.notACondition, "`\(op.rawValue)` joins conditions, but this is \(side.type)", file: file, span: written.span,
                      label: "this is \(side.type)", help: "compare it with something, for example `... > 2d`")
                return failed
            }
            return TypedExpression(.binary(op, l, r), ValueType.bool.optional(if: l.type.isOptional || r.type.isOptional), span)

        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual, .in, .notIn:
            // `x == null`: a test for a missing value.
            if op == .equal || op == .notEqual, case .name(let word) = right.kind, declared[word.name] == nil,
               ["null", "nil", "empty", "undefined", "unknown", "blank"].contains(word.name.lowercased()),
               !schema.enums.contains(where: { $0.cases.contains(word.name) }) {
                let text = "\(Formatter.print(left)) \(op == .equal ? "is missing" : "is present")"
                error(.unknownName, "`\(word.name)` is not a value in Redress; a missing value is tested with `is missing`", file: file,
                      span: span, label: "write `\(text)`", help: "test for a value with `is missing` or `is present`: `\(text)`",
                      fix: Edit(file: file, span: span, replacement: text))
                return failed
            }
            // Check the side that can stand alone first, so a bare enum case learns its enum.
            let (l, r) = checkPair(left, right, scope: &scope, listOnRight: op == .in || op == .notIn)
            if l.type.isError || r.type.isError { return failed }
            let optional = l.type.isOptional || r.type.isOptional
            if op == .in || op == .notIn {
                guard case .list(let element) = r.type.required else {
                    error(.incompatibleComparison, "`\(op.rawValue)` needs a list on its right, but this is \(r.type)", file: file,
                          span: right.span, label: "not a list", help: "for example `customer.country in [DE, AT, CH]`")
                    return failed
                }
                if element != .error, !unitsCompatible(l.type.required, element) {
                    reportMismatch(.list(l.type.required), .list(element), at: right.span, file: file, what: "`\(op.rawValue)`")
                    return failed
                }
                return TypedExpression(.binary(op, l, r), ValueType.bool.optional(if: optional), span)
            }
            if !unitsCompatible(l.type.required, r.type.required) {
                reportMismatch(l.type, r.type, at: span, file: file, what: "this comparison")
                return failed
            }
            if op != .equal, op != .notEqual, !l.type.isOrderable {
                error(.incompatibleComparison, "values of type \(l.type.required) have no order", file: file, span: span,
                      label: "`\(op.rawValue)` on \(l.type.required)",
                      help: l.type.required == .bool ? "compare with `==` or use the condition directly" : "use `==`, `!=` or `in [...]`")
                return failed
            }
            if case .list = l.type.required {
                error(.incompatibleComparison, "lists cannot be compared", file: file, span: span, label: "a list",
                      help: "test membership with `in`")
                return failed
            }
            return TypedExpression(.binary(op, l, r), ValueType.bool.optional(if: optional), span)

        case .coalesce:
            let l = check(left, scope: &scope, expected: expected)
            if l.type.isError { return failed }
            let r = check(right, scope: &scope, expected: l.type.required)
            if r.type.isError { return failed }
            if !unitsCompatible(l.type.required, r.type.required) {
                reportMismatch(l.type, r.type, at: right.span, file: file, what: "`??`")
                return failed
            }
            if !l.type.isOptional {
                diagnostics.append(Diagnostic(.alwaysFalse, "`\(Formatter.print(left))` is never missing, so the default after `??` is never used",
                                              at: Label(file: file, span: right.span, message: "never used"),
                                              help: "remove `?? \(Formatter.print(right))`"))
            }
            return TypedExpression(.binary(op, l, r), r.type, span)

        case .plus, .minus, .times, .divide, .of:
            let l = check(left, scope: &scope, expected: nil)
            let r = check(right, scope: &scope, expected: nil)
            if l.type.isError || r.type.isError { return failed }
            guard let result = arithmeticResult(op, l.type.required, r.type.required) else {
                let (a, b) = (l.type.required, r.type.required)
                if case .money(let c1) = a, case .money(let c2) = b, c1 != c2, op == .plus || op == .minus {
                    reportMismatch(a, b, at: span, file: file, what: "`\(op.rawValue)`")
                    return failed
                }
                error(.meaninglessArithmetic, "cannot \(verb(op)) \(a) \(preposition(op)) \(b)", file: file, span: span,
                      label: "\(a) \(op.rawValue) \(b)", help: arithmeticHelp(op, a, b))
                return failed
            }
            let typed = TypedExpression(.binary(op, l, r), result.optional(if: l.type.isOptional || r.type.isOptional), span)
            if let problem = outOfRange(op, l, r) {
                error(.malformedLiteral, "`\(Formatter.print(left)) \(op.rawValue) \(Formatter.print(right))` is too large", file: file, span: span,
                      label: "out of range", help: problem)
                return failed
            }
            return typed
        }
    }

    /// Why the value of constant arithmetic cannot be held by the runtime (see `RuntimeRange`),
    /// or nil (also when an operand is not constant). Its operands were checked already, so an
    /// overflow is reported once, on the innermost operation that makes it.
    func outOfRange(_ op: BinaryOperator, _ l: TypedExpression, _ r: TypedExpression) -> String? {
        guard let a = ConstantFolder.fold(l, definitions: [:], rounding: catalog.rounding), let b = ConstantFolder.fold(r, definitions: [:], rounding: catalog.rounding) else { return nil }
        if let value = ConstantFolder.apply(op, a, b, rounding: catalog.rounding) { return RuntimeRange.problem(value) }
        // The evaluator's arithmetic gave no value for two constants: they overflow its 64 bits
        // (a division by zero is E0410's, not a size).
        guard [.plus, .minus, .times, .of, .divide].contains(op), !ConstantFolder.dividesByZero(op, b) else { return nil }
        switch (a, b) {
        case (.money(_, let currency), _), (_, .money(_, let currency)):
            let minor = Currency.minorUnits[currency] ?? 2
            return "\(currency) amounts are kept in \(minor == 0 ? "whole units" : "\(minor) decimal places") and at most \(RuntimeRange.largest(places: minor)) \(currency)"
        case (.integer, .integer):
            return "whole numbers are at most \(Int64.max)"
        case (.duration, _), (_, .duration), (.timestamp, _), (.date, _):
            return "durations are at most \(Int64.max) ms (about 292 million years)"
        case (.percent, _):
            return "percentages are kept to \(RuntimeRange.percentPlaces) decimal places and at most \(RuntimeRange.largest(places: RuntimeRange.percentPlaces))%"
        default:
            return "numbers with decimals are kept to \(RuntimeRange.decimalPlaces) places and at most \(RuntimeRange.largest(places: RuntimeRange.decimalPlaces))"
        }
    }

    /// Checks both operands of a comparison, the self-typing one first.
    mutating func checkPair(_ left: Expression, _ right: Expression, scope: inout Scope, listOnRight: Bool)
        -> (TypedExpression, TypedExpression) {
        if isContextual(left), !isContextual(right), !listOnRight {
            let r = check(right, scope: &scope, expected: nil)
            let l = check(left, scope: &scope, expected: r.type.isError ? nil : r.type)
            return (l, r)
        }
        let l = check(left, scope: &scope, expected: nil)
        let expectation: ValueType? = l.type.isError ? nil : (listOnRight ? .list(l.type.required) : l.type)
        let r = check(right, scope: &scope, expected: expectation)
        return (l, r)
    }

    /// A bare name that is not declared: an enum case that needs its enum from the other side.
    func isContextual(_ expression: Expression) -> Bool {
        if case .name(let identifier) = expression.kind { return declared[identifier.name] == nil }
        return false
    }

    func arithmeticResult(_ op: BinaryOperator, _ a: ValueType, _ b: ValueType) -> ValueType? {
        switch (op, a, b) {
        case (.plus, .money(let c1), .money(let c2)), (.minus, .money(let c1), .money(let c2)):
            return c1 == c2 ? a : nil
        case (.plus, .duration, .duration), (.minus, .duration, .duration): return .duration
        case (.plus, .timestamp, .duration), (.minus, .timestamp, .duration), (.plus, .duration, .timestamp): return .timestamp
        case (.minus, .timestamp, .timestamp): return .duration
        case (.plus, .date, .duration), (.minus, .date, .duration): return .date
        case (.minus, .date, .date): return .duration
        case (.plus, .percent, .percent), (.minus, .percent, .percent): return .percent
        case (.plus, .integer, .integer), (.minus, .integer, .integer), (.times, .integer, .integer): return .integer
        case (.plus, _, _) where a.isNumeric && b.isNumeric: return .decimal
        case (.minus, _, _) where a.isNumeric && b.isNumeric: return .decimal
        case (.times, _, _) where a.isNumeric && b.isNumeric: return .decimal
        case (.times, .money, _) where b.isNumeric: return a
        case (.times, _, .money) where a.isNumeric: return b
        case (.times, .percent, .money), (.of, .percent, .money): return b
        case (.times, .money, .percent): return a
        case (.times, .duration, _) where b.isNumeric: return .duration
        case (.times, _, .duration) where a.isNumeric: return .duration
        case (.times, .percent, .duration), (.of, .percent, .duration): return b
        case (.times, .duration, .percent): return a
        case (.of, .percent, _) where b.isNumeric: return .decimal
        case (.times, .percent, _) where b.isNumeric: return .percent
        case (.times, _, .percent) where a.isNumeric: return .percent
        case (.divide, .money, _) where b.isNumeric: return a
        case (.divide, .money(let c1), .money(let c2)): return c1 == c2 ? .decimal : nil
        case (.divide, .duration, .duration): return .decimal
        case (.divide, .duration, _) where b.isNumeric: return .duration
        case (.divide, _, _) where a.isNumeric && b.isNumeric: return .decimal
        case (.divide, .percent, _) where b.isNumeric: return .percent
        default: return nil
        }
    }

    func verb(_ op: BinaryOperator) -> String {
        switch op {
        case .plus: "add"
        case .minus: "subtract"
        case .times: "multiply"
        case .divide: "divide"
        default: "take"
        }
    }

    func preposition(_ op: BinaryOperator) -> String {
        switch op {
        case .plus: "and"
        case .minus: "and"
        case .times: "by"
        case .divide: "by"
        default: "of"
        }
    }

    func arithmeticHelp(_ op: BinaryOperator, _ a: ValueType, _ b: ValueType) -> String {
        switch (op, a, b) {
        case (.of, _, _): "`of` takes a percentage of an amount: `5% of order.total`"
        case (.plus, .money, _), (.minus, .money, _), (.plus, _, .money), (.minus, _, .money):
            "money adds to money of the same currency: `5 EUR + 2.50 EUR`"
        case (.plus, .timestamp, .timestamp): "timestamps cannot be added; subtract them to get a duration"
        case (.times, .money, .money): "multiply money by a number or a percentage: `order.total * 2` or `5% of order.total`"
        default: "see the table of units in docs/language.md"
        }
    }
}
