#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing
import RedressIR
@testable import RedressEvents
import RedressEngine
import RedressRuntime

/// A replay's input read once for several rule sets (`simulate --baseline`, `diff`): each gets
/// what reading the input for it alone gives, also from a pipe, which cannot be read twice.
struct ReplaySourceTests {
    /// Two programs with different slots: the fixture's, which reads every field, and one that
    /// reads only `order.count` (so a bad `ratio` is a bad unit for the first only).
    static let programs = [CSVFixture.program(), CSVFixture.program(rules: "rule few on order.placed when order.count > 1 then refund 1 BRL\n")]

    /// What a program got, in a form two reads can be compared by.
    static func summary(_ events: [Event], _ program: Program) -> [String] {
        events.map { event in
            "\(program.events[event.type].name) \(event.time) \(event.id) line \(event.line) count \(event.value("order.count", program))"
        }
    }

    /// A pipe holding `text` (written whole, then closed): read end returned.
    static func pipe(_ text: String) throws -> Int32 {
        var ends: [Int32] = [0, 0]
        try #require(Glibc.pipe(&ends) == 0)
        let bytes = Array(text.utf8)
        try #require(bytes.count < 60_000, "a pipe holds 64 KiB without a reader")
        try #require(write(ends[1], bytes, bytes.count) == bytes.count)
        close(ends[1])
        return ends[0]
    }

    static let mapping = """
        time_format: YYYY-MM-DD HH:MM:SS
        currency: BRL
        fields:
          order.id: id
          order.count: count
          order.ratio: ratio
        events:
          - { event: order.placed, time: placed, id: "{id}/placed" }
        """
    static let csv = """
        id,count,ratio,placed
        O1,2,0.5,2026-01-01 10:00:00
        O2,3,not a number,2026-01-01 11:00:00

        O3,x,0.5,2026-01-01 12:00:00
        O4,4,1.5,2026-01-01 13:00:00

        """

    @Test func csvRowsFromAPipeGiveEachProgramWhatItsOwnReadGives() throws {
        let programs = Self.programs
        let mappings = programs.map { CSVFixture.mapping(Self.mapping, program: $0) }
        let descriptor = try Self.pipe(Self.csv)
        defer { close(descriptor) }
        let source = try ReplaySource(programs: programs, descriptor: descriptor, path: "-", format: .csv(mappings: mappings, joinPaths: [:]))
        var got = [ReplayEvents](repeating: ReplayEvents(), count: programs.count)
        source.read { index, item, _ in
            switch item {
            case .event(let event): got[index].events.append(event.pointee)
            case .deadLetter: got[index].deadLetters += 1
            }
            return true
        }
        #expect(source.failure == nil)
        for (index, program) in programs.enumerated() {
            let alone = CSVFixture.rows(try CSVFixture.open(Self.csv, Self.mapping, program: program))
            #expect(Self.summary(got[index].events, program) == Self.summary(CSVFixture.events(alone), program))
            #expect(got[index].deadLetters == CSVFixture.deadLetters(alone).count)
        }
        // The ratio is read by the first program only: O2 is a bad row for it, an event for the other.
        #expect(got[0].events.count == 2 && got[0].deadLetters == 2)
        #expect(got[1].events.count == 3 && got[1].deadLetters == 1)
    }

    static func line(_ id: String, count: String, ratio: String, at time: String) -> String {
        "{\"id\":\"\(id)\",\"event\":\"order.placed\",\"time\":\"\(time)\",\"order\":{\"id\":\"\(id)\",\"count\":\(count),\"ratio\":\(ratio)}}"
    }

    @Test func jsonLinesFromAPipeGiveEachProgramWhatItsOwnReadGives() throws {
        let programs = Self.programs
        let text = [Self.line("O1", count: "2", ratio: "0.5", at: "2026-01-01T10:00:00Z"),
                    Self.line("O2", count: "3", ratio: "\"half\"", at: "2026-01-01T11:00:00Z"),
                    "",
                    "not json",
                    Self.line("O4", count: "4", ratio: "1.5", at: "2026-01-01T13:00:00Z")].joined(separator: "\n") + "\n"
        let descriptor = try Self.pipe(text)
        defer { close(descriptor) }
        let source = try ReplaySource(programs: programs, descriptor: descriptor, path: "-", format: .jsonLines)
        var got = [ReplayEvents](repeating: ReplayEvents(), count: programs.count)
        var lines: [Int] = []
        source.read { index, item, line in
            if index == 0 { lines.append(line) }
            switch item {
            case .event(let event): got[index].events.append(event.pointee)
            case .deadLetter: got[index].deadLetters += 1
            }
            return true
        }
        for (index, program) in programs.enumerated() {
            let reader = EventReader(program: program)
            var alone: [Event] = [], bad = 0
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
                var event = Event(slotCount: program.slots.count)
                var bytes = Array(line.utf8)
                let reason = bytes.withUnsafeMutableBufferPointer { reader.read(UnsafeBufferPointer($0), number: number + 1, into: &event) }
                if reason == nil { alone.append(event) } else { bad += 1 }
            }
            #expect(Self.summary(got[index].events, program) == Self.summary(alone, program))
            #expect(got[index].deadLetters == bad)
        }
        #expect(got[0].events.count == 2 && got[0].deadLetters == 2)
        #expect(got[1].events.count == 3 && got[1].deadLetters == 1)
        // Line numbers are the input's (the blank line 3 is skipped, not renumbered).
        #expect(lines == [1, 2, 4, 5])
    }

    @Test func collectReadsEveryInputInOrderAndSaysWhatItCannotRead() throws {
        let directory = CSVFixture.directory(["a.jsonl": Self.line("A", count: "2", ratio: "1", at: "2026-01-02T00:00:00Z") + "\n",
                                              "b.jsonl": Self.line("B", count: "2", ratio: "1", at: "2026-01-01T00:00:00Z") + "\n"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let paths = ["a.jsonl", "b.jsonl"].map { directory.appendingPathComponent($0).path }
        let both = try ReplaySource.collect(Self.programs, paths: paths, format: .jsonLines)
        #expect(both.map { $0.events.map(\.id) } == [["A", "B"], ["A", "B"]])
        #expect(throws: InputFailure.self) { try ReplaySource.collect(Self.programs, paths: [directory.appendingPathComponent("none").path], format: .jsonLines) }
        let failure = try? ReplaySource.collect(Self.programs, paths: [directory.path], format: .jsonLines)
        #expect(failure == nil, "a directory is an I/O error, not an empty input")
    }
}
