/// The entries of one key of a windowed memory — a history aggregate's events, a limit's or a
/// group's uses, a cap's grants — in time order, with running totals over the part a window
/// reads, so that adding an entry and reading the window cost amortised O(1) per event instead
/// of a pass over the whole window.
///
/// The semantics are the engine's since the beginning: an entry at time t is in the window of
/// length W ending at `now` while `t > now - W` (the window ends at the current event and
/// includes it; an entry exactly W old has left); adding an entry at time t first drops the
/// entries with `t' <= t - W`, which no later window can read while time moves forward.
///
/// Events normally come in time order, and then every operation touches only the ends. Input
/// out of time order is evaluated as it comes (docs/events.md), so an entry older than the last
/// is inserted in its place (a shift of the entries after it: O(those) for that event only) and
/// a window read at an earlier time than the last moves its boundary back: the results are what
/// the old filter over the whole list gave, whatever the order.
///
/// Hand-written rather than a `Deque` (swift-collections): the entries must stay sorted and be
/// read by position from a moving boundary, which a plain array with a start offset does in a
/// few lines, without a dependency every build would compile.
struct SlidingWindow: Equatable {
    struct Entry: Equatable {
        var time: Int64
        /// The aggregate's value (0 where only counts matter) or a cap's amount in minor units.
        var value: Int64
        /// A history aggregate's `where` held for it (always true for limits and caps).
        var matched: Bool
    }

    /// Entries `head..<entries.count` are held, sorted by time (stable: equal times in arrival
    /// order). Those before `head` were dropped and wait for the array to be compacted.
    private(set) var entries: [Entry] = []
    private var head = 0
    /// The totals cover `cursor..<entries.count`; `seek` moves it to a window's boundary.
    private var cursor = 0
    private var matchedTotal = 0
    private var sumTotal = WideSum()
    /// How many entries are held and the latest time, kept here too: the retention sweep reads
    /// them for every key, and reading them from the array would be a cache miss per key.
    private(set) var count = 0
    private var last: Int64 = .min

    init() {}

    /// A window holding `entries` (in any order: sorted here, equal times kept in their order).
    init(_ entries: [Entry]) {
        var sorted = entries
        // A plain loop: a restart builds one window per key of the state.
        var inOrder = true
        var position = 1
        while inOrder, position < entries.count {
            inOrder = entries[position - 1].time <= entries[position].time
            position += 1
        }
        if !inOrder {
            sorted = entries.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        }
        self.entries = sorted
        count = sorted.count
        last = sorted.last?.time ?? .min
        for entry in sorted { include(entry) }
    }

    var isEmpty: Bool { count == 0 }
    /// The time of the latest entry, or nil.
    var latest: Int64? { count > 0 ? last : nil }
    /// The held entries, oldest first.
    var held: ArraySlice<Entry> { entries[head...] }

    /// Adds an entry after dropping those at or before `time - window` (nil: no window, none
    /// dropped).
    mutating func add(_ entry: Entry, window: Int64?) {
        if let window { drop(through: SlidingWindow.boundary(entry.time, window)) }
        var position = entries.count
        while position > head, entries[position - 1].time > entry.time { position -= 1 }
        if position == entries.count { entries.append(entry) } else { entries.insert(entry, at: position) }
        last = count == 0 ? entry.time : max(last, entry.time)
        count += 1
        if position >= cursor { include(entry) } else { cursor += 1 }
    }

    /// Drops the entries at or before `boundary` from the front.
    mutating func drop(through boundary: Int64) {
        while head < entries.count, entries[head].time <= boundary {
            if head >= cursor {
                exclude(entries[head])
                cursor = head + 1
            }
            head += 1
            count -= 1
        }
        if cursor < head { cursor = head }
        // Compacted once the dropped part outweighs the rest: each entry is moved O(1) times.
        if head > 32, head * 2 > entries.count {
            entries.removeFirst(head)
            cursor -= head
            head = 0
        }
    }

    /// Moves the totals to the window after `boundary` (entries with `time > boundary`).
    @inline(__always) mutating func seek(after boundary: Int64) {
        while cursor < entries.count, entries[cursor].time <= boundary {
            exclude(entries[cursor])
            cursor += 1
        }
        while cursor > head, entries[cursor - 1].time > boundary {
            cursor -= 1
            include(entries[cursor])
        }
    }

