import Foundation
import Testing
import Sluice
import Synchronization

/// Fails the first attempt of every batch, then accepts it: a flaky sink.
private final class FlakyDestination: Destination {
    private let seen = Mutex<(batches: Set<[UInt8]>, delivered: Int)>(([], 0))
    func send(_ batch: EventBatch) async throws {
        let first = seen.withLock { $0.batches.insert(batch.ndjson).inserted }
        if first { throw DestinationError.retryable("try again") }
        seen.withLock { $0.delivered += batch.count }
    }
    var delivered: Int { seen.withLock { $0.delivered } }
}

@Suite("Custom destinations (public API)")
struct CustomDestinationPublicAPITests {
    @Test("a custom destination receives exactly the ingested events, in order, each in export format")
    func receivesExactlyTheEvents() async throws {
        let sink = RecordingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: sink, maxEvents: 50, maxDelayMs: 60_000))
        let run = Task { try await pipeline.run() }
        let workload = Workload.distinct(events: 500, perBody: 7)
        for body in workload.bodies { _ = await pipeline.ingest(body) }
        // A repeat of an earlier event is dropped before it reaches the destination.
        #expect(await pipeline.ingest(workload.bodies[3]).accepted == 7)
        pipeline.finish()
        let summary = try await run.value
        #expect(sink.uuids == workload.timeUUIDs)
        #expect(sink.ndjsonLines == 500)
        #expect(sink.batches == 10)
        #expect(summary.duplicates == 7)
        #expect(summary.destinations["sink"]?.delivered == 500)
        #expect(summary.destinations["sink"]?.requests == 10)
    }

    @Test("the destination's event selection decides what it receives; the rest is counted as filtered")
    func selectionFiltersEvents() async throws {
        let sink = RecordingDestination()
        var opts = options(for: sink)
        opts.customDestinations[0].events = EventSelection(categories: [.custom])
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: opts)
        let run = Task { try await pipeline.run() }
        let workload = Workload.distinct(events: 300, perBody: 30)
        var customUUIDs: [String] = []
        for body in workload.bodies {
            for line in body.split(separator: 0x0A) {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
                if !(object["eventName"] as! String).hasPrefix("statsig::") {
                    customUUIDs.append((object["timeUUID"] as! String).lowercased())
                }
            }
            _ = await pipeline.ingest(body)
        }
        pipeline.finish()
        let summary = try await run.value
        #expect(!customUUIDs.isEmpty)
        #expect(sink.uuids == customUUIDs)
        #expect(summary.destinations["sink"]?.filtered == 300 - customUUIDs.count)
        #expect(summary.isBalanced)
    }

    @Test("a retryable failure is retried with the registration's settings and counted")
    func retryableFailuresAreRetried() async throws {
        let sink = FlakyDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(
            for: sink, maxEvents: 25, retry: RetryConfiguration(maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 5)))
        let run = Task { try await pipeline.run() }
        for body in Workload.distinct(events: 100, perBody: 25).bodies { _ = await pipeline.ingest(body) }
        pipeline.finish()
        let summary = try await run.value
        let counts = try #require(summary.destinations["sink"])
        #expect(sink.delivered == 100)
        #expect(counts.delivered == 100)
        #expect(counts.requests == 8)
        #expect(counts.retries == 4)
    }

    @Test("a permanent failure dead-letters the batch without retrying")
    func permanentFailuresAreNotRetried() async throws {
        struct Refusing: Destination {
            let calls = Counter()
            func send(_ batch: EventBatch) async throws {
                calls.increment()
                throw DestinationError.permanent("schema rejected")
            }
        }
        let sink = Refusing()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: sink, maxEvents: 10))
        let run = Task { try await pipeline.run() }
        _ = await pipeline.ingest(Workload.distinct(events: 30, perBody: 30).bodies[0])
        pipeline.finish()
        let summary = try await run.value
        #expect(sink.calls.current == 3)
        #expect(summary.destinations["sink"]?.deadLettered == 30)
        #expect(summary.destinations["sink"]?.failedRequests == 3)
        #expect(summary.exitStatus == 1)
    }

    @Test("an EventBatch built in code carries its events as NDJSON, for testing a destination alone")
    func eventBatchFromCode() {
        let event = ExportedEvent(json: Array(#"{"eventName":"a"}"#.utf8), eventName: "a", category: .custom,
                                  timeUUID: "00000000-0000-1000-8000-000000000000", timestamp: 0)
        let batch = EventBatch(events: [event, event])
        #expect(batch.count == 2)
        #expect(batch.events == [event, event])
        #expect(String(decoding: batch.ndjson, as: UTF8.self) == "{\"eventName\":\"a\"}\n{\"eventName\":\"a\"}\n")
    }
}
