import Foundation
import RedressEngine

/// Where wall-clock time comes from: the system clock in a run, a hand-set clock in tests, so a
/// deadline that fires on a quiet stream is tested without waiting for it.
public protocol TimeSource: AnyObject, Sendable {
    /// Milliseconds since 1970-01-01T00:00:00Z, as event times are.
    var now: Int64 { get }
}

/// The system's real-time clock.
public final class WallClock: TimeSource {
    public init() {}

    public var now: Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}

/// A clock that moves only when told to (tests).
public final class ManualClock: TimeSource, @unchecked Sendable {
    private let lock = NSLock()
    private var time: Int64

    public init(_ time: Int64) { self.time = time }

    public var now: Int64 { lock.withLock { time } }

    public func set(_ time: Int64) { lock.withLock { self.time = time } }

    public func advance(by milliseconds: Int64) { lock.withLock { time += milliseconds } }
}

/// What absence deadlines fire on: a deadline fires once the watermark is past it (deadline <
/// watermark, as `Engine.advance` has it). By event time the watermark is the latest event time
/// read, so a replay fires exactly as the live run did. With a wall clock it is also the clock
/// minus the allowed lateness: on a quiet stream "not shipped within 48h" fires at hour 48 plus
/// the lateness, not when the next event happens to come. The lateness is how long events may
/// take to reach the run: one whose time is already behind the watermark is late, and an
/// absence decision it would have prevented has gone out.
public final class Watermark {
    let engine: Engine
    /// Nil: event time only.
    let clock: TimeSource?
    public let lateness: Int64
    /// The highest watermark deadlines were fired up to: a wall clock set back (NTP) does not
    /// move the watermark back, since what fired before it stays fired.
    private var reached: Int64 = .min
    /// Only deadlines depend on the watermark: a rule set without absence rules has no late events.
    let hasDeadlines: Bool
    /// Events whose time was behind the watermark when they arrived (this process only).
    public private(set) var lateEvents = 0

    /// The longest the run loop sleeps waiting for the next deadline, in milliseconds: a wall
    /// clock set forward (NTP, a resumed virtual machine) is noticed within this.
    public static let longestWait: Int64 = 1000

    /// The default allowed lateness, `--lateness 5m`: a producer's usual delay, with room to spare.
    public static let defaultLateness: Int64 = 5 * 60_000

    /// `clock` nil: the watermark is event time only (replays, and `run` without `--clock wall`).
    public init(engine: Engine, clock: TimeSource? = nil, lateness: Int64 = Watermark.defaultLateness) {
        self.engine = engine
        self.clock = clock
        self.lateness = max(0, lateness)
        hasDeadlines = engine.program.rules.contains { $0.absence != nil }
    }

    /// Deadlines before this time have fired (or fire at the next look).
    public var current: Int64 {
        var mark = max(reached, engine.state.clock)
        if let clock {
            let (wall, overflow) = clock.now.subtractingReportingOverflow(lateness)
            if !overflow { mark = max(mark, wall) }
        }
        return mark
    }

    /// Called before an event is evaluated: counts it if it is late and, with a wall clock, fires
    /// the deadlines the clock has passed (those its own time passes fire in `Engine.process`).
    /// A late event is evaluated all the same: its own rules decide as usual, and an awaited
    /// event still cancels a deadline that has not fired.
    public func admit(_ time: Int64) -> [Decision] {
        guard hasDeadlines else { return [] }
        let mark = current
        if time < mark { lateEvents += 1 }
        guard clock != nil else { return [] }
        reached = mark
        return engine.advance(to: mark)
    }

    /// With a wall clock, fires the deadlines the watermark has passed; by event time nothing
    /// fires without an event.
    public func fireDue() -> [Decision] {
        guard clock != nil, hasDeadlines else { return [] }
        let mark = current
        reached = mark
        return engine.advance(to: mark)
    }

    /// How long a quiet run loop may wait before `fireDue` has something to fire, in
    /// milliseconds (at most `longestWait`); nil when waiting for input is enough (event time,
    /// or no deadline pending: only an event can add one).
    public func millisecondsUntilDue() -> Int64? {
        guard let clock, let deadline = engine.nextDeadline else { return nil }
        // Due once clock - lateness > deadline, that is at deadline + lateness + 1 ms.
        let (due, overflow) = deadline.addingReportingOverflow(lateness &+ 1)
        guard !overflow else { return Self.longestWait }
        let now = clock.now
        guard due > now else { return 0 }
        let (wait, tooFar) = due.subtractingReportingOverflow(now)
        return tooFar ? Self.longestWait : min(wait, Self.longestWait)
    }
}
