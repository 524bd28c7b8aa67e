/// The on-disk layout of spool segment files.
///
/// A segment starts with a 16-byte header: the magic `SLUICESP`, a little-endian `UInt32` format version and
/// 4 reserved bytes. Records follow, each a 32-byte header and its payload:
///
/// ```
/// [length u32][crc32c u32][sequence u64][source offset u64][first line u64][appended at u64][payload]
/// ```
///
/// All integers are little-endian. The CRC-32C covers the payload and then the header's other fields (length,
/// sequence, offset, line, time), so a torn write (a short tail) or a flipped bit anywhere in a record is detected. The payload is input exactly as
/// it entered the pipeline (whole NDJSON lines, or one `ingest` body), never the encoded output, so changing a
/// destination's format between runs is fine. The source offset is how far into an input file the input had
/// been read once this record was complete (0 for other sources); the first line is the input line number of
/// the payload's first line, so invalid input found on replay is reported with its original line number; "appended
/// at" is the wall-clock time (Unix milliseconds) the record was written, for the age of the oldest unsettled
/// record.
enum SpoolFormat {
    static let magic: [UInt8] = Array("SLUICESP".utf8)
    /// Bumped whenever the layout changes; a segment with a version outside ``readableVersions`` is refused
    /// with a clear error.
    /// Version 2: a first-line field with its top bit set marks a payload that starts with an ``IngestContext``.
    /// Version 3: bit 62 of the first-line field marks a record of stream lines (``SpooledStreamLines``).
    static let version: UInt32 = 3
    /// The versions this Sluice reads: a version-2 segment's records replay as bodies, as they were decoded live.
    static let readableVersions: ClosedRange<UInt32> = 2...3
    static let fileHeaderSize = 16
    static let recordHeaderSize = 40
    /// A record larger than this is not one Sluice wrote (a corrupt length field): recovery stops there.
    static let maxPayload = 256 << 20

    static func fileHeader() -> [UInt8] {
        var header = magic
        appendLittleEndian(version, to: &header)
        appendLittleEndian(UInt32(0), to: &header)
        return header
    }

    /// A record's 40-byte header with a zero sequence number and CRC (``seal(_:sequence:payloadCRC:)`` fills
    /// both once the writer has assigned the sequence).
    static func recordHeader(payloadCount: Int, sourceOffset: UInt64, firstLine: UInt64, appendedAt: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(recordHeaderSize)
        appendLittleEndian(UInt32(payloadCount), to: &bytes)
        appendLittleEndian(UInt32(0), to: &bytes)
        appendLittleEndian(UInt64(0), to: &bytes)
        appendLittleEndian(sourceOffset, to: &bytes)
        appendLittleEndian(firstLine, to: &bytes)
        appendLittleEndian(appendedAt, to: &bytes)
        return bytes
    }

    /// Writes the sequence number and the CRC into a header. The CRC runs over the payload first and the header
    /// fields after it, so the expensive part (the payload) is computed before the writer's lock is taken.
    static func seal(_ header: inout [UInt8], sequence: UInt64, payloadCRC: UInt32) {
        withUnsafeBytes(of: sequence.littleEndian) { header.replaceSubrange(8..<16, with: $0) }
        let crc = header.withUnsafeBytes { checksum(header: $0, payloadCRC: payloadCRC) }
        withUnsafeBytes(of: crc.littleEndian) { header.replaceSubrange(4..<8, with: $0) }
    }

    /// The CRC a record should carry: the payload's CRC-32C continued over the header without its CRC field.
    static func checksum(header: UnsafeRawBufferPointer, payloadCRC: UInt32) -> UInt32 {
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: header[0..<4]), continuing: payloadCRC)
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: header[8..<recordHeaderSize]), continuing: crc)
    }

    static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    static func readLittleEndian<T: FixedWidthInteger>(_ type: T.Type, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// A segment's file name: its first sequence number, zero-padded so names sort in sequence order.
    static func segmentName(firstSequence: UInt64) -> String {
        let digits = String(firstSequence)
        return "segment-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".spool"
    }

    /// The first sequence number encoded in a segment's file name, or nil for any other file.
    static func firstSequence(ofSegmentNamed name: String) -> UInt64? {
        guard name.hasPrefix("segment-"), name.hasSuffix(".spool") else { return nil }
        return UInt64(name.dropFirst(8).dropLast(6))
    }
}

/// A record read back from a segment.
struct SpoolRecord: Sendable, Equatable {
    /// The record's sequence number: one per unit of input, increasing across segments.
    var sequence: UInt64
    /// How far into the input file input had been read when this record was complete (0 when not a file).
    var sourceOffset: UInt64
    /// The input line number of the payload's first line.
    var firstLine: UInt64
    /// When the record was written (Unix milliseconds).
    var appendedAt: UInt64
    /// The input, as it entered the pipeline.
    var payload: [UInt8]
}
