#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The 64-bit hash a state remembers an event by (docs/events.md, "Restarts"): of its id, or,
/// for an event without one, of what it was read from. Hashes, not the ids: eight bytes per
/// event whatever the ids' length: in `ProcessedEvents`' tables, 107 MB for ten million events.
///
/// Two different events get one hash with probability about n² / 2⁶⁵ among n events: one in
/// 370,000 for ten million events, one in 37 for a billion. The second of such a pair would be
/// skipped as already processed — counted in the summary like every skipped event, never lost
/// silently.
public enum EventIdentity {
    static let idSeed: UInt64 = 0x4944           // "ID"
    static let lineSeed: UInt64 = 0x4C494E45     // "LINE"
    static let rowSeed: UInt64 = 0x524F57        // "ROW"
    static let deadLetterSeed: UInt64 = 0x44454144  // "DEAD"

    /// The event's id, as text (its UTF-8 bytes; an id that is not a JSON string is its JSON text).
    public static func of(id: String) -> UInt64 {
        var hash = StreamHash(seed: idSeed)
        hash.add(id)
        return hash.digest
    }

    /// A JSON line without an id: the line's bytes, without the line end (and without a
    /// byte-order mark on the first line). The same line in another file is the same event.
    public static func derived(line: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash = StreamHash(seed: lineSeed)
        hash.add(line)
        return hash.digest
    }

    /// A line that could not be read (a dead letter): its text and the reason. Kept once, a bad
    /// line read again from the start of an input is skipped and counted like an event.
    public static func deadLetter(_ letter: DeadLetter) -> UInt64 {
        var hash = StreamHash(seed: deadLetterSeed)
        hash.add(letter.text)
        hash.add("\n")
        hash.add(letter.reason)
        return hash.digest
    }

    /// A CSV event whose mapping gives no `id`: the row's text (as written, without its line
    /// end) and the event's place among the mapping's `events:`.
    public static func derived(row: [UInt8], event index: Int) -> UInt64 {
        var hash = StreamHash(seed: rowSeed &+ UInt64(index))
        row.withUnsafeBytes { hash.add($0) }
        return hash.digest
    }
}

/// The set of events a state has processed, by `EventIdentity` hash: an open-addressing table
/// of bare 64-bit hashes (linear probing), in 64 parts chosen by the hash's top bits. Each part
/// grows on its own, so growing never holds two copies of the whole set (a single table
/// doubling at ten million events would briefly need 200 MB). A part is at most four fifths
/// full and grows by a quarter (its size need not be a power of two: the slot is the hash's low
/// bits scaled to the size), so it is between 64% and 80% full: ten million events take 107 MB,
/// where doubling tables three quarters full took 134 MB.
public final class ProcessedEvents: @unchecked Sendable {
    static let partBits = 6
    var parts: [UnsafeMutablePointer<UInt64>]
    var capacities: [Int]
    var counts: [Int]
    /// The hash 0 marks an empty slot, so it is kept apart.
    var holdsZero = false
    public private(set) var count = 0

    public init() {
        let partCount = 1 << ProcessedEvents.partBits
        let capacity = 256
        parts = (0..<partCount).map { _ in
            let slots = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
            slots.initialize(repeating: 0, count: capacity)
            return slots
        }
        capacities = [Int](repeating: capacity, count: partCount)
        counts = [Int](repeating: 0, count: partCount)
    }

    deinit { for part in parts { part.deallocate() } }

    /// Adds `identity`; false when it was there already (the event was processed before).
    @discardableResult
    public func insert(_ identity: UInt64) -> Bool {
        if identity == 0 {
            defer { holdsZero = true }
            if !holdsZero { count += 1 }
            return !holdsZero
        }
        let part = Int(identity >> UInt64(64 - ProcessedEvents.partBits))
        if (counts[part] + 1) * 5 > capacities[part] * 4 { grow(part) }
        if ProcessedEvents.place(identity, in: parts[part], capacity: capacities[part]) {
            counts[part] += 1
            count += 1
            return true
        }
        return false
    }

    /// Reads the first slot of each of the first `count` hashes, so that inserting them next
    /// finds those slots in the cache. Returns nothing of use (the sum only keeps the loads).
    @discardableResult
    public func touch(_ identities: [UInt64], count: Int) -> UInt64 {
        var sum: UInt64 = 0
        for index in 0..<min(count, identities.count) {
            let identity = identities[index]
            let part = Int(identity >> UInt64(64 - ProcessedEvents.partBits))
            sum &+= parts[part][ProcessedEvents.home(identity, capacities[part])]
        }
        touched = sum
        return sum
    }

