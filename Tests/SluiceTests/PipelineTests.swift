import Foundation
import Testing
@testable import Sluice

@Suite("Pipeline: end to end through every stage")
struct PipelineTests {
    typealias S = PipelineTestSupport

    @Test("events reach a destination once each, in input order, across chunk and batch boundaries")
    func orderPreserved() async throws {
        let lines = (0..<2_000).map { S.eventLine($0) }
        let sink = RecordingDestination()
        let pipeline = try Pipeline(
            configuration: S.configuration(chunkSize: 37, queueCapacity: 2),
            options: PipelineOptions(input: .bytes(S.bytes(lines)), customDestinations: [
                CustomDestinationRegistration(name: "rec", destination: sink,
                                              batch: BatchConfiguration(maxEvents: 50, maxBytes: 1 << 20, maxDelayMs: 1000)),
            ]))
        let summary = try await pipeline.run()
        #expect(summary.ingested == 2_000)
        #expect(summary.destinations["rec"]?.delivered == 2_000)
        let expected = lines.map { line in String(line.split(separator: "\"timeUUID\":\"")[1].prefix(36)) }
        #expect(sink.timeUUIDs == expected)
        #expect(summary.isBalanced)
    }

    @Test("duplicates are dropped across chunk boundaries and batch lines, and counted")
    func dedupeAcrossChunks() async throws {
        var lines = (0..<300).map { S.eventLine($0) }
        // Repeat every tenth event much later (different chunks with chunkSize 16), and some inside a log_event-style data batch.
        lines += stride(from: 0, to: 300, by: 10).map { S.eventLine($0) }
        lines.append("{\"data\":[\(S.eventLine(5)),\(S.eventLine(400))]}")
        let sink = RecordingDestination()
        let pipeline = try Pipeline(
            configuration: S.configuration(chunkSize: 16),
            options: PipelineOptions(input: .bytes(S.bytes(lines)), customDestinations: [
                CustomDestinationRegistration(name: "rec", destination: sink),
            ]))
        let summary = try await pipeline.run()
        #expect(summary.ingested == 300 + 30 + 2)
        #expect(summary.duplicates == 31)
        #expect(summary.destinations["rec"]?.delivered == 301)
        #expect(Set(sink.timeUUIDs).count == 301)
        #expect(summary.isBalanced)
    }

    @Test("a full dedupe table evicts its oldest keys, counts the evictions, and then misses those duplicates")
    func dedupeEviction() async throws {
        let lines = (0..<50).map { S.eventLine($0) } + [S.eventLine(0), S.eventLine(49)]
        let pipeline = try Pipeline(
            configuration: S.configuration(dedupe: DedupeConfiguration(capacity: 10, windowSeconds: 3600)),
            options: PipelineOptions(input: .bytes(S.bytes(lines)), customDestinations: [
                CustomDestinationRegistration(name: "rec", destination: RecordingDestination()),
            ]))
        let summary = try await pipeline.run()
        // Event 0 was evicted long before its repeat (missed); event 49 was still remembered (caught).
        #expect(summary.duplicates == 1)
        #expect(summary.capacityEvictions == 41)
        #expect(summary.destinations["rec"]?.delivered == 51)
    }

    @Test("internal events are filtered by default; include/exclude patterns filter by name with reasons")
    func globalFilter() async throws {
        let lines = [S.eventLine(1, name: "statsig::diagnostics"), S.eventLine(2, name: "purchase"),
                     S.eventLine(3, name: "debug_ping"), S.eventLine(4, name: "statsig::gate_exposure")]
        let pipeline = try Pipeline(
            configuration: S.configuration(filter: EventSelection(exclude: ["debug_*"])),
            options: PipelineOptions(input: .bytes(S.bytes(lines)), customDestinations: [
                CustomDestinationRegistration(name: "rec", destination: RecordingDestination()),
            ]))
        let summary = try await pipeline.run()
        #expect(summary.filtered == 2)
        #expect(summary.filteredByReason == ["category not selected": 1, "event name excluded": 1])
        #expect(summary.destinations["rec"]?.delivered == 2)
    }

