/// The unit of input a chunk came from: carried by every ``EventChunk`` of a tracked source (`chunk.unit`),
/// through every stage and batch, so each stage can book what it finished against the unit.
struct UnitTag: Sendable {
    /// The source's tracker.
    let tracker: SettlementTracker
    /// The unit's sequence number, as the source gave it.
    let sequence: UInt64
    /// Destinations that settled this unit in an earlier run (a spool replay): fan-out skips them.
    let alreadySettled: DestinationSet

    /// Books `count` of the unit's events as finished at destination `destination` (its index).
    @inline(__always)
    func settle(destination: Int, count: Int, as kind: SettlementKind) {
        tracker.settle(sequence, destination: destination, count: count, as: kind)
    }

    /// Books `count` of the unit's events as finished for every destination (removed before fan-out).
    @inline(__always)
    func settleEverywhere(count: Int, as kind: SettlementKind) {
        tracker.settleEverywhere(sequence, count: count, as: kind)
    }

    /// True when both tags name the same unit of the same source.
    func isSameUnit(as other: UnitTag?) -> Bool {
        guard let other else { return false }
        return sequence == other.sequence && tracker === other.tracker
    }
}

/// A set of destinations, by index (their order in the pipeline's destination list). No allocation for up to
/// 64 destinations.
struct DestinationSet: Sendable, Equatable {
    private var low: UInt64 = 0
    private var high: [UInt64] = []

    /// The empty set.
    init() {}

    /// The destinations at `indices`.
    init<S: Sequence<Int>>(_ indices: S) {
        for index in indices { insert(index) }
    }

    var isEmpty: Bool { low == 0 && high.allSatisfy { $0 == 0 } }

    func contains(_ index: Int) -> Bool {
        guard index >= 0 else { return false }
        if index < 64 { return low & (1 << UInt64(index)) != 0 }
        let word = index / 64 - 1
        return word < high.count && high[word] & (1 << UInt64(index % 64)) != 0
    }

    mutating func insert(_ index: Int) {
        precondition(index >= 0, "destination index must not be negative")
        if index < 64 { low |= 1 << UInt64(index); return }
        let word = index / 64 - 1
        while high.count <= word { high.append(0) }
        high[word] |= 1 << UInt64(index % 64)
    }
}

extension EventChunk {
    /// Books `count` events of this chunk for every destination (they were removed before fan-out); no-op for
    /// an untracked chunk.
    @inline(__always)
    func settleEverywhere(_ count: Int, as kind: SettlementKind) {
        guard count > 0, let unit else { return }
        unit.settleEverywhere(count: count, as: kind)
    }

    /// Books `count` events of this chunk at one destination; no-op for an untracked chunk.
    @inline(__always)
    func settle(_ count: Int, destination: Int, as kind: SettlementKind) {
        guard count > 0, let unit else { return }
        unit.settle(destination: destination, count: count, as: kind)
    }
}

extension Batch {
    /// Books every event of the batch at `destination`, member by member (a batch mixes chunks, and so units).
    func settle(destination: Int, as kind: SettlementKind) {
        for member in members {
            member.chunk.settle(member.indices.count, destination: destination, as: kind)
        }
    }
}
