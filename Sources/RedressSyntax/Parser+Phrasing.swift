/// Messages for plain phrasing: where the parser has met something it cannot read, these
/// functions look at the tokens around it for what a person probably meant (`36 hours`,
/// `more than`, `between 0 and 4`, `to` for `until`) and say the Redress form in their terms,
/// with a fix when the correction is certain. They run only on paths that fail anyway, so they
/// never change what parses. When nothing is recognised they return and the parser's plain
/// "expected …" message stands: a wrong hint is worse than none.
extension Parser {
    /// The part of a rule or declaration being read, for messages that depend on it.
    enum Section: Equatable {
        case item, triggers, absence, condition, actions, limit, cap, group, active, rollout, exclusive, definition, table
    }

    // MARK: - Helpers

    func lowered(_ token: Token) -> String { text(of: token).lowercased() }

    func sourceText(_ start: Int, _ end: Int) -> String {
        String(decoding: source.bytes[max(0, start)..<min(end, source.bytes.count)], as: UTF8.self)
    }

    func token(_ offset: Int) -> Token { tokens[min(max(index + offset, 0), tokens.count - 1)] }

    /// No space between the two tokens.
    func adjacent(_ a: Token, _ b: Token) -> Bool { a.span.end == b.span.start }

    /// Only spaces and tabs between the two tokens (no line break, no comment).
    func sameLine(_ a: Token, _ b: Token) -> Bool {
        a.span.end <= b.span.start && source.bytes[a.span.end..<b.span.start].allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }

    /// A token that is a whole value by itself: a literal or a name.
    func isSimpleValue(_ token: Token) -> Bool {
        switch token.kind {
        case .name, .number, .money, .percent, .duration, .date, .timestamp, .string, .keyword(.true), .keyword(.false): true
        default: false
        }
    }

    /// The end (token index, exclusive) of a simple value at `start`: one literal, a name, or
    /// `name.name`; nil when there is none.
    func simpleValueEnd(at start: Int) -> Int? {
        guard start < tokens.count, isSimpleValue(tokens[start]) else { return nil }
        if tokens[start].kind == .name, start + 2 < tokens.count, tokens[start + 1].kind == .symbol(.dot),
           tokens[start + 2].kind == .name {
            return start + 3
        }
        return start + 1
    }

    /// Whether the words of `phrase` stand at `start` (compared lowercased, keywords included).
    func matches(_ phrase: [String], at start: Int) -> Bool {
        guard start + phrase.count < tokens.count else { return false }
        for (offset, word) in phrase.enumerated() {
            let token = tokens[start + offset]
            switch token.kind {
            case .name, .keyword: if lowered(token) != word { return false }
            default: return false
            }
        }
        return true
    }

    /// The comparison phrase at `start` (`more than`, `at least`, …) and how many tokens it has.
    func comparisonPhrase(at start: Int) -> (symbol: String, count: Int, words: String)? {
        for (words, symbol) in Phrasing.comparisons where matches(words, at: start) {
            return (symbol, words.count, words.joined(separator: " "))
        }
        return nil
    }

    /// Records a diagnostic for a recognised phrasing and returns the failure to throw.
    mutating func phrasing(code: DiagnosticCode = .unexpectedToken, _ message: String, at span: Span, label: String,
                           help: String?, fix: (Span, String)? = nil, notes: [String] = []) -> Failure {
        diagnostics.append(Diagnostic(code, message, at: Label(file: source.path, span: span, message: label), notes: notes,
                                      help: help, fix: fix.map { Edit(file: source.path, span: $0.0, replacement: $0.1) }))
        return Failure()
    }

    /// A name that is a keyword written in capitals (`AND`, `Then`): the keyword it means.
    func capitalisedKeyword(_ token: Token) -> Keyword? {
        guard token.kind == .name else { return nil }
        let word = text(of: token)
        guard let keyword = Keyword(rawValue: word.lowercased()), keyword.rawValue != word else { return nil }
        return keyword
    }

    mutating func capitalisedKeywordFailure(_ token: Token, _ keyword: Keyword) -> Failure {
        phrasing("keywords are written in lowercase: `\(keyword.rawValue)`, not `\(text(of: token))`", at: token.span,
                 label: "write `\(keyword.rawValue)`",
                 help: "`\(text(of: token))` is read as a name; the keyword is `\(keyword.rawValue)`",
                 fix: (token.span, keyword.rawValue))
    }

    // MARK: - Numbers with words: `36 hours`, `5 euro`, `10 percent`

    /// `previous` is a number and `word` the name after it on the same line.
    mutating func numberWithWordFailure(_ number: Token, _ word: Token, contextHelp: String? = nil) -> Failure? {
        guard number.kind == .number, word.kind == .name, sameLine(number, word) else { return nil }
        let amount = text(of: number), unitWord = lowered(word)
        let span = Span(start: number.span.start, end: word.span.end)
        let written = sourceText(span.start, span.end)
        if let unit = Phrasing.durationUnits[unitWord] {
            guard let duration = Phrasing.duration(amount, unit: unit) else {
                return phrasing(code: .malformedLiteral, "`\(written)` is not a duration in Redress", at: span, label: "not a duration",
                                help: "a duration is a whole number and a unit without a space: ms, s, m, h, d or w, as in `36h` or `90m`")
            }
            return phrasing(code: .malformedLiteral, "`\(written)` is written `\(duration)` in Redress", at: span, label: "write `\(duration)`",
                            help: "a duration is a whole number and a unit without a space: `500ms`, `30s`, `90m`, `36h`, `3d`, `2w`",
                            fix: (span, duration))
        }
        if Phrasing.businessWords.contains(unitWord) {
            var end = word
            if let next = tokens.dropFirst(index + 1).first, next.kind == .name, ["day", "days", "hours", "hour"].contains(lowered(next)) {
                end = next
            }
            let whole = Span(start: number.span.start, end: end.span.end)
            let days = Int(amount) ?? 1
            return phrasing(code: .malformedLiteral, "Redress has no business days: durations count calendar time, weekends included",
                            at: whole, label: "not a duration Redress knows",
                            help: "write calendar days: `\(days)d` is \(days * 24) hours; to cover a weekend in between, allow two more (`\(days + 2)d`)")
        }
        if let calendar = Phrasing.calendarUnits[unitWord] {
            let count = Int(amount) ?? 1
            return phrasing(code: .malformedLiteral, "Redress has no \(calendar.name)s: durations are counted in days or weeks", at: span,
                            label: "no \(calendar.name) unit",
                            help: "write the days, for example `\(count * calendar.days)d` for \(written) (a window of that many days up to each event, not calendar \(calendar.name)s)")
        }
        if let code = Phrasing.currencyWords[unitWord] {
            let money = "\(amount) \(code)"
            return phrasing(code: .malformedLiteral, "amounts of money are written `\(money)`", at: span, label: "write `\(money)`",
                            help: "a number and a three-letter currency code in capitals: `5 EUR`, `4.99 EUR`",
                            fix: (span, money))
        }
        if Phrasing.percentWords.contains(unitWord) {
            return phrasing(code: .malformedLiteral, "percentages are written `\(amount)%`", at: span, label: "write `\(amount)%`",
                            help: "write `%` right after the number: `\(amount)%`", fix: (span, "\(amount)%"))
        }
        return nil
    }

