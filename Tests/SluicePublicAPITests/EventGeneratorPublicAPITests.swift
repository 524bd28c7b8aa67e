import Testing
import Sluice

/// The generator as `sluice generate` and the benchmark harness use it: only public API.
@Suite("EventGenerator public API")
struct EventGeneratorPublicAPITests {
    @Test("streams the requested events and reports counts planned from the options")
    func streamsWithPlannedCounts() {
        var options = EventGenerator.Options(events: 1000, duplicateRate: 0.1, invalidRate: 0.05, seed: 12)
        options.users = 50
        options.mix = EventGenerator.Mix(internal: 0)
        var received = 0
        var newlines = 0
        let counts = EventGenerator(options: options).write(blockBytes: 64 * 1024) { block in
            received += block.count
            newlines += block.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        }
        #expect(counts.events == 1000)
        #expect(counts.duplicates == options.duplicateCount)
        #expect(counts.invalid == options.invalidCount)
        #expect(counts.lines == 1000 + options.invalidCount)
        #expect(counts.internal == 0)
        #expect(counts.bytes == received)
        #expect(newlines == counts.lines)
    }

    @Test("generate() returns the same bytes as streaming")
    func generateMatchesStreaming() {
        let generator = EventGenerator(options: .init(events: 300, seed: 3))
        var streamed: [UInt8] = []
        let counts = generator.write { streamed.append(contentsOf: $0) }
        let whole = generator.generate()
        #expect(whole.bytes == streamed)
        #expect(whole.counts == counts)
    }
}
