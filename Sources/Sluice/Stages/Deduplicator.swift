/// Stage 2: drops events whose timeUUID was already seen.
///
/// Keys are the 16 bytes of the timeUUID (derived from time and content for SDK events that carry none), held
/// in a ``DedupeTable`` bounded by `capacity` keys and a `windowSeconds` event-time window: whichever limit is
/// reached first evicts the oldest keys, and evictions are counted. Events are removed from the chunk in place.
actor Deduplicator {
    private var table: DedupeTable
    private let accounting: Accounting
    private let stats: DedupeStats

    init(configuration: DedupeConfiguration, accounting: Accounting, stats: DedupeStats) {
        table = DedupeTable(capacity: max(1, configuration.capacity),
                            windowMilliseconds: Int64(configuration.windowSeconds) * 1000)
        self.accounting = accounting
        self.stats = stats
    }

    func run(input: BoundedChannel<EventChunk>, output: BoundedChannel<EventChunk>) async {
        for await var chunk in input {
            let before = chunk.events.count
            chunk.events.removeAll { event in
                !table.insert(DedupeKey(high: event.timeUUID.high, low: event.timeUUID.low),
                              eventTimeMilliseconds: event.timestamp)
            }
            accounting.recordDuplicates(before - chunk.events.count)
            chunk.settleEverywhere(before - chunk.events.count, as: .duplicate)
            stats.update(size: table.count, capacityEvictions: table.capacityEvictions,
                         windowEvictions: table.windowEvictions, memoryBytes: table.memoryBytes)
            if !chunk.events.isEmpty, await !output.send(chunk) {
                accounting.recordDroppedEverywhere(chunk.events.count)
                chunk.settleEverywhere(chunk.events.count, as: .dropped)
            }
        }
        output.finish()
    }
}
