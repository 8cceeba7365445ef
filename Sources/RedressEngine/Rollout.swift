import RedressIR
import RedressEvents

/// Who a rule's `rollout N%` includes: `redress rollout`. The same stable choice the engine
/// makes (`Engine.inRollout`: a hash of the rule's name and the customer's key), so what this
/// says is what `run` and `simulate` do.
public struct RolloutMembership {
    public let program: Program
    public let rule: Int
    /// The share in millionths (20% = 200_000); nil when the rule has no rollout (everyone is in).
    public let share: Int64?
    /// The slot of the customer's key on the rule's triggering events; nil when they carry no
    /// customer (then no customer is ever in: the checker reports such a rule).
    public let customerSlot: Int?
    let frame: Frame

    /// Nil when the program has no rule of that name.
    public init?(program: Program, rule name: String) {
        guard let index = program.rules.firstIndex(where: { $0.name == name }) else { return nil }
        self.program = program
        rule = index
        let frame = Frame(program: program)
        self.frame = frame
        // A rollout is a constant (a literal or a parameter), so it is evaluated without an event.
        share = program.rules[index].rollout.map { Compiler.compile($0, program: program)(frame).bits }
        customerSlot = program.rules[index].customerKey?.slot
    }

    public func includes(customer: String) -> Bool {
        guard let share else { return true }
        return Engine.inRollout(rule: program.rules[rule].name, customer: customer, millionths: share)
    }

    /// The customer an event is about, as the engine keys it; nil when the event does not
    /// trigger the rule or carries no customer.
    public func customer(of event: Event) -> String? {
        guard program.rules[rule].triggers.contains(event.type), let slot = customerSlot else { return nil }
        frame.load(event)
        let value = frame.slots[slot]
        if value.isMissing { return nil }
        return value.kind == .string ? String(frame.string(value)) : ValueText.describe(value, program: program)
    }
}
