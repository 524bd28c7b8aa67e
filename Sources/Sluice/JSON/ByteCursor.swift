/// A write position in a raw output block whose capacity the caller has already guaranteed.
///
/// The hot writers (the event generator, the canonical export encoder) emit ~20 small pieces per event;
/// `Array.append`'s per-call capacity and uniqueness checks on each would cost more than the copies, so they
/// reserve room for a whole event up front (``Swift/Array/appendThroughCursor(maximumCount:_:)``) and write
/// through this cursor without checks.
struct ByteCursor {
    var position: UnsafeMutablePointer<UInt8>

    @inline(__always)
    mutating func append(_ literal: StaticString) {
        let count = literal.utf8CodeUnitCount
        position.update(from: literal.utf8Start, count: count)
        position += count
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        position.pointee = byte
        position += 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        UnsafeMutableRawPointer(position).copyMemory(from: base, byteCount: bytes.count)
        position += bytes.count
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress else { return }
        position.update(from: base, count: bytes.count)
        position += bytes.count
    }

    /// Copies bytes written earlier into the same block (e.g. the timestamp digits reused in metadata).
    @inline(__always)
    mutating func append(from start: UnsafeMutablePointer<UInt8>, count: Int) {
        position.update(from: start, count: count)
        position += count
    }

    /// Decimal digits of a non-negative value, no leading zeros.
    ///
    /// Every exported event has a 13-digit millisecond timestamp: the digit count comes from comparisons, not a
    /// division per digit, and the digits are written two at a time.
    @inline(__always)
    mutating func appendDecimal(_ value: UInt64) {
        appendDecimal(value, width: ByteCursor.decimalDigitCount(value))
    }

    /// How many decimal digits `value` has (1 for zero).
    @inline(__always)
    static func decimalDigitCount(_ value: UInt64) -> Int {
        // floor(log10) from the bit length (1233/4096 ~ log10 2), corrected by one comparison.
        let bits = UInt64.bitWidth - (value | 1).leadingZeroBitCount
        let estimate = (bits &* 1233) &>> 12
        return estimate + ((value | 1) >= powerOfTen(estimate) ? 1 : 0)  // `| 1`: zero has one digit
    }

    /// 10^`exponent` for 0...19.
    @inline(__always)
    static func powerOfTen(_ exponent: Int) -> UInt64 {
        switch exponent {
        case 0: 1
        case 1: 10
        case 2: 100
        case 3: 1_000
        case 4: 10_000
        case 5: 100_000
        case 6: 1_000_000
        case 7: 10_000_000
        case 8: 100_000_000
        case 9: 1_000_000_000
        case 10: 10_000_000_000
        case 11: 100_000_000_000
        case 12: 1_000_000_000_000
        case 13: 10_000_000_000_000
        case 14: 100_000_000_000_000
        case 15: 1_000_000_000_000_000
        case 16: 10_000_000_000_000_000
        case 17: 100_000_000_000_000_000
        case 18: 1_000_000_000_000_000_000
        case 19: 10_000_000_000_000_000_000
        default: UInt64.max
        }
    }

    /// Exactly `width` decimal digits, zero-padded on the left; the caller makes sure the value fits.
    @inline(__always)
    mutating func appendDecimal(_ value: UInt64, width: Int) {
        let pairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
        let table = pairs.utf8Start
        var remaining = value
        var index = width - 1
        while index >= 1 {
            let pair = Int(truncatingIfNeeded: remaining % 100) &* 2
            remaining /= 100
            position[index - 1] = table[pair]
            position[index] = table[pair + 1]
            index -= 2
        }
        if index == 0 { position[0] = 0x30 &+ UInt8(truncatingIfNeeded: remaining % 10) }
        position += width
    }

    /// A signed decimal, as JSON writes integers.
    @inline(__always)
    mutating func appendDecimal(_ value: Int64) {
        if value < 0 {
            append(UInt8(ascii: "-"))
        }
        appendDecimal(value.magnitude)
    }

    /// The low `digits` nibbles of `value` as lower-case hex, most significant first.
    @inline(__always)
    mutating func appendHex(_ value: UInt64, digits: Int) {
        let digitsTable: StaticString = "0123456789abcdef"
        let table = digitsTable.utf8Start
        var remaining = value
        var index = digits - 1
        while index >= 0 {
            position[index] = table[Int(truncatingIfNeeded: remaining & 0xF)]
            remaining >>= 4
            index -= 1
        }
        position += digits
    }

    /// A UUID in canonical lower-case `8-4-4-4-12` form (36 bytes).
    @inline(__always)
    mutating func appendUUID(_ uuid: TimeUUID) {
        appendHex(uuid.high >> 32, digits: 8)
        append(UInt8(ascii: "-"))
        appendHex(uuid.high >> 16, digits: 4)
        append(UInt8(ascii: "-"))
        appendHex(uuid.high, digits: 4)
        append(UInt8(ascii: "-"))
        appendHex(uuid.low >> 48, digits: 4)
        append(UInt8(ascii: "-"))
        appendHex(uuid.low, digits: 12)
    }
}
