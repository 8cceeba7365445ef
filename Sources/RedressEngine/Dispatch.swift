import RedressIR
import RedressEvents

// MARK: - The dispatch index: which rules an event can trigger

extension Engine {
    /// Fills `candidateBuffer` with the rules triggered by `type` that the event's values can
    /// match, in rule order, and returns how many. One reused buffer, read by position, and the
    /// program's dispatch read in place: this runs for every event, and copying the dispatch
    /// struct or returning an array would retain and release its arrays each time.
    func candidates(_ type: Int, _ event: UnsafePointer<Event>) -> Int {
        candidateBuffer.removeAll(keepingCapacity: true)
        let sources = forEachTriggered(type, event) { candidateBuffer.append($0) }
        if sources > 1 { candidateBuffer.sort() }
        if recordOutcomes {
            // A rule of a branch whose values the event does not hold was decided by dispatch: false.
            let found = Set(candidateBuffer)
            for branch in program.dispatch[type].branches.indices {
                for list in program.dispatch[type].branches[branch].rules { for rule in list where !found.contains(rule) { note(rule, .conditionFalse) } }
            }
            markNotTriggered(except: candidateBuffer)
        }
        return candidateBuffer.count
    }

    /// Calls `body` with each rule `type` triggers that the event's dispatched values can match
    /// (not in rule order) and returns from how many lists they came. Reads only tables built in
    /// `init`: the screen calls it on parsing threads while the engine runs.
    @inline(__always) func forEachTriggered(_ type: Int, _ event: UnsafePointer<Event>, _ body: (Int) -> Void) -> Int {
        for position in program.dispatch[type].always.indices { body(program.dispatch[type].always[position]) }
        var sources = program.dispatch[type].always.isEmpty ? 0 : 1
        for position in 0..<program.dispatch[type].branches.count {
            var key = DispatchKey()
            var missing = false
            let slotCount = min(program.dispatch[type].branches[position].slots.count, DispatchKey.width)
            for place in 0..<slotCount {
                let slot = program.dispatch[type].branches[position].slots[place]
                let value = slot < event.pointee.slots.count ? event.pointee.slots[slot] : .missing
                if value.isMissing { missing = true; break }
                key[place] = value
            }
            if missing {
                // Evaluate them all, so the missing field is counted where it decides.
                for list in program.dispatch[type].branches[position].rules {
                    for rule in list { body(rule) }
                    sources += 1
                }
            } else if let unit = enumBranchUnits[type][position] {
                let value = key.a
                if value.kind == .enumCase, value.unit == unit, value.bits >= 0, value.bits < Int64(enumBranchRules[type][position].count),
                   !enumBranchRules[type][position][Int(value.bits)].isEmpty {
                    for rule in enumBranchRules[type][position][Int(value.bits)] { body(rule) }
                    sources += 1
                }
            } else if let matched = branchIndex[type][position][key] {
                for rule in matched { body(rule) }
                sources += 1
            }
        }
        return sources
    }

    func markNotTriggered(except rules: [Int]) {
        let tried = Set(rules)
        for index in program.rules.indices where !tried.contains(index) && outcomes[index] == nil { outcomes[index] = .notTriggered }
    }
}

/// The values of up to four tested slots, as one hash key without an allocation per event.
/// Rules testing more slots are filed under their first four; their condition checks the rest.
struct DispatchKey: Hashable {
    static let width = 4
    var a = RuntimeValue.missing, b = RuntimeValue.missing, c = RuntimeValue.missing, d = RuntimeValue.missing
    subscript(place: Int) -> RuntimeValue {
        get { [a, b, c, d][place] }
        set {
            switch place {
            case 0: a = newValue
            case 1: b = newValue
            case 2: c = newValue
            default: d = newValue
            }
        }
    }
}
