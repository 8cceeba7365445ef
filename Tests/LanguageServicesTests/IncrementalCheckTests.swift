import Foundation
import RedressLanguageServices
import RedressSemantics
import RedressSyntax
import Testing

/// After a keystroke the workspace re-checks only the rules of the file typed in (when the
/// declarations are as they were); what it reports must be what a check from scratch reports.
@Suite struct IncrementalCheckTests {
    static let ruleFiles = ["alarms.rules", "checkout.rules", "delivery.rules", "mission.rules", "policies.rules", "returns.rules",
                            "service.rules", "streaming.rules"]

    func expectSameAsFromScratch(_ workspace: Workspace, _ step: String) {
        let sources = Self.ruleFiles.compactMap { workspace.source("/shop/" + $0) }
        guard let schema = workspace.source("/shop/schema.yaml"), let catalog = workspace.source("/shop/catalog.yaml") else {
            Issue.record("no schema or catalog")
            return
        }
        let fromScratch = DiagnosticRenderer.sorted(RuleSetLoader.check(rules: sources, schema: schema, catalog: catalog).diagnostics)
        let kept = DiagnosticRenderer.sorted(workspace.report(ofRuleSet: "/shop")?.diagnostics ?? [])
        #expect(kept == fromScratch, "after \(step): \(kept.map(\.message)) instead of \(fromScratch.map(\.message))")
    }

    @Test func editsThatReachOtherFiles() throws {
        let workspace = shopWorkspace()
        expectSameAsFromScratch(workspace, "opening")
        let edits: [(file: String, from: String, to: String)] = [
            ("mission.rules", "shipment.delay", "shipment.dealy"),                  // an error in a rule
            ("delivery.rules", "param late_threshold = 2d", "param late_threshold = 2 EUR"),  // a declaration's type changes
            ("policies.rules", "# Policy (seasonal)", "rule vip_late_delivery when shipment.delay > 1d then refund 1 EUR\n# Policy (seasonal)"),  // a duplicate name
            ("delivery.rules", "rule vip_late_delivery", "rule vip_late_delivery_2"),  // the duplicate resolved from the other file
            ("delivery.rules", "let vip = ", "let very_important = "),               // a definition other files use is renamed
            ("delivery.rules", "when late and vip", "when late and very_important"),
            ("policies.rules", "exclusive delivery_compensation priority 2", "exclusive delivery_compensations priority 2"),  // a group loses a member
            ("mission.rules", "shipment.dealy", "shipment.delay"),
            ("delivery.rules", "param late_threshold = 2 EUR", "param late_threshold = 2d"),
            ("returns.rules", "rule", "rule rule"),                                   // a syntax error: warnings wait
            ("returns.rules", "rule rule", "rule"),
        ]
        for (file, from, to) in edits {
            let text = try #require(workspace.source("/shop/" + file)).text
            #expect(text.contains(from), "\(file) has no `\(from)`")
            workspace.open("/shop/" + file, text: text.replacingOccurrences(of: from, with: to))
            expectSameAsFromScratch(workspace, "\(file): \(from) → \(to)")
        }
    }

    @Test func randomKeystrokes() throws {
        let workspace = shopWorkspace()
        var state: UInt64 = 42
        func random(upTo bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound + 1))
        }
        let pieces = ["x", " ", "\n", "late", "vip", ",", "2d", "EUR", "customer.", "rule r", "let split = 1", "ä"]
        for step in 0..<120 {
            let file = "/shop/" + Self.ruleFiles[random(upTo: Self.ruleFiles.count - 1)]
            let source = try #require(workspace.source(file))
            if !workspace.isOpen(file) { workspace.open(file, text: source.text) }
            let start = source.position(of: random(upTo: source.bytes.count))
            let end = random(upTo: 3) == 0 ? source.position(of: random(upTo: source.bytes.count)) : start
            let range = start < end ? TextRange(start: start, end: end) : TextRange(start: end, end: start)
            workspace.edit(file, range: range, newText: pieces[random(upTo: pieces.count - 1)])
            expectSameAsFromScratch(workspace, "step \(step) in \(file)")
        }
    }
}
