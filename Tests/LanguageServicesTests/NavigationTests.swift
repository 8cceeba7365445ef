import Foundation
import RedressLanguageServices
import RedressSyntax
import Testing

/// Hover, go to definition, the outline, formatting and fixes, on the example shop.
@Suite struct NavigationTests {
    let workspace = shopWorkspace()

    func text(_ name: String) -> String { workspace.source("/shop/" + name)?.text ?? "" }

    func hover(_ name: String, _ marker: String, occurrence: Int = 1, offset: Int = 1) -> String {
        var place = position(of: marker, in: text(name), occurrence: occurrence)
        place.character += offset
        return workspace.hover(in: "/shop/" + name, at: place)?.markdown ?? ""
    }

    func definition(_ name: String, _ marker: String, occurrence: Int = 1, offset: Int = 1) -> (String, String)? {
        var place = position(of: marker, in: text(name), occurrence: occurrence)
        place.character += offset
        guard let location = workspace.definition(in: "/shop/" + name, at: place), let source = workspace.source(location.path) else { return nil }
        let span = source.span(of: location.range)
        return (location.path, String(decoding: source.bytes[span.start..<span.end], as: UTF8.self))
    }

    @Test func hoverOnAFieldShowsItsTypeAndWhatTheSchemaSays() {
        let text = hover("delivery.rules", "shipment.delay", offset: 10)
        #expect(text.hasPrefix("**shipment.delay**: `duration?` — optional"), "\(text)")
        #expect(text.contains("delivered_at minus promised_at (negative when early); missing until delivered"), "\(text)")
    }

    @Test func hoverOnAnActionShowsItsCost() {
        #expect(hover("mission.rules", "refund").contains("costs the amount given"))
        let flag = hover("mission.rules", "handwritten")
        #expect(flag.hasPrefix("**tag** `handwritten`") && flag.contains("costs 2.50 EUR each time"), "\(flag)")
        #expect(hover("mission.rules", "apology").contains("`sms` (0.09 EUR)"))
    }

    @Test func hoverOnAParameterShowsItsValue() {
        let text = hover("delivery.rules", "late_threshold", occurrence: 2)
        #expect(text.hasPrefix("**param** `late_threshold` = `2d` (duration)"), "\(text)")
        #expect(text.hasSuffix("S1: how late a parcel may be before VIP customers are compensated"), "\(text)")
    }

    @Test func hoverOnARuleShowsItsTriggersAndDefaultLimit() {
        let mission = hover("mission.rules", "when")
        #expect(mission.contains("**rule** `mission:1`"), "\(mission)")
        #expect(mission.contains("`shipment.delivered`, `shipment.lost` (inferred from the fields it reads); about `shipment`"), "\(mission)")
        #expect(mission.contains("`limit 1 per shipment` (the default: once per rule and shipment)"), "\(mission)")
        let named = hover("delivery.rules", "vip_late_delivery")
        #expect(named.contains("(as written)") && named.contains("`limit 1 per order`") && !named.contains("default"), "\(named)")
        #expect(named.contains("`exclusive delivery_compensation priority 10`"), "\(named)")
    }

    @Test func hoverOnAGroupListsItsMembers() {
        let text = hover("policies.rules", "delivery_compensation")
        #expect(text.contains("per `order`") && text.contains("`vip_late_delivery`"), "\(text)")
    }

    @Test func definitionsInTheRuleFiles() {
        #expect(definition("delivery.rules", "late_threshold", occurrence: 2)?.0 == "/shop/delivery.rules")
        #expect(definition("delivery.rules", "late_threshold", occurrence: 2)?.1 == "late_threshold")
        #expect(definition("delivery.rules", "exclusive delivery_compensation", offset: 11)?.0 == "/shop/policies.rules")
        #expect(definition("delivery.rules", "expected_delivery[")?.1 == "expected_delivery")
        #expect(definition("delivery.rules", "late and vip").map { "\($0.0) \($0.1)" } == "/shop/delivery.rules late", "a definition")
    }

