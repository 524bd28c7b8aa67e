import Foundation
import Testing
@testable import Sluice

/// Heap: per-property limits and the numeric `user_id` (issue 13, rule 2).
@Suite struct HeapRulesTests {
    @Test func aPropertyWhoseNameIsOver1024CharactersIsDroppedAloneAndCounted() async {
        let long = String(repeating: "k", count: 1020)  // "metadata." + 1020 = 1029 characters
        let fits = String(repeating: "f", count: 1015)  // "metadata." + 1015 = 1024: kept
        let line = #"{"eventName":"purchase","user":{"userID":"u1"},"time":1714564800000,"timeUUID":"11111111-2222-11ef-8000-000000000001","metadata":{"plan":"pro","\#(long)":"x","\#(fits)":"y","nested":{"\#(long)":1}}}"#
        let (chunk, _) = IntegrationFixtures.decode([line])
        let counters = DestinationCounters()
        let encoded = await IntegrationFixtures.encode(chunk, rule: IntegrationFixtures.heapRule,
                                                       encoder: HeapFormat(appID: nil, counters: counters))
        #expect(encoded.refusals.isEmpty)
        #expect(encoded.items == [#"{"identity":"u1","event":"purchase","timestamp":"2024-05-01T12:00:00.000Z","idempotency_key":"11111111-2222-11ef-8000-000000000001","properties":{"metadata.plan":"pro","metadata.\#(fits)":"y"}}"#])
        #expect(counters.snapshot == ["propertyNamesTooLong": 2])
    }

    @Test func namesAreCountedInCharactersNotEscapedBytes() async {
        // 1015 two-byte characters escaped as \u00e9 (6 bytes each): 1024 characters with the prefix, kept.
        let escaped = String(repeating: "\\u00e9", count: 1015)
        let line = #"{"eventName":"e","user":{"userID":"u1"},"time":1714564800000,"metadata":{"\#(escaped)":"v"}}"#
        let (chunk, _) = IntegrationFixtures.decode([line])
        let counters = DestinationCounters()
        let encoded = await IntegrationFixtures.encode(chunk, rule: IntegrationFixtures.heapRule,
                                                       encoder: HeapFormat(appID: nil, counters: counters))
        #expect(encoded.items.first?.contains(#""metadata.\#(escaped)":"v""#) == true)
        #expect(counters.snapshot.isEmpty)
    }

    @Test func aHeapDestinationReportsDroppedPropertiesInTheSummaryAndDeliversTheEvent() async throws {
        let long = String(repeating: "n", count: 1100)
        let line = #"{"eventName":"purchase","user":{"userID":"u1"},"time":1714564800000,"metadata":{"\#(long)":"x"}}"#
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let configuration = PipelineTestSupport.configuration(destinations: [
            HTTPTestSupport.destination("heap", .heap(endpoint: HTTPTestSupport.endpoint(server), appID: "app-1")),
        ])
        let pipeline = try Pipeline(configuration: configuration, options: PipelineOptions(input: .bytes(Array((line + "\n").utf8))))
        let summary = try await pipeline.run()
        #expect(summary.destinations["heap"]?.delivered == 1)
        #expect(summary.destinations["heap"]?.counters == ["propertyNamesTooLong": 1])
        #expect(String(decoding: summary.jsonBytes(), as: UTF8.self).contains(#""counters":{"propertyNamesTooLong":1}"#))
        #expect(String(decoding: try #require(server.requests.first).body, as: UTF8.self).contains(#""properties":{}"#))
    }

    @Test func identifiersUserIdSendsHeapsNumericUserIdInsteadOfIdentity() async throws {
        let lines = [
            #"{"eventName":"purchase","user":{"userID":"u1","customIDs":{"heapUserID":"8675309"}},"time":1714564800000,"timeUUID":"11111111-2222-11ef-8000-000000000001"}"#,
            #"{"eventName":"purchase","user":{"userID":"u2","customIDs":{"heapUserID":"not-a-number"}},"time":1714564800000}"#,
            #"{"eventName":"purchase","user":{"userID":"u3"},"time":1714564800000}"#,
        ]
        let configuration = try ConfigurationLoader.parse(#"{"destinations": [{"name": "h", "type": "heap", "appID": "a", "identifiers": {"userId": "heapUserID"}}]}"#)
        let destination = configuration.destinations[0]
        #expect(destination.identifiers.heapUserId == "heapUserID")
        let factory = DestinationFactory(options: PipelineOptions(), redactor: Redactor(secrets: []))
        let (chunk, _) = IntegrationFixtures.decode(lines)
        let encoded = await IntegrationFixtures.encode(chunk, rule: DestinationFactory.rule(for: destination),
                                                       encoder: try factory.makeEncoder(for: destination))
        #expect(encoded.items == [#"{"user_id":8675309,"event":"purchase","timestamp":"2024-05-01T12:00:00.000Z","idempotency_key":"11111111-2222-11ef-8000-000000000001","properties":{}}"#])
        #expect(encoded.refusals == ["Heap user_id must be a number (identifiers.userId names an ID that is not one)"])
        #expect(encoded.filtered == [.noIdentity: 1])
    }

    @Test func identityAndUserIdTogetherAreAConfigurationError() {
        #expect { try ConfigurationLoader.parse(#"{"destinations": [{"name": "h", "type": "heap", "appID": "a", "identifiers": {"identity": "userID", "userId": "heapUserID"}}]}"#) } throws: { error in
            "\(error)".contains("never both")
        }
    }
}
