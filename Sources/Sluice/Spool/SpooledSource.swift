#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The pipeline's input when a spool is configured: every unit of input is a spool record, appended before
/// it enters the pipeline, and its settlement advances the destinations' cursors.
///
/// Three producers feed it, all through ``offer(_:record:alreadySettled:settlement:ingestor:)``:
/// - start-up replay: the records some destination had not settled, each marked with the destinations that
///   had (fan-out skips those, so each record goes to exactly the destinations still owed it);
/// - the byte stream (stdin or `--input FILE`), cut into whole-line records by ``LineAlignedBlocks``;
/// - ``Pipeline/ingest(_:)`` bodies, one record each, returning once the record is as durable as `sync` says.
///
/// Units are numbered by the source's own ``SettlementTracker`` (so concurrent `ingest` calls may begin their
/// units in any order); a small table maps each unit to its spool record until every destination has settled
/// it. Per destination, a settled unit settles its record in the spool's cursor; a unit left unsettled at the
/// drain deadline is not, so the next run replays it.
final class SpooledSource: Sendable {
    let spool: Spool
    let tracker: SettlementTracker
    private let records: RecordTable
    /// Serialises numbering and `begin` so unit numbers reach the tracker in increasing order.
    private let numbering = Mutex<UInt64>(0)
    private let replayedCounts: Mutex<[Int]>
    private let replayedRecords = Atomic<Int>(0)
    private let writeFailures = Atomic<Int>(0)
    /// Whether the stream is an input file whose offsets records carry (set by `openInputFile`).
    let tracksFileOffset = Atomic<Bool>(false)

    /// The most lines a stream record holds.
    let recordLines: Int

    init(spool: Spool, recordLines: Int = 512) {
        self.spool = spool
        self.recordLines = max(1, recordLines)
        let records = RecordTable(spool: spool)
        self.records = records
        tracker = SettlementTracker(destinations: spool.destinations, receiver: records)
        replayedCounts = Mutex(Array(repeating: 0, count: spool.destinations.count))
    }

    /// Events taken from the spool at start, per destination (those it was still owed), by index.
    var replayed: [Int] { replayedCounts.withLock { $0 } }
    /// Records replayed at start.
    var replayedRecordCount: Int { replayedRecords.load(ordering: .relaxed) }

    /// Hands one record's bytes to the pipeline as one unit. Returns what the ingestor accepted.
    func offer(_ body: ArraySlice<UInt8>, record: UInt64, alreadySettled: DestinationSet = DestinationSet(),
               settlement: IngestSettlement? = nil, firstLine: Int = 1, context: IngestContext? = nil,
               framing: IngestFraming = .body, ingestor: Ingestor) async -> (accepted: Int, invalid: [InvalidInput]) {
        await ingestor.ingest(body, context: context, firstLine: firstLine, framing: framing) { events in
            numbering.withLock { next in
                let unit = next
                next += 1
                records.expect(unit: unit, record: record)
                return tracker.begin(sequence: unit, events: events, alreadySettled: alreadySettled, settlement: settlement)
            }
        }
    }

    /// Replays what the spool holds for some destination, oldest first, streaming from disk. Stops early when
    /// `shouldStop` says so (a drain): the rest stays in the spool.
    func replay(ingestor: Ingestor, shouldStop: @Sendable () -> Bool) async throws {
        let replay = try spool.replay()
        while !shouldStop(), let item = try replay.next() {
            let settledBy = DestinationSet(item.owed.indices.filter { !item.owed[$0] })
            var body = item.record.payload
            var context: IngestContext?
            var firstLine = item.record.firstLine
            var framing = IngestFraming.body
            if firstLine & SpooledStreamLines.flag != 0 {
                firstLine &= ~SpooledStreamLines.flag
                framing = .lines
            }
            if firstLine & SpooledIngestContext.flag != 0 {
                firstLine &= ~SpooledIngestContext.flag
                if let split = SpooledIngestContext.split(body) { (context, body) = (split.context, split.body) }
            }
            let (accepted, _) = await offer(body[...], record: item.record.sequence, alreadySettled: settledBy,
                                            firstLine: Int(clamping: firstLine), context: context, framing: framing,
                                            ingestor: ingestor)
            replayedRecords.add(1, ordering: .relaxed)
            replayedCounts.withLock { counts in
                for index in counts.indices where item.owed[index] { counts[index] += accepted }
            }
        }
    }

