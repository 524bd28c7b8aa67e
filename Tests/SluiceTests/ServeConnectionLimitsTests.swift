import Foundation
import Testing
@testable import Sluice

/// The connection-level promises of `sluice serve` over the wire: chunked bodies, idle timeout, connection limit.
@Suite("sluice serve: chunked bodies, idle keep-alive timeout, connection limit")
struct ServeConnectionLimitsTests {
    typealias E = ServeEndToEndTests

    @Test("a chunked log_event body (several chunks, a trailer) is accepted and its events arrive")
    func chunkedBodyEndToEnd() throws {
        let serve = try ServeProcess()
        let body = E.logEventBody(7, tag: "chunked")
        var wire = Array("POST /v1/log_event HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        for start in stride(from: 0, to: body.count, by: 100) {
            let piece = body[start..<min(start + 100, body.count)]
            wire += Array((String(piece.count, radix: 16) + "\r\n").utf8) + piece + Array("\r\n".utf8)
        }
        wire += Array("0\r\nX-Trailer: ignored\r\n\r\n".utf8)
        let client = try RawHTTPClient(port: serve.port)
        client.send(wire)
        #expect(client.readResponse()?.status == 200)
        #expect(serve.terminate() == 0)
        #expect(try serve.summary()["ingested"] as? Int == 7)
        #expect(Set(serve.deliveredEvents().compactMap { $0["eventName"] as? String }).contains("e_chunked_6"))
    }

    @Test("an idle keep-alive connection is closed after idleTimeoutMs; a busy one is not")
    func idleTimeout() throws {
        let serve = try ServeProcess(config: #"{"serve":{"idleTimeoutMs":300}}"#)
        let idle = try RawHTTPClient(port: serve.port)
        #expect(idle.exchange("GET", "/healthz")?.status == 200)
        let started = Date()
        #expect(idle.isClosedByServer(timeout: 10))
        let after = Date().timeIntervalSince(started)
        #expect(after >= 0.2 && after < 5, "closed after \(after) s (idleTimeoutMs is 300)")
        // A connection that keeps sending within the timeout stays open across requests.
        let busy = try RawHTTPClient(port: serve.port)
        for _ in 0..<5 {
            #expect(busy.exchange("GET", "/healthz")?.status == 200)
            usleep(100_000)
        }
        #expect(serve.terminate() == 0)
    }

    @Test("at maxConnections a new connection waits in the accept queue and is served once another closes")
    func connectionLimit() throws {
        let serve = try ServeProcess(config: #"{"serve":{"maxConnections":2}}"#)
        var first: RawHTTPClient? = try RawHTTPClient(port: serve.port)
        let second = try RawHTTPClient(port: serve.port)
        #expect(first?.exchange("GET", "/healthz")?.status == 200)
        #expect(second.exchange("GET", "/healthz")?.status == 200)
        // The third is connected by the kernel but not served while two are open.
        let third = try RawHTTPClient(port: serve.port)
        third.send(RawHTTPClient.request("GET", "/healthz"))
        #expect(third.readResponse(timeout: 1) == nil, "served beyond maxConnections")
        first = nil  // closes it
        _ = first
        let answer = third.readResponse(timeout: 10)
        #expect(answer?.status == 200)
        #expect(serve.terminate() == 0)
    }
}
