import Foundation

/// A minimal HTTP/1.1 client over a plain socket, so that a test sets every header itself
/// (Host and Origin included, which URLSession would set for it).
struct HTTPClient {
    var port: Int

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var object: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// On a thread of its own: the socket calls block, and the test's threads are the server's too.
    func send(_ method: String, _ path: String, headers: [String: String] = [:], body: Data = Data()) async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try self.sendWaiting(method, path, headers: headers, body: body) })
            }
        }
    }

    func sendWaiting(_ method: String, _ path: String, headers: [String: String], body: Data) throws -> Response {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "no socket") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "cannot connect to port \(port)") }
        var head = "\(method) \(path) HTTP/1.1\r\n"
        var fields = ["Host": "127.0.0.1:\(port)", "Connection": "close", "Content-Length": "\(body.count)"]
        for (name, value) in headers { fields[name] = value }
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) where !value.isEmpty { head += "\(name): \(value)\r\n" }
        let request = Data((head + "\r\n").utf8) + body
        try request.withUnsafeBytes { bytes in
            var sent = 0
            while sent < bytes.count {
                let written = write(socket, bytes.baseAddress! + sent, bytes.count - sent)
                // The server may answer (413) and close before reading a large body.
                if written <= 0 { if sent > 0 { return }; throw Failure(description: "cannot send") }
                sent += written
            }
        }
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(socket, &buffer, buffer.count)
            if count <= 0 { break }
            received.append(contentsOf: buffer[0..<count])
        }
        guard let end = received.range(of: Data("\r\n\r\n".utf8)) else { throw Failure(description: "no response head in \(received.count) bytes") }
        let lines = String(decoding: received[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        var body = Data(received[end.upperBound...])
        if headers["transfer-encoding"] == "chunked" { body = Self.unchunked(body) }
        return Response(status: status, headers: headers, body: body)
    }

    static func unchunked(_ data: Data) -> Data {
        var out = Data()
        var rest = data[...]
        while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
            let size = Int(String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self), radix: 16) ?? 0
            if size == 0 { break }
            let start = lineEnd.upperBound
            out.append(rest[start..<min(rest.endIndex, start + size)])
            rest = rest[min(rest.endIndex, start + size + 2)...]
        }
        return out
    }

    func post(_ path: String, _ object: Any, headers: [String: String] = [:]) async throws -> Response {
        var fields = ["Content-Type": "application/json"]
        for (name, value) in headers { fields[name] = value }
        return try await send("POST", path, headers: fields, body: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
    }
}
