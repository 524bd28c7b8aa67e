import Foundation
import Testing
@testable import Sluice

/// Statsig ID lists hold one ID type (`idType`, issue 13 rule 3).
@Suite struct IDListTypeTests {
    static func identify(_ ids: String, member: Bool = true) -> String {
        #"{"type":"identify",\#(ids),"traits":{"vip":\#(member)},"context":{"personas":{"computation_class":"audience","computation_key":"vip"}},"timestamp":"2024-05-01T12:00:00Z"}"#
    }

    static let lines = [
        identify(#""userId":"u1","anonymousId":"a1""#),
        identify(#""anonymousId":"a2""#),
        identify(#""userId":"u3","properties":{"statsigCustomIDs":["companyID","acme"]}"#),
    ]

    static func run(idType: String?, anonymousIdAs: String = "segmentAnonymousId") async throws -> (Summary, [RecordedRequest]) {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        var destination = HTTPTestSupport.destination("lists", .statsigIDLists(endpoint: HTTPTestSupport.endpoint(server), apiKey: "console-k"))
        destination.idType = idType
        destination.rateLimit = .off
        var configuration = PipelineTestSupport.configuration(destinations: [destination])
        configuration.segmentInbound.anonymousIdAs = anonymousIdAs
        let pipeline = try Pipeline(configuration: configuration, options: PipelineOptions(input: .bytes(PipelineTestSupport.bytes(lines))))
        let summary = try await pipeline.run()
        return (summary, server.requests)
    }

    @Test func theDefaultListTakesUserIDsAndFiltersMembersWithoutOne() async throws {
        let (summary, requests) = try await Self.run(idType: nil)
        #expect(requests.map { String(decoding: $0.body, as: UTF8.self) } == [#"{"ids":["u1","u3"]}"#])
        #expect(summary.destinations["lists"]?.filteredByReason == ["no userID": 1])
        #expect(summary.isBalanced)
    }

    @Test func aStableIDListTakesTheAnonymousIdMappedToStableID() async throws {
        let (summary, requests) = try await Self.run(idType: "stableID", anonymousIdAs: "stableID")
        #expect(requests.map { String(decoding: $0.body, as: UTF8.self) } == [#"{"ids":["a1","a2"]}"#])
        #expect(summary.destinations["lists"]?.filteredByReason == ["no stableID": 1])
    }

    @Test func aCustomIDListTakesThatIDFromStatsigCustomIDs() async throws {
        let (summary, requests) = try await Self.run(idType: "companyID")
        #expect(requests.map { String(decoding: $0.body, as: UTF8.self) } == [#"{"ids":["acme"]}"#])
        #expect(summary.destinations["lists"]?.filteredByReason == ["no companyID": 2])
        #expect(summary.destinations["lists"]?.filtered == 2)
    }

    @Test func idTypeIsLoadedAndMustNotBeEmpty() throws {
        let configuration = try ConfigurationLoader.parse(#"{"destinations": [{"name": "l", "type": "statsig-idlists", "apiKey": "k", "idType": "stableID"}]}"#)
        #expect(configuration.destinations[0].idType == "stableID")
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(#"{"destinations": [{"name": "l", "type": "statsig-idlists", "apiKey": "k", "idType": ""}]}"#)
        }
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(#"{"destinations": [{"name": "s", "type": "segment", "writeKey": "k", "idType": "userID"}]}"#)
        }
    }
}
