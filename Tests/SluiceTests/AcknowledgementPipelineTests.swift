import Foundation
import Testing
@testable import Sluice

@Suite("Acknowledgements: units of input settle through the whole pipeline")
struct AcknowledgementPipelineTests {
    typealias S = PipelineTestSupport

    static func registration(_ name: String, _ destination: any Destination, maxEvents: Int = 50,
                             maxDelayMs: Int = 20, events: EventSelection = EventSelection(),
                             overflow: OverflowPolicy = .block) -> CustomDestinationRegistration {
        CustomDestinationRegistration(name: name, destination: destination, events: events,
                                      batch: BatchConfiguration(maxEvents: maxEvents, maxBytes: 1 << 20, maxDelayMs: maxDelayMs),
                                      retry: RetryConfiguration(maxAttempts: 1), overflow: overflow)
    }

    /// NDJSON bodies of `perBody` distinct events each.
    static func bodies(_ count: Int, perBody: Int, offset: Int = 0) -> [[UInt8]] {
        (0..<count).map { b in S.bytes((0..<perBody).map { S.eventLine(offset + b * perBody + $0) }) }
    }

    /// Feeds `bodies` as units of `tracker` (the way a spool or Redis source does), then finishes the input.
    static func feed(_ pipeline: Pipeline, _ tracker: SettlementTracker, _ bodies: [[UInt8]],
                     alreadySettled: DestinationSet = DestinationSet()) async {
        for body in bodies {
            _ = await pipeline.ingest(body) { tracker.begin(events: $0, alreadySettled: alreadySettled) }
        }
    }

    @Test("with a slow destination, units settle for the fast one but not overall until the slow one delivers")
    func slowDestinationHoldsSettlement() async throws {
        let fast = RecordingDestination(), slow = RecordingDestination(blocking: true)
        let pipeline = try Pipeline(configuration: S.configuration(chunkSize: 10, queueCapacity: 32),
                                    options: PipelineOptions(customDestinations: [
                                        Self.registration("fast", fast), Self.registration("slow", slow)]))
        let receiver = RecordingReceiver()
        let tracker = pipeline.makeSettlementTracker(receiver: receiver)
        let run = Task { try await pipeline.run() }
        await Self.feed(pipeline, tracker, Self.bodies(10, perBody: 10))

        #expect(await S.eventually { receiver.reports(for: 0).count == 10 })
        #expect(fast.events.count == 100)
        #expect(receiver.reports(for: 1).isEmpty)
        #expect(receiver.unitReports.isEmpty)
        #expect(tracker.frontiers == [10, 0])

        slow.release()
        pipeline.finish()
        let summary = try await run.value
        #expect(summary.destinations["slow"]?.delivered == 100)
        #expect(receiver.unitReports.count == 10)
        #expect(Set(receiver.unitReports.map(\.unit)) == Set(0..<10))
        #expect(receiver.unitReports.allSatisfy { $0.isSettled && $0.counts.allSatisfy { $0.delivered == 10 } })
        #expect(tracker.frontiers == [10, 10])
        #expect(summary.isBalanced)
    }

