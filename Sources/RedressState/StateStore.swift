import Foundation
import GRDB
import GRDBSQLite
import RedressIR
import RedressEvents
import RedressEngine

/// The engine's state in SQLite (through GRDB), so that `run` survives restarts.
///
/// A checkpoint stores, in one transaction: the input position, how many bytes of decisions
/// the output file held (after an fsync), the entries of the engine state that changed since the
/// last checkpoint (history, limits, caps, groups, occurrences, pending deadlines, misses; one row
/// per key, a key left empty deleted), and the keys of the decisions emitted. A process killed
/// at any moment restarts from the last checkpoint: the output file is cut back to the recorded
/// length and the events after the recorded position are evaluated again. Evaluation is
/// deterministic, so the same decisions are written again: none twice, none lost.
///
/// A checkpoint also records what was consumed of the input by identity (`ConsumedInput`:
/// path, device and inode, bytes, the hash of those bytes), so that a restart goes on after the
/// checkpoint only in the same file with the same bytes, and the hashes of the events processed
/// since the last checkpoint (`ProcessedSegment`, one blob row), so that an input read from its
/// start skips the events processed before (docs/events.md, "Restarts").
///
/// The database is in WAL mode: a commit appends the pages it changed to the log, so a
/// checkpoint costs what it writes, not the size of the file. The log is not synced at each
/// commit (`synchronous = NORMAL`): a commit survives the process being killed at any moment
/// (the log is in the system's cache), and a power loss can only take the state back to an
/// earlier checkpoint, never to a torn one. That stays exactly-once because the output is
/// synced before each commit and a restart cuts it back to the length the state records: the
/// decisions after the surviving checkpoint are evaluated and written again, with the same
/// keys, none twice in the file. It halves the syncs per checkpoint.
public final class StateStore {
    let database: DatabaseQueue
    /// Rows the last `save` inserted, replaced or deleted (its work, for tests and benchmarks).
    public private(set) var lastSaveRows = 0

    public struct Checkpoint: Sendable, Equatable {
        public var position: Int
        public var outputBytes: Int64
        public var deadLetterBytes: Int64
        public var program: String
        /// What the position is in; nil in a state written before inputs were recorded.
        public var input: ConsumedInput? = nil
    }

    public enum StoreError: Error, CustomStringConvertible {
        case database(String)
        case otherRules(String)
        public var description: String {
            switch self {
            case .database(let message): "state database: \(message)"
            case .otherRules(let path): "the state in \(path) was made by other rules; use a new --state file for these rules"
            }
        }
    }

