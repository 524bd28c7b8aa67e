import Foundation
import Testing
@testable import Sluice

/// gzip request and input bodies, and seconds-looking timestamps (issue 13, rule 5).
@Suite struct CompressionAndTimeTests {
    typealias T = HTTPTestSupport

    // MARK: - Request bodies

    @Test func compressionDefaultsAndOverrides() throws {
        let configuration = try ConfigurationLoader.parse("""
            {"destinations": [
              {"name": "segment", "type": "segment", "writeKey": "w"},
              {"name": "statsig", "type": "statsig", "apiKey": "k"},
              {"name": "heap", "type": "heap", "appID": "a"},
              {"name": "hook", "type": "webhook", "url": "https://example.com"},
              {"name": "lists", "type": "statsig-idlists", "apiKey": "k"},
              {"name": "plain", "type": "segment", "writeKey": "w", "compression": "none"},
              {"name": "zipped", "type": "webhook", "url": "https://example.com", "compression": "gzip"}
            ]}
            """)
        #expect(configuration.destinations.map(\.effectiveCompression) == [.gzip, .gzip, .none, .none, .none, .none, .gzip])
        #expect { try ConfigurationLoader.parse(#"{"destinations": [{"name": "h", "type": "heap", "appID": "a", "compression": "br"}]}"#) } throws: { error in
            (error as? ConfigurationError)?.keyPath == "destinations[0].compression"
        }
    }

    @Test func aWebhookSetToGzipSendsTheCompressedBodyAndASegmentSetToNoneDoesNot() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        var hook = T.destination("hook", .webhook(url: T.endpoint(server) + "/hook"))
        hook.compression = .gzip
        var segment = T.destination("segment", .segment(endpoint: T.endpoint(server), writeKey: T.writeKey))
        segment.compression = BodyCompression.none
        let (bytes, uuids) = T.events(3)
        let pipeline = try Pipeline(configuration: PipelineTestSupport.configuration(destinations: [hook, segment]),
                                    options: PipelineOptions(input: .bytes(bytes)))
        let summary = try await pipeline.run()
        #expect(summary.destinations.values.allSatisfy { $0.delivered == 3 })
        let hookRequests = server.requests.filter { $0.path == "/hook" }
        let segmentRequests = server.requests.filter { $0.path == "/v1/batch" }
        #expect(hookRequests.allSatisfy { $0.header("Content-Encoding") == "gzip" && Gzip.hasMagic($0.wireBody) })
        #expect(Set(hookRequests.flatMap { T.uuids(in: $0.body) }) == Set(uuids))
        #expect(segmentRequests.allSatisfy { $0.header("Content-Encoding") == nil && $0.wireBody.first == UInt8(ascii: "{") })
    }

    /// Golden: a dry run prints the gzip destination's body as JSON and says it would be gzipped.
    @Test func aDryRunShowsTheBodyUncompressedAndSaysItWouldBeGzipped() throws {
        var destination = DestinationConfiguration(name: "hook", kind: .webhook(url: "https://hooks.example/in"))
        destination.compression = .gzip
        let target = try #require(try HTTPRequestTarget(destination))
        let batch = Batch(body: Array(#"{"data":[{"eventName":"e"}]}"#.utf8), eventCount: 1, members: [], oldestCreatedAt: 0, key: nil)
        guard case .success(let request) = target.request(for: batch, compressingBody: false) else {
            Issue.record("expected a request")
            return
        }
        let line = DryRunSender(target: target, sink: FileDescriptorSink(fd: -1), redactor: Redactor(secrets: [])).line(for: request)
        #expect(String(decoding: line, as: UTF8.self) == #"{"destination":"hook","method":"POST","url":"https://hooks.example/in","headers":{"Content-Type":"application/json","User-Agent":"sluice/\#(SluiceVersion.string)","Content-Encoding":"gzip"},"body":{"data":[{"eventName":"e"}]},"compression":"gzip (body shown uncompressed)"}"# + "\n")
        guard case .success(let sent) = target.request(for: batch) else { return }
        #expect(try Gzip.decompress(sent.body, limit: 1 << 20) == batch.body)
    }

    // MARK: - Input bodies

    @Test func ingestAcceptsAGzippedBodyAndReportsACorruptOneAsInvalid() async throws {
        let recorder = RecordingDestination()
        let pipeline = try Pipeline(configuration: PipelineTestSupport.configuration(), options: PipelineOptions(
            customDestinations: [CustomDestinationRegistration(name: "r", destination: recorder)]))
        async let summary = pipeline.run()
        let body = #"{"events":[{"eventName":"a","time":1714564800000},{"eventName":"b","time":1714564800001}],"user":{"userID":"u1"}}"#
        let good = await pipeline.ingest(Gzip.compress(Array(body.utf8)))
        var broken = Gzip.compress(Array(body.utf8))
        broken.removeLast(12)
        let bad = await pipeline.ingest(broken)
        pipeline.finish()
        let result = try await summary
        #expect(good.accepted == 2 && good.invalid.isEmpty)
        #expect(bad.accepted == 0)
        #expect(bad.invalid.map(\.reason) == ["gzip body: invalid gzip data: truncated stream"])
        #expect(result.invalid == 1)
        #expect(recorder.events.map(\.eventName).sorted() == ["a", "b"])
    }

    @Test func aGzippedInputFileIsReadAsOneStream() async throws {
        let (bytes, uuids) = T.events(2000)
        let half = bytes.count / 2
        let path = T.temporaryPath("input.ndjson.gz")
        // Two members, as `cat a.gz b.gz` makes.
        try Data(Gzip.compress(Array(bytes[..<half])) + Gzip.compress(Array(bytes[half...]))).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recorder = RecordingDestination()
        let pipeline = try Pipeline(configuration: PipelineTestSupport.configuration(), options: PipelineOptions(
            input: .file(path), customDestinations: [CustomDestinationRegistration(name: "r", destination: recorder)]))
        let summary = try await pipeline.run()
        #expect(pipeline.inputFailure == nil)
        #expect(summary.ingested == 2000 && summary.invalid == 0)
        #expect(Set(recorder.timeUUIDs) == Set(uuids))
    }

    @Test func gzippedStandardInputThroughTheRealBinary() throws {
        let (bytes, _) = T.events(50)
        let result = try SluiceExecutable.run(["--quiet"], input: Gzip.compress(bytes))
        #expect(result.status == 0)
        #expect(result.stdout.split(separator: "\n").count == 50)
        let corrupt = try SluiceExecutable.run([], input: Array(Gzip.compress(bytes).prefix(40)))
        #expect(corrupt.stderr.contains("gzip"))
        #expect(corrupt.status != 0)
    }

    // MARK: - Timestamps

    static let secondsEvent = #"{"eventName":"purchase","user":{"userID":"u1"},"time":1714564800}"#

    @Test func anIntegerTimeBelow10To11IsInvalidByDefaultWithTheReason() {
        let (chunk, invalid) = IntegrationFixtures.decode([Self.secondsEvent, #"{"eventName":"e","timestamp":"1714564800"}"#],
                                                          options: DecoderOptions())
        #expect(chunk.events.isEmpty)
        #expect(invalid.map(\.reason) == [
            #"time 1714564800 is below 10^11: it looks like seconds, not milliseconds since the epoch (set input.timestampUnit to "auto" to read such values as seconds)"#,
            #"timestamp 1714564800 is below 10^11: it looks like seconds, not milliseconds since the epoch (set input.timestampUnit to "auto" to read such values as seconds)"#,
        ])
    }

    @Test func withTimestampUnitAutoSmallIntegersAreSeconds() {
        var options = DecoderOptions()
        options.timestampUnit = .auto
        let (chunk, invalid) = IntegrationFixtures.decode([
            Self.secondsEvent, #"{"eventName":"e","time":1714564800123}"#, #"{"eventName":"e","time":"2024-05-01T12:00:00Z"}"#,
            #"{"type":"track","event":"Signed Up","userId":"u1","timestamp":1714564800}"#,
        ], options: options)
        #expect(invalid.isEmpty)
        #expect(chunk.events.map(\.timestamp) == [1_714_564_800_000, 1_714_564_800_123, 1_714_564_800_000, 1_714_564_800_000])
    }

    @Test func isoTimesAndMillisecondsAreUnaffectedAndSegmentNumbersAreCheckedToo() {
        let (chunk, invalid) = IntegrationFixtures.decode([
            #"{"eventName":"e","time":1714564800123}"#, #"{"eventName":"e","time":"1970-01-02T00:00:00Z"}"#,
            #"{"type":"track","event":"X","userId":"u1","timestamp":1714564800}"#,
        ], options: DecoderOptions())
        #expect(chunk.events.map(\.timestamp) == [1_714_564_800_123, 86_400_000])
        #expect(invalid.map(\.line) == [3])
        #expect(invalid.first?.reason.hasPrefix("timestamp 1714564800 is below 10^11") == true)
    }

    @Test func timestampUnitIsLoadedAndCheckedAndReachesThePipeline() async throws {
        let configuration = try ConfigurationLoader.parse(#"{"input": {"timestampUnit": "auto"}}"#)
        #expect(configuration.input.timestampUnit == .auto)
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.parse(#"{"input": {"timestampUnit": "seconds"}}"#) }
        var auto = PipelineTestSupport.configuration()
        auto.input.timestampUnit = .auto
        for (config, delivered) in [(PipelineTestSupport.configuration(), 0), (auto, 1)] {
            let recorder = RecordingDestination()
            let pipeline = try Pipeline(configuration: config, options: PipelineOptions(
                input: .bytes(Array((Self.secondsEvent + "\n").utf8)),
                customDestinations: [CustomDestinationRegistration(name: "r", destination: recorder)]))
            let summary = try await pipeline.run()
            #expect(recorder.events.count == delivered)
            #expect(summary.invalid == 1 - delivered)
            #expect(recorder.events.first.map(\.timestamp) == (delivered == 1 ? 1_714_564_800_000 : nil))
        }
    }
}
