import Foundation
import Testing
@testable import RedressSyntax

struct ParserTests {
    @Test func missionSentenceIsOneAnonymousRule() {
        let (file, diagnostics) = parse("when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten")
        #expect(diagnostics.isEmpty)
        #expect(TreeDump.dump(file) == "(rule - - (on ) (when (and (> (. shipment delay) 2d) (== (. customer tier) VIP))) "
            + "(then (refund 5 EUR -) (send apology -) (flag handwritten -)))")
    }

    static let trees: [(String, String)] = [
        ("let a = 1 + 2 * 3", "(let a (+ 1 (* 2 3)))"),
        ("let a = (1 + 2) * 3", "(let a (* (+ 1 2) 3))"),
        ("let a = 1 - 2 - 3", "(let a (- (- 1 2) 3))"),
        ("let a = not x.y and b or c", "(let a (or (and (not (. x y)) b) c))"),
        ("let a = a and b and c or d or e and f", "(let a (or (and a b c) d (and e f)))"),
        ("let a = not x.y == 1", "(let a (not (== (. x y) 1)))"),
        ("let a = x.y ?? 2d > 1d", "(let a (> (?? (. x y) 2d) 1d))"),
        ("let a = x.y is missing or x.z not in [A, B]", "(let a (or (is-missing (. x y)) (not in (. x z) [A B])))"),
        ("let a = 5% of order.total", "(let a (of 5% (. order total)))"),
        ("let a = -2d", "(let a (- 2d))"),
        ("let a = t[customer.country]", "(let a ([] t (. customer country)))"),
        ("let a = case customer.tier { VIP | Plus -> 10 EUR, else -> 3 EUR }", "(let a (case (. customer tier) (VIP | Plus -> 10 EUR) (else -> 3 EUR)))"),
        ("let a = count(return.registered where return.reason == wrong_size per customer within 90d)",
         "(let a (call count (. return registered) where (== (. return reason) wrong_size) per customer within 90d))"),
        ("table t by Country { DE -> 2d, else -> 5d, }", "(table t Country (DE -> 2d) (else -> 5d))"),
        ("group g per order within 30d by amount", "(group g order 30d amount)"),
        ("policy cap 20 EUR per customer within 30d", "(policy (cap 20 EUR customer 30d))"),
        ("rule r \"d\" on a.b, c.d unless e.f within 48h when x then send y via z limit 2 per order within 1d exclusive g priority 3 rollout 25% active from 2026-12-01 until 2027-01-01",
         "(rule r \"d\" (on a.b c.d) (unless e.f within 48h) (when x) (then (send y z)) (limit 2 order 1d) (exclusive g 3) (rollout 25%) (active 2026-12-01 2027-01-01))"),
        ("on a.b unless c.d by shipment.promised_at then reship limit none", "(rule - - (on a.b) (unless c.d by (. shipment promised_at)) (when -) (then (reship - -)) (limit none))"),
    ]

    @Test(arguments: trees)
    func precedenceAndShapes(text: String, tree: String) {
        let (file, diagnostics) = parse(text)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        #expect(TreeDump.dump(file) == tree)
    }

    static let rejected: [(String, String)] = [
        ("when a < b < c then x", "comparisons do not chain"),
        ("when a is missing ?? b then x", "comparisons do not chain"),
        ("when a == not b then x", "`not` cannot stand here"),
        ("when x > 1", "expected `then`"),
        ("when x then refund 5 EUR send apology", "separate actions with commas"),
        ("rule rule when x then y", "reserved word"),
        ("policy limit none", "expected `limit N per KEY`"),
        ("when x.in > 1 then y", "a field name"),
        ("table t by C { }", "a value"),
    ]

    @Test(arguments: rejected)
    func syntaxErrorsSayWhatIsWrong(text: String, fragment: String) {
        let (_, diagnostics) = parse(text)
        #expect(!diagnostics.isEmpty)
        let rendered = diagnostics.map { "\($0.message) \($0.primary.message) \($0.help ?? "")" }.joined(separator: "\n")
        #expect(rendered.contains(fragment), "\(rendered)")
    }

    @Test func recoversAndReportsEveryBrokenRule() {
        let text = """
            when a > then x
            when b == 1 then y
            rule r when c >> 2 then z
            rule s when d == 1 then w
            when e then v,
            """
        let (file, diagnostics) = parse(text)
        #expect(diagnostics.count == 3)
        #expect(diagnostics.map { SourceFile(path: "", text: text).location(of: $0.span.start).line } == [1, 3, 5])
        // The rules between the broken ones still parse.
        #expect(file.items.count == 2)
    }

    @Test func deepNestingIsRefusedNotOverflowed() {
        let parens = String(repeating: "(", count: 100_000) + "x" + String(repeating: ")", count: 100_000)
        let (_, diagnostics) = parse("when \(parens) then y")
        #expect(diagnostics.contains { $0.code == .nestingTooDeep })
        let nots = String(repeating: "not ", count: 100_000)
        #expect(parse("when \(nots) x then y").1.contains { $0.code == .nestingTooDeep })
        let minus = String(repeating: "-", count: 100_000)
        #expect(parse("let a = \(minus)1").1.contains { $0.code == .nestingTooDeep })
    }

    @Test func longFlatChainsAreNotNesting() {
        // A flat chain is not nesting: 300 and 5,000 `and` parts used to be refused as "too deeply
        // nested" (the left-leaning tree was one level higher per part). A long chain is grouped as
        // a balanced tree (the same meaning: `and` and `or` are associative), so no later walk
        // over it recurses once per part.
        for count in [300, 5_000, 100_000] {
            let chain = (0..<count).map { "a.b\($0) > 1" }.joined(separator: " and ")
            let (file, diagnostics) = parse("when \(chain) then y")
            #expect(diagnostics.isEmpty, "\(count) parts: \(diagnostics.map(\.message))")
            guard case .rule(let rule)? = file.items.first, let condition = rule.condition else {
                Issue.record("no condition for \(count) parts")
                continue
            }
            #expect(condition.height <= 3 + Int(log2(Double(count))) + 1)
            let parts = TreeDump.chainParts(of: condition, .and).map(TreeDump.dump)
            #expect(parts == (0..<count).map { "(> (. a b\($0)) 1)" }, "the parts in order")
        }
        // Chains of `or`, and of `and` inside `or`, too.
        let ors = (0..<5_000).map { "x\($0) and y\($0)" }.joined(separator: " or ")
        let (file, diagnostics) = parse("let a = \(ors)")
        #expect(diagnostics.isEmpty)
        guard case .definition(let definition)? = file.items.first else {
            Issue.record("no definition")
            return
        }
        #expect(TreeDump.chainParts(of: definition.value, .or).count == 5_000)
        #expect(TreeDump.dump(definition.value).hasPrefix("(or (and x0 y0) (and x1 y1) (and x2 y2)"))
        // Real nesting is still bounded (see `deepNestingIsRefusedNotOverflowed`); so is a long
        // chain of an operator that is not associative, whose tree must stay left-leaning.
        let sum = (0..<300).map { "\($0)" }.joined(separator: " - ")
        #expect(parse("let a = \(sum)").1.contains { $0.code == .nestingTooDeep })
        // Long lists are flat and fine.
        let list = (0..<100_000).map { "C\($0)" }.joined(separator: ", ")
        #expect(parse("when a.b in [\(list)] then y").1.isEmpty)
    }

    @Test func shortChainsKeepTheirLeftLeaningShape() {
        let chain = (0..<Parser.longestLeftLeaningChain).map { "x\($0)" }.joined(separator: " and ")
        guard case .definition(let definition)? = parse("let a = \(chain)").0.items.first else {
            Issue.record("no definition")
            return
        }
        var spine = definition.value, depth = 0
        while case .binary(.and, let left, let right) = spine.kind {
            if case .binary = right.kind { Issue.record("a right operand is a chain") }
            spine = left
            depth += 1
        }
        #expect(depth == Parser.longestLeftLeaningChain - 1)
        // A chain dumps as one list however it is grouped: `a and (b and c)` means `a and b and c`.
        #expect(TreeDump.dump(parse("let a = x and (y and z)").0) == TreeDump.dump(parse("let a = (x and y) and z").0))
        #expect(TreeDump.dump(parse("let a = x and (y or z)").0) == "(let a (and x (or y z)))")
    }

    @Test func manyRulesParse() {
        let text = (0..<20_000).map { "rule r\($0) when shipment.delay > \($0 % 9 + 1)d then refund 5 EUR" }.joined(separator: "\n")
        let (file, diagnostics) = parse(text)
        #expect(diagnostics.isEmpty)
        #expect(file.items.count == 20_000)
    }
}
