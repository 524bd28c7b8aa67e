import Foundation
import Testing
@testable import Sluice

@Suite("Statsig log_event, webhook and ID-list outputs")
struct StatsigOutputFormatTests {
    @Test("a Segment-inbound track becomes a log_event event with user, value, metadata and time")
    func logEventFromSegment() async {
        let (chunk, _) = IntegrationFixtures.decode([#"{"type":"track","event":"Order Completed","userId":"u-1","anonymousId":"a-1","properties":{"value":9.5,"statsigCustomIDs":["companyID","c"]},"timestamp":"2024-05-01T12:00:00Z","messageId":"m"}"#])
        let out = await IntegrationFixtures.encode(chunk, rule: .none, encoder: StatsigLogEventFormat())
        #expect(out.items == [#"{"eventName":"segment_track:Order Completed","user":{"userID":"u-1","customIDs":{"companyID":"c","segmentAnonymousId":"a-1"}},"value":9.5,"metadata":{"value":9.5},"time":1714564800000}"#])
    }

    @Test("an export event whose userID is only top-level gets it inside user; SDK fields are kept")
    func logEventUserID() async {
        let (chunk, _) = IntegrationFixtures.decode([
            #"{"eventName":"e","user":{"email":"x@y"},"userID":"u-2","timestamp":5,"timeUUID":"5779e680-e643-11f1-8cbb-0242ac120002"}"#,
            #"{"eventName":"e","userID":"u-3","timestamp":5}"#,
            #"{"eventName":"statsig::gate_exposure","user":{"userID":"u-4","privateAttributes":{"p":1}},"metadata":{"gate":"g"},"secondaryExposures":[{"gate":"h","gateValue":"false","ruleID":"r"}],"statsigMetadata":{"sdkType":"js"},"time":5}"#,
        ])
        let out = await IntegrationFixtures.encode(chunk, rule: .none, encoder: StatsigLogEventFormat())
        #expect(out.items[0] == #"{"eventName":"e","user":{"userID":"u-2","email":"x@y"},"value":null,"metadata":{},"time":5}"#)
        #expect(out.items[1] == #"{"eventName":"e","user":{"userID":"u-3"},"value":null,"metadata":{},"time":5}"#)
        #expect(out.items[2] == #"{"eventName":"statsig::gate_exposure","user":{"userID":"u-4"},"value":null,"metadata":{"gate":"g"},"time":5,"statsigMetadata":{"sdkType":"js"},"secondaryExposures":[{"gate":"h","gateValue":"false","ruleID":"r"}]}"#)
        let body = StatsigLogEventFormat().prefix + Array(out.items.joined(separator: ",").utf8) + StatsigLogEventFormat().suffix
        let object = IntegrationFixtures.object(String(decoding: body, as: UTF8.self))
        #expect((object?["events"] as? [Any])?.count == 3)
        #expect((object?["statsigMetadata"] as? [String: String])?["sdkType"] == "sluice")
    }

    @Test("the webhook body is {\"data\":[...]} of export-format events with the defaulted unitID")
    func webhook() async throws {
        let (chunk, _) = IntegrationFixtures.decode([#"{"eventName":"e","user":{"userID":"u"},"time":5,"timeUUID":"5779e680-e643-11f1-8cbb-0242ac120002"}"#])
        let out = await IntegrationFixtures.encode(chunk, rule: .none, encoder: WebhookFormat())
        #expect(out.items == [#"{"eventName":"e","user":{"userID":"u"},"userID":"u","timestamp":5,"value":null,"metadata":{},"statsigMetadata":{},"timeUUID":"5779e680-e643-11f1-8cbb-0242ac120002","unitID":"u"}"#])
        let body = String(decoding: WebhookFormat().prefix + Array(out.items[0].utf8) + WebhookFormat().suffix, as: UTF8.self)
        #expect((IntegrationFixtures.object(body)?["data"] as? [Any])?.count == 1)
    }

    @Test("audience changes become ID-list bodies keyed by list and operation; other events are not for this destination")
    func idLists() async {
        func identify(_ key: String, _ member: Bool, _ user: String) -> String {
            #"{"type":"identify","userId":"\#(user)","messageId":"\#(key)\#(member)\#(user)","traits":{"\#(key)":\#(member)},"context":{"personas":{"computation_class":"audience","computation_key":"\#(key)"}}}"#
        }
        let (chunk, invalid) = IntegrationFixtures.decode([
            identify("vip", true, "u1"), identify("vip", false, "u2"), SegmentFormatTests.exposure, identify("a/b c", true, "u3"),
        ])
        #expect(invalid.isEmpty)
        let out = await IntegrationFixtures.encode(chunk, rule: .audience, encoder: StatsigIDListFormat())
        #expect(out.items == [#""u1""#, #""u2""#, #""u3""#])
        #expect(out.filtered == [.notForDestination: 1])
        let requests = out.keys.map { StatsigIDListFormat.request(for: $0!) }
        #expect(requests.map(\.method) == ["PATCH", "DELETE", "PATCH"])
        #expect(requests.map(\.path) == ["/console/v1/segments/vip/id_list", "/console/v1/segments/vip/id_list", "/console/v1/segments/a%2Fb%20c/id_list"])

        let segment = await IntegrationFixtures.encode(chunk, rule: IntegrationFixtures.segmentRule, encoder: SegmentFormat(framing: .lines))
        #expect(segment.items.count == 1)
        #expect(segment.filtered == [.notForDestination: 3])
    }
}
