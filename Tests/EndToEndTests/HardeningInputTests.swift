#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing

/// Input files that are well-formed but hostile or beyond what Redress can hold, through the
/// built binary: YAML alias bombs (`redress test` hung on one in an event field), money and
/// numbers the runtime cannot represent (`check` passed them, `compile`, `run` and `simulate`
/// failed without a place), catalog costs of `.nan`/`.inf` (priced as 0), a stray quote in a
/// CSV file (one dead letter swallowed 83% of the file), and `/dev/zero` as a CSV file (a hang).
struct HardeningInputTests {
    // MARK: - Helpers

    /// `redress` with a deadline: the process is killed when it has not ended after `seconds`
    /// (a hang is then a failed expectation, not a test run that never ends).
    private static func redressWithDeadline(_ seconds: Double, _ arguments: [String], in directory: URL = repositoryRoot) throws -> (run: Run, timedOut: Bool) {
        let process = Process()
        process.executableURL = redressBinary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        // Both streams go to files so that neither can fill up and block the child.
        let outFile = scratchPath("hardening-out"), errFile = scratchPath("hardening-err")
        _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
        let out = try FileHandle(forWritingTo: outFile), err = try FileHandle(forWritingTo: errFile)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        try? out.close()
        try? err.close()
        let run = Run(status: process.terminationStatus, stdout: read(outFile), stderr: read(errFile),
                      exitedNormally: process.terminationReason == .exit)
        return (run, timedOut)
    }

