import ArgumentParser
import Foundation
import RedressSemantics
import RedressSyntax

enum DiagnosticFormat: String, ExpressibleByArgument, CaseIterable {
    case human, json, sarif, github
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check rule files for syntax, name, type and unit errors.",
        discussion: """
            Each directory holding .rules files is one rule set, checked against the schema.yaml and \
            catalog.yaml of that directory or its nearest ancestor.
            Exit status: 0 no errors, 1 errors (or warnings with --warnings-as-errors), 2 usage or I/O error.
            """)

    @Argument(help: "Rule files or directories (searched recursively).")
    var paths: [String]

    @Option(help: "Output format: human, json, sarif or github.")
    var format: DiagnosticFormat = .human

    @Flag(help: "Exit with status 1 when there are warnings.")
    var warningsAsErrors = false

    @Option(help: "Schema file to use instead of the nearest schema.yaml.")
    var schema: String?

    @Option(help: "Catalog file to use instead of the nearest catalog.yaml.")
    var catalog: String?

    @Flag(help: "List each rule's triggering events (explicit or inferred).")
    var triggers = false

    @Flag(help: "Apply the suggested fixes (\"did you mean ...\") to the rule files, then check again.")
    var fix = false

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one rule file or directory, for example `redress check rules/`") }
    }

    func run() throws {
        var reports = try checkAll()
        if fix {
            let fixed = try applyFixes(reports)
            if fixed > 0 {
                Output.error("applied \(fixed) fix\(fixed == 1 ? "" : "es")")
                reports = try checkAll()
            }
        }
        try report(reports)
    }

    /// Applies each rule file's suggested edits, last first, skipping edits that overlap.
    func applyFixes(_ reports: [RuleSetReport]) throws -> Int {
        var applied = 0
        for report in reports {
            let ruleFiles = Set(report.location.ruleFiles)
            let edits = Dictionary(grouping: report.diagnostics.compactMap(\.fix).filter { ruleFiles.contains($0.file) }, by: \.file)
            for (path, fileEdits) in edits.sorted(by: { $0.key < $1.key }) {
                guard let source = report.sources[path] else { continue }
                var bytes = source.bytes
                var lowestStart = Int.max
                for edit in fileEdits.sorted(by: { $0.span.start > $1.span.start }) where edit.span.end <= lowestStart {
                    bytes.replaceSubrange(edit.span.start..<edit.span.end, with: Array(edit.replacement.utf8))
                    lowestStart = edit.span.start
                    applied += 1
                }
                // The byte order mark `SourceFile` set aside goes back in front.
                try OutputFile.writeOrExit((source.hadByteOrderMark ? [0xEF, 0xBB, 0xBF] : []) + bytes, to: path)
            }
        }
        return applied
    }

    func checkAll() throws -> [RuleSetReport] {
        let reports: [RuleSetReport]
        do {
            let locations = try RuleSetLoader.locate(paths, schema: schema, catalog: catalog)
            if locations.isEmpty {
                Output.error("error: no .rules files found in \(paths.joined(separator: ", "))")
                throw ExitCode(2)
            }
            reports = try locations.map { location throws(LoadError) in try RuleSetLoader.check(location) }
        } catch let error as LoadError {
            Output.error("error: \(error)")
            throw ExitCode(2)
        }
        return reports
    }

    func report(_ reports: [RuleSetReport]) throws {

        var sources: [String: SourceFile] = [:]
        var diagnostics: [Diagnostic] = []
        var fileCount = 0
        for report in reports {
            sources.merge(report.sources) { first, _ in first }
            // Only the named files (and the YAML) are reported on when single files were named.
            let shown = Set(report.location.requestedFiles)
            let others = Set(report.location.ruleFiles).subtracting(shown)
            diagnostics += report.diagnostics.filter { !others.contains($0.file) }
            fileCount += shown.count
        }
        let renderer = DiagnosticRenderer(files: sources, colour: format == .human && Output.colourOnStandardOutput)
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.count - errors

        switch format {
        case .human:
            var text = renderer.human(diagnostics)
            if !text.isEmpty { text += "\n" }
            if triggers { text += triggerListing(reports) }
            text += summary(errors: errors, warnings: warnings, files: fileCount) + "\n"
            Output.write(text)
        case .json:
            var json = renderer.json(diagnostics, fileCount: fileCount)
            if triggers { json = insertTriggers(json, reports) }
            Output.write(json)
        case .sarif:
            Output.write(renderer.sarif(diagnostics, toolVersion: Redress.version))
        case .github:
            Output.write(renderer.github(diagnostics))
            if triggers { Output.write(triggerListing(reports)) }
        }
        if errors > 0 || (warningsAsErrors && warnings > 0) { throw ExitCode(1) }
    }

    func summary(errors: Int, warnings: Int, files: Int) -> String {
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        let verdict = errors == 0 ? (warnings == 0 ? "ok" : "ok with warnings") : "failed"
        return "check \(verdict): \(plural(errors, "error")), \(plural(warnings, "warning")) in \(plural(files, "rule file"))"
    }

    func triggerListing(_ reports: [RuleSetReport]) -> String {
        var text = ""
        for report in reports {
            guard let checked = report.checked else { continue }
            for rule in checked.rules {
                let line = report.sources[rule.file]?.location(of: rule.span.start).line ?? 0
                let how = rule.triggersInferred ? "inferred" : "explicit"
                text += "\(rule.name) (\(rule.file):\(line)): on \(rule.triggers.joined(separator: ", ")) [\(how); subject \(rule.subject)]\n"
            }
        }
        return text
    }

    struct TriggerEntry: Encodable {
        var name: String, file: String, line: Int, triggers: [String], inferred: Bool, subject: String
    }

    func insertTriggers(_ json: String, _ reports: [RuleSetReport]) -> String {
        var entries: [TriggerEntry] = []
        for report in reports {
            for rule in report.checked?.rules ?? [] {
                let line = report.sources[rule.file]?.location(of: rule.span.start).line ?? 0
                entries.append(TriggerEntry(name: rule.name, file: rule.file, line: line, triggers: rule.triggers,
                                            inferred: rule.triggersInferred, subject: rule.subject))
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(entries), let closing = json.range(of: "}", options: .backwards) else { return json }
        return json[..<closing.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
            + ",\n  \"rules\" : " + String(decoding: data, as: UTF8.self) + "\n}\n"
    }
}