    /// Where `touch` leaves its sum, so that its loads are not optimised away.
    var touched: UInt64 = 0

    public func contains(_ identity: UInt64) -> Bool {
        if identity == 0 { return holdsZero }
        let part = Int(identity >> UInt64(64 - ProcessedEvents.partBits))
        let slots = parts[part], capacity = capacities[part]
        var slot = ProcessedEvents.home(identity, capacity)
        while true {
            let held = slots[slot]
            if held == identity { return true }
            if held == 0 { return false }
            slot += 1
            if slot == capacity { slot = 0 }
        }
    }

    /// The first slot to try: the low 32 bits scaled to the part's size (the top bits chose the part).
    @inline(__always) static func home(_ identity: UInt64, _ capacity: Int) -> Int {
        Int(((identity & 0xFFFF_FFFF) &* UInt64(capacity)) >> 32)
    }

    /// Puts `identity` in the first free slot from its home; false when it is there already.
    @inline(__always) static func place(_ identity: UInt64, in slots: UnsafeMutablePointer<UInt64>, capacity: Int) -> Bool {
        var slot = home(identity, capacity)
        while true {
            let held = slots[slot]
            if held == identity { return false }
            if held == 0 {
                slots[slot] = identity
                return true
            }
            slot += 1
            if slot == capacity { slot = 0 }
        }
    }

    /// Makes room for `total` events in all, so that the parts do not grow a quarter at a time
    /// while they are added (each growth moves every hash of the part: over a run that starts
    /// empty, about four moves per event). The parts' shares of `total` are even up to a few
    /// standard deviations, which the room allows for.
    public func reserve(_ total: Int) {
        let partCount = parts.count
        let share = Double(total) / Double(partCount)
        let expected = Int(share + 4 * share.squareRoot()) + 16
        let capacity = expected + expected / 4 + 1
        for part in 0..<partCount where capacities[part] < capacity { grow(part, to: capacity) }
    }

    func grow(_ part: Int, to wanted: Int? = nil) {
        let old = parts[part], oldCapacity = capacities[part]
        let capacity = wanted ?? (oldCapacity + oldCapacity / 4 + 1)
        let slots = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        slots.initialize(repeating: 0, count: capacity)
        for index in 0..<oldCapacity where old[index] != 0 { _ = ProcessedEvents.place(old[index], in: slots, capacity: capacity) }
        old.deallocate()
        parts[part] = slots
        capacities[part] = capacity
    }

    /// Bytes the set's tables take.
    public var memoryBytes: Int { capacities.reduce(0, +) * MemoryLayout<UInt64>.stride }
}

/// The events one checkpoint adds to the processed set, as the state stores them: one row per
/// checkpoint with the hashes as one blob (eight little-endian bytes each), not one row per
/// event, so a checkpoint of a thousand events writes eight kilobytes in one statement.
public struct ProcessedSegment: Sendable, Equatable {
    public var identities: [UInt64] = []
    /// The latest event time among them: what a retention horizon would compare (see
    /// `StateStore.dropProcessedEvents(before:)`).
    public var newest: Int64 = .min

    public init() {}

    public var isEmpty: Bool { identities.isEmpty }

    public mutating func append(_ identity: UInt64, time: Int64) {
        identities.append(identity)
        if time > newest { newest = time }
    }

    public mutating func removeAll() {
        identities.removeAll(keepingCapacity: true)
        newest = .min
    }

    /// The blob stored for the segment.
    public var bytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: identities.count * 8)
        bytes.withUnsafeMutableBytes { raw in
            for (index, identity) in identities.enumerated() { raw.storeBytes(of: identity.littleEndian, toByteOffset: index * 8, as: UInt64.self) }
        }
        return bytes
    }

    /// Adds the hashes of a stored blob to `set` (a blob whose length is not a multiple of eight
    /// has its last partial hash ignored; nothing writes such a blob).
    public static func load(_ blob: UnsafeRawBufferPointer, into set: ProcessedEvents) {
        for index in 0..<(blob.count / 8) {
            set.insert(UInt64(littleEndian: blob.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)))
        }
    }
}
