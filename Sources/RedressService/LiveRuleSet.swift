import Foundation
import GRDB
import RedressIR
import RedressEvents
import RedressEngine
import RedressState
import RedressRuntime

/// What one line of a request asks for: an event to evaluate, or a line that could not be read.
public enum IngestItem: Sendable {
    /// An event and its JSON text (logged until the next checkpoint; see `IngestGroup`).
    case event(Event, line: ArraySlice<UInt8>)
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
/// fire on, the events it has processed (by id), its outbox and its ingest log. The evaluator's
/// thread evaluates and takes commits (`takeCommit`); the committer's thread writes them
/// (`write`), which touches only the store, the log and the outbox, never the engine. A shadow
/// rule set (`--shadow`) is a second instance with its own state file and outbox.
///
/// A group commit makes durable the ids of the events evaluated, their decisions (the outbox)
/// and the events themselves (the ingest log); the engine's state is checkpointed every
/// `checkpointEvery` events, when the evaluator is idle, and at shutdown. A restart loads the
/// checkpoint and evaluates the logged events again (`IngestGroup`).
public final class LiveRuleSet {
    /// Replaced together by `switchRules` (a reload), on the evaluator's thread between groups.
    public private(set) var program: Program
    public private(set) var engine: Engine
    private(set) var watermark: Watermark
    public private(set) var fingerprint: String
    private(set) var hasDeadlines: Bool
    let store: StateStore
    public let outbox: DecisionOutbox
    let processed: ProcessedEvents
    /// Held for the process's life: the exclusive lock on the state file (no `run` or second
    /// `serve` on it at the same time).
    let stateLock: Int32
    let clock: TimeSource
    let lateness: Int64
    let retention: Int64?
    /// Decisions made since the last commit, for whoever counts them (metrics, the shadow report).
    var decided: [Decision] = []
    /// When true (the evaluator sets it), `evaluate` leaves the decisions' JSON text empty, in the
    /// outbox rows and in the results, and keeps the decisions beside the rows instead: the text
    /// is written by `PendingCommit.writeDecisionTexts` on the committer's thread, off the
    /// evaluator's, which is the serial part of the service.
    public var defersDecisionText = false
    /// The decisions of `rows`, in order, while their text is deferred.
    var rowDecisions: [Decision] = []

    /// What the next commit records: the ids of the events evaluated, the outbox rows, the log.
    var fresh = ProcessedSegment()
    var rows: [DecisionOutbox.Row] = []
    var group: IngestGroup
    let log: IngestLogFile
    /// Ids answered as duplicates in this group: their decisions are read back after the commit.
    var retried: Set<String> = []
    public private(set) var lastSequence: Int64
    /// Events logged since the engine's state was last checkpointed (replayed on a restart).
    public private(set) var sinceCheckpoint = 0
    /// 10,000, as `run --state`: a checkpoint rewrites every key changed since the last, and
    /// after a crash at most this many events are evaluated again on startup (milliseconds).
    public let checkpointEvery: Int
    public static let defaultCheckpointEvery = 10_000

    /// This process's counts (the engine's statistics hold the state's totals).
    public private(set) var counts = Counts()
    public struct Counts: Sendable, Equatable {
        public var accepted = 0
        public var duplicates = 0
        public var deadLetters = 0
        public var decisions = 0
        public var deadlineDecisions = 0
        public var commits = 0
        public var checkpoints = 0
        /// Events evaluated again on startup from the ingest log.
        public var replayed = 0
        /// Events whose time was behind the watermark when they arrived.
        public var lateEvents = 0
    }

