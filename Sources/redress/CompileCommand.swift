import ArgumentParser
import Foundation
import RedressIR
import RedressSemantics
import RedressSyntax

enum Emit: String, ExpressibleByArgument, CaseIterable { case ir }

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile a rule set to the IR that `run` evaluates, as versioned JSON.",
        discussion: "Exit status: 0 compiled, 1 the rules have errors, 2 usage or I/O error.")

    @Argument(help: "The rule set: a directory of .rules files (or rule files of one directory).")
    var ruleSet: [String]

    @Option(help: "What to write: ir.")
    var emit: Emit = .ir

    @Option(help: "Write to this file instead of standard output.")
    var out: String?

    @Option(help: "Schema file to use instead of the nearest schema.yaml.")
    var schema: String?

    @Option(help: "Catalog file to use instead of the nearest catalog.yaml.")
    var catalog: String?

    func run() throws {
        let program = try RuleSetInput.compile(ruleSet, schema: schema, catalog: catalog)
        let data = program.json()
        if let out {
            try OutputFile.writeOrExit(Array(data), to: out)
        } else {
            Output.write(Array(data))
        }
    }
}

/// Turns the rule-set arguments of `compile`, `run` and `explain` into a program: a compiled
/// IR file (`.json`) is loaded as it is; rule sources are checked and lowered, and any errors
/// are printed as `check` prints them.
enum RuleSetInput {
    static func compile(_ paths: [String], schema: String?, catalog: String?, extraFields: [String] = []) throws -> Program {
        if paths.count == 1, paths[0].hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: paths[0]) else {
                Output.error("error: cannot read \(paths[0])")
                throw ExitCode(2)
            }
            do { return try Program.load(json: data) } catch {
                Output.error("error: \(paths[0]): \(error)")
                throw ExitCode(2)
            }
        }
        let locations: [RuleSetLocation]
        let report: RuleSetReport
        do {
            locations = try RuleSetLoader.locate(paths, schema: schema, catalog: catalog)
            guard locations.count == 1 else {
                Output.error(locations.isEmpty ? "error: no .rules files found in \(paths.joined(separator: ", "))"
                                               : "error: give one rule set (one directory); found \(locations.count)")
                throw ExitCode(2)
            }
            report = try RuleSetLoader.check(locations[0])
        } catch let error as LoadError {
            Output.error("error: \(error)")
            throw ExitCode(2)
        }
        let errors = report.diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty {
            let renderer = DiagnosticRenderer(files: report.sources, colour: false)
            Output.error(renderer.human(errors))
            Output.error("error: the rule set has \(errors.count) error\(errors.count == 1 ? "" : "s"); see `redress check`")
            throw ExitCode(1)
        }
        let (program, problems) = Program.compile(report, extraFields: extraFields)
        guard let program else {
            for problem in problems { Output.error("error: \(problem)") }
            throw ExitCode(1)
        }
        return program
    }
}
