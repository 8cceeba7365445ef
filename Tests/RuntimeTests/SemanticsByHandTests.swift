import Foundation
import Testing
import RedressIR
@testable import RedressEvents
@testable import RedressEngine

/// The semantics of the brief, each with a small input whose result was worked out by hand.
struct SemanticsByHandTests {
    static let mission = "when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten"

    @Test func missionSentenceDecides() throws {
        let program = try #require(compile(Self.mission))
        let result = run(program, [Shop.delivered("2026-11-09T14:00:00Z", delay: "3d")])
        #expect(result.decisions.count == 1)
        let decision = try #require(result.decisions.first)
        #expect(decision.rule == "t:1")
        #expect(decision.subject == Decision.Subject(entity: "shipment", key: "S1"))
        #expect(decision.customer == "C1")
        #expect(decision.actions == [
            Decision.Action(verb: "refund", amount: "5.00 EUR", argument: nil, channel: nil),
            Decision.Action(verb: "send", amount: nil, argument: "apology", channel: "email"),
            Decision.Action(verb: "flag", amount: nil, argument: "handwritten", channel: nil),
        ])
        #expect(decision.key == "t:1|shipment:S1|1")
        #expect(decision.time == "2026-11-09T14:00:00Z")
    }

    @Test(arguments: [
        ("3d", "VIP", 1), ("2d", "VIP", 0), ("2d1s", "VIP", 1), ("-1d", "VIP", 0), ("5d", "Standard", 0), ("5d", "Plus", 0),
    ])
    func missionThreshold(delay: String, tier: String, expected: Int) throws {
        let program = try #require(compile(Self.mission))
        #expect(run(program, [Shop.delivered("2026-11-09T14:00:00Z", tier: tier, delay: delay)]).decisions.count == expected)
    }

    @Test func missingOptionalFieldDoesNotFireAndIsCounted() throws {
        let program = try #require(compile(Self.mission))
        let result = run(program, [Shop.shipped("2026-11-03T08:00:00Z"), Shop.delivered("2026-11-09T14:00:00Z", delay: nil)])
        #expect(result.decisions.isEmpty)
        #expect(result.deadLetters.isEmpty)
        #expect(result.engine.state.misses == ["t:1|shipment.delay": 2])
        // A Standard customer decides the condition (false) without the delay: no miss.
        let standard = run(program, [Shop.delivered("2026-11-09T14:00:00Z", tier: "Standard", delay: nil)])
        #expect(standard.engine.state.misses.isEmpty)
    }

    @Test func oncePerRuleAndSubjectByDefault() throws {
        let program = try #require(compile(Self.mission))
        let result = run(program, [
            Shop.delivered("2026-11-09T14:00:00Z", shipment: "S1"),
            Shop.delivered("2026-11-10T14:00:00Z", shipment: "S1"),
            Shop.delivered("2026-11-10T15:00:00Z", shipment: "S2"),
        ])
        #expect(result.decisions.map(\.subject.key) == ["S1", "S2"])
        #expect(result.engine.state.statistics.heldBack["t:1|limit"] == 1)
    }

    @Test func countLimitPerWindow() throws {
        let program = try #require(compile("""
            rule late on shipment.delivered when shipment.delay > 2d then send apology limit 2 per customer within 30d
            """))
        let times = ["2026-01-01", "2026-01-05", "2026-01-10", "2026-02-01", "2026-02-03", "2026-02-04"]
        let result = run(program, times.enumerated().map { Shop.delivered("\($1)T10:00:00Z", shipment: "S\($0)") })
        // Jan 1 and 5 decide; Jan 10 would be the third in 30 days. On Feb 1 the window (Jan 2, Feb 1]
        // holds only Jan 5: it decides. On Feb 3 the window holds Jan 5 and Feb 1: held back. On
        // Feb 4 Jan 5 has just left the window (it is exactly 30 days old): it decides.
        #expect(result.decisions.map { String($0.time.prefix(10)) } == ["2026-01-01", "2026-01-05", "2026-02-01", "2026-02-04"])
    }

    @Test func moneyCapAcrossRules() throws {
        let program = try #require(compile("""
            policy cap 20 EUR per customer within 30d
            rule late on shipment.delivered when shipment.delay > 2d then refund 8 EUR limit none
            """))
        let result = run(program, (1...5).map { Shop.delivered("2026-03-0\($0)T10:00:00Z", shipment: "S\($0)") }
                         + [Shop.delivered("2026-04-02T10:00:00Z", shipment: "S9")])
        // 8 + 8 = 16; a third 8 would make 24 > 20; a month later the window is clear again.
        #expect(result.decisions.map(\.subject.key) == ["S1", "S2", "S9"])
        #expect(result.engine.state.statistics.heldBack["late|cap"] == 3)
    }

    @Test func exclusiveGroupMostGenerousWinsAndHoldsTheKey() throws {
        let program = try #require(compile("""
            group delivery per order by amount
            rule small on shipment.delivered when shipment.delay > 1d then refund 5 EUR exclusive delivery priority 9
            rule large on shipment.delivered when shipment.delay > 2d then refund 10 EUR exclusive delivery priority 1
            """))
        let result = run(program, [
            Shop.delivered("2026-03-01T10:00:00Z", shipment: "S1", order: "O1", delay: "3d"),
            Shop.delivered("2026-03-02T10:00:00Z", shipment: "S2", order: "O1", delay: "3d"),
            Shop.delivered("2026-03-02T10:00:00Z", shipment: "S3", order: "O2", delay: "36h"),
        ])
        #expect(result.decisions.map(\.rule) == ["large", "small"])
        #expect(result.decisions.map(\.subject.key) == ["S1", "S3"])
    }

    @Test func aPolicyWhoseKeyIsMissingDoesNotApply() throws {
        // One decision per preferred channel; customers without one are not grouped under an empty key.
        let program = try #require(compile("""
            policy limit 1 per customer.preferred_channel
            rule r on shipment.delivered when shipment.delay > 2d then send apology limit none
            """))
        let with = { (shipment: String, channel: String?) in
            Shop.delivered("2026-03-01T10:00:00Z", shipment: shipment).replacingOccurrences(
                of: "\"tier\":\"VIP\"", with: "\"tier\":\"VIP\"" + (channel.map { ",\"preferred_channel\":\"\($0)\"" } ?? ""))
        }
        let result = run(program, [with("S1", "sms"), with("S2", "sms"), with("S3", nil), with("S4", nil), with("S5", "email")])
        #expect(result.deadLetters.isEmpty, "\(result.deadLetters)")
        #expect(result.decisions.map(\.subject.key) == ["S1", "S3", "S4", "S5"])
    }

    @Test func exclusiveGroupByPriority() throws {
        let program = try #require(compile("""
            group delivery per order by priority
            rule small on shipment.delivered when shipment.delay > 1d then refund 5 EUR exclusive delivery priority 9
            rule large on shipment.delivered when shipment.delay > 2d then refund 10 EUR exclusive delivery priority 1
            """))
        let result = run(program, [Shop.delivered("2026-03-01T10:00:00Z", delay: "3d")])
        #expect(result.decisions.map(\.rule) == ["small"])
    }

    @Test func rolloutIsStableByCustomer() throws {
        let program = try #require(compile("rule r on shipment.delivered when shipment.delay > 2d then send apology rollout 25%"))
        let events = (0..<2000).map { Shop.delivered("2026-03-01T10:00:00Z", shipment: "S\($0)", customer: "C\($0)") }
        let first = run(program, events).decisions.map(\.customer)
        let second = run(program, events).decisions.map(\.customer)
        #expect(first == second)
        // FNV-1a spreads customers evenly: about a quarter, computed independently below.
        let expected = (0..<2000).filter { Engine.inRollout(rule: "r", customer: "C\($0)", millionths: 250_000) }.count
        #expect(first.count == expected)
        #expect((420...580).contains(first.count))
    }

    @Test func activeDatesUseEventTime() throws {
        let program = try #require(compile("""
            rule xmas on shipment.delivered when shipment.delay > 2d then send apology limit none active from 2026-12-01 until 2026-12-31
            """))
        let result = run(program, ["2026-11-30T23:59:59Z", "2026-12-01T00:00:00Z", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"]
                            .enumerated().map { Shop.delivered($1, shipment: "S\($0)") })
        #expect(result.decisions.map(\.subject.key) == ["S1", "S2"])
    }

    @Test func historyCountsWithinTheWindowIncludingTheCurrentEvent() throws {
        let program = try #require(compile("""
            rule serial on return.registered when count(return.registered where return.reason == wrong_size within 90d) >= 3
              then send size_guide limit none
            """))
        let fires = run(program, [
            Shop.returned("2026-01-01T10:00:00Z", id: "R1"), Shop.returned("2026-01-20T10:00:00Z", id: "R2"),
            Shop.returned("2026-02-01T10:00:00Z", id: "R3", reason: "damaged"), Shop.returned("2026-02-10T10:00:00Z", id: "R4"),
        ])
        #expect(fires.decisions.map(\.subject.key) == ["R4"])
        let tooSlow = run(program, [
            Shop.returned("2026-01-01T10:00:00Z", id: "R1"), Shop.returned("2026-04-15T10:00:00Z", id: "R2"),
            Shop.returned("2026-04-20T10:00:00Z", id: "R3"),
        ])
        #expect(tooSlow.decisions.isEmpty)
        // Another customer's returns do not count.
        let others = run(program, [
            Shop.returned("2026-01-01T10:00:00Z", id: "R1", customer: "A"), Shop.returned("2026-01-02T10:00:00Z", id: "R2", customer: "B"),
            Shop.returned("2026-01-03T10:00:00Z", id: "R3", customer: "A"),
        ])
        #expect(others.decisions.isEmpty)
    }

    @Test func shareOfLateDeliveriesPerCountry() throws {
        let program = try #require(compile("""
            rule alarm on shipment.delivered
              when share(shipment.delivered where shipment.delay > 0d per customer.country within 1d) > 30%
              then alert ops_team via slack limit 1 per customer.country within 1d
            """))
        // Two on time, then late ones: 1/3 = 33% > 30% fires once for DE; FR stays below.
        let events = [Shop.delivered("2026-05-01T08:00:00Z", shipment: "A", delay: "-1h"),
                      Shop.delivered("2026-05-01T09:00:00Z", shipment: "B", delay: "-1h"),
                      Shop.delivered("2026-05-01T10:00:00Z", shipment: "C", delay: "2h"),
                      Shop.delivered("2026-05-01T11:00:00Z", shipment: "D", delay: "2h")]
        let result = run(program, events)
        #expect(result.decisions.map(\.subject.key) == ["C"])
    }

    @Test func absenceFiresAtTheDeadlineInEventTime() throws {
        let program = try #require(compile("rule not_shipped on order.placed unless shipment.shipped within 48h then send dispatch_delay_notice"))
        let late = run(program, [
            Shop.placed("2026-06-01T10:00:00Z", order: "O1"),
            Shop.placed("2026-06-03T11:00:00Z", order: "O2"),
        ])
        #expect(late.decisions.map(\.subject.key) == ["O1"])
        #expect(late.decisions.first?.time == "2026-06-03T10:00:00Z")
        #expect(late.engine.state.pending.count == 1)
        let onTime = run(program, [
            Shop.placed("2026-06-01T10:00:00Z", order: "O1"),
            Shop.shipped("2026-06-03T09:00:00Z", order: "O1"),
            Shop.placed("2026-06-09T11:00:00Z", order: "O2"),
        ])
        #expect(onTime.decisions.isEmpty)
    }

    /// The awaited event came first (a parcel handed to the carrier before the order's trigger was
    /// recorded): the rule has nothing to wait for, and does not fire, however late the trigger.
    @Test func absenceIsAnsweredByAnAwaitedEventThatCameFirst() throws {
        let program = try #require(compile("rule not_shipped on order.placed unless shipment.shipped within 48h then send dispatch_delay_notice"))
        let result = run(program, [
            Shop.shipped("2026-06-01T08:00:00Z", order: "O1"),
            Shop.placed("2026-06-01T10:00:00Z", order: "O1"),
            Shop.placed("2026-06-01T10:00:00Z", order: "O2"),
            Shop.placed("2026-06-09T11:00:00Z", order: "O3"),
        ])
        #expect(result.decisions.map(\.subject.key) == ["O2"], "O1 was shipped before it was placed; O2 never was")
        #expect(result.engine.state.answered.keys.contains { $0.hasSuffix("|O1") })
        // At the same instant it counts as already answered too.
        let same = run(program, [Shop.shipped("2026-06-01T10:00:00Z", order: "O1"), Shop.placed("2026-06-01T10:00:00Z", order: "O1"),
                                 Shop.placed("2026-06-09T11:00:00Z", order: "O3")])
        #expect(same.decisions.isEmpty)
    }

    @Test(arguments: [("49.90 EUR", "3.00 EUR"), ("89.90 EUR", "4.50 EUR"), ("80.00 EUR", "4.00 EUR"), ("200.00 EUR", "5.00 EUR"), ("64.90 EUR", "3.24 EUR")])
    func amountsFromPercentagesAndClamps(total: String, refund: String) throws {
        // 5% of 64.90 = 3.245 → 3.24 (half to even); of 89.90 = 4.495 → 4.50.
        let program = try #require(compile("rule r on order.placed then refund clamp(5% of order.total, 3 EUR, 5 EUR)"))
        #expect(run(program, [Shop.placed("2026-06-01T10:00:00Z", total: total)]).decisions.first?.actions.first?.amount == refund)
    }

    @Test func amountsFromCasesAndTables() throws {
        let program = try #require(compile("""
            table bonus by Country { DE -> 1 EUR, else -> 2 EUR }
            rule r on shipment.delivered when shipment.delay > 2d
              then refund case customer.tier { VIP -> 10 EUR, Plus -> 5 EUR, else -> 3 EUR } + bonus[customer.country] limit none
            """))
        let result = run(program, [Shop.delivered("2026-06-01T10:00:00Z", tier: "VIP"), Shop.delivered("2026-06-02T10:00:00Z", tier: "Standard")])
        #expect(result.decisions.map { $0.actions[0].amount } == ["11.00 EUR", "4.00 EUR"])
        #expect(result.decisions.map(\.key) == ["r|shipment:S1|@line 1", "r|shipment:S1|@line 2"])
    }

    @Test func badLinesAreKeptWithTheirReason() throws {
        let program = try #require(compile(Self.mission))
        let result = run(program, [
            "not json",
            "{\"event\":\"shipment.teleported\",\"time\":\"2026-01-01T00:00:00Z\"}",
            "{\"event\":\"shipment.delivered\",\"time\":\"yesterday\"}",
            Shop.delivered("2026-11-09T14:00:00Z", delay: "three days"),
            Shop.delivered("2026-11-09T14:00:00Z", tier: "Gold"),
            Shop.delivered("2026-11-09T14:00:00Z", total: "5.00 USD").replacingOccurrences(of: "\"tier\":\"VIP\",", with: ""),
            Shop.delivered("2026-11-09T14:00:00Z"),
        ])
        #expect(result.deadLetters.map(\.line) == [1, 2, 3, 4, 5, 6])
        #expect(result.deadLetters[1].reason == "unknown event type \"shipment.teleported\"")
        #expect(result.deadLetters[2].reason.hasPrefix("invalid time \"yesterday\""))
        #expect(result.deadLetters[3].reason.hasPrefix("shipment.delay must be a duration"))
        #expect(result.deadLetters[4].reason == "customer.tier: \"Gold\" is not a case of Tier")
        #expect(result.deadLetters[5].reason.contains("customer.tier is missing"))
        #expect(result.decisions.count == 1)
    }

    @Test func spacesInTheJSONAreFine() throws {
        let program = try #require(compile(Self.mission))
        let spaced = " { \"event\" : \"shipment.delivered\" , \"time\" : \"2026-11-09T14:00:00Z\" , \"shipment\" : { \"id\" : \"S1\" , \"delay\" : \"3d\" } ,\t\"customer\" : { \"id\" : \"C1\" , \"tier\" : \"VIP\" } } "
        let typeLast = "{\"customer\":{\"id\":\"C1\",\"tier\":\"VIP\"},\"shipment\":{\"id\":\"S2\",\"delay\":\"3d\"},\"time\":\"2026-11-09T14:00:00Z\",\"event\":\"shipment.delivered\"}"
        let result = run(program, [spaced, typeLast])
        #expect(result.deadLetters.isEmpty, "\(result.deadLetters)")
        #expect(result.decisions.map(\.subject.key) == ["S1", "S2"])
    }

    @Test func sameInputSameDecisions() throws {
        let program = try #require(compile(read(repositoryRoot.appendingPathComponent("rules/shop/delivery.rules"))
                                           + "\n" + read(repositoryRoot.appendingPathComponent("rules/shop/policies.rules"))))
        let lines = read(repositoryRoot.appendingPathComponent("rules/shop/events/sample.jsonl")).split(separator: "\n").map(String.init)
        let first = run(program, lines).decisions.map { $0.jsonLine() }
        let second = run(program, lines).decisions.map { $0.jsonLine() }
        #expect(!first.isEmpty)
        #expect(first == second)
    }
}

func read(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }
