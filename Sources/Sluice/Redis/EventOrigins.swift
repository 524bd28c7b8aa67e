/// Which stream entry, and which position in it, each event of a chunk came from.
///
/// Shared de-duplication stores `ENTRY-ID#POSITION` as the value of the key it claims, so that the copy that
/// claimed a key recognises its own claim when its entry is read again (re-read after a restart, or claimed from
/// a dead instance). Compact on purpose: one string per entry, two integers per event, filled by the ingestor
/// only for Redis input.
struct EventOrigins: Sendable {
    /// The entry IDs, in order of first use.
    var entryIDs: [String] = []
    /// Per event: its entry's index in ``entryIDs``.
    var entryOfEvent: [UInt32] = []
    /// Per event: its position among the events decoded from its entry.
    var positionInEntry: [UInt32] = []

    /// The claim value of event `index`: `ENTRY-ID#POSITION`.
    func claimValue(of index: Int) -> String {
        "\(entryIDs[Int(entryOfEvent[index])])#\(positionInEntry[index])"
    }
}

extension EventChunk {
    /// Records that the events at `events` (just decoded) came from stream entry `id`.
    mutating func recordOrigin(_ id: String, events: Range<Int>) {
        guard !events.isEmpty else { return }
        if origins == nil { origins = EventOrigins() }
        let entry = UInt32(origins!.entryIDs.count)
        origins!.entryIDs.append(id)
        for position in 0..<events.count {
            origins!.entryOfEvent.append(entry)
            origins!.positionInEntry.append(UInt32(position))
        }
    }
}
