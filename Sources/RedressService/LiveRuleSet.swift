import Foundation
import GRDB
import RedressIR
import RedressEvents
import RedressEngine
import RedressState
import RedressRuntime

/// What one line of a request asks for: an event to evaluate, or a line that could not be read.
public enum IngestItem: Sendable {
    case event(Event)
    case deadLetter(line: Int, reason: String)
}

/// What became of one line of a request.
public enum IngestResult: Sendable, Equatable {
    /// Evaluated now; its decisions are in the outbox. `line`: in the request, from 1.
    case accepted(line: Int, id: String, decisions: [OutboxEntry])
    /// Evaluated before (same id): the decisions it caused then, none made again.
    case duplicate(line: Int, id: String, decisions: [OutboxEntry])
    /// Not evaluated: why the line could not be read (request line number from 1).
    case deadLetter(line: Int, reason: String)
}

/// A rule set served live: the program, its engine and state store, the watermark its deadlines
/// fire on, the events it has processed (by id) and its outbox. Used by one thread only (the
/// evaluator's). A shadow rule set (`--shadow`) is a second instance with its own state file
/// and outbox.
public final class LiveRuleSet {
    /// Replaced together by `switchRules` (a reload), on the evaluator's thread between groups.
    public private(set) var program: Program
    public private(set) var engine: Engine
    private(set) var watermark: Watermark
    public private(set) var fingerprint: String
    let store: StateStore
    public let outbox: DecisionOutbox
    let processed: ProcessedEvents
    /// Held for the process's life: the exclusive lock on the state file (no `run` or second
    /// `serve` on it at the same time).
    let stateLock: Int32
    let clock: TimeSource
    let lateness: Int64
    let retention: Int64?
    /// Late events counted by the watermarks of rule sets this one replaced (this process).
    var lateEventsBefore = 0
    /// Decisions made since the last commit, for whoever counts them (metrics, the shadow report).
    var decided: [Decision] = []

    /// What the next commit records: the ids of the events evaluated, and the outbox rows.
    var fresh = ProcessedSegment()
    var rows: [DecisionOutbox.Row] = []
    /// Ids answered as duplicates in this group: their decisions are read back after the commit.
    var retried: Set<String> = []
    public private(set) var lastSequence: Int64

    /// This process's counts (the engine's statistics hold the state's totals).
    public private(set) var counts = Counts()
    public struct Counts: Sendable, Equatable {
        public var accepted = 0
        public var duplicates = 0
        public var deadLetters = 0
        public var decisions = 0
        public var deadlineDecisions = 0
        public var commits = 0
    }

    public init(program: Program, state path: String, clock: TimeSource, lateness: Int64,
                retention: Int64? = Engine.defaultRetention, synced: Bool = true) throws(ServiceFailure) {
        self.program = program
        fingerprint = program.fingerprint
        self.clock = clock
        self.lateness = lateness
        self.retention = retention
        // The lock `run` takes: neither can open a state the other (or a second serve) is using.
        do {
            stateLock = try RunSession.lockState(path)
        } catch {
            throw ServiceFailure(error.message)
        }
        var engineState = EngineState()
        do {
            store = try StateStore(path: path)
            // `synced`: each commit on disk before it returns (what an acknowledgement needs). A
            // shadow acknowledges nothing: its commits survive the process being killed, and a
            // power loss takes it back to an earlier commit (the events after it are then missing
            // from its comparison, never delivered twice: it delivers nothing).
            if synced { try store.syncEveryCommit() }
            let loaded = try RuleSetRecord.load(store, program: program, path: path)
            if let saved = loaded?.state { engineState = saved }
            if let retention, engineState.clock > .min, case let (horizon, overflow) = engineState.clock.subtractingReportingOverflow(retention), !overflow {
                try store.dropProcessedEvents(before: horizon)
            }
            processed = try store.loadProcessed()
            outbox = try DecisionOutbox(store: store, path: path)
            lastSequence = try outbox.latestSequence()
            engine = Engine(program: program, state: engineState)
            engine.retention = retention
            // A state carried over from other rules is written whole by the first commit (an
            // engine that tracks nothing hands over everything, replacing the old rows).
            if loaded?.migration == nil { engine.trackChanges() }
            watermark = Watermark(engine: engine, clock: clock, lateness: lateness)
            // The state records the rules it belongs to at once, with their program (what a
            // later switch carries the state from), and a switch made while it was stopped.
            try commit(alongside: { db in
                try RuleSetRecord.record(program, db)
                if let loaded, let migration = loaded.migration {
                    try RuleSetRecord.recordReload(RuleSetRecord.Reload(time: TimeFormat.format(timestamp: clock.now), fingerprint: program.fingerprint,
                                                                        previous: loaded.previousFingerprint, rules: program.rules.count,
                                                                        trigger: "startup", summary: migration), db)
                }
            })
        } catch let failure as ServiceFailure {
            close(stateLock)
            throw failure
        } catch {
            close(stateLock)
            throw ServiceFailure("\(error)")
        }
    }

    deinit { close(stateLock) }

