// A load client for `redress serve` (issue 14, point 10), driven by Benchmarks/serve_load.py.
//
// Why not only wrk: on this 2-core machine the client shares the processors with the server, and
// wrk's Lua spent about 4 µs of processor time per event building the request text (a table of
// pieces per line, joined): at 100,000 events/s that is 40% of a core taken from the server. This
// client renders each event from its template with byte appends (about 0.3 µs), so what is measured
// is the server. serve_load.py runs wrk as well, with `--client wrk`, as the independent check.
//
// Every event is a line of rules/shop/events/history.jsonl made new: its id is unique, every entity
// key (`"C-10143"`) gets the round's suffix, and every timestamp's year the round added, where the
// round is how many times the history was gone through. So each round is the same shop a year
// later with new customers, orders and shipments: keys hold what a real customer's would, windows
// and retention move on, and absence deadlines fall due as they would live, not all at once.
// Connections share one event counter, so the events go out in the history's order.
//
//     ServeLoad --port 8080 --events FILE --batch 1000 --connections 4 --seconds 10 --run batch [--first-round N] [--past]
//
// `--past` keeps the history's timestamps in every round (weeks before the wall clock, and the
// same weeks again each round): every absence deadline is due on arrival and shared keys such as
// a country's window hold every round's events. The harsher load of earlier measurements.
//
// Prints `RESULT requests=… events=… seconds=… p50_us=… p99_us=… max_us=… non2xx=… errors=… rounds=…`.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

struct Options {
    var port: UInt16 = 0
    var events = ""
    var batch = 1
    var connections = 4
    var seconds = 10.0
    var run = "load"
    var firstRound = 0
    /// False: timestamps as the history has them (every round in the same weeks: `--past`).
    var shiftYears = true

    init(_ arguments: [String]) {
        var index = 1
        func value() -> String {
            index += 1
            guard index < arguments.count else { fail("\(arguments[index - 1]) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--port": port = UInt16(value()) ?? 0
            case "--events": events = value()
            case "--batch": batch = max(1, Int(value()) ?? 1)
            case "--connections": connections = max(1, Int(value()) ?? 1)
            case "--seconds": seconds = Double(value()) ?? 10
            case "--run": run = value()
            case "--first-round": firstRound = Int(value()) ?? 0
            case "--past": shiftYears = false
            default: fail("unknown argument \(arguments[index])")
            }
            index += 1
        }
        if port == 0 || events.isEmpty { fail("usage: ServeLoad --port PORT --events FILE [--batch N] [--connections N] [--seconds S] [--run NAME] [--first-round N]") }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("ServeLoad: " + message + "\n").utf8))
    exit(2)
}

func isUpper(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5A }
func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

/// One history line as the renderer reads it: its text in one array, and the places that change
/// per event as plain steps (an enum with array payloads cost a retain and a release per piece).
struct Template {
    enum Kind: UInt8 {
        /// `bytes[start..<start + count]`
        case text
        /// The event's id.
        case id
        /// After an entity key: the round's suffix.
        case roundSuffix
        /// A timestamp's year, `count`, moved on by the round.
        case year
    }
    struct Step {
        var kind: Kind
        var start = 0
        var count = 0
    }
    var bytes: [UInt8] = []
    var steps: [Step] = []

    init(_ line: [UInt8]) {
        var textStart = 0
        // The text since the last step becomes a step of its own.
        func endText() {
            if bytes.count > textStart { steps.append(Step(kind: .text, start: textStart, count: bytes.count - textStart)) }
            textStart = bytes.count
        }
        func place(_ step: Step) {
            endText()
            steps.append(step)
        }
        let idKey = Array(#""id":""#.utf8)
        var index = 0
        var idDone = false
        while index < line.count {
            let byte = line[index]
            if !idDone, byte == 0x22, line[index...].starts(with: idKey) {
                // The event's own id (the first "id" of the line): replaced whole.
                bytes += idKey
                place(Step(kind: .id))
                index += idKey.count
                while index < line.count, line[index] != 0x22 { index += 1 }
                idDone = true
                continue
            }
            if byte == 0x22 {
                bytes.append(byte)
                index += 1
                // An entity key: capitals, a dash, digits, then the closing quote.
                var end = index
                while end < line.count, isUpper(line[end]) { end += 1 }
                if end > index, end < line.count, line[end] == 0x2D {
                    var digits = end + 1
                    while digits < line.count, isDigit(line[digits]) { digits += 1 }
                    if digits > end + 1, digits < line.count, line[digits] == 0x22 {
                        bytes += line[index..<digits]
                        place(Step(kind: .roundSuffix))
                        index = digits
                        continue
                    }
                }
                // A timestamp: YYYY-MM-DDT.
                if index + 11 <= line.count, (0..<4).allSatisfy({ isDigit(line[index + $0]) }), line[index + 4] == 0x2D,
                   line[index + 7] == 0x2D, line[index + 10] == 0x54 {
                    place(Step(kind: .year, count: line[index..<(index + 4)].reduce(0) { $0 * 10 + Int($1 - 0x30) }))
                    index += 4
                }
                continue
            }
            bytes.append(byte)
            index += 1
        }
        endText()
    }
}

func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    var rest = value
    withUnsafeMutableBytes(of: &digits) { buffer in
        repeat {
            buffer[count] = UInt8(rest % 10) + 0x30
            rest /= 10
            count += 1
        } while rest > 0
        for position in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[position]) }
    }
}

