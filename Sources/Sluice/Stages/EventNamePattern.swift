/// An event name pattern: `*` matches any run of bytes (including none); every other byte matches itself,
/// case-sensitively, as Statsig and Segment treat event names.
///
/// A pattern is compiled once (split at its wildcards) so that ``matches(_:)-(UnsafeRawBufferPointer)`` can
/// run for every event without allocating. There is no escape for a literal `*`: event names with an
/// asterisk are matched by the wildcard, which is a superset.
public struct EventNamePattern: Sendable, Hashable, CustomStringConvertible {
    /// The pattern as written in the configuration.
    public let pattern: String

    /// The pattern's bytes with the wildcards removed; `segments` index into it.
    private let literal: [UInt8]
    /// The literal runs between wildcards, in order. One segment means the pattern has no wildcard.
    private let segments: [Range<Int>]

    /// Compiles a pattern.
    public init(_ pattern: String) {
        self.pattern = pattern
        var literal: [UInt8] = []
        var segments: [Range<Int>] = []
        var start = 0
        for byte in pattern.utf8 {
            if byte == UInt8(ascii: "*") {
                segments.append(start..<literal.count)
                start = literal.count
            } else {
                literal.append(byte)
            }
        }
        segments.append(start..<literal.count)
        self.literal = literal
        self.segments = segments
    }

    /// Whether the pattern is a lone `*`, which admits every name; callers use it to skip matching entirely.
    public var matchesEverything: Bool { segments.count > 1 && literal.isEmpty }

    /// Whether an event's raw UTF-8 name matches; allocation-free.
    public func matches(_ name: UnsafeRawBufferPointer) -> Bool {
        literal.withUnsafeBufferPointer { literalBytes in
            let literal = UnsafeRawBufferPointer(literalBytes)
            guard segments.count > 1 else {
                return name.count == literal.count && Self.equal(name, 0, literal, segments[0])
            }
            let first = segments[0]
            let last = segments[segments.count - 1]
            // The prefix and suffix are anchored; they must fit without overlapping.
            guard name.count >= first.count + last.count,
                  Self.equal(name, 0, literal, first),
                  Self.equal(name, name.count - last.count, literal, last)
            else { return false }
            // Each middle segment takes its leftmost occurrence: leaving the most room for the rest is
            // always at least as good, so this greedy search needs no backtracking.
            var position = first.count
            let end = name.count - last.count
            for index in 1..<(segments.count - 1) {
                let segment = segments[index]
                guard let found = Self.find(literal, segment, in: name, from: position, to: end) else {
                    return false
                }
                position = found + segment.count
            }
            return true
        }
    }

    /// Whether a name matches; a convenience for configuration code and tests.
    public func matches(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { matches(UnsafeRawBufferPointer($0)) }
    }

    /// The pattern as written.
    public var description: String { pattern }

    public static func == (lhs: EventNamePattern, rhs: EventNamePattern) -> Bool { lhs.pattern == rhs.pattern }

    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }

    @inline(__always)
    private static func equal(
        _ name: UnsafeRawBufferPointer, _ offset: Int, _ literal: UnsafeRawBufferPointer, _ segment: Range<Int>
    ) -> Bool {
        var index = 0
        while index < segment.count {
            if name[offset + index] != literal[segment.lowerBound + index] { return false }
            index += 1
        }
        return true
    }

    /// The first offset in `position..<end` where the segment fits entirely before `end`.
    private static func find(
        _ literal: UnsafeRawBufferPointer, _ segment: Range<Int>,
        in name: UnsafeRawBufferPointer, from position: Int, to end: Int
    ) -> Int? {
        var candidate = position
        while candidate + segment.count <= end {
            if equal(name, candidate, literal, segment) { return candidate }
            candidate += 1
        }
        return nil
    }
}
