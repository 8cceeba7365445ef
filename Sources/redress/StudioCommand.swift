import ArgumentParser
import Dispatch
import Foundation
import RedressStudio

struct StudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "studio",
        abstract: "Serve the web workbench for a rule set: edit, check, test, explain, simulate, sweep, diff and save.",
        discussion: """
            Open the printed address in a browser. The page checks the rules as you type (with the \
            checker's fixes one click away), completes names, formats, runs the rule tests, explains an \
            event, simulates and sweeps over the --events history, compares the edited rules with the \
            saved ones and their cost, and saves the rule files. It listens on loopback unless --listen \
            names another address, and writes only *.rules files in the rule set's directory (see docs/studio.md).
            Exit status: 0 after SIGINT or SIGTERM, 2 usage or I/O error (an unreadable rule set or history, a port in use).
            """)

    @Argument(help: "The rule set: the directory of its .rules files.")
    var ruleSet: String

    @Option(parsing: .upToNextOption, help: ArgumentHelp("History to simulate over (JSON lines); several files are one history.", valueName: "FILE"))
    var events: [String] = []

    @Option(help: ArgumentHelp("Address to listen on; port 0 picks a free one. Anything but loopback lets others on the network edit the rules.",
                               valueName: "HOST:PORT"))
    var listen: String = "127.0.0.1:4600"

    static func address(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    func run() throws {
        guard let (host, port) = Self.address(listen) else {
            Output.error("error: --listen takes HOST:PORT, such as 127.0.0.1:4600 (port 0 picks a free port); found `\(listen)`")
            throw ExitCode(2)
        }
        let folder: RuleSetFolder
        let history: EventHistory
        do {
            folder = try RuleSetFolder(ruleSet)
            history = try EventHistory(files: events)
        } catch let refusal as RuleSetFolder.Refusal {
            Output.error("error: \(refusal)")
            throw ExitCode(2)
        } catch {
            Output.error("error: \(error)")
            throw ExitCode(2)
        }
        if folder.ruleFileNames().isEmpty {
            Output.error("warning: no .rules files in \(folder.directory) yet; the first one is created when it is saved")
        }
        if !StudioServer.isLoopback(host) {
            Output.error("warning: listening on \(host), not loopback: anyone who can reach it can read and change the rule files")
        }
        let server = StudioServer(studio: Studio(folder: folder, history: history), host: host, port: port)
        let finished = ServerOutcome()
        let done = DispatchSemaphore(value: 0)
        // The command line is synchronous; the server runs on Swift's concurrency threads until
        // SIGINT or SIGTERM (which the server's lifecycle handles: it stops taking requests and ends).
        Task {
            do {
                try await server.run { address in Output.write("listening on \(address)\n") }
            } catch {
                finished.failure = "\(error)"
            }
            done.signal()
        }
        done.wait()
        if let failure = finished.failure {
            Output.error("error: the studio could not serve on \(listen): \(failure)")
            throw ExitCode(2)
        }
    }
}

/// How the server ended, handed from its task to the waiting command.
private final class ServerOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var text: String? = nil
    var failure: String? {
        get { lock.withLock { text } }
        set { lock.withLock { text = newValue } }
    }
}
