#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RedressIR
import RedressEvents
import RedressEngine

/// JSON lines for one program whose events are lent in place, by pointer, in input order: the
/// source a streamed replay reads (`simulate` over one sorted file). A regular file is parsed on
/// every core in chunks (`ChunkedEventPipeline`), where screens on the parsing threads hold back
/// the events that trigger nothing; a pipe or terminal is parsed on a second thread
/// (`EventPipeline`), every event handed out.
public final class LendingSource {
    public let name: String
    /// The size of a regular file; 0 for a pipe or terminal.
    public let size: Int64
    let chunked: ChunkedEventPipeline?
    let piped: EventPipeline?

    /// `descriptor` is open on the input at its start; `path` names it.
    public init(program: Program, descriptor: Int32, path: String, maximumLineLength: Int = LineLimit.defaultBytes) {
        name = path
        var status = stat()
        size = fstat(descriptor, &status) == 0 && status.st_mode & S_IFMT == S_IFREG ? Int64(status.st_size) : 0
        let reader = EventReader(program: program)
        let slotCount = program.slots.count
        chunked = ChunkedEventPipeline(reader: reader, descriptor: descriptor, slotCount: slotCount, maximumLineLength: maximumLineLength)
        piped = chunked == nil
            ? EventPipeline(reader: reader, lines: LineReader(descriptor: descriptor, maximumLineLength: maximumLineLength), slotCount: slotCount) : nil
    }

    /// How many screens `read` takes (one per parsing thread), or 0 when it takes none (a pipe).
    public var workers: Int { chunked?.workers ?? 0 }

    /// Bytes of input handed out so far (safe to read while `read` runs, from its callbacks).
    public var progress: Int64 { chunked?.progress ?? piped?.progress ?? 0 }

    /// Reads to the end, or until a callback returns false. With `workers` screens, only the
    /// events they admit go to `event`, and `screened` gets what each chunk's screen held back
    /// before that chunk's events (see `ChunkedEventPipeline.run(screens:…)`); without, every
    /// event goes to `event`. Returns why the input could not be read, or nil.
    public func read(screens: [EventScreen] = [], screened: (ChunkedEventPipeline.Screened) -> Bool = { _ in true },
                     event: (UnsafePointer<Event>, Int) -> Bool, deadLetter: (DeadLetter, Int) -> Bool) -> String? {
        if let chunked {
            let failure = screens.count == chunked.workers
                ? chunked.run(screens: screens, screened: screened, event: event, deadLetter: deadLetter)
                : chunked.run(event: event, deadLetter: deadLetter)
            return failure.map { "\(name): \($0)" }
        }
        guard let piped else { return nil }
        piped.run { item, number in
            switch item {
            // (No processed set is given: a replay takes every event, repeated or not.)
            case .event(var lent), .alreadyProcessed(var lent): withUnsafePointer(to: &lent) { event($0, number) }
            case .deadLetter(let letter), .alreadyKept(let letter): deadLetter(letter, number)
            }
        }
        return piped.failure.map { "cannot read \(name): \($0)" }
    }
}
