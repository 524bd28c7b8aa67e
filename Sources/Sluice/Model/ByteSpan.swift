/// A range of bytes inside an ``EventChunk``'s arena. A span of length zero means "absent": no JSON value is empty.
public struct ByteSpan: Sendable, Equatable {
    /// Offset of the first byte in the arena.
    public var start: UInt32
    /// Number of bytes; zero when the value is absent.
    public var count: UInt32

    /// Creates a span over `count` bytes starting at `start`.
    @inline(__always) public init(start: Int, count: Int) {
        self.start = UInt32(truncatingIfNeeded: start)
        self.count = UInt32(truncatingIfNeeded: count)
    }

    /// The absent value.
    public static let absent = ByteSpan(start: 0, count: 0)

    /// Whether the span holds a value.
    @inline(__always) public var isPresent: Bool { count != 0 }

    /// The span as an arena range.
    @inline(__always) public var range: Range<Int> { Int(start)..<Int(start) + Int(count) }
}
