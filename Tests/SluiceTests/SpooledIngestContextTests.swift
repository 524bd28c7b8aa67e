import Testing
@testable import Sluice

@Suite("Spool: a relay body keeps its ingest context in its record")
struct SpooledIngestContextTests {
    @Test("context and body come back exactly, with and without client time and IP", arguments: [
        IngestContext(clientIP: "203.0.113.7", receivedAtMilliseconds: 1_700_000_000_123, clientTimeMilliseconds: 1_699_999_999_000),
        IngestContext(clientIP: nil, receivedAtMilliseconds: 5, clientTimeMilliseconds: nil, correctsSegmentSentAt: false),
        IngestContext(clientIP: "2001:db8::1", receivedAtMilliseconds: -1, clientTimeMilliseconds: Int64.min),
    ])
    func roundTrip(context: IngestContext) throws {
        let body = Array(#"{"events":[{"eventName":"x"}]}"#.utf8)
        let payload = SpooledIngestContext.payload(body, context: context)
        let split = try #require(SpooledIngestContext.split(payload))
        #expect(split.context == context)
        #expect(split.body == body)
    }

    @Test("a cut or garbled context header is refused, not a crash")
    func garbledHeader() {
        let payload = SpooledIngestContext.payload(Array("{}".utf8), context: IngestContext(clientIP: "1.2.3.4", receivedAtMilliseconds: 1))
        for cut in 0..<13 { #expect(SpooledIngestContext.split(Array(payload.prefix(cut))) == nil) }
        var huge = payload
        huge[0] = 0xFF; huge[1] = 0xFF; huge[2] = 0xFF
        #expect(SpooledIngestContext.split(huge) == nil)
    }
}
