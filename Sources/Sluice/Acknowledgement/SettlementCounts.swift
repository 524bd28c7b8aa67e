/// How an event stopped being the engine's business at one destination.
public enum SettlementKind: Sendable, Equatable, CaseIterable {
    /// The destination accepted it.
    case delivered
    /// Left out on purpose: the global filter, or the destination's own selection or identity rules.
    case filtered
    /// Dropped as a repeat of an earlier timeUUID (before fan-out, so for every destination).
    case duplicate
    /// Written to the dead-letter output (or reported) as undeliverable.
    case deadLettered
    /// Discarded by the destination's overflow policy, or because the pipeline was torn down.
    case dropped
    /// Skipped for this destination because it had settled the event in an earlier run (a spool replay).
    case alreadySettled
    /// Not delivered before the drain deadline and kept by the source (a spool) for the next run; such an event
    /// is *not* settled.
    case leftUnsettled
}

/// How many events of one unit of input ended each way at one destination.
public struct SettlementCounts: Sendable, Equatable {
    /// Events the destination accepted.
    public var delivered = 0
    /// Events left out on purpose (global filter or the destination's selection).
    public var filtered = 0
    /// Events dropped as duplicates.
    public var duplicates = 0
    /// Events dead-lettered.
    public var deadLettered = 0
    /// Events discarded by an overflow policy.
    public var dropped = 0
    /// Events this destination had settled in an earlier run.
    public var alreadySettled = 0
    /// Events kept for the next run at the drain deadline.
    public var leftUnsettled = 0

    /// Creates counts (all zero by default).
    public init(delivered: Int = 0, filtered: Int = 0, duplicates: Int = 0, deadLettered: Int = 0, dropped: Int = 0,
                alreadySettled: Int = 0, leftUnsettled: Int = 0) {
        self.delivered = delivered
        self.filtered = filtered
        self.duplicates = duplicates
        self.deadLettered = deadLettered
        self.dropped = dropped
        self.alreadySettled = alreadySettled
        self.leftUnsettled = leftUnsettled
    }

    /// Every event counted, whatever its end.
    public var total: Int { delivered + filtered + duplicates + deadLettered + dropped + alreadySettled + leftUnsettled }

    /// True when nothing was left unsettled: the source may commit the unit.
    public var isSettled: Bool { leftUnsettled == 0 }

    /// True when every event the destination was meant to take reached it (now or in an earlier run): nothing
    /// dead-lettered, dropped or left unsettled. Filtered events and duplicates do not count against it.
    public var isDelivered: Bool { deadLettered == 0 && dropped == 0 && leftUnsettled == 0 }

    /// Adds `n` events of `kind`.
    mutating func add(_ n: Int, _ kind: SettlementKind) {
        switch kind {
        case .delivered: delivered += n
        case .filtered: filtered += n
        case .duplicate: duplicates += n
        case .deadLettered: deadLettered += n
        case .dropped: dropped += n
        case .alreadySettled: alreadySettled += n
        case .leftUnsettled: leftUnsettled += n
        }
    }
}

/// What happens at the drain deadline to events that have not reached their destination yet.
enum DrainDeadlinePolicy: Sendable, Equatable {
    /// Dead-letter them (the default, without a spool): nothing is lost, and the run ends.
    case deadLetter
    /// Book them as ``SettlementKind/leftUnsettled`` and do not acknowledge them: the source (a spool) keeps
    /// them and the next run delivers them. Nothing is written to the dead-letter output.
    case leaveUnsettled
}
