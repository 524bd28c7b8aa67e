/// Stage 3: the global filter (`filter` in the configuration), then fan-out to every destination.
///
/// Removes events whose category is not selected (internal `statsig::` events by default) or whose name the
/// include/exclude patterns reject, plus records the decoder marked as never deliverable (Segment group/alias
/// calls, unselected Segment events). Each removal is counted with its reason.
actor Filter {
    private let selection: EventSelection
    private let accounting: Accounting
    /// The current chunk's filtered positions (ascending); kept across chunks for its capacity.
    private var removed: [Int] = []

    init(selection: EventSelection, accounting: Accounting) {
        self.selection = selection
        self.accounting = accounting
    }

    func run(input: BoundedChannel<EventChunk>, fanOut: FanOut) async {
        for await var chunk in input {
            let before = chunk.events.count
            var reasons: [FilterReason: Int] = [:]
            removed.removeAll(keepingCapacity: true)
            chunk.withArena { arena in
                for (index, event) in chunk.events.enumerated() {
                    if let reason = rejection(event, arena) {
                        reasons[reason, default: 0] += 1
                        removed.append(index)
                    }
                }
            }
            // Decided first, removed in one copy (see `EventChunk.removeEvents(at:)`).
            chunk.removeEvents(at: removed)
            accounting.recordGloballyFiltered(reasons)
            chunk.settleEverywhere(before - chunk.events.count, as: .filtered)
            if !chunk.events.isEmpty { await fanOut.send(chunk) }
        }
        fanOut.finish()
    }

    private func rejection(_ event: Event, _ arena: UnsafeRawBufferPointer) -> FilterReason? {
        if let reason = event.filterReason { return reason }
        // Audience changes are routed by destination type, not by the event filter.
        if event.kind == .audienceMembership { return nil }
        return selection.rejection(name: EventNames.content(event.eventName, arena), category: event.category)
    }
}

/// Event-name helpers shared by the filters.
enum EventNames {
    /// The bytes between the quotes of a raw JSON string span (escapes, which event names practically never
    /// contain, are matched as written).
    @inline(__always)
    static func content(_ span: ByteSpan, _ arena: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard span.count >= 2 else { return UnsafeRawBufferPointer(rebasing: arena[0..<0]) }
        return UnsafeRawBufferPointer(rebasing: arena[Int(span.start) + 1..<Int(span.start) + Int(span.count) - 1])
    }
}
