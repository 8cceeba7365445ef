import RedressIR
import RedressEvents

// MARK: - Policies: active dates, limits, exclusive groups, caps; accepting a decision

extension Engine {
    // Limits, groups and caps keep a SlidingWindow of uses per key (one namespace per limit, cap,
    // policy or group): the uses inside a window, or a cap's sum there, are running totals.

    /// Uses of a limit or group key inside the window ending at `time` (all of them without a window).
    @inline(__always) func recent(_ table: KeyTable<SlidingWindow>, _ space: Int32, _ key: String, window: Int64?, at time: Int64) -> Int {
        guard let entry = table.find(space, key) else { return 0 }
        guard let window else { return forgotten(table[entry: entry].latest) ? 0 : table[entry: entry].count }
        return table[entry: entry].count(after: SlidingWindow.boundary(time, window))
    }

    func decide(_ drafts: [Draft], at time: Int64) -> [Decision] {
        guard !drafts.isEmpty else { return [] }
        // Drafts are referred to by position, in two reused buffers: no allocation per decision.
        // Active dates and rule limits decide who competes at all.
        eligible.removeAll(keepingCapacity: true)
        for index in drafts.indices {
            let draft = drafts[index]
            if let from = program.rules[draft.rule].activeFrom, time < from { hold(draft, .inactive); continue }
            if let until = program.rules[draft.rule].activeUntil, time >= until { hold(draft, .inactive); continue }
            var blocked = -1
            for position in program.rules[draft.rule].limits.indices {
                guard let key = draft.keys[program.rules[draft.rule].limits[position].key.slot] else { continue }
                if recent(limitUses, ruleLimitSpaces[draft.rule][position], key, window: program.rules[draft.rule].limits[position].windowMilliseconds,
                          at: time) >= program.rules[draft.rule].limits[position].amount {
                    blocked = position
                    break
                }
            }
            if blocked >= 0 {
                let limit = program.rules[draft.rule].limits[blocked]
                hold(draft, .limit("limit \(limit.amount) per \(limit.key.text)"))
                continue
            }
            eligible.append(index)
        }
        // Exclusive groups: one winner per group and key; a key the group already used blocks all.
        winners.removeAll(keepingCapacity: true)
        var contested: [Int] = []
        for index in eligible {
            let draft = drafts[index]
            guard let groupIndex = program.rules[draft.rule].group, let groupKey = draft.keys[program.groups[groupIndex].key.slot] else {
                winners.append(index)
                continue
            }
            let group = program.groups[groupIndex]
            if recent(groupUses, groupSpaces[groupIndex], groupKey, window: group.windowMilliseconds, at: time) > 0 {
                hold(draft, .group("\(group.name) already decided for this \(group.key.text)"))
                continue
            }
            // The winner so far for this group and key (a few drafts per event: a linear search).
            if let position = contested.first(where: { program.rules[drafts[winners[$0]].rule].group == groupIndex
                    && drafts[winners[$0]].keys[program.groups[groupIndex].key.slot] == groupKey }) {
                let current = drafts[winners[position]]
                if beats(draft, current, order: group.order) {
                    hold(current, .group("\(group.name): `\(program.rules[draft.rule].name)` wins"))
                    winners[position] = index
                } else {
                    hold(draft, .group("\(group.name): `\(program.rules[current.rule].name)` wins"))
                }
            } else {
                contested.append(winners.count)
                winners.append(index)
            }
        }
        if winners.count > 1 { winners.sort { drafts[$0].rule < drafts[$1].rule } }
        // Caps and rule-set limits, in rule order; each accepted decision counts for the next.
        var decisions: [Decision] = []
        decisions.reserveCapacity(winners.count)
        for index in winners {
            let draft = drafts[index]
            var blocked: Outcome? = nil
            for (position, cap) in program.rules[draft.rule].caps.enumerated() where blocked == nil {
                guard let capKey = draft.keys[cap.key.slot] else { continue }
                if exceeds(cap, ruleCapSpaces[draft.rule][position], capKey, draft: draft, at: time) {
                    blocked = .cap("cap \(ValueText.describe(RuntimeValue(.money, cap.amount, unit: cap.currency ?? 0), program: program)) per \(cap.key.text)")
                }
            }
            for (position, policy) in program.policies.enumerated() where blocked == nil {
                guard let policyKey = draft.keys[policy.key.slot] else { continue }
                switch policy.kind {
                case .cap:
                    if exceeds(policy, policySpaces[position], policyKey, draft: draft, at: time) {
                        blocked = .cap("policy cap \(ValueText.describe(RuntimeValue(.money, policy.amount, unit: policy.currency ?? 0), program: program)) per \(policy.key.text)")
                    }
                case .limit:
                    if recent(limitUses, policySpaces[position], policyKey, window: policy.windowMilliseconds, at: time) >= policy.amount {
                        blocked = .limit("policy limit \(policy.amount) per \(policy.key.text)")
                    }
                }
            }
            if let blocked {
                hold(draft, blocked)
                continue
            }
            decisions.append(accept(draft, at: time))
        }
        return decisions
    }

    func beats(_ a: Draft, _ b: Draft, order: Program.Group.Order) -> Bool {
        let (ra, rb) = (program.rules[a.rule], program.rules[b.rule])
        if order == .amount {
            let (ma, mb) = (a.money.total, b.money.total)
            if ma != mb { return ma > mb }
        }
        if ra.priority != rb.priority { return ra.priority > rb.priority }
        return a.rule < b.rule
    }

