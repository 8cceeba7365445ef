/// Which slots (entity fields) a program reads, worked out once from the IR. Every reader of
/// events — JSON lines, CSV through a mapping — and `explain` ask the same question, so the
/// answer lives here, below them all.
extension Node {
    /// The slots this expression reads, arms and fallbacks included.
    public var slotsRead: Set<Int> {
        var result: Set<Int> = operation == .slot ? [index ?? 0] : []
        for child in children { result.formUnion(child.slotsRead) }
        for arm in arms ?? [] {
            for pattern in arm.patterns { result.formUnion(pattern.slotsRead) }
            result.formUnion(arm.value.slotsRead)
        }
        if let otherwise { result.formUnion(otherwise.slotsRead) }
        return result
    }
}

extension Program {
    /// By event type, the non-optional fields an event of that type must carry, sorted. A field
    /// is required only when something evaluated for the type reads it: a rule it triggers, an
    /// aggregate it feeds, or an absence rule waiting for it.
    public var requiredSlotsByEvent: [[Int]] {
        var needed = [Set<Int>](repeating: [], count: events.count)
        for rule in rules {
            var slots = Set(rule.reads + [rule.subjectKey.slot] + (rule.customerKey.map { [$0.slot] } ?? []))
            slots.formUnion((rule.limits + rule.caps + policies).map(\.key.slot))
            if let group = rule.group { slots.insert(groups[group].key.slot) }
            for node in [rule.condition, rule.rollout, rule.absence?.deadline].compactMap({ $0 }) + rule.actions.flatMap({ [$0.amount, $0.channelValue].compactMap { $0 } }) {
                slots.formUnion(node.slotsRead)
            }
            for trigger in rule.triggers { needed[trigger].formUnion(slots) }
            if let absence = rule.absence { needed[absence.event].insert(rule.subjectKey.slot) }
        }
        for aggregate in aggregates {
            var slots: Set<Int> = [aggregate.per.slot]
            for node in [aggregate.filter, aggregate.value].compactMap({ $0 }) { slots.formUnion(node.slotsRead) }
            needed[aggregate.event].formUnion(slots)
        }
        return events.indices.map { type in
            needed[type].filter { !self.slots[$0].optional && events[type].carries.contains(self.slots[$0].entity) }.sorted()
        }
    }
}
