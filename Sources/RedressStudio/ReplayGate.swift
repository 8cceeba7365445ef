import Foundation

/// Replays (simulate, sweep, the diff's cost) take a core each and can run for long on a large
/// history, so the workbench runs one at a time: a second is refused (HTTP 409) rather than
/// queued behind the first, and the one running can be cancelled.
public final class ReplayGate: @unchecked Sendable {
    private let lock = NSLock()
    private var running: String? = nil
    private var cancelled = false

    public init() {}

    /// What is running ("simulation", "sweep", "diff"), if anything.
    public var current: String? { lock.withLock { running } }

    /// Takes the gate for `work`, or returns false when another replay holds it.
    public func enter(_ work: String) -> Bool {
        lock.withLock {
            guard running == nil else { return false }
            running = work
            cancelled = false
            return true
        }
    }

    public func leave() {
        lock.withLock {
            running = nil
            cancelled = false
        }
    }

    /// Asks the running replay to stop; false when none is running.
    public func cancel() -> Bool {
        lock.withLock {
            guard running != nil else { return false }
            cancelled = true
            return true
        }
    }

    /// Asked by the replay every few thousand events.
    public var isCancelled: Bool { lock.withLock { cancelled } }
}
