import Foundation
import Testing
import Sluice

@Suite("Metrics (public API)")
struct MetricsPublicAPITests {
    @Test("after a known workload the snapshot's counts match what was generated")
    func countsMatchAKnownWorkload() async throws {
        let generated = EventGenerator(options: .init(events: 2000, duplicateRate: 0.1, invalidRate: 0.02, seed: 5)).generate()
        let sink = RecordingDestination()
        var opts = options(for: sink, maxEvents: 100)
        opts.input = .bytes(generated.bytes)
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: opts)
        #expect(pipeline.metrics.phase == .notStarted)
        #expect(pipeline.metrics.ingested == 0)

        let summary = try await pipeline.run()
        let m = pipeline.metrics
        let distinct = generated.counts.events - generated.counts.duplicates
        #expect(m.phase == .finished)
        #expect(m.ingested == 2000)
        #expect(m.invalid == generated.counts.invalid)
        #expect(m.duplicates == generated.counts.duplicates)
        #expect(m.filtered == generated.counts.internal)
        #expect(m.dedupe.size == distinct)
        #expect(m.dedupe.capacityEvictions == 0)
        #expect(m.dedupe.memoryBytes > 0)
        #expect(m.queuedChunks == 0)
        let d = try #require(m.destinations["sink"])
        #expect(d.delivered == distinct - generated.counts.internal)
        #expect(d.delivered == sink.uuids.count)
        #expect(d.requests == sink.batches)
        #expect(d.pending == 0)
        #expect(d.inFlight == 0)
        #expect(d.queuedChunks == 0 && d.queuedForBatcher == 0 && d.queuedBatches == 0)
        #expect(m.pending == 0)
        #expect(m.elapsedSeconds > 0)
        #expect(m.eventsPerSecond > 0)
        let latency = try #require(m.latency)
        #expect(latency.p50 <= latency.p99)
        // The snapshot and the summary agree, and the finished snapshot no longer changes.
        #expect(summary.ingested == m.ingested && summary.destinations["sink"]?.delivered == d.delivered)
        #expect(pipeline.metrics == m)
    }

    @Test("the snapshot renders as one line of JSON with the operator's fields")
    func snapshotRendersAsJSON() async throws {
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: RecordingDestination()))
        let run = Task { try await pipeline.run() }
        _ = await pipeline.ingest(Workload.distinct(events: 10, perBody: 10).bodies[0])
        pipeline.finish()
        _ = try await run.value
        let bytes = pipeline.metrics.jsonBytes()
        #expect(!bytes.contains(0x0A))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["phase"] as? String == "finished")
        #expect(object["ingested"] as? Int == 10)
        let sink = try #require((object["destinations"] as? [String: Any])?["sink"] as? [String: Any])
        #expect(sink["delivered"] as? Int == 10)
        #expect(sink["pending"] as? Int == 0)
        #expect(sink["queuedBatches"] as? Int == 0)
        #expect((object["dedupe"] as? [String: Any])?["size"] as? Int == 10)
    }

    @Test("the stream yields periodic snapshots while the pipeline runs and ends with a final one when it finishes")
    func streamYieldsSnapshotsAndEnds() async throws {
        let sink = BlockingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: sink, maxEvents: 10))
        let run = Task { try await pipeline.run() }
        let received = Counter()
        let observer = Task {
            var snapshots: [MetricsSnapshot] = []
            for await snapshot in pipeline.metrics(every: .milliseconds(20)) {
                snapshots.append(snapshot)
                received.increment()
            }
            return snapshots
        }
        let workload = Workload.distinct(events: 100, perBody: 10)
        let producer = Task { for body in workload.bodies { _ = await pipeline.ingest(body) } }
        #expect(await eventually { received.current >= 3 && sink.sendsStarted >= 1 })
        let midRun = pipeline.metrics
        #expect(midRun.phase == .running)
        #expect(midRun.destinations["sink"]?.inFlight == 1)
        #expect((midRun.destinations["sink"]?.pending ?? 0) > 0)

        sink.open()
        await producer.value
        pipeline.finish()
        _ = try await run.value
        let snapshots = await observer.value  // ends on its own: the pipeline finished

        #expect(snapshots.count >= 3)
        #expect(snapshots.last?.phase == .finished)
        #expect(snapshots.last?.destinations["sink"]?.delivered == 100)
        #expect(snapshots.dropLast().allSatisfy { $0.phase != .finished })
        #expect(zip(snapshots, snapshots.dropFirst()).allSatisfy { $0.ingested <= $1.ingested && $0.elapsedSeconds <= $1.elapsedSeconds })
        #expect(snapshots.first?.intervalEventsPerSecond == nil)
        #expect(snapshots.dropFirst().allSatisfy { $0.intervalEventsPerSecond != nil })
    }

    @Test("a stream over a finished pipeline yields its final snapshot and ends; cancelling an observer ends its stream")
    func streamEndsForFinishedOrCancelled() async throws {
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: RecordingDestination()))
        pipeline.finish()
        _ = try await pipeline.run()
        var finished: [MetricsSnapshot.Phase] = []
        for await snapshot in pipeline.metrics(every: .seconds(1)) { finished.append(snapshot.phase) }
        #expect(finished == [.finished])

        let idle = try Pipeline(configuration: embeddedConfiguration(), options: options(for: RecordingDestination()))
        let observer = Task {
            var count = 0
            for await _ in idle.metrics(every: .seconds(3600)) { count += 1 }
            return count
        }
        observer.cancel()
        #expect(await observer.value == 0)
    }
}
