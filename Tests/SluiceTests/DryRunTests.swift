import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Sluice

/// `--dry-run`: each request an HTTP destination would send becomes one JSON line on standard output, with
/// every secret masked, and nothing goes over the network.
@Suite("Dry run")
struct DryRunTests {
    typealias T = HTTPTestSupport

    @Test("a dry run writes one line per request, sends nothing, masks secrets and counts events as delivered")
    func pipelineDryRun() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let outputPath = T.temporaryPath("dry.ndjson")
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let fd = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(fd >= 0)
        let (input, uuids) = T.events(3)
        let configuration = PipelineConfiguration(destinations: [
            T.destination("statsig", .statsig(endpoint: T.endpoint(server), apiKey: T.statsigKey), maxEvents: 1),
            T.destination("hook", .webhook(url: T.endpoint(server) + "/hook",
                                            headers: ["Authorization": "Bearer \(T.hookToken)", "X-Env": "prod"]),
                          maxEvents: 1),
        ])
        let pipeline = try Pipeline(configuration: configuration,
                                    options: PipelineOptions(input: .bytes(input), dryRun: true, standardOutput: fd))
        let summary = try await pipeline.run()
        close(fd)

        #expect(server.requests.isEmpty)
        #expect(summary.destinations["statsig"]?.delivered == 3)
        #expect(summary.destinations["hook"]?.delivered == 3)
        #expect(summary.destinations["statsig"]?.requests == 0, "nothing was sent")
        #expect(summary.exitStatus == 0)

        let lines = T.lines(ofFile: outputPath)
        #expect(lines.count == 6)
        for line in lines {
            #expect(!line.contains(T.statsigKey))
            #expect(!line.contains(T.hookToken))
        }
        let records = lines.compactMap(T.object)
        #expect(records.count == 6, "every line is one JSON object")
        let statsig = records.filter { $0["destination"] as? String == "statsig" }
        #expect(statsig.count == 3)
        for record in statsig {
            #expect(record["method"] as? String == "POST")
            #expect(record["url"] as? String == T.endpoint(server) + "/v1/log_event")
            var headers = try #require(record["headers"] as? [String: String])
            #expect(headers.removeValue(forKey: "STATSIG-CLIENT-TIME").flatMap { Int64($0) } != nil)
            #expect(headers == ["Content-Type": "application/json", "STATSIG-API-KEY": "[REDACTED]",
                                "User-Agent": "sluice/\(SluiceVersion.string)", "STATSIG-SDK-TYPE": "sluice",
                                "STATSIG-SDK-VERSION": SluiceVersion.string, "Content-Encoding": "gzip"])
            #expect(record["compression"] as? String == "gzip (body shown uncompressed)")
            #expect(record["body"] is [String: Any], "the body is embedded as JSON, not as a string")
        }
        let hook = records.filter { $0["destination"] as? String == "hook" }
        let hookHeaders = try #require(hook.first?["headers"] as? [String: String])
        #expect(hookHeaders["Authorization"] == "Bearer [REDACTED]")
        #expect(hookHeaders["X-Env"] == "[REDACTED]", "every configured webhook header value counts as a secret")
        #expect(hook.first?["url"] as? String == T.endpoint(server) + "/hook")
        // The webhook body is Statsig's export format, which carries each timeUUID.
        #expect(Set(hook.compactMap { ($0["body"] as? [String: Any])?["data"] as? [[String: Any]] }
            .flatMap { $0 }.compactMap { $0["timeUUID"] as? String }) == Set(uuids))
        #expect(statsig.compactMap { ($0["body"] as? [String: Any])?["events"] as? [Any] }.map(\.count) == [1, 1, 1])
    }

    @Test("Heap's app id is masked inside the body and Segment's Basic credentials in the headers")
    func secretsInBodyAndAuthorization() throws {
        let heap = try #require(try HTTPRequestTarget(DestinationConfiguration(
            name: "heap", kind: .heap(endpoint: "https://heap.example", appID: T.heapAppID))))
        let segment = try #require(try HTTPRequestTarget(DestinationConfiguration(
            name: "segment", kind: .segment(endpoint: "https://segment.example", writeKey: T.writeKey))))
        let redactor = Redactor(secrets: [T.heapAppID, T.writeKey])
        let sink = FileDescriptorSink(fd: -1)
        let body = "{\"app_id\":\"\(T.heapAppID)\",\"events\":[{\"identity\":\"u1\",\"event\":\"e\"}]}\n"
        let batch = Batch(body: Array(body.utf8), eventCount: 1, members: [], oldestCreatedAt: 0, key: nil)

        guard case .success(let heapRequest) = heap.request(for: batch),
              case .success(let segmentRequest) = segment.request(for: batch) else {
            Issue.record("expected requests")
            return
        }
        let heapLine = String(decoding: DryRunSender(target: heap, sink: sink, redactor: redactor).line(for: heapRequest), as: UTF8.self)
        #expect(heapLine == "{\"destination\":\"heap\",\"method\":\"POST\",\"url\":\"https://heap.example/api/track\","
            + "\"headers\":{\"Content-Type\":\"application/json\",\"User-Agent\":\"sluice/\(SluiceVersion.string)\"},"
            + "\"body\":{\"app_id\":\"[REDACTED]\",\"events\":[{\"identity\":\"u1\",\"event\":\"e\"}]}}\n")

        let segmentLine = String(decoding: DryRunSender(target: segment, sink: sink, redactor: redactor).line(for: segmentRequest), as: UTF8.self)
        let record = try #require(T.object(segmentLine))
        #expect((record["headers"] as? [String: String])?["Authorization"] == "Basic [REDACTED]")
        #expect(!segmentLine.contains(Data("\(T.writeKey):".utf8).base64EncodedString()))
    }

    @Test("a body that is not one JSON document is shown as a string, so the line stays valid JSON")
    func nonJSONBody() throws {
        let target = try #require(try HTTPRequestTarget(DestinationConfiguration(
            name: "s", kind: .statsig(endpoint: "https://x.example", apiKey: "k-1234"))))
        let batch = Batch(body: Array("{\"a\":1}\n{\"a\":2}\n".utf8), eventCount: 2, members: [], oldestCreatedAt: 0, key: nil)
        guard case .success(let request) = target.request(for: batch, compressingBody: false) else {
            Issue.record("expected a request")
            return
        }
        let line = DryRunSender(target: target, sink: FileDescriptorSink(fd: -1), redactor: Redactor(secrets: ["k-1234"])).line(for: request)
        let record = try #require(T.object(String(decoding: line, as: UTF8.self)))
        #expect(record["body"] as? String == "{\"a\":1}\n{\"a\":2}\n")
    }
}
