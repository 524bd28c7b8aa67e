#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

/// One accepted connection, served on its own thread: read, parse, answer, repeat while keep-alive lasts.
struct HTTPConnection: Sendable {
    let fd: Int32
    let client: HTTPClientInfo
    let server: HTTPServer

    /// How often a waiting connection looks at the shutdown flag.
    private static let pollSliceMs: Int32 = 100

    func run() {
        defer { close(fd) }
        var timeout = timeval(tv_sec: server.settings.readTimeoutMs / 1000, tv_usec: .init(server.settings.readTimeoutMs % 1000 * 1000))
        // A client that stops reading must not hold this thread forever on a write.
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))

        let settings = server.settings
        var parser = HTTPRequestParser(limits: HTTPParserLimits(maxHeaderBytes: settings.maxHeaderBytes, maxHeaderCount: settings.maxHeaderCount,
                                                                maxBodyBytes: settings.maxBodyBytes))
        var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
        var idleSince = Self.nowMs()
        var requestStarted: Int64?
        // Bytes this connection holds in the server's body budget (the request being read or answered).
        var reserved = 0
        defer { server.bodyBudget.release(reserved) }
        while true {
            // Take out every request the buffered bytes complete.
            do {
                while let event = try parser.next() {
                    switch event {
                    case .head(let head):
                        // Room for the declared body first: a body that does not fit is never read (nor is
                        // 100 Continue sent for it).
                        guard reserveBody(parser.bodyBytesNeeded, reserved: &reserved) else { return }
                        if head.header("Expect")?.lowercased() == "100-continue" {
                            guard write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return }
                        }
                    case .request(let request):
                        let keepAlive = respond(to: request, started: requestStarted ?? Self.nowMs())
                        server.bodyBudget.release(reserved)
                        reserved = 0
                        guard keepAlive else { return }
                        requestStarted = nil
                        idleSince = Self.nowMs()
                    }
                }
            } catch {
                server.stats.record(route: "malformed", status: error.status, seconds: 0)
                var response = HTTPServerResponse.error(error.status, error.reason)
                response.closeConnection = true
                _ = write(response.serialized(keepAlive: false))
                lingeringClose()
                return
            }
            if parser.isIdle {
                requestStarted = nil
                if server.isShuttingDown { return }
            } else if requestStarted == nil {
                requestStarted = Self.nowMs()
            }
            // A chunked body grows as it arrives: room for what it holds before reading more of it.
            guard reserveBody(parser.bodyBytesNeeded, reserved: &reserved) else { return }

            // Wait for bytes, within the request's read deadline or the idle timeout.
            let now = Self.nowMs()
            let deadline = requestStarted.map { $0 + Int64(settings.readTimeoutMs) } ?? idleSince + Int64(settings.idleTimeoutMs)
            if now >= deadline {
                if requestStarted != nil {
                    server.stats.record(route: "timeout", status: 408, seconds: 0)
                    _ = write(HTTPServerResponse.error(408, "request not received within \(settings.readTimeoutMs) ms (serve.readTimeoutMs)").serialized(keepAlive: false))
                }
                return
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(Int64(Self.pollSliceMs), deadline - now)))
            if ready < 0 && errno != EINTR { return }
            guard ready > 0 else { continue }
            let count = readBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return
            }
            if count == 0 {
                // The client closed its side. Between requests that is the normal end; mid-request the request
                // is incomplete (a body shorter than declared): say so, in case the client still reads.
                if !parser.isIdle {
                    server.stats.record(route: "malformed", status: 400, seconds: 0)
                    _ = write(HTTPServerResponse.error(400, "connection closed before the request was complete").serialized(keepAlive: false))
                }
                return
            }
            readBuffer.withUnsafeBytes { parser.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }

    /// Grows this connection's share of the body budget to `needed` bytes, waiting up to `bodyBudgetWaitMs` for
    /// other requests to give bytes back. When it cannot, answers 503 with `Retry-After` (the body unread, the
    /// connection closed after a lingering read so the client sees the answer) and returns false.
    private func reserveBody(_ needed: Int, reserved: inout Int) -> Bool {
        guard needed > reserved else { return true }
        let budget = server.bodyBudget
        let deadline = Self.nowMs() + Int64(server.settings.bodyBudgetWaitMs)
        while !budget.tryReserve(needed - reserved) {
            if Self.nowMs() >= deadline || server.isShuttingDown {
                server.stats.record(route: "over_budget", status: 503, seconds: 0)
                var response = HTTPServerResponse.error(503, "too many request bodies in flight (serve.maxInFlightBodyBytes is \(budget.limit) bytes); retry later",
                                                        headers: [("Retry-After", "1")])
                response.closeConnection = true
                _ = write(response.serialized(keepAlive: false))
                lingeringClose()
                return false
            }
            usleep(5_000)
        }
        reserved = needed
        return true
    }

    /// Runs the handler for `request` and writes its answer; returns whether the connection stays open.
    private func respond(to request: HTTPServerRequest, started: Int64) -> Bool {
        server.stats.requestStarted()
        let response = Self.await(server.handler, request, client)
        server.stats.requestFinished()
        let keepAlive = request.keepAlive && !response.closeConnection && !server.isShuttingDown
        server.stats.record(route: response.route, status: response.status, seconds: Double(Self.nowMs() - started) / 1000)
        guard write(response.serialized(keepAlive: keepAlive)) else { return false }
        if !keepAlive && response.closeConnection { lingeringClose() }
        return keepAlive
    }

    /// Runs the async handler from this (non-cooperative) thread and blocks the thread until it answers.
    private static func await(_ handler: @escaping HTTPServer.Handler, _ request: HTTPServerRequest,
                              _ client: HTTPClientInfo) -> HTTPServerResponse {
        let box = ResponseBox()
        Task {
            box.set(await handler(request, client))
        }
        return box.wait()
    }

    /// Writes all of `bytes`; false when the peer is gone or stopped reading.
    private func write(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += sent
            }
            return true
        }
    }

    /// After an error answer, stop sending and read what the client is still sending for a moment, so the
    /// kernel does not reset the connection before the client has read the answer (as nginx's lingering close).
    private func lingeringClose() {
        shutdown(fd, Int32(SHUT_WR))
        var discard = [UInt8](repeating: 0, count: 64 * 1024)
        let deadline = Self.nowMs() + 1000
        var total = 0
        while Self.nowMs() < deadline && total < 16 * 1024 * 1024 {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let count = discard.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return }
            total += count
        }
    }

    static func nowMs() -> Int64 { Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000) }
}

/// Hands a response from the handler's task to the waiting connection thread.
private final class ResponseBox: Sendable {
    private let value = Mutex<HTTPServerResponse?>(nil)
    private let ready = DispatchSemaphore(value: 0)

    func set(_ response: HTTPServerResponse) {
        value.withLock { $0 = response }
        ready.signal()
    }

    func wait() -> HTTPServerResponse {
        ready.wait()
        return value.withLock { $0! }
    }
}
