import Synchronization

/// What the Redis Streams source did in a run: entries read and acknowledged, claimed from other consumers,
/// dead-lettered, and how often the connection was lost.
public struct RedisSourceStatistics: Sendable, Equatable {
    /// Entries read with `XREADGROUP` (new and own pending) or claimed with `XAUTOCLAIM`.
    public var entriesRead = 0
    /// Entries acknowledged with `XACK` after every destination settled them.
    public var acknowledged = 0
    /// Entries claimed from idle consumers (`XAUTOCLAIM`), included in ``entriesRead``.
    public var claimed = 0
    /// Own pending entries re-read at start (`XREADGROUP ... 0`), included in ``entriesRead``.
    public var reread = 0
    /// Entries dead-lettered (and acknowledged) for exceeding `maxDeliveries`.
    public var overDeliveryLimit = 0
    /// Pending entries that had been deleted from the stream (trimmed) before acknowledgement: dead-lettered by ID.
    public var trimmed = 0
    /// Entries read but not acknowledged because their events were left unsettled at the drain deadline; they
    /// stay pending and are delivered again.
    public var leftPending = 0
    /// Settled entries whose `XACK` Redis could not apply: the consumer group was gone (`NOGROUP`, a restart
    /// without persistence) or, recreated, no longer held them as pending (also: trimmed entries, which
    /// `XAUTOCLAIM` already removed, and entries another consumer claimed and acknowledged). Their events were
    /// delivered or settled (trimmed ones dead-lettered by ID); there is nothing left to acknowledge.
    public var notAcknowledgeable = 0
    /// Times the consumer group was found gone (`NOGROUP`) and created again (`XGROUP CREATE ... MKSTREAM`).
    public var groupsRecreated = 0
    /// Connections made again after one was lost.
    public var reconnects = 0
    /// Commands that failed with a connection error (each was retried with backoff).
    public var connectionFailures = 0

    /// One line for people: `redis source: 1000 entries read, 1000 acknowledged, ...`.
    public var humanReadable: String {
        "redis source: \(entriesRead) entries read (\(reread) own pending, \(claimed) claimed), \(acknowledged) acknowledged, "
            + "\(overDeliveryLimit) over maxDeliveries, \(trimmed) trimmed before acknowledgement, \(leftPending) left pending, "
            + "\(notAcknowledgeable) not acknowledgeable (group gone), \(groupsRecreated) groups recreated, \(reconnects) reconnects, \(connectionFailures) connection failures"
    }
}

/// The live counters behind ``RedisSourceStatistics``.
final class RedisSourceCounters: Sendable {
    let entriesRead = Atomic<Int>(0)
    let acknowledged = Atomic<Int>(0)
    let claimed = Atomic<Int>(0)
    let reread = Atomic<Int>(0)
    let overDeliveryLimit = Atomic<Int>(0)
    let trimmed = Atomic<Int>(0)
    let leftPending = Atomic<Int>(0)
    let notAcknowledgeable = Atomic<Int>(0)
    let groupsRecreated = Atomic<Int>(0)

    func snapshot(clients: [RedisClient]) -> RedisSourceStatistics {
        var s = RedisSourceStatistics()
        s.entriesRead = entriesRead.load(ordering: .relaxed)
        s.acknowledged = acknowledged.load(ordering: .relaxed)
        s.claimed = claimed.load(ordering: .relaxed)
        s.reread = reread.load(ordering: .relaxed)
        s.overDeliveryLimit = overDeliveryLimit.load(ordering: .relaxed)
        s.trimmed = trimmed.load(ordering: .relaxed)
        s.leftPending = leftPending.load(ordering: .relaxed)
        s.notAcknowledgeable = notAcknowledgeable.load(ordering: .relaxed)
        s.groupsRecreated = groupsRecreated.load(ordering: .relaxed)
        s.reconnects = clients.reduce(0) { $0 + $1.reconnects }
        s.connectionFailures = clients.reduce(0) { $0 + $1.connectionFailures }
        return s
    }
}
