#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The de-duplication keys of spooled events, kept in the spool directory so dedupe survives a restart.
///
/// Files `dedupe-<index>.keys` (index zero-padded so names sort): a 16-byte header (magic `SLUICEDK`, a
/// little-endian `UInt32` format version, 4 reserved bytes), then blocks, one per chunk of new keys:
///
/// ```
/// [key count u32][crc32c u32] then per key: [high u64][low u64][event time i64][spool record u64]
/// ```
///
/// The CRC covers the keys, so a block torn by a crash is detected and ignored (a duplicate of one of its
/// events may then pass: never an event lost). Each key carries the spool record its event came from: on open,
/// only keys whose record every destination has settled are restored. A record still owed is replayed, and its
/// events must pass dedupe again to reach the destinations that are owed them; replaying re-journals their keys.
///
/// Bounded on disk: a file holds at most `keysPerFile` keys; the oldest file is deleted once the newer files
/// hold `capacity` keys, or once its newest key has left the event-time window (the table forgot them anyway),
/// or once the files together exceed `maxBytes` (a quarter of the spool's `maxBytes`: the key files count
/// toward it, see ``Spool/setKeyFileBytes(_:)``). A small spool therefore keeps fewer keys across a restart:
/// the newest `maxBytes / 32` at most.
/// Writes go to the page cache per chunk (they survive a SIGKILL at once); ``sync()`` fsyncs them on the spool's
/// group commit, so with `sync: always` or `interval` a power loss costs at most one commit interval of keys.
final class DedupeKeyJournal: Sendable {
    static let magic: [UInt8] = Array("SLUICEDK".utf8)
    static let version: UInt32 = 1
    static let fileHeaderSize = 16
    static let blockHeaderSize = 8
    static let entrySize = 32
    /// A block claiming more keys than this is not one Sluice wrote (a chunk holds at most 65,536 events).
    static let maxKeysPerBlock = 1 << 20

    private struct File {
        var index: UInt64
        var keys: Int
        var bytes: Int
        var newestEventTime: Int64
        var name: String { DedupeKeyJournal.fileName(index: index) }
    }

    private struct State {
        var files: [File] = []
        var descriptor: Int32 = -1
        /// Bytes of whole blocks in the active file (a failed write is cut back to this).
        var activeBytes = 0
        var watermark = Int64.min
        var unsynced: [Int32] = []
        var activeDirty = false
        var directoryChanged = false
        var writeFailures = 0
        var closed = false
        /// Bytes of all the files (reported through `onBytes` as it changes).
        var totalBytes = 0
    }

    let directory: SpoolDirectory
    let capacity: Int
    let windowMilliseconds: Int64
    /// The most bytes the files may hold together.
    let maxBytes: Int
    let keysPerFile: Int
    private let state: Mutex<State>
    private let onProblem: @Sendable (String) -> Void
    private let onBytes: @Sendable (Int) -> Void

    /// What opening found: the keys to restore, and notes about damaged files.
    struct Opened {
        var journal: DedupeKeyJournal
        var restored: [RememberedKey]
        var notes: [String]
    }

