import Foundation
import Testing

/// `redress check` through the built binary, on the files in rules/ and on broken copies.
@Suite(.serialized)
struct CheckCommandTests {
    static let mission = "when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten\n"

    @Test func everyRuleSetInTheRepositoryPasses() throws {
        let run = try redress(["check", "rules/"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("check ok: 0 errors, 0 warnings"))
    }

    @Test func missionSentenceAloneTypeChecks() throws {
        let directory = try temporaryRuleSet(["mission.rules": Self.mission])
        let run = try redress(["check", "--triggers", directory.path])
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stdout.contains("mission:1"))
        #expect(run.stdout.contains("on shipment.shipped, shipment.exception, shipment.delivered, shipment.lost [inferred; subject shipment]"))
    }

    static let broken = """
        when shipment.dealy > 2d and customer.tier == VIP then refund 5 EUR
        rule big on order.placed when order.total > 500 USD then send order_status via sms
        """

    @Test func errorsExitOneInEveryFormat() throws {
        let directory = try temporaryRuleSet(["broken.rules": Self.broken])
        let human = try redress(["check", directory.path])
        #expect(human.status == 1)
        #expect(human.stdout.contains("error[E0201]: unknown field `shipment.dealy`"))
        #expect(human.stdout.contains("help: did you mean `shipment.delay`?"))
        #expect(human.stdout.contains("check failed: 2 errors, 0 warnings in 1 rule file"))
        #expect(!human.stdout.contains("\u{1B}["), "no colour when not writing to a terminal")

        let json = try redress(["check", "--format", "json", directory.path])
        #expect(json.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let diagnostics = try #require(object["diagnostics"] as? [[String: Any]])
        #expect(diagnostics.compactMap { $0["code"] as? String } == ["E0201", "E0302"])
        #expect(diagnostics.first?["line"] as? Int == 1 && diagnostics.first?["column"] as? Int == 6)
        let fix = try #require(diagnostics.first?["fix"] as? [String: Any])
        #expect(fix["replacement"] as? String == "delay")
        #expect((object["summary"] as? [String: Int])?["errors"] == 2)

        let sarif = try redress(["check", "--format", "sarif", directory.path])
        #expect(sarif.status == 1)
        let log = try #require(try JSONSerialization.jsonObject(with: Data(sarif.stdout.utf8)) as? [String: Any])
        #expect(log["version"] as? String == "2.1.0")
        let runs = try #require(log["runs"] as? [[String: Any]])
        let results = try #require(runs.first?["results"] as? [[String: Any]])
        #expect(results.compactMap { $0["ruleId"] as? String } == ["E0201", "E0302"])

        let github = try redress(["check", "--format", "github", directory.path])
        #expect(github.status == 1)
        let lines = github.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.hasPrefix("::error file=\(directory.path)/broken.rules,line=") })
        #expect(lines[0].contains(",line=1,col=6,endLine=1,endColumn=20,title=E0201 unknown field::unknown field `shipment.dealy`%0Ahelp: did you mean `shipment.delay`?"))
    }

    @Test func relativePathsAndSingleFilesFindTheirRuleSet() throws {
        // The schema and catalog sit one directory above the rules; paths are relative.
        let root = try temporaryRuleSet()
        let rules = root.appendingPathComponent("a")
        try FileManager.default.createDirectory(at: rules, withIntermediateDirectories: true)
        try "let late = shipment.delay > 2d\n".write(to: rules.appendingPathComponent("definitions.rules"), atomically: true, encoding: .utf8)
        try "rule x\n  on shipment.delivered\n  when late\n  then send apology\n".write(to: rules.appendingPathComponent("x.rules"), atomically: true, encoding: .utf8)
        for arguments in [["check", "a"], ["check", "a/x.rules"], ["check", "./a"], ["fmt", "--check", "a/x.rules"]] {
            let run = try redress(arguments, in: root)
            #expect(run.exitedNormally && run.status == 0, "\(arguments): \(run.stdout)\(run.stderr)")
        }
        // A file named alone is checked with the rest of its directory, and only it is reported on.
        let single = try redress(["check", "x.rules"], in: rules)
        #expect(single.status == 0, "\(single.stdout)")
        #expect(single.stdout.contains("in 1 rule file"))
        let whole = try redress(["check", "."], in: rules)
        #expect(whole.stdout.contains("in 2 rule files"))
    }

    @Test func fixAppliesTheSuggestions() throws {
        let directory = try temporaryRuleSet(["typos.rules": "when shipment.dealy > 2d and customer.tier == VPI then refund 5 EUT, send apologie, flag handwriten\n"])
        let run = try redress(["check", "--fix", directory.path])
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stderr.contains("applied 5 fixes"))
        #expect(read(directory.appendingPathComponent("typos.rules")) == Self.mission)
    }

    @Test func warningsFailOnlyWhenAskedTo() throws {
        let directory = try temporaryRuleSet(["warn.rules": "param unused = 2d\n" + Self.mission])
        let lenient = try redress(["check", directory.path])
        #expect(lenient.status == 0)
        #expect(lenient.stdout.contains("warning[W0502]"))
        let strict = try redress(["check", "--warnings-as-errors", directory.path])
        #expect(strict.status == 1)
    }

    @Test func usageAndInputProblemsExitTwo() throws {
        #expect(try redress(["check"]).status == 2)
        #expect(try redress(["check", "no/such/path"]).status == 2)
        #expect(try redress(["check", "--format", "xml", "rules/"]).status == 2)
        #expect(try redress(["frobnicate"]).status == 2)
        let lonely = scratchPath("lonely")
        try FileManager.default.createDirectory(at: lonely, withIntermediateDirectories: true)
        try Self.mission.write(to: lonely.appendingPathComponent("a.rules"), atomically: true, encoding: .utf8)
        let noSchema = try redress(["check", lonely.path])
        #expect(noSchema.status == 2)
        #expect(noSchema.stderr.contains("no schema.yaml"))
        // With the schema and catalog given explicitly, the same file checks.
        let explicit = try redress(["check", "--schema", "rules/shop/schema.yaml", "--catalog", "rules/shop/catalog.yaml", lonely.path])
        #expect(explicit.status == 0, "\(explicit.stdout)")
        #expect(try redress(["--version"]).status == 0)
        #expect(try redress(["check", "--help"]).status == 0)
    }

    @Test func brokenSchemaIsReportedWithItsLocation() throws {
        let directory = try temporaryRuleSet(["m.rules": Self.mission])
        try "currency: EUR\nenums:\n  Tier: [Standard, VIP\n".write(to: directory.appendingPathComponent("schema.yaml"), atomically: true, encoding: .utf8)
        let run = try redress(["check", directory.path])
        #expect(run.status == 1)
        #expect(run.stdout.contains("error[E0601]"))
        #expect(run.stdout.contains("schema.yaml:4:1"))
    }
}
