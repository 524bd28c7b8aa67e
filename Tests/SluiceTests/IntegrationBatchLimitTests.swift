import Foundation
import Testing
@testable import Sluice

@Suite("Destination batch limits through the Batcher")
struct IntegrationBatchLimitTests {
    func batches(_ lines: [String], rule: IdentityRule, encoder: any EventEncoder,
                 limits: BatchConfiguration) async -> (batches: [Batch], deadLettered: Int) {
        let (chunk, _) = IntegrationFixtures.decode(lines)
        let accounting = Accounting(destinations: ["d"])
        let mapper = IdentifierMapper(destination: "d", selection: EventSelection(), rule: rule, accounting: accounting)
        let mapped = await mapper.map(chunk)
        let recorder = DeliveryRecorder(destination: "d", accounting: accounting, deadLetters: nil, latency: LatencyHistogram())
        let batcher = Batcher(encoder: encoder, limits: limits, recorder: recorder)
        let input = BoundedChannel<BatcherInput>(capacity: 2)
        let output = BoundedChannel<Batch>(capacity: 10_000)
        async let running: Void = batcher.run(input: input, output: output)
        _ = await input.send(.mapped(mapped))
        input.finish()
        await running
        var result: [Batch] = []
        for await batch in output { result.append(batch) }
        return (result, accounting.snapshot.destinations["d"]!.deadLettered)
    }

    func events(_ n: Int, metadataBytes: Int = 0) -> [String] {
        let pad = String(repeating: "p", count: metadataBytes)
        return (0..<n).map { #"{"eventName":"e\#($0)","user":{"userID":"u\#($0)"},"metadata":{"pad":"\#(pad)"},"time":\#(1_714_564_800_000 + $0)}"# }
    }

    @Test("Heap bulk bodies hold at most 1000 events and each parses with its app_id")
    func heapThousand() async throws {
        let (batches, dead) = await batches(events(2500), rule: IntegrationFixtures.heapRule, encoder: HeapFormat(appID: "app"),
                                            limits: .defaults(for: .heap(appID: "app")))
        #expect(dead == 0)
        #expect(batches.map(\.eventCount) == [1000, 1000, 500])
        for batch in batches {
            let body = try #require(IntegrationFixtures.object(String(decoding: batch.body, as: UTF8.self)))
            #expect((body["events"] as? [Any])?.count == batch.eventCount)
            #expect(body["app_id"] as? String == "app")
        }
    }

    @Test("Heap initialize records count as two events each, so no body exceeds 1000 Heap events")
    func heapInitializeRecordsCountTwice() async throws {
        let records = (0..<700).map {
            #"{"eventName":"statsig::initialize","user":{"userID":"u\#($0)"},"time":\#(1_714_564_800_000 + $0),"metadata":{"gates":{"g":true},"experiments":{"x":"Control"}}}"#
        }
        let (batches, dead) = await batches(records + events(300), rule: IntegrationFixtures.heapRule,
                                            encoder: HeapFormat(appID: "app"), limits: .defaults(for: .heap(appID: "app")))
        #expect(dead == 0)
        var heapEvents = 0
        for batch in batches {
            let body = try #require(IntegrationFixtures.object(String(decoding: batch.body, as: UTF8.self)))
            let count = try #require((body["events"] as? [Any])?.count)
            #expect(count <= 1000)
            heapEvents += count
        }
        #expect(heapEvents == 700 * 2 + 300)
        #expect(batches.reduce(0) { $0 + $1.eventCount } == 1000)
    }

    @Test("Segment batches hold at most 2500 messages and 500 KB, and each parses")
    func segmentLimits() async throws {
        let limits = BatchConfiguration.defaults(for: .segment(writeKey: "k"))
        // Even minimal messages are ~250 bytes, so 500 KB binds before 2500 messages at the defaults; the count
        // limit shows with a larger byte budget.
        let countOnly = BatchConfiguration(maxEvents: limits.maxEvents, maxBytes: 10_000_000, maxDelayMs: 1000)
        let (small, _) = await batches(events(3000), rule: IntegrationFixtures.segmentRule, encoder: SegmentFormat(framing: .batch), limits: countOnly)
        #expect(small.map(\.eventCount) == [2500, 500])
        let (minimal, _) = await batches(events(3000), rule: IntegrationFixtures.segmentRule, encoder: SegmentFormat(framing: .batch), limits: limits)
        #expect(minimal.allSatisfy { $0.eventCount <= 2500 && $0.body.count <= 500_000 })
        #expect(minimal.reduce(0) { $0 + $1.eventCount } == 3000)
        let (large, dead) = await batches(events(1200, metadataBytes: 1000), rule: IntegrationFixtures.segmentRule,
                                          encoder: SegmentFormat(framing: .batch), limits: limits)
        #expect(dead == 0)
        #expect(large.count >= 3)
        #expect(large.reduce(0) { $0 + $1.eventCount } == 1200)
        for batch in large {
            #expect(batch.body.count <= BatchConfiguration.segmentMaxBytes)
            let body = try #require(IntegrationFixtures.object(String(decoding: batch.body, as: UTF8.self)))
            #expect((body["batch"] as? [Any])?.count == batch.eventCount)
        }
    }

    @Test("an oversize Segment message is dead-lettered alone; the batch around it stays valid")
    func segmentRefusalInBatch() async throws {
        var lines = events(3)
        lines.insert(#"{"eventName":"big","user":{"userID":"u"},"metadata":{"blob":"\#(String(repeating: "x", count: 40_000))"},"time":1}"#, at: 1)
        let (batches, dead) = await batches(lines, rule: IntegrationFixtures.segmentRule, encoder: SegmentFormat(framing: .batch),
                                            limits: .defaults(for: .segment(writeKey: "k")))
        #expect(dead == 1)
        #expect(batches.map(\.eventCount) == [3])
        #expect(IntegrationFixtures.object(String(decoding: batches[0].body, as: UTF8.self)) != nil)
    }

    @Test("ID-list batches hold one list and one operation each, in input order")
    func idListKeys() async {
        func identify(_ key: String, _ member: Bool, _ user: String) -> String {
            #"{"type":"identify","userId":"\#(user)","messageId":"\#(key)\#(member)\#(user)","traits":{"\#(key)":\#(member)},"context":{"personas":{"computation_class":"audience","computation_key":"\#(key)"}}}"#
        }
        let lines = [identify("a", true, "1"), identify("a", true, "2"), identify("a", false, "3"), identify("b", true, "4")]
        let (batches, _) = await batches(lines, rule: .audience, encoder: StatsigIDListFormat(),
                                         limits: .defaults(for: .statsigIDLists(apiKey: "k")))
        #expect(batches.map { String(decoding: $0.body, as: UTF8.self) } == [#"{"ids":["1","2"]}"#, #"{"ids":["3"]}"#, #"{"ids":["4"]}"#])
        #expect(batches.map { StatsigIDListFormat.request(for: $0.key!).method } == ["PATCH", "DELETE", "PATCH"])
    }
}
