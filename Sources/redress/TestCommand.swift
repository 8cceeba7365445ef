import ArgumentParser
import Foundation
import RedressIR
import RedressReview
import RedressSemantics
import RedressSyntax

enum TestFormat: String, ExpressibleByArgument, CaseIterable { case human, json, junit }

struct Test: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the rule unit tests (*.test.yaml) next to the rules, with coverage.",
        discussion: """
            Each test file belongs to the rule set of its directory. Without a path, rules/ is tested \
            if it exists, else the current directory. See docs/testing.md for the test format.
            Exit status: 0 all tests pass (and coverage reaches --min-coverage), 1 a test failed, the \
            coverage is below the minimum or a rule set has errors, 2 usage or I/O error or a malformed test file.
            """)

    @Argument(help: "Test files or directories (searched recursively for *.test.yaml).")
    var paths: [String] = []

    @Flag(help: "Report per rule whether tests made it fire, kept it from firing, and which condition operands were decisive.")
    var coverage = false

    @Option(help: "Fail (exit 1) when the coverage is below this percentage (implies --coverage).")
    var minCoverage: String?

    @Option(help: "Output format: human, json or junit.")
    var format: TestFormat = .human

    @Option(help: "Run only the test cases whose name contains this text.")
    var filter: String?

    @Flag(help: "Also list the cases that pass (human format).")
    var verbose = false

    @Option(help: "Schema file to use instead of the nearest schema.yaml.")
    var schema: String?

    @Option(help: "Catalog file to use instead of the nearest catalog.yaml.")
    var catalog: String?

    func minimum() throws -> Decimal? {
        guard let minCoverage else { return nil }
        let text = minCoverage.hasSuffix("%") ? String(minCoverage.dropLast()) : minCoverage
        guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), !value.isNaN, value >= 0, value <= 100,
              text.allSatisfy({ $0.isNumber || $0 == "." }) else {
            throw ValidationError("--min-coverage takes a percentage from 0 to 100, such as 90 or 92.5; found `\(minCoverage)`")
        }
        return value
    }

    func validate() throws { _ = try minimum() }

    func run() throws {
        let minimum = try minimum()
        let measure = coverage || minimum != nil
        let roots = paths.isEmpty ? (FileManager.default.fileExists(atPath: "rules") ? ["rules"] : ["."]) : paths
        let found: (testFiles: [String], ruleSetDirectories: [String])
        do { found = try RuleTestSuite.discover(roots) } catch {
            Output.error("error: \(error)")
            throw ExitCode(2)
        }
        if found.testFiles.isEmpty {
            Output.error("error: no test files (*.test.yaml) in \(roots.joined(separator: ", "))")
            throw ExitCode(2)
        }
        let testDirectories = Set(found.testFiles.map(Test.parent))
        var malformed = false
        var rulesBroken = false
        var files: [RuleTestRun.FileResult] = []
        var coverages: [RuleSetCoverage] = []
        var unmeasured: [String] = []
        var casesSelected = 0
        for directory in found.ruleSetDirectories {
            // Rule sets without tests count (as uncovered) only when coverage is asked for.
            guard testDirectories.contains(directory) || measure else { continue }
            let testFiles = found.testFiles.filter { Test.parent($0) == directory }
            let ruleSet: RuleTestSuite.RuleSet
            do { ruleSet = try RuleTestSuite.ruleSet(in: directory, schema: schema, catalog: catalog) } catch {
                Output.error("error: \(error)")
                malformed = true
                // Its test files cannot run: they are reported as files with errors, not left out.
                for path in testFiles {
                    files.append(RuleTestRun.FileResult(path: path, ruleSet: directory, cases: [], errors: [.init(message: "\(error)", text: "error: \(error)")]))
                }
                if measure { unmeasured.append(directory) }
                continue
            }
            guard let program = ruleSet.program else {
                var text = ""
                if let report = ruleSet.report, !ruleSet.diagnostics.isEmpty {
                    text += DiagnosticRenderer(files: report.sources, colour: false).human(ruleSet.diagnostics)
                }
                for problem in ruleSet.problems { text += "error: \(problem)\n" }
                let summary = "the rule set \(directory.isEmpty ? "." : directory) has errors (see `redress check`); its tests were not run"
                text += "error: \(summary)"
                Output.error(text)
                for path in testFiles {
                    files.append(RuleTestRun.FileResult(path: path, ruleSet: directory, cases: [], errors: [.init(message: summary, text: text)]))
                }
                rulesBroken = true
                if measure { unmeasured.append(directory) }
                continue
            }
            let recorder = measure ? CoverageRecorder(program: program) : nil
            for path in testFiles {
                guard let data = FileManager.default.contents(atPath: path) else {
                    Output.error("error: cannot read \(path)")
                    files.append(RuleTestRun.FileResult(path: path, ruleSet: directory, cases: [], errors: [.init(message: "cannot read \(path)", file: path, text: "error: cannot read \(path)")]))
                    malformed = true
                    continue
                }
                let source = SourceFile(path: path, text: String(decoding: data, as: UTF8.self))
                let (file, diagnostics) = RuleTestParser.parse(source, program: program, catalog: ruleSet.report?.checked?.catalog)
                guard let file else {
                    // Diagnostics may point into an events file as well as into the test file.
                    var sources = [path: source]
                    for diagnostic in diagnostics where sources[diagnostic.primary.file] == nil {
                        if let contents = FileManager.default.contents(atPath: diagnostic.primary.file) {
                            sources[diagnostic.primary.file] = SourceFile(path: diagnostic.primary.file, text: String(decoding: contents, as: UTF8.self))
                        }
                    }
                    Output.error(DiagnosticRenderer(files: sources, colour: false).human(diagnostics))
                    files.append(RuleTestRun.FileResult(path: path, ruleSet: directory, cases: [], errors: RuleTestRun.FileError.from(diagnostics, sources: sources)))
                    malformed = true
                    continue
                }
                let cases = file.cases.filter { filter.map($0.name.contains) ?? true }
                casesSelected += cases.count
                let results = cases.map { RuleTestRunner.run($0, file: path, program: program, coverage: recorder) }
                files.append(RuleTestRun.FileResult(path: path, ruleSet: directory, cases: results))
            }
            if let recorder { coverages.append(recorder.report(directory: directory)) }
        }
        if let filter, casesSelected == 0 {
            Output.error("warning: no test case name contains `\(filter)`: no test was run")
        }
        let run = RuleTestRun(files: files, coverage: measure ? CoverageReport(ruleSets: coverages, unmeasured: unmeasured) : nil)
        switch format {
        case .human: Output.write(RuleTestReport.human(run, minimumCoverage: minimum, verbose: verbose, colour: Output.colourOnStandardOutput))
        case .json: Output.write(RuleTestReport.json(run, minimumCoverage: minimum))
        case .junit: Output.write(RuleTestReport.junit(run, minimumCoverage: minimum))
        }
        if malformed { throw ExitCode(2) }
        let belowMinimum = minimum.map { !(run.coverage?.reaches($0) ?? true) } ?? false
        if rulesBroken || run.failed > 0 || belowMinimum { throw ExitCode(1) }
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
