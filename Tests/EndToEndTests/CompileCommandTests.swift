import Foundation
import Testing

@Suite(.serialized)
struct CompileCommandTests {
    @Test func compilesTheShopDeterministically() throws {
        let first = try redress(["compile", "rules/shop", "--emit", "ir"])
        let second = try redress(["compile", "rules/shop"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == second.stdout)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        #expect(object["version"] as? Int == 2)
        #expect((object["rules"] as? [Any])?.count == 24)

        // The runtime side reads the IR back without the sources: loading and writing again changes nothing.
        let directory = try temporaryRuleSet()
        let ir = directory.appendingPathComponent("shop.ir.json")
        #expect(try redress(["compile", "rules/shop", "--out", ir.path]).status == 0)
        let again = try redress(["compile", ir.path])
        #expect(again.status == 0)
        #expect(again.stdout == first.stdout)
    }

    @Test func rulesWithErrorsDoNotCompile() throws {
        let directory = try temporaryRuleSet(["bad.rules": "when shipment.dealy > 2d then refund 5 EUR\n"])
        let run = try redress(["compile", directory.path])
        #expect(run.status == 1)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains("error[E0201]"))
    }
}
