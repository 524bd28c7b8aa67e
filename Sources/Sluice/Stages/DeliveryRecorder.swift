/// Books a destination's outcomes: delivered batches (and their latency) and dead-lettered events.
struct DeliveryRecorder: Sendable {
    let destination: String
    let accounting: Accounting
    let deadLetters: DeadLetterWriter?
    let latency: LatencyHistogram

    func delivered(_ batch: Batch, attempts: Int) {
        accounting.update(destination) { counts in
            counts.delivered += batch.eventCount
            counts.requests += attempts
            counts.retries += max(0, attempts - 1)
        }
        latency.record(nanoseconds: Clock.nanoseconds() &- batch.oldestCreatedAt, count: batch.eventCount)
    }

    func deadLetter(_ batch: Batch, reason: String, attempts: Int) {
        accounting.update(destination) { counts in
            counts.deadLettered += batch.eventCount
            counts.requests += attempts
            counts.retries += max(0, attempts - 1)
            if attempts > 0 { counts.failedRequests += 1 }
        }
        for member in batch.members {
            deadLetters?.writeUndeliverable(destination: destination, reason: reason, attempts: attempts,
                                            chunk: member.chunk, events: member.indices.lazy.map(Int.init))
        }
    }

    /// Counts the requests of a batch that was refused whole and then split: its events are settled with the
    /// parts, its requests here (they were made, and the last one failed).
    func refusedWhole(attempts: Int) {
        accounting.update(destination) { counts in
            counts.requests += attempts
            counts.retries += max(0, attempts - 1)
            if attempts > 0 { counts.failedRequests += 1 }
        }
    }

    /// Dead-letters single events refused before they joined a batch (too large, not encodable).
    func deadLetter(reason: String, chunk: EventChunk, indices: [Int32]) {
        accounting.update(destination) { $0.deadLettered += indices.count }
        deadLetters?.writeUndeliverable(destination: destination, reason: reason, attempts: 0, chunk: chunk,
                                        events: indices.lazy.map(Int.init))
    }
}
