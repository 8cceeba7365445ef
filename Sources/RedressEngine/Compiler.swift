import RedressIR
import RedressEvents

/// What an expression can see while it is evaluated: the current event's slots, the
/// parameters, and the aggregates of the history. One frame is reused for every event.
public final class Frame {
    public let program: Program
    /// The current event's slot values. Unsafe storage: the evaluator reads slots in its
    /// innermost loop, and an array in a class field would pay for exclusivity checks there.
    public let slots: UnsafeMutableBufferPointer<RuntimeValue>
    public var parameters: [RuntimeValue]
    public var strings: [String] = []
    /// Set by the engine: the current value of aggregate `i` for the current event.
    public var aggregate: (Int) -> RuntimeValue = { _ in .missing }

    public init(program: Program) {
        self.program = program
        slots = .allocate(capacity: max(1, program.slots.count))
        slots.initialize(repeating: .missing)
        parameters = program.parameters.map(\.value)
    }

    deinit { slots.deallocate() }

    /// Makes `event` the current one.
    @inline(__always) public func load(_ event: Event) {
        withUnsafePointer(to: event) { load($0) }
    }

    @inline(__always) public func load(_ event: UnsafePointer<Event>) {
        event.pointee.slots.withUnsafeBufferPointer { source in
            _ = slots.update(fromContentsOf: source)
        }
        strings = event.pointee.strings
    }

    @inline(__always) func string(_ value: RuntimeValue) -> Substring {
        if value.unit == 1 { return Substring(strings[Int(value.bits)]) }
        return Substring(program.strings[Int(value.bits)])
    }
}

/// An expression compiled to a closure over a frame. Compiling once and calling many times is
/// the speed trick: the tree is walked at load time, not per event.
public typealias Compiled = (Frame) -> RuntimeValue

/// Turns IR nodes into closures. Common shapes (a slot compared with a constant) get closures
/// of their own that skip the general unit dispatch.
public enum Compiler {
    public static func compile(_ node: Node, program: Program) -> Compiled {
        switch node.operation {
        case .constant:
            let value = node.value ?? .missing
            return { _ in value }
        case .slot:
            let index = node.index ?? 0
            return { frame in frame.slots[index] }
        case .parameter:
            let index = node.index ?? 0
            return { frame in frame.parameters[index] }
        case .table:
            let values = program.tables[node.index ?? 0].values
            let key = compile(node.children[0], program: program)
            return { frame in
                let k = key(frame)
                guard !k.isMissing, k.bits >= 0, Int(k.bits) < values.count else { return .missing }
                return values[Int(k.bits)]
            }
        case .list:
            // A list is only ever the right side of `in`; on its own it has no single value.
            return { _ in .missing }
        case .caseOf:
            return compileCase(node, program: program)
        case .not:
            let operand = compile(node.children[0], program: program)
            return { frame in Arithmetic.not(operand(frame)) }
        case .negate:
            let operand = compile(node.children[0], program: program)
            return { frame in Arithmetic.negate(operand(frame)) }
        case .and:
            let l = compile(node.children[0], program: program), r = compile(node.children[1], program: program)
            return { frame in
                let a = l(frame)
                if a == .false { return .false }
                return Arithmetic.and(a, r(frame))
            }
        case .or:
            let l = compile(node.children[0], program: program), r = compile(node.children[1], program: program)
            return { frame in
                let a = l(frame)
                if a == .true { return .true }
                return Arithmetic.or(a, r(frame))
            }
        case .compare:
            return compileCompare(node, program: program)
        case .in, .notIn:
            return compileMembership(node, program: program)
        case .arithmetic:
            // Decoding guarantees the symbol; a node built otherwise without one evaluates to missing.
            guard let op = node.arithmeticOperator else { return { _ in .missing } }
            let l = compile(node.children[0], program: program), r = compile(node.children[1], program: program)
            let rounding = program.catalog.moneyRounding
            return { frame in Arithmetic.apply(op, l(frame), r(frame), rounding: rounding) }
        case .coalesce:
            let l = compile(node.children[0], program: program), r = compile(node.children[1], program: program)
            return { frame in
                let a = l(frame)
                return a.isMissing ? r(frame) : a
            }
        case .isMissing, .isPresent:
            let operand = compile(node.children[0], program: program)
            let missing = node.operation == .isMissing
            return { frame in .bool(operand(frame).isMissing == missing) }
        case .function:
            guard let function = node.function else { return { _ in .missing } }
            let arguments = node.children.map { compile($0, program: program) }
            return { frame in Arithmetic.function(function, arguments.map { $0(frame) }, strings: frame.string) }
        case .aggregate:
            let index = node.index ?? 0
            return { frame in frame.aggregate(index) }
        }
    }