    /// Opens the journal in `directory` and reads what earlier runs wrote: keys whose record `isSettled` says
    /// every destination settled, within `windowMilliseconds` of the newest key and the last `capacity` of them.
    /// New keys go to a new file. Throws only for a file of an unknown format version or an unusable directory.
    /// `maxBytes` bounds the files' total size; `onBytes` is told that total whenever it changes.
    static func open(directory: SpoolDirectory, capacity: Int, windowMilliseconds: Int64, maxBytes: Int = .max,
                     isSettled: (UInt64) -> Bool, onProblem: @escaping @Sendable (String) -> Void,
                     onBytes: @escaping @Sendable (Int) -> Void = { _ in }) throws -> Opened {
        var notes: [String] = []
        var files: [File] = []
        var candidates: [RememberedKey] = []
        var newest = Int64.min
        let names = try directory.entries().compactMap { name in index(ofFileNamed: name).map { ($0, name) } }.sorted { $0.0 < $1.0 }
        for (index, name) in names {
            let path = directory.file(name)
            let read = try readFile(path)
            if let note = read.note {
                notes.append(note)
                // Cut the damage off, so the next start does not report it again.
                if read.goodBytes >= fileHeaderSize { _ = truncate(path, off_t(read.goodBytes)) }
            }
            if read.entries.isEmpty, read.note == nil {
                // Only a header (a run that saw no new keys): nothing to keep.
                directory.remove(name)
                continue
            }
            var file = File(index: index, keys: 0, bytes: max(read.goodBytes, fileHeaderSize), newestEventTime: Int64.min)
            for entry in read.entries {
                file.keys += 1
                file.newestEventTime = max(file.newestEventTime, entry.eventTime)
                newest = max(newest, entry.eventTime)
                if entry.record != 0, isSettled(entry.record) {
                    candidates.append(RememberedKey(key: entry.key, eventTimeMilliseconds: entry.eventTime))
                }
            }
            files.append(file)
        }
        if windowMilliseconds > 0, newest != Int64.min {
            let (cutoff, overflow) = newest.subtractingReportingOverflow(windowMilliseconds)
            if !overflow { candidates.removeAll { $0.eventTimeMilliseconds < cutoff } }
        }
        if candidates.count > capacity { candidates.removeFirst(candidates.count - capacity) }

        let journal = DedupeKeyJournal(directory: directory, capacity: capacity, windowMilliseconds: windowMilliseconds,
                                       maxBytes: maxBytes, files: files, watermark: newest, onProblem: onProblem, onBytes: onBytes)
        try journal.state.withLock { s in try journal.openNewFile(&s) }
        journal.state.withLock { s in journal.deleteForgottenFiles(&s) }
        onBytes(journal.state.withLock { $0.totalBytes })
        return Opened(journal: journal, restored: candidates, notes: notes)
    }

    private init(directory: SpoolDirectory, capacity: Int, windowMilliseconds: Int64, maxBytes: Int, files: [File],
                 watermark: Int64, onProblem: @escaping @Sendable (String) -> Void, onBytes: @escaping @Sendable (Int) -> Void) {
        self.directory = directory
        self.capacity = max(1, capacity)
        self.windowMilliseconds = windowMilliseconds
        self.maxBytes = max(1, maxBytes)
        // Four files' worth of capacity: deleting the oldest frees a quarter, and a small table still gets
        // files large enough that rotation is rare. Under a byte budget, a file is at most a fifth of it, so
        // deleting old files can always bring the total back within it.
        keysPerFile = max(256, min(max(4096, self.capacity / 4), self.maxBytes / 5 / Self.entrySize))
        self.onProblem = onProblem
        self.onBytes = onBytes
        var initial = State()
        initial.totalBytes = files.reduce(0) { $0 + $1.bytes }
        initial.files = files
        initial.watermark = watermark
        state = Mutex(initial)
    }

    /// Journal writes that failed (a full disk): their keys are remembered in memory only.
    var writeFailures: Int { state.withLock { $0.writeFailures } }