    /// `synced`: each commit on disk before it returns (what an acknowledgement needs). A shadow
    /// acknowledges nothing: its commits survive the process being killed, and a power loss
    /// takes it back to an earlier commit (the events after it are then missing from its
    /// comparison, never delivered twice: it delivers nothing).
    public init(program: Program, state path: String, clock: TimeSource, lateness: Int64,
                retention: Int64? = Engine.defaultRetention, checkpointEvery: Int = LiveRuleSet.defaultCheckpointEvery,
                synced: Bool = true) throws(ServiceFailure) {
        self.checkpointEvery = max(1, checkpointEvery)
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
        // The program the state was made by: this one, or the one the file recorded when the
        // rules changed while the service was stopped (switched from below, once its log is replayed).
        var made = program
        do {
            store = try StateStore(path: path)
            if synced { try store.syncEveryCommit() }
            let loaded = try RuleSetRecord.load(store, program: program, path: path)
            if let loaded {
                engineState = loaded.state
                made = loaded.program
            }
            try store.dropProcessedEvents(olderThan: retention, clock: engineState.clock)
            processed = try store.loadProcessed()
            outbox = try DecisionOutbox(store: store, path: path)
            log = try IngestLogFile(statePath: path, store: store)
            lastSequence = try outbox.latestSequence()
            self.program = made
            fingerprint = made.fingerprint
            hasDeadlines = made.rules.contains { $0.absence != nil }
            engine = Engine(program: made, state: engineState)
            engine.retention = retention
            engine.trackChanges()
            watermark = Watermark(engine: engine, clock: clock, lateness: lateness)
            group = IngestGroup(firstSequence: lastSequence)
            try replay(log.groups)
            if made.fingerprint != program.fingerprint {
                // Rules changed while stopped: switched to as a reload would (recorded, `startup`).
                _ = try switchRules(to: program, trigger: "startup")
            } else if loaded == nil {
                // A new state records the rules it belongs to at once, with their program (what a
                // later switch carries the state from).
                try checkpoint(alongside: { db in try RuleSetRecord.record(program, db) })
            } else {
                // A state written before programs were recorded gets it now (the log stays as it is).
                try store.write { db in try RuleSetRecord.recordIfMissing(program, db) }
            }
        } catch let failure as ServiceFailure {
            close(stateLock)
            throw failure
        } catch {
            close(stateLock)
            throw ServiceFailure("\(error)")
        }
    }

    deinit { close(stateLock) }

    /// Evaluates the groups logged since the checkpoint again, as they were evaluated live; their
    /// decisions are in the outbox already, and must come out the same.
    func replay(_ groups: [IngestGroup]) throws(ServiceFailure) {
        guard var sequence = groups.first?.firstSequence else { return }
        // Each decision made again must be the one the outbox holds at its sequence.
        let recorded = try outbox.entries(after: sequence, limit: Int.max)
        func check(_ decisions: [Decision]) throws(ServiceFailure) {
            for decision in decisions {
                let index = Int(sequence - (groups[0].firstSequence))
                sequence += 1
                guard index < recorded.count, recorded[index].decision == decision.jsonLine() else {
                    throw ServiceFailure("evaluating the state's ingest log again gave another decision at sequence \(sequence) than the outbox holds: the state was changed outside redress")
                }
            }
        }
        let reader = EventReader(program: program)
        var event = Event(slotCount: program.slots.count)
        for logged in groups {
            guard logged.firstSequence == sequence else {
                throw ServiceFailure("the state's ingest log does not follow on from itself (sequence \(logged.firstSequence) after \(sequence))")
            }
            for entry in logged.events {
                let failure = entry.line.withUnsafeBufferPointer { reader.read($0, number: 0, into: &event) }
                if let failure { throw ServiceFailure("an event of the state's ingest log does not read: \(failure)") }
                let (deadlines, own) = step(event, mark: entry.mark)
                try check(deadlines + own)
                counts.replayed += 1
                sinceCheckpoint += 1
            }
            if logged.fireMark > .min { try check(engine.advance(to: logged.fireMark)) }
        }
        guard sequence == lastSequence else {
            throw ServiceFailure("the state's ingest log gives decisions up to \(sequence), the outbox holds \(lastSequence): the state was changed outside redress")
        }
    }

