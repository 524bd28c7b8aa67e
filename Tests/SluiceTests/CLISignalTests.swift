import Foundation
import Testing
@testable import Sluice

@Suite("sluice executable: run, signals and exit status")
struct CLISignalTests {
    typealias S = PipelineTestSupport

    @Test("SIGTERM stops reading, drains every stage, writes the summary and exits 0 with nothing lost")
    func sigtermDrains() async throws {
        let summaryPath = S.temporaryPath("summary.json")
        let running = try SluiceExecutable.start(["--summary", summaryPath])
        let outputs = OutputCollector(running)
        // Feed events but keep stdin open: only the signal can end this run.
        try running.stdin.write(contentsOf: Data(S.bytes((0..<500).map { S.eventLine($0) })))
        // Wait until the engine has read and written them all (stdout batches leave within maxDelayMs).
        #expect(await S.eventually { outputs.stdoutLineCount == 500 })
        running.process.terminate()  // SIGTERM
        running.process.waitUntilExit()
        let (stdout, stderr) = outputs.finish()
        #expect(running.process.terminationStatus == 0, "stderr: \(stderr)")
        #expect(stdout.split(separator: "\n").count == 500)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as? [String: Any]
        #expect(summary?["ingested"] as? Int == 500)
        let destinations = summary?["destinations"] as? [String: [String: Any]]
        #expect(destinations?["stdout"]?["delivered"] as? Int == 500)
        #expect(stderr.contains("draining"))
        try? running.stdin.close()
    }

    @Test("no options: duplicates and internal events dropped, export lines on stdout, summary on stderr, exit 0")
    func defaultsRun() throws {
        let lines = [S.eventLine(1), S.eventLine(1), S.eventLine(2, name: "statsig::diagnostics"), "{broken", S.eventLine(3)]
        let result = try SluiceExecutable.run([], input: S.bytes(lines))
        #expect(result.status == 0)
        #expect(result.stdout.split(separator: "\n").count == 2)
        #expect(result.stderr.contains("line 4"))
        #expect(result.stderr.contains("5 ingested") == false)  // 4 events decoded; the broken line is invalid
        #expect(result.stderr.contains("4 ingested, 1 invalid, 1 duplicates, 1 filtered"))
    }

    @Test("a bad flag or config is one clear line and exit status 2")
    func usageErrors() throws {
        let badFlag = try SluiceExecutable.run(["--frobnicate"])
        #expect(badFlag.status == 2)
        #expect(badFlag.stderr.contains("--frobnicate"))
        let configPath = S.temporaryPath("bad.json")
        try Data(#"{"destinations":[{"name":"x","type":"stdout","batch":{"maxEvnts":5}}]}"#.utf8).write(to: URL(fileURLWithPath: configPath))
        let badConfig = try SluiceExecutable.run(["--config", configPath])
        #expect(badConfig.status == 2)
        #expect(badConfig.stderr.contains("destinations[0].batch.maxEvnts"))
        let validate = try SluiceExecutable.run(["validate", "--config", configPath])
        #expect(validate.status == 2)
    }

    @Test("generate | sluice round trip: counts in the summary match what the generator made")
    func generateRoundTrip() throws {
        let generated = try SluiceExecutable.run(["generate", "--events", "2000", "--dup-rate", "0.1", "--invalid-rate", "0.02", "--seed", "9"])
        #expect(generated.status == 0)
        let summaryPath = S.temporaryPath("summary.json")
        let result = try SluiceExecutable.run(["--summary", summaryPath, "--quiet"], input: Array(generated.stdout.utf8))
        #expect(result.status == 0)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as? [String: Any]
        // --events 2000 is the number of lines: 2% of them (40) broken, 10% (200) duplicates.
        #expect(summary?["ingested"] as? Int == 1960)
        #expect(summary?["duplicates"] as? Int == 200)
        #expect(summary?["invalid"] as? Int == 40)
        #expect(result.stderr.isEmpty, "--quiet prints nothing")
    }
}
