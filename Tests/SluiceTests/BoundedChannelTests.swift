import Synchronization
import Testing
@testable import Sluice

/// Yields until `condition` holds. The deadline only turns a hang into a failure; no assertion depends on timing.
private func waitUntil(
    _ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ condition: () -> Bool
) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while !condition() {
        if ContinuousClock.now > deadline {
            Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        await Task.yield()
    }
}

/// A flag a task can raise for another to observe.
private final class Flag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .sequentiallyConsistent) }
    var isRaised: Bool { raised.load(ordering: .sequentiallyConsistent) }
}

private func drain<E: Sendable>(_ channel: BoundedChannel<E>) async -> [E] {
    var received: [E] = []
    for await element in channel { received.append(element) }
    return received
}

/// Values of `0..<total` that are absent from `values`, and those present more than once (short lists, so a
/// failure prints what went wrong instead of two 20,000-element arrays).
private func accounting(of values: [Int], total: Int) -> (missing: [Int], duplicated: [Int], foreign: [Int]) {
    var seen = [Int](repeating: 0, count: total)
    var foreign: [Int] = []
    for value in values {
        if value >= 0, value < total { seen[value] += 1 } else { foreign.append(value) }
    }
    let missing = seen.indices.filter { seen[$0] == 0 }
    let duplicated = seen.indices.filter { seen[$0] > 1 }
    return (missing, duplicated, foreign)
}

