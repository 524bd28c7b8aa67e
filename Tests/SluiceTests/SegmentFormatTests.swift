import Foundation
import Testing
@testable import Sluice

@Suite("Segment output: Statsig events as Segment track messages")
struct SegmentFormatTests {
    static let exposure = #"{"eventName":"statsig::gate_exposure","user":{"userID":"u-1","email":"a@example.com","customIDs":{"stableID":"s-1","companyID":"c-1"},"privateAttributes":{"ssn":"123-45"}},"userID":"u-1","timestamp":1714564800250,"value":null,"metadata":{"gate":"new_checkout","gateValue":"true","ruleID":"rule_1"},"statsigMetadata":{"sdkType":"js-client"},"timeUUID":"5779e680-e643-11f1-8cbb-0242ac120002"}"#

    func segment(_ lines: [String], rule: IdentityRule = IntegrationFixtures.segmentRule,
                 selection: EventSelection = EventSelection()) async -> IntegrationFixtures.Encoded {
        let (chunk, invalid) = IntegrationFixtures.decode(lines)
        #expect(invalid.isEmpty)
        return await IntegrationFixtures.encode(chunk, rule: rule, encoder: SegmentFormat(framing: .lines), selection: selection)
    }

    @Test("a gate exposure becomes the seed-003 track message, byte for byte")
    func goldenExposure() async {
        let out = await segment([Self.exposure])
        let expected = #"{"type":"track","event":"statsig::gate_exposure","userId":"u-1","anonymousId":"s-1","properties":{"value":null,"metadata":{"gate":"new_checkout","gateValue":"true","ruleID":"rule_1"}},"context":{"library":{"name":"sluice","version":"\#(SluiceVersion.string)"},"traits":{"email":"a@example.com"}},"timestamp":"2024-05-01T12:00:00.250Z","originalTimestamp":"2024-05-01T12:00:00.250Z","messageId":"5779e680-e643-11f1-8cbb-0242ac120002"}"#
        #expect(out.items == [expected])
        #expect(!out.items[0].contains("privateAttributes") && !out.items[0].contains("123-45"))
    }

    @Test("Map Identifiers: anonymousId from a custom ID type, or none; userId from email")
    func mapIdentifiers() async throws {
        let byCompany = await segment([Self.exposure], rule: .segment(userId: .userID, anonymousId: .customID("companyID")))
        let a = try #require(IntegrationFixtures.object(byCompany.items[0]))
        #expect(a["anonymousId"] as? String == "c-1")
        let noAnonymous = await segment([Self.exposure], rule: .segment(userId: .email, anonymousId: nil))
        let b = try #require(IntegrationFixtures.object(noAnonymous.items[0]))
        #expect(b["userId"] as? String == "a@example.com")
        #expect(b["anonymousId"] == nil)
    }

    @Test("user with only customIDs, empty userID, no identity at all: anonymousId only, or filtered as no identity")
    func identityEdgeCases() async throws {
        let out = await segment([
            #"{"eventName":"click","user":{"customIDs":{"stableID":"s-9"}},"time":1714564800000}"#,
            #"{"eventName":"click","user":{"userID":"","customIDs":{"stableID":"s-8"}},"time":1714564800000}"#,
            #"{"eventName":"click","user":{"userID":"","customIDs":{"companyID":"c"}},"time":1714564800000}"#,
        ])
        #expect(out.items.count == 2)
        #expect(out.filtered == [.noIdentity: 1])
        let first = try #require(IntegrationFixtures.object(out.items[0]))
        let second = try #require(IntegrationFixtures.object(out.items[1]))
        #expect(first["userId"] == nil && first["anonymousId"] as? String == "s-9")
        #expect(second["userId"] == nil && second["anonymousId"] as? String == "s-8")
    }

