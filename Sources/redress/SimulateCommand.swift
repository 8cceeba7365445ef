import ArgumentParser
import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressRuntime
import RedressSimulation

enum ReportFormat: String, ExpressibleByArgument, CaseIterable { case table, json, csv }

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay historical events through the rules and project what their decisions would cost.",
        discussion: """
            Events (JSON lines, or CSV with --mapping) are replayed in event-time order through the same engine as \
            `run`, with every policy, and each decision is priced with the catalog's cost model. Bad lines are counted, \
            not fatal. Exit status: 0 done, 1 the rule set has errors, 2 usage or I/O error.
            """)

    @Argument(help: "The rule set: a directory of .rules files, or an IR file from `redress compile`.")
    var ruleSet: [String]

    @Option(parsing: .upToNextOption,
            help: ArgumentHelp("Events to replay: JSON lines, or CSV with --mapping; several files are one history.", valueName: "FILE"))
    var events: [String]

    @Option(help: "Read --events as CSV through this YAML mapping (docs/events.md).")
    var mapping: String?

    @Option(help: ArgumentHelp("With --mapping: read the joined file NAME from PATH.", valueName: "NAME=PATH"))
    var join: [String] = []

    @Option(help: ArgumentHelp("Replay the same events through this rule set too, and show the difference per rule.", valueName: "RULESET"))
    var baseline: String?

    @Option(help: ArgumentHelp("Replay once per value of a parameter, e.g. late_threshold=1d,2d,3d.", valueName: "NAME=V1,V2,..."))
    var sweep: String?

    @Option(help: ArgumentHelp("Exchange rates into the catalog's currency (YAML: `base: EUR` and `rates: {USD: 0.92}`).", valueName: "FILE"))
    var rates: String?

    @Option(help: ArgumentHelp("Also write one self-contained HTML page with charts to this file.", valueName: "FILE"))
    var html: String?

    @Option(help: "Report format: table, json or csv.")
    var format: ReportFormat = .table

    @Option(help: ArgumentHelp("Also break the cost down by these fields, e.g. customer.tier,customer.country.", valueName: "FIELDS"))
    var by: String?

    @Option(help: ArgumentHelp("An outcome field to compare for compensated and other subjects, e.g. review.score.", valueName: "FIELD"))
    var outcome: String?

    @Option(help: ArgumentHelp("The entity the outcome is matched per (default: customer).", valueName: "ENTITY"))
    var outcomePer: String = "customer"

    @Option(help: ArgumentHelp("A budget in the catalog's currency, e.g. \"5000 EUR\": the report says when it runs out.", valueName: "AMOUNT"))
    var budget: String?

    @Option(help: "Schema file to use instead of the nearest schema.yaml.")
    var schema: String?

    @Option(help: "Catalog file to use instead of the nearest catalog.yaml.")
    var catalog: String?

    @Option(help: ArgumentHelp("Longest line of input read, in bytes; a longer line is a bad line (docs/events.md, \"Limits\").", valueName: "BYTES"))
    var maxLineBytes: Int = LineLimit.defaultBytes

    @Option(help: .hidden)
    var clock: String?

    func run() throws {
        try ReplayClock.check(clock, command: "simulate")
        try InputLimitOptions.check(maxLineBytes: maxLineBytes)
        RepeatedInput.warnAboutRepeatedFiles(events)
        let fields = by.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
        var extra = fields
        if let outcome { extra += [outcome, outcomePer] }
        extra.append("order")  // the report counts the orders affected (ignored without orders)
        let program = try RuleSetInput.compile(ruleSet, schema: schema, catalog: catalog, extraFields: extra)
        if outcome != nil, !program.entities.contains(where: { $0.name == outcomePer }) {
            Output.error("error: --outcome-per \(outcomePer): not an entity of the schema")
            throw ExitCode(2)
        }
        if let outcome, program.slot(named: outcome) == nil {
            Output.error("error: --outcome \(outcome): not a field of the schema (or not in this IR file)")
            throw ExitCode(2)
        }
        if let missing = fields.first(where: { program.slot(named: $0) == nil }) {
            Output.error("error: --by \(missing): not a field of the schema (or not in this IR file)")
            throw ExitCode(2)
        }
        var budgetMinor: Int64? = nil
        if let budget {
            let currency = program.currencies[Int(program.catalog.currency)]
            // Read exactly as events write money: no thousands separators, no more decimals than the currency has.
            guard let amount = DecimalText.money(budget, currency: currency), amount > 0 else {
                Output.error("error: --budget takes a positive amount in \(currency.code) with at most \(currency.minorUnits) decimals, e.g. \"5000 \(currency.code)\" (found \"\(budget)\")")
                throw ExitCode(2)
            }
            budgetMinor = amount
        }
        var programs = [program]
        if let baseline {
            programs.append(try RuleSetInput.compile([baseline], schema: schema, catalog: catalog, extraFields: extra))
            if programs[1].currencies[Int(programs[1].catalog.currency)] != program.currencies[Int(program.catalog.currency)] {
                Output.error("error: --baseline prices in another currency than the rule set; compare rule sets with one catalog currency")
                throw ExitCode(2)
            }
        }
        let exchange = try ExchangeRates.read(rates, program: program)
        // Sorted JSON lines stream through (two cores, flat memory); unsorted input is read into
        // memory and sorted instead.
        if programs.count == 1, mapping == nil, sweep == nil, events.count == 1, events[0] != "-" {
            var simulation = Simulation(program: program, by: fields, budget: budgetMinor)
            if let outcome { simulation.outcome = (outcome, outcomePer) }
            simulation.rates = exchange
            if let report = try streamed(simulation) {
                try write(report, comparison: nil, sweep: nil)
                return
            }
        }
        let inputs = try read(programs)
        let (collected, bad) = inputs[0]
        var simulation = Simulation(program: program, by: fields, budget: budgetMinor)
        if let outcome { simulation.outcome = (outcome, outcomePer) }
        simulation.rates = exchange
        let report = simulation.replay(collected, deadLetters: bad)
        var swept: Sweep? = nil
        if let sweep {
            let (name, values) = try sweepValues(sweep, program: program)
            swept = Sweep.run(simulation, parameter: name, values: values, events: collected, deadLetters: bad)
        }
        var comparison: Comparison? = nil
        if programs.count > 1 {
            var other = Simulation(program: programs[1], by: fields, budget: budgetMinor)
            if let outcome { other.outcome = (outcome, outcomePer) }
            other.rates = exchange
            comparison = Comparison(current: report, baseline: other.replay(inputs[1].0, deadLetters: inputs[1].1))
        }
        try write(report, comparison: comparison, sweep: swept)
    }

    func write(_ report: Report, comparison: Comparison?, sweep swept: Sweep?) throws {
        if report.overflowed || comparison?.baseline.overflowed == true || swept?.overflowed == true {
            Output.error("error: the projected costs do not fit in 64-bit minor units of \(report.currency.code) "
                         + "(over 92 quadrillion); amounts this large cannot be totalled exactly — check the events' amounts")
            throw ExitCode(2)
        }
        if let html {
            try OutputFile.writeOrExit(Array(HTMLReport.render(report, comparison: comparison, sweep: swept).utf8), to: html)
        }
        switch format {
        case .table:
            let colour = Output.colourOnStandardOutput
            Output.write(report.table(colour: colour) + (comparison.map { "\n" + $0.table(colour: colour) } ?? "") + (swept?.table(colour: colour) ?? ""))
        case .json:
            if comparison != nil || swept != nil {
                var parts: [String] = []
                if let comparison { parts.append("\"comparison\" : " + comparison.json().trimmingCharacters(in: .whitespacesAndNewlines)) }
                parts.append("\"report\" : " + report.json().trimmingCharacters(in: .whitespacesAndNewlines))
                if let swept { parts.append("\"sweep\" : " + swept.json().trimmingCharacters(in: .whitespacesAndNewlines)) }
                Output.write("{\n" + parts.joined(separator: ",\n") + "\n}\n")
            } else {
                Output.write(report.json())
            }
        case .csv: Output.write(report.csv())
        }
    }


    /// Streams sorted JSON lines through one replay (`Replay.stream`); nil when an event is
    /// earlier than the one before it (the caller then replays from memory, sorted).
    func streamed(_ simulation: Simulation) throws -> Report? {
        let events = self.events[0]
        let input = try InputFile.open(events)
        defer { InputFile.close(input) }
        let source = LendingSource(program: simulation.program, descriptor: input, path: events, maximumLineLength: maxLineBytes)
        // A progress bar on standard error, only on a terminal.
        let showProgress = isatty(STDERR_FILENO) == 1 && source.size > 0
        defer { if showProgress { Output.error("\r\u{1B}[K", newline: false) } }
        let progress: ((Int) -> Void)? = showProgress ? { count in
            Output.error("\r" + ProgressBar.line(done: source.progress, total: source.size, events: count), newline: false)
        } : nil
        switch Replay(simulation).stream(source, progress: progress) {
        case .report(let report): return report
        case .unsorted: return nil
        case .failed(let message):
            Output.error("error: \(message)")
            throw ExitCode(2)
        }
    }

    /// `NAME=V1,V2,…`: the parameter and its values (read by `Sweep.values`, which the workbench uses too).
    func sweepValues(_ text: String, program: Program) throws -> (String, [RuntimeValue]) {
        do { return try Sweep.values(text, program: program) } catch {
            Output.error("error: \(error)")
            throw ExitCode(2)
        }
    }

    /// The events for each program: several files are one history, read in order, then
    /// replayed together in time order.
    func read(_ programs: [Program]) throws -> [([Event], Int)] {
        let merged = try EventInput.collect(programs, events: events, mapping: mapping, join: join, maximumLineLength: maxLineBytes)
        if events.count > 1 { RepeatedInput.warnAboutRepeatedIDs(merged[0].events) }
        return merged.map { ($0.events, $0.deadLetters) }
    }
}
