import Foundation

/// Reads request bodies into events on one thread of its own, and frees them on that thread
/// once their requests are answered.
///
/// Why a thread and not the request's task: glibc's malloc takes the lock of the arena a block
/// came from when another thread frees it. Read on one of the pool's threads and freed after the
/// answer on whichever thread the request resumed on, a batch's events (a line, slots and
/// strings each, thousands per request) were freed under the lock of an arena its reader was
/// allocating from at that moment: measured with `perf` under 1,000-event batches, most of the
/// server's waits were on that lock, and the processors sat idle 10-20% of the time. Reading and
/// freeing on one thread keeps those blocks in one arena, touched by one thread.
///
/// Work waits its turn: at about 1.5 µs per event, one thread reads some 600,000 events a
/// second, more than the evaluator takes. Once closed (the service stopping), work runs on the
/// caller's thread.
public final class ReadingThread: @unchecked Sendable {
    let condition = NSCondition()
    // Guarded by `condition`:
    var work: [() -> Void] = []
    var garbage: [IngestBody] = []
    var started = false
    var closed = false
    let name: String

    /// Bodies smaller than this are read on the request's own thread (see `DecisionServer.ingest`).
    public static let smallestBody = 32 << 10

    public init(name: String) {
        self.name = name
    }

    /// Starts the thread (once).
    public func start() {
        let begin = condition.withLock {
            defer { started = true }
            return !started && !closed
        }
        guard begin else { return }
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on the thread and returns its result; on the caller's thread when the
    /// thread is not running.
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            condition.lock()
            guard started, !closed else {
                condition.unlock()
                return continuation.resume(returning: body())
            }
            work.append { continuation.resume(returning: body()) }
            condition.signal()
            condition.unlock()
        }
    }

    /// Frees `body` on the thread (at once when it is not running). The caller must hold no other
    /// reference to its events, or the last one frees them wherever it is dropped.
    public func release(_ body: consuming IngestBody) {
        condition.lock()
        guard started, !closed else {
            condition.unlock()
            return
        }
        garbage.append(body)
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread once the work given is done; later work runs on its callers' threads.
    public func close() {
        condition.withLock {
            closed = true
            condition.signal()
        }
    }

    func loop() {
        while true {
            condition.lock()
            while work.isEmpty, garbage.isEmpty, !closed { condition.wait() }
            var next: [() -> Void] = []
            var freed: [IngestBody] = []
            swap(&next, &work)
            swap(&freed, &garbage)
            let done = closed && next.isEmpty
            condition.unlock()
            // Freed first: the next bodies are read into the blocks just given back.
            freed.removeAll()
            for body in next { body() }
            if done { return }
        }
    }
}
