import Synchronization

/// Per source: which of its units every destination has settled, and how far each destination's contiguous
/// settled frontier reaches. See ``AcknowledgementReceiver`` for the whole mechanism.
///
/// The source calls ``begin(sequence:alreadySettled:settlement:)`` (sequences strictly increasing; gaps are
/// units the source does not send, and count as settled), ``add(_:events:)`` for every chunk before sending it,
/// and ``seal(_:)`` after the unit's last chunk. Stages call ``settle(_:destination:count:as:)`` and
/// ``settleEverywhere(_:count:as:)``. A unit finishes for a destination when it is sealed and every event added
/// to it is booked for that destination; the receiver then hears of it, exactly once per unit and destination.
///
/// Units are kept in sequence order; a destination's frontier is the sequence of the first unit it has not
/// settled (or one past the last unit begun). Units settled everywhere are forgotten from the front, so memory
/// is bounded by the units in flight. A unit left unsettled at the drain deadline is kept (the frontier stops
/// there), which happens only as a run ends.
final class SettlementTracker: Sendable {
    /// Destination names, by index: the pipeline's destinations in configuration order (built-in, then custom).
    let destinations: [String]
    private let receiver: (any AcknowledgementReceiver)?
    private let state: Mutex<State>

    private struct Unit {
        let sequence: UInt64
        var sealed = false
        /// Per destination: events added and not yet booked.
        var pending: [Int]
        var counts: [SettlementCounts]
        /// Destinations that finished the unit (settled or left unsettled).
        var finished: DestinationSet = DestinationSet()
        var finishedCount = 0
        /// Destinations that finished it with something left unsettled.
        var leftUnsettled = false
        let settlement: IngestSettlement?

        func isSettled(for destination: Int) -> Bool {
            finished.contains(destination) && counts[destination].isSettled
        }
    }

    private struct State {
        /// Units in sequence order; those before `head` are forgotten.
        var units: [Unit] = []
        var head = 0
        /// Per destination, the index in `units` of the first unit not settled for it.
        var cursors: [Int]
        /// The next sequence ``begin`` assigns when the source gives none; also the lower bound for a given one.
        var nextSequence: UInt64

        func index(of sequence: UInt64) -> Int? {
            guard head < units.count else { return nil }
            let first = units[head].sequence
            guard sequence >= first else { return nil }
            // Sources rarely leave gaps: try the direct position first, then search.
            let guess = head + Int(sequence - first)
            if guess < units.count, units[guess].sequence == sequence { return guess }
            var low = head, high = units.count - 1
            while low <= high {
                let mid = (low + high) / 2
                if units[mid].sequence == sequence { return mid }
                if units[mid].sequence < sequence { low = mid + 1 } else { high = mid - 1 }
            }
            return nil
        }

        func frontier(_ destination: Int) -> UInt64 {
            cursors[destination] < units.count ? units[cursors[destination]].sequence : nextSequence
        }
    }

    /// A tracker for `destinations`, reporting to `receiver`. `firstSequence` is where automatic numbering starts
    /// (and the initial frontier): a spool passes the sequence of the first record it replays.
    init(destinations: [String], receiver: (any AcknowledgementReceiver)?, firstSequence: UInt64 = 0) {
        self.destinations = destinations
        self.receiver = receiver
        state = Mutex(State(cursors: Array(repeating: 0, count: destinations.count), nextSequence: firstSequence))
    }

    /// Starts a unit and returns the tag its chunks carry.
    ///
    /// - Parameters:
    ///   - sequence: the source's number for the unit, greater than every earlier one; nil to take the next
    ///     number. A sequence that does not increase is a programming error.
    ///   - alreadySettled: destinations that settled the unit in an earlier run: fan-out skips them.
    ///   - settlement: a handle to resolve when the unit finishes everywhere (an `ingest` body's).
    func begin(sequence: UInt64? = nil, alreadySettled: DestinationSet = DestinationSet(),
               settlement: IngestSettlement? = nil) -> UnitTag {
        let assigned = state.withLock { s -> UInt64 in
            let n = sequence ?? s.nextSequence
            precondition(n >= s.nextSequence, "unit sequences must increase: \(n) after \(s.nextSequence)")
            s.nextSequence = n + 1
            s.units.append(Unit(sequence: n, pending: Array(repeating: 0, count: destinations.count),
                                counts: Array(repeating: SettlementCounts(), count: destinations.count),
                                settlement: settlement))
            return n
        }
        return UnitTag(tracker: self, sequence: assigned, alreadySettled: alreadySettled)
    }

