import Synchronization

/// Dedupe that survives restarts, for a spooled pipeline: the ``Deduplicator``'s new keys go to the spool's
/// ``DedupeKeyJournal`` with the spool record their events came from, and the next run starts with the keys of
/// settled records still within the window.
///
/// Keys of records some destination is still owed are not restored: those records are replayed, and their
/// events must pass dedupe again to reach the destinations owed them (a duplicate of them that arrived later,
/// in a replayed record too, is dropped again, as the replay re-inserts the first occurrence's key).
final class SpooledDedupeKeys: DedupeKeyStore {
    let journal: DedupeKeyJournal
    private let source: SpooledSource
    private let restored: Mutex<[RememberedKey]?>
    /// Keys restored at start (the summary reports it).
    let restoredCount: Int

    /// Opens the journal in the spool's directory for dedupe settings `configuration`; damage found is told
    /// through `onNotice`.
    init(source: SpooledSource, configuration: DedupeConfiguration, onNotice: (@Sendable (String) -> Void)?) throws {
        let settled = source.spool.settledSnapshot
        let opened: DedupeKeyJournal.Opened
        do {
            opened = try DedupeKeyJournal.open(
                directory: source.spool.directory, capacity: max(1, configuration.capacity),
                windowMilliseconds: Int64(configuration.windowSeconds) * 1000, maxBytes: source.spool.keyFileBudget,
                isSettled: { record in settled.allSatisfy { $0.contains(record) } },
                onProblem: { onNotice?($0) }, onBytes: { [spool = source.spool] in spool.setKeyFileBytes($0) })
        } catch let error as SpoolError {
            throw PipelineError(error.message)
        }
        for note in opened.notes { onNotice?(note) }
        journal = opened.journal
        self.source = source
        restoredCount = opened.restored.count
        restored = Mutex(opened.restored)
        source.spool.onCommit { [journal] in journal.sync() }
    }

    func restoredKeys() -> [RememberedKey] {
        restored.withLock { keys in
            defer { keys = nil }
            return keys ?? []
        }
    }

    func remember(_ keys: [RememberedKey], unit: UnitTag?) {
        let record = unit.flatMap { $0.tracker === source.tracker ? source.record(ofUnit: $0.sequence) : nil } ?? 0
        journal.append(keys, record: record)
    }

    /// Journal writes that failed.
    var writeFailures: Int { journal.writeFailures }

    /// The final fsync (before the spool closes).
    func close() { journal.close() }
}
