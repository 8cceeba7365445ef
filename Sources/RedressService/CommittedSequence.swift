import Foundation

/// The latest outbox sequence that is durable, and the readers long-polling for a newer one:
/// `wait(beyond:timeout:)` returns as soon as a commit passes the reader's cursor, or at the
/// timeout, or when the service stops.
public final class CommittedSequence: @unchecked Sendable {
    let lock = NSLock()
    var value: Int64
    var finished = false
    var waiters: [UInt64: (beyond: Int64, continuation: CheckedContinuation<Void, Never>)] = [:]
    var nextWaiter: UInt64 = 0

    init(_ value: Int64) { self.value = value }

    public var latest: Int64 { lock.withLock { value } }

    func publish(_ sequence: Int64) {
        let woken: [CheckedContinuation<Void, Never>] = lock.withLock {
            value = max(value, sequence)
            let due = waiters.filter { $0.value.beyond < value }
            for key in due.keys { waiters[key] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Wakes every reader (the service is stopping) and lets none wait again.
    func finish() {
        let woken: [CheckedContinuation<Void, Never>] = lock.withLock {
            finished = true
            defer { waiters.removeAll() }
            return waiters.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Waits until the latest sequence is past `cursor`, for at most `timeout`.
    public func wait(beyond cursor: Int64, timeout: Duration) async {
        // Already newer: no task to start (and none to wait for a thread).
        if lock.withLock({ finished || value > cursor }) { return }
        let id: UInt64 = lock.withLock {
            nextWaiter += 1
            return nextWaiter
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let resumeNow: Bool = self.lock.withLock {
                            if self.finished || self.value > cursor || Task.isCancelled { return true }
                            self.waiters[id] = (cursor, continuation)
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    let continuation = self.lock.withLock { self.waiters.removeValue(forKey: id)?.continuation }
                    continuation?.resume()
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}