    /// One event, live or replayed: the deadlines the watermark (`mark`) and the event's time
    /// passed fire first, then the event is evaluated.
    /// The event is numbered by its position in the engine's input (decisions name it so).
    func step(_ event: Event, mark: Int64) -> (deadlines: [Decision], own: [Decision]) {
        let deadlines = engine.advance(to: mark) + engine.advance(to: event.time)
        engine.state.position += 1
        return (deadlines, engine.process(event, line: engine.state.position))
    }

    /// Evaluates a request's lines in order. Decisions are not durable until `commit`; the
    /// decisions of duplicates are filled in by `answerDuplicates` after it.
    public func evaluate(_ items: [IngestItem]) -> [IngestResult] {
        var results: [IngestResult] = []
        results.reserveCapacity(items.count)
        // By index: `for item in` copied each item before its payload was bound (a second
        // retain and release of the event's arrays).
        for index in items.indices {
            switch items[index] {
            case .deadLetter(let line, let reason):
                counts.deadLetters += 1
                results.append(.deadLetter(line: line, reason: reason))
            case .event(let event, let line):
                guard processed.insert(event.idHash) else {
                    counts.duplicates += 1
                    retried.insert(event.id)
                    results.append(.duplicate(line: event.line, id: event.id, decisions: []))
                    continue
                }
                fresh.append(event.idHash, time: event.time)
                // The watermark as `Watermark.admit` has it, kept in the log for a replay.
                let mark = watermark.current
                if hasDeadlines, event.time < mark { counts.lateEvents += 1 }
                group.events.append(IngestGroup.Entry(mark: mark, line: line))
                let (deadlines, own) = step(event, mark: mark)
                record(deadlines, origin: .deadline)
                counts.accepted += 1
                results.append(.accepted(line: event.line, id: event.id, decisions: record(own, origin: .event)))
            }
        }
        return results
    }

    /// Fires the deadlines the wall clock (less the lateness) has passed; true if any fired.
    @discardableResult
    public func fireDue() -> Bool {
        guard hasDeadlines else { return false }
        let mark = watermark.current
        let pending = engine.state.pending.count
        let decisions = engine.advance(to: mark)
        // Logged when it changed anything (a deadline held back by a policy makes no decision).
        if !decisions.isEmpty || engine.state.pending.count != pending { group.fireMark = mark }
        return !record(decisions, origin: .deadline).isEmpty
    }

    /// How long the evaluator may wait before `fireDue` has something to do (milliseconds), or
    /// nil when only an event can add a deadline.
    public func millisecondsUntilDue() -> Int64? { watermark.millisecondsUntilDue() }

    public var hasUncommitted: Bool { !fresh.isEmpty || !rows.isEmpty || !group.isEmpty }

    @discardableResult
    func record(_ decisions: [Decision], origin: DecisionOrigin) -> [OutboxEntry] {
        guard !decisions.isEmpty else { return [] }
        var entries: [OutboxEntry] = []
        entries.reserveCapacity(decisions.count)
        for decision in decisions {
            lastSequence += 1
            // Deferred: written by `PendingCommit.writeDecisionTexts` on the committer's thread.
            let text = defersDecisionText ? "" : decision.jsonLine()
            rows.append(DecisionOutbox.Row(sequence: lastSequence, origin: origin, eventID: decision.event.id, decision: text))
            entries.append(OutboxEntry(sequence: lastSequence, decision: text))
        }
        if origin == .event { counts.decisions += decisions.count } else { counts.deadlineDecisions += decisions.count }
        // Deferred, the commit's decisions are its rows' (`PendingCommit.decisions`): kept once.
        if defersDecisionText { rowDecisions += decisions } else { decided += decisions }
        return entries
    }

    /// One transaction, synced to disk (`synchronous = FULL`) before it returns: the events'
    /// ids, the outbox rows and the ingest log, or, every `checkpointEvery` events, the engine's
    /// changes in place of the log. Whatever it throws, nothing of this group is durable, and
    /// the caller must not acknowledge it.
    public func commit() throws(ServiceFailure) {
        let pending = takeCommit()
        try write(pending)
        // Kept for `answerDuplicates(_:)`, which a caller committing on one thread calls next.
        retried = pending.retried
    }

