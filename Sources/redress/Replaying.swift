import ArgumentParser
import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressRuntime
import RedressSemantics
import RedressSyntax
import Yams

/// `--clock` on a replay (`simulate`, `diff`): a replay keeps event time, so that it decides what
/// the live run decided; only `run` reads the wall clock. The option is hidden and says so
/// rather than leave a user with "unknown option".
enum ReplayClock {
    static func check(_ clock: String?, command: String) throws {
        guard let clock, clock != "event" else { return }
        Output.error("error: \(command) replays history in event time (deadlines fire as the events' own times pass them); --clock \(clock) is for `redress run` on a live stream (docs/simulation.md)")
        throw ExitCode(2)
    }
}

/// The input options of `run` and of the replays (`simulate`, its `--baseline`, `diff`):
/// `--mapping` and `--join` turned into the runtime's `EventFormat`, a replay's events collected
/// through `ReplaySource` (each input read once for all the rule sets), and failures printed.
enum EventInput {
    /// JSON lines, or with `--mapping` CSV through the mapping loaded for each program.
    static func format(_ programs: [Program], mapping: String?, join: [String]) throws -> (EventFormat, DiagnosticRenderer?) {
        guard let mapping else { return (.jsonLines, nil) }
        var mappings: [EventMapping] = []
        var renderer: DiagnosticRenderer? = nil
        var joinPaths: [String: String] = [:]
        for (index, program) in programs.enumerated() {
            // One mapping file: its warnings are said once, its errors for whichever rule set has them.
            let (loaded, shown) = try EventInput.loadMapping(mapping, for: program, warnings: index == 0)
            mappings.append(loaded)
            renderer = shown
            joinPaths = try EventInput.joinPaths(join, of: loaded)
        }
        return (.csv(mappings: mappings, joinPaths: joinPaths), renderer)
    }

    /// The events of `events` (one history, in order) for each program; exit 2 when an input
    /// cannot be read.
    static func collect(_ programs: [Program], events: [String], mapping: String?, join: [String],
                        maximumLineLength: Int = LineLimit.defaultBytes) throws -> [ReplayEvents] {
        let (format, renderer) = try format(programs, mapping: mapping, join: join)
        do {
            return try ReplaySource.collect(programs, paths: events, format: format, maximumLineLength: maximumLineLength,
                                            warn: { Output.error("warning: \($0)") })
        } catch {
            try exit(error, mapping: mapping, renderer: renderer)
        }
    }

    /// Reads the mapping at `path` for `program`, printing its diagnostics (exit 2 on errors;
    /// warnings only when `warnings`); the renderer shows later diagnostics that point into it.
    static func loadMapping(_ path: String, for program: Program, warnings: Bool = true) throws -> (EventMapping, DiagnosticRenderer) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            Output.error("error: cannot read the mapping \(path)")
            throw ExitCode(2)
        }
        let mappingSource = SourceFile(path: path, text: text)
        let renderer = DiagnosticRenderer(files: [path: mappingSource])
        let (loaded, diagnostics) = EventMapping.load(mappingSource, program: program)
        if !diagnostics.isEmpty, warnings || loaded == nil { Output.error(renderer.human(diagnostics)) }
        guard let mapping = loaded else {
            Output.error("error: the mapping \(path) has errors; see docs/events.md, \"CSV input\"")
            throw ExitCode(2)
        }
        return (mapping, renderer)
    }

    /// `--join NAME=PATH` options, checked against the mapping's joins.
    static func joinPaths(_ join: [String], of mapping: EventMapping) throws -> [String: String] {
        var joinPaths: [String: String] = [:]
        for option in join {
            guard let equals = option.firstIndex(of: "="), equals != option.startIndex else {
                Output.error("error: --join takes NAME=PATH, found `\(option)`")
                throw ExitCode(2)
            }
            let name = String(option[..<equals])
            guard mapping.joins.contains(where: { $0.name == name }) else {
                Output.error("error: --join \(name): the mapping has no join `\(name)`; its joins are \(mapping.joins.map(\.name).joined(separator: ", "))")
                throw ExitCode(2)
            }
            joinPaths[name] = String(option[option.index(after: equals)...])
        }
        return joinPaths
    }

    /// Prints why an input could not be read (with the diagnostics of a CSV file that does not
    /// fit its mapping) and exits 2.
    static func exit(_ failure: InputFailure, mapping: String?, renderer: DiagnosticRenderer?) throws -> Never {
        if let refused = failure.mapping, let renderer, let mapping {
            Output.error(renderer.human(refused.diagnostics))
            Output.error("error: \(failure.message) \(mapping)")
        } else {
            Output.error("error: \(failure.message)")
        }
        throw ExitCode(2)
    }
}

/// Exchange rates into the catalog's currency, in millionths, by currency code.
enum ExchangeRates {
    /// `--rates FILE` of `simulate` and `diff`: `base:` must be the catalog's currency; each rate is a decimal with at most
    /// six places (how many units of the base one unit of the currency is worth).
    static func read(_ rates: String?, program: Program) throws -> [String: Int64] {
        guard let rates else { return [:] }
        let base = program.currencies[Int(program.catalog.currency)].code
        guard let text = try? String(contentsOfFile: rates, encoding: .utf8) else {
            Output.error("error: cannot read the rates in \(rates) (YAML with `base:` and `rates:`)")
            throw ExitCode(2)
        }
        // The same bounds on nesting and aliases as every YAML file Redress reads.
        let source = SourceFile(path: rates, text: text)
        if let refusal = YAMLReader.compose(source).diagnostic {
            Output.error(DiagnosticRenderer(files: [rates: source]).human([refusal]))
            throw ExitCode(2)
        }
        guard let document = try? Yams.load(yaml: source.text) as? [String: Any] else {
            Output.error("error: cannot read the rates in \(rates) (YAML with `base:` and `rates:`)")
            throw ExitCode(2)
        }
        guard (document["base"] as? String) == base, let table = document["rates"] as? [String: Any] else {
            Output.error("error: \(rates) must have `base: \(base)` (the catalog's currency) and a `rates:` mapping")
            throw ExitCode(2)
        }
        var result: [String: Int64] = [:]
        for (code, value) in table {
            guard let decimal = Decimal(string: "\(value)"), decimal > 0 else {
                Output.error("error: \(rates): the rate of \(code) must be a positive number")
                throw ExitCode(2)
            }
            // Rates are kept in millionths: more decimals would be rounded away, so they are refused.
            guard let millionths = FixedPoint.exact(decimal, places: 6), millionths > 0 else {
                Output.error("error: \(rates): the rate of \(code) has more than six decimals (\(value))")
                throw ExitCode(2)
            }
            result[code] = millionths
        }
        return result
    }

}
