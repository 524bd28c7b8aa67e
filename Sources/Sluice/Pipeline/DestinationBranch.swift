/// Everything one destination needs: its queue, its stages and its settings.
///
/// fan-out -> queue -> IdentifierMapper -> Batcher -> Sender (`concurrency` workers). A ticker nudges the
/// Batcher so a partial batch leaves after `maxDelayMs` even when no more events arrive.
struct DestinationBranch: Sendable {
    /// What a destination is made of, from the factory.
    struct Parts: Sendable {
        var name: String
        var selection: EventSelection
        var rule: IdentityRule
        var encoder: any EventEncoder
        var sender: any BatchSender
        var batch: BatchConfiguration
        var concurrency: Int
        var overflow: OverflowPolicy
        /// Named counts the encoder and sender keep (Heap properties dropped, paced batches).
        var counters = DestinationCounters()
    }

    let name: String
    /// The destination's position in the pipeline's destination list (its index in settlement trackers).
    let index: Int
    let overflow: OverflowPolicy
    let queue: BoundedChannel<EventChunk>
    let batcherQueue: BoundedChannel<BatcherInput>
    let batchQueue: BoundedChannel<Batch>
    let mapper: IdentifierMapper
    let batcher: Batcher
    let sender: Sender
    let maxDelayMs: Int
    let inFlight = InFlightCounter()
    let counters: DestinationCounters

    init(parts: Parts, index: Int, accounting: Accounting, deadLetters: DeadLetterWriter?, shutdown: ShutdownState,
         latency: LatencyHistogram, queueCapacity: Int, deadlinePolicy: DrainDeadlinePolicy,
         redactor: Redactor = Redactor(secrets: []), notices: Notices = Notices(),
         commit: (@Sendable () -> Void)? = nil) {
        name = parts.name
        self.index = index
        overflow = parts.overflow
        queue = BoundedChannel(capacity: queueCapacity)
        batcherQueue = BoundedChannel(capacity: queueCapacity)
        // Enough finished batches to keep every worker busy, and no more: memory stays bounded.
        batchQueue = BoundedChannel(capacity: max(2, parts.concurrency))
        let recorder = DeliveryRecorder(destination: parts.name, destinationIndex: index, accounting: accounting,
                                        deadLetters: deadLetters, latency: latency, redactor: redactor, notices: notices,
                                        deadlinePolicy: deadlinePolicy)
        mapper = IdentifierMapper(destination: parts.name, destinationIndex: index, selection: parts.selection,
                                  rule: parts.rule, accounting: accounting)
        batcher = Batcher(encoder: parts.encoder, limits: parts.batch, recorder: recorder)
        sender = Sender(sender: parts.sender, recorder: recorder, workers: parts.concurrency, shutdown: shutdown,
                        commit: commit)
        maxDelayMs = parts.batch.maxDelayMs
        counters = parts.counters
    }

    func start(in group: inout TaskGroup<Void>) {
        let branch = self
        group.addTask { await branch.mapper.run(input: branch.queue, output: branch.batcherQueue) }
        group.addTask {
            // The ticker lives exactly as long as the Batcher: cancelled the moment it finishes, so the end of a
            // run never waits out a tick interval.
            await withTaskGroup(of: Void.self) { ticking in
                ticking.addTask { await branch.tick() }
                await branch.batcher.run(input: branch.batcherQueue, output: branch.batchQueue)
                ticking.cancelAll()
            }
        }
        group.addTask { await branch.sender.run(input: branch.batchQueue, inFlight: branch.inFlight) }
    }

    /// Sends ticks until cancelled or the Batcher's queue is finished. A full queue skips the tick: events are
    /// flowing.
    private func tick() async {
        let interval = Duration.milliseconds(min(500, max(5, maxDelayMs / 2)))
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if batcherQueue.trySend(.tick) == .finished { return }
        }
    }
}
