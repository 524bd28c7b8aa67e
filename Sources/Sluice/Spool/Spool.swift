#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// The disk spool: an append-only log of input records in numbered segment files, plus one ledger (cursor) per
/// destination of what it has settled.
///
/// In the style of Kafka's log and Vector's disk buffer: one writer appends records (``append(_:sourceOffset:firstLine:)``)
/// and a committer thread fsyncs them in groups, rewrites changed cursors atomically and deletes segments every
/// destination has settled. Opening recovers: the last segment is scanned and truncated at the first torn or
/// corrupt record (counted, never fatal), cursors are read, and ``replay()`` streams the records some
/// destination had not settled, each with the set of destinations still owed it.
///
/// Thread-safety: every mutable field lives in one `Mutex`; file writes happen under it (short `write(2)`s to
/// the page cache, in sequence order), fsyncs never do (they run on the committer thread on duplicated
/// descriptors), so a slow disk delays durability, not appends.
final class Spool: Sendable {
    /// What opening the spool found, for the run's report.
    struct Recovery: Sendable {
        /// Torn or corrupt records cut off the tail on open.
        var corruptRecords = 0
        /// Human-readable notes: truncations, missing cursors, cursors of destinations no longer configured.
        var notes: [String] = []
        /// Records (and their bytes) some destination had not settled.
        var unsettledRecords = 0
        /// Destinations that have a cursor but are no longer configured (reported once, then ignored).
        var goneDestinations: [String] = []
    }

    /// Figures for the progress line and metrics.
    struct Stats: Sendable, Equatable {
        /// Bytes on disk counted toward `maxBytes`: segments and dedupe key files.
        var bytes: Int
        var segments: Int
        /// Seconds since the oldest record some destination has not settled was written (0 when none).
        var oldestUnsettledAgeSeconds: Double
        var corruptRecords: Int
        var cursorWriteFailures: Int
        /// Destinations whose last cursor write failed: their cursor file on disk is behind what they settled.
        var cursorsBehind: Int
    }

    struct Segment: Sendable {
        var firstSequence: UInt64
        /// `firstSequence - 1` while empty.
        var lastSequence: UInt64
        var bytes: Int
        var name: String
        /// Unix milliseconds of the first record (0 while empty).
        var firstAppendedAt: UInt64
    }