/// The shared event counter: each request takes the next `batch` events.
final class Counter: @unchecked Sendable {
    let lock = NSLock()
    var next: Int
    init(_ first: Int) { next = first }
    func take(_ count: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        let first = next
        next += count
        return first
    }
}

struct ConnectionResult {
    var latencies: [Int] = []
    var events = 0
    var non2xx = 0
    var errors = 0
    var lastEnd: UInt64 = 0
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

final class Connection {
    let port: UInt16
    var socket: Int32 = -1
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var filled = 0

    init(port: UInt16) { self.port = port }

    func connect() -> Bool {
        if socket >= 0 { close(socket) }
        filled = 0
        #if canImport(Glibc)
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        socket = Darwin.socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard socket >= 0 else { return false }
        var one: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                #if canImport(Glibc)
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                #else
                Darwin.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                #endif
            }
        }
        return connected == 0
    }

    func send(_ bytes: [UInt8], more: Bool = false) -> Bool {
        var sent = 0
        while sent < bytes.count {
            #if canImport(Glibc)
            let written = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress! + sent, bytes.count - sent, more ? Int32(MSG_MORE) : 0) }
            #else
            let written = bytes.withUnsafeBytes { Darwin.send(socket, $0.baseAddress! + sent, bytes.count - sent, 0) }
            #endif
            if written <= 0 { return false }
            sent += written
        }
        return true
    }

    /// Reads one response; returns its status, or nil when the connection failed.
    func receive() -> Int? {
        var headerEnd: Int? = nil
        while true {
            if headerEnd == nil, let end = find([0x0D, 0x0A, 0x0D, 0x0A]) { headerEnd = end + 4 }
            if let headerEnd {
                let head = String(decoding: buffer[0..<headerEnd], as: UTF8.self)
                let status = Int(head.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
                let lower = head.lowercased()
                if let range = lower.range(of: "content-length:") {
                    let digits = lower[range.upperBound...].drop { $0 == " " }.prefix { $0.isNumber }
                    let total = headerEnd + (Int(digits) ?? 0)
                    guard fill(upTo: total) else { return nil }
                    consume(total)
                    return status
                }
                if lower.contains("transfer-encoding: chunked") {
                    var position = headerEnd
                    while true {
                        guard let lineEnd = find([0x0D, 0x0A], from: position, reading: true) else { return nil }
                        let size = Int(String(decoding: buffer[position..<lineEnd], as: UTF8.self), radix: 16) ?? 0
                        position = lineEnd + 2 + size + 2
                        guard fill(upTo: position) else { return nil }
                        if size == 0 {
                            consume(position)
                            return status
                        }
                    }
                }
                consume(headerEnd)
                return status
            }
            guard readMore() else { return nil }
        }
    }

    func find(_ pattern: [UInt8], from start: Int = 0, reading: Bool = false) -> Int? {
        var from = start
        while true {
            if filled >= pattern.count, from <= filled - pattern.count {
                for index in from...(filled - pattern.count) where buffer[index] == pattern[0] {
                    if (1..<pattern.count).allSatisfy({ buffer[index + $0] == pattern[$0] }) { return index }
                }
                from = filled - pattern.count + 1
            }
            if !reading { return nil }
            guard readMore() else { return nil }
        }
    }

    func fill(upTo count: Int) -> Bool {
        while filled < count { guard readMore() else { return false } }
        return true
    }

    func readMore() -> Bool {
        if filled == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
        let count = buffer.withUnsafeMutableBytes { read(socket, $0.baseAddress! + filled, $0.count - filled) }
        if count <= 0 { return false }
        filled += count
        return true
    }

    func consume(_ count: Int) {
        buffer.withUnsafeMutableBytes { raw in
            if filled > count, let base = raw.baseAddress { memmove(base, base + count, filled - count) }
        }
        filled -= count
    }
}

