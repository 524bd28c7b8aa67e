extension Array where Element == UInt8 {
    /// Runs `body` with a ``JSONWriter`` that appends to this array in place.
    ///
    /// Encoders build bodies as plain byte arrays; swapping the storage in and out (O(1), no copy) lets them use
    /// the writer's escaping and number formatting without a second buffer.
    @inline(__always)
    mutating func withJSONWriter<R>(_ body: (inout JSONWriter) throws -> R) rethrows -> R {
        var writer = JSONWriter(appendingTo: [])
        swap(&writer.bytes, &self)
        defer { swap(&writer.bytes, &self) }
        return try body(&writer)
    }

    /// Appends a static ASCII fragment.
    @inline(__always)
    mutating func appendLiteral(_ literal: StaticString) {
        append(contentsOf: UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Appends up to `maximumCount` bytes written through an unchecked cursor, then trims what was not used.
    ///
    /// `body` must not write more than `maximumCount` bytes: the caller sizes it from the pieces it will copy.
    @inline(__always)
    mutating func appendThroughCursor(maximumCount: Int, _ body: (inout ByteCursor) -> Void) {
        let start = count
        // The reserved bytes are overwritten, so their content does not matter: copying them from a block of
        // zeros is one memcpy, where `repeatElement` appended byte by byte (2% of a run's CPU at 1M events).
        if maximumCount <= ZeroBytes.count {
            ZeroBytes.block.withUnsafeBytes { append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[..<maximumCount])) }
        } else {
            append(contentsOf: repeatElement(0, count: maximumCount))
        }
        let written = withUnsafeMutableBufferPointer { buffer -> Int in
            let origin = buffer.baseAddress! + start
            var cursor = ByteCursor(position: origin)
            body(&cursor)
            return cursor.position - origin
        }
        precondition(written <= maximumCount, "cursor wrote past its reservation")
        removeLast(maximumCount - written)
    }
}

/// A block of zero bytes that arrays are grown from when the bytes are about to be overwritten.
enum ZeroBytes {
    /// The block's size: more than an encoder reserves for a typical event.
    static let count = 16_384
    /// The zeros.
    static let block = [UInt8](repeating: 0, count: count)
}
