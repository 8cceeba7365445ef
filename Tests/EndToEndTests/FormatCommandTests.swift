import Foundation
import Testing

@Suite(.serialized)
struct FormatCommandTests {
    @Test func repositoryRulesAreCanonical() throws {
        let run = try redress(["fmt", "--check", "rules/"])
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stdout.isEmpty)
    }

    @Test func checkPrintsADiffAndFormattingFixesIt() throws {
        let messy = "rule late on shipment.delivered when shipment.delay>2d then refund 5EUR  # late\n"
        let directory = try temporaryRuleSet(["late.rules": messy])
        let file = directory.appendingPathComponent("late.rules")
        let check = try redress(["fmt", "--check", directory.path])
        #expect(check.status == 1)
        #expect(check.stdout.contains("--- \(file.path) (as written)\n+++ \(file.path) (formatted)\n@@ -1,1 +1,4 @@"))
        #expect(check.stdout.contains("-rule late on shipment.delivered when shipment.delay>2d then refund 5EUR  # late"))
        #expect(check.stdout.contains("+  then refund 5 EUR  # late"))
        #expect(read(file) == messy, "--check changes nothing")

        let stdout = try redress(["fmt", "--stdout", file.path])
        #expect(stdout.status == 0)
        #expect(stdout.stdout == "rule late\n  on shipment.delivered\n  when shipment.delay > 2d\n  then refund 5 EUR  # late\n")

        let write = try redress(["fmt", directory.path])
        #expect(write.status == 0)
        #expect(read(file) == stdout.stdout)
        #expect(try redress(["fmt", "--check", directory.path]).status == 0)
        #expect(try redress(["check", directory.path]).status == 0)
    }

    @Test func syntaxErrorsLeaveTheFileAlone() throws {
        let broken = "when shipment.delay > then refund 5 EUR\n"
        let directory = try temporaryRuleSet(["broken.rules": broken])
        let run = try redress(["fmt", directory.path])
        #expect(run.status == 1)
        #expect(run.stdout.contains("error[E0101]"))
        #expect(read(directory.appendingPathComponent("broken.rules")) == broken)
    }
}
