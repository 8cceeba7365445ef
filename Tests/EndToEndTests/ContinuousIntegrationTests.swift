import Foundation
import Testing

/// The CI steps of docs/ci.md, run against this repository's own rules: each documented command
/// is on the page verbatim and passes here, so the page cannot drift from the tool.
@Suite struct ContinuousIntegrationTests {
    static let steps: [[String]] = [
        ["fmt", "--check", "rules/"],
        ["check", "rules/", "--format", "github", "--warnings-as-errors"],
        ["test", "rules/", "--coverage", "--min-coverage", "100"],
        ["test", "rules/", "--coverage", "--min-coverage", "100", "--format", "junit"],
    ]

    @Test(arguments: steps)
    func documentedStepPassesOnTheRepository(_ arguments: [String]) throws {
        let page = read(repositoryRoot.appendingPathComponent("docs/ci.md"))
        #expect(page.contains("redress " + arguments.joined(separator: " ")), "docs/ci.md no longer shows this step")
        let run = try redress(arguments)
        #expect(run.exitedNormally)
        #expect(run.status == 0, "\(arguments): \(run.stdout.suffix(600)) \(run.stderr.suffix(600))")
    }

    @Test func diffStepComparesAgainstTheBaseAndReportsTheCost() throws {
        let page = read(repositoryRoot.appendingPathComponent("docs/ci.md"))
        #expect(page.contains("redress diff \"../base/rules/$name\" \"$ruleset\""))
        // The change under review: the shop's rules with the mission threshold raised.
        let shop = repositoryRoot.appendingPathComponent("rules/shop")
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: shop.path) where name.hasSuffix(".rules") {
            files[name] = read(shop.appendingPathComponent(name))
        }
        files["mission.rules"] = files["mission.rules"]?.replacingOccurrences(of: "> 2d", with: "> 3d")
        let changed = try temporaryRuleSet(files)
        let run = try redress(["diff", "rules/shop", changed.path, "--events", "rules/shop/events/sample.jsonl"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("`shipment.delay` threshold 2d → 3d"))
        #expect(run.stdout.contains("| **total** |"))
    }

    @Test func junitReportCarriesEveryCase() throws {
        let run = try redress(["test", "rules/", "--format", "junit"])
        #expect(run.status == 0)
        let cases = run.stdout.components(separatedBy: "<testcase ").count - 1
        let human = try redress(["test", "rules/"])
        // The human summary says "N passed, 0 failed"; the report must hold the same N cases.
        let passed = human.stdout.split(separator: "\n").last.flatMap { $0.split(separator: " ").first }.flatMap { Int($0) }
        #expect(passed != nil && cases == passed)
    }
}
