import Foundation
import Synchronization
import Testing
@testable import Sluice

/// Whole pipelines delivering to the real test server over URLSession: faults, rate limits, refusals, limits
/// and shutdown during an outage.
@Suite("HTTP destinations in the pipeline")
struct HTTPDestinationTests {
    typealias T = HTTPTestSupport

    static func run(_ destinations: [DestinationConfiguration], input: [UInt8], deadLetters: String? = nil) async throws -> Summary {
        let pipeline = try Pipeline(configuration: PipelineConfiguration(destinations: destinations),
                                    options: PipelineOptions(input: .bytes(input), deadLetterPath: deadLetters))
        return try await pipeline.run()
    }

    @Test("every event arrives exactly once in a 2xx-answered request when a third of requests fail at random")
    func exactlyOnceUnderRandomFailures() async throws {
        // The server fails before processing (a failed request's body is not kept), so "delivered once" means:
        // across the requests it answered with 2xx, each timeUUID appears exactly once.
        let log = AnswerLog(TestHTTPServer.failingFraction(1.0 / 3.0, seed: 42, failure: TestHTTPServer.unavailable))
        let server = try TestHTTPServer(script: log.script)
        defer { server.stop() }
        let (input, uuids) = T.events(400)
        // Thirty attempts: a batch failing all of them at p = 1/3 is about 5e-15, so nothing is dead-lettered.
        let destination = T.destination("segment", .segment(endpoint: T.endpoint(server), writeKey: T.writeKey),
                                        maxEvents: 10, maxAttempts: 30, backoffMs: (1, 4), concurrency: 4)
        let summary = try await Self.run([destination], input: input)

        let counts = try #require(summary.destinations["segment"])
        #expect(counts.delivered == 400)
        #expect(counts.deadLettered == 0)
        #expect(summary.isBalanced)
        #expect(summary.exitStatus == 0)

        let requests = server.requests
        var accepted: [String: Int] = [:]
        var failed = 0
        for (index, request) in requests.enumerated() {
            guard let status = log.status(index), (200..<300).contains(status) else { failed += 1; continue }
            // Segment's messageId is the timeUUID.
            for uuid in T.uuids(in: request.body, key: "messageId") { accepted[uuid, default: 0] += 1 }
        }
        #expect(failed > 0, "the server must actually have failed some requests for this test to mean anything")
        #expect(counts.retries == failed)
        #expect(Set(accepted.keys) == Set(uuids))
        #expect(accepted.values.allSatisfy { $0 == 1 })
        #expect(accepted.count == 400)
    }

