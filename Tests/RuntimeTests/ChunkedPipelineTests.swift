import Foundation
import RedressIR
@testable import RedressEvents
@testable import RedressEngine
@testable import RedressRuntime
import Testing

/// The chunked pipeline must hand out exactly what reading the file line by line gives: the same
/// events with the same line numbers, the same dead letters, in the same order — whatever the
/// chunk size, wherever a line crosses a chunk boundary, with CRLF, blank lines, a missing final
/// newline and lines longer than a chunk.
@Suite struct ChunkedPipelineTests {
    static let program = compile("rule late on shipment.delivered when shipment.delay > 2d then refund 5 EUR")

    /// What the pipeline delivers, as comparable text: `line: type time id` or `line: dead reason`.
    static func items(_ pipeline: (((EventPipeline.Item, Int) -> Bool) -> Void)) -> [String] {
        var out: [String] = []
        pipeline { item, number in
            switch item {
            case .event(let event):
                out.append("\(number)/\(event.line): \(event.type) \(event.time) \(event.id) \(event.slots.map { $0.isMissing ? "-" : String($0.bits) })")
            case .deadLetter(let letter):
                out.append("\(number)/\(letter.line): dead \(letter.reason) [\(letter.text)]")
            case .alreadyProcessed(let event):
                out.append("\(number)/\(event.line): already processed")
            case .alreadyKept(let letter):
                out.append("\(number)/\(letter.line): already kept")
            }
            return true
        }
        return out
    }

    static func file(_ text: String) throws -> Int32 {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("redress-chunks-\(UUID().uuidString).jsonl")
        try Data(text.utf8).write(to: url)
        let descriptor = open(url.path, O_RDONLY)
        try? FileManager.default.removeItem(at: url)  // the open descriptor keeps it readable
        return descriptor
    }

    static let sample: String = {
        var lines: [String] = []
        for i in 0..<60 {
            let base = "{\"event\":\"shipment.delivered\",\"time\":\"2026-01-01T00:\(String(format: "%02d", i % 60)):00Z\",\"id\":\"e\(i)\""
            switch i % 9 {
            case 0: lines.append(base + ",\"shipment\":{\"id\":\"S\(i)\",\"delay\":\"\(i)h\"}}")
            case 1: lines.append("")  // blank
            case 2: lines.append(base + ",\"shipment\":{\"id\":\"S\(i)\",\"delay\":\"3d\",\"note\":\"" + String(repeating: "x", count: 300) + "\"}}")
            case 3: lines.append("{not json")
            case 4: lines.append(base + ",\"shipment\":{\"id\":\"S\(i)\",\"delay\":\"1d\"}}\r")  // CRLF
            case 5: lines.append("   ")
            case 6: lines.append("{\"event\":\"shipment.delivered\",\"time\":\"2026-01-01T01:00:00Z\",\"shipment\":{\"id\":\"S\(i)\",\"delay\":\"2d1h\"}}")  // no id
            default: lines.append(base + ",\"shipment\":{\"id\":\"S\\\"\(i)\",\"delay\":\"-\(i)m\"}}")
            }
        }
        return lines.joined(separator: "\n")  // no final newline
    }()

    /// Both ways of reading a chunk: from the mapped file, and with `pread` into a buffer.
    @Test(arguments: [7, 64, 100, 257, 1024, 1 << 20], [true, false])
    func sameItemsAsReadingLineByLine(chunkSize: Int, mapped: Bool) throws {
        let program = try #require(Self.program)
        let reader = EventReader(program: program)
        for text in [Self.sample, Self.sample + "\n", "\n\n" + Self.sample + "\n\n"] {
            let sequential = try Self.file(text)
            defer { close(sequential) }
            let expected = Self.items { body in
                EventPipeline(reader: reader, lines: LineReader(descriptor: sequential), slotCount: program.slots.count).run(body)
            }
            let chunkedFile = try Self.file(text)
            defer { close(chunkedFile) }
            let chunked = try #require(ChunkedEventPipeline(reader: reader, descriptor: chunkedFile, slotCount: program.slots.count,
                                                           workers: 3, chunkSize: chunkSize, mapped: mapped))
            #expect((chunked.mapping != nil) == mapped)
            var failure: String? = "not run"
            let actual = Self.items { body in failure = chunked.run(body) }
            #expect(failure == nil)
            #expect(actual == expected)
            #expect(expected.count > 40)
        }
    }

    @Test func stopsEarlyWhenAsked() throws {
        let program = try #require(Self.program)
        let descriptor = try Self.file(Self.sample)
        defer { close(descriptor) }
        let pipeline = try #require(ChunkedEventPipeline(reader: EventReader(program: program), descriptor: descriptor,
                                                        slotCount: program.slots.count, workers: 2, chunkSize: 64))
        var seen = 0
        pipeline.run { _, _ in
            seen += 1
            return seen < 5
        }
        #expect(seen == 5)
    }

    @Test func aPipeIsNotAFile() throws {
        let program = try #require(Self.program)
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        defer { close(descriptors[0]); close(descriptors[1]) }
        #expect(ChunkedEventPipeline(reader: EventReader(program: program), descriptor: descriptors[0], slotCount: program.slots.count) == nil)
    }
}

/// A value of the wrong kind is named in the dead letter's reason as it is written on the line.
@Suite struct WrongValueReasonTests {
    @Test(arguments: [
        ("\"id\":12345", "shipment.id must be a string, found 12345"),
        ("\"id\":{\"a\":[1,2]}", "shipment.id must be a string, found {\"a\":[1,2]}"),
        ("\"id\":\"S1\",\"delay\":true", "shipment.delay must be a duration such as \"3d\" or \"-90m\", found true"),
    ])
    func reasonQuotesTheValue(_ fields: String, _ expected: String) throws {
        let program = try #require(compile("rule late on shipment.delivered when shipment.delay > 2d and shipment.id != \"x\" then refund 5 EUR"))
        let line = "{\"event\":\"shipment.delivered\",\"time\":\"2026-01-01T00:00:00Z\",\"shipment\":{\(fields)}}"
        var event = Event(slotCount: program.slots.count)
        var copy = line
        let reason = copy.withUTF8 { EventReader(program: program).read($0, number: 1, into: &event) }
        #expect(reason == expected)
    }
}