    private struct State {
        var segments: [Segment] = []
        var activeDescriptor: Int32 = -1
        var nextSequence: UInt64 = 1
        var totalBytes = 0
        var syncedSequence: UInt64 = 0
        var lastSourceOffset: UInt64 = 0
        var syncedSourceOffset: UInt64 = 0
        /// Sealed segments' descriptors, fsynced and closed by the committer.
        var sealedDescriptors: [Int32] = []
        var directoryChanged = false
        var durableWaiters: [(sequence: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        var spaceWaiters: [CheckedContinuation<Result<UInt64, SpoolError>?, Never>] = []
        var settled: [SettledSequences]
        /// Changed since the cursor file was last written; changed since it was last written with fsync.
        var cursorChanged: [Bool]
        /// The frontier in each cursor file as last written (rename done), and as last made durable (fsynced).
        var writtenFrontier: [UInt64]
        var persistedFrontier: [UInt64]
        var wakePending = false
        var cursorWakePending = false
        var manifest: SpoolManifest
        var corruptRecords = 0
        var cursorWriteFailures = 0
        /// Per destination: its last cursor write failed (retried on the next settle, and at close).
        var cursorFailing: [Bool] = []
        var cursorRecoverySaid = false
        var closed = false
        var writeFailure: String?
        var refuseWhenFull = false
    }

    let configuration: SpoolConfiguration
    let directory: SpoolDirectory
    /// The configured destinations, in the order ``settle(destination:_:)`` indexes them.
    let destinations: [String]
    /// What ``open(configuration:destinations:)`` found.
    let recovery: Recovery
    /// The last sequence number that existed when the spool was opened: ``replay()`` stops there.
    let replayEnd: UInt64
    private let state: Mutex<State>
    private let wake = DispatchSemaphore(value: 0)
    private let committerDone = DispatchSemaphore(value: 0)
    private let cursorWake = DispatchSemaphore(value: 0)
    private let cursorWriterDone = DispatchSemaphore(value: 0)
    /// Records rotate to a new segment past this size: small enough that settled data is deleted promptly and
    /// a full spool frees space in steps, large enough that deleting one is rare.
    let segmentBytes: Int
    /// Cursor problems (a failed write) are reported once through this.
    private let onProblem: @Sendable (String) -> Void
    /// Run on every group commit before the cursors are made durable (the dedupe key journal's fsync).
    private let commitHooks = Mutex<[@Sendable () -> Void]>([])
    /// Bytes of the dedupe key files (``DedupeKeyJournal``), which count toward `maxBytes` with the segments.
    private let keyFileBytes = Atomic<Int>(0)

    /// Opens (creating if needed), locks and recovers the spool at `configuration.path` for `destinations`.
    init(configuration: SpoolConfiguration, destinations: [String], onProblem: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.configuration = configuration
        self.destinations = destinations
        self.onProblem = onProblem
        segmentBytes = min(64 << 20, max(256 << 10, configuration.maxBytes / 16))
        let directory = try SpoolDirectory(path: configuration.path, durable: configuration.sync != .none)
        self.directory = directory
        var recovery = Recovery()

        var manifest = try directory.read(SpoolManifest.fileName).map {
            try SpoolManifest.decode($0, file: directory.file(SpoolManifest.fileName))
        } ?? SpoolManifest()

        // Segments, oldest first. Only the last can have a torn tail (appends happen only there). A run that
        // died before appending leaves an empty last segment: drop it, and look at the one before.
        var segments: [Segment] = []
        let names = try directory.entries()
        var segmentNames = names.compactMap { name in SpoolFormat.firstSequence(ofSegmentNamed: name).map { ($0, name) } }
            .sorted { $0.0 < $1.0 }
        /// Reads the last segment whole: its last record, a torn tail cut off.
        func scanTail(first: UInt64, name: String, size: Int) throws -> Segment {
            let path = directory.file(name)
            let reader = try SpoolSegmentReader(path: path)
            var segment = Segment(firstSequence: first, lastSequence: first &- 1, bytes: size, name: name, firstAppendedAt: 0)
            var lastGood: SpoolRecord?
            scan: while true {
                switch reader.next() {
                case .record(let record):
                    if segment.firstAppendedAt == 0 { segment.firstAppendedAt = record.appendedAt }
                    lastGood = record
                case .end:
                    break scan
                case .damaged(let offset, let reason, let skippable):
                    if skippable {
                        // Whole but failing its CRC (a flipped bit, not a torn write): only this record is bad.
                        // Keep what follows; replay counts and skips it if a destination is still owed it.
                        reader.skipDamaged()
                        continue scan
                    }
                    recovery.corruptRecords += 1
                    recovery.notes.append("spool: \(name): \(reason) at byte \(offset): cut off \(size - offset) bytes "
                                          + "(a write torn by a crash, or a damaged disk)")
                    guard truncate(path, off_t(offset)) == 0 else {
                        throw SpoolError("spool: cannot truncate \(path) at its last good record: \(SpoolDirectory.describeErrno())")
                    }
                    segment.bytes = offset
                    break scan
                }
            }
            if let lastGood {
                segment.lastSequence = lastGood.sequence
                if let input = manifest.input, lastGood.sequence >= input.firstSequence {
                    manifest.input?.offset = max(input.offset, lastGood.sourceOffset)
                }
            }
            return segment
        }
        var tail: Segment?
        while let (first, name) = segmentNames.last {
            var info = stat()
            guard stat(directory.file(name), &info) == 0 else {
                throw SpoolError("spool: cannot read \(directory.file(name)): \(SpoolDirectory.describeErrno())")
            }
            segmentNames.removeLast()
            if Int(info.st_size) < SpoolFormat.fileHeaderSize {
                // Created, then the process died before its header was written: nothing to keep.
                directory.remove(name)
                if info.st_size > 0 { recovery.corruptRecords += 1 }
                continue
            }
            let segment = try scanTail(first: first, name: name, size: Int(info.st_size))
            if segment.lastSequence < segment.firstSequence {
                directory.remove(name)
                continue
            }
            tail = segment
            break
        }
        for (index, (first, name)) in segmentNames.enumerated() {
            let path = directory.file(name)
            var info = stat()
            guard stat(path, &info) == 0 else { throw SpoolError("spool: cannot read \(path): \(SpoolDirectory.describeErrno())") }
            let reader = try SpoolSegmentReader(path: path)
            var segment = Segment(firstSequence: first, lastSequence: first &- 1, bytes: Int(info.st_size), name: name, firstAppendedAt: 0)
            if case .record(let record) = reader.next() { segment.firstAppendedAt = record.appendedAt }
            let next = index + 1 < segmentNames.count ? segmentNames[index + 1].0 : (tail?.firstSequence ?? first)
            segment.lastSequence = next &- 1
            segments.append(segment)
        }
        if let tail { segments.append(tail) }

        // Cursors.
        var stored: [String: SettledSequences] = [:]
        var damaged: Set<String> = []
        for name in names where SpoolCursorFile.isCursorFile(name) {
            guard let bytes = try directory.read(name) else { continue }
            do {
                let (destination, settled) = try SpoolCursorFile.decode(bytes, file: directory.file(name))
                stored[destination] = settled
            } catch let error as SpoolError where !error.isUnknownVersion {
                // Unreadable (emptied by a power cut before its rename reached the disk, or edited by hand):
                // its destination gets everything the spool still holds, so nothing unsettled is lost.
                if let owner = destinations.first(where: { SpoolCursorFile.name(for: $0) == name }) {
                    damaged.insert(owner)
                    recovery.notes.append("\(error): destination \"\(owner)\" gets every record the spool still holds (some may be sent again)")
                }
            }
        }
        let highestSettled = stored.values.map { max($0.frontier, $0.ranges.last?.upperBound ?? 0) }.max() ?? 0
        let lastRecord = segments.last?.lastSequence ?? 0
        // A cursor can be ahead of the records (with `sync: interval` a power loss can lose the last records
        // after their cursor was written): never reuse a sequence number a cursor already calls settled.
        let nextSequence = max(lastRecord, highestSettled, segments.first.map { $0.firstSequence &- 1 } ?? 0) + 1
        let oldest = segments.first?.firstSequence ?? nextSequence
        var settled: [SettledSequences] = []
        for destination in destinations {
            if var cursor = stored[destination] {
                cursor.advanceFrontier(to: oldest &- 1)
                settled.append(cursor)
            } else if damaged.contains(destination) {
                settled.append(SettledSequences(frontier: oldest &- 1))
            } else if manifest.destinations.contains(destination) {
                recovery.notes.append("spool: the cursor file of destination \"\(destination)\" is missing: "
                                      + "it gets every record the spool still holds (some may be sent again)")
                settled.append(SettledSequences(frontier: oldest &- 1))
            } else {
                // New to this spool: it starts at the head, like a new consumer group at the log's end.
                settled.append(SettledSequences(frontier: nextSequence &- 1))
            }
        }
        for gone in stored.keys.sorted() where !destinations.contains(gone) {
            recovery.goneDestinations.append(gone)
            recovery.notes.append("spool: destination \"\(gone)\" has a cursor but is not configured: ignored "
                                  + "(its undelivered records are not kept for it)")
        }
        // Segments every destination settled are deleted before anything is written: on a full disk (an earlier
        // run stopped by ENOSPC) they are what holds the space a new segment needs.
        let settledFrontier = settled.map(\.frontier).min() ?? lastRecord
        try Self.deleteSettled(&segments, through: settledFrontier, manifest: manifest, directory: directory)
        let replayEnd = nextSequence &- 1
        self.replayEnd = replayEnd
        recovery.unsettledRecords = Int(settled.map { replayEnd &- min(replayEnd, $0.frontier) }.max() ?? 0)
        self.recovery = recovery

        var initial = State(settled: settled, cursorChanged: Array(repeating: false, count: destinations.count),
                            writtenFrontier: settled.map(\.frontier), persistedFrontier: settled.map(\.frontier), manifest: manifest)
        initial.segments = segments
        initial.cursorFailing = Array(repeating: false, count: destinations.count)
        initial.nextSequence = nextSequence
        initial.syncedSequence = nextSequence &- 1
        initial.totalBytes = segments.reduce(0) { $0 + $1.bytes }
        initial.corruptRecords = recovery.corruptRecords
        initial.lastSourceOffset = manifest.input?.offset ?? 0
        initial.syncedSourceOffset = initial.lastSourceOffset
        state = Mutex(initial)

        // Ledgers for destinations new to the spool are written now, so a crash before their first settlement
        // does not make them look like deleted cursors (which would replay the whole spool to them).
        if manifest.destinations != destinations {
            for (index, destination) in destinations.enumerated() where stored[destination] == nil {
                try directory.writeAtomically(SpoolCursorFile.name(for: destination),
                                              SpoolCursorFile.encode(destination: destination, settled: settled[index]))
            }
            state.withLock { $0.manifest.destinations = destinations }
            try writeManifest()
        }
        // Room for the cursors and the manifest to be rewritten on a full disk (see SpoolDirectory.reserveSpare).
        for destination in destinations { directory.reserveSpare(for: SpoolCursorFile.name(for: destination)) }
        directory.reserveSpare(for: SpoolManifest.fileName)
        try state.withLock { s in try openNewSegment(&s) }
        let thread = Thread { [self] in runCommitter() }
        thread.name = "sluice.spool.commit"
        thread.start()
        let cursorThread = Thread { [self] in runCursorWriter() }
        cursorThread.name = "sluice.spool.cursors"
        cursorThread.start()
    }

    /// Deletes the segments at the front of `segments` whose records are all at or below `frontier`. The
    /// manifest (the input file's offset, which the records held) is written first; when that fails for want of
    /// space, the segments go first and the manifest is written into the space they freed.
    private static func deleteSettled(_ segments: inout [Segment], through frontier: UInt64, manifest: SpoolManifest,
                                      directory: SpoolDirectory) throws {
        let settledCount = segments.prefix { $0.lastSequence <= frontier }.count
        guard settledCount > 0 else { return }
        let writtenFirst = manifest.input == nil || (try? directory.writeAtomically(SpoolManifest.fileName, manifest.encode())) != nil
        for segment in segments.prefix(settledCount) { directory.remove(segment.name) }
        segments.removeFirst(settledCount)
        directory.syncDirectory()
        if !writtenFirst { try directory.writeAtomically(SpoolManifest.fileName, manifest.encode()) }
    }

    deinit {
        // close() normally ran; this only releases descriptors of a spool that was never closed.
        state.withLock { s in
            if s.activeDescriptor >= 0 { closeDescriptor(s.activeDescriptor) }
            s.sealedDescriptors.forEach { closeDescriptor($0) }
        }
    }

    // MARK: - Appending

    /// Appends one record and returns its sequence number; suspends while the spool is at `maxBytes` (that is
    /// the spool's backpressure). Does not wait for an fsync: see ``waitUntilDurable(_:)``.
    func append(_ payload: [UInt8], sourceOffset: UInt64 = 0, firstLine: UInt64 = 1) async throws -> UInt64 {
        try await append(payload[...], sourceOffset: sourceOffset, firstLine: firstLine)
    }

    /// ``append(_:sourceOffset:firstLine:)`` of a slice: the bytes as read, written without a copy.
    func append(_ payload: ArraySlice<UInt8>, sourceOffset: UInt64 = 0, firstLine: UInt64 = 1) async throws -> UInt64 {
        guard payload.count <= SpoolFormat.maxPayload else {
            throw SpoolError("spool: a record of \(payload.count) bytes is larger than the \(SpoolFormat.maxPayload)-byte limit")
        }
        let header = SpoolFormat.recordHeader(payloadCount: payload.count, sourceOffset: sourceOffset, firstLine: firstLine,
                                              appendedAt: UInt64(max(0, Date().timeIntervalSince1970 * 1000)))
        // The payload's CRC is the costly part (a pass over the bytes): computed here, outside the lock.
        let payloadCRC = payload.withUnsafeBytes { CRC32C.checksum($0) }
        let size = header.count + payload.count
        while true {
            let result: Result<UInt64, SpoolError>? = await withCheckedContinuation { continuation in
                let outcome = state.withLock { s -> Result<UInt64, SpoolError>?? in
                    if s.closed { return .some(.failure(SpoolError("spool: closed"))) }
                    if let failure = s.writeFailure { return .some(.failure(SpoolError(failure))) }
                    // A record larger than the free space still goes in once everything is settled: otherwise a
                    // record bigger than maxBytes could never be written.
                    let everythingSettled = s.settled.allSatisfy { $0.frontier >= s.nextSequence &- 1 }
                    let used = s.totalBytes + keyFileBytes.load(ordering: .relaxed)
                    guard used + size <= configuration.maxBytes || everythingSettled else {
                        if s.refuseWhenFull {
                            return .some(.failure(SpoolError("spool: \(configuration.path) is full (maxBytes \(configuration.maxBytes)) and the pipeline is stopping")))
                        }
                        s.spaceWaiters.append(continuation)
                        return .none
                    }
                    return .some(write(header: header, payload: payload, payloadCRC: payloadCRC, sourceOffset: sourceOffset, into: &s))
                }
                if let outcome { continuation.resume(returning: outcome) }
            }
            if let result {
                if configuration.sync == .always, state.withLock({ requestWake(&$0) }) { wake.signal() }
                return try result.get()
            }
        }
    }

    /// Returns once record `sequence` is as durable as the sync mode promises: fsynced for `always`, written to
    /// the OS for `interval` and `none` (it survives a crash of the process at once, a power loss after the
    /// next group commit for `interval`).
    func waitUntilDurable(_ sequence: UInt64) async {
        guard configuration.sync == .always else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.syncedSequence >= sequence || s.closed { return true }
                s.durableWaiters.append((sequence, continuation))
                return false
            }
            if ready {
                continuation.resume()
            } else if state.withLock({ requestWake(&$0) }) {
                wake.signal()
            }
        }
    }