@Suite("BoundedChannel")
struct BoundedChannelTests {
    @Test("delivers elements in the order they were sent")
    func fifoOrder() async {
        let channel = BoundedChannel<Int>(capacity: 4)
        let producer = Task {
            for value in 0..<1_000 { #expect(await channel.send(value)) }
            channel.finish()
        }
        let received = await drain(channel)
        await producer.value
        #expect(received == Array(0..<1_000))
    }

    @Test("reports its capacity and the number of buffered elements")
    func capacityAndCount() {
        let channel = BoundedChannel<Int>(capacity: 3)
        #expect(channel.capacity == 3)
        #expect(channel.count == 0)
        #expect(channel.trySend(1) == .enqueued)
        #expect(channel.trySend(2) == .enqueued)
        #expect(channel.count == 2)
    }

    @Test("a producer sending capacity + 1 elements waits until a consumer takes one")
    func producerSuspendsWhenFull() async throws {
        let channel = BoundedChannel<Int>(capacity: 2)
        let completed = Flag()
        let producer = Task {
            for value in 0..<3 { #expect(await channel.send(value)) }
            completed.raise()
        }
        try await waitUntil("the third send suspends") { channel.suspendedProducerCount == 1 }
        #expect(channel.count == 2)
        #expect(!completed.isRaised)

        var iterator = channel.makeAsyncIterator()
        #expect(await iterator.next() == 0)
        await producer.value
        #expect(completed.isRaised)
        #expect(channel.count == 2)
        #expect(await iterator.next() == 1)
        #expect(await iterator.next() == 2)
    }

    @Test("waiting producers are admitted in the order they started waiting")
    func waitingProducersAreFifo() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        #expect(channel.trySend(0) == .enqueued)
        let a = Task { await channel.send(1) }
        try await waitUntil("producer 1 waits") { channel.suspendedProducerCount == 1 }
        let b = Task { await channel.send(2) }
        try await waitUntil("producer 2 waits") { channel.suspendedProducerCount == 2 }
        var iterator = channel.makeAsyncIterator()
        #expect(await iterator.next() == 0)
        #expect(await iterator.next() == 1)
        #expect(await iterator.next() == 2)
        #expect(await a.value)
        #expect(await b.value)
    }

    @Test("finish still delivers every buffered element, then nil, and the iterator stays finished")
    func finishDrainsThenNil() async {
        let channel = BoundedChannel<Int>(capacity: 3)
        for value in 1...3 { #expect(channel.trySend(value) == .enqueued) }
        channel.finish()
        channel.finish()  // idempotent
        var iterator = channel.makeAsyncIterator()
        #expect(await iterator.next() == 1)
        #expect(await iterator.next() == 2)
        #expect(await iterator.next() == 3)
        #expect(await iterator.next() == nil)
        #expect(await iterator.next() == nil)
    }

    @Test("producers waiting when the channel finishes get false and later sends are refused")
    func finishRejectsWaitingProducers() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        #expect(await channel.send(1))
        let blocked = (2...3).map { value in Task { await channel.send(value) } }
        try await waitUntil("both producers wait") { channel.suspendedProducerCount == 2 }
        channel.finish()
        for task in blocked { #expect(await task.value == false) }
        #expect(await channel.send(4) == false)
        #expect(channel.trySend(5) == .finished)
        #expect(await drain(channel) == [1])
    }

    @Test("consumers waiting when the channel finishes get nil")
    func finishWakesWaitingConsumers() async throws {
        let channel = BoundedChannel<Int>(capacity: 2)
        let consumers = (0..<3).map { _ in Task { await drain(channel) } }
        try await waitUntil("all consumers wait") { channel.suspendedConsumerCount == 3 }
        channel.finish()
        for consumer in consumers { #expect(await consumer.value == []) }
    }

    @Test("trySend enqueues while there is room, then reports full, then finished")
    func trySendSemantics() async {
        let channel = BoundedChannel<Int>(capacity: 2)
        #expect(channel.trySend(1) == .enqueued)
        #expect(channel.trySend(2) == .enqueued)
        #expect(channel.trySend(3) == .full)
        #expect(channel.count == 2)
        var iterator = channel.makeAsyncIterator()
        #expect(await iterator.next() == 1)
        #expect(channel.trySend(4) == .enqueued)
        channel.finish()
        #expect(channel.trySend(5) == .finished)
        #expect(await iterator.next() == 2)
        #expect(await iterator.next() == 4)
        #expect(await iterator.next() == nil)
    }

    @Test("an element sent while a consumer waits goes straight to that consumer")
    func handOffToWaitingConsumer() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        let consumer = Task {
            var iterator = channel.makeAsyncIterator()
            return await iterator.next()
        }
        try await waitUntil("the consumer waits") { channel.suspendedConsumerCount == 1 }
        #expect(channel.trySend(42) == .enqueued)
        #expect(channel.count == 0)
        #expect(await consumer.value == 42)
    }

    @Test("sendEvictingOldest evicts and returns the oldest element only when full")
    func sendEvictingOldestSemantics() async throws {
        let channel = BoundedChannel<Int>(capacity: 2)
        #expect(channel.sendEvictingOldest(1) == .enqueued(evicted: nil))
        #expect(channel.sendEvictingOldest(2) == .enqueued(evicted: nil))
        #expect(channel.sendEvictingOldest(3) == .enqueued(evicted: 1))
        #expect(channel.count == 2)
        channel.finish()
        #expect(channel.sendEvictingOldest(4) == .finished)
        #expect(await drain(channel) == [2, 3])
    }

    @Test("sendEvictingOldest hands the element to a waiting consumer without evicting")
    func sendEvictingOldestHandsOff() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        let consumer = Task {
            var iterator = channel.makeAsyncIterator()
            return await iterator.next()
        }
        try await waitUntil("the consumer waits") { channel.suspendedConsumerCount == 1 }
        #expect(channel.sendEvictingOldest(7) == .enqueued(evicted: nil))
        #expect(await consumer.value == 7)
    }

    @Test("a consumer cancelled while waiting gets nil and does not swallow a later element")
    func cancelWaitingConsumer() async throws {
        let channel = BoundedChannel<Int>(capacity: 2)
        let consumer = Task { () -> [Int?] in
            var iterator = channel.makeAsyncIterator()
            let first = await iterator.next()
            let second = await iterator.next()  // stays nil after cancellation
            return [first, second]
        }
        try await waitUntil("the consumer waits") { channel.suspendedConsumerCount == 1 }
        consumer.cancel()
        #expect(await consumer.value == [nil, nil])
        #expect(channel.suspendedConsumerCount == 0)
        #expect(channel.trySend(9) == .enqueued)
        #expect(channel.count == 1)
        channel.finish()
        #expect(await drain(channel) == [9])
    }

    @Test("a producer cancelled while waiting gets false and its element is never delivered")
    func cancelWaitingProducer() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        #expect(channel.trySend(1) == .enqueued)
        let producer = Task { await channel.send(2) }
        try await waitUntil("the producer waits") { channel.suspendedProducerCount == 1 }
        producer.cancel()
        #expect(await producer.value == false)
        #expect(channel.suspendedProducerCount == 0)
        #expect(channel.count == 1)
        channel.finish()
        #expect(await drain(channel) == [1])
    }

