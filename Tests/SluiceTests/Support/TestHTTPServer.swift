import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// One request as the test server received it.
struct RecordedRequest: Sendable {
    /// Request method, e.g. `POST`.
    var method: String
    /// Request target as sent (path and query).
    var path: String
    /// Header fields in arrival order, names as the client spelled them.
    var headers: [(name: String, value: String)]
    /// The body after removing any chunked framing.
    var body: [UInt8]
    /// When the request head was complete.
    var arrival: ContinuousClock.Instant
    /// Which accepted connection carried it (0, 1, 2, ... in accept order), to observe keep-alive.
    var connection: Int

    /// The first value of header `name`, compared case-insensitively.
    func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// A real HTTP/1.1 server on 127.0.0.1 for delivery tests: an ephemeral port, keep-alive, every request recorded,
/// each answered by a script. Built on sockets and one thread per connection so URLSession talks to it exactly as
/// it would to a real endpoint.
///
/// It cannot hang a test: every read waits in 50 ms slices checking for `stop()`, idle connections close after
/// ``idleTimeout``, and the whole server stops itself after ``maxLifetime`` even if a test forgets `stop()`.
final class TestHTTPServer: Sendable {
    /// How the server answers one request.
    enum Action: Sendable {
        /// Answer with this status, extra headers and body (Content-Length is added).
        case respond(status: Int, headers: [(name: String, value: String)], body: [UInt8])
        /// Perform `action` after `delay`, e.g. a slow answer past the client's timeout.
        indirect case delayed(Duration, Action)
        /// Close the connection without answering: a mid-request drop.
        case closeConnection
        /// Reset the connection (RST, via SO_LINGER 0) without answering.
        case resetConnection
        /// Send a head promising `declaredLength` body bytes, then only `body`, then close: a cut response.
        case truncated(status: Int, declaredLength: Int, body: [UInt8])

        /// A response with a text body.
        static func status(_ status: Int, body: String = "", headers: [(name: String, value: String)] = []) -> Action {
            .respond(status: status, headers: headers, body: Array(body.utf8))
        }
    }

    /// Picks the action for a request; the index counts requests across all connections from 0.
    typealias Script = @Sendable (RecordedRequest, Int) -> Action

    private struct State {
        var requests: [RecordedRequest] = []
        var openConnections: [Int: Int32] = [:]
        var connectionsAccepted = 0
        var liveThreads = 0
        var stopped = false
    }

    /// The bound port on 127.0.0.1.
    let port: UInt16
    /// Idle keep-alive connections are closed after this long.
    let idleTimeout: Duration
    /// The server stops itself after this long, so a forgotten `stop()` cannot keep threads alive forever.
    let maxLifetime: Duration

    private let listenFD: Int32
    private let script: Script
    private let state = Mutex(State())
    private let started = ContinuousClock.now

    /// Starts listening on 127.0.0.1 with an ephemeral port.
    init(idleTimeout: Duration = .seconds(10), maxLifetime: Duration = .seconds(120), script: @escaping Script) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError.socket(errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let code = errno
            close(fd)
            throw ServerError.socket(code)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            let code = errno
            close(fd)
            throw ServerError.socket(code)
        }
        self.port = UInt16(bigEndian: address.sin_port)
        self.listenFD = fd
        self.idleTimeout = idleTimeout
        self.maxLifetime = maxLifetime
        self.script = script
        state.withLock { $0.liveThreads += 1 }
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "TestHTTPServer.accept"
        thread.start()
    }

    enum ServerError: Error { case socket(Int32) }

    /// `http://127.0.0.1:PORT` followed by `path`.
    func url(_ path: String = "/") -> URL {
        URL(string: "http://127.0.0.1:\(port)\(path)")!
    }

    /// Every request received so far, in arrival order.
    var requests: [RecordedRequest] { state.withLock { $0.requests } }

    /// How many connections have been accepted so far.
    var connectionsAccepted: Int { state.withLock { $0.connectionsAccepted } }

    /// Closes the listener and every connection, and waits (at most 2 s) for the server's threads to end.
    func stop() {
        signalStop()
        let deadline = ContinuousClock.now + .seconds(2)
        while state.withLock({ $0.liveThreads }) > 0, ContinuousClock.now < deadline {
            usleep(5_000)
        }
    }

