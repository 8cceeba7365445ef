/// Every problem Redress reports, from any stage, is one of these values.
/// Rendering (for people, JSON, SARIF, GitHub) is a separate function of this data.
public struct Diagnostic: Hashable, Sendable {
    public var code: DiagnosticCode
    public var severity: Severity
    /// One sentence: what is wrong, in the rule author's terms.
    public var message: String
    public var primary: Label
    public var secondary: [Label]
    public var notes: [String]
    /// What to do about it, in words ("did you mean `shipment.delay`?").
    public var help: String?
    /// The same advice as an edit a tool can apply.
    public var fix: Edit?

    public init(
        _ code: DiagnosticCode, _ message: String, at primary: Label,
        secondary: [Label] = [], notes: [String] = [], help: String? = nil, fix: Edit? = nil,
        severity: Severity? = nil
    ) {
        self.code = code
        self.severity = severity ?? code.defaultSeverity
        self.message = message
        self.primary = primary
        self.secondary = secondary
        self.notes = notes
        self.help = help
        self.fix = fix ?? Diagnostic.suggestedReplacement(help, at: primary)
    }

    /// A "did you mean `X`?" help names the text that should stand at the primary span, so it
    /// becomes an edit that tools can apply (SARIF fixes, editors) without each site saying so.
    static func suggestedReplacement(_ help: String?, at primary: Label) -> Edit? {
        guard let help, help.hasPrefix("did you mean `"), help.hasSuffix("`?") else { return nil }
        let replacement = help.dropFirst("did you mean `".count).dropLast(2)
        guard !replacement.isEmpty, !replacement.contains("`"), primary.span.length > 0 else { return nil }
        return Edit(file: primary.file, span: primary.span, replacement: String(replacement))
    }

    public var file: String { primary.file }
    public var span: Span { primary.span }
}

public enum Severity: String, Sendable, Hashable, Comparable {
    case error, warning
    public static func < (a: Severity, b: Severity) -> Bool { a == .warning && b == .error }
}

/// A span in a file with a short message shown beside the underline.
public struct Label: Hashable, Sendable {
    public var file: String
    public var span: Span
    public var message: String
    public init(file: String, span: Span, message: String = "") {
        self.file = file
        self.span = span
        self.message = message
    }
}

/// A suggested replacement of a span's text.
public struct Edit: Hashable, Sendable {
    public var file: String
    public var span: Span
    public var replacement: String
    public init(file: String, span: Span, replacement: String) {
        self.file = file
        self.span = span
        self.replacement = replacement
    }
}

/// Stable diagnostic codes. The number never changes meaning once released;
/// docs/diagnostics.md has one example per code.
public enum DiagnosticCode: String, CaseIterable, Sendable, Hashable {
    // Lexical and syntax (E00xx, E01xx)
    case unexpectedCharacter = "E0001"
    case unterminatedString = "E0002"
    case malformedLiteral = "E0003"
    case unexpectedToken = "E0101"
    case missingActions = "E0102"
    case nestingTooDeep = "E0103"
    // Names (E02xx)
    case unknownField = "E0201"
    case unknownEntity = "E0202"
    case unknownEvent = "E0203"
    case unknownEnumCase = "E0204"
    case unknownName = "E0205"
    case unknownAction = "E0206"
    case unknownTemplate = "E0207"
    case unknownChannel = "E0208"
    case unknownTag = "E0209"
    case unknownFunction = "E0210"
    case unknownCurrency = "E0211"
    case unknownArgumentValue = "E0212"
    // Types and units (E03xx)
    case incompatibleComparison = "E0301"
    case currencyMismatch = "E0302"
    case meaninglessArithmetic = "E0303"
    case notACondition = "E0304"
    case wrongActionArgument = "E0305"
    case optionalWithoutDefault = "E0306"
    case percentVersusNumber = "E0307"
    case wrongFunctionArguments = "E0308"
    case mixedTypes = "E0309"
    // Rules, triggers and policies (E04xx)
    case triggerLacksEntity = "E0401"
    case noTrigger = "E0402"
    case duplicateRule = "E0403"
    case duplicateDefinition = "E0404"
    case notExhaustive = "E0405"
    case unknownGroup = "E0406"
    case cyclicDefinition = "E0407"
    case invalidPolicy = "E0408"
    case mixedSubjects = "E0409"
    case notConstant = "E0410"
    // Warnings (W05xx)
    case unusedDefinition = "W0501"
    case unusedParameter = "W0502"
    case alwaysTrue = "W0503"
    case alwaysFalse = "W0504"
    case unreachableRule = "W0505"
    case unusedDeclaration = "W0506"
    case foreignCurrencyPayout = "W0507"
    case unreachableCase = "W0508"
    case shareWithoutMinimum = "W0509"
    case capBlocksGroupWinner = "W0510"
    case templateLacksChannel = "W0511"
    // Schema and catalog files (E06xx)
    case yamlSyntax = "E0601"
    case invalidSchema = "E0602"
    case invalidCatalog = "E0603"

