import RedressIR
import RedressEvents

// MARK: - Bounded state: windows and retention
//
// What the engine keeps per key is bounded by time, so that a run's state is proportional to
// the customers, orders and shipments active lately, not to all history:
//
// - A windowed key (history aggregates; limits, caps and groups with `within`) holds only the
//   entries its window can still read; a key whose latest entry has left its window is dropped.
//   While event time moves forward this changes no result: no later window reaches back there.
// - A key without a window (`once per` / `limit N per KEY`, caps and groups without `within`,
//   occurrence counts, absence rules' `answered` times) is kept for the retention period after
//   its last use, in event time: `retention` (400 days by default; docs/language.md). A key last
//   used at or before `event time - retention` is forgotten — read as if it had never been
//   written — whether or not the sweep below has dropped it yet, so that for input in time order
//   decisions depend on event time alone, never on when a sweep ran.
//
// The sweep is one pass over the tables, O(keys) (a few nanoseconds a key). It runs when an
// event moves the clock (the latest event time) into a new period of four weeks of event time
// (counted from the Unix epoch, so that a run resumed from a checkpoint sweeps when an
// uninterrupted one would): a key outside every window stays at most four weeks longer. Weekly,
// a sparse stream (the benchmark's one event a minute, 116,000 keys) spent 9% of `run` sweeping. It judges keys by the clock; an event that arrives
// more than the retention period behind the clock (input far out of time order) may find a key
// it would have kept already dropped. (Events a screen held back move the clock without a
// sweep: the admitted events of their batch, evaluated after, may be earlier.)

extension Engine {
    /// How long keys without a window are kept by default: 400 days, over a year, so that a
    /// yearly rhythm (a once-per-order rule on an order with a late return, a customer who
    /// orders every Christmas) never sees its key forgotten in between.
    public static let defaultRetention: Int64 = 400 * 86_400_000

    /// Event time between two sweeps: four weeks.
    static let sweepInterval: Int64 = 28 * 86_400_000

    /// The time at or before which a key without a window counts as forgotten, at `time`.
    @inline(__always) func retentionHorizon(at time: Int64) -> Int64 {
        guard time != .min, let retention else { return .min }
        return SlidingWindow.boundary(time, retention)
    }

    /// Called with each event's time before the event is evaluated: an event that moves the
    /// clock into a new period of four weeks of event time sweeps the tables.
    @inline(__always) func observe(_ time: Int64) {
        guard time > state.clock, state.clock != .min, time / Engine.sweepInterval != state.clock / Engine.sweepInterval else { return }
        horizon = retentionHorizon(at: time)
        sweep(at: time)
    }

    /// True when a key without a window, last used at `latest`, is forgotten.
    @inline(__always) func forgotten(_ latest: Int64?) -> Bool {
        guard let latest else { return true }
        return latest <= horizon
    }

    /// Drops what the windows and the retention period no longer keep (see the top of this file).
    /// Keys dropped are deleted from the durable store at the next checkpoint.
    func sweep(at now: Int64) {
        var dropped = 0
        func windows(_ table: KeyTable<SlidingWindow>, _ category: StateCategory, _ changedEntries: WritableKeyPath<ChangedKeys, Set<Int>>) {
            var removed: [String] = []
            let renumbered = table.removeAll { entry in
                let latest = table[entry: entry].latest
                let gone: Bool
                if let window = spaceWindows[Int(table.namespace(at: entry))] {
                    gone = latest.map { $0 <= SlidingWindow.boundary(now, window) } ?? true
                } else {
                    gone = forgotten(latest)
                    if gone { dropped += 1 }
                }
                // An entry the store never held (inserted since the last checkpoint) needs no delete.
                if gone, changed != nil, entry < table.firstUnstored { removed.append(persistedKey(table, entry)) }
                return gone
            }
            guard !removed.isEmpty || renumbered.contains(-1) else { return }
            if changed != nil {
                changed?.removed[category, default: []] += removed
                changed?[keyPath: changedEntries] = Set(changed?[keyPath: changedEntries].compactMap { renumbered[$0] >= 0 ? renumbered[$0] : nil } ?? [])
            }
        }
        windows(limitUses, .limits, \.limitUses)
        windows(capUses, .caps, \.capUses)
        windows(groupUses, .groups, \.groupUses)
        windows(history, .history, \.history)
        // Entry numbers of the history changed: nothing recorded for this event is reused.
        for index in recordedStamp.indices { recordedStamp[index] = -1 }

        var removedOccurrences: [String] = []
        let renumbered = occurrences.removeAll { entry in
            guard forgotten(occurrences[entry: entry].last) else { return false }
            dropped += 1
            if changed != nil, entry < occurrences.firstUnstored { removedOccurrences.append(persistedKey(occurrences, entry)) }
            return true
        }
        if changed != nil, renumbered.contains(-1) {
            changed?.removed[.occurrences, default: []] += removedOccurrences
            changed?.occurrences = Set(changed?.occurrences.compactMap { renumbered[$0] >= 0 ? renumbered[$0] : nil } ?? [])
        }

        // Absence rules' answered times: a dictionary of the state; a checkpoint sees a changed
        // key that is gone as removed.
        if horizon > .min {
            // Removed one by one: rebuilding the dictionary (`filter`) hashed every key kept.
            var gone: [String] = []
            for (key, time) in state.answered where time <= horizon { gone.append(key) }
            for key in gone {
                state.answered.removeValue(forKey: key)
                noteChange(\.answered, \.unstoredAnswered, key, present: true)
            }
            dropped += gone.count
        }

        if dropped > 0 {
            retentionDropped += dropped
            retentionDroppedBefore = horizon
        }
    }
}

/// An occurrence count (the n of a decision's idempotency key) and when it was last counted.
struct Occurrence {
    var count = 0
    var last: Int64 = .min
}
