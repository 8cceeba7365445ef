import RedressIR
import RedressEvents
/// A hash table from (namespace, key text) to a value: the engine's memory per key (limits,
/// caps, groups, occurrences) and the simulator's tables per customer, subject and order.
///
/// Hand-written rather than `Dictionary<String, Value>`, because a replay looks keys up several
/// times per decision in tables that grow to hundreds of thousands of keys, and the standard
/// dictionary pays SipHash on the whole String for every lookup and again for every key each
/// time it grows. Here the key's bytes are hashed once per lookup with a cheap multiplicative
/// hash (seeded per process, so keys chosen to collide cannot be prepared in advance), entries
/// keep their hash so growing never rehashes a string, and a namespace number replaces the
/// prefixes (`r3.0|`) that used to be glued onto every key.
///
/// Entries are kept in insertion order (the index only points into them): iterating is
/// deterministic, whatever the seed.
/// Inlinable: the simulator's tables live in another module, where an unspecialised generic
/// would pay for metadata lookups and value-witness copies on every call.
public final class KeyTable<Value> {
    @usableFromInline struct Entry {
        @usableFromInline var hash: UInt64
        @usableFromInline var namespace: Int32
        @usableFromInline var key: String
        @usableFromInline var value: Value
        @usableFromInline init(hash: UInt64, namespace: Int32, key: String, value: Value) {
            self.hash = hash
            self.namespace = namespace
            self.key = key
            self.value = value
        }
    }
    /// One array of entries (hash, key and value side by side: one cache miss per hit in a
    /// large table, not one per array).
    @usableFromInline var entries: [Entry] = []
    /// Open addressing, linear probing: per slot, the entry number + 1 in the high 32 bits (0:
    /// empty) and 32 bits of the hash in the low ones, so most mismatches are seen here.
    @usableFromInline var index: [UInt64]
    @usableFromInline var mask: Int
    @usableFromInline let seed = KeyTableSeed.value
    /// Entries from this number on were inserted after the last checkpoint (`markStored`), so
    /// the store has never held them: one a sweep drops needs no delete. (Entries are appended,
    /// and `removeAll` keeps their order.)
    public private(set) var firstUnstored = 0

    /// The store holds every entry now (a checkpoint wrote them, or they were loaded from it).
    public func markStored() { firstUnstored = entries.count }

    public init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        index = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inlinable public var count: Int { entries.count }

    /// The value of entry `entry` (a number from `find` or `entry`), changed in place.
    @inlinable public subscript(entry entry: Int) -> Value {
        // Lent, not copied: reading one field of a value that holds arrays (a window's latest
        // time, in the retention sweep) then retains and releases nothing.
        _read { yield entries[entry].value }
        _modify { yield &entries[entry].value }
    }
    @inlinable public func key(at entry: Int) -> String { entries[entry].key }
    @inlinable public func namespace(at entry: Int) -> Int32 { entries[entry].namespace }

