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
    let literal: [UInt8]
    /// The literal runs between wildcards, in order. One segment means the pattern has no wildcard.
    let segments: [Range<Int>]

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
        literal.withUnsafeBytes { literal in
            segments.withUnsafeBufferPointer { segments in
                Self.matches(name, literal: literal, segments: segments)
            }
        }
    }

    /// Whether a name matches; a convenience for configuration code and tests.
    public func matches(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { matches(UnsafeRawBufferPointer($0)) }
    }

    /// The pattern as written.
    public var description: String { pattern }

    /// Patterns are equal when their text is.
    public static func == (lhs: EventNamePattern, rhs: EventNamePattern) -> Bool { lhs.pattern == rhs.pattern }

    /// Hashes the pattern's text.
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }

    /// The matching algorithm over a compiled pattern's parts, shared with ``EventNamePatternSet``.
    /// `segments` index into `literal`; one segment means no wildcard.
    static func matches(
        _ name: UnsafeRawBufferPointer, literal: UnsafeRawBufferPointer, segments: UnsafeBufferPointer<Range<Int>>
    ) -> Bool {
        guard segments.count > 1 else {
            return name.count == segments[0].count && equal(name, 0, literal, segments[0])
        }
        let first = segments[0]
        let last = segments[segments.count - 1]
        // The prefix and suffix are anchored; they must fit without overlapping.
        guard name.count >= first.count + last.count,
              equal(name, 0, literal, first),
              equal(name, name.count - last.count, literal, last)
        else { return false }
        // Each middle segment takes its leftmost occurrence: leaving the most room for the rest is always at
        // least as good, so this greedy search needs no backtracking.
        var position = first.count
        let end = name.count - last.count
        for index in 1..<(segments.count - 1) {
            let segment = segments[index]
            guard let found = find(literal, segment, in: name, from: position, to: end) else { return false }
            position = found + segment.count
        }
        return true
    }

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

/// Several patterns flattened into shared storage, so testing a name against all of them touches no reference
/// counts (iterating an array of ``EventNamePattern`` values retains and releases each one's storage, which
/// costs more than the matching itself).
struct EventNamePatternSet: Sendable {
    /// Every pattern's literal bytes, one after another.
    private let literal: [UInt8]
    /// Every pattern's segments, offset into `literal`, one pattern after another.
    private let segments: [Range<Int>]
    /// For each pattern, its run in `segments`.
    private let patterns: [Range<Int>]
    /// Whether some pattern is a lone `*`: then every name matches and nothing needs testing.
    let matchesEverything: Bool

    /// Flattens the patterns.
    init(_ patterns: [EventNamePattern]) {
        var literal: [UInt8] = []
        var segments: [Range<Int>] = []
        var runs: [Range<Int>] = []
        for pattern in patterns {
            let base = literal.count
            let firstSegment = segments.count
            literal += pattern.literal
            segments += pattern.segments.map { ($0.lowerBound + base)..<($0.upperBound + base) }
            runs.append(firstSegment..<segments.count)
        }
        self.literal = literal
        self.segments = segments
        self.patterns = runs
        self.matchesEverything = patterns.contains { $0.matchesEverything }
    }

    /// Whether no pattern is in the set (then nothing matches).
    var isEmpty: Bool { patterns.isEmpty }

    /// Whether any pattern matches the raw UTF-8 name; allocation-free.
    func matchesAny(_ name: UnsafeRawBufferPointer) -> Bool {
        if matchesEverything { return true }
        return literal.withUnsafeBytes { literal in
            segments.withUnsafeBufferPointer { segments in
                patterns.withUnsafeBufferPointer { patterns in
                    for run in patterns
                    where EventNamePattern.matches(
                        name, literal: literal, segments: UnsafeBufferPointer(rebasing: segments[run])) {
                        return true
                    }
                    return false
                }
            }
        }
    }
}
