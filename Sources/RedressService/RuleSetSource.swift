import Foundation
import RedressIR
import RedressSemantics
import RedressSyntax

/// Where a served rule set is read from (the command line's paths, `--schema`, `--catalog`),
/// and reading it: what `serve` starts with and what a reload reads again. The same library
/// calls as `redress check` (`RuleSetLoader.check`) and `compile` (`Program.compile`); a set
/// with errors is refused with its diagnostics, rendered as `check --format json` renders them.
public struct RuleSetSource: Sendable {
    public var paths: [String]
    public var schema: String?
    public var catalog: String?
    /// Fields the IR carries beyond those the rules read (the simulator's `--by`).
    public var extraFields: [String]

    public init(paths: [String], schema: String? = nil, catalog: String? = nil, extraFields: [String] = []) {
        self.paths = paths
        self.schema = schema
        self.catalog = catalog
        self.extraFields = extraFields
    }

    /// Why a rule set was not taken.
    public enum Rejection: Error {
        /// Nothing to check: no such path, no schema, not one rule set, an unreadable IR file.
        case unreadable(String)
        /// The checker found errors: the report (its diagnostics, warnings too, and sources).
        case errors(RuleSetReport)
        /// Checked clean but could not be lowered to the IR.
        case lowering([String])

        public var message: String {
            switch self {
            case .unreadable(let message):
                return message
            case .errors(let report):
                let count = report.diagnostics.filter { $0.severity == .error }.count
                return "the rule set has \(count) error\(count == 1 ? "" : "s"); see `redress check`"
            case .lowering(let problems):
                return problems.joined(separator: "; ")
            }
        }

        /// The diagnostics as `redress check --format json` prints them (nil when there is
        /// nothing checked to report on).
        public var diagnosticsJSON: String? {
            guard case .errors(let report) = self else { return nil }
            // As `check` reports a rule set: only the named files (and the YAML) when single files were named.
            let others = Set(report.location.ruleFiles).subtracting(report.location.requestedFiles)
            return DiagnosticRenderer(files: report.sources, colour: false)
                .json(report.diagnostics.filter { !others.contains($0.file) }, fileCount: report.location.requestedFiles.count)
        }
    }

    /// The program, or why there is none. Reads the files afresh each time.
    public func compile() -> Result<Program, Rejection> {
        if paths.count == 1, paths[0].hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: paths[0]) else { return .failure(.unreadable("cannot read \(paths[0])")) }
            do { return .success(try Program.load(json: data)) } catch {
                return .failure(.unreadable("\(paths[0]): \(error)"))
            }
        }
        let report: RuleSetReport
        do {
            let locations = try RuleSetLoader.locate(paths, schema: schema, catalog: catalog)
            guard locations.count == 1 else {
                return .failure(.unreadable(locations.isEmpty ? "no .rules files found in \(paths.joined(separator: ", "))"
                                                              : "give one rule set (one directory); found \(locations.count)"))
            }
            report = try RuleSetLoader.check(locations[0])
        } catch {
            return .failure(.unreadable("\(error)"))
        }
        if report.diagnostics.contains(where: { $0.severity == .error }) { return .failure(.errors(report)) }
        let (program, problems) = Program.compile(report, extraFields: extraFields)
        guard let program else { return .failure(.lowering(problems)) }
        return .success(program)
    }
}
