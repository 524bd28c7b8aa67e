import Testing
@testable import Sluice

@Suite("EventChunk: removing events")
struct EventChunkRemovalTests {
    private func chunk(_ count: Int) -> EventChunk {
        var chunk = EventChunk()
        for line in 1...count {
            chunk.events.append(Event(eventName: .absent, timeUUID: TimeUUID(high: UInt64(line), low: 0),
                                      timestamp: Int64(line), line: line, category: .custom))
        }
        return chunk
    }

    @Test("removing positions keeps every other event in order, whichever positions are removed",
          arguments: [[], [0], [9], [0, 1, 2], [3, 4], [0, 5, 9], Array(0..<10)] as [[Int]])
    func removesExactlyThePositions(_ positions: [Int]) {
        var removed = chunk(10)
        let shared = removed  // another holder of the same events, as the previous stage may be
        removed.removeEvents(at: positions)
        let expected = (0..<10).filter { !positions.contains($0) }.map { UInt32($0 + 1) }
        #expect(removed.events.map(\.line) == expected)
        #expect(shared.events.count == 10)
    }
}
