import Synchronization
import Testing
@testable import Sluice

private typealias S = PipelineTestSupport

/// Large blocks are decoded in two halves at once (Ingestor+SplitDecode.swift); what leaves the ingest stage
/// must be exactly what one sequential decode gives.
@Suite("Ingestor: large blocks decoded in two halves")
struct SplitDecodeTests {
    @Test("events keep their input order and invalid lines keep their numbers and order across split blocks")
    func orderAndLineNumbersSurviveTheSplit() async throws {
        var lines: [String] = []
        var expectedUUIDs: [String] = []
        var expectedInvalid: [Int] = []
        for index in 0..<15_000 {
            let number = lines.count + 1
            switch index % 997 {
            case 13: lines.append("{\"eventName\": broken \(index)"); expectedInvalid.append(number)
            case 14: lines.append("{\"eventName\":\"x\",\"pad\":\"\(String(repeating: "a", count: 5_000))\"}"); expectedInvalid.append(number)
            case 15: lines.append("   ")  // blank: neither an event nor invalid
            default:
                let line = S.eventLine(index)
                lines.append(index % 101 == 0 ? line + "\r" : line)
                expectedUUIDs.append(String(line.split(separator: "\"timeUUID\":\"")[1].prefix(36)))
            }
        }
        let input = S.bytes(lines)
        #expect(input.count > 3 * Ingestor.splitDecodeBytes * 4)  // several 1 MiB blocks, each split
        let invalid = Mutex<[InvalidInput]>([])
        let sink = RecordingDestination()
        var configuration = S.configuration()
        configuration.input = InputConfiguration(maxLineBytes: 4_096, chunkSize: 512, queueCapacity: 8)
        let pipeline = try Pipeline(
            configuration: configuration,
            options: PipelineOptions(input: .bytes(input), onInvalid: { report in invalid.withLock { $0.append(report) } },
                                     customDestinations: [CustomDestinationRegistration(name: "rec", destination: sink)]))
        let summary = try await pipeline.run()
        #expect(sink.timeUUIDs == expectedUUIDs)
        let reported = invalid.withLock { $0 }
        #expect(reported.map(\.line) == expectedInvalid)
        #expect(reported.filter { $0.reason.contains("input.maxLineBytes") }.count == expectedInvalid.count / 2)
        #expect(summary.invalid == expectedInvalid.count)
        #expect(summary.destinations["rec"]?.delivered == expectedUUIDs.count)
        #expect(summary.isBalanced)
    }
}
