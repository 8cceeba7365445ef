import Foundation
import GRDB
import RedressIR
import RedressEngine
import RedressEvents
import RedressState

/// What the state file of `serve` keeps about its rule set besides the engine's state: the
/// program it serves (its IR, the map a later switch carries the state from: the state's keys
/// hold the program's indices) and every switch from one rule set to another (reloads).
public enum RuleSetRecord {
    /// One switch: when, from which fingerprint to which, what set it off (`http`, `sighup`, or
    /// `startup` for rules changed while the service was stopped) and what was carried over.
    public struct Reload: Sendable, Equatable {
        public var time: String
        public var fingerprint: String
        public var previous: String
        public var rules: Int
        public var trigger: String
        public var summary: StateMigration.Summary

        public func json() -> String {
            func names(_ list: [String]) -> String { "[" + list.map(JSONText.quote).joined(separator: ",") + "]" }
            return "{\"time\":\(JSONText.quote(time)),\"fingerprint\":\(JSONText.quote(fingerprint)),\"previous\":\(JSONText.quote(previous))"
                + ",\"rules\":\(rules),\"trigger\":\(JSONText.quote(trigger))"
                + ",\"rulesKept\":\(names(summary.rulesKept)),\"rulesAdded\":\(names(summary.rulesAdded)),\"rulesRemoved\":\(names(summary.rulesRemoved))"
                + ",\"stateCarried\":\(summary.carried),\"stateDropped\":\(summary.dropped),\"historyDropped\":\(summary.historyDropped)"
                + ",\"pendingCarried\":\(summary.pendingCarried),\"pendingDropped\":\(summary.pendingDropped)}"
        }
    }

    static func createTables(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS served_program (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                fingerprint TEXT NOT NULL,
                ir BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS reloads (
                number INTEGER PRIMARY KEY AUTOINCREMENT,
                time TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                previous TEXT NOT NULL,
                rules INTEGER NOT NULL,
                trigger TEXT NOT NULL,
                summary TEXT NOT NULL);
            """)
    }

    /// Records the program served, inside the caller's transaction.
    static func record(_ program: Program, _ db: Database) throws {
        try createTables(db)
        try db.execute(sql: "INSERT OR REPLACE INTO served_program (id, fingerprint, ir) VALUES (1, ?, ?)",
                       arguments: [program.fingerprint, program.json()])
    }

    /// Records the program unless the file holds it already (a startup on the same rules).
    static func recordIfMissing(_ program: Program, _ db: Database) throws {
        try createTables(db)
        let recorded = try String.fetchOne(db, sql: "SELECT fingerprint FROM served_program WHERE id = 1")
        if recorded != program.fingerprint { try record(program, db) }
    }

    static func recordReload(_ reload: Reload, _ db: Database) throws {
        try createTables(db)
        let summary = reload.summary
        let text = "\(summary.carried) \(summary.dropped) \(summary.historyDropped) \(summary.pendingCarried) \(summary.pendingDropped)|"
            + [summary.rulesKept, summary.rulesAdded, summary.rulesRemoved].map { $0.joined(separator: ",") }.joined(separator: "|")
        try db.execute(sql: "INSERT INTO reloads (time, fingerprint, previous, rules, trigger, summary) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [reload.time, reload.fingerprint, reload.previous, reload.rules, reload.trigger, text])
    }

    /// The reloads recorded, latest first.
    static func reloads(_ db: Database, limit: Int) throws -> [Reload] {
        try createTables(db)
        return try Row.fetchAll(db, sql: "SELECT time, fingerprint, previous, rules, trigger, summary FROM reloads ORDER BY number DESC LIMIT ?",
                                arguments: [limit]).map { row in
            let parts = (row["summary"] as String).split(separator: "|", omittingEmptySubsequences: false)
            let counts = (parts.first ?? "").split(separator: " ").map { Int($0) ?? 0 }
            func names(_ index: Int) -> [String] {
                parts.indices.contains(index) ? parts[index].split(separator: ",").map(String.init) : []
            }
            var summary = StateMigration.Summary()
            if counts.count == 5 {
                (summary.carried, summary.dropped, summary.historyDropped, summary.pendingCarried, summary.pendingDropped)
                    = (counts[0], counts[1], counts[2], counts[3], counts[4])
            }
            (summary.rulesKept, summary.rulesAdded, summary.rulesRemoved) = (names(1), names(2), names(3))
            return Reload(time: row["time"], fingerprint: row["fingerprint"], previous: row["previous"], rules: row["rules"],
                          trigger: row["trigger"], summary: summary)
        }
    }

    /// What a starting service finds in its state file: the engine's state and the program
    /// that made it.
    struct Loaded {
        var state: EngineState
        var program: Program
    }

    /// The state for `program`, as saved; or, when the rules changed while the service was
    /// stopped, the state with the program the file recorded (the caller replays its log with
    /// that program, then switches, as a reload would). A state of other rules without a
    /// recorded program (written by `run`) is refused as before. Nil for a new state.
    static func load(_ store: StateStore, program: Program, path: String) throws -> Loaded? {
        let saved: (StateStore.Checkpoint, EngineState)?
        do {
            saved = try store.load(program: program.fingerprint, legacy: program.legacyFingerprint, path: path)
        } catch {
            guard case .otherRules = error else { throw error }
            return try recorded(store, path: path)
        }
        guard let saved else { return nil }
        return Loaded(state: saved.1, program: program)
    }

    /// The state of the program the file recorded, with that program.
    static func recorded(_ store: StateStore, path: String) throws -> Loaded {
        let recorded: Data? = try store.write { db in
            try createTables(db)
            return try Data.fetchOne(db, sql: "SELECT ir FROM served_program WHERE id = 1")
        }
        guard let recorded, let previous = try? Program.load(json: recorded) else { throw StateStore.StoreError.otherRules(path) }
        guard let saved = try store.load(program: previous.fingerprint, path: path) else { throw StateStore.StoreError.otherRules(path) }
        return Loaded(state: saved.1, program: previous)
    }
}
