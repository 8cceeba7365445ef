import Foundation
import Logging
import ServiceLifecycle
import RedressEngine
import RedressEvents
import RedressIR

/// The answer to one ingest request.
public enum IngestOutcome: Sendable {
    /// Evaluated and durable: a result per line, in order.
    case done([IngestResult])
    /// The queue is full (HTTP 503): nothing of the request was evaluated; send it again later.
    case overloaded
    /// The service is stopping or has failed (HTTP 503): nothing of it was evaluated.
    case unavailable(String)
}

/// What one group commit did, for whoever counts (the metrics, the shadow report).
public struct CommittedGroup: Sendable {
    public var requests: Int
    public var results: [[IngestResult]]
    public var deadlineFired: Bool
    /// Seconds from taking the group to its durable commit.
    public var seconds: Double
    public var latestSequence: Int64
    /// The decisions committed, those of deadlines included, in outbox order.
    public var decisions: [Decision] = []
    /// Events evaluated, by type, and decisions held back, by `rule|reason`, in this group.
    public var eventsByType: [String: Int] = [:]
    public var heldBack: [String: Int] = [:]
    /// The program that made them (a reload may come between two groups), and its fingerprint
    /// (`Program.fingerprint` hashes the whole IR each time it is read: not per group).
    public var program: Program
    public var fingerprint: String
}

/// A request's lines, queued for the evaluator. Parsed on the request's thread with the reader
/// of the rule set served then (`generation`); parsed again on the evaluator's thread when a
/// reload switched the rule set in between (its events then have another layout), or when
/// not parsed at all (what the active set hands a shadow).
struct Submission {
    var items: [IngestItem]?
    var generation: Int
    /// Events it holds, as far as known when queued (what the queue limit counts), and the
    /// bytes of the body it keeps (what `queueByteLimit` counts).
    var events: Int
    var bytes = 0
    var parse: @Sendable (EventReader) -> [IngestItem]
    var answer: @Sendable (IngestOutcome) -> Void
}

/// A request to switch the rule set, answered once the evaluator did it (or could not).
struct Switch {
    var program: Program
    var trigger: String
    var answer: @Sendable (Result<RuleSetRecord.Reload, ServiceFailure>) -> Void
}

/// The one evaluator of a served rule set: a thread of its own owns the `LiveRuleSet` (its
/// engine is not shared). Request handlers queue their lines and wait; the thread takes every
/// request queued so far, evaluates them in arrival order, and hands the group's commit to a
/// second thread (the committer), which writes it in one transaction (one sync for all: group
/// commit) and only then answers the requests. The evaluator goes on with the next group
/// meanwhile, and groups evaluated while a commit is being written are written together, so
/// the syncs per event fall as the load rises. A quiet evaluator wakes for the next deadline
/// the wall clock will pass.
///
/// The queue is bounded by the events it holds: past `queueLimit` a request is refused
/// (HTTP 503) rather than held in memory without bound.
///
/// A reload switches the rule set on this thread between two groups (`reload`), so every event
/// is read and evaluated by one rule set, never half of each. A shadow rule set (`--shadow`) has
/// an evaluator of its own, which this one hands each committed request to, in order.
public final class Evaluator: Service, @unchecked Sendable {
    let ruleSet: LiveRuleSet
    /// The outbox, for the request threads (reads only).
    public let outbox: DecisionOutbox
    public let queueLimit: Int
    /// Which rule set it evaluates: `active`, or `shadow` (its metrics label).
    public let role: String
    let condition = NSCondition()
    // Guarded by `condition`:
    var queue: [Submission] = []
    var queuedEvents = 0
    var queuedBytes = 0
    var switches: [Switch] = []
    /// The reader of the rule set served, and its number (one more per switch).
    var reader: EventReader
    var generation = 0
    var stopping = false
    var failure: String? = nil
    var running = false
    var status: ServiceStatus
    /// What other threads are done with and this one allocated, freed here (see `freeLater`).
    var garbage: [Garbage] = []
    var ended: CheckedContinuation<Void, any Error>? = nil
    var endResult: Result<Void, ServiceFailure>? = nil

