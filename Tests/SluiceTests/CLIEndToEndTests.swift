import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Sluice

/// The real `sluice` executable (built by `swift test`, since the test target depends on it) delivering to the
/// test server: configuration file, environment secrets, standard input, signals, exit status, summary file.
@Suite("sluice executable delivering over HTTP")
struct CLIEndToEndTests {
    typealias T = HTTPTestSupport

    /// A started `sluice` process whose standard input the test writes, and whose output goes to files (read
    /// after exit, so a test can check the output of a process it signalled).
    final class Run {
        let process = Process()
        let input = Pipe()
        let stdoutPath = T.temporaryPath("stdout")
        let stderrPath = T.temporaryPath("stderr")

        init(_ arguments: [String], environment: [String: String]) throws {
            _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
            _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
            process.executableURL = SluiceExecutable.url
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.standardInput = input
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
            try process.run()
        }

        func write(_ bytes: [UInt8]) throws {
            try input.fileHandleForWriting.write(contentsOf: Data(bytes))
        }

        func closeInput() throws {
            try input.fileHandleForWriting.close()
        }

        /// Waits for the exit (at most `limit`, then kills it and fails); returns the exit status.
        func wait(upTo limit: Duration = .seconds(60)) async -> Int32? {
            let exited = await T.wait(upTo: limit) { !process.isRunning }
            guard exited else {
                process.terminate()
                return nil
            }
            return process.terminationStatus
        }

        var stdout: String { String(decoding: FileManager.default.contents(atPath: stdoutPath) ?? Data(), as: UTF8.self) }
        var stderr: String { String(decoding: FileManager.default.contents(atPath: stderrPath) ?? Data(), as: UTF8.self) }

        deinit {
            if process.isRunning { process.terminate() }
            try? FileManager.default.removeItem(atPath: stdoutPath)
            try? FileManager.default.removeItem(atPath: stderrPath)
        }
    }

    /// Writes `json` to a temporary configuration file.
    static func configFile(_ json: String) throws -> String {
        let path = T.temporaryPath("config.json")
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let environment = ["SLUICE_TEST_STATSIG_KEY": T.statsigKey, "SLUICE_TEST_HOOK_TOKEN": T.hookToken,
                              "SLUICE_TEST_WRITE_KEY": T.writeKey, "SLUICE_TEST_HEAP_APP_ID": T.heapAppID]

    @Test("events on standard input reach Segment and Heap destinations configured with secrets from the environment")
    func deliversFromStandardInput() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let endpoint = T.endpoint(server)
        let config = try Self.configFile("""
            {"destinations": [
              {"name": "segment", "type": "segment", "endpoint": "\(endpoint)", "writeKey": "${SLUICE_TEST_WRITE_KEY}",
               "batch": {"maxEvents": 25, "maxDelayMs": 50}},
              {"name": "heap", "type": "heap", "endpoint": "\(endpoint)", "appID": "${SLUICE_TEST_HEAP_APP_ID}",
               "batch": {"maxEvents": 40}},
              {"name": "hook", "type": "webhook", "url": "\(endpoint)/hook",
               "headers": {"Authorization": "Bearer ${SLUICE_TEST_HOOK_TOKEN}"}, "batch": {"maxEvents": 50}}
            ]}
            """)
        let summaryPath = T.temporaryPath("summary.json")
        defer { try? FileManager.default.removeItem(atPath: config); try? FileManager.default.removeItem(atPath: summaryPath) }

        let run = try Run(["--config", config, "--summary", summaryPath, "--quiet"], environment: Self.environment)
        let (input, uuids) = T.events(100)
        try run.write(input)
        try run.closeInput()
        let status = await run.wait()
        #expect(status == 0, "stderr: \(run.stderr)")

        let segment = server.requests.filter { $0.path == "/v1/batch" }
        #expect(segment.count == 4)
        let basic = "Basic " + Data("\(T.writeKey):".utf8).base64EncodedString()
        #expect(segment.allSatisfy { $0.method == "POST" && $0.header("Authorization") == basic })
        #expect(segment.allSatisfy { $0.header("Content-Type") == "application/json" })
        #expect(segment.flatMap { T.uuids(in: $0.body, key: "messageId") }.sorted() == uuids.sorted())
        for request in segment {
            let body = try #require(T.object(String(decoding: request.body, as: UTF8.self)))
            #expect((body["batch"] as? [[String: Any]])?.allSatisfy { $0["type"] as? String == "track" } == true)
        }

        let heap = server.requests.filter { $0.path == "/api/track" }
        #expect(heap.count == 3)
        #expect(heap.allSatisfy { $0.method == "POST" && $0.header("Authorization") == nil })
        #expect(heap.flatMap { T.uuids(in: $0.body, key: "idempotency_key") }.sorted() == uuids.sorted())
        for request in heap {
            let body = try #require(T.object(String(decoding: request.body, as: UTF8.self)))
            #expect(body["app_id"] as? String == T.heapAppID)
        }

        let hook = server.requests.filter { $0.path == "/hook" }
        #expect(hook.count == 2)
        #expect(hook.allSatisfy { $0.header("Authorization") == "Bearer \(T.hookToken)" })
        #expect(hook.flatMap { T.uuids(in: $0.body) }.sorted() == uuids.sorted())
        #expect(server.requests.count == 9)

        let summary = try #require(T.object(String(decoding: FileManager.default.contents(atPath: summaryPath) ?? Data(), as: UTF8.self)))
        #expect(summary["ingested"] as? Int == 100)
        let destinations = try #require(summary["destinations"] as? [String: [String: Any]])
        for name in ["segment", "heap", "hook"] {
            #expect(destinations[name]?["delivered"] as? Int == 100)
        }
    }

