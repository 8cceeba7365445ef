import ArgumentParser
import Foundation
import RedressIR
import RedressSemantics
import RedressSyntax
import RedressService

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
/// are printed as `check` prints them (the reading itself is `RuleSetSource`'s, which `serve`
/// also reloads with).
enum RuleSetInput {
    static func compile(_ paths: [String], schema: String?, catalog: String?, extraFields: [String] = []) throws -> Program {
        switch RuleSetSource(paths: paths, schema: schema, catalog: catalog, extraFields: extraFields).compile() {
        case .success(let program):
            return program
        case .failure(let rejection):
            report(rejection)
            if case .unreadable = rejection { throw ExitCode(2) }
            throw ExitCode(1)
        }
    }

    /// A rejected rule set on standard error: the errors as `check` prints them, then why.
    static func report(_ rejection: RuleSetSource.Rejection) {
        switch rejection {
        case .unreadable(let message):
            Output.error("error: \(message)")
        case .errors(let report):
            let renderer = DiagnosticRenderer(files: report.sources, colour: false)
            Output.error(renderer.human(report.diagnostics.filter { $0.severity == .error }))
            Output.error("error: \(rejection.message)")
        case .lowering(let problems):
            for problem in problems { Output.error("error: \(problem)") }
        }
    }
}
