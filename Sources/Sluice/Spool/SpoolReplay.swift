/// Streams the records some destination had not settled, oldest first, one at a time from disk: memory stays
/// one record (and one read buffer) however large the backlog.
///
/// Each record comes with the destinations still owed it; records every destination settled are skipped. A
/// damaged record (a flipped bit on disk) is counted, reported and skipped; one whose length cannot be trusted
/// ends that segment's replay and replay continues with the next segment: damage costs records, never the run.
final class SpoolReplay {
    struct Item: Sendable {
        var record: SpoolRecord
        /// `owed[i]` is true when destination `i` had not settled the record.
        var owed: [Bool]
    }

    private let directory: SpoolDirectory
    private var segments: ArraySlice<Spool.Segment>
    private let settled: [SettledSequences]
    private let end: UInt64
    private let onCorrupt: @Sendable (String) -> Void
    private var reader: SpoolSegmentReader?

    init(directory: SpoolDirectory, segments: [Spool.Segment], settled: [SettledSequences], end: UInt64,
         onCorrupt: @escaping @Sendable (String) -> Void) {
        self.directory = directory
        self.settled = settled
        self.end = end
        self.onCorrupt = onCorrupt
        // Start at the segment holding the lowest unsettled record.
        let start = (settled.map(\.frontier).min() ?? end) &+ 1
        self.segments = segments.drop { $0.lastSequence < start }[...]
    }

    /// The next record owed to at least one destination, or nil when replay is complete.
    func next() throws -> Item? {
        while true {
            if reader == nil {
                guard let segment = segments.popFirst(), segment.firstSequence <= end else { return nil }
                reader = try SpoolSegmentReader(path: directory.file(segment.name))
            }
            guard let reader else { continue }
            switch reader.next() {
            case .record(let record):
                if record.sequence > end {
                    self.reader = nil
                    segments = []
                    return nil
                }
                let owed = settled.map { !$0.contains(record.sequence) }
                if owed.contains(true) { return Item(record: record, owed: owed) }
            case .end:
                self.reader = nil
            case .damaged(let offset, let reason, let skippable):
                if skippable {
                    onCorrupt("spool: \(reader.path): \(reason) at byte \(offset): that record is skipped")
                    reader.skipDamaged()
                } else {
                    onCorrupt("spool: \(reader.path): \(reason) at byte \(offset): the rest of this segment cannot be read and is skipped")
                    self.reader = nil
                }
            }
        }
    }
}