    /// Marks the server stopped and wakes every connection; threads notice within one 50 ms poll slice.
    private func signalStop() {
        state.withLock { state in
            state.stopped = true
            // Under the lock, so no connection thread can close (and the kernel reuse) a descriptor meanwhile.
            for fd in state.openConnections.values { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    private var shouldStop: Bool {
        if state.withLock({ $0.stopped }) { return true }
        if ContinuousClock.now - started > maxLifetime {
            signalStop()
            return true
        }
        return false
    }

    // MARK: - Accepting

    private func acceptLoop() {
        defer {
            close(listenFD)
            state.withLock { $0.liveThreads -= 1 }
        }
        while !shouldStop {
            var descriptor = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 50) > 0 else { continue }
            let client = accept(listenFD, nil, nil)
            guard client >= 0 else { continue }
            var yes: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            let id: Int? = state.withLock { state in
                if state.stopped { return nil }
                let id = state.connectionsAccepted
                state.connectionsAccepted += 1
                state.openConnections[id] = client
                state.liveThreads += 1
                return id
            }
            guard let id else {
                close(client)
                break
            }
            let thread = Thread { [self] in serve(connection: id, fd: client) }
            thread.name = "TestHTTPServer.connection.\(id)"
            thread.start()
        }
    }

    // MARK: - One connection

    private func serve(connection id: Int, fd: Int32) {
        defer {
            state.withLock { state in
                state.openConnections[id] = nil
                close(fd)
                state.liveThreads -= 1
            }
        }
        var reader = Reader(fd: fd, server: self)
        while let head = reader.readHead() {
            guard let (method, path, headers) = Self.parseHead(head) else { return }
            let header = { (name: String) in headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value }
            if header("Expect")?.lowercased() == "100-continue" {
                guard write(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return }
            }
            let body: [UInt8]
            if header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
                guard let chunked = reader.readChunkedBody() else { return }
                body = chunked
            } else {
                let length = header("Content-Length").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0
                guard length >= 0, let exact = reader.readExactly(length) else { return }
                body = exact
            }
            let request = RecordedRequest(method: method, path: path, headers: headers, body: body,
                                          arrival: .now, connection: id)
            let index = state.withLock { state in
                state.requests.append(request)
                return state.requests.count - 1
            }
            guard perform(script(request, index), fd: fd) else { return }
            if header("Connection")?.lowercased() == "close" { return }
        }
    }

    /// Carries out `action`; false means the connection must close.
    private func perform(_ action: Action, fd: Int32) -> Bool {
        switch action {
        case .closeConnection:
            return false
        case .resetConnection:
            var option = linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
            return false
        case .truncated(let status, let declaredLength, let body):
            let head = "HTTP/1.1 \(status) \(Self.reasonPhrase(status))\r\nContent-Length: \(declaredLength)\r\n\r\n"
            _ = write(fd, Array(head.utf8) + body)
            return false
        case .delayed(let delay, let next):
            let end = ContinuousClock.now + delay
            while ContinuousClock.now < end {
                if shouldStop { return false }
                usleep(UInt32(max(1, min(10_000, (end - ContinuousClock.now).milliseconds * 1_000))))
            }
            return perform(next, fd: fd)
        case .respond(let status, let headers, let body):
            var head = "HTTP/1.1 \(status) \(Self.reasonPhrase(status))\r\nContent-Length: \(body.count)\r\n"
            for header in headers { head += "\(header.name): \(header.value)\r\n" }
            head += "\r\n"
            guard write(fd, Array(head.utf8) + body) else { return false }
            return !headers.contains { $0.name.lowercased() == "connection" && $0.value.lowercased() == "close" }
        }
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                return false
            }
            sent += n
        }
        return true
    }

    static func parseHead(_ head: [UInt8]) -> (String, String, [(name: String, value: String)])? {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        guard !lines.isEmpty else { return nil }
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/1.") else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return (String(requestLine[0]), String(requestLine[1]), headers)
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }

    /// Buffered reads that give up on stop, on EOF and after the idle timeout, so a connection thread always ends.
    private struct Reader {
        let fd: Int32
        let server: TestHTTPServer
        var buffer: [UInt8] = []
        static let maxHead = 64 * 1024
        static let maxBody = 64 * 1024 * 1024

        /// Reads more bytes into the buffer; false on EOF, error, stop or idle timeout.
        mutating func fill() -> Bool {
            let idleEnd = ContinuousClock.now + server.idleTimeout
            while ContinuousClock.now < idleEnd {
                if server.shouldStop { return false }
                var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&descriptor, 1, 50)
                if ready < 0 && errno != EINTR { return false }
                guard ready > 0 else { continue }
                var chunk = [UInt8](repeating: 0, count: 64 * 1024)
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                buffer.append(contentsOf: chunk[0..<n])
                return true
            }
            return false
        }

        /// The bytes of the next request head (without the blank line), or nil when the connection ended.
        mutating func readHead() -> [UInt8]? {
            while true {
                if let end = find([13, 10, 13, 10]) {
                    let head = Array(buffer[0..<end])
                    buffer.removeFirst(end + 4)
                    return head
                }
                guard buffer.count < Self.maxHead, fill() else { return nil }
            }
        }

        mutating func readExactly(_ count: Int) -> [UInt8]? {
            guard count <= Self.maxBody else { return nil }
            while buffer.count < count {
                guard fill() else { return nil }
            }
            let bytes = Array(buffer[0..<count])
            buffer.removeFirst(count)
            return bytes
        }

        mutating func readLine() -> String? {
            while true {
                if let end = find([13, 10]) {
                    let line = String(decoding: buffer[0..<end], as: UTF8.self)
                    buffer.removeFirst(end + 2)
                    return line
                }
                guard buffer.count < Self.maxHead, fill() else { return nil }
            }
        }

        mutating func readChunkedBody() -> [UInt8]? {
            var body: [UInt8] = []
            while true {
                guard let line = readLine(),
                      let size = Int(line.split(separator: ";")[0].trimmingCharacters(in: .whitespaces), radix: 16),
                      size >= 0, body.count + size <= Self.maxBody else { return nil }
                if size == 0 {
                    // Trailers end with an empty line.
                    while let trailer = readLine() {
                        if trailer.isEmpty { return body }
                    }
                    return nil
                }
                guard let chunk = readExactly(size), readLine() == "" else { return nil }
                body += chunk
            }
        }

        private func find(_ pattern: [UInt8]) -> Int? {
            guard buffer.count >= pattern.count else { return nil }
            for start in 0...(buffer.count - pattern.count) where buffer[start] == pattern[0] {
                if buffer[start..<(start + pattern.count)].elementsEqual(pattern) { return start }
            }
            return nil
        }
    }
}

