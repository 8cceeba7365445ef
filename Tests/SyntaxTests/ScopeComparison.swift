import Foundation
import RedressSyntax

/// A token as the editor grammar colours it (editors/vscode/test/tokenize.js): UTF-8 byte offsets
/// into the file, and the scope stack from the outermost scope inwards.
struct ScopedToken: Decodable, Sendable {
    var start: Int
    var end: Int
    var scopes: [String]
}

struct TokenizedText: Decodable, Sendable {
    var file: String
    var tokens: [ScopedToken]
}

/// Where the editor grammar and the lexer disagree, with what a person needs to look at it.
struct ScopeDisagreement: CustomStringConvertible {
    var path: String
    var location: SourceLocation
    var text: String
    var expected: [String]
    var actual: [String]

    var description: String {
        let wanted = expected.isEmpty ? "no scope (the lexer reads no token here)" : expected.joined(separator: " or ")
        let got = actual.isEmpty ? "no scope" : actual.joined(separator: " ")
        return "\(path):\(location.line):\(location.column): \(text.debugDescription): expected \(wanted), got \(got)"
    }
}

/// The scope the editor grammar must give each token of the lexer. The scope compared is the
/// outermost one that says what the token is: `source.*` and `meta.*` (regions such as the
/// actions of a rule) say nothing about it, and the scopes inside it may only mark its parts —
/// the `"` of a string, an escape, the unit of an amount.
enum ExpectedScope {
    static let innerParts = ["punctuation.definition.", "constant.character.escape.", "invalid.illegal.escape.", "keyword.other.unit."]

    static func keyword(_ keyword: Keyword) -> String {
        switch keyword {
        case .rule, .param, .let, .table, .group, .policy: "keyword.other.declaration.redress"
        case .on, .unless, .when, .then, .via, .within, .by: "keyword.control.redress"
        case .limit, .cap, .per, .exclusive, .priority, .rollout, .active, .from, .until, .none: "keyword.other.policy.redress"
        case .and, .or, .not: "keyword.operator.logical.redress"
        case .in, .is, .missing, .present, .of: "keyword.operator.word.redress"
        case .case, .else, .where: "keyword.control.conditional.redress"
        case .true, .false: "constant.language.boolean.redress"
        }
    }

    static func symbol(_ symbol: Symbol) -> String {
        switch symbol {
        case .leftParen: "punctuation.section.parens.begin.redress"
        case .rightParen: "punctuation.section.parens.end.redress"
        case .leftBracket: "punctuation.section.brackets.begin.redress"
        case .rightBracket: "punctuation.section.brackets.end.redress"
        case .leftBrace: "punctuation.section.braces.begin.redress"
        case .rightBrace: "punctuation.section.braces.end.redress"
        case .comma: "punctuation.separator.comma.redress"
        case .dot: "punctuation.accessor.redress"
        case .bar: "punctuation.separator.pattern.redress"
        case .arrow: "keyword.operator.arrow.redress"
        case .coalesce: "keyword.operator.coalesce.redress"
        case .equal, .notEqual, .lessEqual, .greaterEqual, .less, .greater: "keyword.operator.comparison.redress"
        case .plus, .minus, .star, .slash: "keyword.operator.arithmetic.redress"
        case .assign: "keyword.operator.assignment.redress"
        }
    }

    /// What a name is, as far as a grammar that reads one token after another can tell.
    enum NameRole: String, CaseIterable {
        case rule = "entity.name.function.rule.redress"
        case parameter = "entity.name.variable.param.redress"
        case definition = "entity.name.variable.let.redress"
        case table = "entity.name.type.table.redress"
        case group = "entity.name.type.group.redress"
        case verb = "entity.name.function.action.redress"
        case call = "support.function.redress"
        case object = "variable.other.object.redress"
        case property = "variable.other.property.redress"
        case other = "variable.other.redress"
    }

    static let comment = "comment.line.number-sign.redress"

    static func token(_ token: Token, text: String, role: NameRole?) -> [String] {
        switch token.kind {
        case .name: role.map { [$0.rawValue] } ?? NameRole.allCases.map(\.rawValue)
        case .keyword(let keyword): [Self.keyword(keyword)]
        case .symbol(let symbol): [Self.symbol(symbol)]
        case .number: [text.contains(".") ? "constant.numeric.decimal.redress" : "constant.numeric.integer.redress"]
        case .money: ["constant.numeric.money.redress"]
        case .percent: ["constant.numeric.percent.redress"]
        case .duration: ["constant.numeric.duration.redress"]
        case .date: ["constant.numeric.date.redress"]
        case .timestamp: ["constant.numeric.timestamp.redress"]
        case .string: ["string.quoted.double.redress"]
        case .endOfFile: []
        }
    }
}

