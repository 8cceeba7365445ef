import Foundation
import Testing

/// Regression tests for the defects an adversarial trial found in how commands write files,
/// share state and bound their input (issue 12): each failed on the code before its fix.
@Suite struct HardeningRunTests {
    static let history = repositoryRoot.appendingPathComponent("rules/shop/events/history.jsonl")

    func fileMode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int) ?? -1
    }

    func isSymbolicLink(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFLNK
    }

    // MARK: 1. Output through symbolic links, to devices, keeping modes

    @Test func htmlIsWrittenThroughASymbolicLinkAndKeepsTheTargetsMode() throws {
        let directory = scratchPath("html-link")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let target = directory.appendingPathComponent("report.html").path
        let link = directory.appendingPathComponent("latest.html").path
        FileManager.default.createFile(atPath: target, contents: Data("old".utf8), attributes: [.posixPermissions: 0o640])
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "report.html")
        let result = try redress(["simulate", "rules/shop", "--events", Self.history.path, "--html", link])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(isSymbolicLink(link), "the link must stay a link")
        #expect(read(URL(fileURLWithPath: target)).contains("<html"), "the report goes to the link's target")
        #expect(fileMode(target) == 0o640)
        // No temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["latest.html", "report.html"])
    }

    @Test func htmlToADeviceWritesTheDeviceAndLeavesItADevice() throws {
        // A FIFO stands for /dev/null: renaming over it would replace the node with a file.
        let directory = scratchPath("html-fifo")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fifo = directory.appendingPathComponent("report.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = Thread {
            let handle = FileHandle(forReadingAtPath: fifo)
            _ = handle?.readDataToEndOfFile()
        }
        reader.start()
        let result = try redress(["simulate", "rules/shop", "--events", Self.history.path, "--html", fifo])
        #expect(result.status == 0, "\(result.stderr)")
        var status = stat()
        #expect(lstat(fifo, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO, "the FIFO must still be a FIFO")
        let devNull = try redress(["simulate", "rules/shop", "--events", Self.history.path, "--html", "/dev/null", "--format", "json"])
        #expect(devNull.status == 0, "\(devNull.stderr)")
        #expect(stat("/dev/null", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR, "/dev/null must stay a device")
    }

    @Test func compileOutAndCheckFixWriteThroughLinks() throws {
        let rules = try temporaryRuleSet(["a.rules": "when shipment.dealy > 2d then send apology\n"])
        let real = rules.appendingPathComponent("real.rules.txt").path
        try FileManager.default.moveItem(atPath: rules.appendingPathComponent("a.rules").path, toPath: real)
        try FileManager.default.createSymbolicLink(atPath: rules.appendingPathComponent("a.rules").path, withDestinationPath: "real.rules.txt")
        #expect(chmod(real, 0o640) == 0)
        let fixed = try redress(["check", rules.path, "--fix"])
        #expect(isSymbolicLink(rules.appendingPathComponent("a.rules").path))
        #expect(read(URL(fileURLWithPath: real)).contains("shipment.delay"), "\(fixed.stdout)\(fixed.stderr)")
        #expect(fileMode(real) == 0o640)
        let ir = rules.appendingPathComponent("ir.json").path
        let irLink = rules.appendingPathComponent("latest.json").path
        FileManager.default.createFile(atPath: ir, contents: nil, attributes: [.posixPermissions: 0o600])
        try FileManager.default.createSymbolicLink(atPath: irLink, withDestinationPath: ir)
        let compiled = try redress(["compile", "rules/shop", "--out", irLink])
        #expect(compiled.status == 0, "\(compiled.stderr)")
        #expect(isSymbolicLink(irLink) && fileMode(ir) == 0o600)
        #expect(read(URL(fileURLWithPath: ir)).contains("\"version\""))
    }

    @Test func fmtRewritesASymlinkedRuleFileThroughTheLinkKeepingItsMode() throws {
        let rules = try temporaryRuleSet(["shared.txt": "when shipment.delay>2d   then send apology\n"])
        let target = rules.appendingPathComponent("shared.txt").path
        let link = rules.appendingPathComponent("a.rules").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "shared.txt")
        #expect(chmod(target, 0o640) == 0)
        let result = try redress(["fmt", link])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(isSymbolicLink(link), "fmt must not replace the link with a file")
        #expect(read(URL(fileURLWithPath: target)) == "when shipment.delay > 2d then send apology\n")
        #expect(fileMode(target) == 0o640)
    }

    @Test func anAliasBombInARatesFileIsRefusedAtOnce() throws {
        var yaml = "base: EUR\na0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
        for level in 1...9 { yaml += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        yaml += "rates: {USD: 0.9}\nbomb: *a9\n"
        let rates = scratchPath("rates", ".yaml")
        try yaml.write(to: rates, atomically: true, encoding: .utf8)
        let started = Date()
        let result = try redress(["simulate", "rules/shop", "--events", Self.history.path, "--rates", rates.path])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("E0601"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 30)
    }

    // MARK: 2. Two runs on one state or one output

    @Test func aSecondRunOnTheSameStateIsRefusedBeforeItWritesAnything() throws {
        let directory = scratchPath("concurrent")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let state = directory.appendingPathComponent("s.db").path
        let out = directory.appendingPathComponent("out.jsonl").path
        // Hold the lock a running process would hold: `flock` on the state file.
        FileManager.default.createFile(atPath: state, contents: nil)
        let holder = open(state, O_RDWR)
        #expect(flock(holder, LOCK_EX | LOCK_NB) == 0)
        let second = try redress(["run", "rules/shop", "--events", Self.history.path, "--state", state, "--out", out])
        #expect(second.status == 2 && second.exitedNormally, "\(second.stderr)")
        #expect(second.stderr.contains("another redress run is using the state"))
        #expect(!FileManager.default.fileExists(atPath: out), "nothing written by the refused run")
        close(holder)
        // Two real processes started together: exactly one writes, no decision key twice. Each
        // reads a pipe that stays open until one of them has ended: the one holding the lock
        // cannot end before (it waits for more input), so the other meets the lock, whatever
        // the timing. (A checkpoint per event once kept the first run going long enough; with
        // checkpoints written beside the run it is done before the second has started.)
        let lines = read(Self.history).split(separator: "\n", omittingEmptySubsequences: false).prefix(70)
        let events = Data((lines.joined(separator: "\n") + "\n").utf8)
        // Written whole before either reads: it fits in a pipe's buffer.
        #expect(events.count < 60_000)
        for _ in 0..<3 {
            for file in [state, state + "-wal", state + "-shm", out] { try? FileManager.default.removeItem(atPath: file) }
            let arguments = ["run", "rules/shop", "--events", "-", "--state", state, "--out", out, "--checkpoint-every", "1"]
            let collected = Collected()
            let group = DispatchGroup()
            let ended = DispatchSemaphore(value: 0)
            let pipes = [Pipe(), Pipe()]
            for pipe in pipes { try pipe.fileHandleForWriting.write(contentsOf: events) }
            for pipe in pipes {
                DispatchQueue.global().async(group: group) {
                    if let result = try? redress(arguments, input: pipe.fileHandleForReading) { collected.add(result) }
                    ended.signal()
                }
            }
            ended.wait()
            for pipe in pipes { try pipe.fileHandleForWriting.close() }
            group.wait()
            let results = collected.results
            #expect(results.count == 2 && results.allSatisfy(\.exitedNormally))
            #expect(results.map(\.status).sorted() == [0, 2], "\(results.map(\.stderr))")
            let keys = read(URL(fileURLWithPath: out)).split(separator: "\n").compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["key"] as? String
            }
            #expect(!keys.isEmpty && keys.count == Set(keys).count, "duplicate decision keys")
        }
    }

    @Test func aSecondRunAppendingToTheSameOutputIsRefused() throws {
        let out = scratchPath("locked-out", ".jsonl").path
        FileManager.default.createFile(atPath: out, contents: nil)
        let holder = open(out, O_WRONLY | O_APPEND)
        defer { close(holder) }
        #expect(flock(holder, LOCK_EX | LOCK_NB) == 0)
        let result = try redress(["run", "rules/shop", "--events", Self.history.path, "--out", out])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("another redress run is writing to"))
    }

    // MARK: 3. A state-database error in the middle of a run

    @Test(.enabled(if: HardeningRunTests.python != nil, "needs python3 (sqlite3) to hold a lock on the state"))
    func aStateDatabaseErrorMidRunExitsTwoAndLeavesTheOutputAsAtTheLastCheckpoint() throws {
        let directory = scratchPath("state-locked")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Python feeds the first 2,000 events through a pipe, waits until the checkpoint at line
        // 2,000 is in the state (the run then waits for input), takes SQLite's write lock, then
        // sends the rest: the next checkpoint fails mid-run.
        let script = #"""
            import sqlite3, subprocess, sys, time, os
            binary, rules, history, directory = sys.argv[1:5]
            state, out = os.path.join(directory, "s.db"), os.path.join(directory, "out.jsonl")
            lines = open(history, "rb").read().splitlines(keepends=True)
            p = subprocess.Popen([binary, "run", rules, "--events", "-", "--state", state, "--out", out,
                                  "--checkpoint-every", "100", "--dead-letters", os.path.join(directory, "dl.jsonl")],
                                 stdin=subprocess.PIPE, stderr=subprocess.PIPE)
            p.stdin.write(b"".join(lines[:2000])); p.stdin.flush()
            deadline = time.time() + 240
            position = 0
            while time.time() < deadline:
                try:
                    c = sqlite3.connect(state, timeout=0)
                    row = c.execute("SELECT position, output_bytes FROM checkpoint").fetchone()
                    c.close()
                    if row and row[0] == 2000: position = row[0]; break
                except sqlite3.Error:
                    pass
                time.sleep(0.02)
            lock = sqlite3.connect(state, isolation_level=None, timeout=30)
            lock.execute("BEGIN IMMEDIATE")
            try:
                p.stdin.write(b"".join(lines[2000:])); p.stdin.close()
            except BrokenPipeError:
                pass   # the run stopped at its failed checkpoint without reading the rest
            err = p.stderr.read().decode()
            code = p.wait()
            lock.execute("ROLLBACK")
            row = sqlite3.connect(state).execute("SELECT position, output_bytes FROM checkpoint").fetchone()
            print(code, position, row[0], row[1], os.path.getsize(out))
            print(err)
            """#
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python ?? "/usr/bin/python3")
        process.arguments = ["-c", script, redressBinary.path, repositoryRoot.appendingPathComponent("rules/shop").path,
                             Self.history.path, directory.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let numbers = text.split(separator: "\n").first?.split(separator: " ").compactMap { Int($0) } ?? []
        try #require(numbers.count == 5, "\(text)")
        #expect(numbers[0] == 2, "exit 2, not a crash: \(text)")
        #expect(numbers[1] >= 2000 && numbers[2] == numbers[1], "the state stays at the checkpoint before the failure: \(text)")
        #expect(numbers[4] == numbers[3], "the output holds exactly what the last checkpoint recorded: \(text)")
        #expect(text.contains("database is locked"))
        // Released, the same state resumes and completes: every decision exactly once.
        let out = directory.appendingPathComponent("out.jsonl").path
        let resumed = try redress(["run", "rules/shop", "--events", Self.history.path, "--state", directory.appendingPathComponent("s.db").path, "--out", out])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let once = try redress(["run", "rules/shop", "--events", Self.history.path])
        #expect(read(URL(fileURLWithPath: out)) == once.stdout)
    }

    static let python = ["/usr/bin/python3", "/usr/local/bin/python3", "/opt/homebrew/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }

    // MARK: 4. Write errors

    @Test(arguments: [
        ["check", "rules/shop"], ["check", "rules/shop", "--format", "json"], ["fmt", "--stdout", "rules/shop/mission.rules"],
        ["compile", "rules/shop"], ["simulate", "rules/shop", "--events", "rules/shop/events/history.jsonl"],
        ["test", "rules/shop"], ["diff", "rules/shop", "rules/shop"],
        ["explain", "rules/shop", "--event", "rules/shop/events/sample.jsonl"],
        ["run", "rules/shop", "--events", "rules/shop/events/history.jsonl"],
    ])
    func aFullStandardOutputIsAnErrorNotACrash(arguments: [String]) throws {
        guard let full = FileHandle(forWritingAtPath: "/dev/full") else { return }
        let result = try redress(arguments, output: full)
        #expect(result.exitedNormally, "crashed: \(result.stderr)")
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("No space left on device"), "\(result.stderr)")
    }

    @Test func deadLettersThatCannotBeWrittenAreAnError() throws {
        let events = scratchPath("bad", ".jsonl")
        try "not json\n{}\n".write(to: events, atomically: true, encoding: .utf8)
        let result = try redress(["run", "rules/shop", "--events", events.path, "--dead-letters", "/dev/full"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("cannot write bad lines to /dev/full: No space left on device"))
        #expect(!result.stderr.contains("kept in /dev/full"))
        let missingDirectory = try redress(["run", "rules/shop", "--events", events.path, "--dead-letters", "/nonexistent/dl.jsonl"])
        #expect(missingDirectory.status == 2 && missingDirectory.stderr.contains("cannot write /nonexistent/dl.jsonl"), "\(missingDirectory.stderr)")
    }

    // MARK: 5. Endless lines

    @Test func anEndlessLineIsADeadLetterInBoundedMemory() throws {
        // A 3 MB line (over the default 1 MiB limit) between two good events.
        let events = scratchPath("long", ".jsonl")
        let lines = try String(contentsOf: Self.history, encoding: .utf8).split(separator: "\n")
        let long = "{\"type\":\"shipment.delivered\",\"note\":\"" + String(repeating: "x", count: 3 << 20) + "\"}"
        try ([String(lines[0]), long, String(lines[1])].joined(separator: "\n") + "\n").write(to: events, atomically: true, encoding: .utf8)
        let deadLetters = scratchPath("long-dl", ".jsonl")
        let run = try redress(["run", "rules/shop", "--events", events.path, "--dead-letters", deadLetters.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("read 2 events"), "\(run.stderr)")
        let letter = read(deadLetters)
        #expect(letter.contains("\"line\":2") && letter.contains("over the limit of 1048576 bytes"), "\(letter.prefix(300))")
        #expect(letter.utf8.count < 2_000, "the dead letter keeps only the line's first bytes")
        // simulate reads a file in mapped chunks, and a pipe line by line: both count it as bad.
        let simulated = try redress(["simulate", "rules/shop", "--events", events.path])
        #expect(simulated.status == 0 && simulated.stdout.contains("(1 bad lines)"), "\(simulated.stdout)\(simulated.stderr)")
        let piped = try redress(["simulate", "rules/shop", "--events", "-"], input: FileHandle(forReadingFrom: events))
        #expect(piped.status == 0 && piped.stdout.contains("(1 bad lines)"), "\(piped.stdout)\(piped.stderr)")
        // The limit is configurable, and checked.
        let raised = try redress(["run", "rules/shop", "--events", events.path, "--max-line-bytes", "\(4 << 20)", "--dead-letters", deadLetters.path])
        #expect(raised.stderr.contains("1 bad line"), "unknown field, but read whole: \(raised.stderr)")
        let tooSmall = try redress(["run", "rules/shop", "--events", events.path, "--max-line-bytes", "3"])
        #expect(tooSmall.status == 2 && tooSmall.stderr.contains("--max-line-bytes"))
    }

    @Test func devZeroAsEventsStaysInBoundedMemory() throws {
        // An endless line from a device: the reader must drop it as it comes. The process is
        // stopped after a while; its memory must stay near its start (not gigabytes).
        for command in ["run", "diff"] {
            let process = Process()
            process.executableURL = redressBinary
            process.arguments = command == "run" ? ["run", "rules/shop", "--events", "/dev/zero"] : ["diff", "rules/shop", "rules/shop", "--events", "/dev/zero"]
            process.currentDirectoryURL = repositoryRoot
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            var peak = 0
            for _ in 0..<20 {
                usleep(100_000)
                let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
                if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
                   let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") {
                    peak = max(peak, kilobytes)
                }
            }
            // SIGKILL: a test runner may start children with SIGTERM blocked.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(peak < 200_000, "\(command) grew to \(peak) kB on /dev/zero")
        }
    }

    @Test func aDurationWhosePartsOverflowIsADeadLetterNotACrash() throws {
        let line = try String(contentsOf: Self.history, encoding: .utf8).split(separator: "\n")
            .first { $0.contains("\"event\":\"shipment.delivered\"") && $0.contains("\"delay\":\"") } ?? ""
        let hostile = line.replacingOccurrences(of: #""delay":"[^"]*""#, with: #""delay":"15000000000w15000000000w""#, options: .regularExpression)
        #expect(hostile != String(line))
        let events = scratchPath("duration", ".jsonl"), dl = scratchPath("duration-dl", ".jsonl")
        try (hostile + "\n").write(to: events, atomically: true, encoding: .utf8)
        let result = try redress(["run", "rules/shop", "--events", events.path, "--dead-letters", dl.path])
        #expect(result.exitedNormally && result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("1 bad line"), "\(result.stderr)")
        #expect(read(dl).contains("shipment.delay"), "\(read(dl))")
    }

    // MARK: 9. Output into the input

    @Test func outputIntoTheEventsFileIsRefused() throws {
        let events = scratchPath("self", ".jsonl")
        try FileManager.default.copyItem(at: Self.history, to: events)
        let before = try Data(contentsOf: events)
        let relative = "./" + events.lastPathComponent
        for extra in [["--out", relative], ["--dead-letters", relative]] {
            let result = try redress(["run", repositoryRoot.appendingPathComponent("rules/shop").path, "--events", events.path] + extra, in: events.deletingLastPathComponent())
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.contains("is the events file being read"))
        }
        let piped = try redress(["run", "rules/shop", "--events", "-", "--out", events.path], input: FileHandle(forReadingFrom: events))
        #expect(piped.status == 2 && piped.stderr.contains("is the events file being read"), "\(piped.stderr)")
        #expect(try Data(contentsOf: events) == before)
        // Decisions and bad lines into one existing file would mix them.
        let shared = events.path + ".out"
        FileManager.default.createFile(atPath: shared, contents: nil)
        let same = try redress(["run", "rules/shop", "--events", Self.history.path, "--out", shared, "--dead-letters", shared])
        #expect(same.status == 2 && same.stderr.contains("--out and --dead-letters name the same file"), "\(same.stderr)")
    }

    // MARK: 17. Terminal escapes from data

    @Test func controlCharactersInByValuesAreShownNotObeyed() throws {
        let events = scratchPath("escape", ".jsonl")
        let lines = try String(contentsOf: Self.history, encoding: .utf8)
        // Customer ids with an escape sequence, as JSON writes it (`\u001b`): every customer's.
        try lines.replacingOccurrences(of: "\"customer\":{\"id\":\"C-", with: "\"customer\":{\"id\":\"\\u001b[31mC-")
            .write(to: events, atomically: true, encoding: .utf8)
        let result = try redress(["simulate", "rules/shop", "--events", events.path, "--by", "customer.id"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("\u{1B}"), "a raw ESC reached the terminal")
        #expect(result.stdout.contains("\\u{1B}[31mC-"), "\(result.stdout)")
    }

    // MARK: 18. What each figure of a resumed run's summary counts

    @Test func aResumedRunSaysWhichFiguresAreItsOwn() throws {
        let directory = scratchPath("resume-summary")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let all = try String(contentsOf: Self.history, encoding: .utf8).split(separator: "\n")
        let first = directory.appendingPathComponent("all.jsonl")
        // 1,000 lines with one bad line, then the whole file with another bad line at its end.
        try (all.prefix(1000).joined(separator: "\n") + "\nnot json\n").write(to: first, atomically: true, encoding: .utf8)
        let state = directory.appendingPathComponent("s.db").path
        let out = directory.appendingPathComponent("out.jsonl").path
        let dl = directory.appendingPathComponent("dl.jsonl").path
        let one = try redress(["run", "rules/shop", "--events", first.path, "--state", state, "--out", out, "--dead-letters", dl])
        #expect(one.stderr.hasPrefix("read 1000 events, "), "\(one.stderr)")
        #expect(one.stderr.contains("1 bad line kept in"))
        try (all.prefix(1000).joined(separator: "\n") + "\nnot json\n" + all.dropFirst(1000).joined(separator: "\n") + "\nnot json either\n")
            .write(to: first, atomically: true, encoding: .utf8)
        let two = try redress(["run", "rules/shop", "--events", first.path, "--state", state, "--out", out, "--dead-letters", dl])
        #expect(two.status == 0, "\(two.stderr)")
        #expect(two.stderr.hasPrefix("this run: read \(all.count - 1000) events, "), "\(two.stderr)")
        #expect(two.stderr.contains("1 bad line kept in"))
        #expect(two.stderr.contains("; since the state began: \(all.count) events, "), "\(two.stderr)")
        #expect(read(URL(fileURLWithPath: dl)).split(separator: "\n").count == 2, "both runs' bad lines are in the file")
    }

    // MARK: 20. The same events given twice

    @Test func theSameFileGivenTwiceIsReported() throws {
        let relative = "./rules/shop/events/history.jsonl"
        let result = try redress(["simulate", "rules/shop", "--events", Self.history.path, relative, "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("one file,") && result.stderr.contains("twice"), "\(result.stderr)")
        #expect(result.stderr.contains("repeat the id of an earlier event"), "\(result.stderr)")
        // A copy is another file, but its ids repeat.
        let copy = scratchPath("copy", ".jsonl")
        try FileManager.default.copyItem(at: Self.history, to: copy)
        let copied = try redress(["simulate", "rules/shop", "--events", Self.history.path, copy.path, "--format", "json"])
        #expect(copied.stderr.contains("3069 events repeat the id of an earlier event"), "\(copied.stderr)")
        let single = try redress(["simulate", "rules/shop", "--events", Self.history.path, "--format", "json"])
        #expect(!single.stderr.contains("warning"), "\(single.stderr)")
    }
}

/// Results of processes started from several threads.
final class Collected: @unchecked Sendable {
    let lock = NSLock()
    private var stored: [Run] = []
    func add(_ run: Run) { lock.withLock { stored.append(run) } }
    var results: [Run] { lock.withLock { stored } }
}
