import RedressIR
import RedressEvents

// MARK: - History aggregates (`count`, `sum`, `share` … `within`)

// Each aggregate keeps a SlidingWindow per `per` key (namespace `a<index>|` of `history`): the
// events of its type in time order with running totals, so that taking an event in and reading
// the window ending at the current event cost amortised O(1), not a pass over the window.

extension Engine {
    /// Takes the current event into aggregate `index` (its type feeds the aggregate).
    func record(_ index: Int, at time: Int64) {
        let keyValue = frame.slots[program.aggregates[index].per.slot]
        guard !keyValue.isMissing else { return }
        let matched = aggregateFilters[index].map { $0(frame) == .true } ?? true
        var value: Int64 = 0
        if let compute = aggregateValues[index] {
            let v = compute(frame)
            value = v.isMissing ? 0 : v.bits
        }
        let entry = history.entry(aggregateSpaces[index], keyText(keyValue), default: SlidingWindow())
        history[entry: entry].add(SlidingWindow.Entry(time: time, value: value, matched: matched),
                                  window: program.aggregates[index].windowMilliseconds)
        recordedStamp[index] = eventNumber
        recordedEntry[index] = entry
        changed?.history.insert(entry)
    }

    /// The aggregate's value for the current event's key, over the window ending now
    /// (the current event included).
    func aggregateValue(_ index: Int) -> RuntimeValue {
        if let cached = aggregateCache[index] { return cached }
        let keyValue = frame.slots[program.aggregates[index].per.slot]
        guard !keyValue.isMissing else { return .missing }
        // The key this event recorded into (the same slot of the same event), or a lookup.
        let found = recordedStamp[index] == eventNumber ? recordedEntry[index] : history.find(aggregateSpaces[index], keyText(keyValue))
        let boundary = SlidingWindow.boundary(currentTime, program.aggregates[index].windowMilliseconds)
        let value: RuntimeValue
        switch program.aggregates[index].function {
        case .count:
            value = RuntimeValue(.integer, found.map { Int64(history[entry: $0].matched(after: boundary)) } ?? 0)
        case .share:
            // No event in the window: the share is unknown.
            let total = found.map { history[entry: $0].count(after: boundary) } ?? 0
            if let found, total > 0 {
                let matched = history[entry: found].matched(after: boundary)
                value = RuntimeValue(.percent, FixedPoint.multiplyDivide(Int64(matched), 1_000_000, Int64(total)) ?? 0)
            } else {
                value = .missing
            }
        case .sum:
            let total = found.map { history[entry: $0].sum(after: boundary) } ?? 0
            var kind = (RuntimeValue.Kind.integer, Int32(0))
            if let node = program.aggregates[index].value, node.operation == .slot, let slot = node.index {
                kind = (program.slots[slot].kind, program.slots[slot].unit)
            }
            value = RuntimeValue(kind.0, total, unit: kind.1)
        }
        aggregateCache[index] = value
        return value
    }
}