    @Test("the books balance for every destination under random input with duplicates, invalid lines and batches")
    func accountingInvariantUnderRandomInput() async throws {
        var rng = SplitMix64(seed: 7)
        for round in 0..<5 {
            var lines: [String] = []
            var next = 0
            for _ in 0..<(200 + rng.nextInt(800)) {
                switch rng.nextInt(10) {
                case 0: lines.append(S.eventLine(rng.nextInt(max(1, next))))                 // duplicate (maybe)
                case 1: lines.append("{\"eventName\": broken \(next)")                        // invalid JSON
                case 2: lines.append(S.eventLine(next, name: "statsig::diagnostics")); next += 1
                case 3:
                    lines.append("{\"events\":[\(S.eventLine(next)),{\"eventName\":\"\"},\(S.eventLine(next + 1))]}")
                    next += 2
                case 4: lines.append(S.eventLine(next, name: "statsig::gate_exposure")); next += 1
                default: lines.append(S.eventLine(next)); next += 1
                }
            }
            let sink = RecordingDestination()
            let gatesOnly = RecordingDestination()
            let outPath = S.temporaryPath("out-\(round).ndjson")
            let pipeline = try Pipeline(
                configuration: S.configuration(chunkSize: 1 + rng.nextInt(64), queueCapacity: 1 + rng.nextInt(4),
                                               destinations: [DestinationConfiguration(name: "file", kind: .file(path: outPath))]),
                options: PipelineOptions(input: .bytes(S.bytes(lines)), customDestinations: [
                    CustomDestinationRegistration(name: "all", destination: sink,
                                                  batch: BatchConfiguration(maxEvents: 1 + rng.nextInt(100), maxBytes: 1 << 20, maxDelayMs: 50)),
                    CustomDestinationRegistration(name: "gates", destination: gatesOnly,
                                                  events: EventSelection(categories: [.gateExposure])),
                    CustomDestinationRegistration(name: "broken", destination: FailingDestination(retryable: false)),
                ]))
            let summary = try await pipeline.run()
            #expect(summary.isBalanced, "round \(round): \(String(decoding: summary.jsonBytes(), as: UTF8.self))")
            let expected = summary.ingested - summary.duplicates - summary.filtered
            #expect(summary.destinations["all"]?.delivered == expected)
            #expect(sink.events.count == expected)
            #expect(summary.destinations["broken"]?.deadLettered == expected)
            #expect(summary.destinations["gates"].map { $0.delivered + $0.filtered } == expected)
            #expect(gatesOnly.events.allSatisfy { $0.category == .gateExposure })
            let written = try String(contentsOfFile: outPath, encoding: .utf8).split(separator: "\n").count
            #expect(written == expected)
            #expect(summary.invalid > 0)
        }
    }

    @Test("a slow destination suspends the producer: ingested events stay bounded until it is released")
    func backpressure() async throws {
        let lines = (0..<20_000).map { S.eventLine($0) }
        let sink = RecordingDestination(blocking: true)
        let chunkSize = 16, capacity = 2
        let pipeline = try Pipeline(
            configuration: S.configuration(chunkSize: chunkSize, queueCapacity: capacity),
            options: PipelineOptions(input: .bytes(S.bytes(lines)), customDestinations: [
                CustomDestinationRegistration(name: "slow", destination: sink,
                                              batch: BatchConfiguration(maxEvents: chunkSize, maxBytes: 1 << 20, maxDelayMs: 10)),
            ]))
        let run = Task { try await pipeline.run() }
        // Wait until the pipeline has filled up and stopped taking input: the count stays put for 300 ms.
        var first = -1
        var stableSince = ContinuousClock.now
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let current = pipeline.summary().ingested
            if current != first { first = current; stableSince = .now }
            else if current > 0 && ContinuousClock.now - stableSince >= .milliseconds(300) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Queues: ingest, dedupe->filter, branch, batcher (capacity chunks each), batch queue (2 batches),
        // the one batch in flight, plus at most one chunk held by each of the five stages and the ingestor's
        // current block (a 1 MiB block holds ~4k of these events).
        let bound = (4 * capacity + 2 + 1 + 5) * chunkSize + 4_500
        #expect(first > 0)
        #expect(first < bound, "ingested \(first) events while blocked; bound \(bound)")
        #expect(first < lines.count)
        sink.release()
        let summary = try await run.value
        #expect(summary.destinations["slow"]?.delivered == 20_000)
        #expect(summary.isBalanced)
    }

    @Test("cancelling the task running the pipeline drains it: everything ingested is delivered and accounted")
    func cancellationDrains() async throws {
        let sink = RecordingDestination(blocking: true)
        let pipeline = try Pipeline(
            configuration: S.configuration(chunkSize: 8),
            options: PipelineOptions(input: .none, customDestinations: [
                CustomDestinationRegistration(name: "rec", destination: sink),
            ]))
        let run = Task { try await pipeline.run() }
        for i in 0..<5 {
            let result = await pipeline.ingest(S.bytes((i * 20..<(i + 1) * 20).map { S.eventLine($0) }))
            #expect(result.accepted == 20)
        }
        run.cancel()
        // Ingest after cancellation is refused (nothing half-accepted).
        #expect(await S.eventually { pipeline.summary().ingested == 100 })
        let late = await pipeline.ingest(S.eventLine(999))
        #expect(late.refused)
        sink.release()
        let summary = try await run.value
        #expect(summary.ingested == 100)
        #expect(summary.destinations["rec"]?.delivered == 100)
        #expect(sink.events.count == 100)
        #expect(summary.isBalanced)
    }