    /// Writes a record at the end of the active segment (under the lock, so file order is sequence order): one
    /// `writev` of the header and the payload, no copy of the payload.
    private func write(header template: [UInt8], payload: ArraySlice<UInt8>, payloadCRC: UInt32, sourceOffset: UInt64,
                       into s: inout State) -> Result<UInt64, SpoolError> {
        if let active = s.segments.last, active.bytes >= segmentBytes {
            do { try openNewSegment(&s) } catch let error as SpoolError {
                s.writeFailure = error.message
                return .failure(error)
            } catch { return .failure(SpoolError("spool: \(error)")) }
        }
        let sequence = s.nextSequence
        var header = template
        SpoolFormat.seal(&header, sequence: sequence, payloadCRC: payloadCRC)
        let index = s.segments.count - 1
        let size = header.count + payload.count
        guard Self.writeAll(s.activeDescriptor, header, payload) else {
            let reason = SpoolDirectory.describeErrno()
            // Leave no partial record behind: cut the segment back to its last whole record.
            _ = ftruncate(s.activeDescriptor, off_t(s.segments[index].bytes))
            return .failure(SpoolError("spool: cannot write to \(directory.file(s.segments[index].name)): \(reason)"))
        }
        s.nextSequence += 1
        s.segments[index].lastSequence = sequence
        s.segments[index].bytes += size
        if s.segments[index].firstAppendedAt == 0 {
            s.segments[index].firstAppendedAt = header.withUnsafeBytes { SpoolFormat.readLittleEndian(UInt64.self, $0, at: 32) }
        }
        s.totalBytes += size
        if sourceOffset > 0 { s.lastSourceOffset = sourceOffset }
        return .success(sequence)
    }

