import Foundation
import GRDB
import RedressState

/// What the evaluator did since the engine's state was last checkpointed, one record per group
/// commit (`IngestLogFile`): the events it evaluated (their JSON text) with the watermark each was admitted at,
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
        /// A slice of the request's body (or of the log read back): not a copy per event.
        public var line: ArraySlice<UInt8>
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
        var data: [UInt8] = []
        data.reserveCapacity(blobBytes)
        appendBlob(to: &data)
        return Data(data)
    }

    /// The blob's length in bytes.
    var blobBytes: Int { events.reduce(8) { $0 + 12 + $1.line.count } }

    /// Appends the blob to `data` (the events are most of what a commit writes: copied once,
    /// into the caller's buffer).
    func appendBlob(to data: inout [UInt8]) {
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        for entry in events {
            append(entry.mark)
            append(UInt32(entry.line.count))
            data.append(contentsOf: entry.line)
        }
        append(fireMark)
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
            events.append(Entry(mark: mark, line: bytes[position..<(position + Int(length))]))
            position += Int(length)
        }
        guard let mark = read(Int64.self), position == bytes.count else { return nil }
        fireMark = mark
    }
}

/// The `IngestGroup`s since the last checkpoint, in a file of their own beside the state
/// (`STATE-ingest`): appended with one write and one sync per group commit, before the SQLite
/// commit that records the file's new length. The events are most of what a group writes (a
/// kilobyte each); as rows in SQLite they were written twice (its log, then its file) a page at
/// a time, which halved the batches' throughput.
///
/// What counts is the length the state records: a restart reads no further (a group appended
/// but not committed was not acknowledged), and a checkpoint records 0. A record: the outbox sequence before the group (8 bytes), the blob's
/// length (4) and the blob.
final class IngestLogFile {
    let path: String
    let descriptor: Int32
    /// The length the state records (all that counts), and what was read back on opening.
    private(set) var bytes: Int64
    private(set) var groups: [IngestGroup] = []
    /// The file's size: it is written over from the start after each checkpoint rather than cut,
    /// since a sync of blocks already allocated need not update the file system's metadata (it
    /// cost ten times as much on a file cut back and grown again at every checkpoint).
    private var allocated: Int64 = 0
    /// Past this the file is cut back at a checkpoint (a large backlog made it grow).
    static let keptBytes: Int64 = 64 << 20

    /// Opens the file and cuts it back to the length the state records, reading what it holds.
    init(statePath: String, store: StateStore) throws(ServiceFailure) {
        path = statePath + "-ingest"
        var recorded: Int64 = 0
        do {
            recorded = try store.write { db in
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS ingest_log (id INTEGER PRIMARY KEY CHECK (id = 1), bytes INTEGER NOT NULL)")
                return try Int64.fetchOne(db, sql: "SELECT bytes FROM ingest_log WHERE id = 1") ?? 0
            }
        } catch {
            throw ServiceFailure("\(error)")
        }
        let existed = access(path, F_OK) == 0
        descriptor = open(path, O_RDWR | O_CREAT, 0o644)
        guard descriptor >= 0 else { throw ServiceFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
        if !existed {
            // The new file's name synced too: after a power loss the state may count on it.
            let directory = open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, O_RDONLY)
            if directory >= 0 {
                _ = fsync(directory)
                close(directory)
            }
        }
        bytes = recorded
        let size = Int64(lseek(descriptor, 0, SEEK_END))
        guard size >= recorded else {
            close(descriptor)
            throw ServiceFailure("\(path) is shorter than the state says it was (\(size) < \(recorded) bytes); it was changed outside redress")
        }
        // Bytes past the recorded length (a group appended but not committed, or what an earlier
        // round left) do not count; they are written over.
        allocated = size
        var data = [UInt8](repeating: 0, count: Int(recorded))
        let read = data.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, Int(recorded), 0) }
        guard read == Int(recorded) else {
            close(descriptor)
            throw ServiceFailure("cannot read \(path)")
        }
        var position = 0
        while position < data.count {
            guard position + 12 <= data.count else { close(descriptor); throw ServiceFailure("\(path) does not read (a record cut short)") }
            let first = data[position..<(position + 8)].withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
            let length = Int(data[(position + 8)..<(position + 12)].withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) })
            position += 12
            guard position + length <= data.count, let group = IngestGroup(firstSequence: first, blob: Data(data[position..<(position + length)])) else {
                close(descriptor)
                throw ServiceFailure("\(path) does not read (a record that is not a group)")
            }
            groups.append(group)
            position += length
        }
        _ = lseek(descriptor, off_t(recorded), SEEK_SET)
    }

    deinit { close(descriptor) }

    /// Appends a group and syncs it; returns the length the commit is to record.
    func append(_ group: IngestGroup) throws(ServiceFailure) -> Int64 { try append([group]) }

    /// Appends groups with one write and one sync (commits written together); returns the
    /// length the commit is to record.
    func append(_ groups: [IngestGroup]) throws(ServiceFailure) -> Int64 {
        // One buffer for all the records, each a head (sequence, blob length) and the blob: the
        // lines are copied once (a buffer per group, then joined, copied them twice).
        let lengths = groups.map { $0.isEmpty ? 0 : $0.blobBytes }
        var record: [UInt8] = []
        record.reserveCapacity(lengths.reduce(0) { $0 + ($1 > 0 ? 12 + $1 : 0) })
        for (group, length) in zip(groups, lengths) where length > 0 {
            withUnsafeBytes(of: group.firstSequence.littleEndian) { record.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt32(length).littleEndian) { record.append(contentsOf: $0) }
            group.appendBlob(to: &record)
        }
        guard !record.isEmpty else { return bytes }
        let written = record.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(bytes)) }
        guard written == record.count, fdatasync(descriptor) == 0 else {
            throw ServiceFailure("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        allocated = max(allocated, bytes + Int64(record.count))
        return bytes + Int64(record.count)
    }

    /// Inside the commit's transaction: the length that counts from now on.
    static func record(_ length: Int64, _ db: Database) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO ingest_log (id, bytes) VALUES (1, ?)", arguments: [length])
    }

    /// After the commit that recorded `length`.
    func committed(_ length: Int64) { bytes = length }

    /// After a checkpoint recorded 0: the file is written over from its start.
    func emptied() {
        bytes = 0
        groups.removeAll()
        if allocated > Self.keptBytes, ftruncate(descriptor, 0) == 0 { allocated = 0 }
    }
}
