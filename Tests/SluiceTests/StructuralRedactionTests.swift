import Foundation
import Testing
@testable import Sluice

/// Configured secrets are masked where Sluice itself puts them (auth headers, Heap's `app_id`, URLs, reasons),
/// while event data in dry-run output and dead letters stays byte-exact: users replay both.
@Suite("Structural redaction")
struct StructuralRedactionTests {
    typealias T = HTTPTestSupport

    /// A Statsig experiment exposure whose names contain the short secrets these tests configure.
    static let exposure = #"{"eventName":"statsig::experiment_exposure","user":{"userID":"u1"},"time":1714564800000,"#
        + #""metadata":{"config":"pricing_page_test","ruleID":"test_rule","kind":"k"},"timeUUID":"00000001-0000-11ee-8000-000000000001"}"#

    @Test("with the write key 'test', a dry-run body keeps pricing_page_test byte-exact and the Basic credentials stay masked")
    func dryRunKeepsEventDataWithShortWriteKey() throws {
        let segment = try #require(try HTTPRequestTarget(DestinationConfiguration(
            name: "segment", kind: .segment(endpoint: "https://segment.example", writeKey: "test"))))
        let body = #"{"batch":[{"type":"track","event":"statsig::experiment_exposure","properties":{"metadata":{"config":"pricing_page_test"}}}]}"#
        let batch = Batch(body: Array(body.utf8), eventCount: 1, members: [], oldestCreatedAt: 0, key: nil)
        // As DryRunSender builds it: Segment bodies are gzipped on the wire, shown uncompressed in a dry run.
        guard case .success(let request) = segment.request(for: batch, compressingBody: false) else {
            Issue.record("expected a request")
            return
        }
        let sender = DryRunSender(target: segment, sink: FileDescriptorSink(fd: -1), redactor: Redactor(secrets: ["test"]))
        let line = String(decoding: sender.line(for: request), as: UTF8.self)
        // The batch's own bytes come first; Segment's batch API then gets its sentAt member.
        #expect(line.contains(",\"body\":" + body.dropLast() + ",\"sentAt\":\""), "the body is shown byte-exact: \(line)")
        #expect(line.hasSuffix(",\"compression\":\"gzip (body shown uncompressed)\"}\n"))
        let record = try #require(T.object(line))
        #expect((record["headers"] as? [String: String])?["Authorization"] == "Basic [REDACTED]")
        #expect(!line.contains(Data("test:".utf8).base64EncodedString()))
    }

    @Test("Heap's app_id is masked where Sluice put it, while the same text inside event data survives")
    func heapAppIDMaskedOnlyInItsMember() throws {
        let heap = try #require(try HTTPRequestTarget(DestinationConfiguration(
            name: "heap", kind: .heap(endpoint: "https://heap.example/test", appID: "test"))))
        let body = #"{"app_id":"test","events":[{"identity":"u1","event":"pricing_page_test","properties":{"note":"a \"test\""}}]}"#
        let batch = Batch(body: Array(body.utf8), eventCount: 1, members: [], oldestCreatedAt: 0, key: nil)
        guard case .success(let request) = heap.request(for: batch) else {
            Issue.record("expected a request")
            return
        }
        let line = String(decoding: DryRunSender(target: heap, sink: FileDescriptorSink(fd: -1),
                                                 redactor: Redactor(secrets: ["test"])).line(for: request), as: UTF8.self)
        #expect(line.contains(#","body":{"app_id":"[REDACTED]","events":[{"identity":"u1","event":"pricing_page_test","properties":{"note":"a \"test\""}}]}}"#),
                "\(line)")
        #expect(line.contains(#""url":"https://heap.example/[REDACTED]/api/track""#), "a secret in the URL Sluice built is masked: \(line)")
    }

    @Test("with the key 'k', dead-letter records keep their field names and the event byte-exact; the reason is masked")
    func deadLetterKeepsStructureWithOneLetterKey() throws {
        let path = T.temporaryPath("dead.ndjson")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try DeadLetterWriter(path: path, redactor: Redactor(secrets: ["k"]))
        let (chunk, invalid) = IntegrationFixtures.decode([Self.exposure])
        #expect(invalid.isEmpty)
        writer.writeUndeliverable(destination: "hook", reason: "HTTP 401 (not retried): unknown token k", attempts: 1,
                                  chunk: chunk, events: [0])
        let raw = #"{"eventName":"e","metadata":{"kind":"k"},"#
        writer.writeInvalid([InvalidInput(line: 3, reason: "invalid JSON: unexpected end of input", raw: Array(raw.utf8))])
        writer.close()

        let lines = T.lines(ofFile: path)
        #expect(lines.count == 2)
        let undeliverable = try #require(T.object(lines[0]))
        #expect(undeliverable["kind"] as? String == "undeliverable")
        #expect(undeliverable["reason"] as? String == "HTTP 401 (not retried): unknown token [REDACTED]")
        let event = try #require(undeliverable["event"] as? [String: Any])
        #expect(event["metadata"] as? [String: String] == ["config": "pricing_page_test", "ruleID": "test_rule", "kind": "k"])
        #expect(lines[0].contains(#""metadata":{"config":"pricing_page_test","ruleID":"test_rule","kind":"k"}"#))
        let invalidRecord = try #require(T.object(lines[1]))
        #expect(invalidRecord["kind"] as? String == "invalid")
        #expect(invalidRecord["raw"] as? String == raw, "invalid input is kept byte-exact for replay")
    }

    @Test("in Sluice's own text a short secret is masked as a word, a credential-length one wherever it occurs")
    func redactorWordRule() {
        let redactor = Redactor(secrets: ["k", "sk-live-0123456789"])
        #expect(redactor.redact("unknown key k (k) in kind") == "unknown key [REDACTED] ([REDACTED]) in kind")
        #expect(redactor.redact("echo:xsk-live-0123456789y") == "echo:x[REDACTED]y")
    }

    @Test("sluice --dry-run with SEGMENT_WRITE_KEY=test keeps pricing_page_test in the body and never shows the key")
    func cliDryRunWithShortWriteKey() async throws {
        let config = T.temporaryPath("config.json")
        defer { try? FileManager.default.removeItem(atPath: config) }
        try Data(#"{"destinations":[{"name":"segment","type":"segment","endpoint":"http://127.0.0.1:9","writeKey":"${SEGMENT_WRITE_KEY}"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: config))
        var environment = ProcessInfo.processInfo.environment
        environment["SEGMENT_WRITE_KEY"] = "test"
        let result = try await SluiceExecutable.offPool { [environment] in
            try SluiceExecutable.run(["--config", config, "--dry-run", "--quiet"],
                                     input: Array((Self.exposure + "\n").utf8), environment: environment)
        }
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let record = try #require(T.object(result.stdout.trimmingCharacters(in: .newlines)), "stdout: \(result.stdout)")
        #expect(result.stdout.contains("pricing_page_test"))
        #expect(result.stdout.contains("test_rule"))
        #expect(!result.stdout.contains("_[REDACTED]"))
        #expect((record["headers"] as? [String: String])?["Authorization"] == "Basic [REDACTED]")
        #expect(!result.stdout.contains(Data("test:".utf8).base64EncodedString()))
    }
}