    @Test("an already-cancelled task is served when it need not wait and refused when it would")
    func alreadyCancelledTasks() async {
        let channel = BoundedChannel<Int>(capacity: 1)
        let results = await Task { () -> (Bool, Bool, Int?, Int?) in
            withUnsafeCurrentTask { $0?.cancel() }
            let roomy = await channel.send(1)  // room: enqueued despite cancellation
            let full = await channel.send(2)  // would wait: refused
            var iterator = channel.makeAsyncIterator()
            let buffered = await iterator.next()  // element available: delivered
            let empty = await iterator.next()  // would wait: nil
            return (roomy, full, buffered, empty)
        }.value
        #expect(results.0 == true)
        #expect(results.1 == false)
        #expect(results.2 == 1)
        #expect(results.3 == nil)
        #expect(channel.suspendedProducerCount == 0)
        #expect(channel.suspendedConsumerCount == 0)
    }

    @Test("many producers and consumers: every element is received exactly once, in per-producer order")
    func multiProducerMultiConsumerStress() async {
        let producers = 4
        let perProducer = 5_000
        let channel = BoundedChannel<Int>(capacity: 8)
        let received = await withTaskGroup(of: [Int].self) { group in
            for consumerIndex in 0..<3 {
                group.addTask {
                    var mine: [Int] = []
                    var iterator = channel.makeAsyncIterator()
                    while let value = await iterator.next() {
                        mine.append(value)
                        if consumerIndex == 0, value % 97 == 0 { await Task.yield() }
                    }
                    return mine
                }
            }
            await withTaskGroup(of: Void.self) { producerGroup in
                for producer in 0..<producers {
                    producerGroup.addTask {
                        var refused = 0
                        for sequence in 0..<perProducer where !(await channel.send(producer * perProducer + sequence)) {
                            refused += 1
                        }
                        #expect(refused == 0)
                    }
                }
            }
            channel.finish()
            var all: [[Int]] = []
            for await part in group { all.append(part) }
            return all
        }
        // FIFO per channel means each consumer sees any one producer's elements in increasing order.
        for part in received {
            var last = [Int](repeating: -1, count: producers)
            for value in part {
                let producer = value / perProducer
                #expect(value > last[producer])
                last[producer] = value
            }
        }
        let all = received.flatMap { $0 }
        let total = producers * perProducer
        #expect(all.count == total)
        #expect(all.reduce(0, +) == total * (total - 1) / 2)
        let check = accounting(of: all, total: total)
        #expect(check.missing.isEmpty)
        #expect(check.duplicated.isEmpty)
        #expect(check.foreign.isEmpty)
    }

    @Test("random cancellation of producers and consumers loses and duplicates nothing")
    func cancellationStress() async {
        let channel = BoundedChannel<Int>(capacity: 2)
        let total = 4_000
        // Producers return the values that were refused; consumers return the values they received.
        let producers = (0..<8).map { producer in
            Task {
                var refused: [Int] = []
                for value in stride(from: producer, to: total, by: 8) where !(await channel.send(value)) {
                    refused.append(value)
                }
                return refused
            }
        }
        let consumers = (0..<4).map { _ in
            Task {
                var mine: [Int] = []
                var iterator = channel.makeAsyncIterator()
                while let value = await iterator.next() { mine.append(value) }
                return mine
            }
        }
        // Cancel some producers and one consumer part-way through.
        for task in [producers[1], producers[5], consumers[2], producers[6]] {
            await Task.yield()
            task.cancel()
        }
        var refused: [Int] = []
        for producer in producers { refused += await producer.value }
        channel.finish()
        var received: [Int] = []
        for consumer in consumers { received += await consumer.value }
        // Whatever stayed buffered after every consumer stopped is still in the channel.
        let leftover = await drain(channel)
        let all = refused + received + leftover
        #expect(all.count == total)
        let check = accounting(of: all, total: total)
        #expect(check.missing.isEmpty)
        #expect(check.duplicated.isEmpty)
        #expect(check.foreign.isEmpty)
    }
}
