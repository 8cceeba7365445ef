import Foundation
import GRDB
import RedressState

/// What the evaluator did since the engine's state was last checkpointed, one row per group
/// commit: the events it evaluated (their JSON text) with the watermark each was admitted at,
/// and the watermark its deadlines fired up to at the end of the group. A restart loads the
/// checkpoint and evaluates the logged groups again in order; evaluation is deterministic, so
/// the engine comes back as it was at the last acknowledgement, with the same decisions (which
/// are in the outbox already and are not written again).
///
/// Why not checkpoint the engine at every group commit: a checkpoint rewrites every key the
/// group touched with its whole value, and some keys are touched by nearly every event (a
/// country's window for a share-per-country alarm holds every order of its week). Logging the
/// events costs what they are; the state is checkpointed every `LiveRuleSet.checkpointEvery`
/// events, after a quiet moment, and at shutdown, and the log is emptied in that transaction.
public struct IngestGroup: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var mark: Int64
        public var line: [UInt8]
    }
    /// The outbox's latest sequence before the group: the replay checks that it gives the same.
    public var firstSequence: Int64
    public var events: [Entry] = []
    /// Deadlines before this fired at the end of the group.
    public var fireMark: Int64 = .min

    public init(firstSequence: Int64) { self.firstSequence = firstSequence }

    public var isEmpty: Bool { events.isEmpty && fireMark == .min }

    /// Little-endian: per event its mark (8 bytes), its length (4) and its bytes; then the fire mark.
    var blob: Data {
        var data = Data()
        data.reserveCapacity(events.reduce(8) { $0 + 12 + $1.line.count })
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        for entry in events {
            append(entry.mark)
            append(UInt32(entry.line.count))
            data.append(contentsOf: entry.line)
        }
        append(fireMark)
        return data
    }

    /// Nil for a blob that does not read (a state written by something else).
    init?(firstSequence: Int64, blob: Data) {
        self.firstSequence = firstSequence
        let bytes = [UInt8](blob)
        var position = 0
        func read<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard position + MemoryLayout<T>.size <= bytes.count else { return nil }
            var value: T = 0
            withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[position..<(position + MemoryLayout<T>.size)]) }
            position += MemoryLayout<T>.size
            return T(littleEndian: value)
        }
        while bytes.count - position > 8 {
            guard let mark = read(Int64.self), let length = read(UInt32.self), position + Int(length) <= bytes.count else { return nil }
            events.append(Entry(mark: mark, line: Array(bytes[position..<(position + Int(length))])))
            position += Int(length)
        }
        guard let mark = read(Int64.self), position == bytes.count else { return nil }
        fireMark = mark
    }
}

/// The table of `IngestGroup`s in the state file.
enum IngestLog {
    static func create(_ store: StateStore) throws(StateStore.StoreError) {
        try store.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS ingest_log (id INTEGER PRIMARY KEY, first_sequence INTEGER NOT NULL, entries BLOB NOT NULL)")
        }
    }

    static func append(_ group: IngestGroup, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO ingest_log (first_sequence, entries) VALUES (?, ?)", arguments: [group.firstSequence, group.blob])
    }

    /// Inside a checkpoint's transaction: the state now holds what the log held.
    static func clear(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM ingest_log")
    }

    static func groups(_ store: StateStore) throws -> [IngestGroup] {
        try store.write { db in
            try Row.fetchAll(db, sql: "SELECT first_sequence, entries FROM ingest_log ORDER BY id").map { row in
                guard let group = IngestGroup(firstSequence: row[0], blob: row[1]) else {
                    throw ServiceFailure("the state's ingest log does not read (written by another program?)")
                }
                return group
            }
        }
    }
}
