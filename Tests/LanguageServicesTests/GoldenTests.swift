import Foundation
import RedressLanguageServices
import Testing

/// What an editor shows on the example shop, as text a reviewer reads: the hover of one name of
/// each kind, where go to definition leads, and the completions at typical places
/// (Fixtures/shop-language.expected; `REDRESS_UPDATE_GOLDEN=1 swift test` rewrites it).
@Suite struct GoldenTests {
    static let hovers: [(file: String, marker: String, occurrence: Int)] = [
        ("mission.rules", "when", 1), ("mission.rules", "shipment.delay", 1), ("mission.rules", "delay", 1),
        ("mission.rules", "tier", 1), ("mission.rules", "VIP", 1), ("mission.rules", "refund", 1), ("mission.rules", "send", 1),
        ("mission.rules", "apology", 1), ("mission.rules", "handwritten", 1),
        ("delivery.rules", "late_threshold", 2), ("delivery.rules", "split_amount", 2), ("delivery.rules", "expected_delivery", 2),
        ("delivery.rules", "vip_late_delivery", 1), ("delivery.rules", "shipment.delivered", 1), ("delivery.rules", "email", 1),
        ("delivery.rules", "clamp", 1), ("delivery.rules", "exclusive delivery_compensation priority 10", 1), ("delivery.rules", "not_shipped_in_48h", 1),
        ("policies.rules", "delivery_compensation", 1), ("policies.rules", "late_delivery_points", 1), ("policies.rules", "christmas_promise_missed", 1),
        ("returns.rules", "count(return", 1), ("returns.rules", " suppress payment", 1), ("returns.rules", " payment_reminder", 1),
    ]

    static let completions: [(file: String, text: String, marker: String)] = [
        ("draft.rules", "rule draft\n  on \n", "on "),
        ("draft.rules", "rule draft\n  on shipment.delivered\n  when shipment.\n", "when shipment."),
        ("draft.rules", "rule draft\n  on order.placed\n  when order.payment_method in [card, \n", "[card, "),
        ("draft.rules", "rule draft\n  on order.placed\n  when order.express\n  then \n", "then "),
        ("draft.rules", "rule draft\n  on order.placed\n  when order.express\n  then suppress \n", "suppress "),
        ("draft.rules", "rule draft\n  on order.placed\n  when order.express\n  then send order_status via \n", "via "),
        ("draft.rules", "rule draft\n  on order.placed\n  when order.express\n  then refund 5 EUR\n  exclusive \n", "exclusive "),
    ]

    @Test func theExampleShopInAnEditor() {
        var out = ""
        let workspace = shopWorkspace()
        for (file, marker, occurrence) in Self.hovers {
            let text = workspace.source("/shop/" + file)?.text ?? ""
            var place = position(of: marker, in: text, occurrence: occurrence)
            place.character += 1
            out += "== hover \(file) `\(marker)` (\(place.line + 1):\(place.character))\n"
            out += (workspace.hover(in: "/shop/" + file, at: place)?.markdown ?? "(none)") + "\n"
            if let location = workspace.definition(in: "/shop/" + file, at: place) {
                out += "-> definition \(location.path.replacingOccurrences(of: "/shop/", with: "")):\(location.range.start.line + 1):\(location.range.start.character + 1)\n"
            }
            out += "\n"
        }
        for (file, text, marker) in Self.completions {
            let workspace = shopWorkspace([file: text])
            let place = position(of: marker, in: text, after: true)
            out += "== completion after `\(marker)`\n"
            for item in workspace.completions(in: "/shop/" + file, at: place)?.items ?? [] {
                out += "\(item.label) [\(item.kind.rawValue)]\(item.detail.map { " \($0)" } ?? "")\n"
            }
            out += "\n"
        }
        #expect(matchesGolden(out, "shop-language.expected"), "Fixtures/shop-language.expected differs; REDRESS_UPDATE_GOLDEN=1 swift test rewrites it")
    }
}
