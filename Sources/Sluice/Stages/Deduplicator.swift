/// Stage 2: drops events whose timeUUID was already seen.
///
/// Keys are the 16 bytes of the timeUUID (derived from time and content for SDK events that carry none), held
/// in a ``DedupeTable`` bounded by `capacity` keys and a `windowSeconds` event-time window: whichever limit is
/// reached first evicts the oldest keys, and evictions are counted. Events are removed from the chunk in place.
actor Deduplicator {
    private var table: DedupeTable
    private let accounting: Accounting
    private let stats: DedupeStats
    /// Keeps keys across restarts (a spool's key journal); nil: memory only.
    private let keyStore: (any DedupeKeyStore)?
    /// Sum of the loads ``DedupeTable/warm(_:)`` made; kept only so those loads are not optimised away.
    private var warmth: UInt64 = 0
    /// The current chunk's duplicates (positions, ascending); kept across chunks for its capacity.
    private var duplicateIndices: [Int] = []

    init(configuration: DedupeConfiguration, accounting: Accounting, stats: DedupeStats, keyStore: (any DedupeKeyStore)? = nil) {
        table = DedupeTable(capacity: max(1, configuration.capacity),
                            windowMilliseconds: Int64(configuration.windowSeconds) * 1000)
        self.accounting = accounting
        self.stats = stats
        self.keyStore = keyStore
        for restored in keyStore?.restoredKeys() ?? [] {
            _ = table.insert(restored.key, eventTimeMilliseconds: restored.eventTimeMilliseconds)
        }
    }

    func run(input: BoundedChannel<EventChunk>, output: BoundedChannel<EventChunk>) async {
        for await var chunk in input {
            let before = chunk.events.count
            var fresh: [RememberedKey] = []
            warmth &+= chunk.events.withUnsafeBufferPointer { table.warm($0) }
            // Decide first, change the chunk only when it has duplicates: the stage before may still hold a
            // reference to the events (it lets go once its send returns), and removing in place would then
            // copy all of them (copy-on-write) even when none is removed.
            duplicateIndices.removeAll(keepingCapacity: true)
            for index in chunk.events.indices {
                let event = chunk.events[index]
                let key = DedupeKey(high: event.timeUUID.high, low: event.timeUUID.low)
                if table.insert(key, eventTimeMilliseconds: event.timestamp) {
                    if keyStore != nil { fresh.append(RememberedKey(key: key, eventTimeMilliseconds: event.timestamp)) }
                } else {
                    duplicateIndices.append(index)
                }
            }
            if !duplicateIndices.isEmpty { chunk.removeEvents(at: duplicateIndices) }
            if let keyStore, !fresh.isEmpty { keyStore.remember(fresh, unit: chunk.unit) }
            await DedupeHandOff.forward(chunk, duplicates: before - chunk.events.count, table: table,
                                        accounting: accounting, stats: stats, output: output)
        }
        output.finish()
    }

}
