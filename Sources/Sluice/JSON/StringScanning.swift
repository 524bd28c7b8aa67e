/// The hot loop shared by the reader's string validation and the writer's escaping: skip plain text eight
/// bytes at a time.
enum StringScanning {
    /// Returns the offset of the first byte at or after `start` that is a quote, a backslash, a control byte
    /// (below 0x20) or non-ASCII (0x80 and up), looking only at whole eight-byte words before `end`; when no
    /// word holds one, returns the start of the last partial word (fewer than eight bytes before `end`), which
    /// the caller checks byte by byte.
    ///
    /// Each term can also flag a byte *after* a genuine hit (borrows run upwards), never before one, so the
    /// lowest flagged byte is always a genuine hit.
    @inlinable @inline(__always)
    static func skipPlainWords(_ base: UnsafeRawPointer, from start: Int, end: Int) -> Int {
        var i = start
        while i + 8 <= end {
            let x = UInt64(littleEndian: (base + i).loadUnaligned(as: UInt64.self))
            let ones: UInt64 = 0x0101_0101_0101_0101
            let quote = x ^ (ones &* 0x22)
            let slash = x ^ (ones &* 0x5C)
            // `(x - 0x20..) | x` has a byte's high bit set when it is below 0x20 (wraps) or at least 0x80.
            let special = ((x &- ones &* 0x20)
                | ((quote &- ones) & ~quote)
                | ((slash &- ones) & ~slash)
                | x) & 0x8080_8080_8080_8080
            if special != 0 { return i + (special.trailingZeroBitCount &>> 3) }
            i += 8
        }
        return i
    }
}
