import Foundation

/// SIGINT and SIGTERM ask a `run` to stop: it stops reading, evaluates what it has read, writes a
/// final checkpoint and exits 0, so a supervisor's `stop` (or Ctrl-C on `--follow`) loses nothing.
/// The handler only writes a byte to a pipe (async-signal-safe); the reading thread waits on that
/// pipe beside its input (`LineReader.wake`), so a read blocked on a quiet pipe ends too.
enum StopSignal {
    nonisolated(unsafe) static var received: sig_atomic_t = 0
    /// The pipe's write end, a plain integer: the handler may touch nothing that allocates or counts references.
    nonisolated(unsafe) static var wakeWriter: Int32 = -1

    static var requested: Bool { received != 0 }

    /// Installs the handlers; returns the descriptor readers wait on (nil if no pipe could be made).
    static func install() -> Int32? {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return nil }
        wakeWriter = ends[1]
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = { number in
                StopSignal.received = number
                var byte: UInt8 = 1
                _ = write(StopSignal.wakeWriter, &byte, 1)
            }
            #else
            action.__sigaction_u.__sa_handler = { number in
                StopSignal.received = number
                var byte: UInt8 = 1
                _ = write(StopSignal.wakeWriter, &byte, 1)
            }
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(signal, &action, nil)
        }
        return ends[0]
    }

    /// "SIGTERM" or "SIGINT", for the summary.
    static var name: String { received == SIGINT ? "SIGINT" : "SIGTERM" }
}
