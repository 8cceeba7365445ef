/// The rule sets the benchmarks generate: deterministic, shaped like the scenarios of rules/shop
/// (triggers, absence rules, aggregates, tables, `case` values, exclusive groups, caps, rollouts,
/// seasonal rules), to be checked against the example shop's schema and catalog.
public enum GeneratedRuleSet {
    /// The rules spread over `fileCount` files (`generated_N.rules`, rule i in file i % fileCount)
    /// and the groups and tables they use (`declarations.rules`), by file name.
    public static func files(ruleCount: Int, fileCount: Int = 10) -> [(name: String, text: String)] {
        var declarations = (0..<20).map { "group compensation_\($0) per order by priority\n" }.joined(separator: "\n")
        declarations += (0..<10).map { "\ntable delivery_days_\($0) by Country {\n  DE -> \($0 + 2)d,\n  AT | CH -> \($0 + 3)d,\n  else -> \($0 + 5)d,\n}\n" }.joined()
        var files: [(name: String, text: String)] = [("declarations.rules", declarations)]
        for file in 0..<fileCount {
            files.append(("generated_\(file).rules", stride(from: file, to: ruleCount, by: fileCount).map(rule).joined(separator: "\n")))
        }
        return files
    }

    /// Rule shapes taken from the scenarios, varied by index so that no two rules are alike.
    static func rule(_ i: Int) -> String {
        let days = i % 9 + 1
        switch i % 10 {
        case 0: return "rule late_\(i) \"late parcel \(i)\"\n  on shipment.delivered\n  when shipment.delay > \(i % 97 + 24)h and customer.tier == VIP\n  then refund \(days) EUR, send apology, flag handwritten\n  exclusive compensation_\(i / 10 % 20) priority \(i)\n"
        case 1: return "rule pack_\(i)\n  on order.packed\n  when order.time_to_pack > \(12 + days)h\n  then send pack_delay_notice via customer.preferred_channel ?? email, refund clamp(\(days)% of order.total, 3 EUR, 5 EUR)\n"
        case 2: return "rule split_\(i)\n  on order.split\n  when order.shipment_count >= 2 and customer.country in [DE, AT, CH]\n  then refund case customer.tier { VIP -> 10 EUR, Plus -> 5 EUR, else -> 3 EUR }\n"
        case 3: return "rule returns_\(i)\n  on return.registered\n  when count(return.registered where return.reason == wrong_size within \(30 + days)d) >= 3\n  then send size_guide\n"
        case 4: return "rule unshipped_\(i)\n  on order.placed\n  unless shipment.shipped within \(24 + days)h\n  then send dispatch_delay_notice via customer.preferred_channel ?? email\n"
        case 5: return "rule playback_\(i)\n  on playback.ended\n  when playback.rebuffer_ratio > \(days)% and playback.quality == HD\n  then refund rental.price, send playback_apology\n  cap 20 EUR per customer within 30d\n"
        case 6: return "rule nps_\(i)\n  on survey.answered\n  when survey.nps <= \(days % 9) and customer.tier == VIP\n  then flag handwritten, send apology via email\n  rollout \(10 + days)%\n"
        case 7: return "rule slow_\(i)\n  on shipment.delivered\n  when shipment.delivered_at - shipment.promised_at > delivery_days_\(i / 10 % 10)[shipment.destination_country]\n  then send slow_delivery_apology\n  active from 2026-11-01 until 2027-01-31\n"
        case 8: return "when shipment.delay > \(days)d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten\n"
        default: return "rule value_\(i)\n  on order.placed\n  when order.total > \(100 * days) EUR and not order.express\n  then send order_status via sms\n  limit 1 per customer within \(days)d\n"
        }
    }
}