    @Test func definitionsInTheSchemaAndCatalog() {
        #expect(definition("mission.rules", "shipment.delay", offset: 10).map { "\($0.0) \($0.1)" } == "/shop/schema.yaml delay")
        #expect(definition("mission.rules", "shipment.delay").map { "\($0.0) \($0.1)" } == "/shop/schema.yaml shipment")
        #expect(definition("delivery.rules", "on shipment.delivered", offset: 5).map { "\($0.0) \($0.1)" } == "/shop/schema.yaml shipment.delivered")
        #expect(definition("mission.rules", "refund").map { "\($0.0) \($0.1)" } == "/shop/catalog.yaml refund")
        #expect(definition("mission.rules", "apology").map { "\($0.0) \($0.1)" } == "/shop/catalog.yaml apology")
        #expect(definition("delivery.rules", "via email", offset: 5).map { "\($0.0) \($0.1)" } == "/shop/catalog.yaml email")
        // An enum case: where it is listed in its enum.
        let vip = definition("mission.rules", "VIP")
        #expect(vip?.0 == "/shop/schema.yaml" && vip?.1 == "VIP")
        let line = vip.flatMap { _ in workspace.definition(in: "/shop/mission.rules", at: position(of: "VIP", in: text("mission.rules"))) }?.range.start.line
        #expect(line.map { text("schema.yaml").split(separator: "\n", omittingEmptySubsequences: false)[$0].contains("Tier: [Standard, Plus, VIP]") } == true)
    }

    @Test func theOutlineOfAFile() {
        let symbols = workspace.documentSymbols(in: "/shop/delivery.rules")
        #expect(symbols.prefix(4).map { "\($0.kind.rawValue) \($0.name) \($0.detail ?? "")" } == [
            "parameter late_threshold = 2d", "parameter carrier_delay_threshold = 1d", "parameter pack_kpi = 24h",
            "definition vip = customer.tier == VIP",
        ])
        #expect(symbols.contains { $0.kind == .table && $0.name == "expected_delivery" && $0.detail == "by Country" })
        #expect(workspace.documentSymbols(in: "/shop/mission.rules").map(\.name) == ["mission:1"])
        #expect(workspace.documentSymbols(in: "/shop/policies.rules").first?.name == "policy cap 20 EUR per customer within 30d")
    }

    @Test func formattingIsTheCanonicalLayout() throws {
        let messy = "rule   r \"x\"  on shipment.delivered when shipment.delay>2d   then refund 5 EUR\n"
        let workspace = shopWorkspace(["messy.rules": messy])
        let edits = try #require(workspace.formatting(of: "/shop/messy.rules"))
        #expect(edits.count == 1 && edits[0].range.start == TextPosition(line: 0, character: 0))
        #expect(edits[0].newText == "rule r \"x\"\n  on shipment.delivered\n  when shipment.delay > 2d\n  then refund 5 EUR\n")
        workspace.open("/shop/messy.rules", text: edits[0].newText)
        #expect(workspace.formatting(of: "/shop/messy.rules") == [])
        workspace.open("/shop/messy.rules", text: "rule r when then\n")
        #expect(workspace.formatting(of: "/shop/messy.rules") == nil)
    }

    @Test func everyFixOfAFileAtOnce() throws {
        let text = "when shipment.dealy > 2d and customer.teir == VIP then refund 5 EUR\n"
        let workspace = shopWorkspace(["two.rules": text])
        let whole = TextRange(start: TextPosition(line: 0, character: 0), end: TextPosition(line: 1, character: 0))
        let actions = workspace.codeActions(in: "/shop/two.rules", range: whole, includeFixAll: true)
        #expect(actions.map(\.title) == ["Change to `delay` (E0201)", "Change to `tier` (E0201)", "Apply all 2 suggested fixes in this file"])
        let all = try #require(actions.last)
        #expect(all.kind == .fixAll && all.edits.map(\.newText) == ["delay", "tier"])
    }
}
