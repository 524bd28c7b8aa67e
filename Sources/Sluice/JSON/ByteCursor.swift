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
    @inline(__always)
    mutating func appendDecimal(_ value: UInt64) {
        var digitCount = 1
        var probe = value
        while probe >= 10 {
            probe /= 10
            digitCount += 1
        }
        appendDecimal(value, width: digitCount)
    }

    /// Exactly `width` decimal digits, zero-padded on the left; the caller makes sure the value fits.
    @inline(__always)
    mutating func appendDecimal(_ value: UInt64, width: Int) {
        var remaining = value
        var index = width - 1
        while index >= 0 {
            position[index] = 0x30 &+ UInt8(truncatingIfNeeded: remaining % 10)
            remaining /= 10
            index -= 1
        }
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
