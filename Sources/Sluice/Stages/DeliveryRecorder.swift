/// Books a destination's outcomes: delivered batches (and their latency) and dead-lettered events, in the
/// accounting and, for tracked input, in the source's settlement tracker (per batch member, see `UnitTag`).
struct DeliveryRecorder: Sendable {
    let destination: String
    /// The destination's position in the pipeline's destination list (its index in settlement trackers).
    var destinationIndex = 0
    let accounting: Accounting
    let deadLetters: DeadLetterWriter?
    let latency: LatencyHistogram
    /// What a batch that misses the drain deadline becomes.
    var deadlinePolicy: DrainDeadlinePolicy = .deadLetter

    func delivered(_ batch: Batch, attempts: Int) {
        accounting.update(destination) { counts in
            counts.delivered += batch.eventCount
            counts.requests += attempts
            counts.retries += max(0, attempts - 1)
        }
        latency.record(nanoseconds: Clock.nanoseconds() &- batch.oldestCreatedAt, count: batch.eventCount)
        batch.settle(destination: destinationIndex, as: .delivered)
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
        batch.settle(destination: destinationIndex, as: .deadLettered)
    }

    /// A batch that could not be delivered before the drain deadline (or the pipeline stopped under it):
    /// dead-lettered, or, with ``DrainDeadlinePolicy/leaveUnsettled``, left with its source for the next run
    /// (counted, not acknowledged, not written to the dead-letter output).
    func missedDeadline(_ batch: Batch, reason: String, attempts: Int) {
        switch deadlinePolicy {
        case .deadLetter:
            deadLetter(batch, reason: reason, attempts: attempts)
        case .leaveUnsettled:
            accounting.update(destination) { counts in
                counts.leftUnsettled += batch.eventCount
                counts.requests += attempts
                counts.retries += max(0, attempts - 1)
                if attempts > 0 { counts.failedRequests += 1 }
            }
            batch.settle(destination: destinationIndex, as: .leftUnsettled)
        }
    }

    /// Dead-letters single events refused before they joined a batch (too large, not encodable).
    func deadLetter(reason: String, chunk: EventChunk, indices: [Int32]) {
        accounting.update(destination) { $0.deadLettered += indices.count }
        deadLetters?.writeUndeliverable(destination: destination, reason: reason, attempts: 0, chunk: chunk,
                                        events: indices.lazy.map(Int.init))
        chunk.settle(indices.count, destination: destinationIndex, as: .deadLettered)
    }
}
