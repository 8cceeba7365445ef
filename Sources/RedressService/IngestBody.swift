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
        func read(_ line: UnsafeBufferPointer<UInt8>, number: Int) {
            if let reason = reader.read(line, number: number, into: &event) {
                items.append(.deadLetter(line: number, reason: reason))
            } else if event.id.isEmpty {
                items.append(.deadLetter(line: number, reason: IngestBody.missingID))
            } else {
                event.idHash = EventIdentity.of(id: event.id)
                // Its own copy: measured, slices of one copy of the body were slower (the bodies
                // then live until their group's commit).
                items.append(.event(event, line: ArraySlice(line)))
            }
        }
        guard batch else {
            guard bytes.count <= maximumLineBytes else { throw LineTooLong(line: 1, limit: maximumLineBytes) }
            read(withoutByteOrderMark(bytes), number: 1)
            return
        }
        var start = 0
        var number = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
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