    /// Appends the new keys of one chunk, all from spool record `record` (0: unknown, never restored).
    func append(_ keys: [RememberedKey], record: UInt64) {
        guard !keys.isEmpty else { return }
        // The block is filled in place (fixed-size fields at known offsets), not appended field by field.
        var newest = Int64.min
        let block = [UInt8](unsafeUninitializedCapacity: Self.blockHeaderSize + keys.count * Self.entrySize) { buffer, count in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var offset = Self.blockHeaderSize
            for remembered in keys {
                raw.storeBytes(of: remembered.key.high.littleEndian, toByteOffset: offset, as: UInt64.self)
                raw.storeBytes(of: remembered.key.low.littleEndian, toByteOffset: offset + 8, as: UInt64.self)
                raw.storeBytes(of: remembered.eventTimeMilliseconds.littleEndian, toByteOffset: offset + 16, as: Int64.self)
                raw.storeBytes(of: record.littleEndian, toByteOffset: offset + 24, as: UInt64.self)
                newest = max(newest, remembered.eventTimeMilliseconds)
                offset += Self.entrySize
            }
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[Self.blockHeaderSize..<offset]))
            raw.storeBytes(of: UInt32(keys.count).littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
            count = offset
        }
        let failure = state.withLock { s -> String? in
            guard !s.closed else { return nil }
            if s.files.last.map({ $0.keys + keys.count > keysPerFile }) ?? true {
                do { try openNewFile(&s) } catch {
                    s.writeFailures += 1
                    return s.writeFailures == 1 ? "\(error)" : nil
                }
            }
            guard SpoolDirectory.writeAll(s.descriptor, block) else {
                let reason = SpoolDirectory.describeErrno()
                _ = ftruncate(s.descriptor, off_t(s.activeBytes))
                s.writeFailures += 1
                return s.writeFailures == 1 ? "spool: cannot write \(directory.file(s.files[s.files.count - 1].name)): \(reason)" : nil
            }
            s.activeBytes += block.count
            s.totalBytes += block.count
            s.activeDirty = true
            s.files[s.files.count - 1].keys += keys.count
            s.files[s.files.count - 1].bytes += block.count
            s.files[s.files.count - 1].newestEventTime = max(s.files[s.files.count - 1].newestEventTime, newest)
            s.watermark = max(s.watermark, newest)
            deleteForgottenFiles(&s)
            onBytes(s.totalBytes)
            return nil
        }
        if let failure {
            onProblem(failure + " (dedupe keys are kept in memory only: a duplicate arriving after a restart may be delivered again)")
        }
    }

    /// fsyncs what was written since the last call (the spool's committer calls it on each group commit).
    func sync() {
        let (descriptors, directoryChanged) = state.withLock { s -> ([Int32], Bool) in
            var descriptors = s.unsynced
            s.unsynced = []
            if s.activeDirty, s.descriptor >= 0 {
                let copy = dup(s.descriptor)
                if copy >= 0 { descriptors.append(copy) }
            }
            s.activeDirty = false
            defer { s.directoryChanged = false }
            return (descriptors, s.directoryChanged)
        }
        for fd in descriptors {
            _ = fsync(fd)
            _ = Glibc.close(fd)
        }
        if directoryChanged { directory.syncDirectory() }
    }

    /// The final sync; later appends are ignored.
    func close() {
        sync()
        state.withLock { s in
            s.closed = true
            if s.descriptor >= 0 {
                if directory.durable { _ = fsync(s.descriptor) }
                _ = Glibc.close(s.descriptor)
            }
            s.descriptor = -1
        }
    }

    // MARK: - Files

    private func openNewFile(_ s: inout State) throws {
        let index = (s.files.last?.index ?? 0) + 1
        let name = Self.fileName(index: index)
        let path = directory.file(name)
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SpoolError("spool: cannot create \(path): \(SpoolDirectory.describeErrno())") }
        var header = Self.magic
        SpoolFormat.appendLittleEndian(Self.version, to: &header)
        SpoolFormat.appendLittleEndian(UInt32(0), to: &header)
        guard SpoolDirectory.writeAll(fd, header) else {
            let reason = SpoolDirectory.describeErrno()
            _ = Glibc.close(fd)
            unlink(path)
            throw SpoolError("spool: cannot write \(path): \(reason)")
        }
        if s.descriptor >= 0 {
            if s.activeDirty { s.unsynced.append(s.descriptor) } else { _ = Glibc.close(s.descriptor) }
        }
        s.descriptor = fd
        s.activeBytes = header.count
        s.totalBytes += header.count
        s.activeDirty = true
        s.directoryChanged = true
        s.files.append(File(index: index, keys: 0, bytes: header.count, newestEventTime: Int64.min))
        onBytes(s.totalBytes)
    }

    /// Deletes the oldest files whose keys the table has forgotten (the newer files already hold `capacity`
    /// keys, or every key in it is older than the window), and old files while the total is over `maxBytes`.
    /// The active file is never deleted. Tells `onBytes` the new total.
    private func deleteForgottenFiles(_ s: inout State) {
        var newerKeys = s.files.dropFirst().reduce(0) { $0 + $1.keys }
        let cutoff: Int64? = windowMilliseconds > 0 && s.watermark != Int64.min
            ? s.watermark.subtractingReportingOverflow(windowMilliseconds).partialValue : nil
        while s.files.count > 1 {
            let oldest = s.files[0]
            let outOfWindow = cutoff.map { oldest.newestEventTime < $0 } ?? false
            guard newerKeys >= capacity || outOfWindow || s.totalBytes > maxBytes else { break }
            directory.remove(oldest.name)
            s.totalBytes -= oldest.bytes
            s.files.removeFirst()
            newerKeys -= s.files[0].keys
            s.directoryChanged = true
        }
    }

    static func fileName(index: UInt64) -> String {
        let digits = String(index)
        return "dedupe-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".keys"
    }

    static func index(ofFileNamed name: String) -> UInt64? {
        guard name.hasPrefix("dedupe-"), name.hasSuffix(".keys") else { return nil }
        return UInt64(name.dropFirst(7).dropLast(5))
    }

    // MARK: - Reading

    struct Entry: Equatable {
        var key: DedupeKey
        var eventTime: Int64
        var record: UInt64
    }

    /// Every whole block of one file. A torn or damaged block ends the file (with a note); a file that is not a
    /// key journal is ignored (with a note); an unknown version is an error.
    static func readFile(_ path: String) throws -> (entries: [Entry], note: String?, goodBytes: Int) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SpoolError("spool: cannot read \(path): \(SpoolDirectory.describeErrno())") }
        defer { _ = Glibc.close(fd) }
        var header = [UInt8](repeating: 0, count: fileHeaderSize)
        let headerRead = readFully(fd, &header)
        if headerRead < fileHeaderSize {
            return ([], headerRead == 0 ? nil : "spool: \(path): shorter than its header (a crash while creating it): ignored", 0)
        }
        guard Array(header[0..<8]) == magic else {
            return ([], "spool: \(path) is not a dedupe key file (bad magic): ignored", 0)
        }
        let version = header.withUnsafeBytes { SpoolFormat.readLittleEndian(UInt32.self, $0, at: 8) }
        guard version == Self.version else {
            throw SpoolError("spool: \(path) has dedupe key format version \(version); this Sluice reads version \(Self.version)",
                             isUnknownVersion: true)
        }
        var entries: [Entry] = []
        var offset = fileHeaderSize
        var blockHeader = [UInt8](repeating: 0, count: blockHeaderSize)
        while true {
            let got = readFully(fd, &blockHeader)
            if got == 0 { return (entries, nil, offset) }
            let (count, crc) = blockHeader.withUnsafeBytes {
                (Int(SpoolFormat.readLittleEndian(UInt32.self, $0, at: 0)), SpoolFormat.readLittleEndian(UInt32.self, $0, at: 4))
            }
            guard got == blockHeaderSize, count > 0, count <= maxKeysPerBlock else {
                return (entries, "spool: \(path): torn or damaged key block at byte \(offset): the rest of the file is ignored", offset)
            }
            var body = [UInt8](repeating: 0, count: count * entrySize)
            guard readFully(fd, &body) == body.count, CRC32C.checksum(body) == crc else {
                return (entries, "spool: \(path): torn or damaged key block at byte \(offset): the rest of the file is ignored", offset)
            }
            body.withUnsafeBytes { raw in
                for index in 0..<count {
                    let base = index * entrySize
                    entries.append(Entry(key: DedupeKey(high: SpoolFormat.readLittleEndian(UInt64.self, raw, at: base),
                                                        low: SpoolFormat.readLittleEndian(UInt64.self, raw, at: base + 8)),
                                         eventTime: SpoolFormat.readLittleEndian(Int64.self, raw, at: base + 16),
                                         record: SpoolFormat.readLittleEndian(UInt64.self, raw, at: base + 24)))
                }
            }
            offset += blockHeaderSize + body.count
        }
    }

    /// Reads until `buffer` is full or the file ends; returns the bytes read (-1 on an error counts as the end).
    private static func readFully(_ fd: Int32, _ buffer: inout [UInt8]) -> Int {
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            total += n
        }
        return total
    }
}
