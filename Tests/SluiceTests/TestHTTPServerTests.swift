import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The test server is itself test infrastructure other suites trust, so its HTTP handling is checked with a raw
/// socket client that controls the exact bytes on the wire.
@Suite("Test HTTP server")
struct TestHTTPServerTests {
    @Test("serves several requests on one keep-alive connection, including a chunked body")
    func keepAliveServesSeveralRequestsOnOneConnection() throws {
        let server = try TestHTTPServer { request, index in
            .status(200, body: "reply \(index) to \(request.path)")
        }
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        defer { client.close() }

        try client.send("POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        #expect(try client.readResponse().hasSuffix("reply 0 to /first"))
        try client.send("POST /second HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        #expect(try client.readResponse().hasSuffix("reply 1 to /second"))
        try client.send("GET /third HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try client.readResponse().hasSuffix("reply 2 to /third"))

        let requests = server.requests
        #expect(requests.map(\.path) == ["/first", "/second", "/third"])
        #expect(requests.map { String(decoding: $0.body, as: UTF8.self) } == ["hello", "abcde", ""])
        #expect(Set(requests.map(\.connection)) == [0])
        #expect(server.connectionsAccepted == 1)
    }

    @Test("closeConnection drops the connection without an answer and the request is still recorded")
    func closeConnectionDropsWithoutAnswer() throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(.closeConnection))
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        defer { client.close() }
        try client.send("POST /drop HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
        #expect(try client.readToEnd().isEmpty)
        #expect(server.requests.count == 1)
    }

    @Test("stop() ends an idle keep-alive connection promptly")
    func stopClosesIdleConnections() throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        let client = try RawClient(port: server.port)
        defer { client.close() }
        try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try client.readResponse()
        let start = ContinuousClock.now
        server.stop()
        #expect(ContinuousClock.now - start < .seconds(10))  // an idle keep-alive would hold it far longer
        #expect(try client.readToEnd().isEmpty)
    }

    @Test("the seeded random script fails roughly the requested fraction, the same way every run")
    func failingFractionIsSeededAndProportional() throws {
        let script = TestHTTPServer.failingFraction(0.3, seed: 42)
        let probe = RecordedRequest(method: "GET", path: "/", headers: [], body: [], arrival: .now, connection: 0)
        func failures() -> [Int] {
            (0..<1000).filter { index in
                if case .respond(let status, _, _) = script(probe, index) { return status == 500 }
                return false
            }
        }
        let first = failures()
        #expect(first == failures())
        #expect((220...380).contains(first.count))
    }
}

/// A blocking socket client with receive timeouts, for byte-exact conversations with the test server.
private struct RawClient {
    let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
        try #require(sent == bytes.count)
    }

    /// Reads one response with a Content-Length body and returns it as text.
    func readResponse() throws -> String {
        var received: [UInt8] = []
        while true {
            let text = String(decoding: received, as: UTF8.self)
            if let headEnd = text.range(of: "\r\n\r\n") {
                let head = text[..<headEnd.lowerBound].lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text.utf8.distance(from: text.startIndex, to: headEnd.upperBound) >= length {
                    return text
                }
            }
            let chunk = try #require(readChunk(), "connection ended before a full response")
            received += chunk
        }
    }

    /// Reads until the server closes; fails if the receive timeout passes first.
    func readToEnd() throws -> [UInt8] {
        var received: [UInt8] = []
        while true {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 {
                received += buffer[0..<n]
                continue
            }
            // 0 is an orderly close, ECONNRESET an abortive one; a timeout means the server kept it open.
            try #require(n == 0 || errno == ECONNRESET, "the server did not close the connection")
            return received
        }
    }

    private func readChunk() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        return n > 0 ? Array(buffer[0..<n]) : nil
    }

    func close() {
        _ = Glibc.close(fd)
    }
}
