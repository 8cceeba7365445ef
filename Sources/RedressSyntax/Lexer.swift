/// Turns rule source into tokens and comments.
///
/// Hand-written over UTF-8 bytes rather than with regular expressions: `check` must handle
/// tens of thousands of rules in well under a second, and byte comparisons are the cheapest
/// way there. The token shapes and their priority follow the terminals of grammar/redress.lark
/// exactly (timestamp, date, money, percent, duration, number), so that the grammar and this
/// lexer accept the same texts. Errors are reported and skipped so that lexing never stops early.
public struct Lexer {
    private let source: SourceFile
    private let bytes: [UInt8]
    private var position = 0
    public private(set) var tokens: [Token] = []
    public private(set) var comments: [Comment] = []
    public private(set) var diagnostics: [Diagnostic] = []

    public static let durationUnits: Set<String> = ["ms", "s", "m", "h", "d", "w"]

    public init(source: SourceFile) {
        self.source = source
        self.bytes = source.bytes
    }

    public static func tokenize(_ source: SourceFile) -> (tokens: [Token], comments: [Comment], diagnostics: [Diagnostic]) {
        var lexer = Lexer(source: source)
        lexer.run()
        return (lexer.tokens, lexer.comments, lexer.diagnostics)
    }

    private mutating func run() {
        tokens.reserveCapacity(bytes.count / 4)
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case 0x20, 0x09, 0x0D, 0x0A:
                position += 1
            case UInt8(ascii: "#"):
                let start = position
                while position < bytes.count, bytes[position] != 0x0A { position += 1 }
                comments.append(Comment(span: Span(start: start, end: position), text: text(start, position)))
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                lexNumberLike()
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
                lexName()
            case UInt8(ascii: "\""):
                lexString()
            default:
                lexSymbol()
            }
        }
        tokens.append(Token(kind: .endOfFile, span: Span(start: bytes.count, end: bytes.count)))
    }

    // MARK: - Pieces

    @inline(__always) private func at(_ offset: Int) -> UInt8 {
        offset < bytes.count ? bytes[offset] : 0
    }
    @inline(__always) private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    @inline(__always) private func isUpper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
    @inline(__always) private func isNameByte(_ b: UInt8) -> Bool {
        isDigit(b) || isUpper(b) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
    }
    private func text(_ start: Int, _ end: Int) -> String {
        String(decoding: bytes[start..<end], as: UTF8.self)
    }
    private func digits(from offset: Int, count: Int) -> Bool {
        (0..<count).allSatisfy { isDigit(at(offset + $0)) }
    }
    private mutating func emit(_ kind: TokenKind, _ start: Int, _ end: Int) {
        tokens.append(Token(kind: kind, span: Span(start: start, end: end)))
        position = end
    }
    private mutating func report(_ code: DiagnosticCode, _ message: String, _ start: Int, _ end: Int,
                                 label: String = "", help: String? = nil) {
        diagnostics.append(Diagnostic(code, message, at: Label(file: source.path, span: Span(start: start, end: end), message: label), help: help))
    }

    private mutating func lexName() {
        let start = position
        var end = position
        while end < bytes.count, isNameByte(bytes[end]) { end += 1 }
        let word = text(start, end)
        if let keyword = Keyword(rawValue: word) {
            emit(.keyword(keyword), start, end)
        } else {
            emit(.name, start, end)
        }
    }

    /// Length of `dddd-dd-dd` at `offset`, or nil.
    private func dateShape(at offset: Int) -> Bool {
        digits(from: offset, count: 4) && at(offset + 4) == 0x2D && digits(from: offset + 5, count: 2)
            && at(offset + 7) == 0x2D && digits(from: offset + 8, count: 2)
    }

    /// End of `THH:MM[:SS](Z|+HH:MM|-HH:MM)` starting at `offset` (the `T`), or nil.
    private func timeShapeEnd(at offset: Int) -> Int? {
        guard at(offset) == UInt8(ascii: "T"), digits(from: offset + 1, count: 2), at(offset + 3) == 0x3A,
              digits(from: offset + 4, count: 2) else { return nil }
        var end = offset + 6
        if at(end) == 0x3A, digits(from: end + 1, count: 2) { end += 3 }
        if at(end) == UInt8(ascii: "Z") { return end + 1 }
        if at(end) == 0x2B || at(end) == 0x2D, digits(from: end + 1, count: 2), at(end + 3) == 0x3A,
           digits(from: end + 4, count: 2) {
            return end + 6
        }
        return nil
    }

    private mutating func lexNumberLike() {
        let start = position
        if dateShape(at: start) {
            if let end = timeShapeEnd(at: start + 10) {
                emit(.timestamp, start, end)
                return
            }
            if !isNameByte(at(start + 10)) {
                emit(.date, start, start + 10)
                return
            }
            if at(start + 10) == UInt8(ascii: "T") {
                var end = start + 10
                while end < bytes.count, isNameByte(bytes[end]) || bytes[end] == 0x3A || bytes[end] == 0x2B { end += 1 }
                report(.malformedLiteral, "malformed timestamp `\(text(start, end))`", start, end,
                       label: "expected `YYYY-MM-DDTHH:MM[:SS]` and a zone",
                       help: "end the timestamp with a zone: `Z` for UTC or an offset such as `+01:00`")
                emit(.timestamp, start, end)
                return
            }
        }
        var end = start
        while isDigit(at(end)) { end += 1 }
        let integerEnd = end
        if at(end) == 0x2E, isDigit(at(end + 1)) {
            end += 1
            while isDigit(at(end)) { end += 1 }
        }
        let numberEnd = end
        // Money: the number, optional spaces or tabs, then exactly three capital letters.
        var letters = numberEnd
        while at(letters) == 0x20 || at(letters) == 0x09 { letters += 1 }
        if isUpper(at(letters)), isUpper(at(letters + 1)), isUpper(at(letters + 2)), !isNameByte(at(letters + 3)) {
            emit(.money, start, letters + 3)
            return
        }
        if at(numberEnd) == UInt8(ascii: "%") {
            emit(.percent, start, numberEnd + 1)
            return
        }
        if isNameByte(at(numberEnd)) {
            var wordEnd = numberEnd
            while isNameByte(at(wordEnd)) { wordEnd += 1 }
            let unit = text(numberEnd, wordEnd)
            // `limit 10per order` is valid: a keyword may follow a number directly.
            if Keyword(rawValue: unit) != nil {
                emit(.number, start, numberEnd)
                return
            }
            if integerEnd == numberEnd, Lexer.durationUnits.contains(unit) {
                emit(.duration, start, wordEnd)
                return
            }
            if integerEnd != numberEnd, Lexer.durationUnits.contains(unit) {
                report(.malformedLiteral, "a duration must be a whole number", start, wordEnd,
                       label: "fractional duration",
                       help: "use a smaller unit, for example `90m` instead of `1.5h`")
            } else {
                report(.malformedLiteral, "unknown unit `\(unit)` after a number", start, wordEnd,
                       label: "not a duration unit or currency",
                       help: "durations use ms, s, m, h, d or w (`2d`); money uses a three-letter currency code (`5 EUR`)")
            }
            emit(.duration, start, wordEnd)
            return
        }
        emit(.number, start, numberEnd)
    }

    private mutating func lexString() {
        let start = position
        var end = position + 1
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") {
                emit(.string, start, end + 1)
                return
            }
            if byte == 0x0A { break }
            if byte == UInt8(ascii: "\\") {
                let next = at(end + 1)
                if next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") || next == UInt8(ascii: "n") || next == UInt8(ascii: "t") {
                    end += 2
                    continue
                }
                let escapeEnd = next == 0x0A || end + 1 >= bytes.count ? end + 1 : end + 2
                report(.malformedLiteral, "unknown escape in string", end, escapeEnd,
                       label: "not an escape", help: "strings know the escapes \\\", \\\\, \\n and \\t")
                end = escapeEnd
                continue
            }
            end += 1
        }
        report(.unterminatedString, "this string is never closed", start, end,
               label: "missing `\"`", help: "end the string with `\"` on the same line")
        emit(.string, start, end)
    }

    private mutating func lexSymbol() {
        let start = position
        let first = bytes[start], second = at(start + 1)
        let two: Symbol? = switch (first, second) {
        case (UInt8(ascii: "-"), UInt8(ascii: ">")): .arrow
        case (UInt8(ascii: "?"), UInt8(ascii: "?")): .coalesce
        case (UInt8(ascii: "="), UInt8(ascii: "=")): .equal
        case (UInt8(ascii: "!"), UInt8(ascii: "=")): .notEqual
        case (UInt8(ascii: "<"), UInt8(ascii: "=")): .lessEqual
        case (UInt8(ascii: ">"), UInt8(ascii: "=")): .greaterEqual
        default: nil
        }
        if let two {
            emit(.symbol(two), start, start + 2)
            return
        }
        let one: Symbol? = switch first {
        case UInt8(ascii: "("): .leftParen
        case UInt8(ascii: ")"): .rightParen
        case UInt8(ascii: "["): .leftBracket
        case UInt8(ascii: "]"): .rightBracket
        case UInt8(ascii: "{"): .leftBrace
        case UInt8(ascii: "}"): .rightBrace
        case UInt8(ascii: ","): .comma
        case UInt8(ascii: "."): .dot
        case UInt8(ascii: "|"): .bar
        case UInt8(ascii: "<"): .less
        case UInt8(ascii: ">"): .greater
        case UInt8(ascii: "+"): .plus
        case UInt8(ascii: "-"): .minus
        case UInt8(ascii: "*"): .star
        case UInt8(ascii: "/"): .slash
        case UInt8(ascii: "="): .assign
        default: nil
        }
        if let one {
            emit(.symbol(one), start, start + 1)
            return
        }
        // `&&` and `||` from other languages: say so, and read them as `and` / `or` so the
        // rest of the rule is still checked.
        if (first == UInt8(ascii: "&") || first == UInt8(ascii: "|")) && second == first {
            let word = first == UInt8(ascii: "&") ? "and" : "or"
            report(.unexpectedCharacter, "`\(text(start, start + 2))` is not an operator of the language", start, start + 2,
                   label: "write `\(word)`", help: "conditions are joined with `and` and `or`")
            emit(.keyword(word == "and" ? .and : .or), start, start + 2)
            return
        }
        // Skip one whole UTF-8 character so the message shows it intact.
        var end = start + 1
        while end < bytes.count, (bytes[end] & 0xC0) == 0x80 { end += 1 }
        let character = text(start, end)
        let shown = first < 0x20 || first == 0x7F ? "byte 0x\(String(first, radix: 16, uppercase: true))" : "`\(character)`"
        var help: String? = nil
        switch character {
        case "%": help = "write a percentage right after its number, without a space: `5%`"
        case "!": help = "write `not` for negation, and `!=` for inequality"
        case "&": help = "write `and` to combine conditions"
        case "'": help = "strings use double quotes: \"text\""
        case "→": help = "write the arrow as `->`"
        case ":": help = "table and case entries use `->`: `DE -> 2d`"
        default: if first >= 0x80 { help = "names use ASCII letters, digits and `_`; other characters belong in strings" }
        }
        report(.unexpectedCharacter, "unexpected character \(shown)", start, end, label: "not part of the language", help: help)
        position = end
    }
}
