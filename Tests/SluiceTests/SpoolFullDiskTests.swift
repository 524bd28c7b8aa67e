#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import Sluice

/// A spool that cannot grow: a small `maxBytes` (backpressure, or drops under an overflow policy) and a disk
/// that is really full (a file-size limit, a 1 MiB tmpfs). Nothing accepted is lost, nothing settled is sent
/// again, and a failed write is said, counted and in the exit status.
@Suite("Spool: full spool and full disk on the real binary", .serialized)
struct SpoolFullDiskTests {
    typealias T = PipelineTestSupport

    /// 8,000 events of about 300 bytes: 2.4 MB of input.
    static func input(in directory: String, events: Int = 8000) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/events.ndjson"
        try Data(T.bytes((0..<events).map { T.eventLine($0) })).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func values(_ stdout: String) -> [Int] {
        stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["value"] as? Int
        }
    }

    static func summary(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    /// Runs `sluice` through bash, so `prelude` (a `ulimit`, a `trap`) applies to it alone.
    static func runThroughShell(_ prelude: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let quoted = ([SluiceExecutable.url.path] + arguments).map { "'" + $0 + "'" }.joined(separator: " ")
        return try runProgram("/bin/bash", ["-c", prelude + "; exec " + quoted])
    }

    /// Runs a program to its end, reading both outputs concurrently.
    static func runProgram(_ path: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let collected = LockedData()
        let done = DispatchSemaphore(value: 0)
        Thread {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            collected.value.withLock { $0 = data }
            done.signal()
        }.start()
        let stderr = error.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: collected.value.withLock { $0 }, as: UTF8.self),
                String(decoding: stderr, as: UTF8.self))
    }

    /// The bytes of the spool's segment files now.
    static func segmentBytes(_ spool: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? []).filter { $0.hasPrefix("segment-") }.reduce(0) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: spool + "/" + name)[.size] as? Int) ?? 0)
        }
    }

    @Test("a write the disk refuses (EFBIG under a file-size limit): said, counted, exit 3; the next run delivers the rest, nothing twice")
    func fileSizeLimitStopsInputWithoutLoss() throws {
        let directory = T.temporaryPath("efbig")
        let input = try Self.input(in: directory)
        let spool = directory + "/spool"
        // 1 MiB per file (bash counts 1024-byte blocks); SIGXFSZ ignored, so the write fails with EFBIG instead.
        let first = try Self.runThroughShell("trap '' XFSZ; ulimit -f 1024",
                                             ["--input", input, "--spool", spool, "--summary", directory + "/s1.json"])
        #expect(first.status == 3, "\(first.stderr)")
        #expect(first.stderr.contains("File too large"), "\(first.stderr)")
        #expect(first.stderr.contains("input stopped at the last spooled line"), "\(first.stderr)")
        let summary = try Self.summary(directory + "/s1.json")
        #expect(((summary["spool"] as? [String: Any])?["writeFailures"] as? Int ?? 0) >= 1)
        let delivered = Self.values(first.stdout)
        #expect(delivered.count > 0 && delivered.count < 8000)
        #expect(summary["ingested"] as? Int == delivered.count, "what was spooled was delivered")

        let second = try SluiceExecutable.run(["--input", input, "--spool", spool, "--summary", directory + "/s2.json"])
        #expect(second.status == 0, "\(second.stderr)")
        let rest = Self.values(second.stdout)
        #expect(delivered.count + rest.count == 8000, "nothing sent twice")
        #expect(Set(delivered + rest) == Set(0..<8000), "nothing lost")
    }

    @Test("a 1 MiB tmpfs fills up: said (No space left on device), exit 3, and re-runs on the same disk finish the file exactly once")
    func realFullDisk() throws {
        let directory = T.temporaryPath("enospc")
        let input = try Self.input(in: directory)
        let mountPoint = directory + "/disk"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = try Self.runProgram("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint])
        guard mount.status == 0 else {
            // Mounting needs root (or CAP_SYS_ADMIN); the file-size-limit test covers the write failure everywhere.
            print("skipped: cannot mount a tmpfs here (\(mount.stderr.trimmingCharacters(in: .whitespacesAndNewlines)))")
            return
        }
        defer { _ = try? Self.runProgram("/bin/umount", ["-l", mountPoint]) }
        let spool = mountPoint + "/spool"
        var delivered: [Int] = []
        var statuses: [Int32] = []
        for run in 1...8 where statuses.last != 0 {
            let result = try SluiceExecutable.run(["--input", input, "--spool", spool, "--summary", directory + "/s\(run).json"])
            statuses.append(result.status)
            delivered += Self.values(result.stdout)
            if run == 1 {
                #expect(result.status == 3, "\(result.stderr)")
                #expect(result.stderr.contains("No space left on device"), "\(result.stderr)")
                let figures = try Self.summary(directory + "/s1.json")["spool"] as? [String: Any]
                #expect((figures?["writeFailures"] as? Int ?? 0) >= 1)
            } else {
                #expect(result.status == 0 || result.status == 3, "\(result.stderr)")
            }
        }
        #expect(statuses.last == 0, "a run finished: \(statuses)")
        #expect(statuses.count >= 2, "the disk was full at least once")
        #expect(delivered.count == 8000, "nothing sent twice: \(delivered.count)")
        #expect(Set(delivered) == Set(0..<8000), "nothing lost")
    }

    static func segmentConfig(_ endpoint: AcceptingSegmentEndpoint, spool: String, overflow: String? = nil,
                              maxAttempts: Int = 100, drainTimeout: Double = 5) -> String {
        """
        {"drainTimeoutSeconds": \(drainTimeout), "input": {"queueCapacity": 2},
         "spool": {"path": "\(spool)", "maxBytes": 1048576},
         "destinations": [{"name": "segment", "type": "segment", "endpoint": "http://127.0.0.1:\(endpoint.server.port)",
           "writeKey": "full-test-key", "batch": {"maxEvents": 100, "maxDelayMs": 20}, "concurrency": 1,
           \(overflow.map { "\"overflow\": \"\($0)\"," } ?? "")
           "retry": {"maxAttempts": \(maxAttempts), "initialBackoffMs": 1, "maxBackoffMs": 20}}]}
        """
    }

    @Test("maxBytes 1 MiB in front of a slower destination: input waits for space, the spool stays within maxBytes, every event arrives once")
    func smallMaxBytesAppliesBackpressure() throws {
        let directory = T.temporaryPath("backpressure")
        let input = try Self.input(in: directory)
        let spool = directory + "/spool"
        let endpoint = try AcceptingSegmentEndpoint(failing: 0.3, seed: 3)
        defer { endpoint.server.stop() }
        let config = directory + "/pipeline.json"
        try Self.segmentConfig(endpoint, spool: spool).write(toFile: config, atomically: true, encoding: .utf8)
        let running = try SluiceExecutable.start(["--config", config, "--input", input, "--quiet", "--summary", directory + "/s.json"])
        let outputs = OutputCollector(running)
        try? running.stdin.close()
        var largest = 0
        while running.process.isRunning {
            largest = max(largest, Self.segmentBytes(spool))
            usleep(2000)
        }
        let (_, stderr) = outputs.finish()
        #expect(running.process.terminationStatus == 0, "\(stderr)")
        // One record past the limit at most goes in (a record larger than the free space waits for everything settled).
        print("backpressure: the spool held at most \(largest) bytes (maxBytes 1048576)")
        #expect(largest <= 1_048_576 + 64 << 10, "the spool held \(largest) bytes")
        #expect(largest > 256 << 10, "the spool was used: \(largest)")
        let ids = endpoint.acceptedIds
        #expect(Set(ids).count == 8000)
        #expect(ids.count == 8000, "nothing delivered twice")
    }

    @Test("maxBytes 1 MiB with overflow drop_newest and a failing destination: drops are counted, the run does not wedge, the sum holds")
    func smallMaxBytesWithDropPolicyCountsDrops() throws {
        let directory = T.temporaryPath("drop")
        let input = try Self.input(in: directory)
        let spool = directory + "/spool"
        let endpoint = try AcceptingSegmentEndpoint(failing: 1.0, seed: 3)
        defer { endpoint.server.stop() }
        let config = directory + "/pipeline.json"
        try Self.segmentConfig(endpoint, spool: spool, overflow: "drop_newest", maxAttempts: 4, drainTimeout: 0.5)
            .write(toFile: config, atomically: true, encoding: .utf8)
        let result = try SluiceExecutable.run(["--config", config, "--input", input, "--quiet", "--summary", directory + "/s.json"])
        #expect(result.status == 1, "dropped events make the exit status 1: \(result.stderr)")
        let summary = try Self.summary(directory + "/s.json")
        let segment = try #require((summary["destinations"] as? [String: [String: Any]])?["segment"])
        let dropped = segment["dropped"] as? Int ?? 0
        let left = segment["leftInSpool"] as? Int ?? 0
        let delivered = segment["delivered"] as? Int ?? 0
        let deadLettered = segment["deadLettered"] as? Int ?? 0
        #expect(dropped > 0, "\(segment)")
        #expect(summary["ingested"] as? Int == 8000, "the whole file was read: drops settle records and free the spool")
        #expect(delivered + dropped + left + deadLettered == 8000, "\(segment)")
    }
}
