/// A request body (or block of output lines) and the events in it.
struct Batch: Sendable {
    /// The encoded body.
    var body: [UInt8]
    /// Events in the body (an event may encode to more than one item, e.g. Heap initialize records).
    var eventCount: Int
    /// The events, by chunk, so a failed batch can be dead-lettered event by event.
    var members: [BatchMember]
    /// When the oldest event in the batch was decoded (uptime nanoseconds), for latency.
    var oldestCreatedAt: UInt64
    /// The encoder's batch key shared by every event in the batch (see ``EventEncoder/batchKey(_:arena:)``).
    var key: [UInt8]?
    /// Where each event's item (or items) lies in `body`, in member order, so the batch can be split in halves
    /// without re-encoding (see `Batch.halves()`).
    var itemRanges: [Range<Int>] = []
}

/// Events of one chunk that are in a batch.
struct BatchMember: Sendable {
    let chunk: EventChunk
    var indices: [Int32]
}

/// What a Batcher receives: mapped events, or a clock tick that lets it flush a batch older than `maxDelayMs`.
enum BatcherInput: Sendable {
    case mapped(MappedChunk)
    case tick
}

/// Stage 5 (per destination): encodes events into bodies and cuts batches at `maxEvents`, `maxBytes` or
/// `maxDelayMs`, whichever comes first.
///
/// An event that cannot be encoded (too large, or refused by the format) is dead-lettered alone; the batch
/// goes on without it. At end of input the partial batch is flushed.
actor Batcher {
    private let encoder: any EventEncoder
    private let limits: BatchConfiguration
    private let recorder: DeliveryRecorder
    // The batch being filled. `@exclusivity(unchecked)`: without it every access to these actor properties
    // pays a dynamic exclusivity check (begin/end access, a thread-local lookup), several per event: 2.5% of
    // a 1M-event run's CPU. The checks cannot find anything here: the properties are actor-isolated, so only
    // this actor's own synchronous code touches them, and no access is held across a call that could reach
    // them again (the encoder gets `body` inout and knows nothing of the Batcher; the recorder and the channel
    // are other objects).
    @exclusivity(unchecked) private var body: [UInt8] = []
    @exclusivity(unchecked) private var count = 0
    /// Items in the body (``EventEncoder/itemCount(_:)``), what `maxEvents` limits.
    @exclusivity(unchecked) private var items = 0
    @exclusivity(unchecked) private var members: [BatchMember] = []
    @exclusivity(unchecked) private var startedAt: UInt64 = 0
    @exclusivity(unchecked) private var oldest: UInt64 = .max
    private var ready: [Batch] = []
    @exclusivity(unchecked) private var key: [UInt8]?
    @exclusivity(unchecked) private var itemRanges: [Range<Int>] = []

    init(encoder: any EventEncoder, limits: BatchConfiguration, recorder: DeliveryRecorder) {
        self.encoder = encoder
        self.limits = limits
        self.recorder = recorder
    }

    func run(input: BoundedChannel<BatcherInput>, output: BoundedChannel<Batch>) async {
        for await message in input {
            switch message {
            case .tick:
                if count > 0, Clock.nanoseconds() &- startedAt >= UInt64(limits.maxDelayMs) * 1_000_000 { cut() }
            case .mapped(let mapped):
                add(mapped)
            }
            for batch in ready where await !output.send(batch) {
                recorder.missedDeadline(batch, reason: "pipeline stopped before the batch could be sent", attempts: 0)
            }
            ready.removeAll(keepingCapacity: true)
        }
        cut()
        for batch in ready where await !output.send(batch) {
            recorder.missedDeadline(batch, reason: "pipeline stopped before the batch could be sent", attempts: 0)
        }
        ready.removeAll()
        output.finish()
    }

    private func add(_ mapped: MappedChunk) {
        let chunk = mapped.chunk
        let prefix = encoder.prefix, separator = encoder.separator, suffix = encoder.suffix
        chunk.withArena { arena in
            for (k, index) in mapped.selected.enumerated() {
                let event = chunk.events[Int(index)]
                let eventKey = encoder.batchKey(event, arena: arena)
                let eventItems = encoder.itemCount(event)
                if count > 0 && (eventKey != key || items + eventItems > limits.maxEvents) { cut() }
                if count == 0 { begin(prefix); key = eventKey }
                let mark = body.count
                if count > 0 { body.append(contentsOf: separator) }
                var itemStart = body.count
                if let reason = encoder.encode(event, identity: mapped.identities[k], arena: arena, into: &body) {
                    body.removeSubrange(mark...)
                    recorder.deadLetter(reason: reason, chunk: chunk, indices: [index])
                    if count == 0 { body.removeAll(keepingCapacity: true) }
                    continue
                }
                if body.count + suffix.count > limits.maxBytes {
                    if count == 0 {
                        body.removeAll(keepingCapacity: true)
                        deadLetterTooLarge(chunk, index)
                        continue
                    }
                    // It does not fit: close this batch and start the next one with the item.
                    let item = Array(body[itemStart...])
                    body.removeSubrange(mark...)
                    cut()
                    begin(prefix)
                    key = eventKey
                    itemStart = body.count
                    body.append(contentsOf: item)
                    if body.count + suffix.count > limits.maxBytes {
                        body.removeAll(keepingCapacity: true)
                        deadLetterTooLarge(chunk, index)
                        continue
                    }
                }
                append(member: index, of: chunk)
                itemRanges.append(itemStart..<body.count)
                items += eventItems
                if items >= limits.maxEvents { cut() }
            }
        }
    }

    private func deadLetterTooLarge(_ chunk: EventChunk, _ index: Int32) {
        recorder.deadLetter(reason: "event larger than the batch limit (batch.maxBytes \(limits.maxBytes))",
                            chunk: chunk, indices: [index])
    }

    private func begin(_ prefix: [UInt8]) {
        body.removeAll(keepingCapacity: true)
        body.append(contentsOf: prefix)
        startedAt = Clock.nanoseconds()
    }

    private func append(member index: Int32, of chunk: EventChunk) {
        count += 1
        oldest = min(oldest, chunk.createdAt)
        // Consecutive events of one chunk share a member; a chunk of another unit never joins it (settlement
        // flows back through the members, unit by unit).
        if let last = members.indices.last, members[last].chunk.createdAt == chunk.createdAt,
           members[last].chunk.events.count == chunk.events.count,
           members[last].chunk.unit?.sequence == chunk.unit?.sequence,
           members[last].chunk.unit?.tracker === chunk.unit?.tracker {
            members[last].indices.append(index)
        } else {
            members.append(BatchMember(chunk: chunk, indices: [index]))
        }
    }

    /// Closes the current batch (if any) and queues it for the sender.
    private func cut() {
        guard count > 0 else { return }
        body.append(contentsOf: encoder.suffix)
        ready.append(Batch(body: body, eventCount: count, members: members, oldestCreatedAt: oldest, key: key,
                           itemRanges: itemRanges))
        itemRanges = []
        body = []
        body.reserveCapacity(min(limits.maxBytes, 1 << 20))
        count = 0
        items = 0
        members = []
        oldest = .max
    }
}
