import Foundation
import GRDB
import RedressState

/// One decision in the outbox: its sequence (the cursor a consumer resumes after) and the
/// decision as `run` writes it (`Decision.jsonLine()`), stored as text so that a retry and a
/// consumer read back exactly what was decided.
public struct OutboxEntry: Sendable, Equatable {
    public var sequence: Int64
    public var decision: String

    public init(sequence: Int64, decision: String) {
        self.sequence = sequence
        self.decision = decision
    }

    /// The decision's JSON object with its sequence first: `{"sequence":7,"rule":…}`.
    public var json: String {
        var text = ""
        appendJSON(to: &text)
        return text
    }

    /// `json`, appended.
    public func appendJSON(to text: inout String) {
        text += "{\"sequence\":"
        text += String(sequence)
        text += ","
        text += decision.dropFirst()
    }
}

/// What made a decision: an event (a retry of that event answers with it), or a deadline the
/// watermark passed (it belongs to no request).
public enum DecisionOrigin: Int, Sendable {
    case event = 0
    case deadline = 1
}

/// The durable, ordered outbox of one rule set, a table in the state's SQLite file. Rows are
/// inserted by the evaluator in the transaction that records the engine's changes and the
/// events processed (`StateStore.save(alongside:)`), so a decision is in the outbox exactly when
/// the state that made it is durable: after a crash neither is there, and the event is evaluated
/// again when it is sent again. Sequences are given in arrival order and never reused, so a
/// consumer reading `after` its last sequence sees each decision once.
///
/// Reads go through a connection of their own: SQLite in WAL mode lets them run beside the
/// evaluator's commits, and they see only committed rows.
public final class DecisionOutbox: @unchecked Sendable {
    /// The table's name: a shadow rule set would have its own table (and state file).
    public let table: String
    let reader: DatabaseQueue

    /// Creates the table in the store (if new) and opens the read connection on `path`.
    public init(store: StateStore, path: String, table: String = "outbox") throws(ServiceFailure) {
        self.table = table
        do {
            try store.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS \(table) (
                        sequence INTEGER PRIMARY KEY,
                        origin INTEGER NOT NULL,
                        event_id TEXT NOT NULL,
                        decision TEXT NOT NULL);
                    CREATE INDEX IF NOT EXISTS \(table)_event ON \(table) (event_id) WHERE origin = 0;
                    """)
            }
            // Only read through; not opened read-only: a read-only connection that closes last
            // cannot tidy SQLite's WAL files, and a connection opened next then failed now and
            // then ("disk I/O error").
            reader = try DatabaseQueue(path: path)
        } catch {
            throw ServiceFailure("cannot open the outbox in \(path): \(error)")
        }
    }

    /// A row to insert: made by the evaluator, written in its next commit.
    public struct Row: Sendable {
        public var sequence: Int64
        public var origin: DecisionOrigin
        public var eventID: String
        public var decision: String
    }

    /// Inserts rows inside the caller's transaction.
    func insert(_ rows: [Row], _ db: Database) throws {
        guard !rows.isEmpty else { return }
        let statement = RowStatement(try db.cachedStatement(sql: "INSERT INTO \(table) (sequence, origin, event_id, decision) VALUES (?, ?, ?, ?)"), db)
        for row in rows {
            try statement.execute(row.sequence, Int64(row.origin.rawValue), row.eventID, row.decision)
        }
    }

    /// The highest sequence committed (0 for an empty outbox).
    public func latestSequence() throws(ServiceFailure) -> Int64 {
        try reading { db in try Int64.fetchOne(db, sql: "SELECT coalesce(max(sequence), 0) FROM \(table)") ?? 0 }
    }

    /// Up to `limit` decisions after `cursor`, in order.
    public func entries(after cursor: Int64, limit: Int) throws(ServiceFailure) -> [OutboxEntry] {
        try reading { db in
            try GRDB.Row.fetchAll(db, sql: "SELECT sequence, decision FROM \(table) WHERE sequence > ? ORDER BY sequence LIMIT ?",
                                  arguments: [cursor, limit])
                .map { OutboxEntry(sequence: $0[0], decision: $0[1]) }
        }
    }

    /// The decisions events with these ids caused (not the deadlines they started), by id.
    public func entries(ofEvents ids: Set<String>) throws(ServiceFailure) -> [String: [OutboxEntry]] {
        guard !ids.isEmpty else { return [:] }
        return try reading { db in
            var found: [String: [OutboxEntry]] = [:]
            let statement = try db.cachedStatement(sql: "SELECT sequence, decision FROM \(table) WHERE event_id = ? AND origin = 0 ORDER BY sequence")
            for id in ids {
                found[id] = try GRDB.Row.fetchAll(statement, arguments: [id]).map { OutboxEntry(sequence: $0[0], decision: $0[1]) }
            }
            return found
        }
    }

    func reading<T>(_ body: (Database) throws -> T) throws(ServiceFailure) -> T {
        do {
            return try reader.read(body)
        } catch {
            throw ServiceFailure("cannot read the outbox: \(error)")
        }
    }
}

/// Why the service cannot start or go on: the message for the operator (the command exits 2).
public struct ServiceFailure: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
