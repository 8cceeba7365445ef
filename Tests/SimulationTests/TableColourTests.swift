import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressSimulation
import Testing

/// Colour in the terminal tables: escape codes only when asked for, and around padded text, so
/// that removing them gives back exactly the uncoloured, aligned table.
struct TableColourTests {
    static func stripped(_ text: String) -> String {
        text.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
    }

    static func reports() throws -> (Report, Report, Simulation, [Event]) {
        let current = try SimulationTests.program("""
            param late_after = 2d
            when shipment.delay > late_after and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten
            rule voucher on shipment.delivered when shipment.delay > 4d then voucher 5 EUR, send carrier_delay_apology via email
            rule note on shipment.delivered when shipment.delay > 1d then send carrier_delay_apology via email
            """)
        let baseline = try SimulationTests.program("""
            when shipment.delay > 2d and customer.tier == VIP then refund 3 EUR, send apology
            rule voucher on shipment.delivered when shipment.delay > 4d then voucher 5 EUR, send carrier_delay_apology via email
            rule gone on shipment.delivered when shipment.delay > 1d then refund 1 EUR
            """)
        let lines = [
            delivered("2026-03-02T10:00:00Z", shipment: "S1", customer: "A"),
            delivered("2026-03-03T10:00:00Z", shipment: "S2", customer: "B", delay: "5d"),
            delivered("2026-03-04T10:00:00Z", shipment: "S3", customer: "C", tier: "Plus", delay: "5d"),
            delivered("2026-04-01T10:00:00Z", shipment: "S4", customer: "A", delay: "1d"),
        ]
        let simulation = Simulation(program: current, budget: 500)
        let collected = events(lines, program: current)
        return (simulation.replay(collected), Simulation(program: baseline).replay(events(lines, program: baseline)), simulation, collected)
    }

    @Test func colouredReportStripsToThePlainTable() throws {
        let (report, _, _, _) = try Self.reports()
        let plain = report.table()
        let coloured = report.table(colour: true)
        #expect(!plain.contains("\u{1B}"), "no escape codes by default")
        #expect(coloured.contains("\u{1B}[1m"), "bold headings")
        #expect(coloured.contains("\u{1B}[1;36m" + report.money(report.cost) + "\u{1B}[0m"), "the total highlighted")
        #expect(coloured.contains("\u{1B}[31mruns out at"), "a budget that runs out is red")
        #expect(coloured != plain)
        #expect(Self.stripped(coloured) == plain)
        // Every escape sequence is closed on its line, so the alignment of each line is kept.
        for line in coloured.split(separator: "\n") where line.contains("\u{1B}[") {
            #expect(line.hasSuffix("\u{1B}[0m"), "unterminated colour: \(line)")
        }
    }

    @Test func colouredComparisonMarksMoreCostRedAndLessGreen() throws {
        let (report, baseline, _, _) = try Self.reports()
        let comparison = Comparison(current: report, baseline: baseline)
        let plain = comparison.table()
        let coloured = comparison.table(colour: true)
        #expect(!plain.contains("\u{1B}"))
        #expect(Self.stripped(coloured) == plain)
        let rows = coloured.split(separator: "\n").map(String.init)
        // `note` is new (costs more: red); `gone` is dropped (costs less: green); `voucher` is unchanged (dim).
        let note = try #require(rows.first { Self.stripped($0).hasPrefix("note ") })
        let gone = try #require(rows.first { Self.stripped($0).hasPrefix("gone ") })
        let voucher = try #require(rows.first { Self.stripped($0).hasPrefix("voucher ") })
        #expect(note.contains("\u{1B}[31m"), "\(note)")
        #expect(gone.contains("\u{1B}[32m"), "\(gone)")
        #expect(voucher.hasPrefix("\u{1B}[2m"), "\(voucher)")
    }

    @Test func colouredSweepStripsToThePlainTable() throws {
        let (_, _, simulation, collected) = try Self.reports()
        let values = [RuntimeValue(.duration, 86_400_000), RuntimeValue(.duration, 10 * 86_400_000)]
        let sweep = Sweep.run(simulation, parameter: "late_after", values: values, events: collected, deadLetters: 0)
        let plain = sweep.table()
        let coloured = sweep.table(colour: true)
        #expect(!plain.contains("\u{1B}"))
        #expect(coloured.contains("\u{1B}[1msweep of late_after\u{1B}[0m"))
        #expect(Self.stripped(coloured) == plain)
    }
}