    /// Evaluates a request's lines in order. Decisions are not durable until `commit`; the
    /// decisions of duplicates are filled in by `answerDuplicates` after it.
    public func evaluate(_ items: [IngestItem]) -> [IngestResult] {
        var results: [IngestResult] = []
        results.reserveCapacity(items.count)
        for item in items {
            switch item {
            case .deadLetter(let line, let reason):
                counts.deadLetters += 1
                results.append(.deadLetter(line: line, reason: reason))
            case .event(var event):
                guard processed.insert(event.idHash) else {
                    counts.duplicates += 1
                    retried.insert(event.id)
                    results.append(.duplicate(line: event.line, id: event.id, decisions: []))
                    continue
                }
                fresh.append(event.idHash, time: event.time)
                let requestLine = event.line
                // Deadlines the clock or this event's time passed fire first, as the clock's.
                record(watermark.admit(event.time) + engine.advance(to: event.time), origin: .deadline)
                engine.state.position += 1
                event.line = engine.state.position
                let own = record(engine.process(event), origin: .event)
                counts.accepted += 1
                results.append(.accepted(line: requestLine, id: event.id, decisions: own))
            }
        }
        return results
    }

    /// Fires the deadlines the wall clock (less the lateness) has passed; true if any fired.
    @discardableResult
    public func fireDue() -> Bool {
        !record(watermark.fireDue(), origin: .deadline).isEmpty
    }

    /// How long the evaluator may wait before `fireDue` has something to do (milliseconds), or
    /// nil when only an event can add a deadline.
    public func millisecondsUntilDue() -> Int64? { watermark.millisecondsUntilDue() }

    public var hasUncommitted: Bool { !fresh.isEmpty || !rows.isEmpty }

    @discardableResult
    func record(_ decisions: [Decision], origin: DecisionOrigin) -> [OutboxEntry] {
        guard !decisions.isEmpty else { return [] }
        var entries: [OutboxEntry] = []
        entries.reserveCapacity(decisions.count)
        decided += decisions
        for decision in decisions {
            lastSequence += 1
            let text = decision.jsonLine()
            rows.append(DecisionOutbox.Row(sequence: lastSequence, origin: origin, eventID: decision.event.id, decision: text))
            entries.append(OutboxEntry(sequence: lastSequence, decision: text))
        }
        if origin == .event { counts.decisions += decisions.count } else { counts.deadlineDecisions += decisions.count }
        return entries
    }

    /// One transaction: the engine's changes, the events processed and the outbox rows, synced
    /// to disk (`synchronous = FULL`) before it returns. Whatever it throws, nothing of this
    /// group is durable, and the caller must not acknowledge it.
    public func commit(alongside more: ((Database) throws -> Void)? = nil) throws(ServiceFailure) {
        let rows = self.rows
        let outbox = self.outbox
        do {
            try store.save(engine.takeChanges(), outputBytes: 0, deadLetterBytes: 0, program: fingerprint, emitted: [],
                           processed: fresh, alongside: { db in
                               try outbox.insert(rows, db)
                               try more?(db)
                           })
        } catch {
            throw ServiceFailure("cannot commit to the state: \(error)")
        }
        counts.commits += 1
        fresh.removeAll()
        self.rows.removeAll(keepingCapacity: true)
    }

    /// After a commit: the decisions each duplicate's first evaluation caused.
    public func answerDuplicates(_ results: inout [[IngestResult]]) throws(ServiceFailure) {
        guard !retried.isEmpty else { return }
        let found = try outbox.entries(ofEvents: retried)
        retried.removeAll()
        for request in results.indices {
            for index in results[request].indices {
                if case .duplicate(let line, let id, _) = results[request][index] {
                    results[request][index] = .duplicate(line: line, id: id, decisions: found[id] ?? [])
                }
            }
        }
    }

    public var lateEvents: Int { lateEventsBefore + watermark.lateEvents }

    /// The decisions made since the last call (committed by then), emptied.
    func takeDecided() -> [Decision] {
        defer { decided.removeAll(keepingCapacity: true) }
        return decided
    }

    /// Switches to another program between groups (nothing uncommitted): the state of rules
    /// that keep their names is carried over (`StateMigration`), and the whole state, the
    /// program and the reload are written in one synced transaction. If that fails, nothing
    /// changed: the old program goes on serving.
    public func switchRules(to new: Program, trigger: String) throws(ServiceFailure) -> RuleSetRecord.Reload {
        guard !hasUncommitted else { throw ServiceFailure("the rule set can only switch between groups") }
        let (carried, summary) = StateMigration.carry(engine.snapshot(), from: program, to: new)
        let next = Engine(program: new, state: carried)
        next.retention = retention
        let reload = RuleSetRecord.Reload(time: TimeFormat.format(timestamp: clock.now), fingerprint: new.fingerprint, previous: fingerprint,
                                          rules: new.rules.count, trigger: trigger, summary: summary)
        do {
            // Not tracked yet: the first changes are the whole state, replacing the old one's rows.
            try store.save(next.takeChanges(), outputBytes: 0, deadLetterBytes: 0, program: new.fingerprint, emitted: [], alongside: { db in
                try RuleSetRecord.record(new, db)
                try RuleSetRecord.recordReload(reload, db)
            })
        } catch {
            throw ServiceFailure("cannot record the new rule set in the state: \(error)")
        }
        lateEventsBefore += watermark.lateEvents
        program = new
        engine = next
        fingerprint = new.fingerprint
        watermark = Watermark(engine: next, clock: clock, lateness: lateness)
        return reload
    }

    /// The reloads recorded in the state, latest first.
    public func reloads(limit: Int) throws(ServiceFailure) -> [RuleSetRecord.Reload] {
        do {
            return try store.write { db in try RuleSetRecord.reloads(db, limit: limit) }
        } catch {
            throw ServiceFailure("cannot read the reloads: \(error)")
        }
    }
}