// MARK: - Ready-made scripts

extension TestHTTPServer {
    /// Answers every request with `action`.
    static func always(_ action: Action) -> Script {
        { _, _ in action }
    }

    /// Answers request i with `actions[i]`, and every later one with `then`.
    static func sequence(_ actions: [Action], then: Action = .status(200, body: "{\"success\":true}")) -> Script {
        { _, index in index < actions.count ? actions[index] : then }
    }

    /// Fails about `fraction` of requests with `failure`, chosen by a hash of `seed` and the request index so a
    /// run is reproducible; the others get 200.
    static func failingFraction(_ fraction: Double, seed: UInt64, failure: Action = .status(500)) -> Script {
        { _, index in
            var z = seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(z >> 11) / Double(1 << 53) < fraction ? failure : .status(200, body: "{\"success\":true}")
        }
    }

    /// 200 with Segment's and Statsig's usual acknowledgement.
    static let ok: Action = .status(200, body: "{\"success\":true}")
    /// 500 with a short body.
    static let serverError: Action = .status(500, body: "{\"error\":\"internal\"}")
    /// 503 with a short body.
    static let unavailable: Action = .status(503, body: "{\"error\":\"unavailable\"}")

    /// 429 asking the client to wait `seconds`.
    static func tooManyRequests(retryAfter seconds: Int) -> Action {
        .status(429, body: "{\"error\":\"rate limited\"}", headers: [("Retry-After", "\(seconds)")])
    }

    /// A 429 whose `Retry-After` asks for more than a day, on every request: a rate limit that never ends.
    static let neverEndingRetryAfter: Action =
        .status(429, body: "{\"error\":\"rate limited\"}", headers: [("Retry-After", "99999")])

    /// 413 with a short body, as an API answers a request over its size limit.
    static let payloadTooLarge: Action = .status(413, body: "{\"error\":\"request too large\"}")

    /// 413 for a body of more than `limit` bytes, 200 otherwise: an endpoint with a request size limit.
    static func rejecting(bodiesLargerThan limit: Int) -> Script {
        { request, _ in request.body.count > limit ? payloadTooLarge : ok }
    }

    /// `status` for a body containing `marker`, 200 otherwise: a batch endpoint that rejects a whole request
    /// for one bad event, the way Heap and Segment answer 400.
    static func rejecting(bodiesContaining marker: String, status: Int = 400) -> Script {
        let needle = Array(marker.utf8)
        return { request, _ in
            let found = request.body.count >= needle.count
                && (0...(request.body.count - needle.count)).contains { start in
                    request.body[start..<(start + needle.count)].elementsEqual(needle)
                }
            return found ? .status(status, body: "{\"error\":\"invalid event\"}") : ok
        }
    }

    /// 400 with `body`, e.g. an error document.
    static func badRequest(_ body: String) -> Action {
        .status(400, body: body, headers: [("Content-Type", "application/json")])
    }
}

private extension Duration {
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1_000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
