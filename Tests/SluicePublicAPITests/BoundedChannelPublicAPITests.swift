import Testing
import Sluice

/// A consuming stage, as an embedding service would write one: an actor iterating a channel.
private actor Summer {
    private(set) var total = 0
    func consume(_ channel: BoundedChannel<[Int]>) async {
        for await chunk in channel { total += chunk.reduce(0, +) }
    }
}

@Suite("BoundedChannel public API")
struct BoundedChannelPublicAPITests {
    @Test("an actor consumes chunks sent through the public API until the channel finishes")
    func actorConsumesChunks() async {
        let channel = BoundedChannel<[Int]>(capacity: 2)
        #expect(channel.capacity == 2)
        let summer = Summer()
        let consumer = Task { await summer.consume(channel) }
        for start in stride(from: 0, to: 1_000, by: 100) {
            #expect(await channel.send(Array(start..<start + 100)))
        }
        channel.finish()
        await consumer.value
        #expect(await summer.total == 499_500)
        #expect(channel.count == 0)
    }

    @Test("the non-suspending overflow policies report what happened to the element")
    func overflowPolicies() {
        let channel = BoundedChannel<Int>(capacity: 1)
        #expect(channel.trySend(1) == .enqueued)
        #expect(channel.trySend(2) == .full)
        #expect(channel.sendEvictingOldest(3) == .enqueued(evicted: 1))
        channel.finish()
        #expect(channel.trySend(4) == .finished)
        #expect(channel.sendEvictingOldest(5) == .finished)
    }

    @Test("dedupe keys compare by both halves")
    func dedupeKeyEquality() {
        let key = DedupeKey(high: 1, low: 2)
        #expect(key == DedupeKey(high: 1, low: 2))
        #expect(key != DedupeKey(high: 2, low: 1))
        #expect(Set([key, DedupeKey(high: 1, low: 2), DedupeKey(high: 1, low: 3)]).count == 2)
    }
}
