import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressRuntime
import RedressSemantics
import RedressSimulation
import RedressSyntax
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func shop(_ name: String) -> SourceFile {
    SourceFile(path: "rules/shop/\(name)", text: (try? String(contentsOf: repositoryRoot.appendingPathComponent("rules/shop/\(name)"), encoding: .utf8)) ?? "")
}

func events(_ lines: [String], program: Program) -> [Event] {
    let reader = EventReader(program: program)
    var event = Event(slotCount: program.slots.count)
    return lines.enumerated().compactMap { index, line in
        var text = line
        return text.withUTF8 { reader.read($0, number: index + 1, into: &event) } == nil ? event : nil
    }
}

func delivered(_ time: String, shipment: String, customer: String, tier: String = "VIP", delay: String = "3d") -> String {
    "{\"event\":\"shipment.delivered\",\"time\":\"\(time)\",\"shipment\":{\"id\":\"\(shipment)\",\"delay\":\"\(delay)\"},\"customer\":{\"id\":\"\(customer)\",\"tier\":\"\(tier)\"}}"
}

struct SimulationTests {
    static func program(_ rules: String) throws -> Program {
        let report = RuleSetLoader.check(rules: [SourceFile(path: "t.rules", text: rules)], schema: shop("schema.yaml"), catalog: shop("catalog.yaml"))
        return try #require(Program.compile(report).0)
    }

    static func program(_ rules: String, extra: [String]) throws -> Program? {
        let report = RuleSetLoader.check(rules: [SourceFile(path: "t.rules", text: rules)], schema: shop("schema.yaml"), catalog: shop("catalog.yaml"))
        return Program.compile(report, extraFields: extra).0
    }

    /// Worked out by hand from rules/shop/catalog.yaml: refund 5 EUR + apology by e-mail (0.01 EUR)
    /// + handwritten tag (2.50 EUR) = 7.51 EUR per decision; a 5 EUR voucher at 35% redemption is
    /// 1.75 EUR, plus its e-mail 0.01 EUR.
    @Test func pricesEveryDecisionWithTheCatalog() throws {
        let program = try Self.program("""
            when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten
            rule voucher on shipment.delivered when shipment.delay > 4d then voucher 5 EUR, send carrier_delay_apology via email
            """)
        let report = Simulation(program: program).replay(events([
            delivered("2026-03-02T10:00:00Z", shipment: "S1", customer: "A"),
            delivered("2026-03-03T10:00:00Z", shipment: "S2", customer: "B", delay: "5d"),
            delivered("2026-03-04T10:00:00Z", shipment: "S3", customer: "C", tier: "Plus", delay: "5d"),
            delivered("2026-04-01T10:00:00Z", shipment: "S4", customer: "A", delay: "1d"),
        ], program: program))
        #expect(report.events == 4)
        #expect(report.decisions == 4)
        #expect(report.customersAffected == 3)
        #expect(report.cost == 751 + 751 + 176 + 176)
        #expect(report.money(report.cost) == "18.54 EUR")
        #expect(report.rules.map(\.key) == ["t:1", "voucher"])
        #expect(report.rules.map(\.cost) == [1502, 352])
        #expect(report.months.map(\.key) == ["2026-03"])
        #expect(report.weeks.map(\.key) == ["2026-W10"])
        #expect(report.actions.first { $0.key == "voucher" }?.cost == 350)
    }

    @Test func breakdownsTopCustomersOverlapDistributionAndBudget() throws {
        let rules = """
            when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten
            rule voucher on shipment.delivered when shipment.delay > 4d then voucher 5 EUR, send carrier_delay_apology via email
            """
        let report = try Self.program(rules, extra: ["customer.tier"]).map { program in
            Simulation(program: program, by: ["customer.tier"], budget: 1000).replay(events([
                delivered("2026-03-02T10:00:00Z", shipment: "S1", customer: "A"),
                delivered("2026-03-03T10:00:00Z", shipment: "S2", customer: "B", delay: "5d"),
                delivered("2026-03-04T10:00:00Z", shipment: "S3", customer: "C", tier: "Plus", delay: "5d"),
            ], program: program))
        }
        let result = try #require(report)
        // VIP: 7.51 (A) + 7.51 + 1.76 (B) = 16.78; Plus: 1.76 (C).
        #expect(result.dimensions.map(\.key) == ["VIP", "Plus"])
        #expect(result.dimensions.map(\.cost) == [1678, 176])
        #expect(result.topCustomers.map(\.key) == ["B", "A", "C"])
        #expect(result.topCustomers.map(\.cost) == [927, 751, 176])
        #expect(result.overlap.subjects == 1)
        #expect(result.overlap.pairs.map(\.key) == ["t:1 + voucher"])
        #expect(result.distribution.map(\.key) == ["1 – 2 EUR", "5 – 10 EUR"])
        #expect(result.distribution.map(\.decisions) == [2, 2])
        // 7.51 at 03-02, then 15.02 at 03-03: over 10.00 EUR on the 3rd.
        #expect(result.budgetExhausted == "2026-03-03T10:00:00Z")
    }

