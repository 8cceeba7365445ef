#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import GRDB
import Testing
import RedressIR
@testable import RedressEvents
@testable import RedressEngine
@testable import RedressState
@testable import RedressRuntime

/// Restarts that never drop input (docs/events.md, "Restarts"): the hash of what was consumed,
/// the decision where to read a restarted run's input from, the set of processed events, the
/// pipeline that skips those read again, and the state's tables for them.
@Suite struct RestartIdentityTests {
    /// A new path in the state tests' scratch directory (removed when the test process exits).
    static func path(_ name: String) -> String { StateStoreTests.directory.appendingPathComponent("\(UUID().uuidString)-\(name)").path }

    static func write(_ text: String, to path: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }

    static func append(_ text: String, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    static func hash(_ bytes: [UInt8], seed: UInt64 = ConsumedInput.seed) -> StreamHash {
        var hash = StreamHash(seed: seed)
        bytes.withUnsafeBytes { hash.add($0) }
        return hash
    }

    // MARK: - The stream hash

    /// Fed in pieces of any size, the hash is that of the bytes: a line at a time and a buffer
    /// at a time agree. Any change of a byte, of the length, or of the seed changes it.
    @Test func theStreamHashDependsOnTheBytesNotOnHowTheyWereCut() {
        var generator = SplitMixGenerator(state: 7)
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 100, 1_000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let whole = Self.hash(bytes).digest
            for _ in 0..<20 {
                var hash = StreamHash(seed: ConsumedInput.seed)
                var start = 0
                while start < length {
                    let end = min(length, start + Int.random(in: 0...12, using: &generator))
                    bytes[start..<end].withUnsafeBytes { hash.add($0) }
                    start = end
                }
                #expect(hash.digest == whole && hash.length == Int64(length))
            }
            if length > 0 {
                var changed = bytes
                changed[length / 2] ^= 1
                #expect(Self.hash(changed).digest != whole)
                #expect(Self.hash(Array(bytes.dropLast())).digest != whole)
            }
            #expect(Self.hash(bytes + [0]).digest != whole)
            #expect(Self.hash(bytes, seed: 1).digest != whole)
        }
        // Ids and lines are hashed apart: the same text in the two roles is two identities.
        let text = "{\"event\":\"x\"}"
        let line = Array(text.utf8)
        #expect(line.withUnsafeBufferPointer { EventIdentity.derived(line: $0) } != EventIdentity.of(id: text))
        #expect(EventIdentity.derived(row: line, event: 0) != EventIdentity.derived(row: line, event: 1))
    }

    // MARK: - The processed set

