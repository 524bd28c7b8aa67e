import Foundation
import Testing
@testable import Sluice
@testable import SluiceCLI

@Suite("Spool: the pipeline with a spool")
struct SpoolPipelineTests {
    typealias S = PipelineTestSupport

    static func pipeline(spool: String, sync: SpoolConfiguration.SyncMode = .interval, destinations: [(String, any Destination)]) throws -> Pipeline {
        var configuration = S.configuration()
        configuration.spool = SpoolConfiguration(path: spool, sync: sync)
        configuration.drainTimeoutSeconds = 0.2
        return try Pipeline(configuration: configuration, options: PipelineOptions(
            customDestinations: destinations.map { CustomDestinationRegistration(name: $0.0, destination: $0.1,
                                                                   retry: RetryConfiguration(maxAttempts: 100_000, initialBackoffMs: 5, maxBackoffMs: 20)) }))
    }

    /// Every record in the spool's segment files, read directly (no lock needed to read).
    static func spooledPayloads(_ path: String) throws -> [String] {
        var payloads: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: path).filter({ $0.hasPrefix("segment-") }).sorted() {
            let reader = try SpoolSegmentReader(path: path + "/" + name)
            while case .record(let record) = reader.next() { payloads.append(String(decoding: record.payload, as: UTF8.self)) }
        }
        return payloads
    }

    @Test("with sync always, ingest returns only once the body is in the spool; what misses the drain deadline replays next run, to that destination only")
    func ingestIsDurableAndReplays() async throws {
        let path = freshSpoolPath()
        // Fails every attempt (retryably) until the drain deadline: its events stay in the spool.
        let stuck = FailingDestination(retryable: true)
        let healthy = RecordingDestination()
        let first = try Self.pipeline(spool: path, sync: .always, destinations: [("stuck", stuck), ("healthy", healthy)])
        let run = Task { try await first.run() }
        let body = S.bytes((0..<20).map { S.eventLine($0) })
        let result = await first.ingest(body)
        #expect(!result.refused && result.accepted == 20)
        // Already on disk when ingest returned, before any destination has it.
        #expect(try Self.spooledPayloads(path).contains(String(decoding: body, as: UTF8.self)))
        #expect(await S.eventually { healthy.events.count == 20 })
        first.shutdown(gracePeriod: .milliseconds(100))
        let summary1 = try await run.value
        #expect(summary1.destinations["stuck"]?.leftUnsettled == 20)
        #expect(summary1.destinations["stuck"]?.deadLettered == 0)
        #expect(summary1.spool?.recordsLeft == 1)
        #expect(summary1.isBalanced)

        let stuckAgain = RecordingDestination()
        let healthyAgain = RecordingDestination()
        let second = try Self.pipeline(spool: path, destinations: [("stuck", stuckAgain), ("healthy", healthyAgain)])
        let run2 = Task { try await second.run() }
        #expect(await S.eventually { stuckAgain.events.count == 20 })
        second.finish()
        let summary2 = try await run2.value
        #expect(healthyAgain.events.isEmpty, "the healthy destination had settled the record: not sent again")
        #expect(summary2.destinations["stuck"]?.replayed == 20)
        #expect(summary2.destinations["healthy"]?.alreadySettled == 20)
        #expect(summary2.destinations["healthy"]?.replayed == 0)
        #expect(summary2.spool?.replayedRecords == 1)
        #expect(summary2.spool?.recordsLeft == 0)
        #expect(summary2.isBalanced)
        #expect(Set(stuckAgain.timeUUIDs) == Set(healthy.timeUUIDs), "the same messageIds on both runs")
    }

    @Test("metrics, the progress line and the summary JSON show the spool's bytes, segments and oldest unsettled record")
    func spoolFiguresAreReported() async throws {
        let path = freshSpoolPath()
        let pipeline = try Self.pipeline(spool: path, destinations: [("stuck", FailingDestination(retryable: true))])
        let run = Task { try await pipeline.run() }
        _ = await pipeline.ingest(S.bytes((0..<5).map { S.eventLine($0) }))
        try await Task.sleep(for: .milliseconds(50))
        let metrics = pipeline.metrics
        let spool = try #require(metrics.spool)
        #expect(spool.bytes > 16 && spool.segments == 1)
        #expect(spool.oldestUnsettledAgeSeconds > 0)
        #expect(String(decoding: metrics.jsonBytes(), as: UTF8.self).contains("\"spool\":{\"bytes\":"))
        #expect(ProgressDisplay.line(for: metrics, rate: 0, width: 500).contains("spool "))
        pipeline.shutdown(gracePeriod: .milliseconds(50))
        let summary = try await run.value
        let json = String(decoding: summary.jsonBytes(), as: UTF8.self)
        #expect(json.contains("\"leftInSpool\":5") && json.contains("\"replayed\":0") && json.contains("\"spool\":{\"corruptRecords\":0"))
    }

    @Test("a configuration that asks for a spool someone else holds fails to start with the lock's message")
    func lockedSpoolFailsTheStart() throws {
        let path = freshSpoolPath()
        let holder = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["x"])
        defer { holder.close() }
        #expect {
            try Self.pipeline(spool: path, destinations: [("x", RecordingDestination())])
        } throws: { error in
            "\(error)".contains("in use by another sluice process")
        }
    }
}
