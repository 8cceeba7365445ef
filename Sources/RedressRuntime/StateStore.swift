import Foundation
import GRDB

/// The engine's state in SQLite (through GRDB), so that `run` survives restarts.
///
/// A checkpoint stores, in one transaction: the input position, how many bytes of decisions
/// the output file held (after an fsync), the engine state (history, limits, caps, groups,
/// occurrences, pending deadlines, misses), and the keys of the decisions emitted. A process
/// killed at any moment restarts from the last checkpoint: the output file is cut back to the
/// recorded length and the events after the recorded position are evaluated again. Evaluation
/// is deterministic, so the same decisions are written again: none twice, none lost.
public final class StateStore {
    let database: DatabaseQueue
    /// What was last written, per category and key, so a checkpoint writes only changes.
    var written: [String: [String: String]] = [:]

    public struct Checkpoint: Sendable, Equatable {
        public var position: Int
        public var outputBytes: Int64
        public var deadLetterBytes: Int64
        public var program: String
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

    static let categories = ["limits", "caps", "groups", "occurrences", "history", "misses", "answered"]

    public init(path: String) throws(StoreError) {
        do {
            var configuration = Configuration()
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            database = try DatabaseQueue(path: path, configuration: configuration)
            try database.write { db in
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
                        PRIMARY KEY (category, key));
                    CREATE TABLE IF NOT EXISTS emitted (
                        key TEXT PRIMARY KEY,
                        position INTEGER NOT NULL);
                    """)
            }
        } catch {
            throw .database("\(error)")
        }
    }

    /// The last checkpoint and the state it recorded, or nil for a new store.
    /// `legacy`: the fingerprint an earlier version gave the same rules (it hashed their file
    /// paths and lines too); a state saved under it is taken over, and the next checkpoint
    /// records the new one.
    public func load(program fingerprint: String, legacy: String? = nil, path: String) throws(StoreError) -> (Checkpoint, EngineState)? {
        do {
            return try database.read { db -> (Checkpoint, EngineState)? in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM checkpoint WHERE id = 1") else { return nil }
                let checkpoint = Checkpoint(position: row["position"], outputBytes: row["output_bytes"],
                                            deadLetterBytes: row["dead_letter_bytes"], program: row["program"])
                guard checkpoint.program == fingerprint || (legacy != nil && checkpoint.program == legacy) else { throw StoreError.otherRules(path) }
                var state = EngineState()
                state.position = checkpoint.position
                state.clock = row["clock"]
                let decoder = JSONDecoder()
                state.pending = try decoder.decode([String: EngineState.Pending].self, from: Data((row["pending"] as String).utf8))
                state.statistics = try decoder.decode(EngineState.Statistics.self, from: Data((row["statistics"] as String).utf8))
                var loaded: [String: [String: String]] = [:]
                for entry in try Row.fetchAll(db, sql: "SELECT category, key, value FROM state") {
                    loaded[entry["category"], default: [:]][entry["key"]] = entry["value"]
                }
                func times(_ category: String) -> [String: [Int64]] {
                    (loaded[category] ?? [:]).mapValues { (try? decoder.decode([Int64].self, from: Data($0.utf8))) ?? [] }
                }
                func pairs(_ category: String) -> [String: [[Int64]]] {
                    (loaded[category] ?? [:]).mapValues { (try? decoder.decode([[Int64]].self, from: Data($0.utf8))) ?? [] }
                }
                func counts(_ category: String) -> [String: Int] {
                    (loaded[category] ?? [:]).compactMapValues { Int($0) }
                }
                state.limitUses = times("limits")
                state.groupUses = times("groups")
                state.capUses = pairs("caps")
                state.history = pairs("history")
                state.occurrences = counts("occurrences")
                state.misses = counts("misses")
                state.answered = (loaded["answered"] ?? [:]).compactMapValues { Int64($0) }
                self.written = loaded
                return (checkpoint, state)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .database("\(error)")
        }
    }

    /// Records a checkpoint: everything in one transaction, only changed entries rewritten.
    public func save(_ state: EngineState, outputBytes: Int64, deadLetterBytes: Int64, program fingerprint: String,
                     emitted: [String]) throws(StoreError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ value: T) -> String { String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self) }
        let current: [String: [String: String]] = [
            "limits": state.limitUses.mapValues(json), "groups": state.groupUses.mapValues(json),
            "caps": state.capUses.mapValues(json), "history": state.history.mapValues(json),
            "occurrences": state.occurrences.mapValues(String.init), "misses": state.misses.mapValues(String.init),
            "answered": state.answered.mapValues(String.init),
        ]
        do {
            try database.write { db in
                for category in StateStore.categories {
                    let before = written[category] ?? [:]
                    let now = current[category] ?? [:]
                    for (key, value) in now where before[key] != value {
                        try db.execute(sql: "INSERT OR REPLACE INTO state (category, key, value) VALUES (?, ?, ?)",
                                       arguments: [category, key, value])
                    }
                    for key in before.keys where now[key] == nil {
                        try db.execute(sql: "DELETE FROM state WHERE category = ? AND key = ?", arguments: [category, key])
                    }
                }
                for key in emitted {
                    try db.execute(sql: "INSERT OR IGNORE INTO emitted (key, position) VALUES (?, ?)", arguments: [key, state.position])
                }
                try db.execute(sql: """
                    INSERT OR REPLACE INTO checkpoint (id, position, output_bytes, dead_letter_bytes, program, clock, pending, statistics)
                    VALUES (1, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [state.position, outputBytes, deadLetterBytes, fingerprint, state.clock, json(state.pending),
                                     json(state.statistics)])
            }
            written = current
        } catch {
            throw .database("\(error)")
        }
    }

    /// Whether a decision key was emitted before the last checkpoint (for consumers and tests).
    public func wasEmitted(_ key: String) -> Bool {
        (try? database.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM emitted WHERE key = ?", arguments: [key]) }) == true
    }
}