    @Test func pricesWhatPoliciesSaved() throws {
        // An 8 EUR cap per customer counts refunds: A's second 5 EUR refund would make 10 EUR; its
        // decision would have cost 7.51 EUR with the message and the tag.
        let program = try Self.program("""
            policy cap 8 EUR per customer within 30d
            rule late on shipment.delivered when shipment.delay > 2d then refund 5 EUR, send apology, flag handwritten
            """)
        let report = Simulation(program: program).replay(events([
            delivered("2026-03-02T10:00:00Z", shipment: "S1", customer: "A"),
            delivered("2026-03-03T10:00:00Z", shipment: "S2", customer: "A"),
        ], program: program))
        #expect(report.decisions == 1)
        #expect(report.savedByPolicy.map(\.key) == ["cap"])
        #expect(report.savedByPolicy.map(\.decisions) == [1])
        #expect(report.savedByPolicy.map(\.cost) == [751])
    }

    /// A seasonal rule's decisions outside its `active` dates are not money a policy saved: they
    /// are reported apart, by rule, in the table, JSON, CSV and HTML (issue 15, point 10).
    @Test func outOfSeasonDecisionsAreNotSavedByPolicies() throws {
        let program = try Self.program("""
            policy cap 8 EUR per customer within 30d
            rule late "Late parcels in the first March week"
              on shipment.delivered
              when shipment.delay > 2d
              then refund 5 EUR, send apology, flag handwritten
              active from 2026-03-03 until 2026-03-10
            """)
        let report = Simulation(program: program).replay(events([
            delivered("2026-03-02T10:00:00Z", shipment: "S1", customer: "A"),   // before the season
            delivered("2026-03-04T10:00:00Z", shipment: "S2", customer: "A"),   // decided: 7.51 EUR
            delivered("2026-03-05T10:00:00Z", shipment: "S3", customer: "A"),   // in season, over the cap
            delivered("2026-03-12T10:00:00Z", shipment: "S4", customer: "B"),   // after the season
        ], program: program))
        #expect(report.decisions == 1)
        #expect(report.cost == 751)
        // The cap saved one decision of 7.51 EUR; the season held back two, of 7.51 EUR each.
        #expect(report.savedByPolicy.map { "\($0.key) \($0.decisions) \($0.cost)" } == ["cap 1 751"])
        #expect(report.outOfSeason.map { "\($0.key) \($0.decisions) \($0.cost)" } == ["late 2 1502"])
        #expect(report.heldBack == ["late|cap": 1])

        let table = report.table()
        #expect(table.contains("\nheld back by   decisions         cost\ncap                    1     7.51 EUR\n"), "\(table)")
        #expect(table.contains("\nout of season (not active)   decisions         cost\nlate                                 2    15.02 EUR\n"), "\(table)")
        #expect(!table.contains("inactive"), "\(table)")

        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let saved = try #require(json["savedByPolicy"] as? [[String: Any]])
        #expect(saved.map { $0["key"] as? String } == ["cap"])
        let season = try #require(json["outOfSeason"] as? [[String: Any]])
        #expect(season.count == 1)
        #expect(season.first?["key"] as? String == "late" && season.first?["decisions"] as? Int == 2 && season.first?["cost"] as? Int == 1502)
        #expect((json["heldBack"] as? [String: Int]) == ["late|cap": 1])

        let csv = report.csv()
        #expect(csv.contains("\r\nheld back by,cap,1,7.51 EUR,751\r\n"), "\(csv)")
        #expect(csv.contains("\r\nout of season,late,2,15.02 EUR,1502\r\n"), "\(csv)")
        #expect(!csv.contains("inactive"))

        let page = HTMLReport.render(report)
        #expect(page.contains("<h2>Out of season (not active)</h2>"))
        let policies = try #require(page.range(of: "<h2>Held back by policies</h2>"))
        let season2 = try #require(page.range(of: "<h2>Out of season (not active)</h2>"))
        #expect(!page[policies.upperBound..<season2.lowerBound].contains("late"), "the season is not in the policies' table")
        #expect(!page.contains("inactive"))
    }

