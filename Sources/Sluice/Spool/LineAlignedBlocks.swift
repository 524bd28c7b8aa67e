#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Cuts a byte stream into records of whole lines: what the spool stores.
///
/// A record must start and end on a line boundary, so that replaying any record alone decodes exactly the
/// events the live run decoded from it, and so that a unit of input (one record) owns whole lines. Read blocks
/// end anywhere, so the bytes after a block's last newline wait for the next block. A line longer than
/// `maxLineBytes` is invalid whatever happens to it; rather than buffer it whole, only its first
/// `maxLineBytes + 1` bytes are kept (still over the limit, so it is reported as overlong, live and on replay)
/// and the rest is skipped up to its newline. Memory: one carried partial line, at most `maxLineBytes + 1`.
///
/// Cost: one `memchr` pass over each block finds the record boundaries and counts the lines. Records are slices
/// of the block that was read (no copy), except the first of each block, which starts with the line carried
/// over from the previous block and so is assembled in a new buffer.
struct LineAlignedBlocks {
    /// A record: whole lines, the input line number of its first, and the input offset just past its last.
    struct Piece: Sendable {
        var bytes: ArraySlice<UInt8>
        var firstLine: UInt64
        var endOffset: UInt64
    }

    let maxLineBytes: Int
    /// The most lines a record holds.
    let maxLines: Int
    private var carry: [UInt8] = []
    private var discarding = false
    /// The input offset just past the last line returned (including skipped overlong-line bytes).
    private(set) var consumed: UInt64 = 0
    /// Bytes read after `consumed`: the carried partial line and any skipped bytes of an overlong one.
    private var pendingConsumed: UInt64 = 0
    /// Lines returned so far: the number of the next record's first line is `lines + 1`.
    private(set) var lines: UInt64 = 0

    init(maxLineBytes: Int, maxLines: Int, startingAt offset: UInt64 = 0) {
        self.maxLineBytes = maxLineBytes
        self.maxLines = max(1, maxLines)
        consumed = offset
    }

    /// The records completed by `block` (with any carried start of its first line), oldest first.
    mutating func cut(_ block: [UInt8]) -> [Piece] {
        let blockOffset = consumed + pendingConsumed
        pendingConsumed += UInt64(block.count)
        return block.withUnsafeBytes { raw -> [Piece] in
            guard let base = raw.baseAddress, raw.count > 0 else { return [] }
            var position = 0
            var lineInPiece = 0
            if discarding {
                // Skip the overlong line's bytes up to its newline; its kept prefix is then a whole line.
                guard let newline = memchr(base, 0x0A, raw.count) else { return [] }
                position = UnsafeRawPointer(newline) - base + 1
                carry.append(0x0A)
                discarding = false
                lineInPiece = 1
            }
            var pieces: [Piece] = []
            var pieceStart = position
            var lastEnd = position
            func emit(upTo end: Int) {
                var bytes: ArraySlice<UInt8>
                if carry.isEmpty {
                    bytes = block[pieceStart..<end]
                } else {
                    carry.append(contentsOf: raw[pieceStart..<end])
                    bytes = carry[...]
                    carry = []
                }
                if bytes.isEmpty { return }
                pieces.append(Piece(bytes: bytes, firstLine: lines + 1, endOffset: blockOffset + UInt64(end)))
                lines += UInt64(lineInPiece)
                lineInPiece = 0
                pieceStart = end
            }
            if lineInPiece == maxLines { emit(upTo: position) }
            while position < raw.count, let found = memchr(base + position, 0x0A, raw.count - position) {
                position = UnsafeRawPointer(found) - base + 1
                lastEnd = position
                lineInPiece += 1
                if lineInPiece == maxLines { emit(upTo: position) }
            }
            if lineInPiece > 0 { emit(upTo: lastEnd) }
            if !pieces.isEmpty {
                consumed = pieces[pieces.count - 1].endOffset
                pendingConsumed = blockOffset + UInt64(raw.count) - consumed
            }
            keep(raw[lastEnd...])
            return pieces
        }
    }

    /// At end of input: the last line, if it had no newline (one is added: it is still a line).
    mutating func finish() -> Piece? {
        let end = consumed + pendingConsumed
        consumed = end
        pendingConsumed = 0
        guard !carry.isEmpty else { return nil }
        if carry.last != 0x0A { carry.append(0x0A) }
        discarding = false
        let piece = Piece(bytes: carry[...], firstLine: lines + 1, endOffset: end)
        carry = []
        lines += 1
        return piece
    }

    private mutating func keep(_ bytes: Slice<UnsafeRawBufferPointer>) {
        guard !bytes.isEmpty else { return }
        let room = maxLineBytes + 1 - carry.count
        if bytes.count > room {
            carry.append(contentsOf: bytes.prefix(max(0, room)))
            discarding = true
        } else {
            carry.append(contentsOf: bytes)
        }
    }
}