/// The run: the templates, the shared counter, and each connection's results.
final class Load: @unchecked Sendable {
    let options: Options
    let templates: [Template]
    let counter: Counter
    let runPrefix: [UInt8]
    let deadline: UInt64
    var results: [ConnectionResult]
    let resultsLock = NSLock()

    init(_ options: Options) {
        self.options = options
        guard let data = FileManager.default.contents(atPath: options.events) else { fail("cannot read \(options.events)") }
        templates = data.split(separator: 0x0A).filter { !$0.isEmpty }.map { Template(Array($0)) }
        guard !templates.isEmpty else { fail("\(options.events) has no events") }
        counter = Counter(options.firstRound * templates.count)
        runPrefix = Array(options.run.utf8)
        deadline = now() + UInt64(options.seconds * 1e9)
        results = [ConnectionResult](repeating: ConnectionResult(), count: options.connections)
    }

    /// What a round changes in its events, rendered once per round (per connection): the
    /// keys' suffix and each year.
    struct Round {
        var number = -1
        var suffix: [UInt8] = []
        var years: [Int: [UInt8]] = [:]
    }

    func render(_ number: Int, into body: inout [UInt8], round cache: inout Round) {
        let round = number / templates.count
        if cache.number != round {
            cache = Round(number: round)
            cache.suffix = [0x2D] + runPrefix + [0x2D]
            appendDecimal(round, to: &cache.suffix)
        }
        let template = templates[number % templates.count]
        template.bytes.withUnsafeBufferPointer { bytes in
            for step in template.steps {
                switch step.kind {
                case .text: body.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[step.start..<(step.start + step.count)]))
                case .id:
                    body += runPrefix
                    body.append(0x2D)
                    appendDecimal(number, to: &body)
                case .roundSuffix: body += cache.suffix
                case .year:
                    if let text = cache.years[step.count] {
                        body += text
                    } else {
                        var text: [UInt8] = []
                        appendDecimal(options.shiftYears ? step.count + round : step.count, to: &text)
                        cache.years[step.count] = text
                        body += text
                    }
                }
            }
        }
    }

    /// One connection's life: requests one after another until the deadline.
    func drive(_ index: Int) {
        let contentType = options.batch == 1 ? "application/json" : "application/x-ndjson"
        var result = ConnectionResult()
        let connection = Connection(port: options.port)
        var connected = connection.connect()
        var body: [UInt8] = []
        var request: [UInt8] = []
        var round = Round()
        while now() < deadline {
            if !connected {
                result.errors += 1
                connected = connection.connect()
                if !connected { usleep(10_000); continue }
            }
            body.removeAll(keepingCapacity: true)
            let first = counter.take(options.batch)
            for number in first..<(first + options.batch) {
                if number > first { body.append(0x0A) }
                render(number, into: &body, round: &round)
            }
            request.removeAll(keepingCapacity: true)
            request += Array("POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
            let start = now()
            // Head and body sent apart: a megabyte's copy per request saved (the head with
            // MSG_MORE, so the two leave together).
            guard connection.send(request, more: true), connection.send(body), let status = connection.receive() else {
                connected = false
                continue
            }
            let end = now()
            result.latencies.append(Int((end - start) / 1000))
            result.lastEnd = end
            if status == 200 { result.events += options.batch } else { result.non2xx += 1 }
        }
        resultsLock.lock()
        results[index] = result
        resultsLock.unlock()
    }
}

let load = Load(Options(CommandLine.arguments))
let started = now()
let group = DispatchGroup()
for index in 0..<load.options.connections {
    group.enter()
    let thread = Thread {
        load.drive(index)
        group.leave()
    }
    thread.stackSize = 1 << 20
    thread.start()
}
group.wait()
let results = load.results
let latencies = results.flatMap(\.latencies).sorted()
func percentile(_ share: Double) -> Int {
    guard !latencies.isEmpty else { return 0 }
    return latencies[min(latencies.count - 1, Int(Double(latencies.count) * share))]
}
let seconds = Double((results.map(\.lastEnd).max() ?? started) - started) / 1e9
let events = results.reduce(0) { $0 + $1.events }
print("RESULT requests=\(latencies.count) events=\(events) seconds=\(String(format: "%.3f", seconds)) p50_us=\(percentile(0.5)) p99_us=\(percentile(0.99)) max_us=\(latencies.last ?? 0) non2xx=\(results.reduce(0) { $0 + $1.non2xx }) errors=\(results.reduce(0) { $0 + $1.errors }) rounds=\(load.counter.next / load.templates.count + 1)")