    /// Starts a unit whose events are all known, and seals it: the common case for a read block or a body.
    func begin(sequence: UInt64? = nil, events: Int, alreadySettled: DestinationSet = DestinationSet(),
               settlement: IngestSettlement? = nil) -> UnitTag {
        let tag = begin(sequence: sequence, alreadySettled: alreadySettled, settlement: settlement)
        add(tag, events: events)
        seal(tag)
        return tag
    }

    /// Adds `events` events to an unsealed unit (call before sending the chunk that holds them).
    func add(_ tag: UnitTag, events: Int) {
        guard events > 0 else { return }
        state.withLock { s in
            guard let i = s.index(of: tag.sequence) else { preconditionFailure("add to an unknown unit \(tag.sequence)") }
            precondition(!s.units[i].sealed, "add to sealed unit \(tag.sequence)")
            for d in s.units[i].pending.indices { s.units[i].pending[d] += events }
        }
    }

    /// No more events will be added to the unit. A unit with no events (only invalid lines) finishes here.
    func seal(_ tag: UnitTag) {
        state.withLock { s in
            guard let i = s.index(of: tag.sequence) else { return }
            s.units[i].sealed = true
            for d in destinations.indices where s.units[i].pending[d] == 0 { finish(&s, unit: i, destination: d) }
        }
    }

    /// Books `count` events of unit `sequence` as finished at `destination`.
    func settle(_ sequence: UInt64, destination: Int, count: Int, as kind: SettlementKind) {
        guard count > 0 else { return }
        state.withLock { s in
            guard let i = s.index(of: sequence) else { return }
            book(&s, unit: i, destination: destination, count: count, kind)
        }
    }

    /// Books `count` events of unit `sequence` as finished at every destination.
    func settleEverywhere(_ sequence: UInt64, count: Int, as kind: SettlementKind) {
        guard count > 0 else { return }
        state.withLock { s in
            guard let i = s.index(of: sequence) else { return }
            for d in destinations.indices { book(&s, unit: i, destination: d, count: count, kind) }
        }
    }

    /// Every destination's frontier, by index: units below it are settled for that destination.
    var frontiers: [UInt64] {
        state.withLock { s in destinations.indices.map { s.frontier($0) } }
    }

    /// Units begun and not yet settled everywhere (in flight, or left unsettled).
    var unsettledUnits: Int {
        state.withLock { $0.units.count - $0.head }
    }

    // MARK: - Inside the lock

    private func book(_ s: inout State, unit i: Int, destination d: Int, count: Int, _ kind: SettlementKind) {
        // More bookings than events would be a stage counting twice: clamp so a report is never repeated.
        let n = min(count, s.units[i].pending[d])
        guard n > 0 else { return }
        s.units[i].pending[d] -= n
        s.units[i].counts[d].add(n, kind)
        if s.units[i].pending[d] == 0 && s.units[i].sealed { finish(&s, unit: i, destination: d) }
    }

    private func finish(_ s: inout State, unit i: Int, destination d: Int) {
        guard !s.units[i].finished.contains(d) else { return }
        s.units[i].finished.insert(d)
        s.units[i].finishedCount += 1
        let counts = s.units[i].counts[d]
        if !counts.isSettled { s.units[i].leftUnsettled = true }
        // The frontier moves over every unit now settled for d.
        while s.cursors[d] < s.units.count && s.units[s.cursors[d]].isSettled(for: d) { s.cursors[d] += 1 }
        receiver?.settled(DestinationSettlement(unit: s.units[i].sequence, destination: d, name: destinations[d],
                                                counts: counts, frontier: s.frontier(d)))
        guard s.units[i].finishedCount == destinations.count else { return }
        let overall = destinations.indices.map { s.frontier($0) }.min() ?? s.nextSequence
        let unit = UnitSettlement(unit: s.units[i].sequence, counts: s.units[i].counts, frontier: overall)
        receiver?.settled(unit)
        s.units[i].settlement?.resolve(IngestOutcome(destinations: destinations, counts: unit.counts))
        forgetSettledFront(&s)
    }

    /// Drops units settled everywhere from the front, compacting the array now and then.
    private func forgetSettledFront(_ s: inout State) {
        while s.head < s.units.count, s.units[s.head].finishedCount == destinations.count, !s.units[s.head].leftUnsettled {
            s.head += 1
        }
        if s.head > 256 && s.head * 2 > s.units.count {
            let removed = s.head
            s.units.removeFirst(removed)
            s.head = 0
            for d in s.cursors.indices { s.cursors[d] -= removed }
        }
    }
}
