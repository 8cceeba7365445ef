import ArgumentParser
import Foundation
import RedressSemantics
import RedressSyntax

/// The `redress` command line: argument parsing and printing only; the work happens in
/// the library modules.
struct Redress: ParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        commandName: "redress",
        abstract: "Rules for proactive customer compensation: check and format them, compile them, run them over events and explain their decisions.",
        version: version,
        subcommands: [Check.self, Format.self, Compile.self, Run.self, Explain.self, Simulate.self, Test.self, Diff.self, Rollout.self,
                      LanguageServerCommand.self, StudioCommand.self, Serve.self]
    )
}

@main
enum Entry {
    static func main() {
        // A parent may start redress with these signals blocked (test runners and some
        // supervisors do); a long `run` must still stop when it is told to.
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&signals, signal) }
        sigprocmask(SIG_UNBLOCK, &signals, nil)
        do {
            var command = try Redress.parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            // Help and --version exit 0; every other parsing problem is a usage error: exit 2.
            if Redress.exitCode(for: error) == .success { Redress.exit(withError: error) }
            Output.error(Redress.fullMessage(for: error))
            Foundation.exit(2)
        }
    }
}

enum Output {
    /// Messages to standard error. If even that fails there is nowhere left to say so; the exit
    /// status still tells.
    static func error(_ text: String, newline: Bool = true) {
        _ = OutputFile.writeAll(STDERR_FILENO, Array((text.hasSuffix("\n") || !newline ? text : text + "\n").utf8))
    }
    /// Results to standard output; a failed write (a full disk, `> /dev/full`, a closed pipe
    /// with SIGPIPE ignored) ends the command with exit 2 and the reason, never with a result
    /// silently cut short.
    static func write(_ text: String) {
        write(Array(text.utf8))
    }
    static func write(_ bytes: [UInt8]) {
        if let failure = OutputFile.writeAll(STDOUT_FILENO, bytes) {
            error("error: cannot write to standard output: \(failure)")
            Foundation.exit(2)
        }
    }
    /// Colour only when writing to a terminal, and never with NO_COLOR set.
    static var colourOnStandardOutput: Bool {
        isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }
}
