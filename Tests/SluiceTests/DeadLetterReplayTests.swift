import Foundation
import Testing
@testable import Sluice

/// Sluice's own dead-letter records are an input shape: an outage's dead letters can be sent once it is over.
@Suite("Dead-letter replay")
struct DeadLetterReplayTests {
    typealias T = HTTPTestSupport

    private func segment(_ name: String, _ server: TestHTTPServer) -> DestinationConfiguration {
        T.destination(name, .segment(endpoint: T.endpoint(server), writeKey: T.writeKey), maxEvents: 10, maxAttempts: 2,
                      backoffMs: (1, 2), concurrency: 2)
    }

    @Test("round trip: a run against an always-failing server dead-letters everything; fed back with the server healthy, every event is delivered once with the same messageId")
    func roundTrip() async throws {
        let (input, uuids) = T.events(40)
        let deadLetters = T.temporaryPath("dead.ndjson")
        let failing = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.unavailable))
        defer { failing.stop() }
        let outage = try Pipeline(configuration: PipelineConfiguration(destinations: [segment("segment", failing)]),
                                  options: PipelineOptions(input: .bytes(input), deadLetterPath: deadLetters))
        let first = try await outage.run()
        #expect(first.destinations["segment"]?.deadLettered == 40)
        let firstIds = failing.requests.flatMap { T.uuids(in: $0.body, key: "messageId") }
        #expect(Set(firstIds) == Set(uuids))

        let healthy = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { healthy.stop() }
        let replay = try Pipeline(configuration: PipelineConfiguration(destinations: [segment("segment", healthy)]),
                                  options: PipelineOptions(input: .file(deadLetters)))
        let second = try await replay.run()
        #expect(second.ingested == 40)
        #expect(second.invalid == 0)
        #expect(second.destinations["segment"]?.delivered == 40)
        #expect(second.isBalanced)
        let replayedIds = healthy.requests.flatMap { T.uuids(in: $0.body, key: "messageId") }
        #expect(replayedIds.count == 40, "each event once")
        #expect(Set(replayedIds) == Set(uuids), "the same messageIds (timeUUIDs) as the first attempt")
    }

    @Test("--replay-destination sends a record only to the destination it failed for; other records and other destinations filter with a reason")
    func replayDestination() async throws {
        let (input, uuids) = T.events(6)
        let lines = String(decoding: input, as: UTF8.self).split(separator: "\n").map(String.init)
        let records = lines.enumerated().map { index, event in
            #"{"time":"2026-12-02T08:00:00.000Z","kind":"undeliverable","destination":"\#(index < 4 ? "a" : "b")","reason":"HTTP 503","attempts":2,"line":\#(index + 1),"event":\#(event)}"#
        }
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let configuration = PipelineConfiguration(destinations: [segment("a", server), segment("b", server)])
        var options = PipelineOptions(input: .bytes(Array((records.joined(separator: "\n") + "\n").utf8)))
        options.replayDestination = "a"
        let summary = try await Pipeline(configuration: configuration, options: options).run()
        #expect(summary.ingested == 6)
        #expect(summary.filteredByReason["dead letter of another destination (--replay-destination)"] == 2)
        #expect(summary.destinations["a"]?.delivered == 4)
        #expect(summary.destinations["b"]?.delivered == 0)
        #expect(summary.destinations["b"]?.filteredByReason["replaying another destination's dead letters (--replay-destination)"] == 4)
        #expect(summary.isBalanced)
        #expect(Set(server.requests.flatMap { T.uuids(in: $0.body, key: "messageId") }) == Set(uuids.prefix(4)))

        options.replayDestination = "c"
        #expect(throws: PipelineError.self) { try Pipeline(configuration: configuration, options: options) }
    }

    @Test("a dead-lettered ID-list audience change replays as the same change (PATCH for an add, DELETE for a removal), not as a plain event")
    func audienceChangeReplaysAsAChange() async throws {
        func lists(_ server: TestHTTPServer) -> DestinationConfiguration {
            var destination = T.destination("lists", .statsigIDLists(endpoint: T.endpoint(server), apiKey: "console-k"), maxAttempts: 1)
            destination.rateLimit = .off
            return destination
        }
        let input = PipelineTestSupport.bytes([
            IDListTypeTests.identify(#""userId":"u1""#), IDListTypeTests.identify(#""userId":"u2""#, member: false),
        ])
        let deadLetters = T.temporaryPath("audience-dead.ndjson")
        let failing = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.unavailable))
        defer { failing.stop() }
        let outage = try await Pipeline(configuration: PipelineTestSupport.configuration(destinations: [lists(failing)]),
                                        options: PipelineOptions(input: .bytes(input), deadLetterPath: deadLetters)).run()
        #expect(outage.destinations["lists"]?.deadLettered == 2)
        let records = try String(contentsOfFile: deadLetters, encoding: .utf8)
        #expect(records.components(separatedBy: #""eventKind":"audience_change""#).count == 3, "\(records)")

        let healthy = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { healthy.stop() }
        let replay = try await Pipeline(configuration: PipelineTestSupport.configuration(destinations: [lists(healthy)]),
                                        options: PipelineOptions(input: .file(deadLetters))).run()
        #expect(replay.destinations["lists"]?.delivered == 2)
        #expect(replay.isBalanced)
        let calls = healthy.requests.map { "\($0.method) \($0.path) \(String(decoding: $0.body, as: UTF8.self))" }.sorted()
        #expect(calls == [
            #"DELETE /console/v1/segments/vip/id_list {"ids":["u2"]}"#, #"PATCH /console/v1/segments/vip/id_list {"ids":["u1"]}"#,
        ])
    }

    @Test("a record marked as an audience change whose value is not true/false, or with an unknown eventKind, is invalid with the reason")
    func malformedAudienceChangeRecord() {
        let event = #"{"eventName":"vip","user":{"userID":"u1"},"timestamp":1714564800000,"value":"yes"}"#
        let (chunk, invalid) = IntegrationFixtures.decode([
            #"{"kind":"undeliverable","destination":"lists","reason":"HTTP 503","attempts":1,"line":1,"eventKind":"audience_change","event":\#(event)}"#,
            #"{"kind":"undeliverable","destination":"lists","reason":"HTTP 503","attempts":1,"line":2,"eventKind":"member","event":\#(event)}"#,
            #"{"kind":"undeliverable","destination":"lists","reason":"HTTP 503","attempts":1,"line":3,"eventKind":"audience_change","event":\#(event.replacingOccurrences(of: #""yes""#, with: "false"))}"#,
        ])
        #expect(invalid.map(\.reason) == [
            "dead-letter record: an audience change needs \"value\": true (add) or false (remove)",
            "dead-letter record: unknown \"eventKind\" (expected \"audience_change\")",
        ])
        #expect(chunk.events.map(\.kind) == [.audienceMembership], "only the well-formed change is ingested, as a change")
    }

    @Test("an invalid-input record's raw line is decoded again: fixed lines count, still-broken ones are invalid again")
    func invalidRecordsReplayed() {
        let good = #"{\"eventName\":\"purchase\",\"user\":{\"userID\":\"u\"},\"time\":1795331233000}"#
        let (chunk, invalid) = IntegrationFixtures.decode([
            #"{"time":"t","kind":"invalid","reason":"invalid JSON","line":3,"raw":"\#(good)"}"#,
            #"{"time":"t","kind":"invalid","reason":"invalid JSON","line":4,"raw":"{\"eventName\":"}"#,
            #"{"time":"t","kind":"invalid","reason":"x","line":5,"raw":"{\"kind\":\"invalid\",\"reason\":\"x\",\"raw\":\"{}\"}"}"#,
        ])
        #expect(chunk.events.count == 1)
        #expect(chunk.string(chunk.events[0].eventName) == "purchase")
        #expect(invalid.map(\.line) == [2, 3])
        #expect(invalid[0].reason.hasPrefix("invalid JSON"))
        #expect(invalid[1].reason.contains("replayed once only"))
    }

    @Test("the CLI replays a dead-letter file with --replay-destination and rejects an unknown name with exit 2")
    func commandLine() throws {
        let (input, _) = T.events(3)
        let event = String(decoding: input, as: UTF8.self).split(separator: "\n")[0]
        let record = #"{"time":"t","kind":"undeliverable","destination":"stdout","reason":"r","attempts":1,"line":1,"event":\#(event)}"#
        let replayed = try SluiceExecutable.run(["--replay-destination", "stdout"], input: Array((record + "\n").utf8))
        #expect(replayed.status == 0)
        #expect(replayed.stdout.contains(T.uuid(0)))
        let unknown = try SluiceExecutable.run(["--replay-destination", "segment"], input: Array((record + "\n").utf8))
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains(#"--replay-destination: no destination is named "segment""#))
    }
}