    @Test("duplicates, global and destination filters, dead letters and overflow drops all settle, and the per-unit counts add up to the summary",
          arguments: [OverflowPolicy.dropNewest, .dropOldest])
    func everyOutcomeSettles(overflow: OverflowPolicy) async throws {
        // 40 bodies of 10 lines; lines 0, 4 and 8 repeat line 1 of the previous body (duplicates), line 3 is an
        // internal statsig:: event (globally filtered), names alternate so "picky" filters about half.
        var bodies: [[UInt8]] = []
        var index = 0
        for b in 0..<40 {
            var lines: [String] = []
            for i in 0..<10 {
                if b > 0 && i % 4 == 0 {
                    lines.append(S.eventLine((b - 1) * 10 + 1, name: "view"))
                } else if i % 7 == 3 {
                    lines.append(S.eventLine(100_000 + index, name: "statsig::diagnostics"))
                } else {
                    lines.append(S.eventLine(b * 10 + i, name: i % 2 == 0 ? "purchase" : "view"))
                }
                index += 1
            }
            bodies.append(S.bytes(lines))
        }
        let ok = RecordingDestination(), slow = RecordingDestination(blocking: true)
        let pipeline = try Pipeline(
            configuration: S.configuration(chunkSize: 5, queueCapacity: 1),
            options: PipelineOptions(customDestinations: [
                Self.registration("ok", ok),
                Self.registration("picky", RecordingDestination(), events: EventSelection(include: ["purchase"])),
                Self.registration("refuses", FailingDestination(retryable: false)),
                Self.registration("slow", slow, maxEvents: 5, overflow: overflow),
            ]))
        let receiver = RecordingReceiver()
        let tracker = pipeline.makeSettlementTracker(receiver: receiver)
        let run = Task { try await pipeline.run() }
        await Self.feed(pipeline, tracker, bodies)
        slow.release()
        pipeline.finish()
        let summary = try await run.value

        #expect(summary.isBalanced)
        #expect(summary.duplicates > 0 && summary.filtered > 0)
        #expect(summary.destinations["picky"]!.filtered > 0)
        #expect(summary.destinations["refuses"]!.deadLettered > 0)
        #expect(summary.destinations["slow"]!.dropped > 0)
        #expect(receiver.unitReports.count == 40)
        #expect(Set(receiver.unitReports.map(\.unit)).count == 40)
        for d in 0..<4 { #expect(receiver.reports(for: d).count == 40) }
        #expect(receiver.unitReports.allSatisfy { unit in unit.counts.allSatisfy { $0.total == 10 } })
        for (d, name) in tracker.destinations.enumerated() {
            let total = receiver.unitReports.reduce(into: SettlementCounts()) { sum, unit in
                let c = unit.counts[d]
                sum = SettlementCounts(delivered: sum.delivered + c.delivered, filtered: sum.filtered + c.filtered,
                                       duplicates: sum.duplicates + c.duplicates, deadLettered: sum.deadLettered + c.deadLettered,
                                       dropped: sum.dropped + c.dropped)
            }
            let counts = try #require(summary.destinations[name])
            #expect(total.delivered == counts.delivered, "\(name)")
            #expect(total.filtered == counts.filtered + summary.filtered, "\(name)")
            #expect(total.duplicates == summary.duplicates, "\(name)")
            #expect(total.deadLettered == counts.deadLettered, "\(name)")
            #expect(total.dropped == counts.dropped, "\(name)")
        }
        #expect(tracker.frontiers == [40, 40, 40, 40])
        #expect(tracker.unsettledUnits == 0)
    }

    @Test("batches that mix many units settle each unit once, through the batch members")
    func batchesMixingUnits() async throws {
        let sink = RecordingDestination()
        let pipeline = try Pipeline(configuration: S.configuration(chunkSize: 512, queueCapacity: 64),
                                    options: PipelineOptions(customDestinations: [
                                        Self.registration("sink", sink, maxEvents: 50, maxDelayMs: 60_000)]))
        let receiver = RecordingReceiver()
        let tracker = pipeline.makeSettlementTracker(receiver: receiver)
        let run = Task { try await pipeline.run() }
        await Self.feed(pipeline, tracker, Self.bodies(100, perBody: 3))
        // 300 events in batches of 50: every batch holds events of 17 units, one unit straddles two batches.
        #expect(await S.eventually { receiver.unitReports.count == 100 })
        #expect(receiver.unitReports.allSatisfy { $0.counts == [SettlementCounts(delivered: 3)] })
        #expect(Set(receiver.unitReports.map(\.unit)) == Set(0..<100))
        pipeline.finish()
        _ = try await run.value
        #expect(receiver.unitReports.count == 100)
    }

    @Test("stream input: each read block is one unit and no chunk spans two blocks")
    func readBlocksAreUnits() async throws {
        // About 2.6 MiB of long lines: three 1 MiB read blocks, lines straddling the boundaries.
        let padding = String(repeating: "x", count: 2_000)
        let lines = (0..<1_200).map { "{\"pad\":\"\(padding)\"," + S.eventLine($0).dropFirst() }
        let bytes = S.bytes(lines)
        let blockSize = ByteSource.blockSize
        var expected = Array(repeating: 0, count: (bytes.count + blockSize - 1) / blockSize)
        for (offset, byte) in bytes.enumerated() where byte == 0x0A { expected[offset / blockSize] += 1 }
        #expect(expected.count >= 3)

        let receiver = RecordingReceiver()
        var options = PipelineOptions(input: .bytes(bytes), customDestinations: [
            Self.registration("sink", CountingDestination(), maxEvents: 500)])
        options.inputAcknowledgements = receiver
        // A large chunk size: without cutting at the block's end, chunks would carry lines of the next block.
        let pipeline = try Pipeline(configuration: S.configuration(chunkSize: 1_000, queueCapacity: 4), options: options)
        let summary = try await pipeline.run()
        #expect(summary.destinations["sink"]?.delivered == 1_200)
        let perUnit = receiver.unitReports.sorted { $0.unit < $1.unit }.map { $0.counts[0].delivered }
        #expect(perUnit == expected)
        #expect(receiver.unitReports.map(\.frontier).max() == UInt64(expected.count))
    }

    @Test("input without a tracker carries no unit and reports nothing")
    func untrackedInputCostsNothing() async throws {
        let receiver = RecordingReceiver()
        let pipeline = try Pipeline(configuration: S.configuration(),
                                    options: PipelineOptions(input: .bytes(S.bytes((0..<50).map { S.eventLine($0) })),
                                                             customDestinations: [Self.registration("sink", RecordingDestination())]))
        _ = pipeline.makeSettlementTracker(receiver: receiver)
        let summary = try await pipeline.run()
        #expect(summary.destinations["sink"]?.delivered == 50)
        #expect(receiver.destinationReports.isEmpty)
    }

    @Test("a replayed unit skips the destinations that already settled it, counted as alreadySettled, and the books balance")
    func replayMaskSkipsSettledDestinations() async throws {
        let done = RecordingDestination(), pending = RecordingDestination()
        let pipeline = try Pipeline(configuration: S.configuration(chunkSize: 7),
                                    options: PipelineOptions(customDestinations: [
                                        Self.registration("done", done), Self.registration("pending", pending)]))
        let receiver = RecordingReceiver()
        let tracker = pipeline.makeSettlementTracker(receiver: receiver, firstSequence: 500)
        let run = Task { try await pipeline.run() }
        await Self.feed(pipeline, tracker, Self.bodies(4, perBody: 10), alreadySettled: DestinationSet([0]))
        await Self.feed(pipeline, tracker, Self.bodies(1, perBody: 10, offset: 1_000))
        pipeline.finish()
        let summary = try await run.value

        #expect(done.events.count == 10)
        #expect(pending.events.count == 50)
        #expect(summary.destinations["done"]?.alreadySettled == 40)
        #expect(summary.destinations["done"]?.delivered == 10)
        #expect(summary.destinations["pending"]?.alreadySettled == 0)
        #expect(summary.isBalanced)
        let replayed = receiver.unitReports.filter { $0.unit < 504 }
        #expect(replayed.count == 4)
        #expect(replayed.allSatisfy { $0.counts == [SettlementCounts(alreadySettled: 10), SettlementCounts(delivered: 10)] })
        #expect(tracker.frontiers == [505, 505])
    }

    @Test("drain-deadline switch: what misses the deadline is left unsettled (not dead-lettered, not acknowledged)")
    func deadlineLeavesUnsettled() async throws {
        let deadLetterPath = S.temporaryPath("dead.ndjson")
        var options = PipelineOptions(deadLetterPath: deadLetterPath, customDestinations: [
            Self.registration("hang", HangingDestination(), maxEvents: 10)])
        options.drainDeadlinePolicy = .leaveUnsettled
        let pipeline = try Pipeline(configuration: S.configuration(chunkSize: 10), options: options)
        let receiver = RecordingReceiver()
        let tracker = pipeline.makeSettlementTracker(receiver: receiver)
        let run = Task { try await pipeline.run() }
        await Self.feed(pipeline, tracker, Self.bodies(4, perBody: 10))
        pipeline.shutdown(gracePeriod: .milliseconds(200))
        let summary = try await run.value

        let counts = try #require(summary.destinations["hang"])
        #expect(counts.leftUnsettled == 40)
        #expect(counts.deadLettered == 0)
        #expect(summary.isBalanced)
        let written = (try? String(contentsOfFile: deadLetterPath, encoding: .utf8)) ?? ""
        #expect(written.isEmpty)
        #expect(receiver.unitReports.count == 4)
        #expect(receiver.unitReports.allSatisfy { !$0.isSettled && $0.counts[0].leftUnsettled == 10 })
        #expect(tracker.frontiers == [0])
    }

    @Test("without the switch, what misses the drain deadline is dead-lettered and settled")
    func deadlineDeadLettersByDefault() async throws {
        let pipeline = try Pipeline(configuration: S.configuration(chunkSize: 10),
                                    options: PipelineOptions(customDestinations: [
                                        Self.registration("hang", HangingDestination(), maxEvents: 10)]))
        let receiver = RecordingReceiver()
        let tracker = pipeline.makeSettlementTracker(receiver: receiver)
        let run = Task { try await pipeline.run() }
        await Self.feed(pipeline, tracker, Self.bodies(4, perBody: 10))
        pipeline.shutdown(gracePeriod: .milliseconds(200))
        let summary = try await run.value
        #expect(summary.destinations["hang"]?.deadLettered == 40)
        #expect(summary.destinations["hang"]?.leftUnsettled == 0)
        #expect(receiver.unitReports.allSatisfy { $0.isSettled && $0.counts[0].deadLettered == 10 })
        #expect(tracker.frontiers == [4])
    }

    @Test("a unit offered after the pipeline stopped taking input is refused and never begun")
    func refusedUnitIsNotBegun() async throws {
        let pipeline = try Pipeline(configuration: S.configuration(),
                                    options: PipelineOptions(customDestinations: [Self.registration("sink", RecordingDestination())]))
        let tracker = pipeline.makeSettlementTracker(receiver: nil)
        let run = Task { try await pipeline.run() }
        pipeline.finish()
        _ = try await run.value
        let result = await pipeline.ingest(S.bytes([S.eventLine(1)])) { tracker.begin(events: $0) }
        #expect(result == nil)
        #expect(tracker.unsettledUnits == 0)
        #expect(tracker.begin(events: 0).sequence == 0)
    }
}

/// Takes every batch without looking at its events.
struct CountingDestination: Destination {
    func send(_ batch: EventBatch) async throws {}
}

/// Never answers until its task is cancelled (the drain deadline cancels it).
final class HangingDestination: Destination {
    func send(_ batch: EventBatch) async throws {
        try await Task.sleep(for: .seconds(3600))
    }
}
