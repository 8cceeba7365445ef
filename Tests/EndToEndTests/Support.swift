import Foundation

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func read(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }

/// The `redress` binary that `swift test` built next to the test bundle.
let redressBinary: URL = {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("redress")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return repositoryRoot.appendingPathComponent(".build/debug/redress")
}()

struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
    /// False when the process died of a signal (a crash).
    var exitedNormally: Bool
}

/// Runs `redress` with arguments in `directory` (default: the repository root).
/// `input` and `output` replace standard input (default: nothing) and the captured standard
/// output (then `stdout` is empty), e.g. to write to `/dev/full`.
/// Runs the binary to its end, or for at most `timeout` seconds: then it is killed (SIGKILL), and
/// the run reads as not having exited normally, with the reason in its stderr. (A command that
/// hangs fails its test instead of holding the whole test run until CI gives up.)
func redress(_ arguments: [String], in directory: URL = repositoryRoot, environment: [String: String] = [:],
             input: FileHandle? = nil, output: FileHandle? = nil, timeout: TimeInterval = 300) throws -> Run {
    let process = Process()
    process.executableURL = redressBinary
    process.arguments = arguments
    process.currentDirectoryURL = directory
    var env = ProcessInfo.processInfo.environment
    for (key, value) in environment { env[key] = value }
    process.environment = env
    // stderr goes to a file so that neither stream can fill up and block the child.
    let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("redress-stderr-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
    let errorHandle = try FileHandle(forWritingTo: errorFile)
    defer { try? FileManager.default.removeItem(at: errorFile) }
    let out = Pipe()
    process.standardOutput = output ?? out
    process.standardError = errorHandle
    process.standardInput = input ?? FileHandle.nullDevice
    try process.run()
    let watchdog = Watchdog(process, seconds: timeout)
    if output != nil { try? out.fileHandleForWriting.close() }
    let outData = output == nil ? out.fileHandleForReading.readDataToEndOfFile() : Data()
    process.waitUntilExit()
    watchdog.cancel()
    try? errorHandle.close()
    var errText = String(decoding: (try? Data(contentsOf: errorFile)) ?? Data(), as: UTF8.self)
    if watchdog.fired { errText += "\n[test support] redress \(arguments.joined(separator: " ")) was killed after \(Int(timeout)) s\n" }
    return Run(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
               stderr: errText, exitedNormally: process.terminationReason == .exit && !watchdog.fired)
}

/// Kills a process still running after its time.
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var killed = false

    init(_ process: Process, seconds: TimeInterval) {
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            lock.lock()
            defer { lock.unlock() }
            guard !done else { return }
            killed = true
            kill(pid, SIGKILL)
        }
    }

    /// After the process ended: the watchdog does nothing more (the pid may be reused).
    func cancel() { lock.withLock { done = true } }

    var fired: Bool { lock.withLock { killed } }
}

/// Where this test process writes its scratch files: one directory, removed when the process exits
/// (thousands of rule sets and event files would otherwise stay behind in /tmp after every run).
let scratchRoot: URL = {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("redress-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    atexit {
        try? FileManager.default.removeItem(at: FileManager.default.temporaryDirectory.appendingPathComponent("redress-tests-\(getpid())"))
    }
    return root
}()

/// A new path under `scratchRoot` (nothing is created).
func scratchPath(_ prefix: String, _ suffix: String = "") -> URL {
    scratchRoot.appendingPathComponent("\(prefix)-\(UUID().uuidString)\(suffix)")
}

/// A fresh temporary directory holding a copy of the example shop's schema and catalog.
func temporaryRuleSet(_ files: [String: String] = [:]) throws -> URL {
    let directory = scratchPath("e2e")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    for name in ["schema.yaml", "catalog.yaml"] {
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("rules/shop/\(name)"), to: directory.appendingPathComponent(name))
    }
    for (name, text) in files {
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    return directory
}

/// A small deterministic generator (SplitMix64), so fuzz inputs are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
