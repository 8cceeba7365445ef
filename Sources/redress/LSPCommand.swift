import ArgumentParser
import Foundation
import RedressLanguageServices

struct LanguageServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lsp",
        abstract: "Serve the Language Server Protocol on standard input and output, for editors.",
        discussion: """
            Editors start this command and talk to it: diagnostics as you type, completion, hover, go to \
            definition, outline, formatting and quick fixes for .rules files. Each rule file belongs to the \
            rule set of its directory, checked against the nearest schema.yaml and catalog.yaml at or \
            above it (see docs/lsp.md).
            Exit status: 0 after `shutdown` and `exit`, 1 when the input ends or `exit` comes without `shutdown`.
            """)

    @Flag(help: "Talk over standard input and output (the only way; accepted because editors pass it).")
    var stdio = false

    func run() throws {
        // A client that goes away closes the pipe: a failed write ends the server, not a signal.
        signal(SIGPIPE, SIG_IGN)
        var reader = MessageReader(descriptor: STDIN_FILENO)
        let writer = MessageWriter(descriptor: STDOUT_FILENO)
        let server = LanguageServer(version: Redress.version)
        while true {
            let answers: [JSONValue]
            switch reader.next() {
            case .end:
                throw ExitCode(server.hasShutDown ? 0 : 1)
            case .malformed(let reason):
                Output.error("redress lsp: skipped \(reason)")
                answers = [LanguageServer.error(id: .null, .parseError, "skipped \(reason)")]
            case .message(let body):
                answers = server.handle(body)
            }
            for answer in answers where !writer.send(answer) { throw ExitCode(1) }
            if let code = server.exitCode { throw ExitCode(code) }
            // Diagnostics once the messages waiting are read: a burst of keystrokes is checked once.
            if !reader.hasWaitingInput() {
                for notification in server.diagnosticsToPublish() where !writer.send(notification) { throw ExitCode(1) }
            }
        }
    }
}
