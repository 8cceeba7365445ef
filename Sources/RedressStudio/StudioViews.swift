import RedressEngine
import RedressLanguageServices
import RedressReview
import RedressSimulation

/// What a request could not do, with the HTTP status it answers with and a message for the page.
public struct StudioError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Int, Sendable {
        case badRequest = 400
        case forbidden = 403
        case notFound = 404
        case conflict = 409
        case contentTooLarge = 413
        case unsupportedMediaType = 415
        case unprocessable = 422
        /// A replay stopped by the cancel request: the page asked for it, so not a failure
        /// (nginx's 499, "client closed request", says the same).
        case cancelled = 499
    }
    public var kind: Kind
    public var description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

// The JSON the page reads. Positions are 0-based lines and UTF-16 offsets within the line, as
// JavaScript strings count them.

public struct PositionView: Codable, Sendable, Equatable {
    public var line: Int
    public var character: Int
    init(_ position: TextPosition) {
        line = position.line
        character = position.character
    }
}

public struct RangeView: Codable, Sendable, Equatable {
    public var start: PositionView
    public var end: PositionView
    init(_ range: TextRange) {
        start = PositionView(range.start)
        end = PositionView(range.end)
    }
}

public struct RuleSetView: Encodable, Sendable {
    public struct File: Encodable, Sendable {
        public var name: String
        public var text: String
    }
    public struct Parameter: Encodable, Sendable {
        public var name: String
        public var type: String
        public var value: String
    }
    public var name: String
    public var directory: String
    public var files: [File]
    public var tests: [String]
    public var eventFiles: [String]
    public var eventLines: Int
    public var parameters: [Parameter]
    /// The fields the schema declares (`customer.tier`), for the segment picker.
    public var fields: [String]
}

public struct DiagnosticView: Encodable, Sendable {
    public struct Fix: Encodable, Sendable {
        public var title: String
        public var file: String
        public var range: RangeView
        public var newText: String
    }
    public var file: String
    public var code: String
    public var severity: String
    public var message: String
    public var notes: [String]
    public var help: String?
    public var range: RangeView
    public var fix: Fix?
}

public struct CheckView: Encodable, Sendable {
    /// Every file of the rule set, an empty list for a clean one (so the page clears it).
    public var files: [String: [DiagnosticView]]
    public var errors: Int
    public var warnings: Int
}

public struct CompletionView: Encodable, Sendable {
    public struct Item: Encodable, Sendable {
        public var label: String
        public var kind: String
        public var detail: String?
        public var documentation: String?
    }
    /// What a chosen item replaces (the word typed so far).
    public var range: RangeView
    public var items: [Item]
}

public struct HoverView: Encodable, Sendable {
    public var text: String?
    public var range: RangeView?
}

public struct FormatView: Encodable, Sendable {
    public var text: String
    public var changed: Bool
}

public struct TestsView: Encodable, Sendable {
    public struct RulePlace: Encodable, Sendable {
        public var name: String
        public var file: String?
        public var line: Int?
    }
    public struct Case: Encodable, Sendable {
        public var file: String
        public var line: Int
        public var name: String
        public var passed: Bool
        /// The rules the case expects or that decided: where a failure is shown beside the rules.
        public var rules: [RulePlace]
        /// Expected against actual, as `redress test` prints it (failures only).
        public var comparison: String?
    }
    public struct FileError: Encodable, Sendable {
        public var file: String
        public var message: String
    }
    public var passed: Int
    public var failed: Int
    public var cases: [Case]
    public var errors: [FileError]
}

public struct ExplainView: Encodable, Sendable {
    public var explained: String
    public var rules: [RuleExplanation]
    /// As `redress explain` prints it.
    public var text: String
}

public struct SimulationView: Encodable, Sendable {
    public struct Line: Encodable, Sendable {
        public var key: String
        public var decisions: Int
        public var cost: String
        public var costMinor: Int64
    }
    public var currency: String
    public var events: Int
    public var badLines: Int
    public var decisions: Int
    public var customers: Int
    /// The projected cost, written as `redress simulate` writes it.
    public var total: String
    public var totalMinor: Int64
    public var byRule: [Line]
    public var byWeek: [Line]
    public var bySegment: [Line]
    public var segmentFields: [String]
    public var heldBack: [Line]
    /// The first subjects each policy held back, by policy: `rule: subject`.
    public var heldBackExamples: [String: [String]]
    public var outOfSeason: [Line]
    /// The whole report as the self-contained page of `simulate --html` (its charts included),
    /// shown in a sandboxed frame.
    public var html: String

    init(_ report: Report, html: String) {
        func lines(_ lines: [Report.Line]) -> [Line] {
            lines.map { Line(key: $0.key, decisions: $0.decisions, cost: report.money($0.cost), costMinor: $0.cost) }
        }
        currency = report.currency.code
        events = report.events
        badLines = report.deadLetters
        decisions = report.decisions
        customers = report.customersAffected
        total = report.money(report.cost)
        totalMinor = report.cost
        byRule = lines(report.rules)
        byWeek = lines(report.weeks)
        bySegment = lines(report.dimensions)
        segmentFields = report.byFields
        heldBack = lines(report.savedByPolicy)
        heldBackExamples = report.heldBackExamples.mapValues { examples in examples.map { "\($0.rule): \($0.subject)" } }
        outOfSeason = lines(report.outOfSeason)
        self.html = html
    }
}

public struct SweepView: Encodable, Sendable {
    public var parameter: String
    public var currency: String
    public var points: [Sweep.Point]
}

public struct DiffView: Encodable, Sendable {
    public var diff: RuleSetDiff
    /// As `redress diff` prints it for a pull request.
    public var markdown: String
}

public struct CancelView: Encodable, Sendable {
    public var cancelled: Bool
}

public struct SaveView: Encodable, Sendable {
    public var saved: [String]
}