    /// Reads `blocks` to their end (or a drain), appending whole-line records to the spool and offering each.
    /// `startOffset` is where in the input file the blocks begin (a resumed file), 0 otherwise. Throws when the
    /// spool cannot be written: input stops there (what was spooled is delivered or kept).
    ///
    /// Spooling (cutting, CRC, write) and decoding run in two tasks joined by a small bounded channel, so they
    /// overlap on two cores instead of taking turns; records are still offered in sequence order.
    func stream(blocks: BoundedChannel<[UInt8]>, startOffset: UInt64, maxLineBytes: Int, ingestor: Ingestor,
                shouldStop: @escaping @Sendable () -> Bool) async throws {
        let spooledRecords = BoundedChannel<SpooledPiece>(capacity: 8)
        let decoding = Task {
            for await piece in spooledRecords {
                _ = await offer(piece.bytes, record: piece.record, firstLine: Int(clamping: piece.firstLine), framing: .lines,
                                ingestor: ingestor)
            }
        }
        defer { spooledRecords.finish() }
        do {
            var aligned = LineAlignedBlocks(maxLineBytes: maxLineBytes, maxLines: recordLines, startingAt: startOffset)
            var iterator = blocks.makeAsyncIterator()
            while !shouldStop() {
                guard let block = await iterator.next() else { break }
                for piece in aligned.cut(block) { try await spool(piece, into: spooledRecords) }
            }
            // A last line without a newline is still a line, but only at the real end of input (not a drain).
            if !shouldStop(), let last = aligned.finish() { try await spool(last, into: spooledRecords) }
        } catch {
            spooledRecords.finish()
            await decoding.value
            throw error
        }
        spooledRecords.finish()
        await decoding.value
    }

    private struct SpooledPiece: Sendable {
        var record: UInt64
        var firstLine: UInt64
        var bytes: ArraySlice<UInt8>
    }

    /// Spools one record (whole lines, at most `recordLines`) and queues it for decoding: the bytes that were
    /// read are written to the segment and decoded as they are, without a copy. Each record carries the input
    /// offset at its own end.
    private func spool(_ piece: LineAlignedBlocks.Piece, into channel: BoundedChannel<SpooledPiece>) async throws {
        let tracksOffset = tracksFileOffset.load(ordering: .relaxed)
        let record = try await spool.append(piece.bytes, sourceOffset: tracksOffset ? piece.endOffset : 0,
                                            firstLine: piece.firstLine | SpooledStreamLines.flag)
        // The channel only refuses once finished (never while this loop runs): the record stays in the spool.
        _ = await channel.send(SpooledPiece(record: record, firstLine: piece.firstLine, bytes: piece.bytes))
    }

    /// An `ingest` body: spooled, offered, and returned once durable in the configured sync mode.
    /// A body with a context keeps it in its record (``SpooledIngestContext``), so its replay is corrected the same way.
    func ingest(_ body: [UInt8], context: IngestContext? = nil, ingestor: Ingestor) async throws -> IngestResult {
        let record: UInt64
        do {
            if let context {
                record = try await spool.append(SpooledIngestContext.payload(body, context: context), firstLine: 1 | SpooledIngestContext.flag)
            } else {
                record = try await spool.append(body)
            }
        } catch {
            recordWriteFailure()
            throw error
        }
        let settlement = IngestSettlement()
        let (accepted, invalid) = await offer(body[...], record: record, settlement: settlement, context: context, ingestor: ingestor)
        await spool.waitUntilDurable(record)
        return IngestResult(accepted: accepted, invalid: invalid, refused: false, settlement: settlement)
    }

    /// Records some destination has not settled (in flight, or left for the next run).
    var unsettledRecords: Int { records.count }

    /// The spool record unit `unit` came from, while some destination has not settled it.
    func record(ofUnit unit: UInt64) -> UInt64? { records.record(ofUnit: unit) }

    /// Counts a failed spool write (input stopped there); the run's exit status says so.
    func recordWriteFailure() { writeFailures.add(1, ordering: .relaxed) }

    var writeFailureCount: Int { writeFailures.load(ordering: .relaxed) }

    /// The final commit: cursors and manifest written, the lock released.
    func close() { spool.close() }
}

/// Which spool record each unit in flight came from; settles records in the spool as units settle.
///
/// A receiver callback runs under the tracker's lock: it only takes this table's lock and the spool's.
fileprivate final class RecordTable: AcknowledgementReceiver {
    private let spool: Spool
    private let table = Mutex<[UInt64: UInt64]>([:])

    init(spool: Spool) { self.spool = spool }

    func expect(unit: UInt64, record: UInt64) {
        table.withLock { $0[unit] = record }
    }

    var count: Int { table.withLock { $0.count } }

    func record(ofUnit unit: UInt64) -> UInt64? { table.withLock { $0[unit] } }

    func settled(_ settlement: DestinationSettlement) {
        guard settlement.isSettled, let record = table.withLock({ $0[settlement.unit] }) else { return }
        spool.settle(destination: settlement.destination, record...record)
    }

    func settled(_ settlement: UnitSettlement) {
        // Left unsettled somewhere: keep the entry (the record stays owed), so `count` reports it.
        guard settlement.isSettled else { return }
        _ = table.withLock { $0.removeValue(forKey: settlement.unit) }
    }
}
