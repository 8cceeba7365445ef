import ArgumentParser
import Foundation
import RedressIR
import RedressReview
import RedressEvents
import RedressEngine
import RedressSemantics
import RedressSyntax

enum DiffFormat: String, ExpressibleByArgument, CaseIterable { case markdown, json }

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two versions of a rule set: what changed, in domain words, and with --events what it costs.",
        discussion: """
            OLD and NEW are rule-set directories (or .rules files). Rules are matched by name, renames by their \
            body; layout and comments are not changes. With --events the same events are replayed through both \
            versions and the projected cost of each rule is compared. Exit status: 0 compared (also when there are \
            changes, unless --exit-code), 1 a rule set has errors (or changes with --exit-code), 2 usage or I/O error.
            """)

    @Argument(help: "The old rule set (say, the main branch's).")
    var old: String

    @Argument(help: "The new rule set (the change under review).")
    var new: String

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Events to replay through both versions: JSON lines, or CSV with --mapping.", valueName: "FILE"))
    var events: [String] = []

    @Option(help: "Read --events as CSV through this YAML mapping (docs/events.md).")
    var mapping: String?

    @Option(help: ArgumentHelp("With --mapping: read the joined file NAME from PATH.", valueName: "NAME=PATH"))
    var join: [String] = []

    @Option(help: ArgumentHelp("Exchange rates into the catalog's currency for the cost (YAML, as for `simulate --rates`).", valueName: "FILE"))
    var rates: String?

    @Option(help: "Output format: markdown (a pull-request comment) or json.")
    var format: DiffFormat = .markdown

    @Flag(help: "Exit with 1 when there are semantic changes (like `git diff --exit-code`).")
    var exitCode = false

    @Option(help: "Schema file to use for both versions instead of the nearest schema.yaml.")
    var schema: String?

    @Option(help: "Catalog file to use for both versions instead of the nearest catalog.yaml.")
    var catalog: String?

    @Option(help: .hidden)
    var clock: String?

    func run() throws {
        try ReplayClock.check(clock, command: "diff")
        let before = try Self.load(old, role: "OLD", schema: schema, catalog: catalog)
        let after = try Self.load(new, role: "NEW", schema: schema, catalog: catalog)
        var diff = RuleSetDiff.compare(old: before, new: after, oldLabel: Self.label(old), newLabel: Self.label(new))
        if !events.isEmpty {
            let oldProgram = try Self.compile(before, path: old), newProgram = try Self.compile(after, path: new)
            let oldCurrency = oldProgram.currencies[Int(oldProgram.catalog.currency)].code
            let newCurrency = newProgram.currencies[Int(newProgram.catalog.currency)].code
            guard oldCurrency == newCurrency else {
                Output.error("error: the catalogs price in \(oldCurrency) (OLD) and \(newCurrency) (NEW); --events compares costs in one currency")
                throw ExitCode(2)
            }
            let read = try EventInput.collect([oldProgram, newProgram], events: events, mapping: mapping, join: join)
            let renames = diff.pairedNames
            let cost = CostDiff.replay(old: oldProgram, new: newProgram, oldEvents: read[0].events, newEvents: read[1].events,
                                        oldDeadLetters: read[0].deadLetters, newDeadLetters: read[1].deadLetters, renames: renames,
                                        rates: try ExchangeRates.read(rates, program: newProgram))
            guard let cost else {
                Output.error("error: the projected costs do not fit in 64-bit minor units (over 92 quadrillion); check the events' amounts")
                throw ExitCode(2)
            }
            diff.cost = cost
        }
        switch format {
        case .markdown: Output.write(diff.markdown())
        case .json: Output.write(diff.json())
        }
        if exitCode, diff.hasChanges { throw ExitCode(1) }
    }

    /// Checks one side; usage problems exit 2, a rule set with errors prints them and exits 1.
    /// A rule set is compared whole: a `.rules` file stands for the rule set of its directory,
    /// and the output says so instead of naming the file alone.
    static func label(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { return path }
        let directory = (path as NSString).deletingLastPathComponent
        return (directory.isEmpty ? "." : directory) + " (the rule set of " + (path as NSString).lastPathComponent + ")"
    }

    static func load(_ path: String, role: String, schema: String? = nil, catalog: String? = nil) throws -> RuleSetReport {
        let report: RuleSetReport
        do {
            let locations = try RuleSetLoader.locate([path], schema: schema, catalog: catalog)
            guard locations.count == 1 else {
                Output.error(locations.isEmpty ? "error: \(role) \(path): no .rules files found"
                                               : "error: \(role) \(path): give one rule set (one directory); found \(locations.count)")
                throw ExitCode(2)
            }
            report = try RuleSetLoader.check(locations[0])
        } catch let error as LoadError {
            Output.error("error: \(role) \(path): \(error)")
            throw ExitCode(2)
        }
        let errors = report.diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty {
            Output.error(DiagnosticRenderer(files: report.sources, colour: false).human(errors))
            Output.error("error: the \(role) rule set \(path) has \(errors.count) error\(errors.count == 1 ? "" : "s"); see `redress check`")
            throw ExitCode(1)
        }
        return report
    }

    static func compile(_ report: RuleSetReport, path: String) throws -> Program {
        let (program, problems) = Program.compile(report)
        guard let program else {
            for problem in problems { Output.error("error: \(path): \(problem)") }
            throw ExitCode(1)
        }
        return program
    }
}
