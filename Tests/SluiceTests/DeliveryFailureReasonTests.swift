import Foundation
import Testing
@testable import Sluice

/// Issue 10, items 7 and 9: a `Retry-After` that never ends is capped by `retry.maxRetryAfterSeconds`, and
/// every reason a delivery gives up with says what happened (the last status, the network failure by name,
/// the attempts), against the real test server and both transports.
@Suite("Delivery failure reasons and the Retry-After cap")
struct DeliveryFailureReasonTests {
    typealias T = HTTPTestSupport

    static let never: @Sendable () -> Bool = { false }

    static func request(_ server: TestHTTPServer) -> HTTPRequest {
        HTTPRequest(url: server.url("/v1/log_event"), headers: [("Content-Type", "application/json")],
                    body: Array("{\"events\":[]}".utf8))
    }

    static func delivery(_ kind: TransportKind, maxAttempts: Int = 2, timeout: Duration = .seconds(20)) throws -> HTTPDelivery {
        HTTPDelivery(transport: try kind.make(),
                     policy: RetryPolicy(maxAttempts: maxAttempts, initialBackoff: .milliseconds(1),
                                         maxBackoff: .milliseconds(5), jitter: .seeded(3)),
                     timeout: timeout)
    }

    static func reason(_ outcome: DeliveryOutcome) -> String? {
        if case .failed(let reason, _, _) = outcome { return reason }
        return nil
    }

    // MARK: - Item 7: Retry-After