    /// The latest committed outbox sequence, for long-polling readers.
    public let committed: CommittedSequence
    /// Called on the evaluator's thread after each commit (the place for counters). Set before
    /// the service runs.
    public var observe: (@Sendable (CommittedGroup) -> Void)? = nil
    /// The shadow's evaluator, which each committed request is handed to (set before it runs).
    public var shadow: Evaluator? = nil
    /// Events the shadow refused (its queue full, or it failed): never evaluated by it.
    var shadowDropped = 0
    /// When false (a shadow), a failed commit ends this evaluator only: it is logged, and the
    /// service waits for the others to stop instead of ending the process.
    public var failureIsFatal = true
    /// How long a group waits for more requests once the first is queued, in milliseconds (0:
    /// none). The active set's groups grow while a commit is being synced; a shadow answers no
    /// one, and without this it would commit nearly every request on its own, a transaction and
    /// a log append each.
    public var gatherMilliseconds: Int64 = 0
    /// The most events a group takes from the queue (a request is never split; a larger one is
    /// a group of its own). Without it the evaluator took every queued request at once, and the
    /// stages took turns: the reading thread idle while a group of a dozen batches was evaluated,
    /// the evaluator idle while its commit was written and answered. Measured with 16
    /// connections sending 1,000-event batches, the processors were idle 12% of the time, 5% with
    /// groups of 2,000 events, and 2,000 was faster than 4,000 in three alternated runs out of three.
    public var groupEventLimit = 2_000
    /// A shadow's thread runs at a lower priority (nice 10, on Linux): when the processor is
    /// busy, the active set's evaluation and the request threads come first, and the shadow
    /// falls behind (its queue bounded, what it drops counted) rather than slowing them.
    public var yieldsProcessor = false
    /// The most bytes of request bodies its queue may keep (nil: not counted). A shadow keeps
    /// the bodies it has yet to read past their requests' end; this bounds that memory.
    public var queueByteLimit: Int? = nil
    public var logger = Logger(label: "redress.serve")
    /// The statistics at the last publication (what the next group's counts are measured from).
    var published: EngineState.Statistics

    /// Reads the active set's request bodies and frees their events (`ReadingThread`).
    public let readingThread: ReadingThread
    /// Whether request handlers read bodies on `readingThread` (a shadow reads what the active
    /// set hands it on its own thread: its reading thread is never started).
    public var readsRequestBodies = true

    public init(ruleSet: LiveRuleSet, queueLimit: Int, loadedAt: String, role: String = "active") {
        readingThread = ReadingThread(name: "redress-\(role)-read")
        self.ruleSet = ruleSet
        // The decisions' JSON is written on the committer's thread (`CommitJob`'s pending commit).
        ruleSet.defersDecisionText = true
        outbox = ruleSet.outbox
        self.queueLimit = queueLimit
        self.role = role
        reader = EventReader(program: ruleSet.program)
        committed = CommittedSequence(ruleSet.lastSequence)
        published = ruleSet.engine.statistics
        status = ServiceStatus(fingerprint: ruleSet.fingerprint, rules: ruleSet.program.rules.count, loadedAt: loadedAt,
                               statistics: ruleSet.engine.statistics, counts: ruleSet.counts, latestSequence: ruleSet.lastSequence,
                               pendingDeadlines: ruleSet.engine.state.pending.count, lateEvents: 0, queuedEvents: 0, queueLimit: queueLimit)
        status.stateKeys = ruleSet.engine.stateKeyCount
        status.lastReload = try? ruleSet.reloads(limit: 1).first
    }

    /// The program served now (it changes with a reload).
    public var program: Program { condition.withLock { reader.program } }

    /// The reader of the rule set served now, with its generation: a request parsed with it is
    /// submitted with that generation.
    public var currentReader: (generation: Int, reader: EventReader) { condition.withLock { (generation, reader) } }

