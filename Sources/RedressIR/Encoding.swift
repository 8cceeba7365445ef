import Foundation
import RedressSemantics
import RedressSyntax

extension Program {
    public enum LoadError: Error, CustomStringConvertible {
        case unreadable(String)
        case version(found: Int)
        public var description: String {
            switch self {
            case .unreadable(let reason): "not a Redress IR file: \(reason)"
            case .version(let found): "IR format version \(found) is not supported (this redress reads version \(Program.formatVersion)); compile the rules again"
            }
        }
    }

    /// The IR as JSON: keys sorted and no wall-clock data, so compiling twice gives identical bytes.
    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return ((try? encoder.encode(self)) ?? Data()) + Data("\n".utf8)
    }

    /// The slot of `entity.field`, if the program has one.
    public func slot(named path: String) -> Int? {
        slots.firstIndex { "\(entities[$0.entity].name).\($0.field)" == path }
    }

    /// Identifies what the rules mean, for the state saved by `run --state`: FNV-1a of the IR's
    /// JSON without where the rules' text sits (each rule's file and line) and without their
    /// descriptions. So the same rules named `rules/shop`, `./rules/shop` or by an absolute path,
    /// formatted again, with comments or blank lines added, or copied elsewhere, have the same
    /// fingerprint; a change to what they decide (a threshold, an action, a rule's name, the
    /// order of the rules, whose indices the state's keys hold) gives another.
    public var fingerprint: String {
        var meaning = self
        for index in meaning.rules.indices {
            meaning.rules[index].file = ""
            meaning.rules[index].line = 0
            meaning.rules[index].description = nil
        }
        return Self.hash(meaning.json())
    }

    /// The fingerprint of the whole IR, file paths and lines included, as states saved before
    /// `fingerprint` left them out were keyed (for a store that accepts those once, to move them on).
    public var legacyFingerprint: String { Self.hash(json()) }

    static func hash(_ data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return String(hash, radix: 16)
    }

    public static func load(json data: Data) throws(LoadError) -> Program {
        struct Header: Decodable { var version: Int }
        let decoder = JSONDecoder()
        guard let header = try? decoder.decode(Header.self, from: data) else { throw .unreadable("no `version` field") }
        guard header.version == formatVersion else { throw .version(found: header.version) }
        do {
            return try decoder.decode(Program.self, from: data)
        } catch {
            throw .unreadable("\(error)")
        }
    }

    /// Checks and lowers a rule set report; nil (and the problems) when it has errors.
    public static func compile(_ report: RuleSetReport, extraFields: [String] = []) -> (Program?, [String]) {
        guard let checked = report.checked, !report.diagnostics.contains(where: { $0.severity == .error }) else { return (nil, []) }
        let (program, problems) = Lowering.lower(checked, extraFields: extraFields) { file, span in
            report.sources[file]?.location(of: span.start).line ?? 0
        }
        return (problems.isEmpty ? program : nil, problems)
    }
}
