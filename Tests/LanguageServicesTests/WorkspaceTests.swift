import Foundation
import RedressLanguageServices
import RedressSyntax
import Testing

@Suite struct CompletionTests {
    static let draft = """
        rule draft
          on shipment.delivered
          when shipment.delay > 2d and customer.tier == VIP and customer.country in [DE, AT]
          then refund 5 EUR, send apology via email, flag handwritten
          exclusive delivery_compensation priority 1

        """

    func labels(_ text: String, at marker: String, after: Bool = true, occurrence: Int = 1) -> [String] {
        let workspace = shopWorkspace(["draft.rules": text])
        let place = position(of: marker, in: text, occurrence: occurrence, after: after)
        return workspace.completions(in: "/shop/draft.rules", at: place)?.items.map(\.label) ?? []
    }

    @Test func afterOnTheEventTypes() {
        let found = labels("rule r\n  on \n", at: "on ")
        #expect(found.contains("shipment.delivered") && found.contains("order.placed"), "\(found)")
        #expect(!found.contains("customer"))
    }

    @Test func afterAnEntityInAnEventItsHappenings() {
        let found = labels(Self.draft, at: "on shipment.")
        #expect(found.contains("delivered") && found.contains("exception") && !found.contains("delay"), "\(found)")
    }

    @Test func afterAnEntityItsFieldsWithTypes() throws {
        let workspace = shopWorkspace(["draft.rules": Self.draft])
        let completions = try #require(workspace.completions(in: "/shop/draft.rules", at: position(of: "when shipment.", in: Self.draft, after: true)))
        let delay = try #require(completions.items.first { $0.label == "delay" })
        #expect(delay.kind == .field && delay.detail == "duration?")
        #expect(delay.documentation?.contains("missing until delivered") == true, "\(delay)")
        // Typing `dela`: the suggestions replace what is typed.
        let partial = try #require(workspace.completions(in: "/shop/draft.rules", at: position(of: "shipment.dela", in: Self.draft, after: true)))
        #expect(partial.replacing.start == position(of: "delay >", in: Self.draft))
        #expect(partial.items.contains { $0.label == "delay" })
    }

    @Test func whereAnEnumIsExpectedItsCases() {
        #expect(labels(Self.draft, at: "customer.tier == ") == ["Standard", "Plus", "VIP"])
        #expect(labels(Self.draft, at: "customer.tier == V") == ["Standard", "Plus", "VIP"])
        #expect(labels(Self.draft, at: "in [DE, ").contains("CH"))
        let table = "table t by Tier {\n  VIP -> 1d,\n  \n}\n"
        #expect(labels(table, at: "1d,\n  ") == ["Standard", "Plus", "VIP"])
    }

    @Test func afterAnActionVerbItsTemplatesOrTags() {
        let templates = labels(Self.draft, at: "send ")
        #expect(templates.contains("apology") && templates.contains("playback_apology") && !templates.contains("handwritten"))
        #expect(labels(Self.draft, at: "flag ").contains("handwritten"))
        let verbs = labels(Self.draft, at: "then ")
        #expect(verbs.contains("refund") && verbs.contains("send") && verbs.contains("flag"))
        #expect(labels(Self.draft, at: "5 EUR, ").contains("voucher"))
    }

    @Test func afterViaTheChannels() {
        let found = labels(Self.draft, at: "via ")
        #expect(Array(found.prefix(3)) == ["email", "sms", "app"], "\(found)")
    }

    @Test func namesByScope() {
        #expect(labels(Self.draft, at: "exclusive ").contains("delivery_compensation"))
        let expression = labels("rule r\n  when \n", at: "when ")
        for name in ["late_threshold", "vip", "expected_delivery", "customer", "count", "not"] {
            #expect(expression.contains(name), "\(name) in \(expression)")
        }
        #expect(labels("\n", at: "\n").contains("rule"))
    }

    @Test func nothingInsideCommentsAndStrings() {
        #expect(labels("# on \nrule r \"on \"\n", at: "# on ").isEmpty)
        #expect(labels("# on \nrule r \"on \"\n", at: "\"on ").isEmpty)
    }
}

