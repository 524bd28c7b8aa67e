import Foundation
import Sluice
import Synchronization

/// Request bodies and their expected contents, as a service's HTTP handler would receive them.
struct Workload {
    /// One NDJSON body per element.
    let bodies: [[UInt8]]
    /// The timeUUID of every event in the bodies (lowercased), in order.
    let timeUUIDs: [String]

    /// `events` distinct, non-internal Statsig export events, `perBody` lines per body.
    static func distinct(events: Int, perBody: Int, seed: UInt64 = 7) -> Workload {
        let options = EventGenerator.Options(events: events, duplicateRate: 0, seed: seed,
                                             mix: EventGenerator.Mix(internal: 0))
        let lines = EventGenerator(options: options).generate().bytes.split(separator: UInt8(ascii: "\n")).map(Array.init)
        let uuids = lines.map { line -> String in
            let object = try! JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
            return (object["timeUUID"] as! String).lowercased()
        }
        var bodies: [[UInt8]] = []
        for start in stride(from: 0, to: lines.count, by: perBody) {
            bodies.append(lines[start..<min(start + perBody, lines.count)].reduce(into: []) { $0 += $1 + [0x0A] })
        }
        return Workload(bodies: bodies, timeUUIDs: uuids)
    }
}

/// A configuration with no built-in destination, small queues and chunks so tests reach backpressure quickly.
func embeddedConfiguration(queueCapacity: Int = 2, chunkSize: Int = 64, drainTimeoutSeconds: Double = 30) -> PipelineConfiguration {
    PipelineConfiguration(input: InputConfiguration(chunkSize: chunkSize, queueCapacity: queueCapacity),
                          drainTimeoutSeconds: drainTimeoutSeconds, destinations: [])
}

/// Options registering `destination` as the pipeline's only sink.
func options(for destination: any Destination, name: String = "sink", maxEvents: Int = 100, maxDelayMs: Int = 20,
             retry: RetryConfiguration = RetryConfiguration(), concurrency: Int = 1) -> PipelineOptions {
    PipelineOptions(customDestinations: [CustomDestinationRegistration(
        name: name, destination: destination,
        batch: BatchConfiguration(maxEvents: maxEvents, maxBytes: 1_000_000, maxDelayMs: maxDelayMs),
        retry: retry, concurrency: concurrency)])
}

/// Polls `condition` until it holds; false after `timeout` (generous: the suite shares two loaded cores).
func eventually(timeout: Duration = .seconds(30), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}

/// Records every event it is given.
final class RecordingDestination: Destination {
    private let received = Mutex<(uuids: [String], batches: Int, ndjsonLines: Int)>(([], 0, 0))

    func send(_ batch: EventBatch) async throws {
        let uuids = batch.events.map { $0.timeUUID.lowercased() }
        let lines = batch.ndjson.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        received.withLock { $0.uuids += uuids; $0.batches += 1; $0.ndjsonLines += lines }
    }

    var uuids: [String] { received.withLock { $0.uuids } }
    var batches: Int { received.withLock { $0.batches } }
    var ndjsonLines: Int { received.withLock { $0.ndjsonLines } }
}

/// Holds every batch until `open()`: a sink that has stopped accepting. Honours cancellation, as the
/// ``Destination`` contract asks.
final class BlockingDestination: Destination {
    private let isOpen = Atomic<Bool>(false)
    private let started = Atomic<Int>(0)
    private let deliveredEvents = Atomic<Int>(0)

    func send(_ batch: EventBatch) async throws {
        started.add(1, ordering: .relaxed)
        while !isOpen.load(ordering: .acquiring) {
            try await Task.sleep(for: .milliseconds(5))
        }
        deliveredEvents.add(batch.count, ordering: .relaxed)
    }

    func open() { isOpen.store(true, ordering: .releasing) }
    var sendsStarted: Int { started.load(ordering: .relaxed) }
    var delivered: Int { deliveredEvents.load(ordering: .relaxed) }
}

/// Fails every attempt with a retryable error: a sink that is down.
final class FailingDestination: Destination {
    private let attempts = Atomic<Int>(0)
    func send(_ batch: EventBatch) async throws {
        attempts.add(1, ordering: .relaxed)
        throw DestinationError.retryable("service unavailable")
    }
    var attemptCount: Int { attempts.load(ordering: .relaxed) }
}

/// Never answers (until its task is cancelled): a sink stuck on a dead connection.
final class HangingDestination: Destination {
    private let calls = Atomic<Int>(0)
    func send(_ batch: EventBatch) async throws {
        calls.add(1, ordering: .relaxed)
        try await Task.sleep(for: .seconds(3600))
    }
    var callCount: Int { calls.load(ordering: .relaxed) }
}

/// Counts completed calls from a producer task.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func increment(by n: Int = 1) { value.add(n, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}
