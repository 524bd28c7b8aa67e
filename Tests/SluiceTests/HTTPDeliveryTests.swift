import Foundation
import Synchronization
import Testing
@testable import Sluice

/// HTTPDelivery end to end: real URLSessionTransport against the real test server, with backoffs of a few
/// milliseconds so the suite stays fast.
@Suite("HTTP delivery with retries")
struct HTTPDeliveryTests {
    static let secret = "sk-test-0123456789abcdef"

    static func request(_ server: TestHTTPServer, body: String = "{\"batch\":[1,2,3]}") -> HTTPRequest {
        HTTPRequest(method: "POST", url: server.url("/v1/batch?x=1"),
                    headers: [("Content-Type", "application/json"), ("STATSIG-API-KEY", secret), ("X-Trace", "abc")],
                    body: Array(body.utf8))
    }

    static func delivery(maxAttempts: Int = 4, initialBackoff: Duration = .milliseconds(2),
                         maxBackoff: Duration = .milliseconds(10), timeout: Duration = .seconds(30)) -> HTTPDelivery {
        HTTPDelivery(transport: URLSessionTransport(),
                     policy: RetryPolicy(maxAttempts: maxAttempts, initialBackoff: initialBackoff, maxBackoff: maxBackoff,
                                         jitter: .seeded(7)),
                     timeout: timeout)
    }

    static let never: @Sendable () -> Bool = { false }

    @Test("a 200 is delivered in one attempt and the server sees exactly what was sent")
    func deliveredFirstTime() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let body = "{\"batch\":[{\"event\":\"a\"}],\"sentAt\":\"2024-01-01T00:00:00Z\"}"
        let outcome = await Self.delivery().deliver(Self.request(server, body: body), abandon: Self.never)
        #expect(outcome == .delivered(attempts: 1, status: 200))

