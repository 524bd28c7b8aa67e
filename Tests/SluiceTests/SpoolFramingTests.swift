import Foundation
import Testing
@testable import Sluice

/// A spool must not change what a line of stdin or `--input` means: records cut from the stream are decoded
/// as NDJSON lines, live and on replay, exactly as the stream path decodes them without a spool.
@Suite("Spool: stream records decode as lines, with or without a spool")
struct SpoolFramingTests {
    typealias S = PipelineTestSupport

    /// One event in a JSON array spread over three lines: as NDJSON, one event and two invalid lines ("[" and
    /// "]"); read as one document (what a request body may be), one event and no invalid line.
    static func inputFile() throws -> String {
        let path = S.temporaryPath("framing") + ".ndjson"
        try ("[\n" + S.eventLine(1) + "\n]\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func pipeline(input: String, spool: String?, destination: any Destination) throws -> Pipeline {
        var configuration = S.configuration()
        if let spool { configuration.spool = SpoolConfiguration(path: spool) }
        return try Pipeline(configuration: configuration, options: PipelineOptions(
            input: .file(input),
            customDestinations: [CustomDestinationRegistration(name: "out", destination: destination,
                                                               retry: RetryConfiguration(maxAttempts: 100_000, initialBackoffMs: 5, maxBackoffMs: 20))]))
    }

    static func run(input: String, spool: String?, destination: any Destination) async throws -> Summary {
        try await pipeline(input: input, spool: spool, destination: destination).run()
    }

    @Test("lines that together form one JSON document are still NDJSON lines with a spool: the same events and invalid lines")
    func liveRecordsAreLines() async throws {
        let input = try Self.inputFile()
        let plain = RecordingDestination()
        let withoutSpool = try await Self.run(input: input, spool: nil, destination: plain)
        let spooled = RecordingDestination()
        let withSpool = try await Self.run(input: input, spool: freshSpoolPath(), destination: spooled)
        #expect(withoutSpool.invalid == 2)
        #expect(plain.events.count == 1)
        #expect(withSpool.invalid == withoutSpool.invalid)
        #expect(withSpool.ingested == withoutSpool.ingested)
        #expect(spooled.timeUUIDs == plain.timeUUIDs)
        #expect(withSpool.isBalanced)
    }

    @Test("a stream record left in the spool replays as lines: the same events and the same invalid lines")
    func replayedRecordsAreLines() async throws {
        let input = try Self.inputFile()
        let spool = freshSpoolPath()
        // Fails every attempt until the drain deadline: the record stays in the spool for the next run.
        let stuck = try Self.pipeline(input: input, spool: spool, destination: FailingDestination(retryable: true))
        let stuckRun = Task { try await stuck.run() }
        #expect(await S.eventually { ((try? SpoolPipelineTests.spooledPayloads(spool)) ?? []).count == 1 })
        try await Task.sleep(for: .milliseconds(100))
        stuck.shutdown(gracePeriod: .milliseconds(100))
        let first = try await stuckRun.value
        #expect(first.invalid == 2)
        #expect(first.destinations["out"]?.leftUnsettled == 1)

        let recording = RecordingDestination()
        var configuration = S.configuration()
        configuration.spool = SpoolConfiguration(path: spool)
        let second = try Pipeline(configuration: configuration, options: PipelineOptions(
            customDestinations: [CustomDestinationRegistration(name: "out", destination: recording)]))
        let running = Task { try await second.run() }
        #expect(await S.eventually { recording.events.count >= 1 })
        second.finish()
        let summary = try await running.value
        #expect(summary.destinations["out"]?.replayed == 1)
        #expect(recording.events.count == 1)
        #expect(summary.invalid == 2, "replay finds the same invalid lines, not one array document")
        #expect(summary.isBalanced)
    }
}

@Suite("Spool: segments of format version 2 are still read")
struct SpoolVersionTwoTests {
    @Test("a version-2 segment (written before stream records were marked) opens and replays its records")
    func versionTwoSegmentReplays() async throws {
        let path = freshSpoolPath()
        let spool = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        _ = try await spool.append(Array("{\"eventName\":\"x\"}\n".utf8))
        spool.close()
        let segment = path + "/" + (try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { $0.hasPrefix("segment-") }.sorted().last!)
        var bytes = try #require(FileManager.default.contents(atPath: segment))
        #expect(bytes[8] == UInt8(SpoolFormat.version))
        bytes[8] = 2
        try bytes.write(to: URL(fileURLWithPath: segment))
        let reopened = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        defer { reopened.close() }
        let replay = try reopened.replay()
        let item = try #require(try replay.next())
        #expect(String(decoding: item.record.payload, as: UTF8.self) == "{\"eventName\":\"x\"}\n")
        #expect(item.record.firstLine & SpooledStreamLines.flag == 0)
    }
}
