#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import Sluice

/// `--spool DIR` on the real binary: drain deadlines, corruption, locking, file resume.
@Suite("Spool: the sluice command line", .serialized)
struct SpoolCLITests {
    struct Setup {
        let directory: String
        let input: String
        let spool: String
        let expected: Set<String>
        let lines: Int
    }

    /// A generated input file and the messageIds a clean run delivers to a Segment endpoint.
    static func setup(events: Int, seed: UInt64) throws -> Setup {
        let directory = PipelineTestSupport.temporaryPath("spool-cli")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let input = directory + "/events.ndjson"
        let generated = try SluiceExecutable.run(["generate", "--events", "\(events)", "--seed", "\(seed)", "--output", input])
        #expect(generated.status == 0, "\(generated.stderr)")
        let config = directory + "/dry.json"
        try AcceptingSegmentEndpoint(failing: 0, seed: 1).configuration(maxEvents: 100, concurrency: 2)
            .write(toFile: config, atomically: true, encoding: .utf8)
        let dry = try SluiceExecutable.run(["--config", config, "--input", input, "--dry-run", "--quiet"])
        let expected = Set(dry.stdout.split(separator: "\n").flatMap { line -> [String] in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let body = object["body"] as? [String: Any] else { return [] }
            return AcceptingSegmentEndpoint.messageIds((try? JSONSerialization.data(withJSONObject: body)).map { Array($0) } ?? [])
        })
        return Setup(directory: directory, input: input, spool: directory + "/spool", expected: expected, lines: events)
    }

