import RedressIR
import RedressEvents

// MARK: - Drafts: what a rule would decide, before the policies

extension Engine {
    func makeDraft(_ index: Int, reference: Decision.EventReference) -> Draft? {
        let subject = frame.slots[program.rules[index].subjectKey.slot]
        guard !subject.isMissing else {
            note(index, .missingKey(program.rules[index].subjectKey.text))
            return nil
        }
        var actions: [Decision.Action] = []
        actions.reserveCapacity(program.rules[index].actions.count)
        var money = MoneyByCurrency()
        // Actions read in place (a copy of each would retain and release its strings and nodes).
        for position in program.rules[index].actions.indices {
            // Each field worked out first and the action made once: setting them on a local
            // action copied it (and its strings) again on append.
            var amountText: String? = nil
            var amountValue: RuntimeValue? = nil
            if let constant = constantAmounts[index][position] {
                (amountText, amountValue) = (constant.text, constant.value)
            } else if let amount = amounts[index][position] {
                let value = amount(frame)
                guard !value.isMissing else {
                    note(index, .conditionUnknown(missing: ["amount of \(program.rules[index].actions[position].verb)"]))
                    return nil
                }
                (amountText, amountValue) = (ValueText.describe(value, program: program), value)
            }
            if let value = amountValue, value.kind == .money {
                // Saturating: a sum beyond 64 bits stays at the bound (the report then says it overflowed).
                let (sum, overflow) = (money[value.unit] ?? 0).addingReportingOverflow(value.bits)
                money[value.unit] = overflow ? (value.bits > 0 ? .max : .min) : sum
            }
            var channel = program.rules[index].actions[position].channel
            if let computed = channels[index][position] {
                let value = computed(frame)
                channel = value.isMissing ? nil : ValueText.describe(value, program: program)
            }
            if channel == nil, let fallback = defaultChannels[index][position] { channel = fallback }
            actions.append(Decision.Action(verb: program.rules[index].actions[position].verb, amount: amountText,
                                           argument: program.rules[index].actions[position].name, channel: channel, value: amountValue))
        }
        // Key values for the policies; a policy whose key this event does not have does not apply.
        var keys = PolicyKeys()
        func key(_ slot: Int) {
            let value = frame.slots[slot]
            if !value.isMissing { keys[slot] = keyText(value) }
        }
        for policy in program.rules[index].limits { key(policy.key.slot) }
        for policy in program.rules[index].caps { key(policy.key.slot) }
        for policy in program.policies { key(policy.key.slot) }
        if let group = program.rules[index].group { key(program.groups[group].key.slot) }
        var customer: String? = nil
        if let slot = program.rules[index].customerKey?.slot, !frame.slots[slot].isMissing { customer = keyText(frame.slots[slot]) }
        let draft = Draft(rule: index, subjectKey: keyText(subject), customerKey: customer, event: reference,
                          actions: actions, money: money, keys: keys,
                          dimensions: reportSlots.isEmpty ? [] : reportSlots.map { slot in frame.slots[slot].isMissing ? "(missing)" : keyText(frame.slots[slot]) })
        // Rollout is decided here, where the customer is known; it never changes for a customer.
        // A customer outside it is held back like any policy (the simulator prices what it saved).
        if let rollout = rollouts[index] {
            let share = rollout(frame)
            guard let customer, share.kind == .percent, Engine.inRollout(rule: program.rules[index].name, customer: customer, millionths: share.bits) else {
                hold(draft, .notInRollout)
                return nil
            }
        }
        return draft
    }

    /// Stable rollout: FNV-1a of the rule name and the customer's key, as a share in millionths.
    public static func inRollout(rule: String, customer: String, millionths: Int64) -> Bool {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in rule.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        hash = (hash ^ 0x1F) &* 0x0000_0100_0000_01B3
        for byte in customer.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return Int64(hash % 1_000_000) < millionths
    }
}
