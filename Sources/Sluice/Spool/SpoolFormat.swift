/// The on-disk layout of spool segment files.
///
/// A segment starts with a 16-byte header: the magic `SLUICESP`, a little-endian `UInt32` format version and
/// 4 reserved bytes. Records follow, each a 32-byte header and its payload:
///
/// ```
/// [length u32][crc32c u32][sequence u64][source offset u64][first line u64][appended at u64][payload]
/// ```
///
/// All integers are little-endian. The CRC-32C covers the length, the three 64-bit fields and the payload, so a
/// torn write (a short tail) or a flipped bit anywhere in a record is detected. The payload is input exactly as
/// it entered the pipeline (whole NDJSON lines, or one `ingest` body), never the encoded output, so changing a
/// destination's format between runs is fine. The source offset is how far into an input file the input had
/// been read once this record was complete (0 for other sources); the first line is the input line number of
/// the payload's first line, so invalid input found on replay is reported with its original line number; "appended
/// at" is the wall-clock time (Unix milliseconds) the record was written, for the age of the oldest unsettled
/// record.
enum SpoolFormat {
    static let magic: [UInt8] = Array("SLUICESP".utf8)
    /// Bumped whenever the layout changes; a segment with another version is refused with a clear error.
    static let version: UInt32 = 1
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

    /// One record, ready to append.
    static func record(sequence: UInt64, sourceOffset: UInt64, firstLine: UInt64, appendedAt: UInt64,
                       payload: UnsafeRawBufferPointer) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(recordHeaderSize + payload.count)
        appendLittleEndian(UInt32(payload.count), to: &bytes)
        appendLittleEndian(UInt32(0), to: &bytes)  // the CRC, filled in below
        appendLittleEndian(sequence, to: &bytes)
        appendLittleEndian(sourceOffset, to: &bytes)
        appendLittleEndian(firstLine, to: &bytes)
        appendLittleEndian(appendedAt, to: &bytes)
        bytes.append(contentsOf: payload)
        let crc = bytes.withUnsafeBytes { checksum(ofRecord: $0) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(4..<8, with: $0) }
        return bytes
    }

    /// The CRC a whole record (header and payload) should carry: everything except the CRC field itself.
    static func checksum(ofRecord record: UnsafeRawBufferPointer) -> UInt32 {
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: record[0..<4]))
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: record[8...]), continuing: crc)
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
