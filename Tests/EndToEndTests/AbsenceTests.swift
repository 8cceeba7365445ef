import Foundation
import Testing

/// An absence rule whose awaited event came before its trigger (issue 13, point 8): nothing to wait
/// for, in one run and across a restart with `--state`.
@Suite struct AbsenceTests {
    static let rules = "rule not_shipped on order.placed unless shipment.shipped within 48h then send dispatch_delay_notice\n"

    static func placed(_ time: String, _ order: String) -> String {
        #"{"event":"order.placed","time":"\#(time)","id":"p-\#(order)","order":{"id":"\#(order)","customer_id":"C-1","placed_at":"\#(time)","total":"50.00 EUR","shipping_fee":"0.00 EUR","item_count":1,"payment_method":"card","shipping_country":"DE","express":false,"promised_delivery_at":"2026-06-10T20:00:00Z","shipment_count":1},"customer":{"id":"C-1","tier":"VIP","country":"DE","sms_opt_in":false}}"#
    }

    static func shipped(_ time: String, _ order: String) -> String {
        #"{"event":"shipment.shipped","time":"\#(time)","id":"s-\#(order)","shipment":{"id":"S-\#(order)","order_id":"\#(order)","carrier":"DHL","destination_country":"DE","shipped_at":"\#(time)","promised_at":"2026-06-10T20:00:00Z"},"order":{"id":"\#(order)","customer_id":"C-1","placed_at":"2026-06-01T10:00:00Z","total":"50.00 EUR","shipping_fee":"0.00 EUR","item_count":1,"payment_method":"card","shipping_country":"DE","express":false,"promised_delivery_at":"2026-06-10T20:00:00Z","shipment_count":1},"customer":{"id":"C-1","tier":"VIP","country":"DE","sms_opt_in":false}}"#
    }

    @Test func aParcelShippedBeforeTheTriggerIsNotNoticed() throws {
        let directory = try temporaryRuleSet(["a.rules": Self.rules])
        let day1 = directory.appendingPathComponent("day1.jsonl"), day2 = directory.appendingPathComponent("day2.jsonl")
        // O1 leaves the warehouse before its order is recorded; O2 never leaves.
        try [Self.shipped("2026-06-01T08:00:00Z", "O1")].joined(separator: "\n").appending("\n").write(to: day1, atomically: true, encoding: .utf8)
        try [Self.placed("2026-06-01T10:00:00Z", "O1"), Self.placed("2026-06-01T10:00:00Z", "O2"), Self.placed("2026-06-09T10:00:00Z", "O3")]
            .joined(separator: "\n").appending("\n").write(to: day2, atomically: true, encoding: .utf8)
        let both = directory.appendingPathComponent("both.jsonl")
        try (read(day1) + read(day2)).write(to: both, atomically: true, encoding: .utf8)
        let once = try redress(["run", directory.path, "--events", both.path])
        #expect(once.status == 0, "\(once.stderr)")
        let subjects = once.stdout.split(separator: "\n").compactMap { line in
            ((try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["subject"] as? [String: Any])?["key"] as? String
        }
        #expect(subjects == ["O2"], "\(once.stdout)")
        // The same over two runs on one state, the file growing between them (a day's events
        // appended): what arrived in the first run is remembered in the second.
        let growing = directory.appendingPathComponent("growing.jsonl")
        try read(day1).write(to: growing, atomically: true, encoding: .utf8)
        let state = directory.appendingPathComponent("s.db").path, out = directory.appendingPathComponent("out.jsonl").path
        let first = try redress(["run", directory.path, "--events", growing.path, "--state", state, "--out", out])
        #expect(first.status == 0 && read(URL(fileURLWithPath: out)).isEmpty, "\(first.stderr)")
        let handle = try FileHandle(forWritingTo: growing)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(read(day2).utf8))
        try handle.close()
        let second = try redress(["run", directory.path, "--events", growing.path, "--state", state, "--out", out])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(read(URL(fileURLWithPath: out)) == once.stdout, "the same decisions as one run over both days")
        // explain says why O1's rule does not wait.
        let explain = try redress(["explain", directory.path, "--events", both.path, "--id", "p-O1"])
        #expect(explain.stdout.contains("already answered — shipment.shipped already arrived for this order at 2026-06-01T08:00:00Z"), "\(explain.stdout)")
    }
}