    /// Without a season, nothing is out of season and the table has no such section.
    @Test func aRuleWithoutDatesIsNeverOutOfSeason() throws {
        let program = try Self.program("rule late on shipment.delivered when shipment.delay > 2d then refund 5 EUR")
        let report = Simulation(program: program).replay(events([delivered("2026-03-02T10:00:00Z", shipment: "S1", customer: "A")], program: program))
        #expect(report.outOfSeason.isEmpty)
        #expect(!report.table().contains("out of season"))
        #expect(report.json().contains("\"outOfSeason\" : [\n\n  ]"))
    }

    @Test func comparesAnOutcomeOfCompensatedAndOtherSubjects() throws {
        let program = try #require(try Self.program(
            "rule late on shipment.delivered when shipment.delay > 2d then refund 5 EUR, send apology",
            extra: ["survey.nps", "customer.id"]))
        let answered = { (customer: String, nps: Int) in
            "{\"event\":\"survey.answered\",\"time\":\"2026-03-10T10:00:00Z\",\"survey\":{\"id\":\"Q\(customer)\",\"nps\":\(nps)},\"customer\":{\"id\":\"\(customer)\",\"tier\":\"VIP\"}}"
        }
        var simulation = Simulation(program: program)
        simulation.outcome = ("survey.nps", "customer")
        let report = simulation.replay(events([
            delivered("2026-03-02T10:00:00Z", shipment: "S1", customer: "A"),
            delivered("2026-03-02T11:00:00Z", shipment: "S2", customer: "B", delay: "1d"),
            answered("A", 2), answered("B", 9), answered("C", 8),
        ], program: program))
        // A was compensated (NPS 2); B and C were not: (9 + 8) / 2 = 8.5.
        #expect(report.outcomeComparison.map(\.group) == ["compensated", "everyone else", "late"])
        #expect(report.outcomeComparison.map(\.average) == ["2.00", "8.50", "2.00"])
        #expect(report.outcomeComparison.map(\.keys) == [1, 2, 1])
    }

    @Test func htmlEscapesEveryStringAndDrawsCharts() throws {
        #expect(HTMLReport.escape("<script>alert('x') & \"y\"</script>") == "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;")
        // A `<` with a combining mark after it is one Character but still a `<`.
        #expect(HTMLReport.escape("<\u{0301}script&\u{0301}") == "&lt;\u{0301}script&amp;\u{0301}")
        let program = try #require(try Self.program(
            "when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten", extra: ["customer.id"]))
        let report = Simulation(program: program, by: ["customer.id"]).replay(events([
            delivered("2026-03-02T10:00:00Z", shipment: "S1", customer: "<b>A</b>"),
            delivered("2026-03-12T10:00:00Z", shipment: "S2", customer: "B"),
        ], program: program))
        let page = HTMLReport.render(report)
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.contains("&lt;b&gt;A&lt;/b&gt;"))
        #expect(!page.contains("<b>A</b>"))
        #expect(page.components(separatedBy: "<svg").count - 1 == 2)
        #expect(page.contains("<polyline"))
        #expect(!page.contains("<script"))
    }

    @Test func convertsOtherCurrenciesWithRates() throws {
        let program = try Self.program("rule r on shipment.delivered when shipment.delay > 2d then refund 5 USD")
        let lines = [delivered("2026-03-02T10:00:00Z", shipment: "S1", customer: "A")]
        let unconverted = Simulation(program: program).replay(events(lines, program: program))
        #expect(unconverted.cost == 0)
        #expect(unconverted.unconverted == ["USD": 500])
        var simulation = Simulation(program: program)
        simulation.rates = ["USD": 925_000]  // 1 USD = 0.925 EUR: 5 USD = 4.625 EUR → 4.62 EUR (half to even)
        let converted = simulation.replay(events(lines, program: program))
        #expect(converted.cost == 462)
        #expect(converted.unconverted.isEmpty)
    }

    @Test func unsortedInputIsReplayedInTimeOrder() throws {
        // A limit of one per customer: which decision survives depends on time order, not file order.
        let program = try Self.program("rule r on shipment.delivered when shipment.delay > 2d then refund 5 EUR limit 1 per customer")
        let lines = [delivered("2026-03-05T10:00:00Z", shipment: "LATE", customer: "A"),
                     delivered("2026-03-01T10:00:00Z", shipment: "EARLY", customer: "A")]
        let report = Simulation(program: program).replay(events(lines, program: program))
        #expect(report.outOfOrder == 1)
        #expect(report.decisions == 1)
        #expect(report.heldBack["r|limit"] == 1)
        let sorted = Simulation(program: program).replay(events(lines.reversed(), program: program))
        #expect(sorted.json().replacingOccurrences(of: "\"outOfOrder\" : 0", with: "\"outOfOrder\" : 1") == report.json())
    }

    @Test func deadlinesFireUpToTheEndOfTheData() throws {
        let program = try Self.program("rule not_shipped on order.placed unless shipment.shipped within 48h then send dispatch_delay_notice")
        let placed = { (time: String, order: String) in
            "{\"event\":\"order.placed\",\"time\":\"\(time)\",\"order\":{\"id\":\"\(order)\"},\"customer\":{\"id\":\"C\",\"tier\":\"VIP\"}}"
        }
        let report = Simulation(program: program).replay(events([placed("2026-03-01T10:00:00Z", "O1"), placed("2026-03-04T10:00:00Z", "O2")], program: program))
        // O1's deadline (03-03) falls inside the data; O2's (03-06) after its end.
        #expect(report.decisions == 1)
        #expect(report.pending == 1)
    }
}

