#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Cuts a byte stream into blocks of whole lines: what the spool stores as records.
///
/// A record must start and end on a line boundary, so that replaying any record alone decodes exactly the
/// events the live run decoded from it, and so that a unit of input (one record) owns whole lines. Read blocks
/// end anywhere, so the bytes after a block's last newline wait for the next block. A line longer than
/// `maxLineBytes` is invalid whatever happens to it; rather than buffer it whole, only its first
/// `maxLineBytes + 1` bytes are kept (still over the limit, so it is reported as overlong, live and on replay)
/// and the rest is skipped up to its newline. Memory: one carried partial line, at most `maxLineBytes + 1`.
struct LineAlignedBlocks {
    let maxLineBytes: Int
    private var carry: [UInt8] = []
    private var discarding = false
    /// Input bytes consumed into returned blocks (including skipped overlong-line bytes): the source offset
    /// at the end of the last block returned.
    private(set) var consumed: UInt64 = 0
    private var pendingConsumed: UInt64 = 0
    /// Lines in the blocks returned so far: the number of the next block's first line is `lines + 1`.
    private(set) var lines: UInt64 = 0

    init(maxLineBytes: Int, startingAt offset: UInt64 = 0) {
        self.maxLineBytes = maxLineBytes
        consumed = offset
    }

    /// The whole lines completed by `block` (with any carried start of the first), or nil when it completes none.
    mutating func cut(_ block: [UInt8]) -> [UInt8]? {
        pendingConsumed += UInt64(block.count)
        var rest = block[...]
        var head: [UInt8] = []
        if discarding {
            // Skip the overlong line's bytes up to its newline; its kept prefix is then a whole line.
            guard let newline = rest.firstIndex(of: 0x0A) else { return nil }
            carry.append(0x0A)
            head = carry
            carry = []
            rest = rest[(newline + 1)...]
            discarding = false
        }
        // Scanning backwards finds the last newline within one line's length of the end.
        guard let lastNewline = rest.lastIndex(of: 0x0A) else {
            if !head.isEmpty { return finishBlock(head, leaving: rest) }
            keep(rest)
            return nil
        }
        let split = lastNewline + 1
        var whole = head.isEmpty ? carry : head
        carry = []
        whole.append(contentsOf: rest[..<split])
        return finishBlock(whole, leaving: rest[split...])
    }

    /// At end of input: the last line, if it had no newline (one is added: it is still a line).
    mutating func finish() -> [UInt8]? {
        guard !carry.isEmpty else {
            consumed += pendingConsumed
            pendingConsumed = 0
            return nil
        }
        if carry.last != 0x0A { carry.append(0x0A) }
        discarding = false
        let block = carry
        carry = []
        return finishBlock(block, leaving: [])
    }

    private mutating func keep(_ bytes: ArraySlice<UInt8>) {
        let room = maxLineBytes + 1 - carry.count
        if bytes.count > room {
            carry.append(contentsOf: bytes.prefix(max(0, room)))
            discarding = true
        } else {
            carry.append(contentsOf: bytes)
        }
    }

    /// Counts a returned block's lines and bytes, and carries `tail` (the start of the next line).
    private mutating func finishBlock(_ block: [UInt8], leaving tail: ArraySlice<UInt8>) -> [UInt8] {
        consumed += pendingConsumed - UInt64(tail.count)
        pendingConsumed = UInt64(tail.count)
        keep(tail)
        lines += Self.newlines(in: block)
        return block
    }

    /// `block` (whole lines) in pieces of at most `maxLines` lines.
    static func split(_ block: [UInt8], maxLines: Int) -> [[UInt8]] {
        block.withUnsafeBytes { raw -> [[UInt8]] in
            guard let base = raw.baseAddress, raw.count > 0 else { return [] }
            var pieces: [[UInt8]] = []
            var start = 0, position = 0, lines = 0
            while position < raw.count, let found = memchr(base + position, 0x0A, raw.count - position) {
                position = UnsafeRawPointer(found) - base + 1
                lines += 1
                if lines == maxLines {
                    pieces.append(Array(raw[start..<position]))
                    start = position
                    lines = 0
                }
            }
            if start < raw.count { pieces.append(Array(raw[start...])) }
            return pieces
        }
    }

    static func newlines(in block: [UInt8]) -> UInt64 {
        block.withUnsafeBytes { raw in
            guard var p = raw.baseAddress else { return 0 }
            let end = p + raw.count
            var n: UInt64 = 0
            while p < end, let found = memchr(p, 0x0A, end - p) {
                n += 1
                p = UnsafeRawPointer(found) + 1
            }
            return n
        }
    }
}
