/// Books a destination's outcomes: delivered batches (and their latency) and dead-lettered events, counted per
/// reason class (``DeadLetterReason``); the first event of each class is announced through ``Notices``.
struct DeliveryRecorder: Sendable {
    let destination: String
    let accounting: Accounting
    let deadLetters: DeadLetterWriter?
    let latency: LatencyHistogram
    /// Masks configured secrets in reasons (Sluice's own text) before they are counted, written or announced.
    var redactor = Redactor(secrets: [])
    var notices = Notices()

    func delivered(_ batch: Batch, attempts: Int) {
        accounting.update(destination) { counts in
            counts.delivered += batch.eventCount
            counts.requests += attempts
            counts.retries += max(0, attempts - 1)
        }
        latency.record(nanoseconds: Clock.nanoseconds() &- batch.oldestCreatedAt, count: batch.eventCount)
    }

    func deadLetter(_ batch: Batch, reason: String, attempts: Int) {
        deadLetter(batch, reason: reason, attempts: attempts, announcing: true)
    }

    private func deadLetter(_ batch: Batch, reason: String, attempts: Int, announcing: Bool) {
        let reason = redactor.redact(reason)
        var counted = (reasonClass: "", isNew: false)
        accounting.update(destination) { counts in
            counted = counts.countDeadLettered(batch.eventCount, reasonClass: DeadLetterReason.classify(reason))
            counts.requests += attempts
            counts.retries += max(0, attempts - 1)
            if attempts > 0 { counts.failedRequests += 1 }
        }
        if announcing { announce(counted, reason) }
        for member in batch.members {
            deadLetters?.writeUndeliverable(destination: destination, reason: reason, attempts: attempts,
                                            chunk: member.chunk, events: member.indices.lazy.map(Int.init))
        }
    }

    /// A stdout or file destination could not write `batch`: its events are dead-lettered with the reason and
    /// counted as write failures, which make the run's exit status 3. The sink has announced the failure itself
    /// (once per output), so the reason is not announced again.
    func writeFailed(_ batch: Batch, reason: String) {
        accounting.update(destination) { $0.writeFailures += batch.eventCount }
        deadLetter(batch, reason: reason, attempts: 1, announcing: false)
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
        let reason = redactor.redact(reason)
        var counted = (reasonClass: "", isNew: false)
        accounting.update(destination) { counted = $0.countDeadLettered(indices.count, reasonClass: DeadLetterReason.classify(reason)) }
        announce(counted, reason)
        deadLetters?.writeUndeliverable(destination: destination, reason: reason, attempts: 0, chunk: chunk,
                                        events: indices.lazy.map(Int.init))
    }

    private func announce(_ counted: (reasonClass: String, isNew: Bool), _ reason: String) {
        guard counted.isNew else { return }
        notices.post(.deadLetterReason(destination: destination, reasonClass: counted.reasonClass, reason: reason),
                     once: "reason\u{0}\(destination)\u{0}\(counted.reasonClass)")
    }
}
