import Foundation
import Testing
@testable import Sluice

@Suite("InputDecoder: Statsig shapes")
struct InputDecoderTests {
    func decode(_ lines: [String]) -> (EventChunk, [InvalidInput]) {
        IntegrationFixtures.decode(lines)
    }

    @Test("sample input shapes: Statsig event, log_event body and data batch decode; broken line is invalid with its number")
    func sampleShapes() throws {
        let text = try String(contentsOf: JSONFixtures.inputShapesSample, encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        let (chunk, invalid) = decode(lines)
        // line 1: one event; line 2: two events; line 3: one event.
        let statsigEvents = chunk.events.filter { $0.line <= 3 }
        #expect(statsigEvents.count == 4)
        #expect(chunk.string(statsigEvents[0].eventName) == "statsig::gate_exposure")
        #expect(statsigEvents[0].category == .gateExposure)
        #expect(statsigEvents[0].timeUUID.description == "5779e680-e643-11f1-8cbb-0242ac120002")
        #expect(statsigEvents[0].timestamp == 1795331233000)
        #expect(chunk.string(statsigEvents[0].stableID) == "s-1")
        #expect(chunk.string(statsigEvents[1].eventName) == "purchase")
        #expect(chunk.text(statsigEvents[1].statsigMetadata) == #"{"sdkType":"py-server","sdkVersion":"0.0.0"}"#)
        #expect(statsigEvents[1].timeUUID.version == 1)
        #expect(statsigEvents[1].timeUUID.milliseconds == 1795331233100)
        #expect(statsigEvents[3].timestamp == 1795331233200)  // numeric string
        #expect(invalid.contains { $0.line == 6 && $0.reason.hasPrefix("invalid JSON") })
    }

    @Test("privateAttributes is stripped from the user")
    func stripsPrivateAttributes() {
        let (chunk, invalid) = decode([#"{"eventName":"e","user":{"userID":"u","privateAttributes":{"ssn":"1"},"email":"x@y"},"time":5}"#])
        #expect(invalid.isEmpty)
        #expect(chunk.text(chunk.events[0].user) == #"{"userID":"u","email":"x@y"}"#)
    }

    @Test("a retried SDK event gets the same derived timeUUID; a different one does not")
    func derivedUUIDIsDeterministic() {
        let a = #"{"eventName":"click","user":{"userID":"u"},"time":1795331233000}"#
        let b = #"{"eventName":"click","user":{"userID":"v"},"time":1795331233000}"#
        let (chunk, _) = decode([a, a, b])
        #expect(chunk.events[0].timeUUID == chunk.events[1].timeUUID)
        #expect(chunk.events[0].timeUUID != chunk.events[2].timeUUID)
        #expect(chunk.events[0].timeUUID.milliseconds == 1795331233000)
    }

    @Test("bad events inside a batch are invalid one by one, good ones still count")
    func batchWithBadEvents() {
        let (chunk, invalid) = decode([#"{"events":[{"eventName":"ok","time":1},{"eventName":""},7,{"eventName":"x","timeUUID":"nope"}]}"#])
        #expect(chunk.events.count == 1)
        #expect(invalid.map(\.index) == [1, 2, 3])
    }
}

@Suite("InputDecoder: a document whose first key is eventName")
struct InputDecoderEventNameFirstTests {
    /// What the decoder made of one line, as text (fields that a Statsig line can set).
    static func summary(_ line: String) -> [String] {
        let (chunk, invalid) = IntegrationFixtures.decode([line])
        return chunk.events.map { e in
            [chunk.string(e.eventName), e.timeUUID.description, String(e.timestamp), chunk.text(e.user),
             chunk.text(e.userID), chunk.text(e.metadata), chunk.text(e.statsigMetadata), chunk.text(e.unitID)]
                .map { $0 ?? "-" }.joined(separator: "|")
        } + invalid.map { "invalid: \($0.reason)" }
    }

    @Test("eventName first, last, or escaped decodes the same; it takes the Statsig path even beside events or type")
    func sameWhereverEventNameStands() {
        let members = [#""user":{"userID":"u1","email":"a@b"}"#, #""timestamp":1795331233000"#,
                       #""metadata":{"gate":"g"}"#, #""timeUUID":"5779e680-e643-11f1-ab6e-0242ac120002""#,
                       #""statsigMetadata":{"sdkType":"js"}"#, #""unitID":"u1""#]
        let name = #""eventName":"statsig::gate_exposure""#
        let first = "{" + ([name] + members).joined(separator: ",") + "}"
        let last = "{" + (members + [name]).joined(separator: ",") + "}"
        let expected = Self.summary(last)
        #expect(expected.count == 1 && expected[0].hasPrefix("statsig::gate_exposure|5779e680"))
        #expect(Self.summary(first) == expected)
        // Keys are matched by their raw text, so an escaped `eventName` is not one, first or last.
        let escapedName = #""event\u004Eame":"statsig::gate_exposure""#
        let escapedFirst = Self.summary("{" + ([escapedName] + members).joined(separator: ",") + "}")
        #expect(escapedFirst.count == 1 && escapedFirst[0].hasPrefix("invalid: unrecognised input"))
        #expect(escapedFirst == Self.summary("{" + (members + [escapedName]).joined(separator: ",") + "}"))
        // With "events" or "type" beside it, eventName still decides (first or not), as it always did.
        let uuid = #""timeUUID":"5779e680-e643-11f1-ab6e-0242ac120002""#
        #expect(Self.summary(#"{"eventName":"e","time":1795331233000,"events":[1],"# + uuid + "}")
                == Self.summary(#"{"events":[1],"eventName":"e","time":1795331233000,"# + uuid + "}"))
        #expect(Self.summary(#"{"eventName":"","type":"track"}"#) == ["invalid: eventName must be a non-empty string"])
        #expect(Self.summary(#"{"type":"track","eventName":""}"#) == ["invalid: eventName must be a non-empty string"])
    }
}
