import Testing
import Sluice

@Suite("Backpressure (public API)")
struct BackpressurePublicAPITests {
    @Test("ingest suspends while the destination holds its batches, queued work stays bounded, and all of it flows once released")
    func ingestSuspendsUnderBackpressure() async throws {
        let sink = BlockingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(queueCapacity: 1, chunkSize: 10),
                                    options: options(for: sink, maxEvents: 10))
        let run = Task { try await pipeline.run() }
        let workload = Workload.distinct(events: 1000, perBody: 10)
        let completed = Counter()
        let producer = Task {
            for body in workload.bodies {
                _ = await pipeline.ingest(body)
                completed.increment()
            }
        }

        // Wait for every queue in front of the stuck sender to fill, then give an unbounded engine ample time
        // to run ahead before looking.
        #expect(await eventually {
            let m = pipeline.metrics
            return sink.sendsStarted >= 1 && m.queuedChunks == 1 && m.destinations["sink"]?.queuedBatches == 2
        })
        try await Task.sleep(for: .milliseconds(500))

        let blocked = pipeline.metrics
        let sinkMetrics = try #require(blocked.destinations["sink"])
        #expect(sink.sendsStarted == 1)
        #expect(sinkMetrics.inFlight == 1)
        #expect(sinkMetrics.delivered == 0)
        // Capacity-1 queues of 10-event chunks, 2 queued batches, one batch in flight, one chunk in each stage's
        // hands: about 150 events. Far fewer than the 1000 offered.
        #expect(blocked.ingested <= 300)
        #expect(completed.current < workload.bodies.count)
        #expect(sinkMetrics.pending == blocked.ingested)

        sink.open()
        await producer.value
        pipeline.finish()
        let summary = try await run.value
        #expect(completed.current == workload.bodies.count)
        #expect(summary.destinations["sink"]?.delivered == 1000)
        #expect(sink.delivered == 1000)
        #expect(summary.isBalanced)
    }
}
