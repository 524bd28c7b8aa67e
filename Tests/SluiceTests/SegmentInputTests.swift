import Foundation
import Testing
@testable import Sluice

@Suite("Segment input: messages and batches become Statsig events")
struct SegmentInputTests {
    func decode(_ lines: [String], _ options: DecoderOptions = DecoderOptions()) -> (EventChunk, [InvalidInput]) {
        IntegrationFixtures.decode(lines, options: options)
    }

    @Test("track: segment_track:X, userId, statsigCustomIDs, anonymousId, properties -> metadata, ISO timestamp -> ms")
    func trackMapping() throws {
        let line = #"{"type":"track","event":"Order Completed","userId":"u-1","anonymousId":"a-1","timestamp":"2024-05-01T12:00:00.250Z","messageId":"m-1","properties":{"revenue":12.5,"statsigCustomIDs":["companyID","c-9","stableID","s-3"],"value":"gold","nested":{"a":[1,null]}}}"#
        let (chunk, invalid) = decode([line])
        #expect(invalid.isEmpty)
        let event = try #require(chunk.events.first)
        #expect(chunk.text(event.eventName) == #""segment_track:Order Completed""#)
        #expect(event.category == .custom)
        #expect(event.kind == .event)
        #expect(event.filterReason == nil)
        #expect(chunk.text(event.user) == #"{"userID":"u-1","customIDs":{"companyID":"c-9","stableID":"s-3","segmentAnonymousId":"a-1"}}"#)
        #expect(chunk.string(event.userID) == "u-1")
        #expect(chunk.string(event.stableID) == "s-3")
        #expect(chunk.text(event.customIDs) == #"{"companyID":"c-9","stableID":"s-3","segmentAnonymousId":"a-1"}"#)
        #expect(chunk.text(event.metadata) == #"{"revenue":12.5,"value":"gold","nested":{"a":[1,null]}}"#)
        #expect(chunk.text(event.value) == #""gold""#)
        #expect(event.timestamp == 1_714_564_800_250)
        #expect(event.timeUUID.version == 1)
        #expect(event.timeUUID.milliseconds == 1_714_564_800_250)
    }

    @Test("page and screen names: name, else properties.name, else empty")
    func pageAndScreenNames() {
        let (chunk, invalid) = decode([
            #"{"type":"page","name":"Home","userId":"u","timestamp":"2024-05-01T12:00:00Z"}"#,
            #"{"type":"page","userId":"u","properties":{"name":"Pricing","path":"/pricing"},"timestamp":"2024-05-01T12:00:00Z"}"#,
            #"{"type":"page","userId":"u","name":null,"properties":{"path":"/"},"timestamp":"2024-05-01T12:00:00Z"}"#,
            #"{"type":"screen","name":"Settings","anonymousId":"a","timestamp":"2024-05-01T12:00:00Z"}"#,
        ])
        #expect(invalid.isEmpty)
        #expect(chunk.events.map { chunk.string($0.eventName) } == ["segment_page:Home", "segment_page:Pricing", "segment_page:", "segment_screen:Settings"])
    }

