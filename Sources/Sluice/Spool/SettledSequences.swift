/// Which sequence numbers one destination has settled: a contiguous frontier plus the settled ranges beyond it.
///
/// Batches settle out of order (a retrying batch holds the frontier while later ones succeed), so the frontier
/// alone would make a crash re-send everything settled after the slowest batch. Keeping the ranges beyond it
/// bounds what a restart re-sends to what was really unsettled. The ranges are capped at ``maxRanges``: past
/// that the highest ones are forgotten, which only means those records are sent again (at-least-once holds).
struct SettledSequences: Sendable, Equatable {
    /// Every sequence number up to and including this one is settled.
    private(set) var frontier: UInt64
    /// Disjoint, sorted, non-adjacent closed ranges above `frontier + 1`.
    private(set) var ranges: [ClosedRange<UInt64>]

    static let maxRanges = 256

    init(frontier: UInt64 = 0, ranges: [ClosedRange<UInt64>] = []) {
        self.frontier = frontier
        self.ranges = []
        for range in ranges { insert(range) }
    }

    func contains(_ sequence: UInt64) -> Bool {
        if sequence <= frontier { return true }
        // Few ranges (bounded); a binary search would not pay for itself here.
        return ranges.contains { $0.contains(sequence) }
    }

    /// Marks `range` settled. Returns true when anything changed.
    @discardableResult
    mutating func insert(_ range: ClosedRange<UInt64>) -> Bool {
        if range.upperBound <= frontier { return false }
        let lower = max(range.lowerBound, frontier + 1)
        var merged = lower...range.upperBound
        var kept: [ClosedRange<UInt64>] = []
        kept.reserveCapacity(ranges.count + 1)
        var placed = false
        for existing in ranges {
            // Overlapping or adjacent ranges merge.
            if existing.upperBound &+ 1 < merged.lowerBound {
                kept.append(existing)
            } else if merged.upperBound &+ 1 < existing.lowerBound {
                if !placed { kept.append(merged); placed = true }
                kept.append(existing)
            } else {
                merged = min(existing.lowerBound, merged.lowerBound)...max(existing.upperBound, merged.upperBound)
            }
        }
        if !placed { kept.append(merged) }
        let changed = kept != ranges
        ranges = kept
        if let first = ranges.first, first.lowerBound == frontier + 1 {
            frontier = first.upperBound
            ranges.removeFirst()
        }
        if ranges.count > Self.maxRanges { ranges.removeLast(ranges.count - Self.maxRanges) }
        return changed
    }

    mutating func insert(_ sequence: UInt64) { insert(sequence...sequence) }

    /// Moves the frontier up to `sequence` (records below the spool's oldest one no longer exist to settle).
    mutating func advanceFrontier(to sequence: UInt64) {
        guard sequence > frontier else { return }
        frontier = sequence
        ranges.removeAll { $0.upperBound <= sequence }
        if let first = ranges.first, first.lowerBound <= frontier + 1 {
            frontier = max(frontier, first.upperBound)
            ranges.removeFirst()
        }
    }
}
