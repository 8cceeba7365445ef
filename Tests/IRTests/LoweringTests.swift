import Foundation
import Testing
@testable import RedressIR
import RedressSemantics
import RedressSyntax

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func shopSource(_ name: String) -> SourceFile {
    let path = "rules/shop/\(name)"
    return SourceFile(path: path, text: (try? String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)) ?? "")
}

func compile(_ text: String) -> Program? {
    let report = RuleSetLoader.check(rules: [SourceFile(path: "t.rules", text: text)], schema: shopSource("schema.yaml"),
                                     catalog: shopSource("catalog.yaml"))
    return Program.compile(report).0
}

func compileShop() throws -> Program {
    let location = try RuleSetLoader.locate([repositoryRoot.appendingPathComponent("rules/shop").path])[0]
    let report = try RuleSetLoader.check(location)
    return try #require(Program.compile(report).0)
}

struct LoweringTests {
    @Test func compilingTwiceGivesIdenticalBytesAndTheJSONRoundTrips() throws {
        let first = try compileShop().json()
        let second = try compileShop().json()
        #expect(first == second)
        let loaded = try Program.load(json: first)
        #expect(loaded.json() == first)
        #expect(loaded.rules.count == 24)
    }

    @Test func olderOrNewerFormatsAreRefused() throws {
        #expect(throws: Program.LoadError.self) { try Program.load(json: Data("{\"version\": 999}".utf8)) }
        #expect(throws: Program.LoadError.self) { try Program.load(json: Data("not json".utf8)) }
    }