    /// Queues a request's lines; `answer` is called once, from the evaluator's thread (or at
    /// once when the request is refused). Items made by the current reader need no `parse`.
    public func submit(_ items: [IngestItem], answer: @escaping @Sendable (IngestOutcome) -> Void) {
        let generation = condition.withLock { self.generation }
        submit(Submission(items: items, generation: generation, events: items.count, parse: { _ in items }, answer: answer))
    }

    /// Queues a request parsed with the reader of `generation`; `parse` reads its body again
    /// should the rule set have switched before it is evaluated.
    public func submit(_ items: [IngestItem], generation: Int, bytes: Int = 0, parse: @escaping @Sendable (EventReader) -> [IngestItem]) async -> IngestOutcome {
        await withCheckedContinuation { continuation in
            submit(Submission(items: items, generation: generation, events: items.count, bytes: bytes, parse: parse,
                              answer: { continuation.resume(returning: $0) }))
        }
    }

    func submit(_ submission: Submission) {
        let answer = submission.answer
        condition.lock()
        if let failure {
            condition.unlock()
            return answer(.unavailable(failure))
        }
        if stopping || !running {
            condition.unlock()
            return answer(.unavailable("the service is stopping"))
        }
        // A request larger than the whole queue is taken when the queue is empty: refused
        // for ever otherwise, though its size is within the body limit.
        if queuedEvents > 0, queuedEvents + submission.events > queueLimit {
            condition.unlock()
            return answer(.overloaded)
        }
        if let queueByteLimit, queuedBytes > 0, queuedBytes + submission.bytes > queueByteLimit {
            condition.unlock()
            return answer(.overloaded)
        }
        queue.append(submission)
        queuedEvents += submission.events
        queuedBytes += submission.bytes
        condition.signal()
        condition.unlock()
    }

    public func submit(_ items: [IngestItem]) async -> IngestOutcome {
        await withCheckedContinuation { continuation in
            submit(items) { continuation.resume(returning: $0) }
        }
    }

    /// Why it stopped evaluating, if a commit failed.
    public var failureMessage: String? { condition.withLock { failure } }

    /// Whether it evaluates (for `/readyz`): started, not stopping, not failed.
    public var isReady: Bool {
        condition.lock()
        defer { condition.unlock() }
        return running && !stopping && failure == nil
    }

    public var currentStatus: ServiceStatus {
        condition.lock()
        defer { condition.unlock() }
        var copy = status
        copy.queuedEvents = queuedEvents
        copy.shadowDropped = shadowDropped
        return copy
    }

    /// Switches to `program` between two groups; answers with the reload recorded, or why the
    /// old rule set goes on serving (the switch could not be written, or the service stops).
    public func reload(_ program: Program, trigger: String) async -> Result<RuleSetRecord.Reload, ServiceFailure> {
        await withCheckedContinuation { continuation in
            condition.lock()
            guard running, !stopping, failure == nil else {
                condition.unlock()
                let reason = failure ?? (stopping ? "the service is stopping" : "the service is not evaluating yet")
                return continuation.resume(returning: .failure(ServiceFailure(reason)))
            }
            switches.append(Switch(program: program, trigger: trigger, answer: { continuation.resume(returning: $0) }))
            condition.signal()
            condition.unlock()
        }
    }