    /// Commits what is pending with the engine's state, and empties the log; `more` writes
    /// more rows in the same transaction.
    public func checkpoint(alongside more: ((Database) throws -> Void)? = nil) throws(ServiceFailure) {
        try write(takeCheckpoint(alongside: more))
    }

    /// What one commit writes, taken on the evaluator's thread (`takeCommit`) and written by
    /// `write`, which may run on another thread while the next group is evaluated: the engine
    /// and the fields the evaluator keeps are never touched by `write`.
    public struct PendingCommit: @unchecked Sendable {
        var processed: ProcessedSegment
        var rows: [DecisionOutbox.Row]
        var group: IngestGroup
        /// The engine's changes since the last checkpoint: this commit is a checkpoint, and
        /// records an empty log instead of appending `group` to it.
        var changes: StateChanges?
        var alongside: ((Database) throws -> Void)?
        /// Ids answered as duplicates: their first decisions are read after the commit.
        public var retried: Set<String>
        /// The decisions of `rows` whose JSON text is still to be written (deferred), in order.
        var decisions: [Decision] = []
        public var isEmpty: Bool { processed.isEmpty && rows.isEmpty && group.isEmpty && changes == nil }

        /// Writes the deferred decisions' text into the rows.
        public mutating func writeDecisionTexts() {
            guard !decisions.isEmpty, decisions.count == rows.count else { return }
            for index in rows.indices { rows[index].decision = decisions[index].jsonLine() }
            decisions = []
        }

        /// Fills the decisions' text into results made while it was deferred (from the rows, by sequence).
        public func fillDecisionTexts(_ results: inout [[IngestResult]]) {
            guard let first = rows.first?.sequence else { return }
            func filled(_ entries: [OutboxEntry]) -> [OutboxEntry] {
                entries.map { entry in
                    let index = Int(entry.sequence - first)
                    guard entry.decision.isEmpty, rows.indices.contains(index) else { return entry }
                    return OutboxEntry(sequence: entry.sequence, decision: rows[index].decision)
                }
            }
            for request in results.indices {
                for index in results[request].indices {
                    if case .accepted(let line, let id, let entries) = results[request][index], !entries.isEmpty {
                        results[request][index] = .accepted(line: line, id: id, decisions: filled(entries))
                    }
                }
            }
        }
    }

    /// Takes what the next commit writes: a checkpoint once `checkpointEvery` events were logged
    /// since the last, the log otherwise.
    public func takeCommit() -> PendingCommit {
        if sinceCheckpoint + group.events.count >= checkpointEvery { return takeCheckpoint() }
        let pending = PendingCommit(processed: fresh, rows: rows, group: group, retried: retried, decisions: rowDecisions)
        sinceCheckpoint += group.events.count
        if !pending.isEmpty { counts.commits += 1 }
        taken()
        return pending
    }

    /// Takes a checkpoint of the engine's state with what is pending.
    public func takeCheckpoint(alongside more: ((Database) throws -> Void)? = nil) -> PendingCommit {
        let pending = PendingCommit(processed: fresh, rows: rows, group: group, changes: engine.takeChanges(), alongside: more, retried: retried,
                                    decisions: rowDecisions)
        sinceCheckpoint = 0
        counts.checkpoints += 1
        counts.commits += 1
        taken()
        return pending
    }

    func taken() {
        fresh.removeAll()
        rows.removeAll(keepingCapacity: true)
        rowDecisions.removeAll(keepingCapacity: true)
        retried.removeAll()
        group = IngestGroup(firstSequence: lastSequence)
    }

    /// Writes a commit taken by `takeCommit`, commits in the order they were taken. A commit
    /// that throws leaves the state as it was before it, and nothing taken after it may be
    /// written (the evaluator stops).
    public func write(_ pending: PendingCommit) throws(ServiceFailure) { try write([pending]) }