@Suite struct ProgressBarTests {
    @Test(arguments: [
        (Int64(0), Int64(1000), 0, "simulate [░░░░░░░░░░░░░░░░░░░░░░░░]   0%  0 events"),
        (Int64(450), Int64(1000), 450_000, "simulate [██████████░░░░░░░░░░░░░░]  45%  450,000 events"),
        (Int64(1000), Int64(1000), 1_234_567, "simulate [████████████████████████] 100%  1,234,567 events"),
        (Int64(5000), Int64(1000), 12, "simulate [████████████████████████] 100%  12 events"),
    ])
    func barShowsTheShareReadAndTheEvents(done: Int64, total: Int64, events: Int, expected: String) {
        #expect(ProgressBar.line(done: done, total: total, events: events) == expected)
    }
}

/// The parsing threads' screen holds back events that trigger nothing; the report must be the
/// one the engine gives when it sees every event — for each example rule set (history
/// aggregates, absence rules, policies, dispatch on enums and strings) and all of them together,
/// over the bundled history cut into many small chunks.
@Suite struct ScreenedReplayTests {
    static let ruleFiles = ["mission", "delivery", "returns", "alarms", "policies", "checkout", "service", "streaming"]
    /// Those that compile alone (delivery and service use names policies.rules declares).
    static let alone = ["mission", "returns", "alarms", "policies", "checkout", "streaming"]

    static func report(_ program: Program, file: Int32, screened: Bool) throws -> (Report, held: Int) {
        let replay = Replay(Simulation(program: program))
        let pipeline = try #require(ChunkedEventPipeline(reader: EventReader(program: program), descriptor: file, slotCount: program.slots.count,
                                                         workers: 2, chunkSize: 16 << 10))
        var held = 0
        var bad = 0
        let screens = screened ? (0..<pipeline.workers).compactMap { _ in replay.screen() } : []
        #expect(screens.count == (screened ? 2 : 0))
        let failure = pipeline.run(screens: screens, screened: { chunk in
            held += chunk.count
            replay.skip(chunk)
            return true
        }, event: { event, _ in
            replay.feed(event)
            return true
        }, deadLetter: { _, _ in
            bad += 1
            return true
        })
        #expect(failure == nil)
        return (replay.finish(deadLetters: bad), held)
    }

    @Test(arguments: alone.map { [$0] } + [ruleFiles])
    func sameReportWithAndWithoutTheScreen(_ names: [String]) throws {
        let sources = names.map { shop("\($0).rules") }
        let checked = RuleSetLoader.check(rules: sources, schema: shop("schema.yaml"), catalog: shop("catalog.yaml"))
        let program = try #require(Program.compile(checked).0)
        let file = open(repositoryRoot.appendingPathComponent("rules/shop/events/history.jsonl").path, O_RDONLY)
        #expect(file >= 0)
        defer { close(file) }
        let (all, none) = try Self.report(program, file: file, screened: false)
        let (screened, held) = try Self.report(program, file: file, screened: true)
        #expect(none == 0)
        #expect(all.events == 3_069)
        #expect(screened.json() == all.json())
        // The screen did hold events back (the test would prove nothing otherwise), but never all.
        #expect(held > 0)
        #expect(held < all.events)
    }
}