    @Test func constantsAreFoldedAndNormalised() throws {
        let program = try #require(compile("""
            param small = 5% of 4.99 EUR
            let threshold = 1d + 12h
            rule r on shipment.delivered when shipment.delay > threshold and order.total > small then refund 2.50 EUR
            """))
        #expect(program.parameters[0].value == RuntimeValue(.money, 25, unit: 0))
        let condition = try #require(program.rules[0].condition)
        #expect(condition.operation == .and)
        #expect(condition.children[0].children[1].value == RuntimeValue(.duration, 129_600_000))
        #expect(program.rules[0].actions[0].amount?.value == RuntimeValue(.money, 250, unit: 0))
        #expect(program.currencies.map(\.code) == ["EUR"])
    }

    @Test func rulesAreFiledByTriggerAndEqualityTest() throws {
        let program = try #require(compile("""
            rule vip on shipment.delivered when customer.tier == VIP and shipment.delay > 2d then refund 5 EUR
            rule plus on shipment.delivered when shipment.delay > 2d and Plus == customer.tier then refund 3 EUR
            rule any on shipment.delivered when shipment.delay > 5d then refund 1 EUR
            rule other on order.placed then send apology
            """))
        let delivered = try #require(program.events.firstIndex { $0.name == "shipment.delivered" })
        let dispatch = program.dispatch[delivered]
        #expect(dispatch.always == [2])
        #expect(dispatch.branches.count == 1)
        #expect(dispatch.branches[0].rules == [[0], [1]])
        #expect(dispatch.branches[0].slots.map { program.slots[$0].field } == ["tier"])
        let placed = try #require(program.events.firstIndex { $0.name == "order.placed" })
        #expect(program.dispatch[placed].always == [3])
    }

    @Test func rulesCarryTheirPolicies() throws {
        let program = try #require(compile("""
            group delivery per order by amount
            policy cap 20 EUR per customer within 30d
            rule r on shipment.delivered when shipment.delay > 2d then refund 5 EUR
              exclusive delivery priority 3
              rollout 25%
              active from 2026-12-01 until 2026-12-31
            """))
        let rule = program.rules[0]
        #expect(rule.group == 0 && rule.priority == 3)
        #expect(rule.rollout?.value == RuntimeValue(.percent, 250_000))
        #expect(rule.limits.count == 1 && rule.limits[0].amount == 1 && program.slots[rule.limits[0].key.slot].field == "id")
        #expect(rule.activeUntil == 1_798_761_600_000)
        #expect(program.policies[0].kind == .cap && program.policies[0].amount == 2000 && program.policies[0].windowMilliseconds == 2_592_000_000)
        #expect(program.groups[0].order == .amount)
    }
}

struct ArithmeticTests {
    static func strings(_ value: RuntimeValue) -> Substring { "" }
    static func eur(_ minor: Int64) -> RuntimeValue { RuntimeValue(.money, minor, unit: 0) }

    @Test(arguments: [
        // value, numerator, denominator, expected (half to even)
        (Int64(245), Int64(1), Int64(10), Int64(24)), (255, 1, 10, 26), (-245, 1, 10, -24), (-255, 1, 10, -26),
        (499, 50_000, 1_000_000, 25), (490, 50_000, 1_000_000, 24), (510, 50_000, 1_000_000, 26), (7, 1, 2, 4), (5, 1, 2, 2),
    ])
    func roundsHalfToEven(value: Int64, numerator: Int64, denominator: Int64, expected: Int64) {
        #expect(FixedPoint.multiplyDivide(value, numerator, denominator) == expected)
    }

    @Test func overflowIsMissingNotACrash() {
        #expect(FixedPoint.multiplyDivide(.max, .max, 1) == nil)
        #expect(Arithmetic.apply(.plus, RuntimeValue(.integer, .max), RuntimeValue(.integer, 1)).isMissing)
        #expect(Arithmetic.apply(.divide, Self.eur(100), RuntimeValue(.integer, 0)).isMissing)
        #expect(Arithmetic.negate(RuntimeValue(.integer, .min)).isMissing)
    }

    @Test func unitsCombineAsTheCheckerSays() {
        #expect(Arithmetic.apply(.of, RuntimeValue(.percent, 50_000), Self.eur(499)) == Self.eur(25))
        #expect(Arithmetic.apply(.times, Self.eur(250), RuntimeValue(.integer, 3)) == Self.eur(750))
        #expect(Arithmetic.apply(.times, Self.eur(333), RuntimeValue(.decimal, 1_500_000)) == Self.eur(500))
        #expect(Arithmetic.apply(.minus, RuntimeValue(.timestamp, 5000), RuntimeValue(.timestamp, 2000)) == RuntimeValue(.duration, 3000))
        #expect(Arithmetic.apply(.plus, RuntimeValue(.timestamp, 5000), RuntimeValue(.duration, 1000)) == RuntimeValue(.timestamp, 6000))
        #expect(Arithmetic.apply(.plus, Self.eur(1), RuntimeValue(.money, 1, unit: 1)).isMissing)
        #expect(Arithmetic.compare(.greater, RuntimeValue(.integer, 3), RuntimeValue(.decimal, 2_500_000), strings: Self.strings) == .true)
        #expect(Arithmetic.compare(.greater, .missing, RuntimeValue(.integer, 1), strings: Self.strings).isMissing)
        #expect(Arithmetic.function(.clamp, [Self.eur(700), Self.eur(300), Self.eur(500)], strings: Self.strings) == Self.eur(500))
        #expect(Arithmetic.function(.clamp, [Self.eur(100), Self.eur(300), Self.eur(500)], strings: Self.strings) == Self.eur(300))
    }

    @Test func threeValuedLogic() {
        let values: [RuntimeValue] = [.true, .false, .missing]
        let and: [[RuntimeValue]] = [[.true, .false, .missing], [.false, .false, .false], [.missing, .false, .missing]]
        let or: [[RuntimeValue]] = [[.true, .true, .true], [.true, .false, .missing], [.true, .missing, .missing]]
        for (i, a) in values.enumerated() {
            for (j, b) in values.enumerated() {
                #expect(Arithmetic.and(a, b) == and[i][j])
                #expect(Arithmetic.or(a, b) == or[i][j])
            }
        }
        #expect(Arithmetic.not(.missing).isMissing)
    }
}
