import Sluice

/// Stands in for a message-queue client: each publish takes a few milliseconds, and every 40th one fails
/// with a temporary error, so the metrics show retries and lag.
actor SimulatedQueue {
    private(set) var messageCount = 0
    private(set) var byteCount = 0
    private var publishes = 0

    func publish(_ message: [UInt8]) async throws {
        publishes += 1
        try await Task.sleep(for: .milliseconds(15))
        if publishes % 40 == 0 { throw QueueUnavailable() }
        messageCount += 1
        byteCount += message.count
    }
}

struct QueueUnavailable: Error {}

/// A custom destination: Sluice batches, retries, bounds the queue in front of it and accounts for every event;
/// this type only says how to hand one batch over and which failures are worth retrying.
struct QueueDestination: Destination {
    let queue: SimulatedQueue

    func send(_ batch: EventBatch) async throws {
        do {
            try await queue.publish(batch.ndjson)  // one message per batch: Statsig export NDJSON
        } catch is QueueUnavailable {
            throw DestinationError.retryable("queue unavailable")
        }
    }
}