    @Test("a 429 with Retry-After delays the batch's next attempt by the time asked")
    func retryAfterInPipeline() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.sequence([TestHTTPServer.tooManyRequests(retryAfter: 1)]))
        defer { server.stop() }
        let (input, _) = T.events(5)
        let destination = T.destination("statsig", .statsig(endpoint: T.endpoint(server), apiKey: T.statsigKey),
                                        maxAttempts: 3, backoffMs: (1, 2))
        let summary = try await Self.run([destination], input: input)
        #expect(summary.destinations["statsig"]?.delivered == 5)
        let requests = server.requests
        try #require(requests.count == 2)
        #expect(requests[0].body == requests[1].body)
        let gap = requests[1].arrival - requests[0].arrival
        // Backoff alone would be 1-2 ms; the server asked for a second.
        #expect(gap >= .milliseconds(950))
        #expect(gap < .seconds(15))
    }

    @Test("a Retry-After pauses the whole destination: another worker's next request waits too")
    func retryAfterPausesEveryWorker() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.sequence([TestHTTPServer.tooManyRequests(retryAfter: 1)]))
        defer { server.stop() }
        let gated = RetryAfterGateTransport(base: URLSessionTransport(), gate: RetryAfterGate(), maxPause: .seconds(600))
        let request = HTTPRequest(url: server.url("/v1/log_event"), body: Array("{}".utf8))
        // Two workers sharing the gate, one after the other: the first is told to wait, the second must not
        // send until that wait is over, although it has never seen a 429 itself.
        let first = try await gated.send(request, timeout: .seconds(10))
        #expect(first.status == 429)
        let second = try await gated.send(request, timeout: .seconds(10))
        #expect(second.status == 200)
        let requests = server.requests
        try #require(requests.count == 2)
        #expect(requests[1].arrival - requests[0].arrival >= .milliseconds(950))
    }

    @Test("a 400 is not retried: the batch's events go to the dead-letter file with status, body prefix and no secret")
    func badRequestIsDeadLettered() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(
            TestHTTPServer.badRequest("{\"error\":\"invalid key \(T.statsigKey)\",\"hint\":\"check the body\"}")))
        defer { server.stop() }
        let deadLetters = T.temporaryPath("dead.ndjson")
        defer { try? FileManager.default.removeItem(atPath: deadLetters) }
        let (input, uuids) = T.events(12)
        let destination = T.destination("statsig", .statsig(endpoint: T.endpoint(server), apiKey: T.statsigKey),
                                        maxEvents: 5, maxAttempts: 5)
        let summary = try await Self.run([destination], input: input, deadLetters: deadLetters)

        let counts = try #require(summary.destinations["statsig"])
        #expect(counts.delivered == 0)
        #expect(counts.deadLettered == 12)
        #expect(counts.retries == 0)
        #expect(summary.isBalanced)
        #expect(summary.exitStatus == 1)
        #expect(server.requests.count == 3, "three batches, one request each: nothing retried")

        let lines = T.lines(ofFile: deadLetters)
        #expect(lines.count == 12)
        var seen: [String] = []
        for line in lines {
            #expect(!line.contains(T.statsigKey))
            let record = try #require(T.object(line))
            #expect(record["kind"] as? String == "undeliverable")
            #expect(record["destination"] as? String == "statsig")
            #expect(record["attempts"] as? Int == 1)
            #expect(record["time"] is String)
            let reason = try #require(record["reason"] as? String)
            #expect(reason.hasPrefix("HTTP 400 Bad Request after 1 attempt (not retried): {\"error\":\"invalid key "))
            #expect(reason.contains("check the body"))
            let event = try #require(record["event"] as? [String: Any])
            seen.append(try #require(event["timeUUID"] as? String))
        }
        #expect(seen.sorted() == uuids.sorted())
    }

    @Test("batches respect maxEvents and maxBytes, in input order, with the destination's headers on each")
    func batchLimits() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let (input, uuids) = T.events(20)
        let byCount = T.destination("by-count", .segment(endpoint: T.endpoint(server) + "/count", writeKey: T.writeKey),
                                    maxEvents: 7, concurrency: 1)
        let byBytes = T.destination("by-bytes", .webhook(url: T.endpoint(server) + "/bytes", headers: ["X-Token": T.hookToken]),
                                    maxEvents: 1000, maxBytes: 1200, concurrency: 1)
        let summary = try await Self.run([byCount, byBytes], input: input)
        #expect(summary.destinations["by-count"]?.delivered == 20)
        #expect(summary.destinations["by-bytes"]?.delivered == 20)

        let counted = server.requests.filter { $0.path.hasPrefix("/count") }
        #expect(counted.map { T.uuids(in: $0.body, key: "messageId").count } == [7, 7, 6])
        #expect(counted.flatMap { T.uuids(in: $0.body, key: "messageId") } == uuids, "one worker keeps input order")
        let basic = "Basic " + Data("\(T.writeKey):".utf8).base64EncodedString()
        for request in counted {
            #expect(request.path == "/count/v1/batch")
            #expect(request.header("Authorization") == basic)
            #expect(request.header("Content-Type") == "application/json")
        }

        let sized = server.requests.filter { $0.path == "/bytes" }
        #expect(sized.count > 1)
        #expect(sized.allSatisfy { $0.body.count <= 1200 && $0.header("X-Token") == T.hookToken })
        #expect(sized.flatMap { T.uuids(in: $0.body) } == uuids)
    }

    @Test("shutdown during an outage: nothing is lost, every event is dead-lettered, the summary adds up")
    func shutdownDuringOutage() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.unavailable))
        defer { server.stop() }
        let deadLetters = T.temporaryPath("dead.ndjson")
        defer { try? FileManager.default.removeItem(atPath: deadLetters) }
        // 100 attempts (the most validation allows) 20-50 ms apart would retry for seconds; only the drain
        // deadline (0.3 s) can end this.
        let destination = T.destination("statsig", .statsig(endpoint: T.endpoint(server), apiKey: T.statsigKey),
                                        maxEvents: 10, maxAttempts: 100, backoffMs: (20, 50), concurrency: 2)
        let pipeline = try Pipeline(configuration: PipelineConfiguration(drainTimeoutSeconds: 0.3, destinations: [destination]),
                                    options: PipelineOptions(input: .none, deadLetterPath: deadLetters))
        let running = Task { try await pipeline.run() }
        let (input, uuids) = T.events(50)
        let result = await pipeline.ingest(input)
        #expect(result.accepted == 50)
        #expect(await T.wait { server.requests.count >= 3 }, "the outage must have been met before shutting down")

        let start = ContinuousClock.now
        pipeline.shutdown(gracePeriod: .milliseconds(300))
        let summary = try await running.value
        #expect(ContinuousClock.now - start < .seconds(10))

        let counts = try #require(summary.destinations["statsig"])
        #expect(summary.ingested == 50)
        #expect(counts.delivered == 0)
        #expect(counts.deadLettered == 50)
        #expect(summary.isBalanced)
        #expect(summary.exitStatus == 1)
        let lines = T.lines(ofFile: deadLetters)
        let dead = lines.compactMap { T.object($0)?["event"] as? [String: Any] }.compactMap { $0["timeUUID"] as? String }
        #expect(dead.sorted() == uuids.sorted())
        #expect(lines.allSatisfy { !$0.contains(T.statsigKey) })
    }
}

