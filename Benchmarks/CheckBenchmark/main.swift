// Measures `redress check` on a generated rule set of 10,000 rules (issue #2: under 1 second
// in a release build). Run from the repository root:
//
//     swift build -c release --product redress --product CheckBenchmark
//     .build/release/CheckBenchmark [rule count]
//
// It generates the rule set deterministically into a temporary directory (with the example
// shop's schema and catalog), times the library call behind `check` in this process, and
// times the release `redress check` binary end to end when it is next to this executable.
import Foundation
import GeneratedRuleSet
import RedressSemantics

let ruleCount = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10_000 : 10_000
let repository = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
let shop = repository.appendingPathComponent("rules/shop")
guard FileManager.default.fileExists(atPath: shop.appendingPathComponent("schema.yaml").path) else {
    FileHandle.standardError.write(Data("run from the repository root (rules/shop/schema.yaml not found)\n".utf8))
    exit(2)
}

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redress-check-benchmark-\(ruleCount)")
try? FileManager.default.removeItem(at: directory)
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
for name in ["schema.yaml", "catalog.yaml"] {
    try FileManager.default.copyItem(at: shop.appendingPathComponent(name), to: directory.appendingPathComponent(name))
}
let generated = GeneratedRuleSet.files(ruleCount: ruleCount)
var bytes = 0
for (name, text) in generated {
    if name != "declarations.rules" { bytes += text.utf8.count }
    try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
}
print("generated \(ruleCount) rules in \(generated.count) files (\(bytes / 1024) KiB) at \(directory.path)")

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

// In process: locate, read, parse, load YAML, check.
var timings: [Double] = []
var diagnosticCount = 0
for _ in 0..<5 {
    timings.append(try seconds {
        let locations = try RuleSetLoader.locate([directory.path])
        let report = try RuleSetLoader.check(locations[0])
        diagnosticCount = report.diagnostics.count
        precondition(report.checked?.rules.count == ruleCount, "expected \(ruleCount) rules")
    })
}
timings.sort()
print(String(format: "in process: best %.3f s, median %.3f s (%d diagnostics)", timings[0], timings[2], diagnosticCount))

// End to end: the release binary, as CI would run it.
let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("redress")
if FileManager.default.isExecutableFile(atPath: binary.path) {
    var runs: [Double] = []
    var status: Int32 = -1
    for _ in 0..<5 {
        runs.append(try seconds {
            let process = Process()
            process.executableURL = binary
            process.arguments = ["check", directory.path]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            status = process.terminationStatus
        })
    }
    runs.sort()
    print(String(format: "redress check (binary): best %.3f s, median %.3f s, exit %d", runs[0], runs[2], status))
    print(runs[2] < 1.0 ? "target met: under 1 second for \(ruleCount) rules" : "TARGET MISSED: 1 second for \(ruleCount) rules")
} else {
    print("(build the release `redress` product to time the binary end to end)")
}
