import Synchronization

/// What shared de-duplication (`dedupe.shared`) did in a run.
public struct SharedDedupeStatistics: Sendable, Equatable {
    /// Events whose key was checked in Redis (`SET ... NX`).
    public var checked = 0
    /// Checked events whose key this instance claimed first: delivered.
    public var claimed = 0
    /// Checked events whose key another copy had claimed: dropped as duplicates, on whichever instance.
    public var duplicates = 0
    /// Checked events whose key held their own claim (the same stream entry and position, read again after a
    /// restart or claimed from a dead instance): delivered, not dropped as duplicates of themselves.
    public var ownClaimsFound = 0
    /// Events not checked in Redis because it could not be reached or refused the command: de-duplicated per
    /// instance only (fail open), so copies on other instances may have been delivered too.
    public var unchecked = 0
    /// Round trips (one per chunk) that failed; each started a pause on per-instance de-duplication (1 s, doubling
    /// with each failure in a row up to 30 s).
    public var failures = 0

    /// One line for people.
    public var humanReadable: String {
        "shared dedupe: \(checked) checked (\(claimed) claimed, \(duplicates) duplicates, \(ownClaimsFound) own claims found again), "
            + "\(unchecked) unchecked while Redis was unavailable, \(failures) failed round trips"
    }
}

/// The live counters behind ``SharedDedupeStatistics``.
final class SharedDedupeCounters: Sendable {
    let checked = Atomic<Int>(0)
    let claimed = Atomic<Int>(0)
    let duplicates = Atomic<Int>(0)
    let ownClaimsFound = Atomic<Int>(0)
    let unchecked = Atomic<Int>(0)
    let failures = Atomic<Int>(0)

    var snapshot: SharedDedupeStatistics {
        var s = SharedDedupeStatistics()
        s.checked = checked.load(ordering: .relaxed)
        s.claimed = claimed.load(ordering: .relaxed)
        s.duplicates = duplicates.load(ordering: .relaxed)
        s.ownClaimsFound = ownClaimsFound.load(ordering: .relaxed)
        s.unchecked = unchecked.load(ordering: .relaxed)
        s.failures = failures.load(ordering: .relaxed)
        return s
    }
}
