/// What every de-duplication stage (``Deduplicator``, ``SharedDeduplicator``) does with a chunk once it has
/// removed the duplicates: count and settle them, publish the table's figures, and pass the rest on (counted as
/// dropped everywhere when the next stage is gone).
enum DedupeHandOff {
    static func forward(_ chunk: EventChunk, duplicates: Int, table: DedupeTable, accounting: Accounting,
                        stats: DedupeStats, output: BoundedChannel<EventChunk>) async {
        accounting.recordDuplicates(duplicates)
        chunk.settleEverywhere(duplicates, as: .duplicate)
        stats.update(size: table.count, capacityEvictions: table.capacityEvictions,
                     windowEvictions: table.windowEvictions, memoryBytes: table.memoryBytes)
        if !chunk.events.isEmpty, await !output.send(chunk) {
            accounting.recordDroppedEverywhere(chunk.events.count)
            chunk.settleEverywhere(chunk.events.count, as: .dropped)
        }
    }
}