/// A transport that answers 200 after every request in flight has had a chance to overlap, and records the
/// most requests it ever saw in flight at once.
final class OverlapTransport: HTTPTransport {
    private let state = Mutex((inFlight: 0, peak: 0))
    /// How many overlapping requests to wait for before answering (bounded by a deadline, so a serialised
    /// destination still finishes).
    let expected: Int

    init(expected: Int) {
        self.expected = expected
    }

    var peak: Int { state.withLock { $0.peak } }

    func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        state.withLock { $0.inFlight += 1; $0.peak = max($0.peak, $0.inFlight) }
        let end = ContinuousClock.now + .milliseconds(300)
        while state.withLock({ $0.inFlight }) < expected, ContinuousClock.now < end {
            try? await Task.sleep(for: .milliseconds(2))
        }
        state.withLock { $0.inFlight -= 1 }
        return HTTPResponse(status: 200)
    }
}

@Suite("Requests in flight per destination")
struct RequestsInFlightTests {
    typealias T = HTTPTestSupport

    static func sendConcurrently(_ kind: DestinationConfiguration.Kind, transport: OverlapTransport) async throws {
        let destination = T.destination("d", kind, concurrency: 4)
        let sender = HTTPBatchSender(target: try #require(try HTTPRequestTarget(destination)), destination: destination,
                                     transport: transport)
        await withTaskGroup(of: SendOutcome.self) { group in
            for i in 0..<4 {
                let batch = Batch(body: Array("{}".utf8), eventCount: 1, members: [], oldestCreatedAt: 0,
                                  key: Array("+list\(i)".utf8))
                group.addTask { await sender.send(batch, abandon: { false }) }
            }
            for await outcome in group { #expect(outcome == .delivered(attempts: 1)) }
        }
    }

    @Test("Statsig ID-list requests never overlap, so adds and removes cannot overtake each other")
    func idListsOneAtATime() async throws {
        let transport = OverlapTransport(expected: 2)
        try await Self.sendConcurrently(.statsigIDLists(endpoint: "http://127.0.0.1:9", apiKey: "k"), transport: transport)
        #expect(transport.peak == 1)
    }

    @Test("other destinations send up to their concurrency at once")
    func othersOverlap() async throws {
        let transport = OverlapTransport(expected: 4)
        try await Self.sendConcurrently(.statsig(endpoint: "http://127.0.0.1:9", apiKey: "k"), transport: transport)
        #expect(transport.peak > 1)
    }
}
