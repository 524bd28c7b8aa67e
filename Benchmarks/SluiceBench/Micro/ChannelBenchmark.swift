import Sluice

/// Cost of one hop through the engine's `BoundedChannel` per chunk, next to `AsyncStream`'s: each stage of the
/// pipeline pays it once per chunk, which is what chunkSize amortises.
enum ChannelBenchmark {
    /// Sends `elements` chunks through `hops` channels in a row (one forwarding task per extra hop) and returns
    /// nanoseconds per element per hop (wall clock and process CPU), one pair per repetition. On a loaded
    /// machine each hand-off that wakes the other thread waits for a core, so the wall figure can be several
    /// times the CPU figure.
    static func boundedChannel(elements: Int, hops: Int, capacity: Int, repetitions: Int) async -> [(wall: Double, cpu: Double)] {
        let chunk = EventChunk(reservingEvents: 512, bytes: 256 * 1024)
        var samples: [(wall: Double, cpu: Double)] = []
        for _ in 0..<repetitions {
            let channels = (0..<hops).map { _ in BoundedChannel<EventChunk>(capacity: capacity) }
            let cpuStart = ResourceUsage.cpuSeconds()
            let start = ContinuousClock.now
            let received = await withTaskGroup(of: Int.self) { group in
                group.addTask {
                    for _ in 0..<elements { _ = await channels[0].send(chunk) }
                    channels[0].finish()
                    return 0
                }
                for hop in 1..<max(1, hops) where hops > 1 {
                    group.addTask {
                        for await element in channels[hop - 1] { _ = await channels[hop].send(element) }
                        channels[hop].finish()
                        return 0
                    }
                }
                group.addTask {
                    var count = 0
                    for await _ in channels[hops - 1] { count += 1 }
                    return count
                }
                return await group.reduce(0, +)
            }
            let wall = nanoseconds(ContinuousClock.now - start) / Double(elements * hops)
            let cpu = (ResourceUsage.cpuSeconds() - cpuStart) * 1e9 / Double(elements * hops)
            precondition(received == elements, "channel lost elements")
            samples.append((wall, cpu))
        }
        return samples
    }

    /// The same single hop through an unbounded `AsyncStream`, for scale.
    static func asyncStream(elements: Int, repetitions: Int) async -> [(wall: Double, cpu: Double)] {
        let chunk = EventChunk(reservingEvents: 512, bytes: 256 * 1024)
        var samples: [(wall: Double, cpu: Double)] = []
        for _ in 0..<repetitions {
            let (stream, continuation) = AsyncStream<EventChunk>.makeStream()
            let cpuStart = ResourceUsage.cpuSeconds()
            let start = ContinuousClock.now
            let consumer = Task {
                var count = 0
                for await _ in stream { count += 1 }
                return count
            }
            for _ in 0..<elements { continuation.yield(chunk) }
            continuation.finish()
            let received = await consumer.value
            precondition(received == elements, "stream lost elements")
            samples.append((nanoseconds(ContinuousClock.now - start) / Double(elements),
                            (ResourceUsage.cpuSeconds() - cpuStart) * 1e9 / Double(elements)))
        }
        return samples
    }
}

/// A duration in nanoseconds.
func nanoseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1e9 + Double(attoseconds) * 1e-9
}