    @inlinable @inline(__always) func hash(_ namespace: Int32, _ text: String) -> UInt64 {
        var h = seed ^ (UInt64(UInt32(bitPattern: namespace)) &* 0x9E37_79B9_7F4A_7C15)
        var copy = text
        copy.withUTF8 { bytes in
            var i = 0
            let count = bytes.count
            guard let base = bytes.baseAddress else { return }
            // Eight bytes at a time, multiplied and folded (a wyhash-like mix); the tail byte by byte.
            while i + 8 <= count {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
                h = KeyTable.mix(h ^ word)
                i += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < count {
                tail |= UInt64(base[i]) << shift
                shift += 8
                i += 1
            }
            h = KeyTable.mix(h ^ tail ^ (UInt64(count) << 56))
        }
        return h
    }

    @inlinable @inline(__always) static func mix(_ x: UInt64) -> UInt64 {
        let product = x.multipliedFullWidth(by: 0x9FB2_1C65_1E98_DF25)
        return product.high ^ product.low
    }

    /// The slot holding the key, or the empty slot where it would go (entry -1).
    @inlinable @inline(__always) func probe(_ h: UInt64, _ namespace: Int32, _ text: String) -> (slot: Int, entry: Int) {
        let slot = Int(truncatingIfNeeded: h >> 32) & mask
        return probe(h, namespace, text, slot: slot, first: index[slot])
    }

    /// The same from `slot`, whose index word `first` was read already.
    @inlinable @inline(__always) func probe(_ h: UInt64, _ namespace: Int32, _ text: String, slot start: Int, first: UInt64) -> (slot: Int, entry: Int) {
        let tag = h & 0xFFFF_FFFF
        var slot = start
        var packed = first
        while true {
            if packed == 0 { return (slot, -1) }
            if packed & 0xFFFF_FFFF == tag {
                let entry = Int(packed >> 32) - 1
                if entries[entry].hash == h, entries[entry].namespace == namespace, entries[entry].key == text { return (slot, entry) }
            }
            slot = (slot + 1) & mask
            packed = index[slot]
        }
    }

    /// A search begun: the key's hash and the first index word it reads, read now. A caller
    /// that looks keys up in several large tables begins all the searches first: the reads
    /// (cache misses, mostly) then overlap instead of each waiting for the one before.
    public struct Search {
        @usableFromInline let hash: UInt64
        @usableFromInline let slot: Int
        @usableFromInline let first: UInt64
        @inlinable init(hash: UInt64, slot: Int, first: UInt64) {
            self.hash = hash
            self.slot = slot
            self.first = first
        }
    }

    @inlinable @inline(__always) public func begin(_ namespace: Int32, _ text: String) -> Search {
        let h = hash(namespace, text)
        let slot = Int(truncatingIfNeeded: h >> 32) & mask
        return Search(hash: h, slot: slot, first: index[slot])
    }

    /// `entry(_:_:default:)` for a search begun with `begin` (on this table, with no insertion since).
    @inlinable @inline(__always) public func entry(_ namespace: Int32, _ text: String, _ search: Search, default value: @autoclosure () -> Value) -> Int {
        let found = probe(search.hash, namespace, text, slot: search.slot, first: search.first)
        if found.entry >= 0 { return found.entry }
        return insert(search.hash, namespace, text, at: found.slot, value())
    }

    /// The entry holding the key, or nil.
    @inlinable @inline(__always) public func find(_ namespace: Int32, _ text: String) -> Int? {
        let found = probe(hash(namespace, text), namespace, text)
        return found.entry < 0 ? nil : found.entry
    }

    /// The entry holding the key, inserted with `value` when it is not there yet.
    @inlinable @inline(__always) public func entry(_ namespace: Int32, _ text: String, default value: @autoclosure () -> Value) -> Int {
        let h = hash(namespace, text)
        let found = probe(h, namespace, text)
        if found.entry >= 0 { return found.entry }
        return insert(h, namespace, text, at: found.slot, value())
    }

    @inlinable @inline(__always) func insert(_ h: UInt64, _ namespace: Int32, _ text: String, at slot: Int, _ value: Value) -> Int {
        let entry = entries.count
        entries.append(Entry(hash: h, namespace: namespace, key: text, value: value))
        index[slot] = UInt64(entry + 1) << 32 | (h & 0xFFFF_FFFF)
        // At most half full: probes stay short.
        if entries.count * 2 > index.count { grow() }
        return entry
    }

    @inlinable public subscript(namespace: Int32, text: String) -> Value? {
        find(namespace, text).map { entries[$0].value }
    }

    /// Room for `capacity` keys without growing (a caller that expects many keys: each growth
    /// copies the entries and rebuilds the index, on fresh memory).
    public func reserve(_ capacity: Int) {
        entries.reserveCapacity(capacity)
        var size = index.count
        while size < capacity * 2 { size <<= 1 }
        if size > index.count { grow(to: size) }
    }

    @usableFromInline func grow() { grow(to: index.count * 2) }

    /// Drops the entries `drop` picks (by entry number, each asked once, in order, before any
    /// entry moves) and returns, per old entry number, the new one (-1: dropped). The rest keep
    /// their order, moved down in place (no copy of their keys or values); the index is rebuilt
    /// at the size the remaining keys need, so a table that shrank gives its memory back. O(count),
    /// no string hashed again: for the engine's periodic sweep (retention), not the hot path.
    public func removeAll(where drop: (Int) -> Bool) -> [Int] {
        var renumbered = [Int](repeating: -1, count: entries.count)
        var kept = 0, keptStored = 0
        for entry in 0..<entries.count where !drop(entry) {
            renumbered[entry] = kept
            kept += 1
            if entry < firstUnstored { keptStored += 1 }
        }
        firstUnstored = keptStored
        // Moved once every entry was asked (`drop` reads the table): through the buffer, a swap
        // moves two entries; `Array.swapAt` copied them (retaining and releasing each key and
        // window), a twentieth of `serve`'s evaluator thread under a load that sweeps often.
        entries.withUnsafeMutableBufferPointer { buffer in
            for entry in buffer.indices where renumbered[entry] >= 0 && renumbered[entry] != entry {
                buffer.swapAt(renumbered[entry], entry)
            }
        }
        guard kept < entries.count else { return renumbered }
        entries.removeSubrange(kept...)
        var size = 16
        while size < entries.count * 2 { size <<= 1 }
        grow(to: size)
        return renumbered
    }

    func grow(to size: Int) {
        index = [UInt64](repeating: 0, count: size)
        mask = size - 1
        for entry in entries.indices {
            let h = entries[entry].hash
            var slot = Int(truncatingIfNeeded: h >> 32) & mask
            while index[slot] != 0 { slot = (slot + 1) & mask }
            index[slot] = UInt64(entry + 1) << 32 | (h & 0xFFFF_FFFF)
        }
    }
}

/// One random seed for every table of the process (the hash only has to be unpredictable from
/// outside, not different per table).
@usableFromInline enum KeyTableSeed {
    @usableFromInline static let value: UInt64 = UInt64.random(in: 1...UInt64.max)
}
