import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressSyntax

/// A rule test file (`*.test.yaml`) after reading: its cases, each with the events it feeds
/// the engine and the decisions it expects. The format is described in docs/testing.md.
///
/// What the short form of a file (`rules:`, `start:`, `defaults:`, `fixtures:` above `tests:`)
/// says is applied while reading: its cases carry their own focus, and their events are
/// complete, with relative times, fixtures and generated ids resolved.
public struct RuleTestFile: Sendable {
    public var path: String
    public var source: SourceFile
    public var cases: [RuleTestCase]
}

public struct RuleTestCase: Sendable {
    public var name: String
    public var description: String?
    /// The line of the case's `name:` (where a failure points).
    public var line: Int
    /// `given: events:` — fed to the engine first; their decisions are discarded.
    public var history: [TestEvent]
    /// `given: decisions:` — recorded as made before the first event, so limits, caps and groups apply.
    public var earlierDecisions: [EarlierDecision]
    public var events: [TestEvent]
    /// `until:` — the clock is advanced to this time after the last event: deadlines before it fire.
    public var until: Int64?
    public var expected: [ExpectedDecision]
    /// The names of the rules the case is about (in rule-set order): those of `rules:` (of the
    /// case, else of the file) and every rule its `expect` names. Decisions of other rules are
    /// ignored. nil: the case is about every rule, so every decision must be expected.
    public var focus: [String]? = nil
}

/// An event of a test, read by the production event reader.
public struct TestEvent: Sendable {
    public var event: Event
    /// The YAML line (inline events) or the line of the events file.
    public var line: Int
}

/// A decision the engine made before the test starts (`given: decisions:`).
public struct EarlierDecision: Sendable {
    public var rule: Int
    public var time: Int64
    /// Key values by policy key text (`customer`, `order`, `customer.country`) and by subject entity.
    public var keys: [String: String]
    public var actions: [ExpectedAction]
    public var line: Int
}

public struct ExpectedDecision: Sendable, Equatable {
    public var rule: String
    public var subject: String?
    public var customer: String?
    /// The decision's time as written (compared as an instant).
    public var time: String?
    /// nil: any actions; otherwise exactly these, in order.
    public var actions: [ExpectedAction]?
    public var line: Int
    /// `none: true`: no decision like this one may be made (of this rule, and of this subject,
    /// customer, time or actions where written). Not matched by position.
    public var absent: Bool = false
}

/// One expected action: `refund 5 EUR`, `send apology via email`, or the same as a map.
/// Verb, amount and argument are always compared; the channel only when written.
public struct ExpectedAction: Sendable, Equatable {
    public var verb: String
    public var amount: String?
    public var argument: String?
    public var channel: String?

    public init(verb: String, amount: String? = nil, argument: String? = nil, channel: String? = nil) {
        self.verb = verb
        self.amount = amount
        self.argument = argument
        self.channel = channel
    }

    /// `refund 5 EUR`, `send apology via email`: the form tests are written in.
    public var text: String {
        [verb, amount, argument, channel.map { "via \($0)" }].compactMap { $0 }.joined(separator: " ")
    }

    /// Reads the one-line form: `VERB [AMOUNT | ARGUMENT] [via CHANNEL]`. An amount starts with a
    /// digit or a sign (`5 EUR`, `4.99 EUR`, `300`, `2.5%`); anything else is an argument.
    public static func parse(_ text: String) -> ExpectedAction? {
        var words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let verb = words.first, !verb.isEmpty else { return nil }
        words.removeFirst()
        var channel: String? = nil
        if let via = words.firstIndex(of: "via") {
            guard via == words.count - 2 else { return nil }
            channel = words[via + 1]
            words.removeSubrange(via...)
        }
        var action = ExpectedAction(verb: verb, channel: channel)
        if let first = words.first {
            let amountLike = first.first.map { $0.isNumber || $0 == "-" || $0 == "+" } ?? false
            if amountLike {
                guard words.count <= 2 else { return nil }
                action.amount = words.joined(separator: " ")
            } else {
                guard words.count == 1 else { return nil }
                action.argument = first
            }
        }
        return action
    }

    /// Whether an action the engine decided is this one. Amounts compare as exact decimals, so
    /// `5 EUR` matches `5.00 EUR`.
    public func matches(_ action: Decision.Action) -> Bool {
        guard verb == action.verb, argument == action.argument else { return false }
        switch (amount, action.amount) {
        case (nil, nil): break
        case (let a?, let b?): if Amount.canonical(a) != Amount.canonical(b) { return false }
        default: return false
        }
        if let channel, channel != action.channel { return false }
        return true
    }
}

/// Exact comparison and reading of written amounts, without binary floating point.
public enum Amount {
    /// `5.00 EUR` → `5 EUR`, `2.50%` → `2.5%`, `0300` → `300`: the same number written one way.
    public static func canonical(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var characters = Substring(trimmed)
        var sign = ""
        if characters.first == "-" || characters.first == "+" {
            sign = characters.first == "-" ? "-" : ""
            characters = characters.dropFirst()
        }
        let whole = characters.prefix(while: \.isNumber)
        guard !whole.isEmpty else { return trimmed }
        characters = characters.dropFirst(whole.count)
        var fraction = Substring("")
        if characters.first == "." {
            fraction = characters.dropFirst().prefix(while: \.isNumber)
            characters = characters.dropFirst(fraction.count + 1)
        }
        let unit = characters.trimmingCharacters(in: .whitespaces)
        var integer = String(whole.drop { $0 == "0" })
        if integer.isEmpty { integer = "0" }
        var decimals = String(fraction)
        while decimals.hasSuffix("0") { decimals.removeLast() }
        if integer == "0" && decimals.isEmpty { sign = "" }
        let number = sign + integer + (decimals.isEmpty ? "" : "." + decimals)
        if unit.isEmpty { return number }
        return unit == "%" ? number + "%" : number + " " + unit
    }

    /// Money as minor units of one of the program's currencies: `5 EUR` → (500, EUR's index).
    /// nil when the text is not money, the currency is unknown or it has too many decimals.
    public static func money(_ text: String, program: Program) -> (minor: Int64, currency: Int32)? {
        let parts = canonical(text).split(separator: " ")
        guard parts.count == 2, let currency = program.currencies.firstIndex(where: { $0.code == parts[1] }) else { return nil }
        let places = program.currencies[currency].minorUnits
        var number = Substring(parts[0])
        let negative = number.first == "-"
        if negative { number = number.dropFirst() }
        let pieces = number.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count <= 2, let whole = Int64(pieces[0]) else { return nil }
        let fraction = pieces.count == 2 ? String(pieces[1]) : ""
        guard fraction.count <= places else { return nil }
        let padded = fraction + String(repeating: "0", count: places - fraction.count)
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: scale)
        guard !overflow, let minorPart = padded.isEmpty ? 0 : Int64(padded) else { return nil }
        let (minor, overflow2) = scaled.addingReportingOverflow(minorPart)
        guard !overflow2 else { return nil }
        return (negative ? -minor : minor, Int32(currency))
    }
}
