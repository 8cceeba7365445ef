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
import RedressSemantics

let ruleCount = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10_000 : 10_000
let repository = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
let shop = repository.appendingPathComponent("rules/shop")
guard FileManager.default.fileExists(atPath: shop.appendingPathComponent("schema.yaml").path) else {
    FileHandle.standardError.write(Data("run from the repository root (rules/shop/schema.yaml not found)\n".utf8))
    exit(2)
}

/// Rule shapes taken from the scenarios, varied by index so that no two rules are alike.
func rule(_ i: Int) -> String {
    let days = i % 9 + 1
    switch i % 10 {
    case 0: return "rule late_\(i) \"late parcel \(i)\"\n  on shipment.delivered\n  when shipment.delay > \(i % 97 + 24)h and customer.tier == VIP\n  then refund \(days) EUR, send apology, flag handwritten\n  exclusive compensation_\(i / 10 % 20) priority \(i)\n"
    case 1: return "rule pack_\(i)\n  on order.packed\n  when order.time_to_pack > \(12 + days)h\n  then send pack_delay_notice via customer.preferred_channel ?? email, refund clamp(\(days)% of order.total, 3 EUR, 5 EUR)\n"
    case 2: return "rule split_\(i)\n  on order.split\n  when order.shipment_count >= 2 and customer.country in [DE, AT, CH]\n  then refund case customer.tier { VIP -> 10 EUR, Plus -> 5 EUR, else -> 3 EUR }\n"
    case 3: return "rule returns_\(i)\n  on return.registered\n  when count(return.registered where return.reason == wrong_size within \(30 + days)d) >= 3\n  then send size_guide\n"
    case 4: return "rule unshipped_\(i)\n  on order.placed\n  unless shipment.shipped within \(24 + days)h\n  then send dispatch_delay_notice via customer.preferred_channel ?? email\n"
    case 5: return "rule playback_\(i)\n  on playback.ended\n  when playback.rebuffer_ratio > \(days)% and playback.quality == HD\n  then refund rental.price, send playback_apology\n  cap 20 EUR per customer within 30d\n"
    case 6: return "rule nps_\(i)\n  on survey.answered\n  when survey.nps <= \(days % 9) and customer.tier == VIP\n  then flag handwritten, send apology via email\n  rollout \(10 + days)%\n"
    case 7: return "rule slow_\(i)\n  on shipment.delivered\n  when shipment.delivered_at - shipment.promised_at > delivery_days_\(i / 10 % 10)[shipment.destination_country]\n  then send slow_delivery_apology\n  active from 2026-11-01 until 2027-01-31\n"
    case 8: return "when shipment.delay > \(days)d and customer.tier == VIP then refund 5 EUR, send apology, flag handwritten\n"
    default: return "rule value_\(i)\n  on order.placed\n  when order.total > \(100 * days) EUR and not order.express\n  then send order_status via sms\n  limit 1 per customer within \(days)d\n"
    }
}

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redress-check-benchmark-\(ruleCount)")
try? FileManager.default.removeItem(at: directory)
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
for name in ["schema.yaml", "catalog.yaml"] {
    try FileManager.default.copyItem(at: shop.appendingPathComponent(name), to: directory.appendingPathComponent(name))
}
var declarations = (0..<20).map { "group compensation_\($0) per order by priority\n" }.joined(separator: "\n")
declarations += (0..<10).map { "\ntable delivery_days_\($0) by Country {\n  DE -> \($0 + 2)d,\n  AT | CH -> \($0 + 3)d,\n  else -> \($0 + 5)d,\n}\n" }.joined()
try declarations.write(to: directory.appendingPathComponent("declarations.rules"), atomically: true, encoding: .utf8)
let files = 10
var bytes = 0
for file in 0..<files {
    let text = stride(from: file, to: ruleCount, by: files).map(rule).joined(separator: "\n")
    bytes += text.utf8.count
    try text.write(to: directory.appendingPathComponent("generated_\(file).rules"), atomically: true, encoding: .utf8)
}
print("generated \(ruleCount) rules in \(files + 1) files (\(bytes / 1024) KiB) at \(directory.path)")

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
