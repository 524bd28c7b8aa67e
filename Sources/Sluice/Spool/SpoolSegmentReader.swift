#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads one segment file front to back, one record at a time, checking every record's CRC.
///
/// Memory is one read buffer (grown only to the largest record met), whatever the segment's size: replaying a
/// 1 GiB backlog streams it. A record that is short (a torn write at a crash) or fails its CRC (a flipped bit)
/// ends the segment for the reader: a length field cannot be trusted past a bad record, so nothing after it
/// can be framed, unless the record was whole and only its CRC failed: then its length is probably right and
/// the caller may skip it and check that a valid record follows. The caller decides what damage means
/// (truncate a torn tail on open; skip a bad record on replay).
final class SpoolSegmentReader {
    enum Step {
        case record(SpoolRecord)
        /// The clean end of the file.
        case end
        /// A torn or corrupt record at `offset` (bytes from the start of the file). When `skippable` (its whole
        /// length is there but its CRC does not match: a flipped bit, not a torn write), ``skipDamaged()`` moves
        /// past it and reading can go on; otherwise nothing after it can be framed.
        case damaged(offset: Int, reason: String, skippable: Bool)
    }

    let path: String
    private let fd: Int32
    private var buffer: [UInt8]
    private var start = 0  // first unread byte in buffer
    private var filled = 0  // bytes of buffer holding file content
    private var fileOffsetOfBuffer: Int
    private var atEndOfFile = false
    private var damagedLength = 0

    /// Opens a segment and checks its header; a missing file, a foreign file and an unknown format version are
    /// clear errors.
    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SpoolError("spool: cannot open \(path): \(String(cString: strerror(errno)))") }
        do {
            try Self.checkHeader(fd: fd, path: path)
        } catch {
            close(fd)
            throw error
        }
        self.fd = fd
        buffer = [UInt8](repeating: 0, count: 1 << 20)
        fileOffsetOfBuffer = SpoolFormat.fileHeaderSize
    }

    deinit { close(fd) }

    /// Checks the 16-byte file header: a short header, a foreign file and an unknown version are clear errors.
    static func checkHeader(fd: Int32, path: String) throws {
        var header = [UInt8](repeating: 0, count: SpoolFormat.fileHeaderSize)
        let n = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n == SpoolFormat.fileHeaderSize else {
            throw SpoolError("spool: \(path) is shorter than a segment header (\(max(0, n)) bytes)")
        }
        guard Array(header[0..<8]) == SpoolFormat.magic else {
            throw SpoolError("spool: \(path) is not a Sluice spool segment (wrong magic bytes)")
        }
        let version = header.withUnsafeBytes { SpoolFormat.readLittleEndian(UInt32.self, $0, at: 8) }
        guard SpoolFormat.readableVersions.contains(version) else {
            throw SpoolError("spool: \(path) has format version \(version); this Sluice reads versions "
                             + "\(SpoolFormat.readableVersions.lowerBound)-\(SpoolFormat.readableVersions.upperBound) "
                             + "(written by another Sluice version: drain it with that version, or move the directory away)",
                             isUnknownVersion: true)
        }
    }

    /// The offset just past the last record returned (where a truncation keeps everything read so far).
    var offset: Int { fileOffsetOfBuffer + start }

    func next() -> Step {
        let headerSize = SpoolFormat.recordHeaderSize
        guard ensure(headerSize) else {
            return available == 0 ? .end : .damaged(offset: offset, reason: "torn record header (\(available) of \(headerSize) bytes)", skippable: false)
        }
        let (length, expected) = buffer.withUnsafeBytes { raw -> (Int, UInt32) in
            let base = UnsafeRawBufferPointer(rebasing: raw[start...])
            return (Int(SpoolFormat.readLittleEndian(UInt32.self, base, at: 0)), SpoolFormat.readLittleEndian(UInt32.self, base, at: 4))
        }
        guard length <= SpoolFormat.maxPayload else {
            return .damaged(offset: offset, reason: "record length \(length) is larger than any record Sluice writes", skippable: false)
        }
        guard ensure(headerSize + length) else {
            return .damaged(offset: offset, reason: "torn record (\(available) of \(headerSize + length) bytes)", skippable: false)
        }
        let record = buffer.withUnsafeBytes { raw -> SpoolRecord? in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[start..<(start + headerSize + length)])
            let payloadCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[headerSize...]))
            guard SpoolFormat.checksum(header: bytes, payloadCRC: payloadCRC) == expected else { return nil }
            return SpoolRecord(sequence: SpoolFormat.readLittleEndian(UInt64.self, bytes, at: 8),
                               sourceOffset: SpoolFormat.readLittleEndian(UInt64.self, bytes, at: 16),
                               firstLine: SpoolFormat.readLittleEndian(UInt64.self, bytes, at: 24),
                               appendedAt: SpoolFormat.readLittleEndian(UInt64.self, bytes, at: 32),
                               payload: Array(bytes[headerSize...]))
        }
        guard let record else {
            damagedLength = headerSize + length
            return .damaged(offset: offset, reason: "CRC mismatch", skippable: true)
        }
        start += headerSize + length
        return .record(record)
    }

    /// Moves past the record a skippable `.damaged` step reported.
    func skipDamaged() {
        start += damagedLength
        damagedLength = 0
    }

    private var available: Int { filled - start }

    /// Makes `count` bytes available from `start`, reading more of the file; false at end of file.
    private func ensure(_ count: Int) -> Bool {
        if available >= count { return true }
        if start > 0 {
            // Slide the unread tail to the front.
            let tail = available
            buffer.withUnsafeMutableBytes { raw in
                if tail > 0 { raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: tail) }
            }
            fileOffsetOfBuffer += start
            start = 0
            filled = tail
        }
        if buffer.count < count { buffer.append(contentsOf: repeatElement(0, count: count - buffer.count)) }
        while available < count && !atEndOfFile {
            let n = buffer.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + filled, raw.count - filled, off_t(fileOffsetOfBuffer + filled))
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { atEndOfFile = true; break }
            filled += n
        }
        return available >= count
    }
}