    /// Entries in the window after `boundary`.
    mutating func count(after boundary: Int64) -> Int {
        seek(after: boundary)
        return entries.count - cursor
    }

    /// Entries in the window after `boundary` whose `where` held.
    mutating func matched(after boundary: Int64) -> Int {
        seek(after: boundary)
        return matchedTotal
    }

    /// The sum of the values of matched entries in the window after `boundary`, held to the
    /// 64-bit range (a sum beyond it stays at the bound, as money sums do elsewhere).
    mutating func sum(after boundary: Int64) -> Int64 {
        seek(after: boundary)
        return sumTotal.clamped
    }

    @inline(__always) private mutating func include(_ entry: Entry) {
        guard entry.matched else { return }
        matchedTotal += 1
        sumTotal.add(entry.value)
    }

    @inline(__always) private mutating func exclude(_ entry: Entry) {
        guard entry.matched else { return }
        matchedTotal -= 1
        sumTotal.subtract(entry.value)
    }

    /// The last time outside a window of length `window` ending at `time` (entries after it are in).
    @inline(__always) static func boundary(_ time: Int64, _ window: Int64) -> Int64 {
        let (difference, overflow) = time.subtractingReportingOverflow(window)
        return overflow ? .min : difference
    }

    static func == (a: SlidingWindow, b: SlidingWindow) -> Bool { a.held == b.held }
}

/// A 128-bit running sum of 64-bit values: adding and taking back are exact whatever the order,
/// so a window's sum never traps or wraps however large the values it holds.
struct WideSum: Equatable {
    var high: Int64 = 0
    var low: UInt64 = 0

    @inline(__always) mutating func add(_ value: Int64) {
        let (sum, carry) = low.addingReportingOverflow(UInt64(bitPattern: value))
        low = sum
        high &+= (value < 0 ? -1 : 0) &+ (carry ? 1 : 0)
    }

    @inline(__always) mutating func subtract(_ value: Int64) {
        let (difference, borrow) = low.subtractingReportingOverflow(UInt64(bitPattern: value))
        low = difference
        high &-= (value < 0 ? -1 : 0) &+ (borrow ? 1 : 0)
    }

    /// The sum, or the nearest 64-bit bound when it does not fit.
    var clamped: Int64 {
        if high == 0, low <= UInt64(Int64.max) { return Int64(low) }
        if high == -1, low >= UInt64(bitPattern: Int64.min) { return Int64(bitPattern: low) }
        return high < 0 ? .min : .max
    }
}

/// Windows in the persisted format of `EngineState` (the lists a state file has always held), both
/// ways. Rows that do not have the expected shape (a hand-edited or damaged state) are skipped.
enum StoredWindow {
    /// Limit and group uses: their times.
    static func times(_ times: [Int64]) -> SlidingWindow {
        var entries: [SlidingWindow.Entry] = []
        entries.reserveCapacity(times.count)
        for time in times { entries.append(SlidingWindow.Entry(time: time, value: 0, matched: true)) }
        return SlidingWindow(entries)
    }

    static func times(_ window: SlidingWindow) -> [Int64] { window.held.map(\.time) }

    /// Cap grants: `[time, amount]`.
    static func grants(_ rows: [[Int64]]) -> SlidingWindow {
        SlidingWindow(rows.compactMap { $0.count == 2 ? SlidingWindow.Entry(time: $0[0], value: $0[1], matched: true) : nil })
    }

    static func grants(_ window: SlidingWindow) -> [[Int64]] { window.held.map { [$0.time, $0.value] } }

    /// History aggregates' events: `[time, matched (0/1), value]`.
    static func events(_ rows: [[Int64]]) -> SlidingWindow {
        SlidingWindow(rows.compactMap { $0.count == 3 ? SlidingWindow.Entry(time: $0[0], value: $0[2], matched: $0[1] == 1) : nil })
    }

    static func events(_ window: SlidingWindow) -> [[Int64]] { window.held.map { [$0.time, $0.matched ? 1 : 0, $0.value] } }
}
