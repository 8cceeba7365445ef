import Foundation
import PropertyBased
import RedressIR
import Testing
@testable import RedressEvents
@testable import RedressEngine

/// Random windowed histories: history aggregates (`count`, `sum`, `share` within small windows),
/// limits, caps, exclusive groups and rule-set policies with `within`, on events half an hour
/// apart or at the same time, so that entries often sit exactly on a window's boundary. The
/// engine's decisions are compared with a reference written the slow, obvious way: every
/// window a filter over all earlier events or decisions (`t > now - window`).
struct WindowedHistoryTests {
    struct Shipment {
        var time: Int64
        var customer: String
        var country: String
        /// Hours.
        var delay: Int
        /// Cents.
        var total: Int64
        var placed: Bool
    }

    static let start: Int64 = 1_790_000_000_000
    static let hour: Int64 = 3_600_000

    static func line(_ event: Shipment, index: Int) -> String {
        let customer = "\"customer\":{\"id\":\"\(event.customer)\",\"tier\":\"VIP\",\"country\":\"\(event.country)\"}"
        let time = TimeFormat.format(timestamp: event.time)
        let total = String(format: "%d.%02d EUR", event.total / 100, event.total % 100)
        if event.placed {
            return "{\"event\":\"order.placed\",\"id\":\"e\(index)\",\"time\":\"\(time)\",\"order\":{\"id\":\"O\(index)\",\"total\":\"\(total)\"},\(customer)}"
        }
        return "{\"event\":\"shipment.delivered\",\"id\":\"e\(index)\",\"time\":\"\(time)\",\"shipment\":{\"id\":\"S\(index)\",\"delay\":\"\(event.delay)h\"},"
            + "\"order\":{\"id\":\"O\(index)\",\"total\":\"\(total)\"},\(customer)}"
    }

    static func events(_ random: inout SplitMixGenerator, count: Int) -> [Shipment] {
        func pick<T>(_ xs: [T]) -> T { xs[Int(random.next() % UInt64(xs.count))] }
        var time = start
        return (0..<count).map { _ in
            // 0, 30 or 60 minutes after the one before: ties and boundaries are common.
            time += Int64(random.next() % 3) * hour / 2
            return Shipment(time: time, customer: pick(["C1", "C2"]), country: pick(["DE", "AT"]), delay: pick([-24, 0, 12, 36]),
                            total: pick([2_000, 4_990, 5_000, 7_510]), placed: random.next() % 4 == 0)
        }
    }

    // MARK: - History aggregates

    enum Aggregate {
        case lateCount(atLeast: Int, hours: Int)
        case lateShareByCountry(percent: Int, strict: Bool, hours: Int)
        case placedSum(aboveEuros: Int, hours: Int)
        case placedCount(atLeast: Int, hours: Int)

        var condition: String {
            switch self {
            case .lateCount(let n, let h): "count(shipment.delivered where shipment.delay > 0d per customer within \(h)h) >= \(n)"
            case .lateShareByCountry(let p, let strict, let h):
                "share(shipment.delivered where shipment.delay > 1d per customer.country within \(h)h) \(strict ? ">" : ">=") \(p)%"
            case .placedSum(let x, let h): "sum(order.placed, order.total per customer within \(h)h) > \(x) EUR"
            case .placedCount(let n, let h): "count(order.placed per customer within \(h)h) >= \(n)"
            }
        }

        /// True when the rule fires on delivery `index`, worked out over all events up to it.
        func holds(_ events: [Shipment], _ index: Int) -> Bool {
            let now = events[index]
            func window(_ hours: Int, placed: Bool, sameCountry: Bool = false) -> [Shipment] {
                events[...index].filter {
                    $0.placed == placed && $0.time > now.time - Int64(hours) * WindowedHistoryTests.hour
                        && (sameCountry ? $0.country == now.country : $0.customer == now.customer)
                }
            }
            switch self {
            case .lateCount(let n, let h): return window(h, placed: false).filter { $0.delay > 0 }.count >= n
            case .lateShareByCountry(let p, let strict, let h):
                let all = window(h, placed: false, sameCountry: true)
                guard !all.isEmpty else { return false }
                let late = all.filter { $0.delay > 24 }.count
                return strict ? late * 100 > p * all.count : late * 100 >= p * all.count
            case .placedSum(let x, let h): return window(h, placed: true).reduce(Int64(0)) { $0 + $1.total } > Int64(x) * 100
            case .placedCount(let n, let h): return window(h, placed: true).count >= n
            }
        }