    /// `writev` of two buffers, continuing after short writes.
    private static func writeAll(_ fd: Int32, _ first: [UInt8], _ second: ArraySlice<UInt8>) -> Bool {
        first.withUnsafeBytes { a in
            second.withUnsafeBytes { b in
                var vectors = [iovec(iov_base: UnsafeMutableRawPointer(mutating: a.baseAddress), iov_len: a.count),
                               iovec(iov_base: UnsafeMutableRawPointer(mutating: b.baseAddress), iov_len: b.count)]
                var remaining = a.count + b.count
                var index = 0
                while remaining > 0 {
                    let n = vectors.withUnsafeMutableBufferPointer { v in writev(fd, v.baseAddress! + index, Int32(v.count - index)) }
                    if n < 0 {
                        if errno == EINTR { continue }
                        return false
                    }
                    remaining -= n
                    var written = n
                    while index < vectors.count && written >= vectors[index].iov_len {
                        written -= vectors[index].iov_len
                        index += 1
                    }
                    if index < vectors.count && written > 0 {
                        vectors[index].iov_base = vectors[index].iov_base.map { $0 + written }
                        vectors[index].iov_len -= written
                    }
                }
                return true
            }
        }
    }

    /// Seals the active segment (the committer fsyncs and closes it) and starts a new one at `nextSequence`.
    private func openNewSegment(_ s: inout State) throws {
        let name = SpoolFormat.segmentName(firstSequence: s.nextSequence)
        let path = directory.file(name)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SpoolError("spool: cannot create \(path): \(SpoolDirectory.describeErrno())") }
        let header = SpoolFormat.fileHeader()
        guard SpoolDirectory.writeAll(fd, header) else {
            let reason = SpoolDirectory.describeErrno()
            closeDescriptor(fd)
            unlink(path)
            throw SpoolError("spool: cannot write \(path): \(reason)")
        }
        if s.activeDescriptor >= 0 { s.sealedDescriptors.append(s.activeDescriptor) }
        s.activeDescriptor = fd
        s.segments.append(Segment(firstSequence: s.nextSequence, lastSequence: s.nextSequence &- 1, bytes: header.count,
                                  name: name, firstAppendedAt: 0))
        s.totalBytes += header.count
        s.directoryChanged = true
    }

    /// The share of `maxBytes` the dedupe key files may take: a quarter, so segments always keep three.
    var keyFileBudget: Int { configuration.maxBytes / 4 }

    /// Records the dedupe key files' total size: it counts toward `maxBytes` (appends wait while segments and
    /// key files together are full), and ``stats`` reports it within `bytes`.
    func setKeyFileBytes(_ bytes: Int) {
        keyFileBytes.store(bytes, ordering: .relaxed)
    }

    /// Runs `hook` on every group commit (every `syncIntervalMs`, and at close), before the cursor files are
    /// made durable: files that must be on the disk no later than the cursors fsync there.
    func onCommit(_ hook: @escaping @Sendable () -> Void) {
        commitHooks.withLock { $0.append(hook) }
    }

    // MARK: - Settlement

    /// Records that destination `index` settled the records in `range` (delivered, filtered, dead-lettered or
    /// dropped every event that came from them). Cheap: the cursor file is rewritten by the committer.
    func settle(destination index: Int, _ range: ClosedRange<UInt64>) {
        let (waiters, wake) = state.withLock { s -> ([CheckedContinuation<Result<UInt64, SpoolError>?, Never>], Bool) in
            guard index < s.settled.count else { return ([], false) }
            var wake = false
            if s.settled[index].insert(range) {
                s.cursorChanged[index] = true
                if !s.cursorWakePending {
                    s.cursorWakePending = true
                    wake = true
                }
            }
            // An append waiting for space may go ahead once everything is settled (see append).
            guard !s.spaceWaiters.isEmpty else { return ([], wake) }
            defer { s.spaceWaiters = [] }
            return (s.spaceWaiters, wake)
        }
        if wake { cursorWake.signal() }
        waiters.forEach { $0.resume(returning: nil) }
    }

    /// Whether destination `index` has settled record `sequence`.
    func isSettled(destination index: Int, _ sequence: UInt64) -> Bool {
        state.withLock { $0.settled[index].contains(sequence) }
    }

    /// The settled set of every destination, in ``destinations`` order.
    var settledSnapshot: [SettledSequences] { state.withLock { $0.settled } }

    // MARK: - The input file

    /// The identity and spooled offset of the input file recorded by an earlier run, if any.
    var inputFile: FileInputIdentity? { state.withLock { $0.manifest.input } }

    /// Starts spooling a (new) input file: its identity is written before any of its records.
    func beginInputFile(_ identity: FileInputIdentity) throws {
        state.withLock { s in
            var identity = identity
            identity.firstSequence = s.nextSequence
            s.manifest.input = identity
            s.lastSourceOffset = identity.offset
            s.syncedSourceOffset = identity.offset
        }
        try writeManifest()
    }

    private func writeManifest() throws {
        let bytes = state.withLock { s -> [UInt8] in
            var manifest = s.manifest
            manifest.input?.offset = s.syncedSourceOffset
            return manifest.encode()
        }
        try directory.writeAtomically(SpoolManifest.fileName, bytes)
    }

    // MARK: - Replay

    /// A reader of the records some destination had not settled when the spool was opened, oldest first.
    func replay() throws -> SpoolReplay {
        let (segments, settled) = state.withLock { s in (s.segments, s.settled) }
        return SpoolReplay(directory: directory, segments: segments.filter { $0.lastSequence >= $0.firstSequence },
                           settled: settled, end: replayEnd, onCorrupt: { [self] note in
            state.withLock { $0.corruptRecords += 1 }
            onProblem(note)
        })
    }

    // MARK: - Figures

    var stats: Stats {
        state.withLock { s in
            let frontier = s.settled.map(\.frontier).min() ?? (s.nextSequence &- 1)
            var age = 0.0
            if frontier < s.nextSequence &- 1,
               let holder = s.segments.last(where: { $0.firstSequence <= frontier + 1 && $0.firstAppendedAt > 0 }) {
                age = max(0, Date().timeIntervalSince1970 - Double(holder.firstAppendedAt) / 1000)
            }
            return Stats(bytes: s.totalBytes + keyFileBytes.load(ordering: .relaxed), segments: s.segments.count, oldestUnsettledAgeSeconds: age,
                         corruptRecords: s.corruptRecords, cursorWriteFailures: s.cursorWriteFailures,
                         cursorsBehind: s.cursorFailing.filter { $0 }.count)
        }
    }

    /// Records some destination has not settled (each counted once).
    var unsettledRecordCount: Int {
        (0..<destinations.count).map { unsettledCount(destination: $0) }.max() ?? 0
    }

    /// The last sequence number the committer has made durable.
    var syncedSequence: UInt64 { state.withLock { $0.syncedSequence } }

    /// How many records destination `index` has not settled.
    func unsettledCount(destination index: Int) -> Int {
        state.withLock { s in
            let last = s.nextSequence &- 1
            let settled = s.settled[index]
            guard last > settled.frontier else { return 0 }
            let beyond = settled.ranges.reduce(0) { $0 + Int($1.upperBound - $1.lowerBound + 1) }
            return Int(last - settled.frontier) - beyond
        }
    }

    // MARK: - Committer

    /// The committer thread. Every `syncIntervalMs` (a tick): a group commit (fsync of what was appended), the
    /// cursor files made durable (fsync of each changed one and of the directory), settled segments deleted.
    /// With `always`, an append waiting for durability is committed at once. Cursor files themselves are
    /// written by ``runCursorWriter()``, which never waits for a disk flush.
    private func runCommitter() {
        let interval = UInt64(configuration.syncIntervalMs) * 1_000_000
        var nextTick = DispatchTime.now().uptimeNanoseconds + interval
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            _ = wake.wait(timeout: .now() + .nanoseconds(Int(nextTick > now ? nextTick - now : 0)))
            let closing = state.withLock { s -> Bool in
                s.wakePending = false
                return s.closed
            }
            let tick = closing || DispatchTime.now().uptimeNanoseconds >= nextTick
            if tick || configuration.sync == .always { commit() }
            if tick {
                if configuration.sync != .none { commitHooks.withLock { $0 }.forEach { $0() } }
                makeCursorsDurable()
                deleteSettledSegments()
                nextTick = DispatchTime.now().uptimeNanoseconds + interval
            }
            if closing { break }
        }
        committerDone.signal()
    }

    /// The cursor thread: as soon as a destination settles more, its cursor file is rewritten (write + rename,
    /// no fsync). That survives a crash of the process at once, which is what bounds how much a SIGKILL makes a
    /// restart re-send, and it never waits behind the group commit's fsyncs (which can take long on a busy
    /// disk). Paced to at most one round per millisecond.
    private func runCursorWriter() {
        while true {
            _ = cursorWake.wait(timeout: .now() + .milliseconds(100))
            let closing = state.withLock { s -> Bool in
                s.cursorWakePending = false
                return s.closed
            }
            let wrote = writeChangedCursors()
            if closing { break }
            if wrote { usleep(1000) }
        }
        cursorWriterDone.signal()
    }

    /// Wakes the committer unless a wake-up is already pending (called with the lock held).
    private func requestWake(_ s: inout State) -> Bool {
        guard !s.wakePending else { return false }
        s.wakePending = true
        return true
    }

    /// fsyncs what was appended since the last commit (sealed segments, then the active one) and releases the
    /// `always` waiters it covers.
    private func commit() {
        let (descriptors, active, target, offset, directoryChanged) = state.withLock { s in
            let sealed = s.sealedDescriptors
            s.sealedDescriptors = []
            let changed = s.directoryChanged
            s.directoryChanged = false
            let pending = s.nextSequence &- 1 > s.syncedSequence
            let active = pending && s.activeDescriptor >= 0 ? dup(s.activeDescriptor) : -1
            return (sealed, active, s.nextSequence &- 1, s.lastSourceOffset, changed)
        }
        if configuration.sync != .none {
            for fd in descriptors { _ = fsync(fd) }
            if active >= 0 { _ = fsync(active) }
            if directoryChanged { directory.syncDirectory() }
        }
        descriptors.forEach { closeDescriptor($0) }
        if active >= 0 { closeDescriptor(active) }
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.syncedSequence = max(s.syncedSequence, target)
            s.syncedSourceOffset = max(s.syncedSourceOffset, offset)
            var ready: [CheckedContinuation<Void, Never>] = []
            s.durableWaiters.removeAll { waiter in
                guard waiter.sequence <= s.syncedSequence || s.closed else { return false }
                ready.append(waiter.continuation)
                return true
            }
            return ready
        }
        ready.forEach { $0.resume() }
    }

    /// Rewrites every changed cursor file (atomically, without fsync); returns whether it wrote any.
    private func writeChangedCursors() -> Bool {
        let changed = state.withLock { s -> [(Int, SettledSequences)] in
            var changed: [(Int, SettledSequences)] = []
            for index in s.settled.indices where s.cursorChanged[index] {
                s.cursorChanged[index] = false
                changed.append((index, s.settled[index]))
            }
            return changed
        }
        for (index, settled) in changed {
            let name = destinations[index]
            do {
                try directory.writeAtomically(SpoolCursorFile.name(for: name), SpoolCursorFile.encode(destination: name, settled: settled),
                                              durable: false)
                let recovered = state.withLock { s -> Int? in
                    s.writtenFrontier[index] = max(s.writtenFrontier[index], settled.frontier)
                    // With `none` nothing is fsynced: written is as durable as it gets.
                    if configuration.sync == .none { s.persistedFrontier[index] = s.writtenFrontier[index] }
                    guard s.cursorFailing[index] else { return nil }
                    s.cursorFailing[index] = false
                    defer { s.cursorRecoverySaid = true }
                    return s.cursorRecoverySaid ? nil : s.cursorWriteFailures
                }
                if let failures = recovered {
                    onProblem("spool: the cursor of \"\(name)\" is written again (after \(failures) failed cursor writes)")
                }
            } catch {
                // Said once per run; counted every time; retried on the next settle (the flag below) and at close.
                let first = state.withLock { s -> Bool in
                    s.cursorWriteFailures += 1
                    s.cursorFailing[index] = true
                    s.cursorChanged[index] = true  // try again next time
                    return s.cursorWriteFailures == 1
                }
                if first { onProblem("\(error) (retried as the destination settles more; until one succeeds, a restart re-sends what it settled since)") }
            }
        }
        return !changed.isEmpty
    }

    /// fsyncs the cursor files written since the last tick, then the directory (their renames): segments are
    /// deleted only past cursors that are on the disk (see ``deleteSettledSegments()``).
    private func makeCursorsDurable() {
        guard configuration.sync != .none else { return }
        let pending = state.withLock { s in
            s.writtenFrontier.indices.filter { s.writtenFrontier[$0] > s.persistedFrontier[$0] }.map { ($0, s.writtenFrontier[$0]) }
        }
        guard !pending.isEmpty else { return }
        for (index, _) in pending {
            // The file holds at least the frontier read above (files only move forward): fsync whatever is there.
            let fd = open(directory.file(SpoolCursorFile.name(for: destinations[index])), O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                _ = fsync(fd)
                closeDescriptor(fd)
            }
        }
        directory.syncDirectory()
        state.withLock { s in
            for (index, frontier) in pending { s.persistedFrontier[index] = max(s.persistedFrontier[index], frontier) }
        }
    }

    /// Deletes sealed segments every destination's persisted cursor has passed, and wakes appends waiting for
    /// space. The input file's offset is recorded first: once its records are gone, the manifest is what says
    /// how far the file was spooled.
    private func deleteSettledSegments() {
        let doomed = state.withLock { s -> [Segment] in
            let frontier = s.persistedFrontier.min() ?? (s.nextSequence &- 1)
            return Array(s.segments.dropLast().prefix { $0.lastSequence <= frontier })
        }
        guard !doomed.isEmpty else { return }
        if state.withLock({ $0.manifest.input != nil }) {
            do { try writeManifest() } catch {
                onProblem("\(error)")
                return
            }
        }
        for segment in doomed { directory.remove(segment.name) }
        directory.syncDirectory()
        let waiters = state.withLock { s -> [CheckedContinuation<Result<UInt64, SpoolError>?, Never>] in
            s.segments.removeFirst(doomed.count)
            s.totalBytes -= doomed.reduce(0) { $0 + $1.bytes }
            defer { s.spaceWaiters = [] }
            return s.spaceWaiters
        }
        waiters.forEach { $0.resume(returning: nil) }
    }

    /// Makes appends waiting for space fail instead of waiting (the pipeline is draining: nothing will settle
    /// after the drain deadline, so a full spool would never free space), and refuses new appends that do not fit.
    func stopWaitingForSpace() {
        let waiters = state.withLock { s -> [CheckedContinuation<Result<UInt64, SpoolError>?, Never>] in
            s.refuseWhenFull = true
            defer { s.spaceWaiters = [] }
            return s.spaceWaiters
        }
        waiters.forEach { $0.resume(returning: nil) }
    }

    /// At close, when the manifest could not be written (a full disk): if every destination settled everything,
    /// the segments (the active one included) are deleted to make room, then the manifest and the cursors that
    /// failed are written again. The next run then starts on a disk with space instead of failing to open.
    private func reclaimSettledActiveSegment() {
        let doomed = state.withLock { s -> [Segment]? in
            let frontier = s.settled.map(\.frontier).min() ?? (s.nextSequence &- 1)
            guard frontier >= s.nextSequence &- 1 else { return nil }
            if s.activeDescriptor >= 0 { closeDescriptor(s.activeDescriptor) }
            s.activeDescriptor = -1
            defer {
                s.segments = []
                s.totalBytes = 0
            }
            return s.segments
        }
        guard let doomed else { return }
        for segment in doomed { directory.remove(segment.name) }
        directory.syncDirectory()
        do { try writeManifest() } catch { onProblem("\(error)") }
        _ = writeChangedCursors()
    }

    /// Final commit, cursors and manifest; stops the committer. Appends after this fail.
    func close() {
        let first = state.withLock { s -> Bool in
            defer { s.closed = true }
            return !s.closed
        }
        guard first else { return }
        cursorWake.signal()
        cursorWriterDone.wait()
        wake.signal()
        committerDone.wait()
        do { try writeManifest() } catch { reclaimSettledActiveSegment() }
        let (space, durable) = state.withLock { s in
            if s.activeDescriptor >= 0 { closeDescriptor(s.activeDescriptor) }
            s.activeDescriptor = -1
            defer { s.spaceWaiters = []; s.durableWaiters = [] }
            return (s.spaceWaiters, s.durableWaiters.map(\.continuation))
        }
        space.forEach { $0.resume(returning: nil) }
        durable.forEach { $0.resume() }
        directory.unlock()
    }
}

/// `close(2)`, out of reach of ``Spool/close()``'s name.
private func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}
