import ArgumentParser
import Foundation
import RedressRuntime
import RedressEvents
import RedressEngine
import RedressSyntax

/// The options that bound input (`--max-line-bytes`), checked once for every command.
enum InputLimitOptions {
    static func check(maxLineBytes: Int) throws {
        guard maxLineBytes >= 64 else {
            Output.error("error: --max-line-bytes must be at least 64 (found \(maxLineBytes)); the default is \(LineLimit.defaultBytes)")
            throw ExitCode(2)
        }
    }
}

/// Opening the input every command reads: `-` is standard input, anything else a file opened
/// for reading; a file that cannot be opened is exit 2 with the system's reason.
enum InputFile {
    static func open(_ path: String) throws -> Int32 {
        let descriptor = path == "-" ? STDIN_FILENO : Foundation.open(path, O_RDONLY)
        guard descriptor >= 0 else {
            Output.error("error: cannot read \(path): \(String(cString: strerror(errno)))")
            throw ExitCode(2)
        }
        return descriptor
    }

    /// Closes what `open` opened (standard input stays open).
    static func close(_ descriptor: Int32) {
        if descriptor != STDIN_FILENO { _ = Foundation.close(descriptor) }
    }
}

/// Several `--events` files are one history; the same events given twice would be counted
/// twice, so a replay says so instead of reporting doubled costs silently.
enum RepeatedInput {
    /// Warns when two arguments name one file (by device and inode: `a.jsonl` and `./a.jsonl`).
    static func warnAboutRepeatedFiles(_ paths: [String]) {
        var seen: [(String, FileIdentity)] = []
        for path in paths where path != "-" {
            guard let identity = FileIdentity(path: path) else { continue }
            if let first = seen.first(where: { $0.1 == identity }) {
                Output.error("warning: --events names \(first.0 == path ? path : "\(first.0) and \(path), one file,") twice: its events are replayed and counted twice")
            } else {
                seen.append((path, identity))
            }
        }
    }

    /// Warns when events repeat the id of an earlier event (events without an id are not compared).
    static func warnAboutRepeatedIDs(_ events: [Event]) {
        var ids = Set<String>(minimumCapacity: events.count)
        var repeated = 0
        var example: String? = nil
        for event in events where !event.id.isEmpty {
            if !ids.insert(event.id).inserted {
                repeated += 1
                if example == nil { example = event.id }
            }
        }
        guard repeated > 0, let example else { return }
        Output.error("warning: \(repeated) event\(repeated == 1 ? "" : "s") repeat\(repeated == 1 ? "s" : "") the id of an earlier event (first: \(TerminalText.visible(example))); each is replayed and counted as often as it appears")
    }
}
