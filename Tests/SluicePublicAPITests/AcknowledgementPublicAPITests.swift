import Testing
import Sluice

@Suite("Waiting for an ingested body to settle (public API)")
struct AcknowledgementPublicAPITests {
    @Test("ingest returns at acceptance; the settlement resolves only once the destination has delivered the body")
    func settlementWaitsForDelivery() async throws {
        let sink = BlockingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(queueCapacity: 8), options: options(for: sink, maxEvents: 10))
        let run = Task { try await pipeline.run() }
        let result = await pipeline.ingest(Workload.distinct(events: 25, perBody: 25).bodies[0])
        #expect(result.accepted == 25)
        #expect(await eventually { sink.sendsStarted >= 1 })
        #expect(!result.settlement.isSettled)
        #expect(result.settlement.outcome == nil)

        let waiter = Task { try await result.settlement.wait() }
        sink.open()
        let outcome = try await waiter.value
        #expect(outcome.destinations["sink"]?.delivered == 25)
        #expect(outcome.isDelivered)
        #expect(outcome.isSettled)
        #expect(sink.delivered == 25)
        #expect(result.settlement.isSettled)
        #expect(try await result.settlement.wait() == outcome)  // waiting again returns at once
        pipeline.finish()
        _ = try await run.value
    }

    @Test("a body the destination cannot take settles as dead-lettered: not delivered")
    func failedDeliverySettlesAsNotDelivered() async throws {
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(
            for: FailingDestination(), maxEvents: 10, retry: RetryConfiguration(maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 2)))
        let run = Task { try await pipeline.run() }
        let outcome = try await pipeline.ingest(Workload.distinct(events: 12, perBody: 12).bodies[0]).settlement.wait()
        #expect(outcome.destinations["sink"]?.deadLettered == 12)
        #expect(!outcome.isDelivered)
        #expect(outcome.isSettled)
        pipeline.finish()
        _ = try await run.value
    }

    @Test("each body settles with its own events, also when bodies share a batch")
    func bodiesSettleSeparately() async throws {
        let sink = RecordingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(queueCapacity: 16),
                                    options: options(for: sink, maxEvents: 100, maxDelayMs: 50))
        let run = Task { try await pipeline.run() }
        var results: [IngestResult] = []
        for body in Workload.distinct(events: 60, perBody: 6).bodies { results.append(await pipeline.ingest(body)) }
        for result in results {
            let outcome = try await result.settlement.wait()
            #expect(outcome.destinations == ["sink": SettlementCounts(delivered: 6)])
        }
        #expect(sink.uuids.count == 60)
        pipeline.finish()
        _ = try await run.value
    }

    @Test("duplicates and filtered events count as settled; a body of only invalid lines settles at once")
    func duplicatesFilteredAndInvalidSettle() async throws {
        let sink = RecordingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: sink, maxDelayMs: 10))
        let run = Task { try await pipeline.run() }
        let body = Workload.distinct(events: 5, perBody: 5).bodies[0]
        _ = try await pipeline.ingest(body).settlement.wait()
        let again = try await pipeline.ingest(body).settlement.wait()
        #expect(again.destinations["sink"] == SettlementCounts(duplicates: 5))
        #expect(again.isDelivered)
        let internalEvent = try await pipeline.ingest(#"{"eventName":"statsig::diagnostics","user":{"userID":"u"},"time":1795331233000}"#).settlement.wait()
        #expect(internalEvent.destinations["sink"] == SettlementCounts(filtered: 1))
        let invalid = await pipeline.ingest("not json\n")
        #expect(invalid.invalid.count == 1)
        #expect(invalid.settlement.isSettled)
        #expect(invalid.settlement.outcome?.destinations["sink"] == SettlementCounts())
        pipeline.finish()
        _ = try await run.value
    }

    @Test("a refused body's settlement is resolved at once and says nothing was delivered")
    func refusedBodySettlesAtOnce() async throws {
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: RecordingDestination()))
        let run = Task { try await pipeline.run() }
        pipeline.finish()
        _ = try await run.value
        let result = await pipeline.ingest(Workload.distinct(events: 1, perBody: 1).bodies[0])
        #expect(result.refused)
        let outcome = try await result.settlement.wait()
        #expect(outcome.destinations.isEmpty)
        #expect(!outcome.isDelivered)
    }

    @Test("a waiter whose task is cancelled gets CancellationError; the body is still delivered")
    func cancelledWaiterThrows() async throws {
        let sink = BlockingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(queueCapacity: 8), options: options(for: sink, maxEvents: 10))
        let run = Task { try await pipeline.run() }
        let result = await pipeline.ingest(Workload.distinct(events: 5, perBody: 5).bodies[0])
        let waiter = Task { try await result.settlement.wait() }
        #expect(await eventually { sink.sendsStarted >= 1 })
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        sink.open()
        pipeline.finish()
        let summary = try await run.value
        #expect(summary.destinations["sink"]?.delivered == 5)
        #expect(result.settlement.outcome?.isDelivered == true)
    }
}
