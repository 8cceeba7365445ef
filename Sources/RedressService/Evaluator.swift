import Foundation
import ServiceLifecycle
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

/// What one group commit did, for whoever counts (metrics would hook in here).
public struct CommittedGroup: Sendable {
    public var requests: Int
    public var results: [[IngestResult]]
    public var deadlineFired: Bool
    /// Seconds from taking the group to its durable commit.
    public var seconds: Double
    public var latestSequence: Int64
}

/// The one evaluator of a served rule set: a thread of its own owns the `LiveRuleSet` (its
/// engine is not shared). Request handlers queue their lines and wait; the thread takes every
/// request queued so far, evaluates them in arrival order, commits them in one transaction
/// (one sync for all: group commit), and only then answers them. While requests keep coming,
/// each commit's sync is what the next group waits behind, so groups grow with the load. A
/// quiet evaluator wakes for the next deadline the wall clock will pass.
///
/// The queue is bounded by the events it holds: past `queueLimit` a request is refused
/// (HTTP 503) rather than held in memory without bound.
public final class Evaluator: Service, @unchecked Sendable {
    let ruleSet: LiveRuleSet
    /// The rule set's program and outbox, for the request threads (reads only).
    public let program: Program
    public let outbox: DecisionOutbox
    public let queueLimit: Int
    let condition = NSCondition()
    // Guarded by `condition`:
    var queue: [(items: [IngestItem], answer: @Sendable (IngestOutcome) -> Void)] = []
    var queuedEvents = 0
    var stopping = false
    var failure: String? = nil
    var running = false
    var status: ServiceStatus
    var ended: CheckedContinuation<Void, any Error>? = nil
    var endResult: Result<Void, ServiceFailure>? = nil

    /// The latest committed outbox sequence, for long-polling readers.
    public let committed: CommittedSequence
    /// Called on the evaluator's thread after each commit (the place for counters).
    public var observe: (@Sendable (CommittedGroup) -> Void)? = nil

    public init(ruleSet: LiveRuleSet, queueLimit: Int, loadedAt: String) {
        self.ruleSet = ruleSet
        program = ruleSet.program
        outbox = ruleSet.outbox
        self.queueLimit = queueLimit
        committed = CommittedSequence(ruleSet.lastSequence)
        status = ServiceStatus(fingerprint: ruleSet.program.fingerprint, rules: ruleSet.program.rules.count, loadedAt: loadedAt,
                               statistics: ruleSet.engine.statistics, counts: ruleSet.counts, latestSequence: ruleSet.lastSequence,
                               pendingDeadlines: ruleSet.engine.state.pending.count, lateEvents: 0, queuedEvents: 0, queueLimit: queueLimit)
    }

    /// Queues a request's lines; `answer` is called once, from the evaluator's thread (or at
    /// once when the request is refused).
    public func submit(_ items: [IngestItem], answer: @escaping @Sendable (IngestOutcome) -> Void) {
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
        if queuedEvents > 0, queuedEvents + items.count > queueLimit {
            condition.unlock()
            return answer(.overloaded)
        }
        queue.append((items, answer))
        queuedEvents += items.count
        condition.signal()
        condition.unlock()
    }

    public func submit(_ items: [IngestItem]) async -> IngestOutcome {
        await withCheckedContinuation { continuation in
            submit(items) { continuation.resume(returning: $0) }
        }
    }

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
        return copy
    }

    /// The service's life: starts the thread, and on graceful shutdown lets it answer what is
    /// queued, commit, and end. Throws if a commit failed (the process then exits non-zero and
    /// a restart resumes from the last commit).
    public func run() async throws {
        start()
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
    }

    func start() {
        condition.withLock { running = true }
        let thread = Thread { [self] in loop() }
        thread.name = "redress-evaluator"
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
        condition.lock()
        running = false
        if case .failure(let failure) = result {
            self.failure = failure.message
            // Whatever is still queued was not evaluated: refused, not lost silently.
            for request in queue { request.answer(.unavailable(failure.message)) }
            queue.removeAll()
            queuedEvents = 0
        }
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
            while queue.isEmpty, !stopping {
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
            let group = queue
            queue.removeAll(keepingCapacity: true)
            queuedEvents = 0
            let finishing = stopping && group.isEmpty
            condition.unlock()

            let start = DispatchTime.now().uptimeNanoseconds
            var results = group.map { ruleSet.evaluate($0.items) }
            let fired = ruleSet.fireDue()
            do throws(ServiceFailure) {
                if finishing || (group.isEmpty && ruleSet.sinceCheckpoint > 0) {
                    // Stopping, or a quiet moment: the engine's state is checkpointed.
                    try ruleSet.checkpoint()
                } else if ruleSet.hasUncommitted {
                    // (A group of duplicates only has nothing to commit, but its answers to read back.)
                    try ruleSet.commit()
                }
                try ruleSet.answerDuplicates(&results)
            } catch {
                for request in group { request.answer(.unavailable("not durable: \(error.message)")) }
                throw error
            }
            // Published before answering: a client that was answered and then reads the outbox
            // (or its status) sees what it was told.
            publish(group: results, fired: fired, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            for (request, result) in zip(group, results) { request.answer(.done(result)) }
            if finishing { return }
        }
    }

    func publish(group: [[IngestResult]], fired: Bool, seconds: Double) {
        let engine = ruleSet.engine
        condition.lock()
        status.statistics = engine.statistics
        status.counts = ruleSet.counts
        status.latestSequence = ruleSet.lastSequence
        status.pendingDeadlines = engine.state.pending.count
        status.lateEvents = ruleSet.lateEvents
        condition.unlock()
        committed.publish(ruleSet.lastSequence)
        if let observe, !group.isEmpty || fired {
            observe(CommittedGroup(requests: group.count, results: group, deadlineFired: fired, seconds: seconds,
                                   latestSequence: ruleSet.lastSequence))
        }
    }
}
