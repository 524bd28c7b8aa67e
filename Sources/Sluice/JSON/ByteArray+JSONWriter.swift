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
        append(contentsOf: repeatElement(0, count: maximumCount))
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