    @Test("SIGTERM during an outage: the drain ends on time, every event is dead-lettered, exit status 1")
    func sigtermDuringOutage() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.unavailable))
        defer { server.stop() }
        let config = try Self.configFile("""
            {"destinations": [
              {"name": "statsig", "type": "statsig", "endpoint": "\(T.endpoint(server))", "apiKey": "${SLUICE_TEST_STATSIG_KEY}",
               "batch": {"maxEvents": 10, "maxDelayMs": 20}, "concurrency": 2,
               "retry": {"maxAttempts": 100, "initialBackoffMs": 20, "maxBackoffMs": 50}}
            ]}
            """)
        let summaryPath = T.temporaryPath("summary.json")
        let deadLetters = T.temporaryPath("dead.ndjson")
        defer {
            for path in [config, summaryPath, deadLetters] { try? FileManager.default.removeItem(atPath: path) }
        }
        let run = try Run(["--config", config, "--summary", summaryPath, "--dead-letter", deadLetters, "--drain-timeout", "0.3"],
                          environment: Self.environment)
        // More than one input chunk (512 events), so events are both in flight and still queued at the signal.
        let (input, uuids) = T.events(600)
        try run.write(input)
        // Standard input stays open: only the signal can end this run.
        #expect(await T.wait { server.requests.count >= 4 }, "the outage must have been met before the signal")
        let signalled = ContinuousClock.now
        kill(run.process.processIdentifier, SIGTERM)
        let status = await run.wait(upTo: .seconds(30))
        // The drain timeout is 0.3 s; the margin covers process exit on a loaded machine.
        #expect(ContinuousClock.now - signalled < .seconds(10))
        try? run.closeInput()
        #expect(status == 1, "stderr: \(run.stderr)")
        #expect(run.stderr.contains("draining"))

        let summary = try #require(T.object(String(decoding: FileManager.default.contents(atPath: summaryPath) ?? Data(), as: UTF8.self)))
        let counts = try #require((summary["destinations"] as? [String: [String: Any]])?["statsig"])
        #expect(summary["ingested"] as? Int == 600)
        #expect(summary["duplicates"] as? Int == 0)
        #expect(counts["delivered"] as? Int == 0)
        #expect(counts["deadLettered"] as? Int == 600)
        #expect(counts["dropped"] as? Int == 0)

        let lines = T.lines(ofFile: deadLetters)
        let dead = lines.compactMap { T.object($0)?["event"] as? [String: Any] }.compactMap { $0["timeUUID"] as? String }
        #expect(dead.sorted() == uuids.sorted())
        #expect(lines.allSatisfy { !$0.contains(T.statsigKey) })
    }

    @Test("--dry-run prints each request with secrets masked, Heap's app id in the body too, and sends nothing")
    func dryRun() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let config = try Self.configFile("""
            {"destinations": [
              {"name": "heap", "type": "heap", "endpoint": "\(T.endpoint(server))", "appID": "${SLUICE_TEST_HEAP_APP_ID}",
               "batch": {"maxEvents": 2}},
              {"name": "statsig", "type": "statsig", "endpoint": "\(T.endpoint(server))", "apiKey": "${SLUICE_TEST_STATSIG_KEY}"}
            ]}
            """)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let run = try Run(["--config", config, "--dry-run", "--quiet"], environment: Self.environment)
        let (input, uuids) = T.events(4)
        try run.write(input)
        try run.closeInput()
        #expect(await run.wait() == 0, "stderr: \(run.stderr)")

        #expect(server.requests.isEmpty)
        let output = run.stdout
        #expect(!output.contains(T.statsigKey))
        #expect(!output.contains(T.heapAppID))
        let records = output.split(separator: "\n").compactMap { T.object(String($0)) }
        #expect(records.count == 3)
        let heap = records.filter { $0["destination"] as? String == "heap" }
        #expect(heap.count == 2)
        for record in heap {
            #expect(record["method"] as? String == "POST")
            #expect(record["url"] as? String == T.endpoint(server) + "/api/track")
            let body = try #require(record["body"] as? [String: Any])
            #expect(body["app_id"] as? String == "[REDACTED]")
            #expect((body["events"] as? [Any])?.count == 2)
        }
        #expect(Set(T.uuids(in: Array(output.utf8), key: "idempotency_key")) == Set(uuids))
        let statsig = try #require(records.first { $0["destination"] as? String == "statsig" })
        #expect(statsig["url"] as? String == T.endpoint(server) + "/v1/log_event")
        #expect((statsig["headers"] as? [String: String])?["STATSIG-API-KEY"] == "[REDACTED]")
        #expect(((statsig["body"] as? [String: Any])?["events"] as? [Any])?.count == 4)
    }
}