        static func random(_ random: inout SplitMixGenerator) -> Aggregate {
            let hours = Int(1 + random.next() % 3)
            switch random.next() % 4 {
            case 0: return .lateCount(atLeast: Int(1 + random.next() % 4), hours: hours)
            case 1: return .lateShareByCountry(percent: [0, 25, 50, 75][Int(random.next() % 4)], strict: random.next() % 2 == 0, hours: hours)
            case 2: return .placedSum(aboveEuros: [0, 50, 100, 150][Int(random.next() % 4)], hours: hours)
            default: return .placedCount(atLeast: Int(1 + random.next() % 3), hours: hours)
            }
        }
    }

    @Test func historyAggregatesAgreeWithTheReference() async throws {
        await propertyCheck(count: 150, input: Gen.int(in: 1...1_000_000_000)) { seed in
            var random = SplitMixGenerator(state: UInt64(seed))
            let aggregates = (0..<4).map { _ in Aggregate.random(&random) }
            let rules = aggregates.enumerated().map { "rule r\($0) on shipment.delivered when \($1.condition) then send apology limit none\n" }.joined()
            guard let program = compile(rules) else {
                Issue.record("does not compile: \(rules)")
                return
            }
            let events = Self.events(&random, count: 40)
            let result = run(program, events.enumerated().map { Self.line($1, index: $0) })
            #expect(result.deadLetters.isEmpty, "\(result.deadLetters)")
            var expected: [String] = []
            for (index, event) in events.enumerated() where !event.placed {
                for (rule, aggregate) in aggregates.enumerated() where aggregate.holds(events, index) { expected.append("r\(rule)@e\(index)") }
            }
            #expect(result.decisions.map { "\($0.rule)@\($0.event.id)" } == expected, "\(rules)")
        }
    }

    // MARK: - Limits, caps, groups and policies

    struct Policies: CustomStringConvertible {
        /// Per rule: fires only on deliveries more than a day late (else on every delivery).
        var lateOnly: [Bool]
        var limit: (count: Int, hours: Int)?
        var cap: (euros: Int, hours: Int)?
        var group: Int?
        var policyCap: (euros: Int, hours: Int)?
        var policyLimit: (count: Int, hours: Int)?

        var description: String { text }

        var text: String {
            var text = ""
            if let group { text += "group g per customer within \(group)h by priority\n" }
            if let policyCap { text += "policy cap \(policyCap.euros) EUR per customer within \(policyCap.hours)h\n" }
            if let policyLimit { text += "policy limit \(policyLimit.count) per customer within \(policyLimit.hours)h\n" }
            for (rule, late) in lateOnly.enumerated() {
                text += "rule r\(rule) on shipment.delivered when shipment.delay > \(late ? "1d" : "-2d") then refund order.total\n"
                // r0 carries the rule's own limit and cap; the group takes both rules, r1 first by priority.
                if rule == 0, let limit { text += "  limit \(limit.count) per customer within \(limit.hours)h\n" } else { text += "  limit none\n" }
                if rule == 0, let cap { text += "  cap \(cap.euros) EUR per customer within \(cap.hours)h\n" }
                if group != nil { text += "  exclusive g priority \(rule + 1)\n" }
            }
            return text
        }

        static func random(_ random: inout SplitMixGenerator) -> Policies {
            func maybe<T>(_ make: () -> T) -> T? { random.next() % 2 == 0 ? make() : nil }
            func hours() -> Int { Int(1 + random.next() % 3) }
            return Policies(lateOnly: (0..<2).map { _ in random.next() % 3 == 0 },
                            limit: maybe { (Int(1 + random.next() % 2), hours()) },
                            cap: maybe { ([50, 100, 150][Int(random.next() % 3)], hours()) },
                            group: maybe { hours() },
                            policyCap: maybe { ([75, 150][Int(random.next() % 2)], hours()) },
                            policyLimit: maybe { (Int(1 + random.next() % 3), hours()) })
        }

