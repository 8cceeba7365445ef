import Foundation
import RedressEngine
import RedressEvents
import RedressIR

/// The history the workbench replays (`--events FILE…`, JSON lines): read once at start and kept
/// as lines, because every edit of the rules compiles a new program with its own slots, and the
/// lines are parsed again for it. Several files are one history, as for `redress simulate`.
public struct EventHistory: Sendable {
    public struct Line: Sendable {
        public var file: String
        public var number: Int
        public var bytes: [UInt8]
    }

    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public private(set) var files: [String] = []
    public private(set) var lines: [Line] = []
    /// Lines longer than the reader's limit: each one a bad line of every replay.
    public private(set) var overlong = 0

    public init() {}

    /// Reads the files' non-blank lines; a file that cannot be read is an error (the workbench
    /// would otherwise report the cost of part of the history as if it were all of it).
    public init(files: [String], maximumLineLength: Int = LineLimit.defaultBytes) throws(Problem) {
        for path in files {
            let descriptor = open(path, O_RDONLY)
            guard descriptor >= 0 else { throw Problem(description: "cannot read the events \(path): \(String(cString: strerror(errno)))") }
            defer { close(descriptor) }
            let reader = LineReader(descriptor: descriptor, maximumLineLength: maximumLineLength)
            var kept: [Line] = []
            var overlong = 0
            while reader.next({ line, number in
                if reader.overlongLength > 0 {
                    overlong += 1
                    return
                }
                if line.allSatisfy({ $0 == 32 || $0 == 9 }) { return }
                kept.append(Line(file: path, number: number, bytes: Array(line)))
            }) {}
            if let failure = reader.failure { throw Problem(description: "cannot read the events \(path): \(failure)") }
            self.files.append(path)
            self.lines += kept
            self.overlong += overlong
        }
    }

    public var isEmpty: Bool { files.isEmpty }

    /// The events as `program` reads them, and the number of lines it could not read.
    public func events(for program: Program) -> (events: [Event], badLines: Int) {
        let reader = EventReader(program: program)
        var scratch = Event(slotCount: program.slots.count)
        var events: [Event] = []
        events.reserveCapacity(lines.count)
        var bad = overlong
        for line in lines {
            let reason = line.bytes.withUnsafeBufferPointer { reader.read($0, number: line.number, into: &scratch) }
            if reason == nil { events.append(scratch) } else { bad += 1 }
        }
        return (events, bad)
    }

    /// The index of the first line whose event has this id (as `program` reads it).
    public func index(ofEventWithID id: String, program: Program) -> Int? {
        let reader = EventReader(program: program)
        var scratch = Event(slotCount: program.slots.count)
        for (index, line) in lines.enumerated() {
            let reason = line.bytes.withUnsafeBufferPointer { reader.read($0, number: line.number, into: &scratch) }
            if reason == nil, scratch.id == id { return index }
        }
        return nil
    }
}
