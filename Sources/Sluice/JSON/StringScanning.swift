/// The hot loops shared by the reader's string validation and the writer's escaping: skip plain text (and, for
/// the reader, digit runs) eight bytes at a time in a `UInt64` (SWAR: every test below works on all eight byte
/// lanes at once, without carries between lanes unless said otherwise).
enum StringScanning {
    @usableFromInline static var ones: UInt64 { 0x0101_0101_0101_0101 }
    @usableFromInline static var highBits: UInt64 { 0x8080_8080_8080_8080 }

    /// The high bit of each byte lane of `x` that holds a quote, a backslash, a control byte (below 0x20) or a
    /// non-ASCII byte (0x80 and up).
    ///
    /// The subtractions borrow across lanes, so a term can also flag a byte *after* a genuine hit (borrows run
    /// upwards), never before one: the lowest flagged byte is always a genuine hit, and callers only use that one.
    @inlinable @inline(__always)
    static func specialBytes(_ x: UInt64) -> UInt64 {
        let quote = x ^ (ones &* 0x22)
        let slash = x ^ (ones &* 0x5C)
        // `(x - 0x20..) | x` has a byte's high bit set when it is below 0x20 (wraps) or at least 0x80.
        return ((x &- ones &* 0x20)
            | ((quote &- ones) & ~quote)
            | ((slash &- ones) & ~slash)
            | x) & highBits
    }

    /// Returns the offset of the first byte at or after `start` that is a quote, a backslash, a control byte
    /// (below 0x20) or non-ASCII (0x80 and up), looking only at whole eight-byte words before `end`; when no
    /// word holds one, returns the start of the last partial word (fewer than eight bytes before `end`), which
    /// the caller checks byte by byte.
    @inlinable @inline(__always)
    static func skipPlainWords(_ base: UnsafeRawPointer, from start: Int, end: Int) -> Int {
        var i = start
        while i + 8 <= end {
            let special = specialBytes(UInt64(littleEndian: (base + i).loadUnaligned(as: UInt64.self)))
            if special != 0 { return i + (special.trailingZeroBitCount &>> 3) }
            i += 8
        }
        return i
    }

    /// Like ``skipPlainWords(_:from:end:)``, but also settles the last partial word: returns the offset of the
    /// first special byte at or after `start`, or `end` when there is none.
    ///
    /// The last partial word is read as the eight bytes that end at `end` (an overlapping, unaligned load that
    /// never reads past the buffer: the caller guarantees `base[0..<end]` is readable, and this path needs
    /// `end >= 8`); the bytes before `start` are shifted out. Shorter buffers are checked byte by byte.
    /// (`StringScanningTests` pins it against ``skipPlainBytes(_:from:end:)`` at every offset and alignment.)
    @inlinable @inline(__always)
    static func skipPlain(_ base: UnsafeRawPointer, from start: Int, end: Int) -> Int {
        var i = start
        while i + 8 <= end {
            let special = specialBytes(UInt64(littleEndian: (base + i).loadUnaligned(as: UInt64.self)))
            if special != 0 { return i + (special.trailingZeroBitCount &>> 3) }
            i += 8
        }
        guard i < end else { return i }
        guard end >= 8 else { return skipPlainBytes(base, from: i, end: end) }
        let skipped = i - (end - 8)  // 1...7 bytes of the word lie before `i`
        let word = UInt64(littleEndian: (base + (end - 8)).loadUnaligned(as: UInt64.self)) &>> (skipped &<< 3)
        // The shift fills the top `skipped` lanes with zeros, which read as control bytes. They stand for offsets
        // `end...`, so no mask is needed: the lowest flagged lane is a genuine hit, or the first filler, at `end`.
        let special = specialBytes(word)
        return i + (special.trailingZeroBitCount &>> 3)
    }

    /// The byte-by-byte form of ``skipPlain(_:from:end:)``: the reference the word-at-a-time forms are tested
    /// against, and the path for buffers shorter than one word.
    @inlinable
    static func skipPlainBytes(_ base: UnsafeRawPointer, from start: Int, end: Int) -> Int {
        var i = start
        while i < end {
            let c = base.load(fromByteOffset: i, as: UInt8.self)
            if c < 0x20 || c >= 0x80 || c == 0x22 || c == 0x5C { return i }
            i += 1
        }
        return end
    }

    /// Returns the offset of the first byte at or after `start` that is not an ASCII digit, or `end`; eight
    /// bytes at a time while a whole word fits before `end`.
    @inlinable @inline(__always)
    static func skipDigits(_ base: UnsafeRawPointer, from start: Int, end: Int) -> Int {
        var i = start
        while i + 8 <= end {
            let x = UInt64(littleEndian: (base + i).loadUnaligned(as: UInt64.self))
            // With the high bits cleared no lane can carry: b + 0x50 reaches 0x80 iff b >= 0x30 ('0'), and
            // b + 0x46 iff b >= 0x3A (past '9'). A lane is a non-digit when below '0', past '9', or non-ASCII.
            let low = x & ~highBits
            let atLeastZero = (low &+ ones &* 0x50) & highBits
            let pastNine = (low &+ ones &* 0x46) & highBits
            let nonDigit = (~atLeastZero | pastNine | x) & highBits
            if nonDigit != 0 { return i + (nonDigit.trailingZeroBitCount &>> 3) }
            i += 8
        }
        while i < end && base.load(fromByteOffset: i, as: UInt8.self) &- 0x30 < 10 { i += 1 }
        return i
    }

    /// The byte-by-byte form of ``skipDigits(_:from:end:)``, for tests.
    static func skipDigitsBytes(_ base: UnsafeRawPointer, from start: Int, end: Int) -> Int {
        var i = start
        while i < end && base.load(fromByteOffset: i, as: UInt8.self) &- 0x30 < 10 { i += 1 }
        return i
    }
}