    static func compileCompare(_ node: Node, program: Program) -> Compiled {
        guard let comparison = node.comparison else { return { _ in .missing } }
        let (left, right) = (node.children[0], node.children[1])
        // Fast path: slot OP constant of the same kind, not strings (the mission rule's shape).
        if left.operation == .slot, let slot = left.index, right.operation == .constant, let constant = right.value,
           constant.kind == program.slots[slot].kind, constant.kind != .string, constant.kind != .list,
           constant.kind != .money || constant.unit == program.slots[slot].unit {
            let bits = constant.bits
            switch comparison {
            case .greater: return { frame in let v = frame.slots[slot]; return v.isMissing ? .missing : .bool(v.bits > bits) }
            case .greaterEqual: return { frame in let v = frame.slots[slot]; return v.isMissing ? .missing : .bool(v.bits >= bits) }
            case .less: return { frame in let v = frame.slots[slot]; return v.isMissing ? .missing : .bool(v.bits < bits) }
            case .lessEqual: return { frame in let v = frame.slots[slot]; return v.isMissing ? .missing : .bool(v.bits <= bits) }
            case .equal: return { frame in let v = frame.slots[slot]; return v.isMissing ? .missing : .bool(v.bits == bits) }
            case .notEqual: return { frame in let v = frame.slots[slot]; return v.isMissing ? .missing : .bool(v.bits != bits) }
            }
        }
        let l = compile(left, program: program), r = compile(right, program: program)
        return { frame in Arithmetic.compare(comparison, l(frame), r(frame), strings: frame.string) }
    }

    static func compileMembership(_ node: Node, program: Program) -> Compiled {
        let negated = node.operation == .notIn
        let element = compile(node.children[0], program: program)
        let list = node.children[1]
        let members = list.children.map { compile($0, program: program) }
        let constants = list.children.compactMap { $0.operation == .constant ? $0.value : nil }
        if constants.count == list.children.count, !constants.contains(where: { $0.kind == .string || $0.kind == .integer || $0.kind == .decimal }) {
            let set = Set(constants)
            return { frame in
                let v = element(frame)
                if v.isMissing { return .missing }
                return .bool(set.contains(v) != negated)
            }
        }
        return { frame in
            let v = element(frame)
            if v.isMissing { return .missing }
            var unknown = false
            for member in members {
                let m = member(frame)
                if m.isMissing { unknown = true; continue }
                if Arithmetic.equal(v, m, strings: frame.string) { return .bool(!negated) }
            }
            return unknown ? .missing : .bool(negated)
        }
    }

    static func compileCase(_ node: Node, program: Program) -> Compiled {
        let subject = node.children.first.map { compile($0, program: program) }
        let arms = (node.arms ?? []).map { arm in (arm.patterns.map { compile($0, program: program) }, compile(arm.value, program: program)) }
        let otherwise = node.otherwise.map { compile($0, program: program) }
        return { frame in
            if let subject {
                let s = subject(frame)
                if !s.isMissing {
                    for (patterns, value) in arms where patterns.contains(where: { Arithmetic.equal(s, $0(frame), strings: frame.string) }) {
                        return value(frame)
                    }
                }
            } else {
                for (patterns, value) in arms where patterns.contains(where: { $0(frame) == .true }) {
                    return value(frame)
                }
            }
            return otherwise?(frame) ?? .missing
        }
    }
}