    // MARK: - After a complete value (hook in parseExpression)

    /// The parser has read a value (`operand`, the last one of the expression so far) and the
    /// next token cannot continue it. Throws when the token is a recognised phrasing.
    mutating func phrasingAfterValue(_ operand: Expression, compared: Bool) throws(Failure) {
        guard index > 0 else { return }
        let next = current, previous = tokens[index - 1]
        if let failure = numberWithWordFailure(previous, next) { throw failure }
        // `5,00 EUR`: a decimal comma.
        if previous.kind == .number, next.kind == .symbol(.comma), adjacent(previous, next), index + 1 < tokens.count,
           case .money = tokens[index + 1].kind, adjacent(next, tokens[index + 1]) {
            let money = tokens[index + 1]
            let span = Span(start: previous.span.start, end: money.span.end)
            let fixed = "\(text(of: previous)).\(text(of: money).filter { !$0.isWhitespace }.dropLast(3)) \(text(of: money).suffix(3))"
            throw phrasing(code: .malformedLiteral, "decimals are written with a point: `\(fixed)`", at: span, label: "write `\(fixed)`",
                           help: "Redress writes decimals with `.`; a comma separates list elements and actions", fix: (span, fixed))
        }
        // `EUR 5`: the code before the number.
        if previous.kind == .name, next.kind == .number, sameLine(previous, next),
           let code = Phrasing.currencyWords[lowered(previous)], code == text(of: previous).uppercased(), text(of: previous).count == 3 {
            let span = Span(start: previous.span.start, end: next.span.end)
            let money = "\(text(of: next)) \(code)"
            throw phrasing(code: .malformedLiteral, "amounts of money are written with the number first: `\(money)`", at: span,
                           label: "write `\(money)`", help: "a number and a three-letter currency code: `5 EUR`", fix: (span, money))
        }
        // `=` for `==`, `=>` and `=<` for `>=` and `<=`.
        if next.kind == .symbol(.assign), armsDepth > 0, !arrowAhead() {
            throw phrasing("the entries of `case` and `table` use `->`", at: next.span, label: "write `->`",
                           help: "for example `DE -> 2d` or `VIP -> 10 EUR`", fix: (next.span, "->"))
        }
        if next.kind == .symbol(.assign) {
            let following = token(1)
            if adjacent(next, following), following.kind == .symbol(.greater) || following.kind == .symbol(.less) {
                let symbol = following.kind == .symbol(.greater) ? ">=" : "<="
                let span = next.span.union(following.span)
                throw phrasing("`\(sourceText(span.start, span.end))` is written `\(symbol)`", at: span, label: "write `\(symbol)`",
                               help: "the comparisons are `==`, `!=`, `<`, `<=`, `>`, `>=`", fix: (span, symbol))
            }
            throw phrasing("comparisons use `==`; a single `=` only names a value in `let` and `param`", at: next.span, label: "write `==`",
                           help: "compare with `==`: `\(Formatter.print(operand)) == …`", fix: (next.span, "=="))
        }
        // Valid rules never get past this line: what may follow a complete value is a keyword
        // (`then`, `and`, `via`, …) or a closing symbol. Everything below compares words, so it
        // stays off the path that `check` takes for correct rules.
        guard next.kind == .name || next.kind == .keyword(.not) || next.kind == .symbol(.bar) || startsExpression(next) else { return }
        if let keyword = capitalisedKeyword(next) { throw capitalisedKeywordFailure(next, keyword) }
        // `NOT customer.sms_opt_in`: the capitalised keyword was read as a name.
        if startsExpression(next), case .name(let name) = operand.kind, name.span == previous.span,
           let keyword = capitalisedKeyword(previous), keyword == .not {
            throw capitalisedKeywordFailure(previous, keyword)
        }
        guard section == .condition || section == .definition || section == .absence else { return }
        // `|` for `or` (outside `case` and table arms, where it separates patterns).
        if next.kind == .symbol(.bar), armsDepth == 0 {
            // `||` lexes as two bars.
            let span = token(1).kind == .symbol(.bar) && adjacent(next, token(1)) ? next.span.union(token(1).span) : next.span
            throw phrasing("conditions are joined with `or`, not `\(sourceText(span.start, span.end))`", at: span, label: "write `or`",
                           help: "`|` only separates cases in `case` and `table` (`VIP | Plus -> 5 EUR`)", fix: (span, "or"))
        }
        guard !compared else { return }
        if let phrase = comparisonPhrase(at: index) {
            let span = Span(start: next.span.start, end: tokens[index + phrase.count - 1].span.end)
            throw phrasing("`\(phrase.words)` is written `\(phrase.symbol)` in Redress", at: span, label: "write `\(phrase.symbol)`",
                           help: "the comparisons are `==`, `!=`, `<`, `<=`, `>`, `>=`: `\(Formatter.print(operand)) \(phrase.symbol) …`",
                           fix: (span, phrase.symbol))
        }
        if next.kind == .name, lowered(next) == "between" {
            throw betweenFailure(operand: operand, from: next.span.start, wordIndex: index)
        }
        if next.kind == .name, ["contains", "includes", "has"].contains(lowered(next)), let end = simpleValueEnd(at: index + 1) {
            let element = sourceText(tokens[index + 1].span.start, tokens[end - 1].span.end)
            let span = Span(start: operand.span.start, end: tokens[end - 1].span.end)
            let fixed = "\(element) in \(sourceText(operand.span.start, operand.span.end))"
            throw phrasing("`\(text(of: next))` is written with `in`, the element first: `\(fixed)`", at: Span(start: next.span.start, end: next.span.end),
                           label: "write `\(element) in …`", help: "test membership with `in`: `\(fixed)`", fix: (span, fixed))
        }
        if matches(["one", "of"], at: index) || matches(["not", "one", "of"], at: index) {
            let negated = lowered(next) == "not"
            let span = Span(start: next.span.start, end: tokens[index + (negated ? 2 : 1)].span.end)
            let symbol = negated ? "not in" : "in"
            throw phrasing("`\(sourceText(span.start, span.end))` is written `\(symbol)`", at: span, label: "write `\(symbol)`",
                           help: "test membership with `\(symbol)` and a list: `customer.country \(symbol) [DE, AT, CH]`", fix: (span, symbol))
        }
    }

