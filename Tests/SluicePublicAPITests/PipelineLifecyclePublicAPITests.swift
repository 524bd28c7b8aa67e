import Testing
import Sluice

/// Building, running, finishing and cancelling a pipeline the way a service embeds it.
@Suite("Pipeline lifecycle (public API)")
struct PipelineLifecyclePublicAPITests {
    @Test("a pipeline built in code delivers only to its custom destination when the configuration names none")
    func buildsFromCodeWithOnlyACustomDestination() async throws {
        let sink = RecordingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: sink))
        #expect(Set(pipeline.metrics.destinations.keys) == ["sink"])
        let run = Task { try await pipeline.run() }
        let workload = Workload.distinct(events: 30, perBody: 10)
        for body in workload.bodies { #expect(await pipeline.ingest(body).accepted == 10) }
        pipeline.finish()
        let summary = try await run.value
        #expect(summary.ingested == 30)
        #expect(summary.destinations.keys.sorted() == ["sink"])
        #expect(summary.isBalanced)
        #expect(sink.uuids == workload.timeUUIDs)
    }

    @Test("an invalid configuration or a repeated destination name is refused with the reason")
    func refusesInvalidConfigurations() throws {
        var configuration = embeddedConfiguration()
        configuration.input.chunkSize = 0
        let error = #expect(throws: PipelineError.self) {
            _ = try Pipeline(configuration: configuration, options: options(for: RecordingDestination()))
        }
        #expect(error?.message.contains("input.chunkSize") == true)

        var both = options(for: RecordingDestination(), name: "out")
        both.customDestinations.append(CustomDestinationRegistration(name: "out", destination: RecordingDestination()))
        let repeated = #expect(throws: PipelineError.self) {
            _ = try Pipeline(configuration: embeddedConfiguration(), options: both)
        }
        #expect(repeated?.message.contains("\"out\"") == true)

        #expect(throws: PipelineError.self) {
            _ = try Pipeline(configuration: embeddedConfiguration())  // no destination at all
        }
    }

    @Test("ingest reports accepted and invalid events of any input shape, and refuses once finishing")
    func ingestReportsAcceptedAndInvalid() async throws {
        let sink = RecordingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: sink))
        let run = Task { try await pipeline.run() }

        let ndjson = #"{"eventName":"a","time":1700000000000}"# + "\n" + "not json\n" + #"{"eventName":"b","time":1700000000001}"# + "\n"
        let mixed = await pipeline.ingest(ndjson)
        #expect(mixed.accepted == 2)
        #expect(mixed.invalid.map(\.line) == [2])
        #expect(!mixed.refused)

        let logEvent = #"{"events":[{"eventName":"c","time":1700000000002},{"eventName":"","time":1}],"user":{"userID":"u1"}}"#
        let batch = await pipeline.ingest(Array(logEvent.utf8))
        #expect(batch.accepted == 1)
        #expect(batch.invalid.count == 1)
        #expect(batch.invalid.first?.index == 1)

        pipeline.finish()
        let late = await pipeline.ingest(ndjson)
        #expect(late.refused)
        #expect(late.accepted == 0)

        let summary = try await run.value
        #expect(summary.ingested == 3)
        #expect(summary.invalid == 2)
        #expect(summary.destinations["sink"]?.delivered == 3)
        #expect(summary.isBalanced)
    }

    @Test("a pipeline runs once")
    func runsOnce() async throws {
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: RecordingDestination()))
        pipeline.finish()
        _ = try await pipeline.run()
        await #expect(throws: PipelineError.self) { _ = try await pipeline.run() }
    }

    @Test("cancelling the task running run() drains: everything ingested is delivered and the books balance")
    func cancellationDrains() async throws {
        let sink = RecordingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: sink, maxDelayMs: 10_000))
        let run = Task { try await pipeline.run() }
        let workload = Workload.distinct(events: 200, perBody: 10)
        var accepted = 0
        for body in workload.bodies { accepted += await pipeline.ingest(body).accepted }
        run.cancel()
        let summary = try await run.value
        #expect(accepted == 200)
        #expect(summary.ingested == 200)
        // The 10 s batch delay never elapsed: the drain flushed the partial batches.
        #expect(summary.destinations["sink"]?.delivered == 200)
        #expect(summary.isBalanced)
        #expect(summary.exitStatus == 0)
        #expect(Set(sink.uuids) == Set(workload.timeUUIDs))
        #expect(await pipeline.ingest(workload.bodies[0]).refused)
    }

    @Test("cancelling while the destination is stuck dead-letters what it holds after drainTimeoutSeconds")
    func cancellationWithAStuckDestinationIsBounded() async throws {
        let sink = BlockingDestination()  // never opened
        let pipeline = try Pipeline(configuration: embeddedConfiguration(drainTimeoutSeconds: 0.3),
                                    options: options(for: sink, maxEvents: 10))
        let run = Task { try await pipeline.run() }
        let workload = Workload.distinct(events: 500, perBody: 10)
        let accepted = Counter()
        let producer = Task {
            for body in workload.bodies {
                let result = await pipeline.ingest(body)
                if result.refused { return }
                accepted.increment(by: result.accepted)
            }
        }
        #expect(await eventually { sink.sendsStarted >= 1 })
        run.cancel()
        let summary = try await run.value
        await producer.value
        let sinkSummary = try #require(summary.destinations["sink"])
        #expect(summary.ingested == accepted.current)
        #expect(sinkSummary.delivered == 0)
        #expect(sinkSummary.deadLettered + sinkSummary.dropped == summary.ingested)
        #expect(summary.isBalanced)
        #expect(summary.exitStatus == 1)
    }

    @Test("finish() delivers everything queued, flushing partial batches, before run() returns")
    func finishDeliversEverything() async throws {
        let sink = RecordingDestination()
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: options(for: sink, maxEvents: 64, maxDelayMs: 60_000))
        let run = Task { try await pipeline.run() }
        let workload = Workload.distinct(events: 100, perBody: 25)
        for body in workload.bodies { _ = await pipeline.ingest(body) }
        pipeline.finish()
        let summary = try await run.value
        #expect(summary.destinations["sink"]?.delivered == 100)
        #expect(sink.batches == 2)  // 64 + the flushed partial 36
        #expect(sink.uuids == workload.timeUUIDs)
    }
}
