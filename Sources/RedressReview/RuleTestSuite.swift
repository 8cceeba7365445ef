import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressSemantics
import RedressSyntax

/// The library call behind `redress test`: finds the test files under the paths, loads the rule
/// set of each test file's directory (its `.rules` files with the nearest schema and catalog, as
/// `check` does), reads the tests against it, runs them, and measures coverage.
public enum RuleTestSuite {
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    /// Test files and rule-set directories under the paths. A directory is searched
    /// recursively; a file named on its own is a test file.
    public static func discover(_ paths: [String]) throws(Problem) -> (testFiles: [String], ruleSetDirectories: [String]) {
        let manager = FileManager.default
        var tests: Set<String> = []
        var directories: Set<String> = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else { throw Problem(description: "no such file or directory: \(path)") }
            if isDirectory.boolValue {
                guard let enumerator = manager.enumerator(atPath: path) else { throw Problem(description: "cannot list \(path)") }
                for case let relative as String in enumerator {
                    let full = join(path, relative)
                    if relative.hasSuffix(".test.yaml") { tests.insert(full) }
                    if relative.hasSuffix(".rules") { directories.insert(parent(full)) }
                }
            } else {
                guard path.hasSuffix(".test.yaml") else {
                    throw Problem(description: "\(path) is not a test file (tests are YAML files named *.test.yaml)")
                }
                tests.insert(path)
                directories.insert(parent(path))
            }
        }
        for test in tests { directories.insert(parent(test)) }
        return (tests.sorted(), directories.sorted())
    }

    /// A rule set as the tests see it: checked and compiled, or the reasons it is not.
    public struct RuleSet {
        public var directory: String
        public var report: RuleSetReport?
        /// Errors of the rule set (as `check` reports them): the tests cannot run.
        public var diagnostics: [Diagnostic]
        public var problems: [String]
        public var program: Program?
    }

    /// Loads the rule set of one directory: its own `.rules` files (not those of subdirectories).
    public static func ruleSet(in directory: String, schema: String?, catalog: String?) throws(Problem) -> RuleSet {
        let listing = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        let files = listing.filter { $0.hasSuffix(".rules") }.sorted().map { join(directory, $0) }
        guard !files.isEmpty else { throw Problem(description: "no .rules files in \(directory.isEmpty ? "." : directory): a test file belongs to the rule set of its directory") }
        do {
            let locations = try RuleSetLoader.locate(files, schema: schema, catalog: catalog)
            guard let location = locations.first else { throw Problem(description: "no rule set in \(directory)") }
            let report = try RuleSetLoader.check(location)
            let errors = report.diagnostics.filter { $0.severity == .error }
            guard errors.isEmpty else { return RuleSet(directory: directory, report: report, diagnostics: errors, problems: [], program: nil) }
            let (program, problems) = Program.compile(report)
            return RuleSet(directory: directory, report: report, diagnostics: [], problems: problems, program: program)
        } catch let error as LoadError {
            throw Problem(description: error.description)
        } catch let error as Problem {
            throw error
        } catch {
            throw Problem(description: "\(error)")
        }
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.isEmpty || directory == "." ? name : (directory.hasSuffix("/") ? directory + name : directory + "/" + name)
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// Everything one `redress test` run produced, for the renderers.
public struct RuleTestRun: Sendable {
    /// Why a test file could not be run: a diagnostic of the file itself (malformed), or a
    /// problem of its rule set (errors, no rules). `text` is the diagnostic as printed on stderr.
    public struct FileError: Sendable, Encodable, Equatable {
        public var code: String?
        public var message: String
        public var file: String?
        public var line: Int?
        public var column: Int?
        public var help: String?
        public var text: String

        public init(code: String? = nil, message: String, file: String? = nil, line: Int? = nil, column: Int? = nil, help: String? = nil, text: String? = nil) {
            self.code = code
            self.message = message
            self.file = file
            self.line = line
            self.column = column
            self.help = help
            self.text = text ?? message
        }

        /// Diagnostics with their places; `sources` are the files they point into.
        public static func from(_ diagnostics: [Diagnostic], sources: [String: SourceFile]) -> [FileError] {
            let renderer = DiagnosticRenderer(files: sources, colour: false)
            return diagnostics.map { diagnostic in
                let place = sources[diagnostic.primary.file].map { $0.location(of: diagnostic.primary.span.start) }
                return FileError(code: diagnostic.code.rawValue, message: diagnostic.message, file: diagnostic.primary.file.isEmpty ? nil : diagnostic.primary.file,
                                 line: place?.line, column: place?.column, help: diagnostic.help, text: renderer.human(diagnostic))
            }
        }
    }

    public struct FileResult: Sendable {
        public var path: String
        public var ruleSet: String
        public var cases: [RuleTestResult]
        /// Not empty when the file could not be run: its cases are then empty.
        public var errors: [FileError]
        public init(path: String, ruleSet: String, cases: [RuleTestResult], errors: [FileError] = []) {
            self.path = path
            self.ruleSet = ruleSet
            self.cases = cases
            self.errors = errors
        }
    }
    public var files: [FileResult]
    public var coverage: CoverageReport?

    public init(files: [FileResult], coverage: CoverageReport?) {
        self.files = files
        self.coverage = coverage
    }

    public var passed: Int { files.reduce(0) { $0 + $1.cases.filter(\.passed).count } }
    public var failed: Int { files.reduce(0) { $0 + $1.cases.filter { !$0.passed }.count } }
    /// Test files that could not be run (malformed, unreadable, or their rule set has errors).
    public var filesWithErrors: Int { files.filter { !$0.errors.isEmpty }.count }
}