    /// Whether `->` comes before the next `,` or `}` at this depth.
    func arrowAhead() -> Bool {
        var position = index, depth = 0
        while position < tokens.count {
            switch tokens[position].kind {
            case .symbol(.arrow): if depth == 0 { return true }
            case .symbol(.leftParen), .symbol(.leftBracket), .symbol(.leftBrace): depth += 1
            case .symbol(.rightParen), .symbol(.rightBracket): depth -= 1
            case .symbol(.rightBrace): if depth == 0 { return false }; depth -= 1
            case .symbol(.comma): if depth == 0 { return false }
            case .endOfFile: return false
            default: break
            }
            position += 1
        }
        return false
    }

    /// `survey.nps between 0 and 4` → `survey.nps >= 0 and survey.nps <= 4`.
    mutating func betweenFailure(operand: Expression, from start: Int, wordIndex: Int) -> Failure {
        let operandText = sourceText(operand.span.start, operand.span.end)
        let help = "compare twice and join with `and`: `\(operandText) >= LOW and \(operandText) <= HIGH` (write `>` or `<` to leave an end out)"
        guard let lowEnd = simpleValueEnd(at: wordIndex + 1), lowEnd < tokens.count, tokens[lowEnd].kind == .keyword(.and),
              let highEnd = simpleValueEnd(at: lowEnd + 1) else {
            return phrasing("`between` is not part of Redress: a range is two comparisons", at: tokens[wordIndex].span,
                            label: "not a comparison", help: help)
        }
        let low = sourceText(tokens[wordIndex + 1].span.start, tokens[lowEnd - 1].span.end)
        let high = sourceText(tokens[lowEnd + 1].span.start, tokens[highEnd - 1].span.end)
        var fixed = "\(operandText) >= \(low) and \(operandText) <= \(high)"
        let operandIndex = tokenIndex(startingAt: operand.span.start)
        if let operandIndex, operandIndex > 0, tokens[operandIndex - 1].kind == .keyword(.not) { fixed = "(\(fixed))" }
        let span = Span(start: operand.span.start, end: tokens[highEnd - 1].span.end)
        return phrasing("`between` is not part of Redress: a range is two comparisons", at: Span(start: start, end: span.end),
                        label: "write `\(fixed)`",
                        help: "compare twice and join with `and`: `\(fixed)` (both ends included; write `>` or `<` to leave one out)",
                        fix: (span, fixed))
    }