    @Test("a never-ending Retry-After waits retry.maxRetryAfterSeconds, then the batch is dead-lettered naming the 429")
    func neverEndingRetryAfterIsCapped() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.neverEndingRetryAfter))
        defer { server.stop() }
        let deadLetters = T.temporaryPath("retry-after-dead.ndjson")
        defer { try? FileManager.default.removeItem(atPath: deadLetters) }
        var destination = T.destination("statsig", .statsig(endpoint: T.endpoint(server), apiKey: T.statsigKey),
                                        maxEvents: 10, maxAttempts: 2, concurrency: 1)
        destination.retry.maxRetryAfterSeconds = 1
        let (input, _) = T.events(3)
        let start = ContinuousClock.now
        let pipeline = try Pipeline(configuration: PipelineConfiguration(destinations: [destination]),
                                    options: PipelineOptions(input: .bytes(input), deadLetterPath: deadLetters))
        let summary = try await pipeline.run()
        let elapsed = ContinuousClock.now - start

        let counts = try #require(summary.destinations["statsig"])
        #expect(counts.deadLettered == 3)
        #expect(summary.isBalanced)
        // The server asked for 99999 s; the cap is 1 s, so the run ends after about a second.
        #expect(elapsed < .seconds(30))
        let requests = server.requests
        try #require(requests.count == 2)
        #expect(requests[1].arrival - requests[0].arrival >= .milliseconds(950), "the capped pause was waited")
        let lines = T.lines(ofFile: deadLetters)
        #expect(lines.count == 3)
        for line in lines {
            let reason = try #require(T.object(line)?["reason"] as? String)
            #expect(reason == "HTTP 429 Too Many Requests after 2 attempts: {\"error\":\"rate limited\"}")
        }
    }

    @Test("a drain deadline during a long Retry-After pause abandons the batch with a reason that names the 429")
    func abandonedDuringRetryAfterNamesTheStatus() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.neverEndingRetryAfter))
        defer { server.stop() }
        let policy = RetryPolicy(maxAttempts: 5, initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(5),
                                 maxRetryAfter: .seconds(600), jitter: .seeded(1))
        let gated = RetryAfterGateTransport(base: try TransportKind.curl.make(), gate: RetryAfterGate(), maxPause: policy.maxRetryAfter)
        let delivery = HTTPDelivery(transport: gated, policy: policy, timeout: .seconds(20))
        let start = ContinuousClock.now
        let abandon: @Sendable () -> Bool = { server.requests.count >= 1 && ContinuousClock.now - start > .milliseconds(300) }
        let outcome = await delivery.deliver(Self.request(server), abandon: abandon)
        let reason = try #require(Self.reason(outcome))
        #expect(reason == HTTPDelivery.abandonedReason
                + " after 1 attempt (last: HTTP 429 Too Many Requests: {\"error\":\"rate limited\"})")
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    // MARK: - Item 9: what happened, by name

    @Test("a refused connection says so", arguments: TransportKind.allCases)
    func refused(_ kind: TransportKind) async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        let request = Self.request(server)
        server.stop()
        let outcome = try await Self.delivery(kind).deliver(request, abandon: Self.never)
        #expect(Self.reason(outcome) == "connection refused after 2 attempts")
    }

    @Test("a connection closed before any answer says so", arguments: TransportKind.allCases)
    func closedWithoutAnswer(_ kind: TransportKind) async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(.closeConnection))
        defer { server.stop() }
        let outcome = try await Self.delivery(kind).deliver(Self.request(server), abandon: Self.never)
        #expect(Self.reason(outcome) == "server closed the connection without a response after 2 attempts")
    }

    @Test("a reset connection says so", arguments: TransportKind.allCases)
    func reset(_ kind: TransportKind) async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(.resetConnection))
        defer { server.stop() }
        let outcome = try await Self.delivery(kind).deliver(Self.request(server), abandon: Self.never)
        #expect(Self.reason(outcome) == "connection reset by peer after 2 attempts")
    }

    @Test("a response cut short says it was incomplete", arguments: TransportKind.allCases)
    func incompleteResponse(_ kind: TransportKind) async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(
            .truncated(status: 200, declaredLength: 100, body: Array("{\"success\":".utf8))))
        defer { server.stop() }
        let outcome = try await Self.delivery(kind).deliver(Self.request(server), abandon: Self.never)
        #expect(Self.reason(outcome) == "\(TransportFailure.incomplete) after 2 attempts")
    }

    @Test("a timeout names the limit and the attempts", arguments: TransportKind.allCases)
    func timedOut(_ kind: TransportKind) async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(.delayed(.seconds(60), TestHTTPServer.ok)))
        defer { server.stop() }
        let outcome = try await Self.delivery(kind, timeout: .milliseconds(300)).deliver(Self.request(server), abandon: Self.never)
        #expect(Self.reason(outcome) == "timed out (no complete response within 300 ms) after 2 attempts")
    }

    @Test("a network failure after an error status names both")
    func networkFailureAfterStatus() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.sequence([TestHTTPServer.unavailable], then: .resetConnection))
        defer { server.stop() }
        let outcome = try await Self.delivery(.curl).deliver(Self.request(server), abandon: Self.never)
        #expect(Self.reason(outcome) == "connection reset by peer after 2 attempts (last status: HTTP 503 Service Unavailable)")
    }

    @Test("libcurl's codes map to named failures, never to libcurl's host-bearing messages")
    func curlCodesAreNamed() {
        func error(_ code: Int32, errno osErrno: Int32 = 0, _ message: String = "") -> HTTPTransportError {
            CurlTransfer.error(code: code, osErrno: osErrno, message: message, curl: nil)
        }
        #expect(error(6, "Could not resolve host: api.segment.io") == .connectionFailed("DNS failure: cannot resolve host"))
        #expect(error(7, errno: ECONNREFUSED, "Failed to connect to 10.0.0.1 port 443") == .connectionFailed("connection refused"))
        #expect(error(7, errno: EHOSTUNREACH) == .connectionFailed("network unreachable"))
        #expect(error(28) == .timedOut)
        #expect(error(52) == .connectionFailed("server closed the connection without a response"))
        #expect(error(18, "transfer closed with 10 bytes remaining to read") == .connectionFailed(TransportFailure.incomplete))
        #expect(error(56, errno: ECONNRESET) == .connectionFailed("connection reset by peer"))
        #expect(error(8) == .invalidResponse)
        #expect(error(60).description.hasPrefix("TLS failure"))
        #expect(!error(7, "Failed to connect to secret.example.com port 443").description.contains("example.com"))
    }

    @Test("libcurl messages inside URLSession errors are classified the same way")
    func curlMessagesAreClassified() {
        #expect(TransportFailure.classify(curlMessage: "transfer closed with 90 bytes remaining to read") == TransportFailure.incomplete)
        #expect(TransportFailure.classify(curlMessage: "Recv failure: Connection reset by peer") == TransportFailure.reset)
        #expect(TransportFailure.classify(curlMessage: "Could not resolve host: x.invalid") == TransportFailure.dns)
        #expect(TransportFailure.classify(curlMessage: "Empty reply from server") == TransportFailure.nothing)
        #expect(TransportFailure.classify(curlMessage: "something else entirely") == nil)
    }
}
