import Foundation
import Testing
import Sluice

@Suite("Pretty-printed request bodies (public API)")
struct PrettyPrintedBodyPublicAPITests {
    /// `ingest` accepts one pretty-printed JSON document, but values are copied verbatim into the export
    /// format, newlines included, so the NDJSON output (custom destinations' `ndjson`, stdout and file
    /// destinations) gets lines that are not JSON objects.
    @Test("a pretty-printed body still produces one NDJSON line per event")
    func prettyPrintedBodyStaysOneLinePerEvent() async throws {
        let sink = RecordingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: sink))
        let run = Task { try await pipeline.run() }
        let body = """
        {
          "events": [
            {
              "eventName": "purchase",
              "time": 1700000000000,
              "metadata": {
                "sku": "A-1",
                "price": "9.99"
              }
            }
          ],
          "user": {
            "userID": "u1"
          }
        }
        """
        #expect(await pipeline.ingest(body).accepted == 1)
        pipeline.finish()
        _ = try await run.value
        #expect(sink.uuids.count == 1)
        #expect(sink.ndjsonLines == 1)
    }
}