    @Test("unicode and escaped event names pass through as written")
    func unicodeNames() {
        let (chunk, _) = decode([#"{"type":"track","event":"Kauf abgeschlossen ✓ \"big\"","userId":"ü-1","timestamp":"2024-05-01T12:00:00Z"}"#])
        #expect(chunk.string(chunk.events[0].eventName) == "segment_track:Kauf abgeschlossen ✓ \"big\"")
        #expect(chunk.string(chunk.events[0].userID) == "ü-1")
    }

    @Test("malformed statsigCustomIDs make the event invalid with a reason; numeric values are accepted")
    func malformedCustomIDs() {
        let (chunk, invalid) = decode([
            #"{"type":"track","event":"e","userId":"u","properties":{"statsigCustomIDs":["companyID"]}}"#,
            #"{"type":"track","event":"e","userId":"u","properties":{"statsigCustomIDs":[1,"x"]}}"#,
            #"{"type":"track","event":"e","userId":"u","properties":{"statsigCustomIDs":["companyID",{"x":1}]}}"#,
            #"{"type":"track","event":"e","userId":"u","properties":{"statsigCustomIDs":"companyID=1"}}"#,
            #"{"type":"track","event":"e","userId":"u","properties":{"statsigCustomIDs":["companyID",42]}}"#,
        ])
        #expect(invalid.map(\.line) == [1, 2, 3, 4])
        #expect(invalid[0].reason.contains("odd number"))
        #expect(invalid[1].reason.contains("statsigCustomIDs[0]"))
        #expect(invalid[2].reason.contains("statsigCustomIDs[1]"))
        #expect(invalid[3].reason.contains("must be an array"))
        #expect(chunk.events.count == 1)
        #expect(chunk.text(chunk.events[0].customIDs) == #"{"companyID":"42"}"#)
    }

    @Test("anonymousId goes to segmentInbound.anonymousIdAs unless statsigCustomIDs names that type")
    func anonymousIdMapping() {
        let lines = [
            #"{"type":"track","event":"e","anonymousId":"anon","properties":{"statsigCustomIDs":["segmentAnonymousId","explicit"]}}"#,
            #"{"type":"track","event":"e","anonymousId":"anon"}"#,
        ]
        let (chunk, _) = decode(lines)
        #expect(chunk.text(chunk.events[0].customIDs) == #"{"segmentAnonymousId":"explicit"}"#)
        #expect(chunk.text(chunk.events[1].user) == #"{"customIDs":{"segmentAnonymousId":"anon"}}"#)
        #expect(!chunk.events[1].userID.isPresent)

        let (asStable, _) = decode([lines[1]], DecoderOptions(segmentAnonymousIdAs: "stableID"))
        #expect(asStable.string(asStable.events[0].stableID) == "anon")
    }

    @Test("userId and anonymousId: one is required; empty strings count as absent; numbers become strings")
    func identifiersRequired() {
        let (chunk, invalid) = decode([
            #"{"type":"track","event":"e"}"#,
            #"{"type":"track","event":"e","userId":"","anonymousId":null}"#,
            #"{"type":"track","event":"e","userId":"","anonymousId":"a"}"#,
            #"{"type":"track","event":"e","userId":12345}"#,
            #"{"type":"track","event":"e","userId":true}"#,
        ])
        #expect(invalid.map(\.line) == [1, 2, 5])
        #expect(invalid[0].reason == "a Segment message needs a userId or an anonymousId")
        #expect(chunk.events.count == 2)
        #expect(!chunk.events[0].userID.isPresent)
        #expect(chunk.text(chunk.events[1].userID) == #""12345""#)
    }

    @Test("messageId is the de-duplication key: same messageId and time give the same timeUUID")
    func messageIdDedupeKey() {
        let a = #"{"type":"track","event":"e","userId":"u","messageId":"m-1","timestamp":"2024-05-01T12:00:00Z"}"#
        let retried = #"{"type":"track","event":"e","userId":"u","messageId":"m-1","timestamp":"2024-05-01T12:00:00Z","sentAt":"2024-05-01T12:00:09Z"}"#
        let other = #"{"type":"track","event":"e","userId":"u","messageId":"m-2","timestamp":"2024-05-01T12:00:00Z"}"#
        let (chunk, _) = decode([a, retried, other])
        #expect(chunk.events[0].timeUUID == chunk.events[1].timeUUID)
        #expect(chunk.events[0].timeUUID != chunk.events[2].timeUUID)
    }

    @Test("time falls back from timestamp to originalTimestamp, sentAt, the batch's sentAt, receivedAt; a bad one is invalid")
    func timestampFallbacks() {
        let (chunk, invalid) = decode([
            #"{"type":"track","event":"e","userId":"u","originalTimestamp":"2024-05-01T12:00:01+02:00"}"#,
            #"{"batch":[{"type":"track","event":"e","userId":"u"}],"sentAt":"2024-05-01T12:00:02.123456Z"}"#,
            #"{"type":"track","event":"e","userId":"u","receivedAt":"2024-05-01T12:00:03Z"}"#,
            #"{"type":"track","event":"e","userId":"u","timestamp":"yesterday"}"#,
        ])
        #expect(chunk.events.map(\.timestamp) == [1_714_557_601_000, 1_714_564_802_123, 1_714_564_803_000])
        #expect(invalid.map(\.line) == [4])
        #expect(invalid[0].reason.hasPrefix("timestamp must be an ISO 8601"))
    }

    @Test("batch: context merges into each message (message wins), bad messages are invalid by index")
    func batchContextMerge() {
        let line = #"{"batch":[{"type":"track","event":"a","userId":"u1","context":{"ip":"10.0.0.1"}},{"type":"track","event":"b","userId":"u2"},7,{"type":"track","userId":"u3"}],"context":{"ip":"192.0.2.1","userAgent":"UA/1","locale":"de-DE","traits":{"email":"x@example.com"},"app":{"version":"2.1"}},"integrations":{"All":true}}"#
        let (chunk, invalid) = decode([line])
        #expect(chunk.events.count == 2)
        #expect(chunk.text(chunk.events[0].user) == #"{"userID":"u1","email":"x@example.com","ip":"10.0.0.1","userAgent":"UA/1","locale":"de-DE","appVersion":"2.1"}"#)
        #expect(chunk.text(chunk.events[1].user) == #"{"userID":"u2","email":"x@example.com","ip":"192.0.2.1","userAgent":"UA/1","locale":"de-DE","appVersion":"2.1"}"#)
        #expect(chunk.string(chunk.events[1].email) == "x@example.com")
        #expect(invalid.map(\.index) == [2, 3])
        #expect(invalid[1].reason.contains("track call needs"))
    }

    @Test("segmentInbound.events selects by Segment name or Statsig name; others are ingested and filtered")
    func inboundSelection() {
        let options = DecoderOptions(segmentEvents: ["Order *", "segment_page:*"])
        let (chunk, _) = decode([
            #"{"type":"track","event":"Order Completed","userId":"u"}"#,
            #"{"type":"track","event":"Button Clicked","userId":"u"}"#,
            #"{"type":"page","name":"Home","userId":"u"}"#,
            #"{"type":"screen","name":"Home","userId":"u"}"#,
        ], options)
        #expect(chunk.events.map(\.filterReason) == [nil, .segmentEventNotSelected, nil, .segmentEventNotSelected])
    }

    @Test("group, alias and plain identify calls are ingested and filtered with their reasons")
    func unsupportedCalls() {
        let (chunk, invalid) = decode([
            #"{"type":"group","groupId":"g","userId":"u","traits":{"name":"Acme"}}"#,
            #"{"type":"alias","previousId":"a","userId":"u"}"#,
            #"{"type":"identify","userId":"u","traits":{"plan":"pro"}}"#,
            #"{"type":"delete","userId":"u"}"#,
        ])
        #expect(chunk.events.map(\.filterReason) == [.segmentGroupCall, .segmentAliasCall, .identifyNotAudience])
        #expect(invalid.count == 1)
        #expect(invalid[0].reason.hasPrefix("unsupported Segment type \"delete\""))
    }

    @Test("Personas audience: true then false become add and remove membership records keyed by the audience")
    func audienceChanges() {
        func identify(_ member: Bool, user: String) -> String {
            #"{"type":"identify","userId":"\#(user)","messageId":"m-\#(member)","traits":{"order_completed_last_30days":\#(member)},"context":{"personas":{"computation_class":"audience","computation_key":"order_completed_last_30days","computation_id":"aud_1","space_id":"spa_1"}},"timestamp":"2024-05-01T12:00:00Z"}"#
        }
        let (chunk, invalid) = decode([identify(true, user: "u-7"), identify(false, user: "u-7")])
        #expect(invalid.isEmpty)
        #expect(chunk.events.map(\.kind) == [.audienceMembership, .audienceMembership])
        #expect(chunk.events.map { chunk.text($0.eventName) } == [#""order_completed_last_30days""#, #""order_completed_last_30days""#])
        #expect(chunk.events.map { chunk.text($0.value) } == ["true", "false"])
        #expect(chunk.events.map { chunk.string($0.userID) } == ["u-7", "u-7"])
        #expect(chunk.events[0].timeUUID != chunk.events[1].timeUUID)
    }

    @Test("an anonymous audience member keeps its anonymousId as a custom ID (an ID list holds one ID type); a malformed audience identify is invalid")
    func audienceEdgeCases() {
        let (chunk, invalid) = decode([
            #"{"batch":[{"type":"identify","anonymousId":"anon-1","traits":{"vip":true}}],"context":{"personas":{"computation_class":"audience","computation_key":"vip"}}}"#,
            #"{"type":"identify","userId":"u","traits":{"vip":"yes"},"context":{"personas":{"computation_class":"audience","computation_key":"vip"}}}"#,
            #"{"type":"identify","userId":"u","traits":{"score":3},"context":{"personas":{"computation_class":"trait","computation_key":"score"}}}"#,
        ])
        #expect(chunk.events.count == 2)
        #expect(chunk.events[0].kind == .audienceMembership)
        #expect(chunk.string(chunk.events[0].userID) == nil)
        #expect(chunk.text(chunk.events[0].customIDs) == #"{"segmentAnonymousId":"anon-1"}"#)
        #expect(chunk.events[1].filterReason == .identifyNotAudience)
        #expect(invalid.map(\.line) == [2])
        #expect(invalid[0].reason.contains("true or false"))
    }

    @Test("messages as analytics-python and analytics-node send them decode")
    func officialLibraryShapes() {
        // analytics-python: microsecond timestamps with +00:00, uuid4 messageId, library in context.
        let python = #"{"batch": [{"integrations": {}, "anonymousId": null, "properties": {"plan": "Pro"}, "timestamp": "2024-05-01T12:00:00.123456+00:00", "context": {"library": {"name": "analytics-python", "version": "2.3.2"}}, "userId": "f4ca124298", "type": "track", "event": "Signed Up", "messageId": "a1f5c3e0-4b9d-4c5e-9f3a-2d1e0c9b8a7f"}], "sentAt": "2024-05-01T12:00:01.000000+00:00"}"#
        // @segment/analytics-node: node-next messageIds, _metadata, writeKey in the batch body.
        let node = #"{"batch":[{"userId":"user-1","event":"Item Purchased","properties":{"price":9.99,"statsigCustomIDs":["companyID","acme"]},"type":"track","context":{"library":{"name":"@segment/analytics-node","version":"2.1.0"}},"_metadata":{"jsRuntime":"node"},"timestamp":"2024-05-01T12:00:00.000Z","integrations":{},"messageId":"node-next-1714564800000-abc"}],"writeKey":"wk","sentAt":"2024-05-01T12:00:00.100Z"}"#
        let (chunk, invalid) = decode([python, node])
        #expect(invalid.isEmpty)
        #expect(chunk.events.map { chunk.string($0.eventName) } == ["segment_track:Signed Up", "segment_track:Item Purchased"])
        #expect(chunk.events[0].timestamp == 1_714_564_800_123)
        #expect(chunk.text(chunk.events[1].user) == #"{"userID":"user-1","customIDs":{"companyID":"acme"}}"#)
    }
}