    func tokenIndex(startingAt offset: Int) -> Int? {
        var low = 0, high = tokens.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if tokens[middle].span.start == offset { return middle }
            if tokens[middle].span.start < offset { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }

    // MARK: - After `is`

    /// `is` has been read and is not followed by `missing` or `present`. `isToken` is its index.
    mutating func phrasingAfterIs(_ operand: Expression, isToken: Int) -> Failure {
        let isSpan = tokens[isToken].span
        let operandText = sourceText(operand.span.start, operand.span.end)
        let negated = current.kind == .keyword(.not)
        let wordIndex = negated ? index + 1 : index
        let word = wordIndex < tokens.count ? tokens[wordIndex] : current
        let lowerWord = lowered(word)
        func test(_ missing: Bool) -> Failure {
            let test = missing != negated ? "is missing" : "is present"
            let span = Span(start: isSpan.start, end: word.span.end)
            return phrasing("`\(sourceText(span.start, span.end))` is written `\(test)`", at: span, label: "write `\(test)`",
                            help: "test for a value with `is missing` or `is present`: `\(operandText) \(test)`", fix: (span, test))
        }
        if negated, word.kind == .keyword(.missing) { return test(true) }
        if negated, word.kind == .keyword(.present) { return test(false) }
        if word.kind == .name || word.kind == .keyword(.none) {
            if Phrasing.missingWords.contains(lowerWord) { return test(true) }
            if Phrasing.presentWords.contains(lowerWord) { return test(false) }
        }
        if let phrase = comparisonPhrase(at: index), !negated || phrase.symbol == "!=" {
            let span = Span(start: isSpan.start, end: tokens[index + phrase.count - 1].span.end)
            return phrasing("`\(sourceText(span.start, span.end))` is written `\(phrase.symbol)` in Redress", at: span,
                            label: "write `\(phrase.symbol)`",
                            help: "the comparisons are `==`, `!=`, `<`, `<=`, `>`, `>=`: `\(operandText) \(phrase.symbol) …`",
                            fix: (span, phrase.symbol))
        }
        if !negated, word.kind == .name, lowerWord == "between" {
            return betweenFailure(operand: operand, from: isSpan.start, wordIndex: index)
        }
        if word.kind == .keyword(.in) || matches(["one", "of"], at: wordIndex) {
            let symbol = negated ? "not in" : "in"
            let end = word.kind == .keyword(.in) ? word.span.end : tokens[wordIndex + 1].span.end
            let span = Span(start: isSpan.start, end: end)
            return phrasing("`\(sourceText(span.start, span.end))` is written `\(symbol)`", at: span, label: "write `\(symbol)`",
                            help: "test membership with `\(symbol)` and a list: `\(operandText) \(symbol) [...]`", fix: (span, symbol))
        }
        if isSimpleValue(word) || word.kind == .symbol(.leftBracket) || word.kind == .symbol(.leftParen) || word.kind == .symbol(.minus) {
            let symbol = negated ? "!=" : "=="
            let span = Span(start: isSpan.start, end: negated ? current.span.end : isSpan.end)
            let example = simpleValueEnd(at: wordIndex).map { "`\(operandText) \(symbol) \(sourceText(word.span.start, tokens[$0 - 1].span.end))`" }
                ?? "`\(operandText) \(symbol) …`"
            return phrasing("`\(sourceText(span.start, span.end))` only tests for a value: compare with `\(symbol)`", at: span,
                            label: "write `\(symbol)`",
                            help: "`is` is followed by `missing` or `present`; to compare values write \(example)", fix: (span, symbol))
        }
        return fail(expected: "`missing` or `present` after `is`")
    }

    // MARK: - Where a value was expected

    /// `parsePrimary` found no value at `current`.
    mutating func phrasingAtValue() -> Failure? {
        guard index > 0 else { return nil }
        let previous = tokens[index - 1]
        // `<>` for `!=`.
        if previous.kind == .symbol(.less), current.kind == .symbol(.greater), adjacent(previous, current) {
            let span = previous.span.union(current.span)
            return phrasing("`<>` is written `!=` in Redress", at: span, label: "write `!=`",
                            help: "the comparisons are `==`, `!=`, `<`, `<=`, `>`, `>=`", fix: (span, "!="))
        }
        // `== none` for `is missing`.
        if current.kind == .keyword(.none), previous.kind == .symbol(.equal) || previous.kind == .symbol(.notEqual) {
            let test = previous.kind == .symbol(.equal) ? "is missing" : "is present"
            let span = previous.span.union(current.span)
            return phrasing("`\(sourceText(span.start, span.end))` is written `\(test)`", at: span, label: "write `\(test)`",
                            help: "test for a value with `is missing` or `is present`", fix: (span, test))
        }
        return nil
    }

    // MARK: - Actions

    /// `then case customer.tier { VIP -> refund 10 EUR, … }`: `case` chooses a value, not actions.
    mutating func caseOfActionsFailure() -> Failure {
        let caseToken = current
        let example = "then refund case customer.tier { VIP -> 10 EUR, Plus -> 5 EUR, else -> 3 EUR }"
        let message = "`case` chooses a value, not an action: write the action first and choose its amount with `case`"
        // Read the arms as tokens: `PATTERN -> VERB ARGUMENT` separated by commas at depth 0.
        var position = index + 1
        while position < tokens.count, tokens[position].kind != .symbol(.leftBrace), tokens[position].kind != .endOfFile { position += 1 }
        guard position < tokens.count, tokens[position].kind == .symbol(.leftBrace) else {
            return phrasing(message, at: caseToken.span, label: "not an action", help: "for example `\(example)`")
        }
        let braceIndex = position
        var verbs: Set<String> = []
        var arms: [(patternStart: Int, verbIndex: Int, end: Int)] = []
        var depth = 0
        var armStart = position + 1
        var arrow: Int? = nil
        position += 1
        var closeIndex: Int? = nil
        while position < tokens.count {
            let kind = tokens[position].kind
            if kind == .endOfFile { break }
            if kind == .symbol(.leftBrace) || kind == .symbol(.leftParen) || kind == .symbol(.leftBracket) { depth += 1 }
            if kind == .symbol(.rightParen) || kind == .symbol(.rightBracket) { depth -= 1 }
            if kind == .symbol(.arrow), depth == 0 { arrow = position }
            if depth == 0, kind == .symbol(.comma) || kind == .symbol(.rightBrace) {
                if let arrow, arrow + 1 < position, tokens[arrow + 1].kind == .name {
                    arms.append((armStart, arrow + 1, position))
                    verbs.insert(text(of: tokens[arrow + 1]))
                } else if arrow != nil || position > armStart {
                    arms.append((armStart, -1, position))
                }
                arrow = nil
                armStart = position + 1
                if kind == .symbol(.rightBrace) { closeIndex = position; break }
            }
            if kind == .symbol(.rightBrace) { depth -= 1 }
            position += 1
        }
        let everyArmHasAnAmount = arms.allSatisfy { $0.verbIndex >= 0 && $0.verbIndex + 1 < $0.end }
        guard let closeIndex, verbs.count == 1, let verb = verbs.first, everyArmHasAnAmount, !arms.isEmpty else {
            let help = verbs.count > 1
                ? "a rule's actions are the same every time it fires; to do different things, write one rule per case (`when customer.tier == VIP then …`)"
                : "for example `\(example)`"
            return phrasing(message, at: caseToken.span, label: "not an action", help: help)
        }
        var fixed = "\(verb) \(sourceText(caseToken.span.start, tokens[braceIndex].span.end))"
        for (number, arm) in arms.enumerated() {
            let pattern = sourceText(tokens[arm.patternStart].span.start, tokens[arm.verbIndex - 1].span.end)
            let amount = sourceText(tokens[arm.verbIndex + 1].span.start, tokens[arm.end - 1].span.end)
            fixed += (number == 0 ? " " : ", ") + "\(pattern) \(amount)"
        }
        fixed += " }"
        let span = Span(start: caseToken.span.start, end: tokens[closeIndex].span.end)
        return phrasing(message, at: caseToken.span, label: "write `\(verb) case …`", help: "choose the amount: `\(fixed)`",
                        fix: (span, fixed))
    }

    /// After an action's argument: `min 5 EUR max 25 EUR`, `up to 25 EUR`, `and send apology`.
    mutating func phrasingAfterArgument(_ argument: Expression, verb: Identifier) throws(Failure) {
        let word = lowered(current)
        let argumentText = sourceText(argument.span.start, argument.span.end)
        // Bounds written as words after the amount.
        func bound(at start: Int) -> (kind: String, valueStart: Int, valueEnd: Int)? {
            let lowerWords: [[String]] = [["minimum", "of"], ["minimum"], ["min"], ["at", "least"], ["no", "less", "than"]]
            let upperWords: [[String]] = [["maximum", "of"], ["maximum"], ["max"], ["at", "most"], ["up", "to"], ["capped", "at"],
                                          ["no", "more", "than"], ["not", "more", "than"]]
            var position = start
            if position < tokens.count, [.symbol(.comma), .keyword(.and)].contains(tokens[position].kind) || lowered(tokens[position]) == "but" {
                position += 1
            }
            for (kind, phrases) in [("min", lowerWords), ("max", upperWords)] {
                for phrase in phrases where matches(phrase, at: position) {
                    let valueStart = position + phrase.count
                    if let valueEnd = simpleValueEnd(at: valueStart) { return (kind, valueStart, valueEnd) }
                }
            }
            return nil
        }
        if ["min", "max", "minimum", "maximum", "at", "up", "capped", "but", "no", "not"].contains(word), let first = bound(at: index) {
            var low: String? = nil, high: String? = nil
            var end = first.valueEnd
            func value(_ b: (kind: String, valueStart: Int, valueEnd: Int)) -> String {
                sourceText(tokens[b.valueStart].span.start, tokens[b.valueEnd - 1].span.end)
            }
            if first.kind == "min" { low = value(first) } else { high = value(first) }
            if let second = bound(at: end), second.kind != first.kind {
                if second.kind == "min" { low = value(second) } else { high = value(second) }
                end = second.valueEnd
            }
            let fixed: String
            if let low, let high { fixed = "clamp(\(argumentText), \(low), \(high))" }
            else if let low { fixed = "max(\(argumentText), \(low))" }
            else { fixed = "min(\(argumentText), \(high!))" }
            let span = Span(start: argument.span.start, end: tokens[end - 1].span.end)
            let construct = low != nil && high != nil ? "`clamp(value, lowest, highest)`"
                : low != nil ? "`max(value, lowest)`" : "`min(value, highest)`"
            throw phrasing("a lowest or highest amount is written with \(construct)", at: Span(start: current.span.start, end: span.end),
                           label: "write `\(fixed)`", help: "`\(verb.name) \(fixed)`", fix: (span, fixed))
        }
        // `send apology and refund 5 EUR`: `and` read as part of the argument.
        if case .binary(.and, let left, let right) = argument.kind, case .name(let nextVerb) = right.kind,
           startsExpression(current) || current.kind == .name,
           let andIndex = tokenIndex(startingAt: left.span.end).map({ $0 }) ?? firstToken(after: left.span.end),
           tokens[andIndex].kind == .keyword(.and) {
            let span = Span(start: left.span.end, end: right.span.start)
            throw phrasing("actions are separated by commas, not `and`", at: tokens[andIndex].span, label: "write `,`",
                           help: "`\(verb.name) \(sourceText(left.span.start, left.span.end)), \(nextVerb.name) …`", fix: (span, ", "))
        }
    }

    func firstToken(after offset: Int) -> Int? {
        var low = 0, high = tokens.count - 1, found: Int? = nil
        while low <= high {
            let middle = (low + high) / 2
            if tokens[middle].span.start >= offset { found = middle; high = middle - 1 } else { low = middle + 1 }
        }
        return found
    }

    /// After an action's channel: `via customer.preferred_channel else email`.
    mutating func phrasingAfterChannel(_ channel: Expression) throws(Failure) {
        guard current.kind == .keyword(.else) || (current.kind == .name && ["otherwise", "default", "fallback"].contains(lowered(current))),
              let end = simpleValueEnd(at: index + 1) else { return }
        let span = Span(start: current.span.start, end: tokens[index].span.end)
        let fallback = sourceText(tokens[index + 1].span.start, tokens[end - 1].span.end)
        throw phrasing("a default is written with `??`", at: span, label: "write `??`",
                       help: "`\(sourceText(channel.span.start, channel.span.end)) ?? \(fallback)` uses \(fallback) when the first is missing",
                       fix: (span, "??"))
    }

    // MARK: - After a complete item or clause

    /// The token after a complete item cannot start another one. Returns a failure when the
    /// token is a recognised phrasing for the part just read.
    mutating func phrasingAfterItem() -> Failure? {
        let next = current
        let following = token(1)
        if let keyword = capitalisedKeyword(next) { return capitalisedKeywordFailure(next, keyword) }
        if Phrasing.whenWords.contains(lowered(next)), next.kind == .name {
            if section == .item {
                return phrasing("a rule's condition starts with `when`, not `\(text(of: next))`", at: next.span, label: "write `when`",
                                help: "for example `when shipment.delay > 2d then refund 5 EUR`", fix: (next.span, "when"))
            }
            if section == .actions || section == .limit || section == .cap || section == .active || section == .rollout || section == .exclusive {
                return conditionAfterActionsFailure(next.span)
            }
        }
        switch section {
        case .actions:
            if next.kind == .keyword(.else) {
                return phrasing("a rule has no `else`", at: next.span, label: "not part of a rule",
                                help: "write a second rule with the opposite condition, or choose an amount with `case`: `refund case { shipment.delay > 5d -> 10 EUR, else -> 5 EUR }`")
            }
            if next.kind == .keyword(.and), following.kind == .name {
                return phrasing("actions are separated by commas, not `and`", at: next.span, label: "write `,`",
                                help: "for example `then refund 5 EUR, send apology`",
                                fix: (Span(start: tokens[index - 1].span.end, end: following.span.start), ", "))
            }
            if next.kind == .keyword(.by) || (next.kind == .name && Phrasing.channelWords.contains(lowered(next))),
               following.kind == .name, sameLine(next, following) {
                return phrasing("the channel of an action is given with `via`", at: next.span, label: "write `via`",
                                help: "for example `send apology via \(text(of: following))`", fix: (next.span, "via"))
            }
        case .limit, .cap, .group:
            let clause = section == .cap ? "cap" : section == .group ? "group" : "limit"
            let windowStart = following.kind == .name && lowered(following) == "the" ? index + 2 : index + 1
            // `per 30d`, `every 30d`, `in 30 days`: a window.
            if next.kind == .keyword(.per) || next.kind == .keyword(.in) || (next.kind == .name && Phrasing.windowWords.contains(lowered(next)))
                || next.kind == .keyword(.within) {
                let window = tokens[min(windowStart, tokens.count - 1)]
                if window.kind == .duration, next.kind != .keyword(.within) {
                    return phrasing("a window is written with `within`: `within \(text(of: window))`", at: next.span, label: "write `within`",
                                    help: "`within \(text(of: window))` counts the \(text(of: window)) up to each decision",
                                    fix: (Span(start: next.span.start, end: window.span.start), "within "))
                }
                if window.kind == .name, let unit = ["day": "1d", "week": "7d", "month": "30d", "year": "365d"][lowered(window)] {
                    return phrasing("a window is written with `within` and a duration", at: Span(start: next.span.start, end: window.span.end),
                                    label: "write `within \(unit)`",
                                    help: "for example `within \(unit)`: the \(unit) up to each decision (a sliding window, not a calendar \(lowered(window)))")
                }
                let unitToken = tokens[min(windowStart + 1, tokens.count - 1)]
                if window.kind == .number, unitToken.kind == .name, sameLine(window, unitToken),
                   let unit = Phrasing.durationUnits[lowered(unitToken)], let duration = Phrasing.duration(text(of: window), unit: unit) {
                    let span = Span(start: next.span.start, end: unitToken.span.end)
                    return phrasing("a window is written with `within` and a duration: `within \(duration)`", at: span,
                                    label: "write `within \(duration)`",
                                    help: "`within \(duration)` counts the \(duration) up to each decision; durations are a number and a unit: `36h`, `30d`, `2w`",
                                    fix: (span, "within \(duration)"))
                }
                if window.kind == .number, let failure = numberWithWordFailure(window, unitToken) {
                    return failure
                }
                if next.kind == .keyword(.per), following.kind == .name {
                    return twoKeysFailure(clause)
                }
            }
            if next.kind == .keyword(.and) || next.kind == .symbol(.comma), following.kind == .name, section != .group {
                return twoKeysFailure(clause)
            }
        case .active:
            if (next.kind == .name || next.kind == .keyword(.and)) && Phrasing.untilWords.contains(lowered(next)) || next.kind == .symbol(.minus),
               following.kind == .date || following.kind == .timestamp {
                return phrasing("the end of an `active` period is written with `until`", at: next.span, label: "write `until`",
                                help: "for example `active from 2026-11-23 until 2026-11-30` (both days included)", fix: (next.span, "until"))
            }
        default:
            break
        }
        return nil
    }

    /// `then refund 5 EUR if customer.tier == VIP`: the condition after the actions.
    mutating func conditionAfterActionsFailure(_ span: Span) -> Failure {
        phrasing("the condition of a rule comes before its actions", at: span, label: "a condition after the actions",
                 help: "write `when CONDITION then ACTIONS`, for example `when customer.tier == VIP then refund 5 EUR`")
    }

    mutating func twoKeysFailure(_ clause: String) -> Failure {
        phrasing("a `\(clause)` is counted per one key", at: current.span, label: "a second key",
                 help: "write one clause per key, for example `\(clause == "cap" ? "cap 40 EUR" : "limit 1") per customer` and `\(clause == "cap" ? "cap 40 EUR" : "limit 1") per order` (one order belongs to one customer, so `per order` already counts each customer's order)")
    }

    // MARK: - Rules without `then`

    /// `parseRule` expected `then` (or an earlier clause) at `current`.
    mutating func phrasingBeforeThen(ruleStart: Int) -> Failure? {
        let next = current
        // `then refund 5 EUR when customer.tier == VIP`: read as a second rule without actions.
        if ruleStart > 0, tokens[ruleStart].kind == .keyword(.when), next.kind == .endOfFile || startsNewLine(next),
           sameLine(tokens[ruleStart - 1], tokens[ruleStart]), tokens[..<ruleStart].contains(where: { $0.kind == .keyword(.then) }) {
            return conditionAfterActionsFailure(tokens[ruleStart].span)
        }
        if next.kind == .name, Phrasing.whenWords.contains(lowered(next)) || lowered(next) == "when" {
            return phrasing("a rule's condition starts with `when`, not `\(text(of: next))`", at: next.span, label: "write `when`",
                            help: "for example `when shipment.delay > 2d then refund 5 EUR`", fix: (next.span, "when"))
        }
        if next.kind == .keyword(.where) {
            return phrasing("a rule's condition starts with `when`; `where` filters the events of `count`, `sum` and `share`",
                            at: next.span, label: "write `when`", help: "for example `when shipment.delay > 2d then refund 5 EUR`",
                            fix: (next.span, "when"))
        }
        if next.kind == .name, Phrasing.thenWords.contains(lowered(next)) {
            return phrasing("the actions of a rule start with `then`, not `\(text(of: next))`", at: next.span, label: "write `then`",
                            help: "for example `when shipment.delay > 2d then refund 5 EUR`", fix: (next.span, "then"))
        }
        if next.kind == .symbol(.comma), token(1).kind == .keyword(.then) {
            return phrasing("no comma before `then`", at: next.span, label: "remove this comma",
                            help: "for example `when shipment.delay > 2d then refund 5 EUR`",
                            fix: (Span(start: tokens[index - 1].span.end, end: next.span.end), ""))
        }
        if section == .triggers, next.kind == .keyword(.or) || next.kind == .keyword(.and), token(1).kind == .name {
            return phrasing("several triggers are separated by commas", at: next.span, label: "write `,`",
                            help: "for example `on shipment.delivered, shipment.lost`: the rule runs on each of them",
                            fix: (Span(start: tokens[index - 1].span.end, end: token(1).span.start), ", "))
        }
        return nil
    }

    // MARK: - Policy values

    /// `limit once per customer`.
    mutating func phrasingAtLimitCount() -> Failure? {
        if current.kind == .name, let number = Phrasing.countWords[lowered(current)] {
            return phrasing("the count of a limit is written in digits: `limit \(number)`", at: current.span, label: "write `\(number)`",
                            help: "for example `limit \(number) per customer within 30d`", fix: (current.span, number))
        }
        if current.kind == .name, lowered(current) == "to", token(1).kind == .number {
            let span = Span(start: current.span.start, end: token(1).span.start)
            return phrasing("a limit is written `limit \(text(of: token(1))) per …`, without `to`", at: current.span, label: "remove `to`",
                            help: "for example `limit \(text(of: token(1))) per customer within 30d`", fix: (span, ""))
        }
        return nil
    }

    /// `active between 2026-11-23 and 2026-11-30`, `active 2026-11-23 to 2026-11-30`, `active on 2026-11-27`.
    mutating func phrasingAfterActive() -> Failure? {
        let example = "active from 2026-11-23 until 2026-11-30"
        func isInstant(_ token: Token) -> Bool { token.kind == .date || token.kind == .timestamp }
        let first = current
        var start = index
        if (first.kind == .name && lowered(first) == "between") || first.kind == .keyword(.on) { start += 1 }
        guard start < tokens.count, isInstant(tokens[start]) else { return nil }
        let from = text(of: tokens[start])
        if first.kind == .keyword(.on) {
            let span = Span(start: first.span.start, end: tokens[start].span.end)
            // Past the date, so that `on` is not taken for the start of a new rule.
            index = start + 1
            return phrasing("one day is written `active from \(from) until \(from)`", at: first.span, label: "write `from … until …`",
                            help: "`active from \(from) until \(from)` is that whole day (UTC)", fix: (span, "from \(from) until \(from)"))
        }
        let connector = tokens[min(start + 1, tokens.count - 1)]
        let endToken = tokens[min(start + 2, tokens.count - 1)]
        if connector.kind == .keyword(.until) {
            return phrasing("an `active` period starts with `from`", at: first.span, label: "write `from`",
                            help: "for example `\(example)`", fix: (Span(start: first.span.start, end: tokens[start].span.start), "from "))
        }
        if (connector.kind == .name || connector.kind == .keyword(.and)) && Phrasing.untilWords.contains(lowered(connector))
            || connector.kind == .symbol(.minus), isInstant(endToken) {
            let until = text(of: endToken)
            let span = Span(start: first.span.start, end: endToken.span.end)
            return phrasing("an `active` period is written `from … until …`", at: Span(start: first.span.start, end: endToken.span.end),
                            label: "write `from \(from) until \(until)`",
                            help: "`active from \(from) until \(until)` (both days included)", fix: (span, "from \(from) until \(until)"))
        }
        return phrasing("an `active` period is written `from … until …`", at: first.span, label: "write `from`",
                        help: "for example `\(example)`", fix: (Span(start: first.span.start, end: tokens[start].span.start), "from "))
    }

    /// A date written another way: `23.11.2026`, `11/23/2026`, `23/11/2026`.
    mutating func phrasingAtInstant() -> Failure? {
        guard current.kind == .number else { return nil }
        var end = index
        while end + 1 < tokens.count, adjacent(tokens[end], tokens[end + 1]),
              [.number, .symbol(.slash), .symbol(.dot), .symbol(.minus)].contains(tokens[end + 1].kind) { end += 1 }
        let span = Span(start: current.span.start, end: tokens[end].span.end)
        let written = sourceText(span.start, span.end)
        let parts = written.split(whereSeparator: { $0 == "." || $0 == "/" || $0 == "-" }).map(String.init)
        let help = "write dates as year-month-day: `2026-11-23`"
        guard parts.count == 3, let a = Int(parts[0]), let b = Int(parts[1]), let year = Int(parts[2]), parts[2].count == 4 else {
            return phrasing("dates are written `YYYY-MM-DD`", at: span, label: "not a date", help: help)
        }
        let (day, month): (Int, Int)
        if written.contains("."), b <= 12 { (day, month) = (a, b) }            // 23.11.2026: day first
        else if a > 12, b <= 12 { (day, month) = (a, b) }
        else if b > 12, a <= 12 { (day, month) = (b, a) }
        else {
            return phrasing("dates are written `YYYY-MM-DD`", at: span, label: "day and month could be either way round",
                            help: "write `\(year)-\(pad(b))-\(pad(a))` or `\(year)-\(pad(a))-\(pad(b))`, whichever is meant")
        }
        let fixed = "\(year)-\(pad(month))-\(pad(day))"
        return phrasing("dates are written `YYYY-MM-DD`: `\(fixed)`", at: span, label: "write `\(fixed)`", help: help, fix: (span, fixed))
    }

    /// Whether a line break comes before the token.
    func startsNewLine(_ token: Token) -> Bool {
        var offset = token.span.start - 1
        while offset >= 0 {
            let byte = source.bytes[offset]
            if byte == 0x0A { return true }
            if byte != 0x20 && byte != 0x09 && byte != 0x0D { return false }
            offset -= 1
        }
        return true
    }

    func pad(_ number: Int) -> String { number < 10 ? "0\(number)" : "\(number)" }

    // MARK: - Events

    /// `on shipment delivered`: the entity and the event without the dot.
    mutating func phrasingInEvent(_ entity: Identifier) -> Failure? {
        if current.kind == .name, sameLine(tokens[index - 1], current) {
            let span = Span(start: entity.span.start, end: current.span.end)
            let fixed = "\(entity.name).\(text(of: current))"
            return phrasing("an event type is written `entity.event`: `\(fixed)`", at: span, label: "write `\(fixed)`",
                            help: "event types are declared in the schema under `events:`, for example `shipment.delivered`",
                            fix: (span, fixed))
        }
        if let separator = [Symbol.minus, .slash].first(where: { current.kind == .symbol($0) }), adjacent(tokens[index - 1], current),
           token(1).kind == .name, adjacent(current, token(1)) {
            let span = Span(start: entity.span.start, end: token(1).span.end)
            let fixed = "\(entity.name).\(text(of: token(1)))"
            return phrasing("an event type is written `entity.event`: `\(fixed)`", at: span, label: "write `\(fixed)`",
                            help: "`\(separator.rawValue)` does not separate the entity from the event; `.` does", fix: (span, fixed))
        }
        return phrasing("an event type is written `entity.event`, for example `shipment.delivered`", at: current.kind == .endOfFile ? entity.span : current.span,
                        label: "expected `.` and the event",
                        help: "event types are declared in the schema under `events:`; `\(entity.name)` alone is not one")
    }

    // MARK: - Lexical problems

    /// Rewrites the lexer's messages where the character is a known phrasing (`5€`, `2days`,
    /// `≠`), adding the fix, and notes numbers whose unit the lexer could not read so that the
    /// parser drops the item rather than read a plain number (and report it a second time).
    mutating func refineLexicalDiagnostics() {
        for (position, diagnostic) in lexical.enumerated() {
            let span = diagnostic.span
            let written = sourceText(span.start, span.end)
            switch diagnostic.code {
            case .unexpectedCharacter:
                if let refined = refineCharacter(diagnostic, written) { lexical[position] = refined }
            case .malformedLiteral:
                if let refined = refineUnit(diagnostic, written) { lexical[position] = refined }
            default:
                break
            }
        }
    }

    func withFix(_ diagnostic: Diagnostic, message: String? = nil, label: String? = nil, help: String? = nil, span: Span? = nil,
                 replacement: String?) -> Diagnostic {
        var refined = diagnostic
        if let message { refined.message = message }
        if let label { refined.primary.message = label }
        if let span { refined.primary.span = span }
        if let help { refined.help = help }
        if let replacement { refined.fix = Edit(file: source.path, span: span ?? diagnostic.span, replacement: replacement) }
        return refined
    }

    mutating func refineCharacter(_ diagnostic: Diagnostic, _ written: String) -> Diagnostic? {
        let span = diagnostic.span
        switch written {
        case "&&": return withFix(diagnostic, replacement: "and")
        case "||": return withFix(diagnostic, replacement: "or")
        case "&": return withFix(diagnostic, label: "write `and`", replacement: "and")
        case "≠": return withFix(diagnostic, message: "`≠` is written `!=`", label: "write `!=`", help: "the comparisons are `==`, `!=`, `<`, `<=`, `>`, `>=`", replacement: "!=")
        case "≤": return withFix(diagnostic, message: "`≤` is written `<=`", label: "write `<=`", help: "the comparisons are `==`, `!=`, `<`, `<=`, `>`, `>=`", replacement: "<=")
        case "≥": return withFix(diagnostic, message: "`≥` is written `>=`", label: "write `>=`", help: "the comparisons are `==`, `!=`, `<`, `<=`, `>`, `>=`", replacement: ">=")
        case "→": return withFix(diagnostic, label: "write `->`", replacement: "->")
        case "!":
            let after = span.end < source.bytes.count ? source.bytes[span.end] : 0
            return withFix(diagnostic, message: "`!` is written `not`", label: "write `not`",
                           help: "negate a condition with `not`: `not customer.sms_opt_in`; `!=` means \"not equal\"",
                           replacement: after == 0x20 ? "not" : "not ")
        case "€", "$", "£", "%":
            // A currency sign or `%` next to a number (spaces between allowed).
            let numberIndex = tokens.lastIndex(where: { $0.kind == .number && $0.span.end <= span.start
                && source.bytes[$0.span.end..<span.start].allSatisfy { $0 == 0x20 } })
            let before = numberIndex.flatMap { i -> Int? in
                tokens[i].span.end == span.start || (source.bytes[tokens[i].span.end..<span.start].allSatisfy { $0 == 0x20 } && i + 1 < tokens.count && tokens[i + 1].span.start >= span.end) ? i : nil
            }
            let afterIndex = written == "%" ? nil : tokens.firstIndex(where: { $0.span.start >= span.end })
                .flatMap { tokens[$0].kind == .number && source.bytes[span.end..<tokens[$0].span.start].allSatisfy { $0 == 0x20 } ? $0 : nil }
            guard let numberIndex = before ?? afterIndex else { return nil }
            var number = tokens[numberIndex]
            droppedNumbers.insert(number.span.start)
            // `5,00 €`: a decimal comma before.
            var amount = text(of: number)
            if numberIndex >= 2, tokens[numberIndex - 1].kind == .symbol(.comma), tokens[numberIndex - 2].kind == .number,
               adjacent(tokens[numberIndex - 2], tokens[numberIndex - 1]), adjacent(tokens[numberIndex - 1], number) {
                amount = "\(text(of: tokens[numberIndex - 2])).\(amount)"
                droppedNumbers.insert(tokens[numberIndex - 2].span.start)
                number = Token(kind: .number, span: tokens[numberIndex - 2].span.union(number.span))
            }
            let whole = span.union(number.span)
            if written == "%" {
                return withFix(diagnostic, message: "percentages are written `\(amount)%`, without a space", label: "write `\(amount)%`",
                               help: "write `%` right after the number: `\(amount)%`", span: whole, replacement: "\(amount)%")
            }
            let code = Phrasing.currencyWords[written] ?? "EUR"
            return withFix(diagnostic, message: "amounts of money are written `\(amount) \(code)`", label: "write `\(amount) \(code)`",
                           help: "a number and a three-letter currency code in capitals: `5 EUR`, `4.99 EUR`",
                           span: whole, replacement: "\(amount) \(code)")
        default:
            return nil
        }
    }

    func refineUnit(_ diagnostic: Diagnostic, _ written: String) -> Diagnostic? {
        let digits = written.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let word = written.dropFirst(digits.count).lowercased()
        guard !digits.isEmpty, !word.isEmpty else { return nil }
        if let unit = Phrasing.durationUnits[word] {
            guard let duration = Phrasing.duration(String(digits), unit: unit) else { return nil }
            if duration == written { return nil }
            return withFix(diagnostic, message: "`\(written)` is written `\(duration)` in Redress", label: "write `\(duration)`",
                           help: "a duration is a whole number and a unit: `500ms`, `30s`, `90m`, `36h`, `3d`, `2w`", replacement: duration)
        }
        if let code = Phrasing.currencyWords[word] {
            return withFix(diagnostic, message: "amounts of money are written `\(digits) \(code)`", label: "write `\(digits) \(code)`",
                           help: "a number and a three-letter currency code in capitals: `5 EUR`, `4.99 EUR`", replacement: "\(digits) \(code)")
        }
        if Phrasing.percentWords.contains(word) {
            return withFix(diagnostic, message: "percentages are written `\(digits)%`", label: "write `\(digits)%`",
                           help: "write `%` right after the number", replacement: "\(digits)%")
        }
        if let calendar = Phrasing.calendarUnits[word] {
            let count = Int(digits) ?? 1
            return withFix(diagnostic, message: "Redress has no \(calendar.name)s: durations are counted in days or weeks",
                           label: "no \(calendar.name) unit",
                           help: "write the days, for example `\(count * calendar.days)d` (a window of that many days up to each event)", replacement: nil)
        }
        return nil
    }
}
