import Foundation
import RedressIR
import RedressEvents

/// A request body read into events, on the request's own thread (parsing is spread over the
/// server's threads; only evaluation is serial).
public struct IngestBody: Sendable {
    public var items: [IngestItem]
    /// Blank lines of a batch: no event, not a dead letter; reported so nothing goes unsaid.
    public var blankLines = 0

    /// A line longer than the limit: the whole request is refused (HTTP 413), nothing evaluated.
    public struct LineTooLong: Error, Equatable {
        public var line: Int
        public var limit: Int
    }

    public static let missingID = "no `id`: a served event needs one, so that a retry is recognised"

    /// `batch`: JSON lines (`application/x-ndjson`), else the body is one JSON event.
    public init(_ body: UnsafeRawBufferPointer, batch: Bool, reader: EventReader, maximumLineBytes: Int) throws(LineTooLong) {
        items = []
        let bytes = body.bindMemory(to: UInt8.self)
        var event = Event(slotCount: reader.program.slots.count)
        // One copy of the body, which the events' lines are slices of (kept for the ingest log):
        // one allocation per request. A copy per line was freed under malloc's slow path (the
        // lines are larger than its fast bins).
        let copy = [UInt8](bytes)
        func read(_ line: UnsafeBufferPointer<UInt8>, number: Int) {
            if let reason = reader.read(line, number: number, into: &event) {
                items.append(.deadLetter(line: number, reason: reason))
            } else if event.id.isEmpty {
                items.append(.deadLetter(line: number, reason: IngestBody.missingID))
            } else {
                event.idHash = EventIdentity.of(id: event.id)
                let start = line.baseAddress.map { bytes.baseAddress?.distance(to: $0) ?? 0 } ?? 0
                items.append(.event(event, line: copy[start..<(start + line.count)]))
            }
        }
        guard batch else {
            guard bytes.count <= maximumLineBytes else { throw LineTooLong(line: 1, limit: maximumLineBytes) }
            read(withoutByteOrderMark(bytes), number: 1)
            return
        }
        guard let base = bytes.baseAddress else { return }
        var start = 0
        var number = 0
        while start < bytes.count {
            // memchr: the line's end found 16 or 32 bytes at a time (a loop over the bytes was a
            // tenth of the reading thread's time).
            let end = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start)
                .map { base.distance(to: $0.assumingMemoryBound(to: UInt8.self)) } ?? bytes.count
            number += 1
            var last = end
            if last > start, bytes[last - 1] == UInt8(ascii: "\r") { last -= 1 }
            guard last - start <= maximumLineBytes else { throw LineTooLong(line: number, limit: maximumLineBytes) }
            var line = UnsafeBufferPointer(rebasing: bytes[start..<last])
            if number == 1 { line = withoutByteOrderMark(line) }
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
                blankLines += 1
            } else {
                read(line, number: number)
            }
            start = end + 1
        }
    }

    /// Events, as opposed to dead letters.
    public var eventCount: Int {
        items.reduce(0) { if case .event = $1 { $0 + 1 } else { $0 } }
    }
}