    @Test func theProcessedSetHoldsEachHashOnce() {
        let set = ProcessedEvents()
        var generator = SplitMixGenerator(state: 11)
        let hashes = (0..<200_000).map { _ in UInt64.random(in: .min ... .max, using: &generator) } + [0, 1, .max]
        for hash in hashes { #expect(set.insert(hash)) }
        #expect(set.count == hashes.count)
        for hash in hashes.prefix(1_000) { #expect(!set.insert(hash)) }
        #expect(set.count == hashes.count)
        #expect(hashes.allSatisfy(set.contains))
        #expect(!set.contains(12345) || hashes.contains(12345))
        // A hash's first slot is spread over the whole part (not all at its start).
        #expect(Set((0..<1_000).map { ProcessedEvents.home(UInt64($0) << 22, 1_000) }).count > 900)
        // 8 bytes per hash in tables at least 64% full (once past their first size): under 13 each.
        #expect(set.memoryBytes < hashes.count * 13)

        var segment = ProcessedSegment()
        for (index, hash) in hashes.prefix(100).enumerated() { segment.append(hash, time: Int64(index % 7)) }
        #expect(segment.newest == 6)
        let copy = ProcessedEvents()
        segment.bytes.withUnsafeBytes { ProcessedSegment.load($0, into: copy) }
        #expect(copy.count == 100 && hashes.prefix(100).allSatisfy(copy.contains))
    }

    /// Room made for the events a file will bring: no part grows while they are added, and the
    /// hashes already there stay.
    @Test func aReservedSetTakesItsEventsWithoutGrowing() {
        let set = ProcessedEvents()
        var generator = SplitMixGenerator(state: 5)
        let before = (0..<1_000).map { _ in UInt64.random(in: .min ... .max, using: &generator) }
        for hash in before { set.insert(hash) }
        set.reserve(101_000)
        let reserved = set.memoryBytes
        let after = (0..<100_000).map { _ in UInt64.random(in: .min ... .max, using: &generator) }
        for hash in after { #expect(set.insert(hash)) }
        #expect(set.memoryBytes == reserved)
        #expect(set.count == 101_000 && before.allSatisfy(set.contains) && after.allSatisfy(set.contains))
        // Room for what was asked, not much more: 8 bytes per hash, at most four fifths full, and
        // a few standard deviations per part.
        #expect(reserved < 101_000 * 12)
    }

    // MARK: - Where a restart reads from

    static func open(_ path: String) throws -> Int32 {
        let descriptor = Foundation.open(path, O_RDONLY)
        try #require(descriptor >= 0)
        return descriptor
    }

    /// What a run that read `bytes` bytes of the file at `path` records.
    static func consumed(_ path: String, bytes: Int64) throws -> ConsumedInput {
        let descriptor = try open(path)
        defer { close(descriptor) }
        var input = ConsumedInput(descriptor: descriptor, path: path)
        input.bytes = bytes
        input.prefixHash = try #require(InputResume.hashPrefix(descriptor: descriptor, bytes: bytes)).digest
        return input
    }

    static func decide(_ path: String, line: Int? = 2, recorded: ConsumedInput?) throws -> InputResume {
        let descriptor = path == "-" ? STDIN_FILENO : try open(path)
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }
        return InputResume.decide(descriptor: descriptor, input: ConsumedInput(descriptor: descriptor, path: path),
                                  checkpointLine: line, recorded: recorded)
    }

    @Test func aRestartGoesOnOnlyInTheSameFileWithTheSameBytes() throws {
        let file = Self.path("day.jsonl")
        try Self.write("line one\nline two\n", to: file)
        let recorded = try Self.consumed(file, bytes: 18)
        let continued = InputResume.after(line: 2, bytes: 18, hash: Self.hash(Array("line one\nline two\n".utf8)))

        #expect(try Self.decide(file, line: nil, recorded: nil) == .fromStart(.firstRun))
        // The same file, unchanged: on after the checkpoint (nothing more to read).
        #expect(try Self.decide(file, recorded: recorded) == continued)
        // It grew: on after the checkpoint, with the new lines.
        try Self.append("line three\n", to: file)
        #expect(try Self.decide(file, recorded: recorded) == continued)
        // Renamed: still the same file (device and inode).
        let renamed = Self.path("renamed.jsonl")
        try FileManager.default.moveItem(atPath: file, toPath: renamed)
        #expect(try Self.decide(renamed, recorded: recorded) == continued)
        // A copy is another file, even with the same bytes: from the start.
        let copy = Self.path("copy.jsonl")
        try FileManager.default.copyItem(atPath: renamed, toPath: copy)
        #expect(try Self.decide(copy, recorded: recorded) == .fromStart(.otherFile(file)))
        // Written anew under its name (another inode), beginning with the bytes read: on.
        let rewritten = Self.path("rewritten.jsonl")
        try Self.write("line one\nline two\nline four\n", to: rewritten)
        let before = try Self.consumed(rewritten, bytes: 18)
        try FileManager.default.removeItem(atPath: rewritten)
        try Self.write("line one\nline two\nline five\n", to: rewritten)
        #expect(try Self.decide(rewritten, recorded: before) == continued)
        // Its consumed bytes changed in place (same length), or cut: from the start.
        let edited = try FileHandle(forWritingTo: URL(fileURLWithPath: renamed))
        try edited.seek(toOffset: 5)
        try edited.write(contentsOf: Data("ONE".utf8))
        try edited.close()
        #expect(try Self.decide(renamed, recorded: recorded) == .fromStart(.changed(file)))
        #expect(truncate(renamed, 10) == 0)
        #expect(try Self.decide(renamed, recorded: recorded) == .fromStart(.changed(file)))
        // A state of an earlier version (no input recorded): after its line, as then.
        #expect(try Self.decide(renamed, line: 5, recorded: nil) == .afterLine(5))
    }

    @Test func standardInputAndPipesAreReadFromTheirStart() throws {
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        let piped = ConsumedInput(descriptor: ends[0], path: "/dev/stdin")
        #expect(!piped.isFile)
        let file = Self.path("piped.jsonl")
        try Self.write("x\n", to: file)
        let recorded = try Self.consumed(file, bytes: 2)
        #expect(InputResume.decide(descriptor: ends[0], input: piped, checkpointLine: 1, recorded: recorded) == .fromStart(.notAFile))
        // `-` is standard input whatever it is connected to, a file included.
        let descriptor = try Self.open(file)
        defer { close(descriptor) }
        let dash = ConsumedInput(descriptor: descriptor, path: "-")
        #expect(!dash.isFile)
        #expect(InputResume.decide(descriptor: descriptor, input: dash, checkpointLine: 1, recorded: recorded) == .fromStart(.notAFile))
        // Nor is a pipe ever the input read before, even the same pipe.
        #expect(!piped.isSameFile(as: piped))
    }

    // MARK: - The line reader and the pipeline

    static let program = compile("rule late on shipment.delivered when shipment.delay > 2d then refund 5 EUR")

    /// The line reader hashes what it hands out; a reader that resumes at a checkpoint's byte
    /// with its hash numbers lines on and ends with the hash of the whole file.
    @Test func aResumedLineReaderGoesOnWithTheNumbersAndTheHash() throws {
        let text = "\u{FEFF}first\r\n\nsecond\n" + String(repeating: "x", count: 300) + "\nlast"
        let file = Self.path("lines.jsonl")
        try Self.write(text, to: file)
        let descriptor = try Self.open(file)
        defer { close(descriptor) }
        let reader = LineReader(descriptor: descriptor, bufferSize: 64, maximumLineLength: 100, prefix: StreamHash(seed: ConsumedInput.seed))
        var seen: [(Int, Int64)] = []
        var checkpoint: (Int, StreamHash)? = nil
        while reader.next({ _, number in seen.append((number, reader.consumed)) }) {
            if seen.count == 3 { checkpoint = (reader.lineNumber, try #require(reader.prefix)) }
        }
        #expect(seen.map(\.0) == [1, 2, 3, 4, 5])
        #expect(reader.prefix?.digest == Self.hash(Array(text.utf8)).digest)
        let (line, hash) = try #require(checkpoint)
        #expect(line == 3 && hash.length == Int64(Array("\u{FEFF}first\r\n\nsecond\n".utf8).count))

        #expect(lseek(descriptor, off_t(hash.length), SEEK_SET) == off_t(hash.length))
        let resumed = LineReader(descriptor: descriptor, bufferSize: 64, maximumLineLength: 100, prefix: hash, line: line)
        var numbers: [Int] = []
        var overlong: [Int] = []
        while resumed.next({ _, number in numbers.append(number); overlong.append(resumed.overlongLength) }) {}
        #expect(numbers == [4, 5] && overlong == [300, 0])
        #expect(resumed.prefix?.digest == Self.hash(Array(text.utf8)).digest && resumed.consumed == Int64(Array(text.utf8).count))
    }

    /// With a processed set, the pipeline hands out an event whose id (or, without one, whose
    /// line) was processed before — in an earlier input or earlier in this one — as already
    /// processed; each item comes with the hash of the input through its line.
    @Test func thePipelineHandsOutEventsProcessedBeforeAsSuch() throws {
        let program = try #require(Self.program)
        func line(_ id: String?, _ minute: Int) -> String {
            let event = Shop.delivered("2026-11-01T10:\(minute < 10 ? "0" : "")\(minute):00Z")
            return id.map { event.replacingOccurrences(of: "{\"event\"", with: "{\"id\":\"\($0)\",\"event\"") } ?? event
        }
        let lines = [line("a", 1), line("b", 2), "not json", line("a", 3), line(nil, 4), "", line(nil, 5), line(nil, 4), line("c", 6), "not json"]
        let text = lines.joined(separator: "\n") + "\n"
        let file = Self.path("events.jsonl")
        try Self.write(text, to: file)
        let descriptor = try Self.open(file)
        defer { close(descriptor) }
        let processed = ProcessedEvents()
        processed.insert(EventIdentity.of(id: "c"))
        let pipeline = EventPipeline(reader: EventReader(program: program),
                                     lines: LineReader(descriptor: descriptor, prefix: StreamHash(seed: ConsumedInput.seed)),
                                     slotCount: program.slots.count, processed: processed, batchSize: 3)
        var items: [String] = []
        var ends: [Int64] = []
        pipeline.run { item, number in
            switch item {
            case .event(let event): items.append("\(number) \(event.id.isEmpty ? "-" : event.id)")
            case .deadLetter: items.append("\(number) dead")
            case .alreadyKept: items.append("\(number) dead again")
            case .alreadyProcessed(let event): items.append("\(number) \(event.id.isEmpty ? "-" : event.id) again")
            }
            if let consumed = pipeline.consumedThrough {
                ends.append(consumed.length)
                let prefix = Array(text.utf8.prefix(Int(consumed.length)))
                #expect(consumed.digest == Self.hash(prefix).digest)
            }
            return true
        }
        #expect(items == ["1 a", "2 b", "3 dead", "4 a again", "5 -", "7 -", "8 - again", "9 c again", "10 dead again"])
        let lengths = lines.map { $0.utf8.count + 1 }
        #expect(ends == [1, 2, 3, 4, 5, 7, 8, 9, 10].map { lengths.prefix($0).reduce(0, +) }.map(Int64.init))
        // a, b, the two lines without an id, c, the bad line.
        #expect(processed.count == 6)
    }

    // MARK: - CSV

    /// A CSV source says how many bytes it consumed through each row (a row over two lines
    /// included), and identifies events by the mapping's id or by their row and place.
    @Test func aCSVSourceCountsItsBytesAndIdentifiesItsEvents() throws {
        let program = CSVFixture.program()
        let csv = "id,at,note\r\nA,2026-01-01T00:00:00Z,x\r\nB,2026-01-02T00:00:00Z,\"two\nlines\"\r\nC,2026-01-03T00:00:00Z,z\r\n"
        let yaml = """
            fields: { order.id: id, order.note: note }
            events:
              - { event: order.placed, time: at, id: "{id}/placed" }
              - { event: order.closed, time: at }
            """
        let source = try CSVFixture.open(csv, yaml, program: program)
        source.identifying = true
        var ends: [Int64] = []
        var hashes: [[UInt64]] = []
        var ids: [[String]] = []
        while let row = source.next() {
            ends.append(source.consumedBytes)
            if case .events(let events) = row {
                hashes.append(events.map(\.idHash))
                ids.append(events.map(\.id))
            }
        }
        let rows = ["id,at,note\r\n", "A,2026-01-01T00:00:00Z,x\r\n", "B,2026-01-02T00:00:00Z,\"two\nlines\"\r\n", "C,2026-01-03T00:00:00Z,z\r\n"]
        #expect(ends == (2...4).map { Int64(rows.prefix($0).joined().utf8.count) })
        #expect(ids.map(\.first) == ["A/placed", "B/placed", "C/placed"])
        #expect(hashes.map(\.first) == ["A/placed", "B/placed", "C/placed"].map(EventIdentity.of(id:)))
        #expect(hashes[0][1] == EventIdentity.derived(row: Array("A,2026-01-01T00:00:00Z,x".utf8), event: 1))
        #expect(Set(hashes.flatMap { $0 }).count == 6)
    }

    // MARK: - The state's tables

    /// A state file of the layout before inputs and processed events were recorded opens (the
    /// columns and the table are added), its checkpoint has no input (so the next run goes on
    /// after its line, as it did), and then records both.
    @Test func aStateOfTheEarlierLayoutGetsTheNewColumnsAndTable() throws {
        let path = Self.path("earlier.db")
        do {
            let database = try DatabaseQueue(path: path)
            try database.write { db in
                try db.execute(sql: """
                    CREATE TABLE checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL, output_bytes INTEGER NOT NULL,
                        dead_letter_bytes INTEGER NOT NULL, program TEXT NOT NULL, clock INTEGER NOT NULL, pending TEXT NOT NULL,
                        statistics TEXT NOT NULL);
                    CREATE TABLE state (category TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (category, key));
                    CREATE TABLE emitted (key TEXT PRIMARY KEY, position INTEGER NOT NULL);
                    INSERT INTO checkpoint VALUES (1, 7, 120, 0, 'p', 5, '{}', '{"events":7,"eventsByType":{},"decisions":1,"heldBack":{}}');
                    INSERT INTO state VALUES ('occurrences', 'late|S1', '1');
                    """)
            }
        }
        let store = try StateStore(path: path)
        let (checkpoint, state) = try #require(try store.load(program: "p", path: path))
        #expect(checkpoint.position == 7 && checkpoint.outputBytes == 120 && checkpoint.input == nil)
        #expect(state.occurrences == ["late|S1": 1] && state.statistics.events == 7)
        #expect(try store.loadProcessed().count == 0)

        let input = ConsumedInput(path: "day.jsonl", device: 3, inode: .max, bytes: 99, prefixHash: 0xFEDC_BA98_7654_3210)
        var first = ProcessedSegment()
        first.append(EventIdentity.of(id: "a"), time: 1_000)
        first.append(0, time: 500)
        var second = ProcessedSegment()
        second.append(EventIdentity.of(id: "b"), time: 9_000)
        try store.save(state, outputBytes: 130, deadLetterBytes: 0, program: "p", emitted: [], input: input, processed: first)
        try store.save(StateChanges(), outputBytes: 130, deadLetterBytes: 0, program: "p", emitted: [], input: input, processed: second)
        // One row per checkpoint, whatever the number of events.
        #expect(try store.database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM processed") } == 2)

        let reopened = try StateStore(path: path)
        #expect(try reopened.load(program: "p", path: path)?.0.input == input)
        let processed = try reopened.loadProcessed()
        #expect(processed.count == 3 && processed.contains(EventIdentity.of(id: "a")) && processed.contains(0) && processed.contains(EventIdentity.of(id: "b")))
        // The retention hook forgets whole checkpoints' events, by their latest event time.
        #expect(try reopened.dropProcessedEvents(before: 5_000) == 2)
        let kept = try reopened.loadProcessed()
        #expect(kept.count == 1 && kept.contains(EventIdentity.of(id: "b")))
    }
}
