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
        subcommands: [Check.self, Format.self, Compile.self, Run.self, Explain.self, Simulate.self, Test.self, Diff.self]
    )
}

@main
enum Entry {
    static func main() {
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
    static func error(_ text: String, newline: Bool = true) {
        FileHandle.standardError.write(Data((text.hasSuffix("\n") || !newline ? text : text + "\n").utf8))
    }
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
    /// Colour only when writing to a terminal, and never with NO_COLOR set.
    static var colourOnStandardOutput: Bool {
        isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }
}
