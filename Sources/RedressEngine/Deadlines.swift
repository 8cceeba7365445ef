import RedressIR
import RedressEvents

// MARK: - Absence deadlines

extension Engine {
    /// The earliest deadline waiting in the queue (possibly one cancelled since, which `advance`
    /// then skips): what a run on a wall-clock watermark waits for while its input is quiet.
    public var nextDeadline: Int64? { queue.first?.deadline }

    /// Fires the absence rules whose deadline is before `time` (event time only moves forward).
    public func advance(to time: Int64) -> [Decision] {
        guard let first = queue.first, first.deadline < time else { return [] }
        var due: [EngineState.Pending] = []
        while let next = queue.first, next.deadline < time {
            queue.removeFirst()
            // Entries whose pending was cancelled (or replaced) are skipped.
            if let pending = state.pending[next.key], pending.deadline == next.deadline {
                due.append(pending)
                state.pending[next.key] = nil
                noteChange(\.pending, \.unstoredPending, next.key, present: true)
            }
        }
        guard !due.isEmpty else { return [] }
        var decisions: [Decision] = []
        // One batch per deadline, in deadline order, then rule order.
        let ordered = due.sorted { ($0.deadline, $0.draft.rule, $0.draft.subjectKey) < ($1.deadline, $1.draft.rule, $1.draft.subjectKey) }
        var start = 0
        while start < ordered.count {
            var end = start
            while end < ordered.count, ordered[end].deadline == ordered[start].deadline { end += 1 }
            // Retention looks back from the deadline, when the decision is made.
            horizon = retentionHorizon(at: ordered[start].deadline)
            decisions += decide(ordered[start..<end].map(\.draft), at: ordered[start].deadline)
            start = end
        }
        return decisions
    }
}

/// A binary min-heap of (deadline, pending key): the next deadline in O(1), insertion and
/// removal in O(log n), so many waiting absence rules cost nothing per event.
struct DeadlineQueue {
    private var heap: [(deadline: Int64, key: String)] = []

    var first: (deadline: Int64, key: String)? { heap.first }

    private static func less(_ a: (deadline: Int64, key: String), _ b: (deadline: Int64, key: String)) -> Bool {
        (a.deadline, a.key) < (b.deadline, b.key)
    }

    mutating func insert(_ entry: (Int64, String)) {
        heap.append((entry.0, entry.1))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeFirst() {
        guard !heap.isEmpty else { return }
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, Self.less(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count, Self.less(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
