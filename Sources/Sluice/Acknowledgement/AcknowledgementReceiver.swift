/// # Acknowledgements: telling a source which of its input has been settled
///
/// Every unit of input — the lines of one read block, one ``Pipeline/ingest(_:)`` body, one spool record, one
/// batch of Redis entries — gets a sequence number from its source. The acknowledgement path runs beside the
/// data path and reads the same way:
///
/// ```text
/// source ──begin(unit)──▶ SettlementTracker            (one per source)
///   │  chunk.unit = tag      ▲  settle(unit, destination, n, .delivered / .filtered / ...)
///   ▼                        │
/// Ingestor ▶ Deduplicator ▶ Filter ▶ FanOut ▶ IdentifierMapper ▶ Batcher ▶ Sender   (per destination)
///                                                                        │
/// AcknowledgementReceiver ◀── settled(DestinationSettlement) / settled(UnitSettlement)
/// ```
///
/// - A source creates a ``SettlementTracker`` (``Pipeline/makeSettlementTracker(receiver:)``) and, per unit,
///   calls ``SettlementTracker/begin(sequence:alreadySettled:settlement:)``, which returns a ``UnitTag``. Every
///   ``EventChunk`` made from the unit carries the tag (`chunk.unit`); a chunk never spans two units. The source
///   then ``SettlementTracker/add(_:events:)``s the unit's events and ``SettlementTracker/seal(_:)``s it (or
///   does both at once with `begin(..., events:)`), and sends the chunks.
/// - Every stage that finishes with events books them against the chunk's unit, per chunk or per batch member
///   (never per event): removed before fan-out (duplicate, globally filtered) counts for every destination;
///   after fan-out, a destination's filter, dead letters, overflow drops and deliveries count for it. Events of
///   a unit the source marks as already settled by some destinations (a replay after a restart) are skipped for
///   those destinations by fan-out and booked as ``SettlementKind/alreadySettled``.
/// - A unit is *settled for a destination* once it is sealed and every one of its events is booked for that
///   destination; it is *settled* once it is settled for every destination. The tracker then calls the
///   source's ``AcknowledgementReceiver`` — exactly once per unit and destination, then exactly once per unit —
///   with the unit's counts and the *contiguous frontier*: every unit begun with a smaller sequence is settled
///   (for that destination, or for all). A spool advances its cursor to the frontier and remembers units
///   settled beyond it; a Redis Streams source XACKs each settled unit.
/// - With ``DrainDeadlinePolicy/leaveUnsettled`` (a spool is configured), what misses the drain deadline is
///   booked as ``SettlementKind/leftUnsettled`` instead of being dead-lettered: the unit is reported with
///   `isSettled == false`, and the frontier never passes it, so the next run replays it.
///
/// Cost: a tracker call is one uncontended lock per chunk per stage (or per batch member), and none at all
/// for input without a tracker (a chunk whose `unit` is nil), which is the default for standard input and files.
///
/// Accounting: ``SettlementKind/alreadySettled`` and ``SettlementKind/leftUnsettled`` are also per-destination
/// counts in the books (`Accounting.DestinationCounts`, ``Summary/DestinationSummary``), so for every
/// destination `delivered + filtered + deadLettered + dropped + alreadySettled + leftUnsettled ==
/// ingested - duplicates - filtered(global)` still holds.
///
/// The embedding API's view of the same mechanism is ``IngestSettlement``: ``IngestResult/settlement``
/// resolves once the body's events are settled by every destination.
protocol AcknowledgementReceiver: Sendable {
    /// One destination is done with every event of a unit. Called exactly once per unit and destination (in the
    /// order the units finish, which need not be sequence order).
    ///
    /// Called while the tracker's lock is held, from whichever stage booked the unit's last event: keep it short
    /// (record the fact, wake your own task) and never call back into the tracker.
    func settled(_ settlement: DestinationSettlement)

    /// Every destination is done with every event of a unit; called exactly once per unit, right after the last
    /// ``settled(_:)-(DestinationSettlement)`` for it. Same rules.
    func settled(_ settlement: UnitSettlement)
}

extension AcknowledgementReceiver {
    /// By default a receiver ignores per-destination reports.
    func settled(_ settlement: DestinationSettlement) {}
    /// By default a receiver ignores whole-unit reports.
    func settled(_ settlement: UnitSettlement) {}
}

/// What one destination did with one unit.
struct DestinationSettlement: Sendable, Equatable {
    /// The unit's sequence number (as the source gave it).
    let unit: UInt64
    /// The destination's index (its position in ``SettlementTracker/destinations``).
    let destination: Int
    /// The destination's name.
    let name: String
    /// What happened to the unit's events at this destination.
    let counts: SettlementCounts
    /// Every unit begun with a smaller sequence is settled for this destination. It never passes a unit that is
    /// not settled, including one left unsettled at the drain deadline.
    let frontier: UInt64

    /// False when some of the unit's events were left unsettled at the drain deadline: do not commit the unit.
    var isSettled: Bool { counts.isSettled }
}

/// What every destination did with one unit.
struct UnitSettlement: Sendable, Equatable {
    /// The unit's sequence number.
    let unit: UInt64
    /// Per destination, by index (see ``SettlementTracker/destinations``).
    let counts: [SettlementCounts]
    /// Every unit begun with a smaller sequence is settled for every destination.
    let frontier: UInt64

    /// True when every destination settled the unit (nothing was left unsettled at the drain deadline).
    var isSettled: Bool { counts.allSatisfy(\.isSettled) }
}

/// A receiver made of closures, for sources that need only one of the two reports, and for tests.
struct ClosureAcknowledgementReceiver: AcknowledgementReceiver {
    var onDestination: @Sendable (DestinationSettlement) -> Void = { _ in }
    var onUnit: @Sendable (UnitSettlement) -> Void = { _ in }

    func settled(_ settlement: DestinationSettlement) { onDestination(settlement) }
    func settled(_ settlement: UnitSettlement) { onUnit(settlement) }
}