    /// The service's life: starts the thread, and on graceful shutdown lets it answer what is
    /// queued, commit, and end. Throws if a commit failed (the process then exits non-zero and
    /// a restart resumes from the last commit).
    public func run() async throws {
        start()
        do {
            // Ended by a graceful shutdown (a signal), or by cancellation: the service group cancels
            // the others when one fails (the server cannot bind its address), and this one must end
            // too, or the process would never exit.
            try await withTaskCancellationHandler {
                try await withGracefulShutdownHandler {
                    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                        whenEnded(continuation)
                    }
                } onGracefulShutdown: {
                    self.stop()
                }
            } onCancel: {
                self.stop()
            }
        } catch let error as ServiceFailure where !failureIsFatal {
            // A shadow that failed: the active rule set serves on; this one waits to be stopped.
            logger.error("the \(role) rule set stopped evaluating", metadata: ["error": "\(error.message)"])
            try? await gracefulShutdown()
        }
    }

    func start() {
        condition.withLock { running = true }
        if readsRequestBodies { readingThread.start() }
        startCommitter()
        let yields = yieldsProcessor
        let thread = Thread { [self] in
            #if os(Linux)
            // A nice value is per thread on Linux (`who` 0: the calling thread).
            if yields { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10) }
            #endif
            loop()
        }
        thread.name = "redress-\(role)"
        thread.start()
    }

    func whenEnded(_ continuation: CheckedContinuation<Void, any Error>) {
        condition.lock()
        if let endResult {
            condition.unlock()
            continuation.resume(with: endResult.mapError { $0 })
        } else {
            ended = continuation
            condition.unlock()
        }
    }

    /// Asks the thread to finish: queued requests are still evaluated and answered.
    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    func loop() {
        var result: Result<Void, ServiceFailure> = .success(())
        do throws(ServiceFailure) {
            try evaluateUntilStopped()
        } catch {
            result = .failure(error)
        }
        // The commits on their way are written (and answered) before the service says it ended.
        _ = awaitCommit()
        closeCommits()
        readingThread.close()
        condition.lock()
        running = false
        if case .failure(let failure) = result {
            self.failure = failure.message
            // Whatever is still queued was not evaluated: refused, not lost silently.
            for request in queue { request.answer(.unavailable(failure.message)) }
            queue.removeAll()
            queuedEvents = 0
        }
        for request in switches { request.answer(.failure(ServiceFailure(self.failure ?? "the service stopped"))) }
        switches.removeAll()
        endResult = result
        let continuation = ended
        ended = nil
        condition.unlock()
        committed.finish()
        continuation?.resume(with: result.mapError { $0 })
    }

    /// How long input must pause before the engine's state is checkpointed, in milliseconds.
    static let quietMilliseconds: Int64 = 100

    func evaluateUntilStopped() throws(ServiceFailure) {
        while true {
            condition.lock()
            while queue.isEmpty, switches.isEmpty, !stopping {
                var wait = ruleSet.millisecondsUntilDue()
                // Events logged since the last checkpoint: checkpointed once input pauses.
                if ruleSet.sinceCheckpoint > 0 { wait = min(wait ?? Self.quietMilliseconds, Self.quietMilliseconds) }
                guard let wait else {
                    condition.wait()
                    continue
                }
                if wait <= 0 { break }
                if !condition.wait(until: Date(timeIntervalSinceNow: Double(wait) / 1000)) { break }
            }
            if gatherMilliseconds > 0, !queue.isEmpty {
                // Let more requests join the group: one commit for all of them.
                let until = Date(timeIntervalSinceNow: Double(gatherMilliseconds) / 1000)
                while !stopping, switches.isEmpty, queuedEvents < queueLimit / 2, condition.wait(until: until) {}
            }
            // A switch waits for everything queued before it (as it always has: one group).
            let limit = switches.isEmpty ? groupEventLimit : .max
            var taken = 0, events = 0, bytes = 0
            while taken < queue.count, taken == 0 || events + queue[taken].events <= limit {
                events += queue[taken].events
                bytes += queue[taken].bytes
                taken += 1
            }
            var group = Array(queue[..<taken])
            queue.removeFirst(taken)
            queuedEvents -= events
            queuedBytes -= bytes
            let finishing = stopping && group.isEmpty
            let pendingSwitches = switches
            switches.removeAll()
            let (current, reader) = (generation, self.reader)
            let refuseSwitches = stopping
            var freed: [Garbage] = []
            swap(&freed, &garbage)
            condition.unlock()
            // Before evaluating: the group's allocations reuse these blocks.
            freed.removeAll()
            if refuseSwitches {
                for request in pendingSwitches { request.answer(.failure(ServiceFailure("the service is stopping"))) }
            }

            let start = DispatchTime.now().uptimeNanoseconds
            // Requests read by another rule set's reader (a switch came in between) are read again.
            for index in group.indices where group[index].items == nil || group[index].generation != current {
                group[index].items = group[index].parse(reader)
            }
            let results = group.map { ruleSet.evaluate($0.items ?? []) }
            let fired = ruleSet.fireDue()
            // Stopping, or a quiet moment: the engine's state is checkpointed. (A group of
            // duplicates only has nothing to commit, but its answers to read back, in order.)
            let pending = finishing || (group.isEmpty && ruleSet.sinceCheckpoint > 0) ? ruleSet.takeCheckpoint() : ruleSet.takeCommit()
            let job = CommitJob(pending: pending, requests: group, results: results, fired: fired, start: start, snapshot: snapshot(pending))
            if let failure = commitState.withLock({ commitFailure }) {
                for request in group { request.answer(.unavailable("not durable: \(failure.message)")) }
                throw failure
            }
            submit(job)
            if finishing || (!refuseSwitches && !pendingSwitches.isEmpty) {
                // A switch needs everything written; so does the end.
                if let failure = awaitCommit() {
                    for request in pendingSwitches { request.answer(.failure(failure)) }
                    throw failure
                }
            }
            if !refuseSwitches { for request in pendingSwitches { request.answer(switchRules(request)) } }
            if finishing { return }
        }
    }

    /// A group evaluated, and what its commit writes: written and answered on `committer`.
    struct CommitJob: @unchecked Sendable {
        var pending: LiveRuleSet.PendingCommit
        var requests: [Submission]
        var results: [[IngestResult]]
        var fired: Bool
        var start: UInt64
        var snapshot: Snapshot

        /// Drops what others free: the requests and their events (the request handlers and the
        /// reading thread), the answers (sent to the handlers), the logged lines (the events'),
        /// and the rows, whose texts the committer wrote.
        mutating func letGoOfRequests() {
            requests = []
            results = []
            pending.group = IngestGroup(firstSequence: 0)
            pending.rows = []
        }
    }

    /// Things another thread is done with, which this evaluator's thread allocated: freed there,
    /// where malloc's arena is its own (see `ReadingThread` for what freeing elsewhere cost).
    enum Garbage {
        /// Written commits, without their requests, answers, events and texts.
        case commits([CommitJob])
        /// A request's answers, once sent.
        case results([IngestResult])
    }

    /// Frees `garbage` on the evaluator's thread when it takes its next group.
    func freeLater(_ garbage: consuming Garbage) {
        condition.lock()
        self.garbage.append(garbage)
        condition.unlock()
    }

    /// Frees a request's answers on the evaluator's thread, which made them.
    public func release(_ results: consuming [IngestResult]) {
        freeLater(.results(results))
    }

    /// What the status and the metrics show after a group, taken on the evaluator's thread
    /// (the engine is its alone) and published once the group's commit is durable.
    struct Snapshot {
        var statistics: EngineState.Statistics
        var counts: LiveRuleSet.Counts
        var latestSequence: Int64
        var pendingDeadlines: Int
        var stateKeys: Int
        var decisions: [Decision]
        var program: Program
        var fingerprint: String
    }

    func snapshot(_ pending: LiveRuleSet.PendingCommit) -> Snapshot {
        let engine = ruleSet.engine
        return Snapshot(statistics: engine.statistics, counts: ruleSet.counts, latestSequence: ruleSet.lastSequence,
                        pendingDeadlines: engine.state.pending.count, stateKeys: engine.stateKeyCount, decisions: ruleSet.takeDecided(pending),
                        program: ruleSet.program, fingerprint: ruleSet.fingerprint)
    }

    /// Writes group commits on a thread of their own, in order, so that the evaluator evaluates
    /// the next groups while a commit's syncs (the ingest log's and SQLite's) are on their way
    /// to disk: measured, the syncs and the SQLite work took as long as the evaluation, and the
    /// evaluator waited on them. Commits queued while one is written are written together
    /// (one log append, one transaction, two syncs for all), so the syncs per event fall as the
    /// load rises, as the groups do.
    let commitState = NSCondition()
    // Guarded by `commitState`:
    var commits: [CommitJob] = []
    var commitWriting = false
    var commitsClosed = false
    var commitFailure: ServiceFailure? = nil
    /// Groups evaluated and waiting for their commit at most: past it the evaluator waits (what
    /// it holds in memory stays bounded).
    static let queuedCommitLimit = 8

    func startCommitter() {
        let thread = Thread { [self] in writeCommits() }
        thread.name = "redress-\(role)-commit"
        thread.start()
    }

    func submit(_ job: CommitJob) {
        commitState.lock()
        while commits.count >= Self.queuedCommitLimit, commitFailure == nil { commitState.wait() }
        commits.append(job)
        commitState.broadcast()
        commitState.unlock()
    }

    /// Waits until every commit submitted is written; returns why one failed (then nothing
    /// more is written).
    func awaitCommit() -> ServiceFailure? {
        commitState.lock()
        defer { commitState.unlock() }
        while commitWriting || (!commits.isEmpty && commitFailure == nil) { commitState.wait() }
        return commitFailure
    }

    /// The committer's thread, until `closeCommits`.
    func writeCommits() {
        while true {
            commitState.lock()
            while commits.isEmpty, !commitsClosed { commitState.wait() }
            if commits.isEmpty {
                commitState.unlock()
                return
            }
            var jobs = commits
            commits.removeAll()
            let failed = commitFailure
            commitWriting = true
            commitState.broadcast()
            commitState.unlock()
            var replies: [() -> Void] = []
            let failure = failed.map { failure in
                // After a failure nothing more is written: what was queued is refused.
                refuse(jobs[...], failure)
                return failure
            } ?? write(jobs, replies: &replies)
            // The groups are let go before their requests are answered, so that their events
            // are freed where they were read (`ReadingThread`); what the evaluator's thread
            // allocated (the decisions, the changes, the snapshot) goes back to it. Measured,
            // freeing the decisions here made this thread and the evaluator's wait on malloc's
            // lock of the evaluator's arena, and freeing events here was a fifth of its time.
            for index in jobs.indices { jobs[index].letGoOfRequests() }
            freeLater(.commits(jobs))
            jobs.removeAll()
            for reply in replies { reply() }
            commitState.lock()
            commitWriting = false
            if let failure { commitFailure = failure }
            commitState.broadcast()
            commitState.unlock()
        }
    }

    /// Ends the committer's thread once what was submitted is written.
    func closeCommits() {
        commitState.withLock {
            commitsClosed = true
            commitState.broadcast()
        }
    }

    /// On the committer's thread: writes the commits; their requests' answers go to `replies`,
    /// to be given once written (a failed write answers them "not durable" at once).
    func write(_ jobs: [CommitJob], replies: inout [() -> Void]) -> ServiceFailure? {
        var jobs = jobs
        for index in jobs.indices { jobs[index].pending.writeDecisionTexts() }
        do throws(ServiceFailure) {
            try ruleSet.write(jobs.map(\.pending))
        } catch {
            logger.error("commit failed; nothing of the group was acknowledged", metadata: ["set": "\(role)", "error": "\(error.message)"])
            refuse(jobs[...], error)
            return error
        }
        for (index, job) in jobs.enumerated() {
            if let failure = answer(job, replies: &replies) {
                refuse(jobs[(index + 1)...], failure)
                return failure
            }
        }
        return nil
    }

    /// Answers every request of `jobs` "not durable": nothing of them was acknowledged.
    func refuse(_ jobs: ArraySlice<CommitJob>, _ failure: ServiceFailure) {
        for job in jobs { for request in job.requests { request.answer(.unavailable("not durable: \(failure.message)")) } }
    }

    /// After its commit was written: the duplicates' first decisions, the status and counters,
    /// the shadow, then the answers.
    func answer(_ job: CommitJob, replies: inout [() -> Void]) -> ServiceFailure? {
        var results = job.results
        job.pending.fillDecisionTexts(&results)
        do throws(ServiceFailure) {
            try ruleSet.answerDuplicates(&results, retried: job.pending.retried)
        } catch {
            logger.error("cannot read the decisions of retried events", metadata: ["set": "\(role)", "error": "\(error.message)"])
            for request in job.requests { request.answer(.unavailable("not answered: \(error.message)")) }
            return error
        }
        // Published before answering: a client that was answered and then reads the outbox
        // (or its status) sees what it was told.
        publish(job.snapshot, group: results, fired: job.fired, seconds: Double(DispatchTime.now().uptimeNanoseconds - job.start) / 1e9)
        handToShadow(job.requests, results)
        for (request, result) in zip(job.requests, results) {
            let answer = request.answer
            replies.append { answer(.done(result)) }
        }
        return nil
    }

    /// Hands the committed requests to the shadow, in the order they were evaluated; it reads
    /// them with its own reader on its own thread. A full or failed shadow refuses them, and
    /// they are counted, never waited for.
    func handToShadow(_ group: [Submission], _ results: [[IngestResult]]) {
        guard let shadow else { return }
        for (request, result) in zip(group, results) {
            let events = result.reduce(0) { if case .deadLetter = $1 { $0 } else { $0 + 1 } }
            guard events > 0 else { continue }
            shadow.submit(Submission(items: nil, generation: -1, events: events, bytes: request.bytes, parse: request.parse, answer: { [self] outcome in
                if case .done = outcome { return }
                condition.withLock { shadowDropped += events }
            }))
        }
    }

    /// Switches the rule set (between groups, nothing uncommitted); a failure leaves the old
    /// one serving.
    func switchRules(_ request: Switch) -> Result<RuleSetRecord.Reload, ServiceFailure> {
        do throws(ServiceFailure) {
            let reload = try ruleSet.switchRules(to: request.program, trigger: request.trigger)
            let next = EventReader(program: ruleSet.program)
            condition.withLock {
                reader = next
                generation += 1
                status.fingerprint = reload.fingerprint
                status.rules = reload.rules
                status.loadedAt = reload.time
                status.lastReload = reload
                status.reloads += 1
                status.pendingDeadlines = ruleSet.engine.state.pending.count
                status.stateKeys = ruleSet.engine.stateKeyCount
            }
            logger.notice("switched rule set", metadata: ["set": "\(role)", "fingerprint": "\(reload.fingerprint)", "previous": "\(reload.previous)",
                                                          "trigger": "\(reload.trigger)", "stateCarried": "\(reload.summary.carried)",
                                                          "stateDropped": "\(reload.summary.dropped)"])
            return .success(reload)
        } catch {
            logger.error("could not switch the rule set; the old one serves on", metadata: ["set": "\(role)", "error": "\(error.message)"])
            return .failure(error)
        }
    }

    /// On `committer`, after the commit: the status, the long-polling readers and the counters.
    func publish(_ snapshot: Snapshot, group: [[IngestResult]], fired: Bool, seconds: Double) {
        let statistics = snapshot.statistics
        condition.lock()
        status.statistics = statistics
        status.counts = snapshot.counts
        status.latestSequence = snapshot.latestSequence
        status.pendingDeadlines = snapshot.pendingDeadlines
        status.stateKeys = snapshot.stateKeys
        status.lateEvents = snapshot.counts.lateEvents
        condition.unlock()
        committed.publish(snapshot.latestSequence)
        if let observe, !group.isEmpty || fired {
            observe(CommittedGroup(requests: group.count, results: group, deadlineFired: fired, seconds: seconds,
                                   latestSequence: snapshot.latestSequence, decisions: snapshot.decisions,
                                   eventsByType: Self.difference(statistics.eventsByType, published.eventsByType),
                                   heldBack: Self.difference(statistics.heldBack, published.heldBack), program: snapshot.program,
                                   fingerprint: snapshot.fingerprint))
        }
        published = statistics
    }

    /// What grew from `before` to `now`, by key.
    static func difference(_ now: [String: Int], _ before: [String: Int]) -> [String: Int] {
        var grown: [String: Int] = [:]
        for (key, count) in now where count > before[key, default: 0] { grown[key] = count - before[key, default: 0] }
        return grown
    }
}
