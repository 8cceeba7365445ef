import Foundation
import RedressIR
@testable import RedressEvents
@testable import RedressEngine
@testable import RedressRuntime
import Testing

/// Deadlines on a watermark (issue 13, point 7): by event time as before, and with a wall clock
/// also on a quiet input; time is moved by hand, nothing here sleeps.
@Suite struct WatermarkTests {
    static let rules = "rule not_shipped on order.placed unless shipment.shipped within 48h then send dispatch_delay_notice"
    static let placed = "2026-06-01T10:00:00Z"
    static let hour: Int64 = 3_600_000
    static let minute: Int64 = 60_000

    static func milliseconds(_ text: String) throws -> Int64 { try #require(TimeFormat.timestamp(text)) }

    static func event(_ program: Program, _ line: String) throws -> Event {
        var event = Event(slotCount: program.slots.count)
        var copy = line
        let failure = copy.withUTF8 { EventReader(program: program).read($0, number: 1, into: &event) }
        #expect(failure == nil, "\(failure ?? "")")
        return event
    }

    /// What the run loop does per event: the watermark first, then the event.
    static func evaluate(_ line: String, _ program: Program, _ engine: Engine, _ watermark: Watermark) throws -> [Decision] {
        let event = try event(program, line)
        return watermark.admit(event.time) + engine.process(event)
    }

    @Test func aDeadlineFiresOnAQuietStreamOnceTheClockMinusTheLatenessPassesIt() throws {
        let program = try #require(compile(Self.rules))
        let engine = Engine(program: program)
        let placed = try Self.milliseconds(Self.placed)
        let clock = ManualClock(placed)
        let watermark = Watermark(engine: engine, clock: clock, lateness: 5 * Self.minute)
        #expect(try Self.evaluate(Shop.placed(Self.placed), program, engine, watermark).isEmpty)
        let deadline = placed + 48 * Self.hour
        #expect(engine.nextDeadline == deadline)
        // The run loop would sleep until the deadline plus the lateness, a second at a time.
        #expect(watermark.millisecondsUntilDue() == Watermark.longestWait)
        clock.set(deadline + 5 * Self.minute - 400)
        #expect(watermark.millisecondsUntilDue() == 401)
        // At deadline + lateness the watermark is the deadline itself: not past it yet.
        clock.set(deadline + 5 * Self.minute)
        #expect(watermark.fireDue().isEmpty)
        #expect(watermark.millisecondsUntilDue() == 1)
        clock.advance(by: 1)
        let fired = watermark.fireDue()
        #expect(fired.map(\.subject.key) == ["O1"])
        #expect(fired.first?.time == "2026-06-03T10:00:00Z", "the decision's time is the deadline, not the wall clock")
        #expect(engine.state.pending.isEmpty)
        #expect(watermark.millisecondsUntilDue() == nil, "nothing pending: only input can bring a deadline")
        #expect(watermark.fireDue().isEmpty, "a deadline fires once")
        #expect(watermark.lateEvents == 0)
    }

    @Test func byEventTimeTheClockIsNeverRead() throws {
        let program = try #require(compile(Self.rules))
        let engine = Engine(program: program)
        let watermark = Watermark(engine: engine)
        #expect(try Self.evaluate(Shop.placed(Self.placed), program, engine, watermark).isEmpty)
        #expect(watermark.fireDue().isEmpty)
        #expect(watermark.millisecondsUntilDue() == nil)
        // A later event's time passes the deadline: it fires then, as in every replay.
        let decided = try Self.evaluate(Shop.placed("2026-06-03T10:00:01Z", order: "O2"), program, engine, watermark)
        #expect(decided.map(\.subject.key) == ["O1"])
    }

    /// An event whose time is behind the watermark is late: counted, and evaluated all the same;
    /// the absence decision it would have prevented has gone out.
    @Test func lateEventsAreCountedAndCannotCallBackADecision() throws {
        let program = try #require(compile(Self.rules))
        let engine = Engine(program: program)
        let placed = try Self.milliseconds(Self.placed)
        let clock = ManualClock(placed)
        let watermark = Watermark(engine: engine, clock: clock, lateness: 0)
        #expect(try Self.evaluate(Shop.placed(Self.placed), program, engine, watermark).isEmpty)
        clock.set(placed + 48 * Self.hour + 1)
        #expect(watermark.fireDue().count == 1)
        // Shipped at hour 47, known only now: too late for the decision already written.
        let shipped = try Self.evaluate(Shop.shipped("2026-06-03T09:00:00Z", order: "O1"), program, engine, watermark)
        #expect(shipped.isEmpty)
        #expect(watermark.lateEvents == 1)
        // A wall clock set back does not move the watermark back.
        clock.set(placed)
        #expect(try Self.evaluate(Shop.shipped("2026-06-03T09:30:00Z", order: "O2"), program, engine, watermark).isEmpty)
        #expect(watermark.lateEvents == 2)
        // Ahead of the watermark again: on time, and its trigger waits as usual.
        #expect(try Self.evaluate(Shop.placed("2026-06-04T10:00:00Z", order: "O3"), program, engine, watermark).isEmpty)
        #expect(watermark.lateEvents == 2)
        #expect(engine.state.pending.count == 1)
    }

    /// A trigger that arrives after its whole wait has passed on the wall clock fires at the next look.
    @Test func aTriggerWhoseDeadlineHasPassedFiresAtOnce() throws {
        let program = try #require(compile(Self.rules))
        let engine = Engine(program: program)
        let clock = ManualClock(try Self.milliseconds("2026-06-10T00:00:00Z"))
        let watermark = Watermark(engine: engine, clock: clock)
        #expect(try Self.evaluate(Shop.placed(Self.placed), program, engine, watermark).isEmpty)
        #expect(watermark.lateEvents == 1)
        #expect(watermark.millisecondsUntilDue() == 0)
        #expect(watermark.fireDue().map(\.time) == ["2026-06-03T10:00:00Z"])
    }

    @Test func withoutAbsenceRulesNothingIsLate() throws {
        let program = try #require(compile("rule late on shipment.delivered when shipment.delay > 2d then refund 5 EUR"))
        let engine = Engine(program: program)
        let watermark = Watermark(engine: engine, clock: ManualClock(try Self.milliseconds("2030-01-01T00:00:00Z")))
        let decided = try Self.evaluate(Shop.delivered(Self.placed), program, engine, watermark)
        #expect(decided.count == 1)
        #expect(watermark.lateEvents == 0)
        #expect(watermark.millisecondsUntilDue() == nil)
    }

    /// The pipeline calls `idle` again after the time it asks for, with no input: how a quiet
    /// run wakes up for a deadline. The input is a pipe kept open; `idle` closes it on its third call.
    @Test func aQuietPipelineWakesUpWhenIdleAsksTo() throws {
        let program = try #require(compile(Self.rules))
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let line = Shop.placed(Self.placed) + "\n"
        _ = line.withCString { write(ends[1], $0, strlen($0)) }
        let pipeline = EventPipeline(reader: EventReader(program: program), lines: LineReader(descriptor: ends[0]), slotCount: program.slots.count)
        var idleCalls = 0
        var events = 0
        pipeline.run(idle: {
            idleCalls += 1
            if idleCalls == 3 { close(ends[1]) }
            return idleCalls < 3 ? 1 : nil
        }) { item, _ in
            if case .event = item { events += 1 }
            return true
        }
        #expect(events == 1)
        #expect(idleCalls >= 3)
    }
}
