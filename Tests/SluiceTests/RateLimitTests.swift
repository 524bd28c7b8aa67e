import Foundation
import Testing
@testable import Sluice

/// `rateLimit` pacing and the ID-list API's 409 (issue 13, rule 2).
@Suite struct RateLimitTests {
    @Test func aBucketStartsFullThenRefillsAtItsRate() {
        let start = ContinuousClock.now
        let limiter = RateLimiter([RateLimit(events: 100, perSeconds: 10)], now: start)
        #expect(limiter.reserve(events: 60, now: start) == .zero)
        #expect(limiter.reserve(events: 40, now: start) == .zero)
        // Empty: 50 more events need 5 s at 10 events/s.
        #expect(limiter.reserve(events: 50, now: start) == .seconds(5))
        // Reservations queue: the next 10 wait behind the 50.
        #expect(limiter.reserve(events: 10, now: start) == .seconds(6))
        // After 20 s the bucket has refilled to its capacity, not beyond.
        #expect(limiter.reserve(events: 100, now: start + .seconds(26)) == .zero)
        #expect(limiter.reserve(events: 1, now: start + .seconds(26)) == .milliseconds(100))
    }

    @Test func everyRuleMustAllowTheRequest() {
        let start = ContinuousClock.now
        let limiter = RateLimiter(RateLimit.statsigIDLists, now: start)
        for _ in 0..<12 { #expect(limiter.reserve(events: 1000, now: start) == .zero) }
        // The 13th request within 10 s waits for the burst bucket (12 per 10 s: one every 5/6 s).
        #expect(limiter.reserve(events: 1, now: start) == .nanoseconds(833_333_334))
    }

    @Test func defaultsFollowTheDocumentedLimitsAndNullTurnsPacingOff() throws {
        let configuration = try ConfigurationLoader.parse("""
            {"destinations": [
              {"name": "heap", "type": "heap", "appID": "a"},
              {"name": "lists", "type": "statsig-idlists", "apiKey": "k"},
              {"name": "segment", "type": "segment", "writeKey": "w"},
              {"name": "heap2", "type": "heap", "appID": "a", "rateLimit": null},
              {"name": "hook", "type": "webhook", "url": "https://example.com", "rateLimit": {"requests": 5, "perSeconds": 1}},
              {"name": "both", "type": "webhook", "url": "https://example.com",
               "rateLimit": [{"events": 1000, "perSeconds": 60}, {"requests": 2, "perSeconds": 1}]}
            ]}
            """)
        let limits = configuration.destinations.map { $0.rateLimit.resolved(for: $0.kind) }
        #expect(limits[0] == [RateLimit(events: 15_000, perSeconds: 60)])
        #expect(limits[1] == [RateLimit(requests: 900, perSeconds: 900), RateLimit(requests: 12, perSeconds: 10)])
        #expect(limits[2].isEmpty)
        #expect(limits[3].isEmpty)
        #expect(limits[4] == [RateLimit(requests: 5, perSeconds: 1)])
        #expect(limits[5] == [RateLimit(events: 1000, perSeconds: 60), RateLimit(requests: 2, perSeconds: 1)])
    }

    @Test(arguments: [
        (#"{"events": 0, "perSeconds": 1}"#, "rateLimit.events"),
        (#"{"events": 1000, "perSeconds": 0}"#, "rateLimit.perSeconds"),
        (#"{"requests": -1, "perSeconds": 1}"#, "rateLimit.requests"),
        (#"{"perSeconds": 1}"#, "rateLimit"),
        (#"{"events": 100, "perSeconds": 1}"#, "rateLimit.events"),  // below batch.maxEvents (500)
        (#"{"events": 1000}"#, "rateLimit.perSeconds"),
    ])
    func outOfRangeRulesAreConfigurationErrors(_ rule: String, _ keyPath: String) {
        #expect { try ConfigurationLoader.parse(#"{"destinations": [{"name": "h", "type": "webhook", "url": "https://example.com", "rateLimit": \#(rule)}]}"#) } throws: { error in
            (error as? ConfigurationError)?.keyPath == "destinations[0].\(keyPath)"
        }
    }

    @Test func pacingHoldsBatchesBackWithoutDroppingAndShowsInTheCounters() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        var destination = HTTPTestSupport.destination("hook", .webhook(url: HTTPTestSupport.endpoint(server) + "/hook"), maxEvents: 5)
        destination.rateLimit = .limits([RateLimit(events: 5, perSeconds: 0.4)])
        let (bytes, uuids) = HTTPTestSupport.events(15)
        let pipeline = try Pipeline(configuration: PipelineTestSupport.configuration(destinations: [destination]),
                                    options: PipelineOptions(input: .bytes(bytes)))
        let start = ContinuousClock.now
        let summary = try await pipeline.run()
        let elapsed = ContinuousClock.now - start
        #expect(summary.destinations["hook"]?.delivered == 15)
        #expect(summary.isBalanced)
        // 5 events at once, then 5 more every 0.4 s: two batches waited, about 0.8 s in all.
        #expect(summary.destinations["hook"]?.counters["pacedBatches"] == 2)
        #expect((summary.destinations["hook"]?.counters["pacedMilliseconds"] ?? 0) >= 700)
        #expect(elapsed >= .milliseconds(700))
        #expect(Set(server.requests.flatMap { HTTPTestSupport.uuids(in: $0.body) }) == Set(uuids))
    }

    @Test func aConflictFromTheIDListAPIIsRetriedNotDeadLettered() async throws {
        let server = try TestHTTPServer(script: { _, index in
            index == 0 ? .status(409, body: #"{"message":"update already in progress"}"#) : TestHTTPServer.ok
        })
        defer { server.stop() }
        let identify = #"{"type":"identify","userId":"u1","messageId":"m1","traits":{"vip":true},"context":{"personas":{"computation_class":"audience","computation_key":"vip"}},"timestamp":"2024-05-01T12:00:00Z"}"#
        var destination = HTTPTestSupport.destination("lists", .statsigIDLists(endpoint: HTTPTestSupport.endpoint(server), apiKey: "console-k"))
        destination.rateLimit = .off
        let pipeline = try Pipeline(configuration: PipelineTestSupport.configuration(destinations: [destination]),
                                    options: PipelineOptions(input: .bytes(Array((identify + "\n").utf8))))
        let summary = try await pipeline.run()
        #expect(summary.destinations["lists"]?.delivered == 1)
        #expect(summary.destinations["lists"]?.deadLettered == 0)
        #expect(summary.destinations["lists"]?.retries == 1)
        #expect(server.requests.map(\.method) == ["PATCH", "PATCH"])
    }

    @Test func otherDestinationsStillDoNotRetryA409() async throws {
        let server = try TestHTTPServer(script: { _, _ in .status(409, body: "conflict") })
        defer { server.stop() }
        let destination = HTTPTestSupport.destination("hook", .webhook(url: HTTPTestSupport.endpoint(server) + "/hook"))
        let pipeline = try Pipeline(configuration: PipelineTestSupport.configuration(destinations: [destination]),
                                    options: PipelineOptions(input: .bytes(HTTPTestSupport.events(1).bytes)))
        let summary = try await pipeline.run()
        #expect(summary.destinations["hook"]?.deadLettered == 1)
        #expect(server.requests.count == 1)
    }
}