    /// Writes commits taken one after another, in as few transactions as they allow: those
    /// without a checkpoint share one log append (one sync) and one transaction; a checkpoint
    /// is a transaction of its own. Whatever it throws, the commits from the one that failed on
    /// are not durable.
    public func write(_ commits: [PendingCommit]) throws(ServiceFailure) {
        var run: [PendingCommit] = []
        for var pending in commits {
            pending.writeDecisionTexts()
            if pending.changes == nil {
                run.append(pending)
                continue
            }
            try writeLogged(run)
            run.removeAll()
            try writeCheckpoint(pending)
        }
        try writeLogged(run)
    }

    func writeCheckpoint(_ pending: PendingCommit) throws(ServiceFailure) {
        let outbox = self.outbox, rows = pending.rows
        do {
            try store.save(pending.changes ?? StateChanges(), outputBytes: 0, deadLetterBytes: 0, program: fingerprint, emitted: [],
                           processed: pending.processed, alongside: { db in
                               try outbox.insert(rows, db)
                               try IngestLogFile.record(0, db)
                               try pending.alongside?(db)
                           })
        } catch {
            throw ServiceFailure("cannot commit to the state: \(error)")
        }
        log.emptied()
    }

    func writeLogged(_ commits: [PendingCommit]) throws(ServiceFailure) {
        let commits = commits.filter { !$0.isEmpty }
        guard !commits.isEmpty else { return }
        var processed = ProcessedSegment()
        for commit in commits {
            processed.identities += commit.processed.identities
            processed.newest = max(processed.newest, commit.processed.newest)
        }
        let outbox = self.outbox
        // The events first (synced), then the commit that says they count.
        let length = try log.append(commits.map(\.group))
        do {
            try store.append(processed: processed) { db in
                for commit in commits { try outbox.insert(commit.rows, db) }
                try IngestLogFile.record(length, db)
            }
        } catch {
            throw ServiceFailure("cannot commit to the state: \(error)")
        }
        log.committed(length)
    }

    /// After a commit: the decisions each duplicate's first evaluation caused.
    public func answerDuplicates(_ results: inout [[IngestResult]]) throws(ServiceFailure) {
        try answerDuplicates(&results, retried: retried)
        retried.removeAll()
    }

    /// After the commit that took `retried`: every earlier commit is written by then, so the
    /// first evaluation of each duplicate is in the outbox.
    public func answerDuplicates(_ results: inout [[IngestResult]], retried: Set<String>) throws(ServiceFailure) {
        guard !retried.isEmpty else { return }
        let found = try outbox.entries(ofEvents: retried)
        for request in results.indices {
            for index in results[request].indices {
                if case .duplicate(let line, let id, _) = results[request][index] {
                    results[request][index] = .duplicate(line: line, id: id, decisions: found[id] ?? [])
                }
            }
        }
    }

    public var lateEvents: Int { counts.lateEvents }

    /// The decisions made since the last call; deferring their text, those of `pending`, the
    /// commit just taken (the same decisions, kept once).
    func takeDecided(_ pending: PendingCommit? = nil) -> [Decision] {
        if defersDecisionText, let pending { return pending.decisions }
        defer { decided.removeAll(keepingCapacity: true) }
        return decided
    }

    /// Switches to another program between groups (nothing uncommitted): the state of rules
    /// that keep their names is carried over (`StateMigration`), and the whole state, the
    /// program and the reload are written in one synced transaction that also empties the
    /// ingest log (its events were evaluated by the old program, and are in the state now).
    /// If that fails, nothing changed: the old program goes on serving.
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
                try IngestLogFile.record(0, db)
                try RuleSetRecord.record(new, db)
                try RuleSetRecord.recordReload(reload, db)
            })
        } catch {
            throw ServiceFailure("cannot record the new rule set in the state: \(error)")
        }
        log.emptied()
        program = new
        engine = next
        fingerprint = new.fingerprint
        hasDeadlines = new.rules.contains { $0.absence != nil }
        watermark = Watermark(engine: next, clock: clock, lateness: lateness)
        sinceCheckpoint = 0
        counts.checkpoints += 1
        group = IngestGroup(firstSequence: lastSequence)
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