    @Test("a destination that never recovers is dead-lettered after the drain deadline, never lost")
    func drainDeadlineDeadLetters() async throws {
        let deadLetterPath = S.temporaryPath("dead.ndjson")
        var configuration = S.configuration()
        configuration.drainTimeoutSeconds = 0.3
        let pipeline = try Pipeline(
            configuration: configuration,
            options: PipelineOptions(input: .none, deadLetterPath: deadLetterPath, customDestinations: [
                CustomDestinationRegistration(name: "down", destination: FailingDestination(retryable: true),
                                              retry: RetryConfiguration(maxAttempts: 1000, initialBackoffMs: 50, maxBackoffMs: 100)),
            ]))
        let run = Task { try await pipeline.run() }
        _ = await pipeline.ingest(S.bytes((0..<10).map { S.eventLine($0) }))
        pipeline.shutdown(gracePeriod: .milliseconds(300))
        let summary = try await run.value
        #expect(summary.destinations["down"]?.deadLettered == 10)
        #expect(summary.exitStatus == 1)
        let records = try String(contentsOfFile: deadLetterPath, encoding: .utf8).split(separator: "\n")
        #expect(records.count == 10)
        #expect(records.allSatisfy { $0.contains("\"destination\":\"down\"") && $0.contains("\"kind\":\"undeliverable\"") })
    }

    @Test("overflow drop_newest and drop_oldest discard for the slow destination only, and count it")
    func overflowPolicies() async throws {
        for policy in [OverflowPolicy.dropNewest, .dropOldest] {
            let slow = RecordingDestination(blocking: true)
            let fast = RecordingDestination()
            let pipeline = try Pipeline(
                configuration: S.configuration(chunkSize: 10, queueCapacity: 1),
                options: PipelineOptions(input: .none, customDestinations: [
                    // Batches of 10: the first one blocks in send at once. With the default 500 events per batch,
                    // a run that ingests all 500 within maxDelayMs fills exactly one batch and nothing overflows.
                    CustomDestinationRegistration(name: "slow", destination: slow,
                                                  batch: BatchConfiguration(maxEvents: 10, maxBytes: 1_000_000, maxDelayMs: 200),
                                                  overflow: policy),
                    CustomDestinationRegistration(name: "fast", destination: fast),
                ]))
            let run = Task { try await pipeline.run() }
            for i in 0..<50 {
                _ = await pipeline.ingest(S.bytes((i * 10..<(i + 1) * 10).map { S.eventLine($0) }))
            }
            #expect(await S.eventually { pipeline.summary().destinations["fast"]?.delivered == 500 })
            slow.release()
            pipeline.finish()
            let summary = try await run.value
            let dropped = summary.destinations["slow"]?.dropped ?? 0
            #expect(dropped > 0, "\(policy)")
            #expect(summary.destinations["slow"]?.delivered == 500 - dropped)
            #expect(summary.destinations["fast"]?.dropped == 0)
            #expect(summary.isBalanced)
            #expect(summary.exitStatus == 1)
        }
    }

    @Test("a partial batch is flushed after maxDelayMs while input stays open")
    func maxDelayFlush() async throws {
        let sink = RecordingDestination()
        let pipeline = try Pipeline(
            configuration: S.configuration(),
            options: PipelineOptions(input: .none, customDestinations: [
                CustomDestinationRegistration(name: "rec", destination: sink,
                                              batch: BatchConfiguration(maxEvents: 1000, maxBytes: 1 << 20, maxDelayMs: 50)),
            ]))
        let run = Task { try await pipeline.run() }
        _ = await pipeline.ingest(S.eventLine(1))
        #expect(await S.eventually { sink.events.count == 1 })
        pipeline.finish()
        _ = try await run.value
    }

    @Test("ingest takes any input shape and reports invalid events with their line and index")
    func ingestShapes() async throws {
        let sink = RecordingDestination()
        let pipeline = try Pipeline(configuration: S.configuration(),
                                    options: PipelineOptions(customDestinations: [CustomDestinationRegistration(name: "rec", destination: sink)]))
        let run = Task { try await pipeline.run() }
        let pretty = """
        {
          "events": [
            {"eventName": "a", "user": {"userID": "u"}, "time": 1795331233000},
            {"eventName": 5}
          ]
        }
        """
        let result = await pipeline.ingest(pretty)
        #expect(result.accepted == 1)
        #expect(result.invalid.map(\.index) == [1])
        let ndjson = await pipeline.ingest(S.eventLine(1) + "\nnot json\n" + S.eventLine(2))
        #expect(ndjson.accepted == 2)
        #expect(ndjson.invalid.map(\.line) == [2])
        pipeline.finish()
        let summary = try await run.value
        #expect(summary.ingested == 3)
        #expect(summary.invalid == 2)
        #expect(sink.events.count == 3)
    }

    @Test("privateAttributes never reaches a destination")
    func privateAttributesStripped() async throws {
        let outPath = S.temporaryPath("out.ndjson")
        let line = #"{"eventName":"e","user":{"userID":"u","privateAttributes":{"ssn":"123-45-6789"}},"time":1795331233000}"#
        let pipeline = try Pipeline(
            configuration: S.configuration(destinations: [DestinationConfiguration(name: "file", kind: .file(path: outPath))]),
            options: PipelineOptions(input: .bytes(S.bytes([line]))))
        let summary = try await pipeline.run()
        #expect(summary.destinations["file"]?.delivered == 1)
        let written = try String(contentsOfFile: outPath, encoding: .utf8)
        #expect(!written.contains("privateAttributes"))
        #expect(!written.contains("123-45-6789"))
    }
}
