#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A 64-bit hash of a byte stream, fed in pieces of any size: the digest depends on the bytes
/// only, not on how they were cut (a line at a time, a buffer at a time). It follows xxHash64's
/// round (eight bytes per multiply, so hashing 240 MB of events costs about as much as copying
/// them) with its final mixing. It detects accidental change — a file rewritten, appended to,
/// cut — not a change made to collide on purpose.
public struct StreamHash: Sendable, Equatable {
    static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    var accumulator: UInt64
    /// Bytes not yet mixed in (fewer than eight), little-endian.
    var tail: UInt64 = 0
    var tailCount = 0
    /// Bytes hashed so far.
    public private(set) var length: Int64 = 0

    /// `seed` separates uses (a file's prefix, an event id, an event's line) so that equal bytes
    /// in two roles do not give one hash.
    public init(seed: UInt64 = 0) {
        accumulator = seed &+ StreamHash.prime5
    }

    @inline(__always) static func round(_ accumulator: UInt64, _ word: UInt64) -> UInt64 {
        let mixed = accumulator &+ word &* prime2
        return ((mixed << 31) | (mixed >> 33)) &* prime1
    }

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        guard count > 0 else { return }
        var index = 0
        if tailCount > 0 {
            while tailCount < 8, index < count {
                tail |= UInt64(bytes[index]) << UInt64(8 * tailCount)
                tailCount += 1
                index += 1
            }
            if tailCount == 8 {
                accumulator = StreamHash.round(accumulator, tail)
                tail = 0
                tailCount = 0
            }
        }
        var state = accumulator
        while index + 8 <= count {
            state = StreamHash.round(state, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)))
            index += 8
        }
        accumulator = state
        while index < count {
            tail |= UInt64(bytes[index]) << UInt64(8 * tailCount)
            tailCount += 1
            index += 1
        }
        length += Int64(count)
    }

    public mutating func add(_ bytes: UnsafeBufferPointer<UInt8>) { add(UnsafeRawBufferPointer(bytes)) }

    public mutating func add(_ text: String) {
        var text = text
        text.withUTF8 { add($0) }
    }

    /// The hash of everything added so far (adding more afterwards goes on from where it was).
    public var digest: UInt64 {
        var hash = accumulator ^ UInt64(bitPattern: length)
        if tailCount > 0 { hash = StreamHash.round(hash, tail) }
        hash ^= hash >> 33
        hash = hash &* StreamHash.prime2
        hash ^= hash >> 29
        hash = hash &* StreamHash.prime3
        hash ^= hash >> 32
        return hash
    }
}

/// What a run consumed of its input, recorded with each checkpoint so that a restart can tell
/// whether it is given the same input again (docs/events.md, "Restarts"): the file's path
/// (for messages), its device and inode, how many bytes were consumed, and the hash of those
/// bytes. Standard input and pipes have no identity (device and inode 0): they are never taken
/// to be the input read before.
public struct ConsumedInput: Sendable, Equatable {
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    /// Bytes consumed from the start of the input (through the end of the last line or row
    /// the checkpoint covers).
    public var bytes: Int64
    /// `StreamHash(seed: ConsumedInput.seed)` of those bytes.
    public var prefixHash: UInt64

    public static let seed: UInt64 = 0x5052_4546_4958  // "PREFIX"

    public init(path: String, device: UInt64, inode: UInt64, bytes: Int64, prefixHash: UInt64) {
        self.path = path
        self.device = device
        self.inode = inode
        self.bytes = bytes
        self.prefixHash = prefixHash
    }

    /// The input open on `descriptor`, nothing consumed yet; a file only when it is a regular
    /// file named by a path (`-` is standard input, read from its start whatever it is).
    public init(descriptor: Int32, path: String) {
        var status = stat()
        if path != "-", fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG {
            self.init(path: path, device: UInt64(status.st_dev), inode: UInt64(status.st_ino), bytes: 0,
                      prefixHash: StreamHash(seed: ConsumedInput.seed).digest)
        } else {
            self.init(path: path, device: 0, inode: 0, bytes: 0, prefixHash: StreamHash(seed: ConsumedInput.seed).digest)
        }
    }

    /// Whether this is a file (not standard input or a pipe).
    public var isFile: Bool { device != 0 || inode != 0 }

    /// The same file: device and inode (a file renamed or named by another path is the same
    /// file), or the same path (a file written anew under its name, as an export that replaces
    /// it does). Only its bytes tell whether it still begins with what was read (`InputResume`).
    public func isSameFile(as other: ConsumedInput) -> Bool {
        isFile && other.isFile && ((device == other.device && inode == other.inode) || path == other.path)
    }
}

/// Where a run starts reading its input, given the last checkpoint.
public enum InputResume: Equatable, Sendable {
    /// Read from the first line; events whose id was processed before are skipped and counted.
    case fromStart(FromStart)
    /// The same file, its consumed bytes unchanged: go on at byte `bytes` (after line `line`),
    /// with the hash of the prefix so far. A file that grew goes on with its new lines.
    case after(line: Int, bytes: Int64, hash: StreamHash)
    /// A state written before inputs were recorded: go on after line `line`, as it did then.
    case afterLine(Int)

    public enum FromStart: Equatable, Sendable {
        /// No checkpoint yet: nothing was read before.
        case firstRun
        /// Standard input or a pipe: there is no telling what it held.
        case notAFile
        /// Another file than the one the state last read (another path, device and inode).
        case otherFile(String)
        /// The file the state last read, but shorter than what was consumed or with other bytes
        /// there (rewritten, edited): its lines are not those that were read.
        case changed(String)
    }

    /// Decides where to read `input` (open on `descriptor` at its start), given the line and the
    /// input of the last checkpoint. Continuing needs the same file with the same bytes up to
    /// where the checkpoint was: they are read and hashed again to make sure (a restart reads
    /// the prefix once, without parsing it).
    public static func decide(descriptor: Int32, input: ConsumedInput, checkpointLine: Int?, recorded: ConsumedInput?) -> InputResume {
        guard let checkpointLine else { return .fromStart(.firstRun) }
        // An earlier version's state recorded lines only, and no processed ids to skip by.
        guard let recorded else { return .afterLine(checkpointLine) }
        guard input.isFile else { return .fromStart(.notAFile) }
        guard input.isSameFile(as: recorded) else { return .fromStart(.otherFile(recorded.path)) }
        guard let hash = hashPrefix(descriptor: descriptor, bytes: recorded.bytes), hash.digest == recorded.prefixHash else {
            return .fromStart(.changed(recorded.path))
        }
        return .after(line: checkpointLine, bytes: recorded.bytes, hash: hash)
    }

    /// The hash of the first `bytes` bytes of the file, read with `pread` (the descriptor's
    /// offset is not moved); nil when the file is shorter or cannot be read.
    public static func hashPrefix(descriptor: Int32, bytes: Int64, from start: StreamHash = StreamHash(seed: ConsumedInput.seed)) -> StreamHash? {
        var hash = start
        guard extend(&hash, descriptor: descriptor, to: bytes) else { return nil }
        return hash
    }

    /// Adds the file's bytes from `hash.length` up to `bytes` to `hash`; false when the file
    /// ends before or cannot be read (`hash` is then partly extended).
    public static func extend(_ hash: inout StreamHash, descriptor: Int32, to bytes: Int64) -> Bool {
        let size = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        while hash.length < bytes {
            let wanted = Int(min(Int64(size), bytes - hash.length))
            let count = pread(descriptor, buffer.baseAddress, wanted, off_t(hash.length))
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            hash.add(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return true
    }
}
