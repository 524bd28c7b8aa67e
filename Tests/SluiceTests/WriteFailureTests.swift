import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Sluice

/// When Sluice cannot write (dead letters, stdout, a file) it says so once, counts what it could not write, and
/// exits 3. "Disk full" is `/dev/full` (every write fails with ENOSPC, no root or mount needed, present on every
/// Linux machine, so CI and a laptop see the same thing); a real file that fills up part-way is a file size limit
/// (`ulimit -f`, which applies to root as well), so the torn-record handling meets a real regular file.
@Suite("Write failures")
struct WriteFailureTests {
    typealias T = HTTPTestSupport

    /// Runs `command` under `/bin/sh -c` with `input` on stdin; returns status, stdout and stderr.
    static func shell(_ command: String, input: [UInt8]) throws -> (status: Int32, stdout: String, stderr: String) {
        SluiceExecutable.ignoreBrokenPipes()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        SluiceExecutable.ignoreBrokenPipes()
        try process.run()
        let collector = OutputCollector(SluiceExecutable.Running(process: process, stdin: stdin.fileHandleForWriting,
                                                                 stdout: stdout, stderr: stderr))
        try? stdin.fileHandleForWriting.write(contentsOf: Data(input))
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        let (out, err) = collector.finish()
        return (process.terminationStatus, out, err)
    }

