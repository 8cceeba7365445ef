import Foundation
import Testing

/// The test helpers themselves: a command that hangs must fail its test, not hold the test run.
@Suite struct TestSupportTests {
    @Test func aRunThatHangsIsKilledAfterItsTimeAndSaysSo() throws {
        // Standard input that never ends: `run` waits for more events for ever.
        let pipe = Pipe()
        let started = Date()
        let run = try redress(["run", "rules/shop", "--events", "-"], input: pipe.fileHandleForReading, timeout: 2)
        try? pipe.fileHandleForWriting.close()
        #expect(!run.exitedNormally)
        #expect(run.stderr.contains("was killed after 2 s"))
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test func aRunThatEndsInTimeIsUntouched() throws {
        let run = try redress(["check", "rules/shop"], timeout: 120)
        #expect(run.exitedNormally && run.status == 0)
        #expect(!run.stderr.contains("was killed"))
    }
}