    public var defaultSeverity: Severity { rawValue.hasPrefix("W") ? .warning : .error }

    /// Short title, as in `error[E0201]: unknown field`.
    public var title: String {
        switch self {
        case .unexpectedCharacter: "unexpected character"
        case .unterminatedString: "unterminated string"
        case .malformedLiteral: "malformed literal"
        case .unexpectedToken: "unexpected token"
        case .missingActions: "rule without actions"
        case .nestingTooDeep: "nesting too deep"
        case .unknownField: "unknown field"
        case .unknownEntity: "unknown entity"
        case .unknownEvent: "unknown event type"
        case .unknownEnumCase: "unknown enum case"
        case .unknownName: "unknown name"
        case .unknownAction: "unknown action"
        case .unknownTemplate: "unknown template"
        case .unknownChannel: "unknown channel"
        case .unknownTag: "unknown tag"
        case .unknownFunction: "unknown function"
        case .unknownCurrency: "unknown currency"
        case .unknownArgumentValue: "unknown argument value"
        case .incompatibleComparison: "incompatible comparison"
        case .currencyMismatch: "currency mismatch"
        case .meaninglessArithmetic: "arithmetic without unit sense"
        case .notACondition: "not a condition"
        case .wrongActionArgument: "wrong action argument"
        case .optionalWithoutDefault: "optional value without default"
        case .percentVersusNumber: "percent compared with a plain number"
        case .wrongFunctionArguments: "wrong function arguments"
        case .mixedTypes: "values of different types"
        case .triggerLacksEntity: "trigger does not carry what the rule reads"
        case .noTrigger: "no event carries what the rule reads"
        case .duplicateRule: "duplicate rule name"
        case .duplicateDefinition: "duplicate definition"
        case .notExhaustive: "not exhaustive"
        case .unknownGroup: "unknown exclusive group"
        case .cyclicDefinition: "definition refers to itself"
        case .invalidPolicy: "invalid policy"
        case .mixedSubjects: "triggers with different subjects"
        case .notConstant: "not a constant"
        case .unusedDefinition: "unused definition"
        case .unusedParameter: "unused parameter"
        case .alwaysTrue: "condition always true"
        case .alwaysFalse: "condition always false"
        case .unreachableRule: "unreachable rule"
        case .unusedDeclaration: "unused declaration"
        case .foreignCurrencyPayout: "amount in another currency than the catalog's"
        case .unreachableCase: "unreachable case"
        case .shareWithoutMinimum: "share without a minimum count"
        case .capBlocksGroupWinner: "cap can block a group's winner"
        case .templateLacksChannel: "template lacks a channel"
        case .yamlSyntax: "YAML syntax error"
        case .invalidSchema: "invalid schema"
        case .invalidCatalog: "invalid catalog"
        }
    }
}

/// Collects diagnostics in the order found; sorting happens at rendering.
public struct DiagnosticBag: Sendable {
    public private(set) var diagnostics: [Diagnostic] = []
    public init() {}
    public mutating func add(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }
    public mutating func add(contentsOf other: [Diagnostic]) { diagnostics.append(contentsOf: other) }
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}