    func exceeds(_ cap: Program.Policy, _ space: Int32, _ key: String, draft: Draft, at time: Int64) -> Bool {
        let unit = cap.currency ?? 0
        let amount = draft.money[unit] ?? 0
        guard amount > 0 else { return false }
        guard let entry = capUses.find(space, key) else { return amount > cap.amount }
        let used: Int64
        if let window = cap.windowMilliseconds {
            used = capUses[entry: entry].sum(after: SlidingWindow.boundary(time, window))
        } else {
            used = forgotten(capUses[entry: entry].latest) ? 0 : capUses[entry: entry].sum(after: .min)
        }
        // Saturating: amounts near the 64-bit bound exceed any cap rather than wrap.
        let (total, overflow) = used.addingReportingOverflow(amount)
        return overflow || total > cap.amount
    }

    /// Records an accepted draft in the state and turns it into a decision.
    func accept(_ draft: Draft, at time: Int64) -> Decision {
        for (position, limit) in program.rules[draft.rule].limits.enumerated() {
            guard let key = draft.keys[limit.key.slot] else { continue }
            let entry = limitUses.entry(ruleLimitSpaces[draft.rule][position], key, default: SlidingWindow())
            use(limitUses, entry, time, window: limit.windowMilliseconds)
            changed?.limitUses.insert(entry)
        }
        for (position, cap) in program.rules[draft.rule].caps.enumerated() {
            let amount = draft.money[cap.currency ?? 0] ?? 0
            guard amount > 0, let key = draft.keys[cap.key.slot] else { continue }
            let entry = capUses.entry(ruleCapSpaces[draft.rule][position], key, default: SlidingWindow())
            use(capUses, entry, time, amount: amount, window: cap.windowMilliseconds)
            changed?.capUses.insert(entry)
        }
        for (position, policy) in program.policies.enumerated() {
            guard let policyKey = draft.keys[policy.key.slot] else { continue }
            switch policy.kind {
            case .cap:
                let amount = draft.money[policy.currency ?? 0] ?? 0
                guard amount > 0 else { continue }
                let entry = capUses.entry(policySpaces[position], policyKey, default: SlidingWindow())
                use(capUses, entry, time, amount: amount, window: policy.windowMilliseconds)
                changed?.capUses.insert(entry)
            case .limit:
                let entry = limitUses.entry(policySpaces[position], policyKey, default: SlidingWindow())
                use(limitUses, entry, time, window: policy.windowMilliseconds)
                changed?.limitUses.insert(entry)
            }
        }
        if let groupIndex = program.rules[draft.rule].group, let key = draft.keys[program.groups[groupIndex].key.slot] {
            let entry = groupUses.entry(groupSpaces[groupIndex], key, default: SlidingWindow())
            use(groupUses, entry, time, window: program.groups[groupIndex].windowMilliseconds)
            changed?.groupUses.insert(entry)
        }
        let subject = program.entities[program.rules[draft.rule].subject].name
        let ruleName = program.rules[draft.rule].name
        state.statistics.decisions += 1
        note(draft.rule, .decided)
        // A rule with limits counts its decisions per subject: the n-th is occurrence n. A rule
        // without limits (`limit none`) keeps no memory per subject, so its occurrence is named
        // by the triggering event instead; either way the same input gives the same key.
        var occurrence = 0
        if !program.rules[draft.rule].limits.isEmpty {
            let entry = occurrences.entry(occurrenceSpaces[draft.rule], draft.subjectKey, default: Occurrence())
            // A count the retention period forgot starts again (the key repeats after it).
            occurrence = (forgotten(occurrences[entry: entry].last) ? 0 : occurrences[entry: entry].count) + 1
            occurrences[entry: entry] = Occurrence(count: occurrence, last: max(occurrences[entry: entry].last, time))
            changed?.occurrences.insert(entry)
        }
        var key = ""
        if formatsDecisions {
            if program.rules[draft.rule].limits.isEmpty {
                key = ruleName + "|" + subject + ":" + draft.subjectKey + "|@" + draft.event.id
            } else {
                // Built in one buffer: the chain of `+` made a string per step, per decision.
                key.reserveCapacity(ruleName.utf8.count + subject.utf8.count + draft.subjectKey.utf8.count + 24)
                key += ruleName
                key += "|"
                key += subject
                key += ":"
                key += draft.subjectKey
                key += "|"
                key += String(occurrence)
            }
        }
        // Most decisions are made at their event's time, already formatted for the reference.
        let text = !formatsDecisions ? "" : time == draft.event.milliseconds ? draft.event.time : TimeFormat.format(timestamp: time)
        return Decision(rule: ruleName, subject: Decision.Subject(entity: subject, key: draft.subjectKey), customer: draft.customerKey,
                        event: draft.event, time: text, milliseconds: time, actions: draft.actions,
                        occurrence: occurrence, dimensions: draft.dimensions, key: key, ruleIndex: draft.rule)
    }

    /// Adds a use (a cap's with its amount); the uses a window has left are dropped first.
    @inline(__always) func use(_ table: KeyTable<SlidingWindow>, _ entry: Int, _ time: Int64, amount: Int64 = 0, window: Int64?) {
        // Without a window, uses the retention period forgot do not count again.
        if window == nil, let latest = table[entry: entry].latest, latest <= horizon { table[entry: entry] = SlidingWindow() }
        table[entry: entry].add(SlidingWindow.Entry(time: time, value: amount, matched: true), window: window)
    }
}
