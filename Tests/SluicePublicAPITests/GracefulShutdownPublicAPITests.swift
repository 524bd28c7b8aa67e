import Testing
import Sluice

@Suite("Graceful shutdown with a deadline (public API)")
struct GracefulShutdownPublicAPITests {
    @Test("a destination that never succeeds: after the grace period everything is dead-lettered and run() returns")
    func failingDestinationIsDeadLetteredAfterGracePeriod() async throws {
        let sink = FailingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(
            for: sink, maxEvents: 20, retry: RetryConfiguration(maxAttempts: 1_000_000, initialBackoffMs: 5, maxBackoffMs: 20)))
        let run = Task { try await pipeline.run() }
        for body in Workload.distinct(events: 100, perBody: 10).bodies { _ = await pipeline.ingest(body) }
        #expect(await eventually { sink.attemptCount >= 2 })

        let clock = ContinuousClock()
        let start = clock.now
        pipeline.shutdown(gracePeriod: .milliseconds(300))
        let summary = try await run.value
        let took = clock.now - start

        let counts = try #require(summary.destinations["sink"])
        #expect(counts.delivered == 0)
        #expect(counts.deadLettered == 100)
        #expect(counts.retries > 0)
        #expect(summary.isBalanced)
        #expect(summary.exitStatus == 1)
        #expect(took < .seconds(20))  // bounded by the grace period, not by a million retries
    }

    @Test("a destination that never answers is cancelled at the deadline and its batches dead-lettered")
    func hangingDestinationIsCancelledAtTheDeadline() async throws {
        let sink = HangingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: sink, maxEvents: 10))
        let run = Task { try await pipeline.run() }
        for body in Workload.distinct(events: 40, perBody: 10).bodies { _ = await pipeline.ingest(body) }
        #expect(await eventually { sink.callCount >= 1 })
        pipeline.shutdown(gracePeriod: .milliseconds(200))
        let summary = try await run.value
        #expect(sink.callCount == 1)
        #expect(summary.destinations["sink"]?.deadLettered == 40)
        #expect(summary.isBalanced)
    }

    @Test("within the grace period a healthy destination delivers everything")
    func healthyDestinationDeliversWithinGracePeriod() async throws {
        let sink = RecordingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: sink, maxDelayMs: 60_000))
        let run = Task { try await pipeline.run() }
        let workload = Workload.distinct(events: 150, perBody: 50)
        for body in workload.bodies { _ = await pipeline.ingest(body) }
        pipeline.shutdown(gracePeriod: .seconds(60))
        let summary = try await run.value
        #expect(summary.destinations["sink"]?.delivered == 150)
        #expect(summary.exitStatus == 0)
        #expect(sink.uuids == workload.timeUUIDs)
    }
}
