#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import Sluice

/// `sluice serve --spool DIR` answers 200 only once a body is durable: a relay killed right after answering
/// loses nothing it acknowledged.
@Suite("Spool: serve acknowledges durable bodies", .serialized)
struct SpoolServeTests {
    @Test("bodies answered 200, then SIGKILL before any delivery: the next run delivers every one of their events")
    func acknowledgedBodiesSurviveSIGKILL() throws {
        let spool = PipelineTestSupport.temporaryPath("serve-spool")
        // The destination refuses everything: nothing is delivered (or settled) before the kill.
        let down = try AcceptingSegmentEndpoint(failing: 1.0, seed: 2)
        defer { down.server.stop() }
        let serve = try ServeProcess(config: down.configuration(maxEvents: 100, concurrency: 2), arguments: ["--spool", spool])
        let client = try RawHTTPClient(port: serve.port)
        var acknowledged: Set<String> = []
        for body in 0..<20 {
            let response = client.exchange("POST", "/v1/log_event", headers: [("STATSIG-API-KEY", "secret-k"), ("Content-Type", "application/json")],
                                           body: ServeEndToEndTests.logEventBody(5, tag: "b\(body)"))
            #expect(response?.status == 200, "\(response?.text ?? "no answer")")
            if response?.status == 200 { for event in 0..<5 { acknowledged.insert("e_b\(body)_\(event)") } }
        }
        kill(serve.process.processIdentifier, SIGKILL)
        _ = serve.waitForExit()
        #expect(down.acceptedIds.isEmpty)
        #expect(acknowledged.count == 100)

        // The same destination name, now printing to stdout: the spool replays what it was owed.
        let config = PipelineTestSupport.temporaryPath("replay.json")
        try #"{"destinations": [{"name": "segment", "type": "stdout", "format": "statsig"}]}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let next = try SluiceExecutable.run(["--config", config, "--spool", spool, "--quiet"])
        #expect(next.status == 0, "\(next.stderr)")
        let names = next.stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["eventName"] as? String
        }
        #expect(Set(names) == acknowledged, "every acknowledged event, nothing else")
        #expect(names.count == acknowledged.count, "each once")
    }

    @Test("a spool that cannot take a body (EFBIG under a file-size limit) answers 503 saying so, never 200; every 200 is delivered")
    func spoolWriteFailureIs503() throws {
        let spool = PipelineTestSupport.temporaryPath("serve-spool-full")
        let config = #"{"destinations": [{"name": "out", "type": "stdout", "format": "statsig"}]}"#
        // 64 KiB per file (bash counts 1024-byte blocks); SIGXFSZ ignored, so the write fails with EFBIG.
        let serve = try ServeProcess(config: config, arguments: ["--spool", spool], shellPrelude: "trap '' XFSZ; ulimit -f 64")
        let client = try RawHTTPClient(port: serve.port)
        var acknowledged: Set<String> = []
        var refusal: RawHTTPClient.Response?
        for body in 0..<200 where refusal == nil {
            let response = client.exchange("POST", "/v1/log_event", headers: [("STATSIG-API-KEY", "secret-k"), ("Content-Type", "application/json")],
                                           body: ServeEndToEndTests.logEventBody(20, tag: "f\(body)"))
            if response?.status == 200 {
                for event in 0..<20 { acknowledged.insert("e_f\(body)_\(event)") }
            } else {
                refusal = response
            }
        }
        let refused = try #require(refusal, "the 64 KiB limit must refuse a body within 200 bodies of 20 events")
        #expect(refused.status == 503)
        #expect(refused.text.contains("spool cannot take the body"), "\(refused.text)")
        #expect(!acknowledged.isEmpty)
        _ = serve.terminate()
        #expect(serve.stderr.contains("File too large"), "the spool's own error is logged: \(serve.stderr)")
        let names = Set(serve.stdoutLines.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["eventName"] as? String
        })
        #expect(acknowledged.isSubset(of: names), "every event answered 200 was delivered")
    }
}