/// Compares the editor grammar's tokens of one text with the lexer's tokens and comments.
///
/// Names get the scope of their role when the file parses without errors (declared names and
/// action verbs from the syntax tree, fields, entities and calls from the tokens around them);
/// in a file with syntax errors any name scope will do, since a grammar cannot recover from an
/// error as the parser does. Where the lexer itself reports a malformed token or an unexpected
/// character, `invalid.illegal.*` is right too.
func compareScopes(path: String, text: String, tokens scoped: [ScopedToken]) -> [ScopeDisagreement] {
    let source = SourceFile(path: path, text: text)
    let lexed = Lexer.tokenize(source)
    let (tree, syntaxErrors) = Parser.parse(source)
    let roles = syntaxErrors.isEmpty ? nameRoles(tree, tokens: lexed.tokens, source: source) : [:]
    let malformed = lexed.diagnostics.map(\.span)
    func isMalformed(_ start: Int, _ end: Int) -> Bool {
        malformed.contains { $0.start < max(end, start + 1) && start < max($0.end, $0.start + 1) }
    }
    func slice(_ start: Int, _ end: Int) -> String {
        String(decoding: source.bytes[max(0, start)..<min(end, source.bytes.count)], as: UTF8.self)
    }

    struct Element {
        var start: Int
        var end: Int
        var expected: [String]
    }
    var elements = lexed.comments.map { Element(start: $0.span.start, end: $0.span.end, expected: [ExpectedScope.comment]) }
    for token in lexed.tokens where token.kind != .endOfFile {
        var expected = ExpectedScope.token(token, text: slice(token.span.start, token.span.end), role: roles[token.span.start])
        if isMalformed(token.span.start, token.span.end) { expected.append("invalid.illegal.*") }
        elements.append(Element(start: token.span.start, end: token.span.end, expected: expected))
    }
    elements.sort { $0.start < $1.start }

    var disagreements: [ScopeDisagreement] = []
    var reported: Set<Int> = []
    // Once per token (or blank): a string coloured wrongly is one disagreement, not three.
    func disagree(_ start: Int, _ end: Int, expected: [String], actual: [String]) {
        guard reported.insert(start).inserted else { return }
        disagreements.append(ScopeDisagreement(path: path, location: source.location(of: start), text: slice(start, end),
                                               expected: expected, actual: actual))
    }
    func accepts(_ expected: [String], _ scope: String) -> Bool {
        expected.contains { $0.hasSuffix("*") ? scope.hasPrefix($0.dropLast()) : scope == $0 }
    }

    // Every byte of every token must be covered, by pieces that lie inside that one token.
    var covered = Array(repeating: false, count: source.bytes.count)
    var elementIndex = 0
    for piece in scoped where piece.start < piece.end {
        let describing = piece.scopes.filter { !$0.hasPrefix("source.") && !$0.hasPrefix("meta.") }
        while elementIndex < elements.count, elements[elementIndex].end <= piece.start { elementIndex += 1 }
        let overlapping = elements[elementIndex...].prefix { $0.start < piece.end }
        guard let element = overlapping.first else {
            // Between tokens: only blanks, or a character the lexer rejects.
            if let outermost = describing.first, !(outermost.hasPrefix("invalid.illegal.") && isMalformed(piece.start, piece.end)) {
                disagree(piece.start, piece.end, expected: [], actual: piece.scopes)
            }
            continue
        }
        guard let outermost = describing.first else {
            disagree(element.start, element.end, expected: element.expected, actual: piece.scopes)
            continue
        }
        if overlapping.count > 1 || piece.start < element.start || piece.end > element.end {
            // One coloured piece across two tokens, or across a token and the blanks beside it.
            disagree(piece.start, piece.end, expected: element.expected, actual: piece.scopes)
            continue
        }
        if !accepts(element.expected, outermost)
            || !describing.dropFirst().allSatisfy({ inner in ExpectedScope.innerParts.contains { inner.hasPrefix($0) } }) {
            disagree(element.start, element.end, expected: element.expected, actual: piece.scopes)
            continue
        }
        for offset in piece.start..<piece.end { covered[offset] = true }
    }
    for element in elements where !(element.start..<element.end).allSatisfy({ covered[$0] }) {
        disagree(element.start, element.end, expected: element.expected, actual: [])
    }
    return disagreements.sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
}

/// The role of each name token that has one, by the token's start offset.
func nameRoles(_ tree: RuleFile, tokens: [Token], source: SourceFile) -> [Int: ExpectedScope.NameRole] {
    var roles: [Int: ExpectedScope.NameRole] = [:]
    for (index, token) in tokens.enumerated() where token.kind == .name {
        let previous = index > 0 ? tokens[index - 1].kind : nil
        let next = index + 1 < tokens.count ? tokens[index + 1] : nil
        // A TextMate match sees one line: `(` or `.` after a name counts only on the same line.
        let nextOnSameLine = next.map { source.location(of: $0.span.start).line == source.location(of: token.span.end).line } ?? false
        if previous == .symbol(.dot) {
            roles[token.span.start] = .property
        } else if nextOnSameLine, next?.kind == .symbol(.leftParen) {
            roles[token.span.start] = .call
        } else if nextOnSameLine, next?.kind == .symbol(.dot) {
            roles[token.span.start] = .object
        } else {
            roles[token.span.start] = .other
        }
    }
    for item in tree.items {
        switch item {
        case .rule(let rule):
            if let name = rule.name { roles[name.span.start] = .rule }
            for action in rule.actions { roles[action.verb.span.start] = .verb }
        case .parameter(let definition): roles[definition.name.span.start] = .parameter
        case .definition(let definition): roles[definition.name.span.start] = .definition
        case .table(let table): roles[table.name.span.start] = .table
        case .group(let group): roles[group.name.span.start] = .group
        case .policy: break
        }
    }
    return roles
}