    static func writeConfig(_ endpoint: AcceptingSegmentEndpoint, _ setup: Setup, drainTimeout: Double = 5) throws -> String {
        let path = setup.directory + "/pipeline-\(endpoint.server.port).json"
        try endpoint.configuration(maxEvents: 100, concurrency: 2, drainTimeout: drainTimeout).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func summary(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    /// Run 1 against an endpoint that fails everything, stopped by SIGTERM with a short drain deadline: what was
    /// not delivered stays in the spool. Returns the setup and run 1's summary.
    static func leaveEverythingInTheSpool(events: Int) throws -> (Setup, [String: Any]) {
        let setup = try setup(events: events, seed: 5)
        let down = try AcceptingSegmentEndpoint(failing: 1.0, seed: 1)
        defer { down.server.stop() }
        let config = try writeConfig(down, setup, drainTimeout: 0.3)
        let summaryPath = setup.directory + "/summary-1.json"
        let running = try SluiceExecutable.start(["--config", config, "--input", setup.input, "--spool", setup.spool, "--summary", summaryPath])
        let outputs = OutputCollector(running)
        usleep(700_000)
        running.process.terminate()
        running.process.waitUntilExit()
        let (_, stderr) = outputs.finish()
        #expect(stderr.contains(" 0 dead-lettered"), "\(stderr)")
        return (setup, try summary(summaryPath))
    }

    @Test("what misses the drain deadline stays in the spool, is not dead-lettered, and the next run delivers it")
    func drainDeadlineLeavesEventsInTheSpool() throws {
        let (setup, first) = try Self.leaveEverythingInTheSpool(events: 2000)
        let segment = try #require((first["destinations"] as? [String: [String: Any]])?["segment"])
        #expect(segment["deadLettered"] as? Int == 0)
        #expect(segment["delivered"] as? Int == 0)
        #expect((segment["leftInSpool"] as? Int ?? 0) > 0)
        #expect(((first["spool"] as? [String: Any])?["recordsLeft"] as? Int ?? 0) > 0)

        let up = try AcceptingSegmentEndpoint(failing: 0, seed: 1)
        defer { up.server.stop() }
        let summaryPath = setup.directory + "/summary-2.json"
        let second = try SluiceExecutable.run(["--config", try Self.writeConfig(up, setup), "--input", setup.input, "--spool", setup.spool,
                                                "--summary", summaryPath])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(Set(up.acceptedIds) == setup.expected)
        #expect(up.acceptedIds.count == setup.expected.count, "nothing delivered twice")
        let replayed = try Self.summary(summaryPath)
        let destination = try #require((replayed["destinations"] as? [String: [String: Any]])?["segment"])
        #expect((destination["replayed"] as? Int ?? 0) > 0)
        #expect(destination["leftInSpool"] as? Int == 0)
    }

    @Test("a flipped byte in a spooled record: the run says so, counts it, delivers every other record, exits 0")
    func flippedByteOnTheBinary() throws {
        let (setup, _) = try Self.leaveEverythingInTheSpool(events: 2000)
        let segments = try FileManager.default.contentsOfDirectory(atPath: setup.spool).filter { $0.hasPrefix("segment-") }.sorted()
        let largest = try #require(segments.max { (try? FileManager.default.attributesOfItem(atPath: setup.spool + "/" + $0)[.size] as? Int) ?? 0 < (try? FileManager.default.attributesOfItem(atPath: setup.spool + "/" + $1)[.size] as? Int) ?? 0 })
        let path = setup.spool + "/" + largest
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: path))

        let up = try AcceptingSegmentEndpoint(failing: 0, seed: 1)
        defer { up.server.stop() }
        let summaryPath = setup.directory + "/summary-2.json"
        let second = try SluiceExecutable.run(["--config", try Self.writeConfig(up, setup), "--input", setup.input, "--spool", setup.spool,
                                                "--summary", summaryPath])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("CRC mismatch"))
        #expect((try Self.summary(summaryPath)["spool"] as? [String: Any])?["corruptRecords"] as? Int == 1)
        let delivered = Set(up.acceptedIds)
        #expect(delivered.isSubset(of: setup.expected))
        // One record (at most 100 lines) is lost to the damage; every other one arrives.
        #expect(delivered.count >= setup.expected.count - 100)
        #expect(delivered.count < setup.expected.count)
    }

    @Test("a segment truncated mid-record: cut off at the last whole record with a message, counted, no crash")
    func truncatedSegmentOnTheBinary() throws {
        let (setup, _) = try Self.leaveEverythingInTheSpool(events: 2000)
        let last = try #require(try FileManager.default.contentsOfDirectory(atPath: setup.spool).filter { $0.hasPrefix("segment-") }.sorted().last(where: {
            ((try? FileManager.default.attributesOfItem(atPath: setup.spool + "/" + $0)[.size] as? Int) ?? 0) > 1000
        }))
        let path = setup.spool + "/" + last
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(truncate(path, off_t(size - 1000)) == 0)
        // Later (empty) segments would make this one sealed: the tail is only checked on the last one.
        for later in try FileManager.default.contentsOfDirectory(atPath: setup.spool).filter({ $0.hasPrefix("segment-") && $0 > last }) {
            try FileManager.default.removeItem(atPath: setup.spool + "/" + later)
        }
        let up = try AcceptingSegmentEndpoint(failing: 0, seed: 1)
        defer { up.server.stop() }
        let summaryPath = setup.directory + "/summary-2.json"
        let second = try SluiceExecutable.run(["--config", try Self.writeConfig(up, setup), "--input", setup.input, "--spool", setup.spool,
                                                "--summary", summaryPath])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("torn record"))
        #expect((try Self.summary(summaryPath)["spool"] as? [String: Any])?["corruptRecords"] as? Int == 1)
        #expect(Set(up.acceptedIds).isSubset(of: setup.expected))
    }

    @Test("a second process on the same spool exits 2 with a clear message while the first runs")
    func secondProcessIsRefused() throws {
        let spool = PipelineTestSupport.temporaryPath("locked-spool")
        let first = try SluiceExecutable.start(["--spool", spool, "--quiet"])
        let outputs = OutputCollector(first)
        // The first holds the lock once its spool exists (it reads stdin, which stays open).
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: spool + "/spool.json") { usleep(20_000) }
        let second = try SluiceExecutable.run(["--spool", spool], input: Array("{\"eventName\":\"e\"}\n".utf8))
        #expect(second.status == 2)
        #expect(second.stderr.contains("in use by another sluice process"), "\(second.stderr)")
        try first.stdin.close()
        first.process.waitUntilExit()
        _ = outputs.finish()
        #expect(first.process.terminationStatus == 0)
    }

    @Test("--input FILE --spool DIR: a re-run sends nothing; a shrunk file starts at 0 and says so")
    func fileResumeAndRestart() throws {
        let directory = PipelineTestSupport.temporaryPath("resume")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let input = directory + "/events.ndjson"
        let lines = (0..<300).map { PipelineTestSupport.eventLine($0) }
        try Data(PipelineTestSupport.bytes(lines)).write(to: URL(fileURLWithPath: input))
        let spool = directory + "/spool"
        let first = try SluiceExecutable.run(["--input", input, "--spool", spool, "--quiet"])
        #expect(first.status == 0)
        #expect(first.stdout.split(separator: "\n").count == 300)
        let again = try SluiceExecutable.run(["--input", input, "--spool", spool, "--quiet"])
        #expect(again.status == 0)
        #expect(again.stdout.isEmpty, "nothing re-read")
        #expect(again.stderr.contains("resuming"))
        // Appended lines: only they are read.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: input))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(PipelineTestSupport.bytes((300..<320).map { PipelineTestSupport.eventLine($0) })))
        try handle.close()
        let appended = try SluiceExecutable.run(["--input", input, "--spool", spool, "--quiet"])
        #expect(appended.stdout.split(separator: "\n").count == 20, "nothing skipped, nothing re-read")
        // A shrunk file is another file: read from the start, and said.
        try Data(PipelineTestSupport.bytes(Array(lines.prefix(10)))).write(to: URL(fileURLWithPath: input))
        let shrunk = try SluiceExecutable.run(["--input", input, "--spool", spool, "--quiet"])
        #expect(shrunk.status == 0)
        #expect(shrunk.stderr.contains("reading it from the start"), "\(shrunk.stderr)")
    }
}
