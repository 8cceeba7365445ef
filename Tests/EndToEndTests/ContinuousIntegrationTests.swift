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

    /// The workflow on the page is YAML that GitHub can read (checked with PyYAML, as a test oracle).
    @Test func workflowIsValidYAML() throws {
        let page = read(repositoryRoot.appendingPathComponent("docs/ci.md"))
        let start = try #require(page.range(of: "```yaml\n"))
        let end = try #require(page.range(of: "\n```", range: start.upperBound..<page.endIndex))
        let workflow = String(page[start.upperBound..<end.lowerBound])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("redress-workflow-\(UUID().uuidString).yml")
        try workflow.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import sys, yaml
            w = yaml.safe_load(open(sys.argv[1]))
            steps = w["jobs"]["rules"]["steps"]
            runs = "\\n".join(s.get("run", "") for s in steps)
            for needed in ["libsqlite3-dev", "redress fmt --check", "redress check", "redress test", "redress diff", "safe.directory"]:
                assert needed in runs, needed
            """, file.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "the workflow in docs/ci.md is not valid YAML or lacks a step")
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