        /// The decisions, worked out event by event in the documented order: rule limits, then
        /// the group (one winner per event, none while a member decided within its window), then
        /// caps and rule-set policies, each accepted decision counting for the next.
        func expected(_ events: [Shipment]) -> [String] {
            var decided: [(rule: Int, time: Int64, customer: String, amount: Int64)] = []
            var result: [String] = []
            for (index, event) in events.enumerated() where !event.placed {
                func recent(_ hours: Int, rule: Int? = nil, rules: [Int]? = nil) -> [(rule: Int, time: Int64, customer: String, amount: Int64)] {
                    decided.filter { use in
                        use.customer == event.customer && use.time > event.time - Int64(hours) * WindowedHistoryTests.hour
                            && (rule.map { use.rule == $0 } ?? true) && (rules.map { $0.contains(use.rule) } ?? true)
                    }
                }
                var firing = lateOnly.indices.filter { !lateOnly[$0] || event.delay > 24 }
                if let limit { firing.removeAll { $0 == 0 && recent(limit.hours, rule: 0).count >= limit.count } }
                if let group, !firing.isEmpty {
                    firing = recent(group, rules: [0, 1]).isEmpty ? firing.max().map { [$0] } ?? [] : []
                }
                for rule in firing.sorted() {
                    if rule == 0, let cap, recent(cap.hours, rule: 0).reduce(0, { $0 + $1.amount }) + event.total > Int64(cap.euros) * 100 { continue }
                    if let policyCap, recent(policyCap.hours).reduce(0, { $0 + $1.amount }) + event.total > Int64(policyCap.euros) * 100 { continue }
                    if let policyLimit, recent(policyLimit.hours).count >= policyLimit.count { continue }
                    decided.append((rule, event.time, event.customer, event.total))
                    result.append("r\(rule)@e\(index)")
                }
            }
            return result
        }
    }

    @Test func limitsCapsGroupsAndPoliciesAgreeWithTheReference() async throws {
        await propertyCheck(count: 200, input: Gen.int(in: 1...1_000_000_000)) { seed in
            var random = SplitMixGenerator(state: UInt64(seed))
            let policies = Policies.random(&random)
            guard let program = compile(policies.text) else {
                Issue.record("does not compile: \(policies.text)")
                return
            }
            let events = Self.events(&random, count: 40)
            let result = run(program, events.enumerated().map { Self.line($1, index: $0) })
            #expect(result.deadLetters.isEmpty, "\(result.deadLetters)")
            #expect(result.decisions.map { "\($0.rule)@\($0.event.id)" } == policies.expected(events), "\(policies.text)")
        }
    }

    /// A state saved at any point and loaded into a new engine goes on as the first would.
    @Test func windowsSurviveASnapshotAndAReload() async throws {
        await propertyCheck(count: 60, input: Gen.int(in: 1...1_000_000_000)) { seed in
            var random = SplitMixGenerator(state: UInt64(seed))
            let policies = Policies.random(&random)
            let aggregate = Aggregate.random(&random)
            let text = policies.text + "rule h on shipment.delivered when \(aggregate.condition) then send apology limit none\n"
            guard let program = compile(text) else {
                Issue.record("does not compile: \(text)")
                return
            }
            let lines = Self.events(&random, count: 40).enumerated().map { Self.line($1, index: $0) }
            let whole = run(program, lines).decisions.map(\.key)
            let cut = Int(random.next() % UInt64(lines.count))
            let first = run(program, Array(lines[..<cut]))
            let resumed = run(program, Array(lines[cut...]), engine: Engine(program: program, state: first.engine.snapshot()))
            #expect(first.decisions.map(\.key) + resumed.decisions.map(\.key) == whole, "\(text) cut at \(cut)")
        }
    }
}