    @Test("numeric, null and string values, nested metadata and unicode are kept exactly")
    func valuesAndMetadata() async throws {
        let out = await segment([
            #"{"eventName":"purchase","user":{"userID":"ü"},"value":12.5,"metadata":{"items":[{"sku":"ä-1","qty":2}],"note":"naïve ✓"},"time":1714564800000}"#,
            #"{"eventName":"purchase","user":{"userID":"u"},"value":"gold","time":1714564800000}"#,
            #"{"eventName":"purchase","user":{"userID":"u"},"time":1714564800000}"#,
        ])
        #expect(out.items[0].contains(#""userId":"ü""#))
        #expect(out.items[0].contains(#""properties":{"value":12.5,"metadata":{"items":[{"sku":"ä-1","qty":2}],"note":"naïve ✓"}}"#))
        #expect(out.items[1].contains(#""properties":{"value":"gold","metadata":{}}"#))
        #expect(out.items[2].contains(#""properties":{"value":null,"metadata":{}}"#))
        for item in out.items { #expect(IntegrationFixtures.object(item) != nil) }
    }

    @Test("a message over 32 KB is refused with its reason; one just under passes")
    func messageLimit() async {
        let big = String(repeating: "x", count: 33 * 1024)
        let small = String(repeating: "x", count: 31 * 1024)
        let out = await segment([
            #"{"eventName":"e","user":{"userID":"u"},"metadata":{"blob":"\#(big)"},"time":1}"#,
            #"{"eventName":"e","user":{"userID":"u"},"metadata":{"blob":"\#(small)"},"time":1}"#,
        ])
        #expect(out.refusals.count == 1)
        #expect(out.refusals.first?.contains("over Segment's 32 KB limit") == true)
        #expect(out.items.count == 1)
    }

    @Test("per-destination categories, include and exclude select what Segment receives")
    func perDestinationFilter() async {
        let lines = [
            Self.exposure,
            #"{"eventName":"statsig::config_exposure","user":{"userID":"u"},"metadata":{"config":"c"},"time":1}"#,
            #"{"eventName":"checkout","user":{"userID":"u"},"time":1}"#,
            #"{"eventName":"debug_ping","user":{"userID":"u"},"time":1}"#,
        ]
        let out = await segment(lines, selection: EventSelection(categories: [.gateExposure, .custom], exclude: ["debug_*"]))
        #expect(out.items.count == 2)
        #expect(out.filtered == [.categoryNotSelected: 1, .excluded: 1])
        let includeOnly = await segment(lines, selection: EventSelection(include: ["statsig::*"]))
        #expect(includeOnly.items.count == 2)
        #expect(includeOnly.filtered == [.notIncluded: 2])
    }

    @Test("the HTTP framing is {\"batch\":[...]} and parses as one JSON body")
    func batchFraming() async throws {
        let encoder = SegmentFormat(framing: .batch)
        let out = await segment([Self.exposure, Self.exposure])
        let body = String(decoding: encoder.prefix, as: UTF8.self) + out.items.joined(separator: String(decoding: encoder.separator, as: UTF8.self)) + String(decoding: encoder.suffix, as: UTF8.self)
        let object = try #require(IntegrationFixtures.object(body))
        #expect((object["batch"] as? [Any])?.count == 2)
    }

    @Test("Segment-inbound events round-trip to Segment with their name and identifiers")
    func segmentRoundTrip() async throws {
        let (chunk, _) = IntegrationFixtures.decode([#"{"type":"track","event":"Signed Up","userId":"u-1","anonymousId":"a-1","properties":{"plan":"pro"},"timestamp":"2024-05-01T12:00:00Z","messageId":"m"}"#],
                                                    options: DecoderOptions(segmentAnonymousIdAs: "stableID"))
        let out = await IntegrationFixtures.encode(chunk, rule: IntegrationFixtures.segmentRule, encoder: SegmentFormat(framing: .lines))
        let message = try #require(IntegrationFixtures.object(out.items[0]))
        #expect(message["event"] as? String == "segment_track:Signed Up")
        #expect(message["userId"] as? String == "u-1")
        #expect(message["anonymousId"] as? String == "a-1")
        #expect((message["properties"] as? [String: Any])?["metadata"] as? [String: String] == ["plan": "pro"])
    }
}
