import Testing
@testable import Sluice

/// How `ingest` tells a one-line body (decoded at once, with one parse) from one with line breaks.
@Suite("ingest: one-line bodies and line breaks")
struct IngestorBodyShapeTests {
    private func singleLine(_ text: String, maxLineBytes: Int = 1000) -> Bool {
        Array(text.utf8).withUnsafeBytes { Ingestor.isSingleLine($0, maxLineBytes: maxLineBytes) }
    }

    @Test("a body without CR or LF, within maxLineBytes and not blank, is one line")
    func singleLineBodies() {
        #expect(singleLine(#"{"events":[{"eventName":"a"}]}"#))
        #expect(!singleLine("{\"a\":1}\n{\"b\":2}"))
        #expect(!singleLine("{\"a\":1}\r"))
        #expect(!singleLine("   \t "))
        #expect(!singleLine(""))
        #expect(!singleLine(String(repeating: "x", count: 1001)), "an overlong body is left to the framer, which names it")
    }

    @Test("flattening replaces every CR and LF with a space and keeps everything else")
    func flattening() {
        let body = Array("{\r\n  \"a\": [1,\n2]\n}\r\n".utf8)
        let flat = body.withUnsafeBytes { Ingestor.flattened($0) }
        #expect(String(decoding: flat, as: UTF8.self) == "{    \"a\": [1, 2] }  ")
        #expect(flat.count == body.count)
    }

    @Test("a one-line body with a bad event is decoded once: the good events count, the bad one is named by index")
    func oneLineBodyWithBadEvent() async throws {
        let sink = RecordingDestination()
        let pipeline = try Pipeline(configuration: PipelineTestSupport.configuration(),
                                    options: PipelineOptions(customDestinations: [CustomDestinationRegistration(name: "rec", destination: sink)]))
        let run = Task { try await pipeline.run() }
        let result = await pipeline.ingest(#"{"events":[{"eventName":"a","user":{"userID":"u"},"time":1795331233000},{"eventName":5}]}"#)
        #expect(result.accepted == 1)
        #expect(result.invalid.map(\.index) == [1])
        let broken = await pipeline.ingest(#"{"events":[{"eventName":"a""#)
        #expect(broken.accepted == 0)
        #expect(broken.invalid.count == 1)
        #expect(broken.invalid.first?.reason.hasPrefix("invalid JSON") == true)
        pipeline.finish()
        let summary = try await run.value
        #expect(summary.ingested == 1)
        #expect(summary.invalid == 2)
        #expect(sink.events.count == 1)
    }
}