        let received = try #require(server.requests.first)
        #expect(server.requests.count == 1)
        #expect(received.method == "POST")
        #expect(received.path == "/v1/batch?x=1")
        #expect(received.header("Content-Type") == "application/json")
        #expect(received.header("STATSIG-API-KEY") == Self.secret)
        #expect(received.header("X-Trace") == "abc")
        #expect(received.body == Array(body.utf8))
    }

    @Test("a 500 followed by a 200 is delivered on the second attempt")
    func retriesServerError() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.sequence([TestHTTPServer.serverError]))
        defer { server.stop() }
        let outcome = await Self.delivery().deliver(Self.request(server), abandon: Self.never)
        #expect(outcome == .delivered(attempts: 2, status: 200))
        #expect(server.requests.count == 2)
        #expect(server.requests[0].body == server.requests[1].body)
    }

    @Test("a 400 is final: one request, a reason with the status and body prefix, and no secret in it")
    func badRequestIsFinalAndRedacted() async throws {
        // The server echoes the key, as some APIs do when rejecting it.
        let errorBody = "{\"error\":\"bad key \(Self.secret)\",\"detail\":\"" + String(repeating: "x", count: 400) + "\"}"
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.badRequest(errorBody)))
        defer { server.stop() }
        let outcome = await Self.delivery().deliver(Self.request(server), abandon: Self.never)

        guard case .failed(let reason, let status, let attempts) = outcome else {
            Issue.record("expected failure, got \(outcome)")
            return
        }
        #expect(status == 400)
        #expect(attempts == 1)
        #expect(server.requests.count == 1)
        #expect(reason.hasPrefix("HTTP 400 Bad Request after 1 attempt (not retried): {\"error\":\"bad key [redacted]\""))
        #expect(!reason.contains(Self.secret))
        #expect(!reason.contains("xxxxxxxxxx" + String(repeating: "x", count: 200)), "body cut to about 200 bytes")
        #expect(reason.utf8.count < 290, "the headline and about 200 bytes of body")
    }

    @Test("a Basic-auth write key is redacted from the reason whether echoed encoded or decoded")
    func basicAuthSecretsAreRedacted() async throws {
        let writeKey = "segmentWriteKey123"
        let encoded = Data("\(writeKey):".utf8).base64EncodedString()
        let server = try TestHTTPServer(script: TestHTTPServer.always(
            TestHTTPServer.badRequest("{\"error\":\"invalid write key \(writeKey) (Basic \(encoded))\"}")))
        defer { server.stop() }
        var request = Self.request(server)
        request.headers = [("Authorization", "Basic \(encoded)")]
        let outcome = await Self.delivery().deliver(request, abandon: Self.never)
        guard case .failed(let reason, _, _) = outcome else {
            Issue.record("expected failure, got \(outcome)")
            return
        }
        #expect(!reason.contains(writeKey))
        #expect(!reason.contains(encoded))
        #expect(reason.contains("invalid write key [redacted]"))
    }

    @Test("a 429 with Retry-After: 1 delays the next request by at least about a second")
    func honoursRetryAfter() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.sequence([TestHTTPServer.tooManyRequests(retryAfter: 1)]))
        defer { server.stop() }
        let outcome = await Self.delivery().deliver(Self.request(server), abandon: Self.never)
        #expect(outcome == .delivered(attempts: 2, status: 200))
        let requests = server.requests
        try #require(requests.count == 2)
        let gap = requests[1].arrival - requests[0].arrival
        #expect(gap >= .milliseconds(950))
        #expect(gap < .seconds(5))
    }

    @Test("a connection dropped without an answer is retried and then delivered")
    func retriesDroppedConnection() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.sequence([.closeConnection]))
        defer { server.stop() }
        let outcome = await Self.delivery().deliver(Self.request(server), abandon: Self.never)
        guard case .delivered(_, let status) = outcome else {
            Issue.record("expected delivery, got \(outcome)")
            return
        }
        #expect(status == 200)
        #expect(server.requests.count == 2)
    }

    @Test("a drop on a reused keep-alive connection is recovered by the attempt timeout and a retry")
    func retriesDropOnReusedConnection() async throws {
        // libcurl silently re-sends on a fresh connection when a reused one dies before any answer, but
        // swift-corelibs-foundation cannot rewind a Data body, so that hidden retry stalls without a body. The
        // transport's hard deadline turns the stall into a failed attempt, and HTTPDelivery retries it.
        let server = try TestHTTPServer(script: TestHTTPServer.sequence([TestHTTPServer.ok, .closeConnection]))
        defer { server.stop() }
        let delivery = Self.delivery(timeout: .milliseconds(500))
        #expect(await delivery.deliver(Self.request(server), abandon: Self.never) == .delivered(attempts: 1, status: 200))
        let start = ContinuousClock.now
        let outcome = await delivery.deliver(Self.request(server), abandon: Self.never)
        guard case .delivered(let attempts, 200) = outcome else {
            Issue.record("expected delivery, got \(outcome)")
            return
        }
        #expect((1...2).contains(attempts))
        #expect(ContinuousClock.now - start < .seconds(3))
        let completed = server.requests
        #expect(completed.count >= 3)
        #expect(completed.last.map { String(decoding: $0.body, as: UTF8.self) } == "{\"batch\":[1,2,3]}")
    }

    @Test("an answer slower than the timeout counts as a failed attempt and is retried")
    func retriesSlowAnswer() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.sequence([.delayed(.seconds(120), TestHTTPServer.ok)]))
        defer { server.stop() }
        let start = ContinuousClock.now
        let outcome = await Self.delivery(timeout: .milliseconds(300)).deliver(Self.request(server), abandon: Self.never)
        #expect(outcome == .delivered(attempts: 2, status: 200))
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(290), "the first attempt waited for the timeout")
        // Bounds are far from the 120 s answer so a loaded two-core machine cannot fail them.
        #expect(elapsed < .seconds(60), "the first attempt was cut at the timeout")
        #expect(server.requests.count == 2)
    }

    @Test("when every attempt fails the outcome is failed with attempts == maxAttempts and the last status")
    func exhaustsAttempts() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.unavailable))
        defer { server.stop() }
        let outcome = await Self.delivery(maxAttempts: 3).deliver(Self.request(server), abandon: Self.never)
        guard case .failed(let reason, let status, let attempts) = outcome else {
            Issue.record("expected failure, got \(outcome)")
            return
        }
        #expect(attempts == 3)
        #expect(status == 503)
        #expect(reason == "HTTP 503 Service Unavailable after 3 attempts: {\"error\":\"unavailable\"}")
        #expect(server.requests.count == 3)
    }

    @Test("network errors on every attempt exhaust the attempts with no status")
    func exhaustsOnConnectionRefused() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        let request = Self.request(server)
        server.stop()
        let outcome = await Self.delivery(maxAttempts: 2).deliver(request, abandon: Self.never)
        guard case .failed(let reason, let status, let attempts) = outcome else {
            Issue.record("expected failure, got \(outcome)")
            return
        }
        #expect(attempts == 2)
        #expect(status == nil)
        #expect(reason == "connection refused after 2 attempts")
    }

    @Test("abandon turning true during a long backoff returns promptly with failed")
    func abandonDuringBackoff() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.serverError))
        defer { server.stop() }
        let start = ContinuousClock.now
        // Flip only well after the 500 has come back, so the flip lands in the 30 s backoff even under load.
        let abandon: @Sendable () -> Bool = { server.requests.count >= 1 && ContinuousClock.now - start > .milliseconds(1500) }
        let delivery = Self.delivery(initialBackoff: .seconds(120), maxBackoff: .seconds(240))
        let outcome = await delivery.deliver(Self.request(server), abandon: abandon)
        // Normally the 500 has arrived and the flip lands in the 30 s backoff (status 500); on a starved machine the
        // answer may still be in flight when abandon flips (status nil). Either way: one attempt, abandoned, promptly.
        guard case .failed(let reason, let status, let attempts) = outcome else {
            Issue.record("expected failure, got \(outcome)")
            return
        }
        #expect(reason.hasPrefix(HTTPDelivery.abandonedReason + " after 1 attempt"))
        #expect(status == 500 || status == nil)
        if status == 500 { #expect(reason.hasSuffix("(last: HTTP 500 Internal Server Error: {\"error\":\"internal\"})")) }
        #expect(attempts == 1)
        #expect(ContinuousClock.now - start < .seconds(60))
        #expect(server.requests.count == 1)
    }

    @Test("abandon turning true while a slow request is in flight cancels it and returns promptly")
    func abandonDuringSlowRequest() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(.delayed(.seconds(120), TestHTTPServer.ok)))
        defer { server.stop() }
        let start = ContinuousClock.now
        let abandon: @Sendable () -> Bool = { ContinuousClock.now - start > .milliseconds(300) }
        let outcome = await Self.delivery(timeout: .seconds(120)).deliver(Self.request(server), abandon: abandon)
        #expect(outcome == .failed(reason: HTTPDelivery.abandonedReason + " after 1 attempt", status: nil, attempts: 1))
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test("abandon already true sends nothing")
    func abandonBeforeFirstAttempt() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let outcome = await Self.delivery().deliver(Self.request(server), abandon: { true })
        #expect(outcome == .failed(reason: HTTPDelivery.abandonedReason, status: nil, attempts: 0))
        #expect(server.requests.isEmpty)
    }

    @Test("cancelling the calling task returns failed instead of throwing, promptly")
    func cancellationReturnsFailed() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(.delayed(.seconds(120), TestHTTPServer.ok)))
        defer { server.stop() }
        let delivery = Self.delivery(timeout: .seconds(120))
        let request = Self.request(server)
        let start = ContinuousClock.now
        let task = Task { await delivery.deliver(request, abandon: Self.never) }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let outcome = await task.value
        #expect(outcome == .failed(reason: HTTPDelivery.cancelledReason + " after 1 attempt", status: nil, attempts: 1))
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test("a randomly failing server still gets every batch delivered by concurrent workers")
    func concurrentWorkersAgainstFlakyServer() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.failingFraction(0.3, seed: 2024, failure: TestHTTPServer.unavailable))
        defer { server.stop() }
        let delivery = Self.delivery(maxAttempts: 8)
        let outcomes = await withTaskGroup(of: DeliveryOutcome.self) { group in
            for batch in 0..<20 {
                let request = Self.request(server, body: "{\"batch\":[\(batch)]}")
                group.addTask { await delivery.deliver(request, abandon: Self.never) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { !$0.isDelivered }.isEmpty, "undelivered: \(outcomes.filter { !$0.isDelivered })")
        let attempts = outcomes.reduce(0) { total, outcome in
            if case .delivered(let attempts, _) = outcome { return total + attempts }
            return total
        }
        #expect(attempts == server.requests.count)
        #expect(Set(server.requests.map(\.body)).count == 20)
    }
}
