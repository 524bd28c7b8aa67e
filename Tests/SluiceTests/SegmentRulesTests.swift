import Foundation
import Testing
@testable import Sluice

/// Segment, both directions (issue 13, rule 4).
@Suite struct SegmentRulesTests {
    @Test func theStatsigUsersIpUserAgentLocaleAndAppVersionGoIntoTheContext() async {
        let line = #"{"eventName":"purchase","user":{"userID":"u1","email":"a@example.com","ip":"203.0.113.9","userAgent":"Mozilla/5.0 (X11)","locale":"de_DE","appVersion":"3.2.1","country":"DE","custom":{"ip":"nested"}},"time":1714564800000,"timeUUID":"11111111-2222-11ef-8000-000000000001"}"#
        let (chunk, _) = IntegrationFixtures.decode([line])
        let encoded = await IntegrationFixtures.encode(chunk, rule: IntegrationFixtures.segmentRule, encoder: SegmentFormat(framing: .lines))
        #expect(encoded.items == [#"{"type":"track","event":"purchase","userId":"u1","properties":{"value":null,"metadata":{}},"context":{"library":{"name":"sluice","version":"\#(SluiceVersion.string)"},"traits":{"email":"a@example.com"},"ip":"203.0.113.9","userAgent":"Mozilla/5.0 (X11)","locale":"de_DE","app":{"version":"3.2.1"}},"timestamp":"2024-05-01T12:00:00.000Z","originalTimestamp":"2024-05-01T12:00:00.000Z","messageId":"11111111-2222-11ef-8000-000000000001"}"#])
    }

    @Test func nonStringOrEmptyUserFieldsAreLeftOutOfTheContext() async {
        let line = #"{"eventName":"e","user":{"userID":"u1","ip":"","locale":5,"appVersion":null},"time":1714564800000}"#
        let (chunk, _) = IntegrationFixtures.decode([line])
        let encoded = await IntegrationFixtures.encode(chunk, rule: IntegrationFixtures.segmentRule, encoder: SegmentFormat(framing: .lines))
        #expect(encoded.items.first?.contains(#""context":{"library":{"name":"sluice","version":"\#(SluiceVersion.string)"}},"#) == true)
    }

    @Test func sentAtIsAddedToTheBatchBodyWhenTheRequestIsBuilt() throws {
        let target = try #require(try HTTPRequestTarget(DestinationConfiguration(name: "s", kind: .segment(writeKey: "w"))))
        var body = Array(#"{"batch":[{"type":"track"}]}"#.utf8)
        HTTPRequestTarget.appendSentAt(to: &body, now: Date(timeIntervalSince1970: 1_714_564_801.5))
        #expect(String(decoding: body, as: UTF8.self) == #"{"batch":[{"type":"track"}],"sentAt":"2024-05-01T12:00:01.500Z"}"#)
        #expect(target.appendsSentAt)
        let heap = try #require(try HTTPRequestTarget(DestinationConfiguration(name: "h", kind: .heap(appID: "a"))))
        #expect(!heap.appendsSentAt)
    }

    @Test func theDefaultBatchStopsAt475000BytesAndTheHardLimitStays500KB() throws {
        #expect(DestinationConfiguration(name: "s", kind: .segment(writeKey: "w")).batch.maxBytes == 475_000)
        _ = try ConfigurationLoader.parse(#"{"destinations": [{"name": "s", "type": "segment", "writeKey": "w", "batch": {"maxBytes": 500000}}]}"#)
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(#"{"destinations": [{"name": "s", "type": "segment", "writeKey": "w", "batch": {"maxBytes": 500001}}]}"#)
        }
    }

    @Test(arguments: [
        (#""integrations":{"Statsig":false}"#, true),
        (#""integrations":{"All":false}"#, true),
        (#""integrations":{"All":false,"Statsig":true}"#, false),
        (#""integrations":{"All":false,"Statsig":{"setting":1}}"#, false),
        (#""integrations":{"All":true,"Statsig":false}"#, true),
        (#""integrations":{"Amplitude":false}"#, false),
        (#""integrations":{}"#, false),
    ])
    func inboundIntegrationsAreHonouredAsSegmentDoes(_ integrations: String, _ filtered: Bool) {
        let line = #"{"type":"track","event":"Signed Up","userId":"u1",\#(integrations),"timestamp":"2024-05-01T12:00:00Z"}"#
        let (chunk, invalid) = IntegrationFixtures.decode([line])
        #expect(invalid.isEmpty)
        #expect(chunk.events.first?.filterReason == (filtered ? .segmentIntegrationDisabled : nil))
    }

    @Test func batchLevelIntegrationsApplyToMessagesWithoutTheirOwn() {
        let body = #"{"batch":[{"type":"track","event":"A","userId":"u1"},{"type":"track","event":"B","userId":"u1","integrations":{"Statsig":true}}],"integrations":{"All":false}}"#
        let (chunk, _) = IntegrationFixtures.decode([body])
        #expect(chunk.events.map(\.filterReason) == [.segmentIntegrationDisabled, nil])
    }

    @Test func pagesAndScreensWithoutANameUseTheCategoryOrAreFilteredWithTheReason() {
        let (chunk, invalid) = IntegrationFixtures.decode([
            #"{"type":"page","userId":"u1","name":"Pricing","category":"Docs"}"#,
            #"{"type":"page","userId":"u1","properties":{"name":"Home"}}"#,
            #"{"type":"page","userId":"u1","category":"Docs"}"#,
            #"{"type":"screen","userId":"u1","properties":{"category":"Settings"}}"#,
            #"{"type":"page","userId":"u1","properties":{"path":"/"}}"#,
            #"{"type":"screen","userId":"u1","name":""}"#,
        ])
        #expect(invalid.isEmpty)
        #expect(chunk.events.map { chunk.string($0.eventName) } == [
            "segment_page:Pricing", "segment_page:Home", "segment_page:Docs", "segment_screen:Settings", "segment_page:", "segment_screen:",
        ])
        #expect(chunk.events.map(\.filterReason) == [nil, nil, nil, nil, .segmentPageWithoutName, .segmentPageWithoutName])
    }

    @Test func filteredInboundMessagesAreCountedWithTheirReasonInThePipeline() async throws {
        let input = PipelineTestSupport.bytes([
            #"{"type":"track","event":"A","userId":"u1","integrations":{"Statsig":false},"messageId":"m1"}"#,
            #"{"type":"page","userId":"u1","messageId":"m2"}"#,
            #"{"type":"track","event":"B","userId":"u1","messageId":"m3"}"#,
        ])
        let recorder = RecordingDestination()
        let pipeline = try Pipeline(configuration: PipelineTestSupport.configuration(), options: PipelineOptions(
            input: .bytes(input), customDestinations: [CustomDestinationRegistration(name: "r", destination: recorder)]))
        let summary = try await pipeline.run()
        #expect(recorder.events.map(\.eventName) == ["segment_track:B"])
        #expect(summary.filteredByReason == ["segment integrations turn Statsig off": 1, "segment page or screen without a name": 1])
        #expect(summary.isBalanced)
    }
}