    static func summary(at path: String) throws -> [String: Any] {
        try #require(T.object(String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)),
                     "no summary at \(path)")
    }

    static func occurrences(of needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    @Test("standard output on a full device: every event dead-lettered with the reason, counted as writeFailures, said once, exit 3")
    func fullStandardOutput() async throws {
        let summaryPath = T.temporaryPath("summary.json"), deadPath = T.temporaryPath("dead.ndjson")
        defer { for path in [summaryPath, deadPath] { try? FileManager.default.removeItem(atPath: path) } }
        let sluice = SluiceExecutable.url.path
        let (input, uuids) = T.events(100)
        let result = try await SluiceExecutable.offPool {
            try Self.shell("exec '\(sluice)' --summary '\(summaryPath)' --dead-letter '\(deadPath)' > /dev/full", input: input)
        }

        #expect(result.status == 3, "stderr: \(result.stderr)")
        #expect(Self.occurrences(of: "standard output: write failed: No space left on device", in: result.stderr) == 1,
                "said once: \(result.stderr)")
        let summary = try Self.summary(at: summaryPath)
        let out = try #require((summary["destinations"] as? [String: [String: Any]])?["stdout"])
        #expect(out["delivered"] as? Int == 0)
        #expect(out["deadLettered"] as? Int == 100)
        #expect(out["writeFailures"] as? Int == 100)
        #expect(out["deadLetteredByReason"] as? [String: Int] == ["write to standard output failed: No space left on device": 100])
        let dead = T.lines(ofFile: deadPath).compactMap(T.object)
        #expect(dead.compactMap { ($0["event"] as? [String: Any])?["timeUUID"] as? String }.sorted() == uuids.sorted())
        #expect(dead.allSatisfy { $0["reason"] as? String == "write to standard output failed: No space left on device" })
    }

    @Test("a dead-letter file on a full device: said once with the path and the errno text, every record counted, exit 3")
    func fullDeadLetterDevice() async throws {
        let summaryPath = T.temporaryPath("summary.json")
        defer { try? FileManager.default.removeItem(atPath: summaryPath) }
        let (valid, _) = T.events(10)
        let input = valid + Array(String(repeating: "{broken\n", count: 7).utf8)
        let result = try await SluiceExecutable.offPool {
            try SluiceExecutable.run(["--dead-letter", "/dev/full", "--summary", summaryPath], input: input)
        }

        #expect(result.status == 3, "stderr: \(result.stderr)")
        #expect(Self.occurrences(of: "dead-letter file /dev/full: write failed: No space left on device", in: result.stderr) == 1,
                "said once, with path and errno text: \(result.stderr)")
        let summary = try Self.summary(at: summaryPath)
        #expect(summary["invalid"] as? Int == 7)
        #expect(summary["deadLetterWriteFailures"] as? Int == 7)
        #expect((summary["destinations"] as? [String: [String: Any]])?["stdout"]?["delivered"] as? Int == 10)
        #expect(result.stdout.split(separator: "\n").count == 10, "the events themselves were delivered")
    }

    @Test("dead-letter write failures are in the summary and the metrics of an embedded pipeline, and make the exit status 3")
    func failuresInSummaryAndMetrics() async throws {
        let sink = RecordingDestination()
        let (valid, _) = T.events(4)
        let pipeline = try Pipeline(configuration: PipelineTestSupport.configuration(),
                                    options: PipelineOptions(input: .bytes(valid + Array("{x\n{y\n{z\n".utf8)), deadLetterPath: "/dev/full",
                                                             customDestinations: [CustomDestinationRegistration(name: "sink", destination: sink)]))
        let summary = try await pipeline.run()
        #expect(summary.invalid == 3)
        #expect(summary.deadLetterWriteFailures == 3)
        #expect(summary.exitStatus == 3)
        #expect(pipeline.metrics.deadLetterWriteFailures == 3)
        #expect(String(decoding: pipeline.metrics.jsonBytes(), as: UTF8.self).contains("\"deadLetterWriteFailures\":3"))
        #expect(String(decoding: summary.jsonBytes(), as: UTF8.self).contains("\"deadLetterWriteFailures\":3"))
    }

    @Test("a --summary that cannot be written is exit status 3 with the path and the reason")
    func unwritableSummary() async throws {
        let (input, _) = T.events(3)
        let result = try await SluiceExecutable.offPool { try SluiceExecutable.run(["--summary", "/dev/full", "--quiet"], input: input) }
        #expect(result.status == 3)
        #expect(result.stderr.contains("--summary: cannot write /dev/full"), "stderr: \(result.stderr)")
    }

    @Test("a dead-letter file that hits a size limit keeps only whole records, and written + deadLetterWriteFailures is every record")
    func deadLetterFileSizeLimit() async throws {
        let summaryPath = T.temporaryPath("summary.json"), deadPath = T.temporaryPath("dead.ndjson")
        defer { for path in [summaryPath, deadPath] { try? FileManager.default.removeItem(atPath: path) } }
        let sluice = SluiceExecutable.url.path
        // 300 invalid lines of ~120 bytes: ~60 KB of records against a limit of 8 blocks (4 or 8 KiB by shell).
        let lines = (0..<300).map { "{\"eventName\":\"broken_\($0)\",\"value\":" + String(repeating: "x", count: 80) }
        let input = Array((lines.joined(separator: "\n") + "\n").utf8)
        let result = try await SluiceExecutable.offPool {
            try Self.shell("ulimit -f 8 && exec '\(sluice)' --quiet --summary '\(summaryPath)' --dead-letter '\(deadPath)'", input: input)
        }

        #expect(result.status == 3, "stderr: \(result.stderr)")
        #expect(Self.occurrences(of: "dead-letter file \(deadPath): write failed: File too large", in: result.stderr) == 1,
                "stderr: \(result.stderr)")
        let summary = try Self.summary(at: summaryPath)
        let failures = try #require(summary["deadLetterWriteFailures"] as? Int)
        let text = String(decoding: FileManager.default.contents(atPath: deadPath) ?? Data(), as: UTF8.self)
        let records = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(text.hasSuffix("\n"), "no torn record at the end")
        #expect(records.allSatisfy { T.object(String($0)) != nil }, "every record is whole JSON")
        #expect(!records.isEmpty && failures > 0)
        #expect(records.count + failures == 300, "\(records.count) written + \(failures) failed")
    }
}

@Suite("Dead-letter reasons")
struct DeadLetterReasonTests {
    typealias T = HTTPTestSupport

