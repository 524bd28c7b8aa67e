/// Splitting a batch an endpoint refused as a whole (a 413, or a 400 from a batch API that rejects a request
/// for one bad event), so one bad or oversized event cannot take the others with it.
extension Batch {
    /// The first and second half of the batch's events, each with a body of its own built from the encoded
    /// items (prefix, items joined by the separator, suffix: all read from this body, nothing re-encoded).
    /// nil for a batch of one event, or one whose item positions are unknown.
    func halves() -> (Batch, Batch)? {
        guard eventCount >= 2, itemRanges.count == eventCount, let first = itemRanges.first,
              let last = itemRanges.last else { return nil }
        let prefix = body[..<first.lowerBound]
        let separator = body[itemRanges[0].upperBound..<itemRanges[1].lowerBound]
        let suffix = body[last.upperBound...]
        let events = members.indices.flatMap { member in members[member].indices.map { (member: member, index: $0) } }
        guard events.count == eventCount else { return nil }
        let middle = eventCount / 2
        return (part(0..<middle, events, prefix, separator, suffix),
                part(middle..<eventCount, events, prefix, separator, suffix))
    }

    private func part(_ range: Range<Int>, _ events: [(member: Int, index: Int32)], _ prefix: ArraySlice<UInt8>,
                      _ separator: ArraySlice<UInt8>, _ suffix: ArraySlice<UInt8>) -> Batch {
        var newBody = Array(prefix)
        var newRanges: [Range<Int>] = []
        newRanges.reserveCapacity(range.count)
        var newMembers: [BatchMember] = []
        var lastMember = -1
        var oldest = UInt64.max
        for position in range {
            if position > range.lowerBound { newBody.append(contentsOf: separator) }
            let start = newBody.count
            newBody.append(contentsOf: body[itemRanges[position]])
            newRanges.append(start..<newBody.count)
            let (member, index) = events[position]
            // Events keep the member (chunk) they had, so the halves dead-letter and account like the whole.
            if member == lastMember {
                newMembers[newMembers.count - 1].indices.append(index)
            } else {
                newMembers.append(BatchMember(chunk: members[member].chunk, indices: [index]))
                oldest = min(oldest, members[member].chunk.createdAt)
                lastMember = member
            }
        }
        newBody.append(contentsOf: suffix)
        return Batch(body: newBody, eventCount: range.count, members: newMembers, oldestCreatedAt: oldest, key: key,
                     itemRanges: newRanges)
    }
}

/// When a refused batch is split, and how many extra requests that may cost.
enum BatchSplitPolicy {
    /// The statuses after which a destination splits a batch: 413 everywhere (the request was too large); 400
    /// also for Segment (oversized or invalid batch) and Heap (one invalid event fails the bulk request), whose
    /// batch APIs refuse a whole request for one part of it. Statsig's and webhooks' 400s, and anything from the
    /// ID-list API, describe the request as a whole, so splitting would only repeat them.
    static func statuses(for kind: DestinationConfiguration.Kind) -> Set<Int> {
        switch kind {
        case .segment, .heap: [400, 413]
        default: [413]
        }
    }

    /// Extra requests one batch of `events` may make by splitting: enough to isolate about eight bad events
    /// (each costs two requests per halving, ⌈log₂ n⌉ halvings), or to find a size the endpoint accepts
    /// when its limit is many times below `batch.maxBytes`, without turning a refusal of everything (a wrong
    /// app ID answered with 400) into two requests per event.
    static func requestBudget(events: Int) -> Int {
        var halvings = 0
        while (1 << halvings) < max(1, events) { halvings += 1 }
        return 16 * (halvings + 1)
    }
}
