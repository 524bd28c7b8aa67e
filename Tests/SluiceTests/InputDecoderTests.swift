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