    @Test("reasons group into stable classes: status and phrase for HTTP, quoted values and numbers elided otherwise")
    func classes() {
        #expect(DeadLetterReason.classify(#"HTTP 401 (not retried): {"error":"bad key","request":"r-81723"}"#) == "HTTP 401 Unauthorized")
        #expect(DeadLetterReason.classify("gave up after 5 attempts: HTTP 503: busy") == "HTTP 503 Service Unavailable")
        #expect(DeadLetterReason.classify("abandoned: drain deadline passed (last HTTP 429 after 3 attempts)")
                == "abandoned: HTTP 429 Too Many Requests")
        #expect(DeadLetterReason.classify("HTTP 499: nginx") == "HTTP 499")
        #expect(DeadLetterReason.classify(#"no ID list and operation for this batch (batch key "+aud_17")"#)
                == #"no ID list and operation for this batch (batch key "…")"#)
        #expect(DeadLetterReason.classify("event larger than the batch limit (batch.maxBytes 512000)")
                == "event larger than the batch limit (batch.maxBytes N)")
        #expect(DeadLetterReason.classify("abandoned: drain deadline passed") == "abandoned: drain deadline passed")
        // One attempt or five: the same class, spelt in the plural.
        #expect(DeadLetterReason.classify("connection refused after 1 attempt") == "connection refused after N attempts")
        #expect(DeadLetterReason.classify("connection refused after 5 attempts (last status: 503 Service Unavailable)")
                == "connection refused after N attempts (last status: N Service Unavailable)")
    }

    @Test("a destination keeps at most 32 reason classes; later ones are counted under 'other reasons'")
    func boundedClasses() {
        var counts = Accounting.DestinationCounts()
        var new = 0
        for i in 0..<40 where counts.countDeadLettered(2, reasonClass: "reason \(Character(UnicodeScalar(65 + i)!))").isNew { new += 1 }
        #expect(counts.deadLettered == 80)
        #expect(counts.deadLetteredByReason.count == 33)
        #expect(counts.deadLetteredByReason[DeadLetterReason.otherClass] == 16)
        #expect(new == 33)
    }

    @Test("a 401 with a different body each time is one class in the summary, and its first reason is printed once on stderr")
    func unauthorizedIsOneReason() async throws {
        let server = try TestHTTPServer(script: { _, index in .status(401, body: "{\"error\":\"unauthorized\",\"request\":\"req-\(index)\"}") })
        defer { server.stop() }
        let config = T.temporaryPath("config.json"), summaryPath = T.temporaryPath("summary.json")
        defer { for path in [config, summaryPath] { try? FileManager.default.removeItem(atPath: path) } }
        try Data("""
            {"destinations": [
              {"name": "hook", "type": "webhook", "url": "\(T.endpoint(server))/hook", "batch": {"maxEvents": 5, "maxDelayMs": 10}},
              {"name": "tiny", "type": "webhook", "url": "\(T.endpoint(server))/tiny", "batch": {"maxBytes": 40}}
            ]}
            """.utf8).write(to: URL(fileURLWithPath: config))
        let (input, _) = T.events(30)
        let result = try await SluiceExecutable.offPool { try SluiceExecutable.run(["--config", config, "--summary", summaryPath], input: input) }

        #expect(result.status == 1, "stderr: \(result.stderr)")
        #expect(server.requests.count == 6)
        let summary = try WriteFailureTests.summary(at: summaryPath)
        let destinations = try #require(summary["destinations"] as? [String: [String: Any]])
        #expect(destinations["hook"]?["deadLetteredByReason"] as? [String: Int] == ["HTTP 401 Unauthorized": 30])
        #expect(destinations["tiny"]?["deadLetteredByReason"] as? [String: Int]
                == ["event larger than the batch limit (batch.maxBytes N)": 30])
        #expect(WriteFailureTests.occurrences(of: "sluice: hook: dead-lettering events: HTTP 401 Unauthorized after 1 attempt (not retried): {\"error\":\"unauthorized\"", in: result.stderr) == 1,
                "one line for the class, with the first full reason: \(result.stderr)")
        #expect(WriteFailureTests.occurrences(of: "sluice: tiny: dead-lettering events: event larger than the batch limit (batch.maxBytes 40)", in: result.stderr) == 1)
        #expect(result.stderr.contains("30 dead-lettered: HTTP 401 Unauthorized"), "the human summary lists the reasons")
    }
}