@Suite struct DiagnosticsTests {
    @Test func theExampleShopIsClean() {
        let workspace = shopWorkspace()
        let all = workspace.diagnostics(ofRuleSet: "/shop")
        #expect(all.keys.contains("/shop/schema.yaml") && all.keys.contains("/shop/mission.rules"))
        let messages = all.values.flatMap { $0 }.map(\.fullMessage)
        #expect(messages.isEmpty, "\(messages)")
    }

    @Test func aMisspeltFieldWithItsFix() throws {
        let text = "when shipment.dealy > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten\n"
        let workspace = shopWorkspace()
        workspace.open("/shop/mission.rules", text: text)
        let diagnostic = try #require(workspace.diagnostics(of: "/shop/mission.rules").first)
        #expect(diagnostic.diagnostic.code == .unknownField)
        #expect(diagnostic.range == TextRange(start: TextPosition(line: 0, character: 5), end: TextPosition(line: 0, character: 19)))
        #expect(diagnostic.fullMessage == "unknown field `shipment.dealy`\nhelp: did you mean `shipment.delay`?")
        let fix = try #require(diagnostic.fix)
        #expect(fix.newText == "delay" && fix.range == TextRange(start: TextPosition(line: 0, character: 14), end: TextPosition(line: 0, character: 19)))
        let actions = workspace.codeActions(in: "/shop/mission.rules", range: TextRange(start: TextPosition(line: 0, character: 16), end: TextPosition(line: 0, character: 16)))
        #expect(actions.map(\.title) == ["Change to `delay` (E0201)"])
        // Editing the document: the fix applied, the diagnostic gone.
        workspace.edit("/shop/mission.rules", range: fix.range, newText: fix.newText)
        #expect(workspace.diagnostics(of: "/shop/mission.rules").isEmpty)
    }

    @Test func positionsCountUTF16UnitsPastUmlautsAndEmoji() throws {
        // `ä` is two bytes and one UTF-16 unit; `🚚` four bytes and two units.
        let text = "# Lieferverzögerung 🚚\nrule spaet \"Verspätet: Entschädigung 🚚\" when shipment.dealy > 2d then refund 5 EUR\n"
        let workspace = shopWorkspace(["umlaut.rules": text])
        let diagnostic = try #require(workspace.diagnostics(of: "/shop/umlaut.rules").first { $0.diagnostic.code == .unknownField })
        let expected = position(of: "shipment.dealy", in: text)
        #expect(diagnostic.range.start == expected)
        #expect(expected == TextPosition(line: 1, character: 46))  // 46 UTF-16 units before `shipment`: the truck counts two
        #expect(diagnostic.fix?.range.start == position(of: "dealy", in: text))
    }

    @Test func changesToTheSchemaReachTheRules() throws {
        let workspace = shopWorkspace()
        let schema = try #require(workspace.source("/shop/schema.yaml")).text
        workspace.open("/shop/schema.yaml", text: schema.replacingOccurrences(of: "      delay: duration?", with: "      lateness: duration?"))
        let mission = workspace.diagnostics(ofRuleSet: "/shop")["/shop/mission.rules"] ?? []
        #expect(mission.contains { $0.diagnostic.code == .unknownField }, "\(mission.map(\.fullMessage))")
        workspace.close("/shop/schema.yaml")
        #expect(workspace.diagnostics(ofRuleSet: "/shop")["/shop/mission.rules"]?.isEmpty == true)
    }

    @Test func aRuleSetWithoutSchemaSaysSo() throws {
        let workspace = Workspace(files: .memory(["/alone/a.rules": "when order.total > 5 EUR then refund 1 EUR\n"]))
        let found = workspace.diagnostics(of: "/alone/a.rules")
        #expect(found.map(\.diagnostic.message) == ["no schema.yaml in /alone or any directory above it",
                                                    "no catalog.yaml in /alone or any directory above it"])
    }
}