    /// Ten levels of ten aliases (ten billion nodes once expanded) as list items under `indent`.
    private static func aliasBomb(indent: String) -> String {
        var lines = ["\(indent)- &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1..<10 {
            lines.append("\(indent)- &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static let lateRule = "rule late when shipment.delay > 2d then refund 5 EUR, send apology via sms\n"

    // MARK: - YAML alias bombs

    @Test func anAliasBombInARuleTestEventIsRefusedAtOnce() throws {
        let test = """
            - name: bomb
              events:
                - event: shipment.delivered
                  time: 2026-11-10T08:00:00Z
                  shipment: { id: S-1, order_id: O-1, destination_country: DE, promised_at: 2026-11-05T18:00:00Z, delivered_at: 2026-11-10T08:00:00Z, delay: 4d14h }
                  order: { id: O-1, customer_id: C-2, placed_at: 2026-11-01T09:00:00Z, total: 49.00 EUR, payment_method: card }
                  customer:
                    id: C-2
                    tier: VIP
                    country: DE
                    sms_opt_in: true
                    segments:

            """ + Self.aliasBomb(indent: "          ") + "  expect: nothing\n"
        let directory = try temporaryRuleSet(["late.rules": Self.lateRule, "late.test.yaml": test])
        let (run, timedOut) = try Self.redressWithDeadline(30, ["test", directory.path])
        #expect(!timedOut, "redress test hung on the alias bomb")
        #expect(run.exitedNormally)
        #expect(run.status == 2, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("error[E0601]: YAML aliases repeat more than 100000 nodes"), "\(run.stderr)")
        #expect(run.stderr.contains("late.test.yaml:17:"), "\(run.stderr)")
    }

    @Test(arguments: ["schema.yaml", "catalog.yaml"])
    func anAliasedKeyInTheSchemaOrCatalogIsRefusedAtOnce(file: String) throws {
        let directory = try temporaryRuleSet(["late.rules": Self.lateRule])
        let path = directory.appendingPathComponent(file)
        // A key that is an alias: Yams hashes keys while it composes, before any reader looks.
        let text = try String(contentsOf: path, encoding: .utf8) + "bombs:\n" + Self.aliasBomb(indent: "  ") + "keyed: { *a9 : 1 }\n"
        try text.write(to: path, atomically: true, encoding: .utf8)
        let (run, timedOut) = try Self.redressWithDeadline(30, ["check", directory.path])
        #expect(!timedOut)
        #expect(run.status == 1)
        #expect(run.stdout.contains("error[E0601]: YAML aliases repeat more than 100000 nodes"), "\(run.stdout)\n\(run.stderr)")
    }

    // MARK: - Numbers the runtime cannot hold

    @Test func moneyTooLargeForTheRuntimeIsACheckErrorWithItsPlace() throws {
        let rules = "rule huge when shipment.delay > 2d then refund 99999999999999999999 EUR\n"
        let directory = try temporaryRuleSet(["huge.rules": rules])
        let check = try redress(["check", directory.path])
        #expect(check.status == 1)
        #expect(check.stdout.contains("error[E0003]: the amount `99999999999999999999 EUR` is too large"), "\(check.stdout)")
        #expect(check.stdout.contains("huge.rules:1:48"), "\(check.stdout)")
        #expect(check.stdout.contains("at most 92233720368547758.07 EUR"))
        // The commands that compile say the same, with the place (not a bare "is too large").
        let compile = try redress(["compile", directory.path])
        #expect(compile.status == 1)
        #expect(compile.stderr.contains("huge.rules:1:48"), "\(compile.stderr)")
        let events = directory.appendingPathComponent("events.jsonl")
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("rules/shop/events/sample.jsonl"), to: events)
        for command in [["run", directory.path, "--events", events.path, "--out", scratchPath("out", ".jsonl").path],
                        ["simulate", directory.path, "--events", events.path]] {
            let run = try redress(command)
            #expect(run.status != 0, "\(command[0])")
            #expect(run.stderr.contains("huge.rules:1:48"), "\(command[0]): \(run.stderr)")
        }
    }

    @Test func constantArithmeticAndLargeNumbersAreCheckErrors() throws {
        let rules = """
            rule big_sum when shipment.delay > 2d then refund 90000000000000000 EUR + 90000000000000000 EUR
            rule big_count when order.item_count > 9000000000000000000 + 9000000000000000000 then send apology
            rule big_decimal when order.item_count > 9999999999999.5 then send apology
            rule big_wait when shipment.delay > 15250284452w + 15250284452w then send apology

            """
        let directory = try temporaryRuleSet(["big.rules": rules])
        let check = try redress(["check", directory.path])
        #expect(check.status == 1)
        for (line, column) in [(1, 51), (2, 40), (3, 42), (4, 37)] {
            #expect(check.stdout.contains("big.rules:\(line):\(column)"), "line \(line): \(check.stdout)")
        }
        #expect(check.stdout.components(separatedBy: "error[E0003]").count - 1 == 4, "\(check.stdout)")
        #expect(check.stdout.contains("error[E0003]: `90000000000000000 EUR + 90000000000000000 EUR` is too large"))
        #expect(check.stdout.contains("error[E0003]: the number `9999999999999.5` is too large"))
        let compile = try redress(["compile", directory.path])
        #expect(compile.status == 1)
        #expect(!compile.stderr.contains("error: amount"), "a lowering problem without a place: \(compile.stderr)")
    }

    @Test func catalogCostsMustBeExactAmountsTheRuntimeHolds() throws {
        for (cost, message) in [(".nan", "the cost of `sms` must be an amount such as `2.50 EUR`"),
                                (".inf", "the cost of `sms` must be an amount such as `2.50 EUR`"),
                                ("99999999999999999999 EUR", "the cost of `sms` is too large")] {
            let directory = try temporaryRuleSet(["late.rules": Self.lateRule])
            let path = directory.appendingPathComponent("catalog.yaml")
            let catalog = try String(contentsOf: path, encoding: .utf8)
            #expect(catalog.contains("sms:      { cost: 0.09 EUR }"))
            try catalog.replacingOccurrences(of: "sms:      { cost: 0.09 EUR }", with: "sms:      { cost: \(cost) }")
                .write(to: path, atomically: true, encoding: .utf8)
            let check = try redress(["check", directory.path])
            #expect(check.status == 1, "\(cost)")
            #expect(check.stdout.contains("error[E0603]: \(message)"), "\(cost): \(check.stdout)")
            #expect(check.stdout.contains("catalog.yaml:8:"), "\(cost): \(check.stdout)")
            // Nothing is priced with it (a `.nan` was priced as 0, a simulation short by its cost).
            let simulate = try redress(["simulate", directory.path, "--events", repositoryRoot.appendingPathComponent("rules/shop/events/sample.jsonl").path])
            #expect(simulate.status != 0, "\(cost): \(simulate.stdout)")
            #expect(simulate.stdout.isEmpty)
            #expect(simulate.stderr.contains("catalog.yaml:8:"), "\(cost): \(simulate.stderr)")
        }
    }

    // MARK: - CSV

    private static let olist = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data/olist")
    private static let olistAvailable = FileManager.default.fileExists(atPath: olist.appendingPathComponent("orders.csv").path)

    @Test(arguments: [["--join", "payments=/dev/zero"], ["--join", "reviews=/dev/zero"], []])
    func devZeroAsAMainOrJoinedCSVFileEndsWithExitTwo(join: [String]) throws {
        try #require(Self.olistAvailable, "../shared/data/olist is needed")
        let events = join.isEmpty ? "/dev/zero" : Self.olist.appendingPathComponent("orders.csv").path
        let out = scratchPath("zero-out", ".jsonl"), letters = scratchPath("zero-letters", ".jsonl")
        let (run, timedOut) = try Self.redressWithDeadline(30, ["run", "rules/olist", "--events", events, "--mapping", "rules/olist/olist.mapping.yaml",
                                                            "--out", out.path, "--dead-letters", letters.path] + join)
        #expect(!timedOut, "redress run hung on /dev/zero")
        #expect(run.exitedNormally)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("the first row (the header) is longer than 64 KiB; is it a CSV file?"), "\(run.stderr)")
        if let name = join.last?.split(separator: "=").first {
            #expect(run.stderr.contains("cannot read /dev/zero (join `\(name)`)"), "\(run.stderr)")
            #expect(run.stderr.contains("olist.mapping.yaml:"), "\(run.stderr)")
        }
        // simulate reads CSV through the same source.
        let (simulate, simulateTimedOut) = try Self.redressWithDeadline(30, ["simulate", "rules/olist", "--events", events, "--mapping",
                                                                        "rules/olist/olist.mapping.yaml"] + join)
        #expect(!simulateTimedOut)
        #expect(simulate.status == 2, "\(simulate.stderr)")
        #expect(simulate.stderr.contains("longer than 64 KiB"))
    }

    @Test func aStrayQuoteInAnOlistFileCostsOneRow() throws {
        try #require(Self.olistAvailable, "../shared/data/olist is needed")
        // The original files, with one quote put before the status of the order on line 6.
        let directory = scratchPath("olist-stray")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in ["order_payments.csv", "customers.csv", "order_reviews.csv"] {
            try FileManager.default.copyItem(at: Self.olist.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        var lines = try String(contentsOf: Self.olist.appendingPathComponent("orders.csv"), encoding: .utf8).components(separatedBy: "\n")
        var cells = lines[5].components(separatedBy: ",")
        cells[2] = "\"" + cells[2]
        lines[5] = cells.joined(separator: ",")
        let orders = directory.appendingPathComponent("orders.csv")
        try lines.joined(separator: "\n").write(to: orders, atomically: true, encoding: .utf8)
        let rows = lines.dropFirst().filter { !$0.isEmpty }.count

        let out = scratchPath("stray-out", ".jsonl"), letters = scratchPath("stray-letters", ".jsonl")
        let (run, timedOut) = try Self.redressWithDeadline(120, ["run", "rules/olist", "--events", orders.path, "--mapping", "rules/olist/olist.mapping.yaml",
                                                             "--out", out.path, "--dead-letters", letters.path])
        #expect(!timedOut)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("read \(rows) rows (0 blank)"), "\(run.stderr)")
        #expect(run.stderr.contains("1 bad row"), "\(run.stderr)")
        let letterLines = read(letters).split(separator: "\n")
        #expect(letterLines.count == 1)
        let letter = try #require(letterLines.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect(letter["line"] as? Int == 6)
        #expect(letter["text"] as? String == lines[5])
        let reason = try #require(letter["reason"] as? String)
        #expect(reason.contains("the quoted field opened on line 6"), "\(reason)")
        #expect(reason.hasSuffix("the bad row is line 6, reading goes on at line 7"), "\(reason)")
    }
}