    public init(path: String) throws(StoreError) {
        do {
            database = try DatabaseQueue(path: path)
            try database.writeWithoutTransaction { db in
                // Where WAL is refused (some network file systems), the rollback journal stays:
                // slower, as durable.
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            try database.write { db in
                // `checkpoint.pending` held the pending deadlines as one JSON object before they
                // got a row each (category `pending`); `load` moves an old file's over.
                // `state` and `emitted` are kept in their keys' order (WITHOUT ROWID): a row then
                // lives in one B-tree, not in a table and an index, which halves what a
                // checkpoint's upserts search and write. Files made before keep their two trees;
                // the statements are the same for both.
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS checkpoint (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        position INTEGER NOT NULL,
                        output_bytes INTEGER NOT NULL,
                        dead_letter_bytes INTEGER NOT NULL,
                        program TEXT NOT NULL,
                        clock INTEGER NOT NULL,
                        pending TEXT NOT NULL,
                        statistics TEXT NOT NULL);
                    CREATE TABLE IF NOT EXISTS state (
                        category TEXT NOT NULL,
                        key TEXT NOT NULL,
                        value TEXT NOT NULL,
                        PRIMARY KEY (category, key)) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS emitted (
                        key TEXT PRIMARY KEY,
                        position INTEGER NOT NULL) WITHOUT ROWID;
                    CREATE TABLE IF NOT EXISTS processed (
                        segment INTEGER PRIMARY KEY,
                        newest INTEGER NOT NULL,
                        identities BLOB NOT NULL);
                    """)
                // A state written before inputs were recorded gets their columns, empty: its
                // next run resumes after the line it recorded, as it would have (`InputResume`).
                let columns = Set(try Row.fetchAll(db, sql: "PRAGMA table_info(checkpoint)").map { $0["name"] as String })
                for (column, type) in StateStore.inputColumns where !columns.contains(column) {
                    try db.execute(sql: "ALTER TABLE checkpoint ADD COLUMN \(column) \(type)")
                }
            }
        } catch {
            throw .database("\(error)")
        }
    }

    static let inputColumns = [("input_path", "TEXT"), ("input_device", "INTEGER"), ("input_inode", "INTEGER"),
                               ("input_bytes", "INTEGER"), ("input_hash", "INTEGER")]

    /// The last checkpoint and the state it recorded, or nil for a new store.
    /// `legacy`: the fingerprint an earlier version gave the same rules (it hashed their file
    /// paths and lines too); a state saved under it is taken over, and the next checkpoint
    /// records the new one.
    public func load(program fingerprint: String, legacy: String? = nil, path: String) throws(StoreError) -> (Checkpoint, EngineState)? {
        do {
            return try database.write { db -> (Checkpoint, EngineState)? in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM checkpoint WHERE id = 1") else { return nil }
                var checkpoint = Checkpoint(position: row["position"], outputBytes: row["output_bytes"],
                                            deadLetterBytes: row["dead_letter_bytes"], program: row["program"])
                if let path = row["input_path"] as String?, let device = row["input_device"] as Int64?, let inode = row["input_inode"] as Int64?,
                   let bytes = row["input_bytes"] as Int64?, let hash = row["input_hash"] as Int64? {
                    checkpoint.input = ConsumedInput(path: path, device: UInt64(bitPattern: device), inode: UInt64(bitPattern: inode),
                                                     bytes: bytes, prefixHash: UInt64(bitPattern: hash))
                }
                guard checkpoint.program == fingerprint || (legacy != nil && checkpoint.program == legacy) else { throw StoreError.otherRules(path) }
                var state = EngineState()
                state.position = checkpoint.position
                state.clock = row["clock"]
                let decoder = JSONDecoder()
                state.statistics = try decoder.decode(EngineState.Statistics.self, from: Data((row["statistics"] as String).utf8))
                var loaded: [StateCategory: [String: String]] = [:]
                for entry in try Row.fetchAll(db, sql: "SELECT category, key, value FROM state") {
                    guard let category = StateCategory(rawValue: entry["category"]) else { continue }
                    loaded[category, default: [:]][entry["key"]] = entry["value"]
                }
                // Lists that do not read are empty, as they always were; a pending deadline that
                // does not read is an error, as it was in the one JSON object that held them all.
                // Read by StateText (the lists it writes) and, for any other JSON, by the decoder.
                func lists<T: Decodable & RangeReplaceableCollection>(_ category: StateCategory, as type: T.Type, _ fast: (String) -> T?) -> [String: T] {
                    (loaded[category] ?? [:]).mapValues { fast($0) ?? (try? decoder.decode(T.self, from: Data($0.utf8))) ?? T() }
                }
                state.limitUses = lists(.limits, as: [Int64].self, StateText.parseTimes)
                state.groupUses = lists(.groups, as: [Int64].self, StateText.parseTimes)
                state.capUses = lists(.caps, as: [[Int64]].self, StateText.parseRows)
                state.history = lists(.history, as: [[Int64]].self, StateText.parseRows)
                // An occurrence row is `[count,time]`; one written before retention is the count alone.
                for (key, text) in loaded[.occurrences] ?? [:] {
                    if let count = Int(text) {
                        state.occurrences[key] = count
                    } else if let pair = StateText.parseTimes(text) ?? (try? decoder.decode([Int64].self, from: Data(text.utf8))), pair.count == 2 {
                        state.occurrences[key] = Int(clamping: pair[0])
                        state.occurrenceTimes[key] = pair[1]
                    }
                }
                state.misses = (loaded[.misses] ?? [:]).compactMapValues { Int($0) }
                state.answered = (loaded[.answered] ?? [:]).compactMapValues { Int64($0) }
                state.pending = try StateStore.movePending(row["pending"], db)
                for (key, text) in loaded[.pending] ?? [:] {
                    state.pending[key] = try decoder.decode(EngineState.Pending.self, from: Data(text.utf8))
                }
                return (checkpoint, state)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .database("\(error)")
        }
    }

    /// The pending deadlines a file written before they had rows keeps in `checkpoint.pending`:
    /// given a row each, and the column emptied, in the transaction that reads them.
    static func movePending(_ text: String, _ db: Database) throws -> [String: EngineState.Pending] {
        guard text != "{}" else { return [:] }
        let pending = try JSONDecoder().decode([String: EngineState.Pending].self, from: Data(text.utf8))
        let insert = try db.cachedStatement(sql: "INSERT OR REPLACE INTO state (category, key, value) VALUES (?, ?, ?)")
        let encoder = StateStore.pendingEncoder()
        for (key, value) in pending {
            try insert.execute(arguments: [StateCategory.pending.rawValue, key, String(decoding: try encoder.encode(value), as: UTF8.self)])
        }
        try db.execute(sql: "UPDATE checkpoint SET pending = '{}' WHERE id = 1")
        return pending
    }

    static func pendingEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// The events processed before the last checkpoint, by `EventIdentity` hash.
    public func loadProcessed() throws(StoreError) -> ProcessedEvents {
        let set = ProcessedEvents()
        do {
            try database.read { db in
                let rows = try Row.fetchCursor(db, sql: "SELECT identities FROM processed")
                while let row = try rows.next() {
                    try row.withUnsafeData(atIndex: 0) { data in
                        data?.withUnsafeBytes { ProcessedSegment.load($0, into: set) }
                    }
                }
            }
        } catch {
            throw .database("\(error)")
        }
        return set
    }

    /// Forgets the events of the checkpoints whose latest event is older than `time`: after it,
    /// such an event given again would be evaluated again. Returns how many were forgotten.
    /// The hook for a retention of event time (`run` calls it with none yet: ids are kept for
    /// as long as the state is; see docs/events.md, "Restarts").
    @discardableResult
    /// Forgets the ids of events older than `retention` before the state's `clock`, as the keys
    /// they touched are forgotten (an event older than that, given again, is evaluated again;
    /// docs/events.md). Nothing with no retention, on a state that has seen no event, or when the
    /// horizon would fall before the earliest time.
    public func dropProcessedEvents(olderThan retention: Int64?, clock: Int64) throws(StoreError) {
        guard let retention, clock > .min else { return }
        let (horizon, overflow) = clock.subtractingReportingOverflow(retention)
        if !overflow { _ = try dropProcessedEvents(before: horizon) }
    }

    public func dropProcessedEvents(before time: Int64) throws(StoreError) -> Int {
        do {
            return try database.write { db in
                let dropped = try Int.fetchOne(db, sql: "SELECT coalesce(sum(length(identities)), 0) / 8 FROM processed WHERE newest < ?",
                                               arguments: [time]) ?? 0
                try db.execute(sql: "DELETE FROM processed WHERE newest < ?", arguments: [time])
                return dropped
            }
        } catch {
            throw .database("\(error)")
        }
    }

    /// Records a checkpoint: the changed entries (`Engine.takeChanges()`), the emitted decisions'
    /// keys, the position and the input it is in, and the events processed since the last
    /// checkpoint, in one transaction. Its work is proportional to the changes.
    /// `alongside` writes more rows in the same transaction (`serve`'s outbox: its decisions are
    /// durable exactly when the state that made them is).
    public func save(_ changes: StateChanges, outputBytes: Int64, deadLetterBytes: Int64, program fingerprint: String,
                     emitted: [String], input: ConsumedInput? = nil, processed: ProcessedSegment = ProcessedSegment(),
                     alongside: ((Database) throws -> Void)? = nil) throws(StoreError) {
        let state = changes.state
        let encoder = StateStore.pendingEncoder()
        do {
            lastSaveRows = try database.write { db -> Int in
                let before = db.totalChangesCount
                if changes.replacesAll { try db.execute(sql: "DELETE FROM state") }
                let upsert = RowStatement(try db.cachedStatement(sql: "INSERT OR REPLACE INTO state (category, key, value) VALUES (?, ?, ?)"), db)
                func put<Value>(_ category: StateCategory, _ entries: [String: Value], _ text: (Value) throws -> String) throws {
                    for (key, value) in entries { try upsert.execute(category.rawValue, key, try text(value)) }
                }
                try put(.limits, state.limitUses, StateText.times)
                try put(.groups, state.groupUses, StateText.times)
                try put(.caps, state.capUses, StateText.rows)
                try put(.history, state.history, StateText.rows)
                for (key, count) in state.occurrences {
                    let text = state.occurrenceTimes[key].map { StateText.times([Int64(count), $0]) } ?? String(count)
                    try upsert.execute(StateCategory.occurrences.rawValue, key, text)
                }
                try put(.misses, state.misses) { String($0) }
                try put(.answered, state.answered) { String($0) }
                try put(.pending, state.pending) { String(decoding: try encoder.encode($0), as: UTF8.self) }
                let delete = RowStatement(try db.cachedStatement(sql: "DELETE FROM state WHERE category = ? AND key = ?"), db)
                for (category, keys) in changes.removed {
                    for key in keys { try delete.execute(category.rawValue, key) }
                }
                let emit = RowStatement(try db.cachedStatement(sql: "INSERT OR IGNORE INTO emitted (key, position) VALUES (?, ?)"), db)
                for key in emitted { try emit.execute(key, Int64(state.position)) }
                try StateStore.insert(processed, db)
                try db.execute(sql: """
                    INSERT OR REPLACE INTO checkpoint (id, position, output_bytes, dead_letter_bytes, program, clock, pending, statistics,
                                                       input_path, input_device, input_inode, input_bytes, input_hash)
                    VALUES (1, ?, ?, ?, ?, ?, '{}', ?, ?, ?, ?, ?, ?)
                    """, arguments: [state.position, outputBytes, deadLetterBytes, fingerprint, state.clock,
                                     String(decoding: try encoder.encode(state.statistics), as: UTF8.self),
                                     input?.path, input.map { Int64(bitPattern: $0.device) }, input.map { Int64(bitPattern: $0.inode) },
                                     input?.bytes, input.map { Int64(bitPattern: $0.prefixHash) }])
                try alongside?(db)
                return db.totalChangesCount - before
            }
        } catch {
            throw .database("\(error)")
        }
    }

    /// Records events processed, and `alongside` more rows (`serve`'s outbox and the log of what it
    /// evaluated since the last checkpoint), in one transaction, without a checkpoint: the
    /// engine's state is saved less often than events are acknowledged, and restored by
    /// evaluating the logged events again.
    public func append(processed: ProcessedSegment, alongside: (Database) throws -> Void) throws(StoreError) {
        do {
            try database.write { db in
                try StateStore.insert(processed, db)
                try alongside(db)
            }
        } catch {
            throw .database("\(error)")
        }
    }

    /// Every commit synced to disk before it returns (`synchronous = FULL`), for a caller that
    /// acknowledges what it commits (`serve`): then an acknowledged commit survives a power loss,
    /// not only the process being killed.
    public func syncEveryCommit() throws(StoreError) {
        do {
            try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        } catch {
            throw .database("\(error)")
        }
    }

    /// Runs `body` in one transaction on the store's connection (the tables of `serve`'s outbox).
    public func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try database.write(body)
        } catch {
            throw .database("\(error)")
        }
    }

    /// One row per segment of events processed (none for an empty one).
    static func insert(_ processed: ProcessedSegment, _ db: Database) throws {
        guard !processed.isEmpty else { return }
        try db.execute(sql: "INSERT INTO processed (newest, identities) VALUES (?, ?)", arguments: [processed.newest, Data(processed.bytes)])
    }

    /// Records a whole state at once, replacing what the store held.
    public func save(_ state: EngineState, outputBytes: Int64, deadLetterBytes: Int64, program fingerprint: String,
                     emitted: [String], input: ConsumedInput? = nil, processed: ProcessedSegment = ProcessedSegment()) throws(StoreError) {
        try save(StateChanges(everything: state), outputBytes: outputBytes, deadLetterBytes: deadLetterBytes, program: fingerprint,
                 emitted: emitted, input: input, processed: processed)
    }

    /// Whether a decision key was emitted before the last checkpoint (for consumers and tests).
    public func wasEmitted(_ key: String) -> Bool {
        (try? database.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM emitted WHERE key = ?", arguments: [key]) }) == true
    }

    /// How many rows the state table holds (for tests: what a checkpoint did not rewrite).
    public func entryCount() -> Int {
        (try? database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM state") }) ?? 0
    }

    /// Copies the state at `path` to `copy`, with the log of commits not yet folded into the
    /// database file (WAL): the copy holds every checkpoint the original does.
    public static func copy(_ path: String, to copy: String) throws {
        let files = FileManager.default
        try files.copyItem(atPath: path, toPath: copy)
        if files.fileExists(atPath: path + "-wal") { try files.copyItem(atPath: path + "-wal", toPath: copy + "-wal") }
    }
}

/// A prepared statement run once per row through SQLite's own interface: a checkpoint writes a
/// row per key touched (three per decision of a `once` rule), and GRDB's arguments (an array of
/// boxed values per row, checked and bound one by one) cost more than SQLite's work on the row.
/// `serve`'s outbox inserts its rows with it too.
public struct RowStatement {
    let statement: OpaquePointer
    let database: Database

    public init(_ statement: Statement, _ database: Database) {
        self.statement = statement.sqliteStatement
        self.database = database
    }

    /// SQLite copies the bound text (`SQLITE_TRANSIENT`): the strings need not outlive the call.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func bind(_ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            // An empty buffer may have no address, and SQLite reads a null pointer as NULL, not "".
            guard let base = bytes.baseAddress else {
                _ = sqlite3_bind_text(statement, index, "", 0, RowStatement.transient)
                return
            }
            _ = base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(statement, index, $0, Int32(bytes.count), RowStatement.transient)
            }
        }
    }

    func step() throws {
        let code = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(database.sqliteConnection)))
        }
    }

    func execute(_ first: String, _ second: String, _ third: String) throws {
        bind(1, first)
        bind(2, second)
        bind(3, third)
        try step()
    }

    func execute(_ first: String, _ second: String) throws {
        bind(1, first)
        bind(2, second)
        try step()
    }

    func execute(_ first: String, _ second: Int64) throws {
        bind(1, first)
        sqlite3_bind_int64(statement, 2, second)
        try step()
    }

    public func execute(_ first: Int64, _ second: Int64, _ third: String, _ fourth: String) throws {
        sqlite3_bind_int64(statement, 1, first)
        sqlite3_bind_int64(statement, 2, second)
        bind(3, third)
        bind(4, fourth)
        try step()
    }
}

/// The text of the integer lists kept per key: the JSON `JSONEncoder` writes for them
/// (`[1,2]`, `[[1,2],[3,4]]`), made directly (a checkpoint writes one per changed key).
enum StateText {
    static func times(_ values: [Int64]) -> String {
        var text = "["
        for (position, value) in values.enumerated() {
            if position > 0 { text += "," }
            text += String(value)
        }
        return text + "]"
    }

    /// `[1,2]` as written by `times`, or nil for any other text (the JSON decoder then reads it).
    /// A restart reads one per key: the decoder cost more than the rest of loading together.
    static func parseTimes(_ text: String) -> [Int64]? {
        var copy = text
        return copy.withUTF8 { bytes -> [Int64]? in
            var position = 0
            guard let list = list(bytes, &position), position == bytes.count else { return nil }
            return list
        }
    }

    /// `[[1,2],[3,4]]` as written by `rows`, or nil for any other text.
    static func parseRows(_ text: String) -> [[Int64]]? {
        var copy = text
        return copy.withUTF8 { bytes -> [[Int64]]? in
            guard bytes.count >= 2, bytes[0] == UInt8(ascii: "["), bytes[bytes.count - 1] == UInt8(ascii: "]") else { return nil }
            var rows: [[Int64]] = []
            var position = 1
            if bytes[position] == UInt8(ascii: "]") { return position + 1 == bytes.count ? rows : nil }
            while true {
                guard let row = list(bytes, &position), position < bytes.count else { return nil }
                rows.append(row)
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                return bytes[position] == UInt8(ascii: "]") && position + 1 == bytes.count ? rows : nil
            }
        }
    }

    /// A list of integers at `position` (`[`, integers separated by `,`, `]`), moving past it.
    private static func list(_ bytes: UnsafeBufferPointer<UInt8>, _ position: inout Int) -> [Int64]? {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "[") else { return nil }
        position += 1
        var values: [Int64] = []
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return values }
        while position < bytes.count {
            let negative = bytes[position] == UInt8(ascii: "-")
            if negative { position += 1 }
            var value: Int64 = 0
            let start = position
            while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
                let digit = Int64(bytes[position] - UInt8(ascii: "0"))
                let (scaled, overflow) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = negative ? scaled.subtractingReportingOverflow(digit) : scaled.addingReportingOverflow(digit)
                guard !overflow, !overflow2 else { return nil }
                value = sum
                position += 1
            }
            guard position > start, position < bytes.count else { return nil }
            values.append(value)
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            guard bytes[position] == UInt8(ascii: "]") else { return nil }
            position += 1
            return values
        }
        return nil
    }

    static func rows(_ values: [[Int64]]) -> String {
        var text = "["
        for (position, row) in values.enumerated() {
            if position > 0 { text += "," }
            text += times(row)
        }
        return text + "]"
    }
}
