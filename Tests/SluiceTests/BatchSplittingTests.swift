import Foundation
import Testing
@testable import Sluice

/// Issue 10, item 8: a batch refused whole (413, or 400 from Segment's and Heap's batch APIs) is split in
/// halves down to the event that causes it, which is dead-lettered with the status; the others are delivered,
/// every event is settled once, and every request made is counted.
@Suite("Splitting refused batches")
struct BatchSplittingTests {
    typealias T = HTTPTestSupport

    struct Run {
        let summary: Summary
        let deadLetters: [[String: Any]]
    }

    static func run(_ destination: DestinationConfiguration, events count: Int) async throws -> Run {
        let deadLetters = T.temporaryPath("split-dead.ndjson")
        defer { try? FileManager.default.removeItem(atPath: deadLetters) }
        let pipeline = try Pipeline(configuration: PipelineConfiguration(destinations: [destination]),
                                    options: PipelineOptions(input: .bytes(T.events(count).bytes), deadLetterPath: deadLetters))
        let summary = try await pipeline.run()
        return Run(summary: summary, deadLetters: T.lines(ofFile: deadLetters).compactMap(T.object))
    }

    @Test("one event that makes Heap answer 400 is dead-lettered alone with the status; the other 99 are delivered")
    func heapBadEventIsIsolated() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.rejecting(bodiesContaining: "\"purchase_37\""))
        defer { server.stop() }
        var destination = T.destination("heap", .heap(endpoint: T.endpoint(server), appID: T.heapAppID),
                                        maxEvents: 100, maxDelayMs: 1000, concurrency: 1)
        destination.identifiers.identity = "userID"
        let run = try await Self.run(destination, events: 100)

        let counts = try #require(run.summary.destinations["heap"])
        #expect(counts.delivered == 99)
        #expect(counts.deadLettered == 1)
        #expect(run.summary.isBalanced)
        // Honest books: every request the server saw is counted, and every refused one is a failed request.
        let requests = server.requests
        #expect(counts.requests == requests.count)
        let refused = requests.filter { String(decoding: $0.body, as: UTF8.self).contains("\"purchase_37\"") }.count
        #expect(counts.failedRequests == refused)
        #expect(refused == 7, "halves holding event 37: 100 → 50 → 25 → 13 → 6 → 3 → 1 events, seven requests")
        #expect(requests.count <= 1 + 2 * 7)

        try #require(run.deadLetters.count == 1)
        let record = run.deadLetters[0]
        let reason = try #require(record["reason"] as? String)
        #expect(reason.hasPrefix("HTTP 400 Bad Request after 1 attempt (not retried): {\"error\":\"invalid event\"}"))
        #expect(reason.hasSuffix("(the event alone, after splitting its batch)"))
        #expect((record["event"] as? [String: Any])?["timeUUID"] as? String == T.uuid(37))

        // Every other event reached Heap exactly once.
        var seen: [String: Int] = [:]
        for request in requests where !String(decoding: request.body, as: UTF8.self).contains("\"purchase_37\"") {
            let body = try #require(T.object(String(decoding: request.body, as: UTF8.self)))
            #expect(body["app_id"] as? String == T.heapAppID, "each half is a complete Heap bulk body")
            for uuid in T.uuids(in: request.body, key: "idempotency_key") { seen[uuid, default: 0] += 1 }
        }
        let expected = Set((0..<100).filter { $0 != 37 }.map(T.uuid))
        #expect(Set(seen.keys) == expected)
        #expect(seen.values.allSatisfy { $0 == 1 })
    }

    @Test("a 413 splits the batch until the parts fit: every event is delivered, in bodies under the endpoint's limit")
    func payloadTooLargeSplitsUntilItFits() async throws {
        let limit = 4000
        let server = try TestHTTPServer(script: TestHTTPServer.rejecting(bodiesLargerThan: limit))
        defer { server.stop() }
        var destination = T.destination("segment", .segment(endpoint: T.endpoint(server), writeKey: T.writeKey),
                                        maxEvents: 64, maxDelayMs: 1000, concurrency: 2)
        destination.identifiers.userId = "userID"
        let run = try await Self.run(destination, events: 64)

        let counts = try #require(run.summary.destinations["segment"])
        #expect(counts.delivered == 64)
        #expect(counts.deadLettered == 0)
        #expect(run.summary.isBalanced)
        let requests = server.requests
        let refused = requests.filter { $0.body.count > limit }
        #expect(!refused.isEmpty, "the first body must really have been over the limit")
        #expect(counts.requests == requests.count)
        #expect(counts.failedRequests == refused.count)
        var seen: [String: Int] = [:]
        for request in requests where request.body.count <= limit {
            let body = try #require(T.object(String(decoding: request.body, as: UTF8.self)))
            #expect((body["batch"] as? [Any])?.isEmpty == false, "each part is a complete Segment batch body")
            for uuid in T.uuids(in: request.body, key: "messageId") { seen[uuid, default: 0] += 1 }
        }
        #expect(Set(seen.keys) == Set((0..<64).map(T.uuid)))
        #expect(seen.values.allSatisfy { $0 == 1 })
    }

    @Test("a 413 for every single event dead-letters each one with the status after splitting")
    func everyEventTooLarge() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.payloadTooLarge))
        defer { server.stop() }
        let destination = T.destination("statsig", .statsig(endpoint: T.endpoint(server), apiKey: T.statsigKey),
                                        maxEvents: 4, maxDelayMs: 1000, concurrency: 1)
        let run = try await Self.run(destination, events: 4)
        let counts = try #require(run.summary.destinations["statsig"])
        #expect(counts.deadLettered == 4)
        #expect(run.summary.isBalanced)
        #expect(server.requests.count == 7, "4 → 2 + 2 → 1 + 1 + 1 + 1")
        #expect(counts.requests == 7)
        #expect(run.deadLetters.count == 4)
        for record in run.deadLetters {
            #expect((record["reason"] as? String)?.hasPrefix("HTTP 413 Payload Too Large after 1 attempt") == true)
        }
    }

    @Test("a refusal of everything is split within a budget, not into two requests per event")
    func splittingIsBounded() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.badRequest("{\"error\":\"bad app_id\"}")))
        defer { server.stop() }
        var destination = T.destination("heap", .heap(endpoint: T.endpoint(server), appID: T.heapAppID),
                                        maxEvents: 1000, maxDelayMs: 1000, concurrency: 1)
        destination.identifiers.identity = "userID"
        let run = try await Self.run(destination, events: 1000)
        let counts = try #require(run.summary.destinations["heap"])
        #expect(counts.deadLettered == 1000)
        #expect(run.summary.isBalanced)
        let budget = BatchSplitPolicy.requestBudget(events: 1000)
        #expect(server.requests.count <= 1 + budget)
        #expect(counts.requests == server.requests.count)
        #expect(run.deadLetters.count == 1000)
        #expect(run.deadLetters.contains { ($0["reason"] as? String)?.hasSuffix("split budget is used up)") == true })
    }

    @Test("only Segment and Heap split on 400; every HTTP destination splits on 413")
    func splitStatusesByDestination() {
        #expect(BatchSplitPolicy.statuses(for: .segment(writeKey: "k")) == [400, 413])
        #expect(BatchSplitPolicy.statuses(for: .heap(appID: "a")) == [400, 413])
        #expect(BatchSplitPolicy.statuses(for: .statsig(endpoint: "http://x", apiKey: "k")) == [413])
        #expect(BatchSplitPolicy.statuses(for: .statsigIDLists(endpoint: "http://x", apiKey: "k")) == [413])
        #expect(BatchSplitPolicy.statuses(for: .webhook(url: "http://x", headers: [:])) == [413])
    }
}
