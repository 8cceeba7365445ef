import PropertyBased
import Testing
@testable import RedressEvents
@testable import RedressEngine
@testable import RedressState

/// The window structure behind history aggregates, limits, groups and caps.
struct SlidingWindowTests {
    typealias Entry = SlidingWindow.Entry

    static func entry(_ time: Int64, _ value: Int64 = 0, matched: Bool = true) -> Entry { Entry(time: time, value: value, matched: matched) }

    @Test func theWindowEndsAtTheCurrentEventAndAnEntryExactlyAWindowOldHasLeft() {
        var window = SlidingWindow()
        for time: Int64 in [0, 10, 20, 30] { window.add(Self.entry(time, time), window: 20) }
        // Adding at 30 with a 20 ms window dropped 0 and 10 (30 - 20 = 10 is the last time out).
        #expect(window.held.map(\.time) == [20, 30])
        #expect(window.count(after: SlidingWindow.boundary(30, 20)) == 2)
        #expect(window.count(after: SlidingWindow.boundary(40, 20)) == 1)
        #expect(window.count(after: SlidingWindow.boundary(50, 20)) == 0)
        // Read at an earlier time again (input out of time order): the boundary moves back.
        #expect(window.count(after: SlidingWindow.boundary(30, 20)) == 2)
        #expect(window.sum(after: SlidingWindow.boundary(39, 20)) == 50)
    }

    @Test func sumsAndMatchedCountOnlyWhatMatched() {
        var window = SlidingWindow()
        window.add(Self.entry(1, 5, matched: true), window: 100)
        window.add(Self.entry(2, 7, matched: false), window: 100)
        window.add(Self.entry(3, 11, matched: true), window: 100)
        #expect(window.count(after: 0) == 3)
        #expect(window.matched(after: 0) == 2)
        #expect(window.sum(after: 0) == 16)
        #expect(window.sum(after: 1) == 11)
    }

    @Test func anEntryOlderThanTheLastGoesInItsPlace() {
        var window = SlidingWindow()
        for time: Int64 in [10, 30, 20, 30, 5] { window.add(Self.entry(time, time), window: nil) }
        #expect(window.held.map(\.time) == [5, 10, 20, 30, 30])
        #expect(window.count(after: 10) == 3)
        #expect(window.sum(after: 19) == 80)
        #expect(window.latest == 30)
    }

    @Test func sumsBeyondSixtyFourBitsStayAtTheBound() {
        var window = SlidingWindow()
        window.add(Self.entry(1, .max), window: nil)
        window.add(Self.entry(2, .max), window: nil)
        #expect(window.sum(after: .min) == .max)
        #expect(window.sum(after: 1) == .max)
        var negative = SlidingWindow()
        negative.add(Self.entry(1, .min), window: nil)
        negative.add(Self.entry(2, -1), window: nil)
        #expect(negative.sum(after: .min) == .min)
        negative.add(Self.entry(3, .max), window: nil)
        #expect(negative.sum(after: .min) == -2)
    }

    @Test func aLongWindowIsCompactedAsItSlides() {
        var window = SlidingWindow()
        for time in Int64(0)..<100_000 { window.add(Self.entry(time, 1), window: 50) }
        #expect(window.count == 50)
        #expect(window.entries.count <= 200, "the dropped entries are let go of")
        #expect(window.sum(after: 99_949) == 50)
    }

    @Test func thePersistedFormRoundTripsAndSkipsMalformedRows() {
        let events: [[Int64]] = [[30, 1, 4], [10, 0, 2], [20, 1, 3], [7], []]
        let window = StoredWindow.events(events)
        #expect(StoredWindow.events(window) == [[10, 0, 2], [20, 1, 3], [30, 1, 4]])
        #expect(StoredWindow.times(StoredWindow.times([3, 1, 2])) == [1, 2, 3])
        #expect(StoredWindow.grants(StoredWindow.grants([[5, 100], [1], [6, 200]])) == [[5, 100], [6, 200]])
    }

    @Test func theStateTextReadsWhatItWrites() {
        for times: [Int64] in [[], [1], [-5, 0, .max, .min]] { #expect(StateText.parseTimes(StateText.times(times)) == times) }
        for rows: [[Int64]] in [[], [[1, 2]], [[1], [], [-3, 4, 5]]] { #expect(StateText.parseRows(StateText.rows(rows)) == rows) }
        // Anything else is left to the JSON decoder.
        for other in ["", "[", "[1,]", "[1 ,2]", "[1e3]", "[99999999999999999999]", "[[1],", "[1]x", "[[1]] "] {
            #expect(StateText.parseTimes(other) == nil && StateText.parseRows(other) == nil, "\(other)")
        }
    }

    /// The engine's lists before the windows: a list in arrival order, entries at or before
    /// `time - window` removed on each add, and a read filtering the whole list.
    struct OldList {
        var entries: [Entry] = []
        mutating func add(_ entry: Entry, window: Int64?) {
            if let window { entries.removeAll { $0.time <= entry.time - window } }
            entries.append(entry)
        }
        func inWindow(_ boundary: Int64) -> [Entry] { entries.filter { $0.time > boundary } }
    }

    /// Random adds and reads, in and out of time order, with and without a window, many on the
    /// boundary: the window reads what the old list read, and holds the same entries.
    @Test func agreesWithTheOldListInAndOutOfTimeOrder() async {
        await propertyCheck(count: 400, input: Gen.int(in: 1...1_000_000_000)) { seed in
            var random = SplitMixGenerator(state: UInt64(seed))
            let width: Int64? = random.next() % 5 == 0 ? nil : Int64(1 + random.next() % 6) * 10
            let shuffled = random.next() % 2 == 0
            var window = SlidingWindow(), old = OldList()
            var now: Int64 = 0
            for _ in 0..<60 {
                // Times on a grid of 5 so that entries often sit exactly on a boundary.
                now += Int64(random.next() % 4) * 5
                let time = shuffled && random.next() % 3 == 0 ? now - Int64(random.next() % 8) * 5 : now
                if random.next() % 3 != 0 {
                    let entry = Self.entry(time, Int64(random.next() % 100) - 20, matched: random.next() % 3 != 0)
                    window.add(entry, window: width)
                    old.add(entry, window: width)
                }
                let at = shuffled && random.next() % 4 == 0 ? time - Int64(random.next() % 6) * 5 : time
                let boundary = width.map { SlidingWindow.boundary(at, $0) } ?? .min
                let expected = old.inWindow(boundary)
                #expect(window.count(after: boundary) == expected.count)
                #expect(window.matched(after: boundary) == expected.filter(\.matched).count)
                #expect(window.sum(after: boundary) == expected.filter(\.matched).reduce(0) { $0 + $1.value })
                #expect(window.held.map(\.time) == old.entries.map(\.time).sorted())
                #expect(window.count == old.entries.count && window.latest == old.entries.map(\.time).max())
            }
        }
    }
}
