import ArgumentParser
import Foundation
import RedressIR
import RedressEvents
import RedressEngine
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

/// Reading events for replays, shared by `simulate` (its `--baseline`) and `diff`, which both
/// replay one input through more than one rule set.
enum EventInput {
    /// The events for each program. JSON lines are read once and parsed for every program (each
    /// program has its own slots); CSV is read once per program, through the mapping.
    static func read(_ programs: [Program], events: String, mapping: String?, join: [String],
                     maximumLineLength: Int = LineLimit.defaultBytes) throws -> [([Event], Int)] {
        var results = [([Event], Int)](repeating: ([], 0), count: programs.count)
        if let mapping {
            for (index, program) in programs.enumerated() {
                let (source, input) = try Run.openMapped(program, mapping: mapping, events: events, join: join, maximumLineLength: maximumLineLength)
                defer { InputFile.close(input) }
                while let row = source.next() {
                    switch row {
                    case .events(let events): results[index].0 += events
                    case .deadLetter: results[index].1 += 1
                    case .blank: break
                    }
                }
                if let failure = source.readFailure {
                    Output.error("error: cannot read \(events): \(failure)")
                    throw ExitCode(2)
                }
            }
            return results
        }
        let input = try InputFile.open(events)
        defer { InputFile.close(input) }
        let readers = programs.map { EventReader(program: $0) }
        var scratch = programs.map { Event(slotCount: $0.slots.count) }
        let lines = LineReader(descriptor: input, maximumLineLength: maximumLineLength)
        while lines.next({ line, number in
            if lines.overlongLength > 0 {
                for index in programs.indices { results[index].1 += 1 }
                return
            }
            if line.allSatisfy({ $0 == 32 || $0 == 9 }) { return }
            for index in programs.indices {
                if readers[index].read(line, number: number, into: &scratch[index]) == nil {
                    results[index].0.append(scratch[index])
                } else {
                    results[index].1 += 1
                }
            }
        }) {}
        if let failure = lines.failure {
            Output.error("error: cannot read \(events): \(failure)")
            throw ExitCode(2)
        }
        return results
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
