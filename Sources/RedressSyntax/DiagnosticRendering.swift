import Foundation

/// Renders diagnostics for people (like rustc and Elm), as JSON, as SARIF 2.1.0 and as
/// GitHub workflow commands. Rendering is a pure function of the diagnostics and the files.
public struct DiagnosticRenderer {
    public var files: [String: SourceFile]
    public var colour: Bool

    public init(files: [String: SourceFile], colour: Bool = false) {
        self.files = files
        self.colour = colour
    }

    /// Diagnostics in a stable order: by file, position, then code.
    public static func sorted(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        diagnostics.sorted {
            ($0.file, $0.span.start, $0.code.rawValue, $0.message) < ($1.file, $1.span.start, $1.code.rawValue, $1.message)
        }
    }

    func location(_ file: String, _ offset: Int) -> SourceLocation {
        files[file]?.location(of: offset) ?? SourceLocation(line: 1, column: 1)
    }

    /// 1-based end position (inclusive line, exclusive column) of a span.
    func endLocation(_ file: String, _ span: Span) -> SourceLocation {
        location(file, span.end)
    }

    // MARK: - Human

    private func paint(_ text: String, _ code: String) -> String {
        colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    public func human(_ diagnostic: Diagnostic) -> String {
        let severityColour = diagnostic.severity == .error ? "1;31" : "1;33"
        var out = paint("\(diagnostic.severity.rawValue)[\(diagnostic.code.rawValue)]", severityColour)
            + paint(": \(Self.visible(diagnostic.message))", "1") + "\n"
        let primaryStart = location(diagnostic.file, diagnostic.span.start)
        var sameFileLabels = [(diagnostic.primary, true)]
        var otherFileLabels: [Label] = []
        for label in diagnostic.secondary {
            if label.file == diagnostic.file { sameFileLabels.append((label, false)) } else { otherFileLabels.append(label) }
        }
        let lines = sameFileLabels.map { location($0.0.file, $0.0.span.start).line }
        let gutterWidth = String(lines.max() ?? 1).count
        let gutter = String(repeating: " ", count: gutterWidth)
        out += "\(gutter)\(paint("-->", "1;34")) \(Self.visible(diagnostic.file)):\(primaryStart.line):\(primaryStart.column)\n"
        out += snippet(sameFileLabels, severityColour: severityColour, gutterWidth: gutterWidth)
        for label in otherFileLabels {
            let start = location(label.file, label.span.start)
            out += "\(gutter)\(paint(":::", "1;34")) \(Self.visible(label.file)):\(start.line):\(start.column)\n"
            out += snippet([(label, false)], severityColour: severityColour, gutterWidth: gutterWidth)
        }
        let bar = paint("|", "1;34")
        if !diagnostic.notes.isEmpty || diagnostic.help != nil {
            out += "\(gutter) \(bar)\n"
        }
        for note in diagnostic.notes { out += "\(gutter) \(paint("=", "1;34")) note: \(Self.visible(note))\n" }
        if let help = diagnostic.help { out += "\(gutter) \(paint("=", "1;34")) help: \(Self.visible(help))\n" }
        return out
    }

    private func snippet(_ labels: [(Label, Bool)], severityColour: String, gutterWidth: Int) -> String {
        let bar = paint("|", "1;34")
        let gutter = String(repeating: " ", count: gutterWidth)
        var out = "\(gutter) \(bar)\n"
        let sortedLabels = labels.sorted { $0.0.span.start < $1.0.span.start }
        var lastLine = -1
        for (label, isPrimary) in sortedLabels {
            guard let file = files[label.file] else { continue }
            let start = file.location(of: label.span.start)
            let text = file.line(start.line)
            if start.line != lastLine {
                let number = String(start.line)
                out += String(repeating: " ", count: gutterWidth - number.count) + paint(number, "1;34") + " \(bar) "
                    + Self.displayed(text) + "\n"
                lastLine = start.line
            }
            // Underline to the end of the span, or of the line if the span continues.
            let end = file.location(of: label.span.end)
            let lineLength = text.count
            let endColumn = end.line == start.line ? end.column : lineLength + 1
            let prefix = String(text.prefix(start.column - 1))
            let underlined = String(text.dropFirst(start.column - 1).prefix(max(0, endColumn - start.column)))
            let width = max(1, Self.displayWidth(underlined))
            let marker = String(repeating: isPrimary ? "^" : "-", count: width)
            let message = label.message.isEmpty ? "" : " " + Self.visible(label.message)
            out += "\(gutter) \(bar) " + String(repeating: " ", count: Self.displayWidth(prefix))
                + paint(marker + message, isPrimary ? severityColour : "1;34") + "\n"
        }
        return out
    }

    /// Hidden characters (`TerminalText`); a tab stays, the snippet widens it to four spaces.
    static func isHidden(_ scalar: Unicode.Scalar) -> Bool { TerminalText.isHidden(scalar, keepingTabs: true) }

    static func escaped(_ scalar: Unicode.Scalar) -> String { TerminalText.escaped(scalar) }

    /// Text from a rule file or a diagnostic (messages quote names and strings from the file)
    /// with every hidden character spelled out, so that nothing from the data can drive the
    /// terminal. Newlines are spelled out too: a message is one line.
    public static func visible(_ text: String) -> String { TerminalText.visible(text, keepingTabs: true) }

    /// A source line as the snippet shows it: tabs as four spaces, hidden characters spelled out.
    static func displayed(_ text: String) -> String {
        visible(text).replacingOccurrences(of: "\t", with: "    ")
    }

    /// Columns that `displayed(text)` takes, so that carets line up under the characters they
    /// mark even after tabs and spelled-out characters.
    static func displayWidth(_ text: String) -> Int {
        text.reduce(0) { width, character in
            if character == "\t" { return width + 4 }
            guard character.unicodeScalars.contains(where: isHidden) else { return width + 1 }
            return width + character.unicodeScalars.reduce(0) { $0 + (isHidden($1) ? escaped($1).count : 1) }
        }
    }

    public func human(_ diagnostics: [Diagnostic]) -> String {
        DiagnosticRenderer.sorted(diagnostics).map(human).joined(separator: "\n")
    }

    // MARK: - JSON

    struct JSONPosition: Encodable {
        var file: String, line: Int, column: Int, endLine: Int, endColumn: Int
    }
    struct JSONLabel: Encodable {
        var file: String, line: Int, column: Int, endLine: Int, endColumn: Int, message: String
    }
    struct JSONFix: Encodable {
        var file: String, line: Int, column: Int, endLine: Int, endColumn: Int, replacement: String
    }
    struct JSONDiagnostic: Encodable {
        var code: String, severity: String, title: String, message: String
        var file: String, line: Int, column: Int, endLine: Int, endColumn: Int
        var label: String
        var labels: [JSONLabel]
        var notes: [String]
        var help: String?
        var fix: JSONFix?
    }
    struct JSONSummary: Encodable { var errors: Int, warnings: Int, files: Int }
    struct JSONReport: Encodable { var version: Int, diagnostics: [JSONDiagnostic], summary: JSONSummary }

    func jsonDiagnostic(_ d: Diagnostic) -> JSONDiagnostic {
        let start = location(d.file, d.span.start), end = endLocation(d.file, d.span)
        return JSONDiagnostic(
            code: d.code.rawValue, severity: d.severity.rawValue, title: d.code.title, message: d.message,
            file: d.file, line: start.line, column: start.column, endLine: end.line, endColumn: end.column,
            label: d.primary.message,
            labels: d.secondary.map {
                let s = location($0.file, $0.span.start), e = endLocation($0.file, $0.span)
                return JSONLabel(file: $0.file, line: s.line, column: s.column, endLine: e.line, endColumn: e.column, message: $0.message)
            },
            notes: d.notes, help: d.help,
            fix: d.fix.map {
                let s = location($0.file, $0.span.start), e = endLocation($0.file, $0.span)
                return JSONFix(file: $0.file, line: s.line, column: s.column, endLine: e.line, endColumn: e.column, replacement: $0.replacement)
            })
    }

    public func json(_ diagnostics: [Diagnostic], fileCount: Int) -> String {
        let sorted = DiagnosticRenderer.sorted(diagnostics)
        let report = JSONReport(
            version: 1, diagnostics: sorted.map(jsonDiagnostic),
            summary: JSONSummary(errors: sorted.filter { $0.severity == .error }.count,
                                 warnings: sorted.filter { $0.severity == .warning }.count, files: fileCount))
        return DiagnosticRenderer.encode(report)
    }

    static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    // MARK: - SARIF 2.1.0

    struct SarifText: Encodable { var text: String }
    struct SarifRegion: Encodable { var startLine: Int, startColumn: Int, endLine: Int, endColumn: Int }
    struct SarifArtifact: Encodable { var uri: String }
    struct SarifPhysical: Encodable { var artifactLocation: SarifArtifact, region: SarifRegion }
    struct SarifLocation: Encodable { var physicalLocation: SarifPhysical, message: SarifText? }
    struct SarifReplacement: Encodable { var deletedRegion: SarifRegion, insertedContent: SarifText }
    struct SarifChange: Encodable { var artifactLocation: SarifArtifact, replacements: [SarifReplacement] }
    struct SarifFix: Encodable { var description: SarifText, artifactChanges: [SarifChange] }
    struct SarifResult: Encodable {
        var ruleId: String, level: String, message: SarifText
        var locations: [SarifLocation]
        var relatedLocations: [SarifLocation]?
        var fixes: [SarifFix]?
    }
    struct SarifRule: Encodable {
        var id: String, name: String, shortDescription: SarifText, helpUri: String
        var defaultConfiguration: [String: String]
    }
    struct SarifDriver: Encodable { var name: String, informationUri: String, version: String, rules: [SarifRule] }
    struct SarifTool: Encodable { var driver: SarifDriver }
    struct SarifRun: Encodable { var tool: SarifTool, results: [SarifResult] }
    struct SarifLog: Encodable {
        var schema: String, version: String, runs: [SarifRun]
        enum CodingKeys: String, CodingKey { case schema = "$schema", version, runs }
    }

    private func sarifLocation(_ file: String, _ span: Span, _ message: String?) -> SarifLocation {
        let s = location(file, span.start), e = endLocation(file, span)
        return SarifLocation(
            physicalLocation: SarifPhysical(artifactLocation: SarifArtifact(uri: file),
                                            region: SarifRegion(startLine: s.line, startColumn: s.column, endLine: e.line, endColumn: e.column)),
            message: message.flatMap { $0.isEmpty ? nil : SarifText(text: $0) })
    }

    public func sarif(_ diagnostics: [Diagnostic], toolVersion: String) -> String {
        let sorted = DiagnosticRenderer.sorted(diagnostics)
        let rules = DiagnosticCode.allCases.map {
            SarifRule(id: $0.rawValue, name: $0.title, shortDescription: SarifText(text: $0.title),
                      helpUri: "docs/diagnostics.md#\($0.rawValue.lowercased())",
                      defaultConfiguration: ["level": $0.defaultSeverity == .error ? "error" : "warning"])
        }
        let results = sorted.map { d -> SarifResult in
            var text = d.message
            if let help = d.help { text += " (help: \(help))" }
            let fixes = d.fix.map { fix -> [SarifFix] in
                let s = location(fix.file, fix.span.start), e = endLocation(fix.file, fix.span)
                return [SarifFix(description: SarifText(text: d.help ?? "apply the suggested fix"),
                                 artifactChanges: [SarifChange(artifactLocation: SarifArtifact(uri: fix.file), replacements: [
                                     SarifReplacement(deletedRegion: SarifRegion(startLine: s.line, startColumn: s.column, endLine: e.line, endColumn: e.column),
                                                      insertedContent: SarifText(text: fix.replacement))])])]
            }
            return SarifResult(
                ruleId: d.code.rawValue, level: d.severity == .error ? "error" : "warning", message: SarifText(text: text),
                locations: [sarifLocation(d.file, d.span, d.primary.message)],
                relatedLocations: d.secondary.isEmpty ? nil : d.secondary.map { sarifLocation($0.file, $0.span, $0.message) },
                fixes: fixes)
        }
        let log = SarifLog(
            schema: "https://json.schemastore.org/sarif-2.1.0.json", version: "2.1.0",
            runs: [SarifRun(tool: SarifTool(driver: SarifDriver(name: "redress", informationUri: "https://example.invalid/redress",
                                                                 version: toolVersion, rules: rules)),
                            results: results)])
        return DiagnosticRenderer.encode(log)
    }

    // MARK: - GitHub workflow commands

    private static func escapeData(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }
    private static func escapeProperty(_ text: String) -> String {
        escapeData(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }

    public func github(_ diagnostics: [Diagnostic]) -> String {
        DiagnosticRenderer.sorted(diagnostics).map { d in
            let s = location(d.file, d.span.start), e = endLocation(d.file, d.span)
            var message = DiagnosticRenderer.visible(d.message)
            if let help = d.help { message += "\nhelp: \(DiagnosticRenderer.visible(help))" }
            let properties = [
                "file=\(DiagnosticRenderer.escapeProperty(DiagnosticRenderer.visible(d.file)))", "line=\(s.line)", "col=\(s.column)",
                "endLine=\(e.line)", "endColumn=\(e.column)",
                "title=\(DiagnosticRenderer.escapeProperty("\(d.code.rawValue) \(d.code.title)"))",
            ].joined(separator: ",")
            return "::\(d.severity == .error ? "error" : "warning") \(properties)::\(DiagnosticRenderer.escapeData(message))\n"
        }.joined()
    }
}
