import RedressIR
import RedressEvents
/// The parts of the engine's state a checkpoint keeps one row per key of (`StateStore`).
public enum StateCategory: String, CaseIterable, Sendable {
    case limits, caps, groups, occurrences, history, misses, answered, pending
}

/// What one checkpoint writes: the entries that changed since the last one, in the persisted
/// format of `EngineState` (`r3.0|order-7`), and the keys that no longer hold anything. A run
/// that checkpoints every thousand events then writes what those events touched, not the
/// whole state again (which made a long run's time grow with the square of its length).
public struct StateChanges: Sendable {
    /// Clock, position and statistics as they are now; in the dictionaries only the entries
    /// that changed.
    public var state = EngineState()
    /// Keys whose entry is gone (a deadline that fired or was answered), per category.
    public var removed: [StateCategory: [String]] = [:]
    /// True when `state` is the whole state: the store then drops every entry it held before.
    public var replacesAll = false

    public init() {}

    /// All of `state`, replacing whatever the store held.
    public init(everything state: EngineState) {
        self.state = state
        replacesAll = true
    }

    /// How many entries are written or removed.
    public var count: Int {
        state.limitUses.count + state.capUses.count + state.groupUses.count + state.occurrences.count + state.history.count
            + state.misses.count + state.answered.count + state.pending.count + removed.values.reduce(0) { $0 + $1.count }
    }
}

/// Keys written since the last checkpoint: entry numbers in the engine's key tables, keys of
/// the state's dictionaries.
struct ChangedKeys {
    var limitUses = Set<Int>(), capUses = Set<Int>(), groupUses = Set<Int>(), occurrences = Set<Int>(), history = Set<Int>()
    var pending = Set<String>(), answered = Set<String>(), misses = Set<String>()
    /// Of those, the keys that held no entry when first changed since the last checkpoint: the
    /// store does not hold them, so one that holds none again needs no delete. (With a shop's
    /// keys, most deadlines are set and fire or are answered between two checkpoints: deleting
    /// rows that were never written was most of a checkpoint's time.)
    var unstoredPending = Set<String>(), unstoredAnswered = Set<String>(), unstoredMisses = Set<String>()
    /// Keys of the tables that a sweep dropped (Retention.swift), by category.
    var removed: [StateCategory: [String]] = [:]

    init() {}

    /// Empty, with room for as many keys as `previous` held: the next checkpoint's sets grow to
    /// about the last one's, and growing them from empty rehashed every key at each doubling
    /// (a twentieth of `serve`'s evaluator thread).
    init(roomLike previous: ChangedKeys) {
        limitUses.reserveCapacity(previous.limitUses.count)
        capUses.reserveCapacity(previous.capUses.count)
        groupUses.reserveCapacity(previous.groupUses.count)
        occurrences.reserveCapacity(previous.occurrences.count)
        history.reserveCapacity(previous.history.count)
        pending.reserveCapacity(previous.pending.count)
        answered.reserveCapacity(previous.answered.count)
        misses.reserveCapacity(previous.misses.count)
        unstoredPending.reserveCapacity(previous.unstoredPending.count)
        unstoredAnswered.reserveCapacity(previous.unstoredAnswered.count)
        unstoredMisses.reserveCapacity(previous.unstoredMisses.count)
    }
}

extension Engine {
    /// From now on, records which keys each event writes, for `takeChanges()`. Called by a
    /// caller that checkpoints (`run --state`) once the engine holds the state its store holds;
    /// without it the engine records nothing (one nil test per write).
    public func trackChanges() {
        changed = ChangedKeys()
        markStored()
    }

    /// Every entry of the key tables is in the store now.
    func markStored() {
        limitUses.markStored()
        capUses.markStored()
        groupUses.markStored()
        occurrences.markStored()
        history.markStored()
    }

    /// Records that `key` of a state dictionary changes; `present`: whether it held an entry
    /// just before. Only the first change since the last checkpoint tells whether the store has it.
    @inline(__always) func noteChange(_ keys: WritableKeyPath<ChangedKeys, Set<String>>, _ unstored: WritableKeyPath<ChangedKeys, Set<String>>,
                                      _ key: String, present: Bool) {
        if changed?[keyPath: keys].insert(key).inserted == true, !present { changed?[keyPath: unstored].insert(key) }
    }

    /// The entries written since the last call (or since `trackChanges()`), as they are now,
    /// and starts recording afresh. Without tracking, the whole state, marked as replacing
    /// everything: nothing can have been missed.
    public func takeChanges() -> StateChanges {
        guard let keys = changed else {
            changed = ChangedKeys()
            markStored()
            return StateChanges(everything: snapshot())
        }
        flushTypeCounts()
        changed = ChangedKeys(roomLike: keys)
        markStored()
        var changes = StateChanges()
        changes.state.clock = state.clock
        changes.state.position = state.position
        changes.state.statistics = state.statistics
        // Only the changed entries are converted to the persisted format.
        func persisted<Stored, Value>(_ table: KeyTable<Value>, _ entries: Set<Int>, as convert: (Value) -> Stored) -> [String: Stored] {
            var result: [String: Stored] = [:]
            result.reserveCapacity(entries.count)
            for entry in entries { result[persistedKey(table, entry)] = convert(table[entry: entry]) }
            return result
        }
        changes.state.limitUses = persisted(limitUses, keys.limitUses, as: StoredWindow.times)
        changes.state.capUses = persisted(capUses, keys.capUses, as: StoredWindow.grants)
        changes.state.groupUses = persisted(groupUses, keys.groupUses, as: StoredWindow.times)
        changes.state.occurrences = persisted(occurrences, keys.occurrences) { $0.count }
        changes.state.occurrenceTimes = persisted(occurrences, keys.occurrences) { $0.last }
        changes.state.history = persisted(history, keys.history, as: StoredWindow.events)
        func current<Value>(_ category: StateCategory, _ keys: Set<String>, unstored: Set<String>, in source: [String: Value]) -> [String: Value] {
            var result: [String: Value] = [:]
            result.reserveCapacity(keys.count)
            for key in keys {
                if let value = source[key] {
                    result[key] = value
                } else if !unstored.contains(key) {
                    changes.removed[category, default: []].append(key)
                }
            }
            return result
        }
        changes.state.pending = current(.pending, keys.pending, unstored: keys.unstoredPending, in: state.pending)
        changes.state.answered = current(.answered, keys.answered, unstored: keys.unstoredAnswered, in: state.answered)
        changes.state.misses = current(.misses, keys.misses, unstored: keys.unstoredMisses, in: state.misses)
        // Keys a sweep dropped, unless written again since (a write then replaces the row).
        for (category, keys) in keys.removed {
            let written: Set<String>
            switch category {
            case .limits: written = Set(changes.state.limitUses.keys)
            case .caps: written = Set(changes.state.capUses.keys)
            case .groups: written = Set(changes.state.groupUses.keys)
            case .occurrences: written = Set(changes.state.occurrences.keys)
            case .history: written = Set(changes.state.history.keys)
            default: written = []
            }
            let gone = Set(keys).subtracting(written)
            if !gone.isEmpty { changes.removed[category, default: []] += gone.sorted() }
        }
        return changes
    }
}
