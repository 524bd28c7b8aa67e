import Foundation
import Testing
@testable import Sluice

/// Both transports (URLSession and libcurl) against the real test server: one send, no retries.
@Suite("HTTP transports")
struct URLSessionTransportTests {
    @Test("sequential requests reuse one keep-alive connection", arguments: TransportKind.allCases)
    func reusesConnection(_ kind: TransportKind) async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let transport = try kind.make(maxConnectionsPerHost: 2)
        for index in 0..<5 {
            let response = try await transport.send(HTTPRequest(url: server.url("/r\(index)"), body: [1]), timeout: .seconds(5))
            #expect(response.status == 200)
        }
        #expect(server.requests.map(\.path) == ["/r0", "/r1", "/r2", "/r3", "/r4"])
        #expect(server.connectionsAccepted == 1)
    }

    @Test("non-2xx statuses come back as responses with lower-cased header names and the body", arguments: TransportKind.allCases)
    func returnsErrorStatusesAsResponses(_ kind: TransportKind) async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(
            .status(404, body: "nope", headers: [("X-Request-ID", "r-1"), ("Retry-After", "3")])))
        defer { server.stop() }
        let response = try await kind.make().send(HTTPRequest(url: server.url("/missing")), timeout: .seconds(5))
        #expect(response.status == 404)
        #expect(response.body == Array("nope".utf8))
        #expect(response.headers["x-request-id"] == "r-1")
        #expect(response.headers["retry-after"] == "3")
    }

    @Test("a 1 MB body arrives byte for byte", arguments: TransportKind.allCases)
    func sendsLargeBody(_ kind: TransportKind) async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let body = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let response = try await kind.make().send(HTTPRequest(url: server.url("/big"), body: body), timeout: .seconds(10))
        #expect(response.status == 200)
        #expect(server.requests.first?.body == body)
    }

    @Test("the timeout is a hard limit on the whole exchange, also below one second", arguments: TransportKind.allCases)
    func honoursTimeout(_ kind: TransportKind) async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(.delayed(.seconds(120), TestHTTPServer.ok)))
        defer { server.stop() }
        let start = ContinuousClock.now
        await #expect(throws: HTTPTransportError.timedOut) {
            try await kind.make().send(HTTPRequest(url: server.url("/slow")), timeout: .milliseconds(250))
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(240))
        #expect(elapsed < .seconds(60))
    }

    @Test("cancelling the calling task cancels the request promptly", arguments: TransportKind.allCases)
    func cancellationCancelsRequest(_ kind: TransportKind) async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(.delayed(.seconds(120), TestHTTPServer.ok)))
        defer { server.stop() }
        let url = server.url("/slow")
        let start = ContinuousClock.now
        let task = Task { try await kind.make().send(HTTPRequest(url: url), timeout: .seconds(120)) }
        try await Task.sleep(for: .milliseconds(150))
        task.cancel()
        await #expect(throws: HTTPTransportError.cancelled) { try await task.value }
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test("a task cancelled before sending sends nothing", arguments: TransportKind.allCases)
    func alreadyCancelledSendsNothing(_ kind: TransportKind) async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let url = server.url("/never")
        let task = Task {
            while !Task.isCancelled { await Task.yield() }
            return try await kind.make().send(HTTPRequest(url: url), timeout: .seconds(5))
        }
        task.cancel()
        await #expect(throws: HTTPTransportError.cancelled) { try await task.value }
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.requests.isEmpty)
    }

    @Test("a refused connection is a connection failure whose text has no URL", arguments: TransportKind.allCases)
    func refusedConnection(_ kind: TransportKind) async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        let url = server.url("/v1/batch?key=secret-in-query")
        server.stop()
        do {
            _ = try await kind.make().send(HTTPRequest(url: url), timeout: .seconds(60))
            Issue.record("expected an error")
        } catch let error as HTTPTransportError {
            guard case .connectionFailed = error else {
                Issue.record("expected connectionFailed, got \(error)")
                return
            }
            #expect(!error.description.contains("127.0.0.1"))
            #expect(!error.description.contains("secret"))
        }
    }

    @Test("destinations get the libcurl transport unless URLSession is asked for")
    func defaultTransportIsCurl() {
        #expect(DefaultHTTPTransport.make(nil, maxConnectionsPerHost: 2).0 is CurlTransport)
        #expect(DefaultHTTPTransport.make(.curl, maxConnectionsPerHost: 2).0 is CurlTransport)
        #expect(DefaultHTTPTransport.make(.urlsession, maxConnectionsPerHost: 2).0 is URLSessionTransport)
        #expect(DefaultHTTPTransport.Kind(rawValue: "urlsession") == .urlsession)
    }

    @Test("printing or dumping a request shows header names but never their values")
    func requestDescriptionHidesSecrets() {
        let request = HTTPRequest(url: URL(string: "https://api.example.com/v1/batch?writeKey=wk-123")!,
                                  headers: [("Authorization", "Basic c2VjcmV0Og=="), ("STATSIG-API-KEY", "secret-abc")],
                                  body: [1, 2, 3])
        var dumped = ""
        dump(request, to: &dumped)
        for text in [request.description, "\(request)", String(reflecting: request), dumped] {
            #expect(text.contains("Authorization"))
            #expect(!text.contains("c2VjcmV0Og=="))
            #expect(!text.contains("secret-abc"))
            #expect(!text.contains("wk-123"))
        }
        #expect(request.description == "POST https://api.example.com/v1/batch [headers: Authorization, STATSIG-API-KEY] (3 bytes)")
    }
}
