#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import RedressIR
import RedressEvents
import RedressEngine

/// One input of a replay (`simulate` and its `--baseline`, `diff`) read once for one or more
/// programs: each unit (a JSON line, a CSV row) is read for every program, since each has its
/// own slots (a JSON reader per program) and its own mapping (a CSV source per program, all on
/// the rows the first one reads). Standard input cannot be read twice, and a file read twice
/// could change in between; reading once gives every program the same events.
///
/// Nothing is dropped silently: what a program cannot read is a dead letter, counted for it.
public final class ReplaySource {
    public let name: String
    let programs: [Program]
    let descriptor: Int32
    let maximumLineLength: Int
    /// The CSV sources, one per program (the first reads the rows); empty for JSON lines.
    let rows: [CSVEventSource]
    /// Why reading stopped before the end (an I/O error), or nil; read after `read`.
    public private(set) var failure: String? = nil

    init(programs: [Program], descriptor: Int32, path: String, maximumLineLength: Int, rows: [CSVEventSource]) {
        name = path
        self.programs = programs
        self.descriptor = descriptor
        self.maximumLineLength = maximumLineLength
        self.rows = rows
    }

    /// JSON lines: `descriptor` is open on the input at its start; `path` names it (`-` for
    /// standard input).
    public convenience init(programs: [Program], descriptor: Int32, path: String, maximumLineLength: Int = LineLimit.defaultBytes) {
        self.init(programs: programs, descriptor: descriptor, path: path, maximumLineLength: maximumLineLength, rows: [])
    }

    /// The input in `format`; a CSV file is refused here when it does not fit the mapping (its
    /// header is read, its joined files loaded).
    public convenience init(programs: [Program], descriptor: Int32, path: String, format: EventFormat,
                            maximumLineLength: Int = LineLimit.defaultBytes) throws(InputFailure) {
        guard case .csv(let mappings, let joinPaths) = format else {
            self.init(programs: programs, descriptor: descriptor, path: path, maximumLineLength: maximumLineLength)
            return
        }
        precondition(mappings.count == programs.count, "one mapping per program")
        let limits = CSVLimits.bounding(lines: maximumLineLength)
        var sources: [CSVEventSource] = []
        do {
            let leader = try CSVEventSource(mapping: mappings[0], program: programs[0], descriptor: descriptor, path: path,
                                            joinPaths: joinPaths, limits: limits)
            sources.append(leader)
            for index in programs.indices.dropFirst() {
                sources.append(try CSVEventSource(mapping: mappings[index], program: programs[index], sharingRowsOf: leader, joinPaths: joinPaths))
            }
        } catch {
            throw InputFailure(message: "cannot read \(path) through the mapping", mapping: error)
        }
        self.init(programs: programs, descriptor: descriptor, path: path, maximumLineLength: maximumLineLength, rows: sources)
    }

    /// Remarks about joined files (keys of `rows: one` joins that appear more than once).
    public var warnings: [String] { rows.first?.warnings ?? [] }

    /// Rows of joined files that could not be read (they join nothing).
    public var joinProblems: [DeadLetter] { rows.first?.joinProblems ?? [] }

    /// Reads to the end, or until `body` returns false: for each unit in input order, each
    /// program's item (by its index among the programs) and the line the unit starts on.
    /// An event is lent by pointer, valid during the call.
    public func read(_ body: (_ program: Int, _ item: ReplayItem, _ line: Int) -> Bool) {
        if rows.isEmpty { readLines(body) } else { readRows(body) }
    }

    /// What a replay is handed per unit and program.
    public enum ReplayItem {
        case event(UnsafePointer<Event>)
        case deadLetter(DeadLetter)
    }

    func readLines(_ body: (Int, ReplayItem, Int) -> Bool) {
        let readers = programs.map { EventReader(program: $0) }
        var scratch = programs.map { Event(slotCount: $0.slots.count) }
        let lines = LineReader(descriptor: descriptor, maximumLineLength: maximumLineLength)
        var going = true
        while going, lines.next({ line, number in
            if lines.overlongLength > 0 {
                let letter = DeadLetter.overlong(line: number, length: lines.overlongLength, limit: lines.maximumLineLength, start: line)
                for index in programs.indices where going { going = body(index, .deadLetter(letter), number) }
                return
            }
            if line.allSatisfy({ $0 == 32 || $0 == 9 }) { return }
            for index in programs.indices where going {
                if let reason = readers[index].read(line, number: number, into: &scratch[index]) {
                    going = body(index, .deadLetter(DeadLetter(line: number, reason: reason, text: String(decoding: line, as: UTF8.self))), number)
                } else {
                    going = withUnsafePointer(to: &scratch[index]) { body(index, .event($0), number) }
                }
            }
        }) {}
        failure = lines.failure
    }

    func readRows(_ body: (Int, ReplayItem, Int) -> Bool) {
        let leader = rows[0]
        while let first = leader.next() {
            let number = leader.line
            for index in rows.indices {
                // The leader read the row; the others map the same one.
                switch index == 0 ? first : rows[index].current() {
                case .blank: continue
                case .deadLetter(let letter):
                    if !body(index, .deadLetter(letter), number) { return }
                case .events(var events):
                    for position in events.indices {
                        if !withUnsafePointer(to: &events[position], { body(index, .event($0), number) }) { return }
                    }
                }
            }
        }
        failure = leader.readFailure
    }

    /// The events of every input in `paths` (one history, in the order given) for each program,
    /// and how many units each program could not read. `-` is standard input.
    public static func collect(_ programs: [Program], paths: [String], format: EventFormat,
                               maximumLineLength: Int = LineLimit.defaultBytes,
                               warn: (String) -> Void = { _ in }) throws(InputFailure) -> [ReplayEvents] {
        var results = [ReplayEvents](repeating: ReplayEvents(), count: programs.count)
        for path in paths {
            let descriptor = path == "-" ? STDIN_FILENO : open(path, O_RDONLY)
            guard descriptor >= 0 else { throw InputFailure(message: "cannot read \(path): \(String(cString: strerror(errno)))") }
            defer { if descriptor != STDIN_FILENO { close(descriptor) } }
            let source = try ReplaySource(programs: programs, descriptor: descriptor, path: path, format: format, maximumLineLength: maximumLineLength)
            for warning in source.warnings { warn(warning) }
            // Not bad rows of the input itself (the report counts those): said apart, never skipped silently.
            if let first = source.joinProblems.first {
                let count = source.joinProblems.count
                warn("\(count) row\(count == 1 ? "" : "s") of joined files could not be read and join nothing (first: \(first.reason), line \(first.line))")
            }
            source.read { index, item, _ in
                switch item {
                case .event(let event): results[index].events.append(event.pointee)
                case .deadLetter: results[index].deadLetters += 1
                }
                return true
            }
            if let failure = source.failure { throw InputFailure(message: "cannot read \(path): \(failure)") }
        }
        return results
    }
}

/// What one program of a replay got from its input: the events in input order, and how many
/// units (lines, rows) it could not read.
public struct ReplayEvents: Sendable {
    public var events: [Event] = []
    public var deadLetters = 0
    public init() {}
}
