import Foundation
import Synchronization

/// Reads a Redis stream through a consumer group and acknowledges each entry only once every destination has
/// settled every event from it.
///
/// - Start: `XGROUP CREATE ... MKSTREAM` at `start` (`BUSYGROUP`, another instance was first, is success),
///   then this consumer's own pending entries (`XREADGROUP ... 0`): what a crashed run had read but not
///   acknowledged is delivered before anything new.
/// - Steady state: `XREADGROUP ... COUNT batch BLOCK blockMs STREAMS key >`; each batch is one unit of the
///   engine's acknowledgements (``SettlementTracker``). When the tracker reports a unit settled everywhere,
///   its IDs are queued for `XACK`, which a second connection sends (so acknowledgements never wait behind a
///   blocking read). A unit left unsettled at the drain deadline is not acknowledged: it stays pending.
/// - Every few seconds: entries idle longer than `claimIdleMs` on any consumer are examined with
///   `XPENDING ... IDLE`; those delivered `maxDeliveries` times are dead-lettered (ID, reason, body) and
///   acknowledged, the rest claimed with `XAUTOCLAIM` and processed; entries `XAUTOCLAIM` reports deleted
///   (trimmed) are counted and dead-lettered by ID.
/// - A lost connection is retried with backoff; nothing is acknowledged before it is settled, so at worst an
///   entry is delivered twice (the engine's de-duplication, or the shared one, removes the copy).
/// - A group that vanished (`NOGROUP`: the server restarted without persistence) is recreated and reading goes
///   on. Entries read from the old group and not yet acknowledged are still delivered (or settled) as usual;
///   their `XACK` finds no group (or a new group without them) and they are counted as not acknowledgeable,
///   never retried in a loop and never lost: at-least-once holds because they were delivered.
final class RedisStreamSource: AcknowledgementReceiver {
    let configuration: RedisSourceConfiguration
    let reader: RedisClient
    let acker: RedisClient
    let counters = RedisSourceCounters()
    private let state = Mutex(State())
    /// Set once reading has stopped and the pipeline has drained: the acknowledger then empties its queue and ends.
    private let finished = Atomic<Bool>(false)
    /// When the acknowledger gives up on a server that is gone (nanoseconds; 0 until finishing).
    private let giveUpAt = Atomic<UInt64>(0)
    private let acknowledging = Mutex<Task<Void, Never>?>(nil)
    /// Whether the `XACK ... NOGROUP` notice was printed since the group was last recreated (once, not per batch).
    private let ackLossNoticed = Atomic<Bool>(false)

    private struct State {
        var nextSequence: UInt64 = 0
        /// IDs read and not yet settled, per unit. An `XAUTOCLAIM` that returns one of them (our own entry, idle
        /// because its delivery takes longer than `claimIdleMs`) must not process it a second time: the claim
        /// round, every few seconds, checks against these (``inFlightIDs()``) rather than every entry keeping a set
        /// up to date.
        var idsByUnit: [UInt64: [String]] = [:]
        var ackQueue: [String] = []
        /// IDs whose `XACK` is being sent: settled, but still pending in Redis, so still ours (a claim round that
        /// ran meanwhile would otherwise take a dead-lettered entry back and deliver it).
        var acknowledging: [String] = []
        var waiter: CheckedContinuation<Void, Never>?
    }

    init(configuration: RedisSourceConfiguration) {
        self.configuration = configuration
        reader = RedisClient(endpoint: configuration.endpoint, label: "source")
        acker = RedisClient(endpoint: configuration.endpoint, label: "source-ack")
    }

    var statistics: RedisSourceStatistics { counters.snapshot(clients: [reader, acker]) }

    static func make(for input: InputSource) -> RedisStreamSource? {
        guard case .redisStream(let configuration) = input else { return nil }
        return RedisStreamSource(configuration: configuration)
    }

    // MARK: - Acknowledgement

    func settled(_ settlement: UnitSettlement) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let ids = s.idsByUnit.removeValue(forKey: settlement.unit) else { return nil }
            guard settlement.isSettled else {
                counters.leftPending.add(ids.count, ordering: .relaxed)
                return nil
            }
            s.ackQueue.append(contentsOf: ids)
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// Sends `XACK` for settled entries until ``finishAcknowledging(deadline:)`` and an empty queue.
    func acknowledge(giveUpAfter deadline: @escaping @Sendable () -> Bool) async {
        while true {
            let ids = await nextAcknowledgements()
            guard !ids.isEmpty else { return }
            defer { state.withLock { $0.acknowledging = [] } }
            var start = 0
            while start < ids.count {
                let slice = Array(ids[start..<min(ids.count, start + 4096)])
                start += slice.count
                do {
                    let reply = try await acker.executeRetrying(
                        [RedisCommand("XACK", [configuration.stream, configuration.group] + slice)],
                        shouldStop: deadline)
                    switch reply[0] {
                    case .error(let message) where RedisError.isNoGroup(message):
                        // The group is gone (a restart without persistence): there is nothing left to acknowledge.
                        // The events were settled; the reader recreates the group. Not retried, so no loop.
                        // (Redis 7 answers XACK for a missing group or key with 0, handled below; this is for
                        // servers and versions that say NOGROUP.)
                        counters.notAcknowledgeable.add(slice.count, ordering: .relaxed)
                        if !ackLossNoticed.exchange(true, ordering: .relaxed) {
                            Self.log("XACK: \(message); entries already settled cannot be acknowledged in a group that no longer exists (counted as not acknowledgeable; their events were delivered or settled)")
                        }
                    case .error(let message):
                        Self.log("XACK failed: \(message); \(slice.count) entries stay pending and will be delivered again")
                        counters.leftPending.add(slice.count, ordering: .relaxed)
                    case .integer(let count):
                        // Fewer than sent: the group was recreated (its pending list is new), the entries were trimmed
                        // (XAUTOCLAIM already dropped them from the pending list), or another consumer claimed and
                        // acknowledged them. Either way they are no longer pending here.
                        let applied = max(0, min(slice.count, Int(count)))
                        counters.acknowledged.add(applied, ordering: .relaxed)
                        counters.notAcknowledgeable.add(slice.count - applied, ordering: .relaxed)
                        if applied < slice.count, !ackLossNoticed.exchange(true, ordering: .relaxed) {
                            Self.log("XACK: \(slice.count - applied) of \(slice.count) settled entries were no longer pending in group \(configuration.group) (the group or stream is gone or was recreated after a restart, the entries were trimmed, or another consumer claimed them); counted as not acknowledgeable, their events were delivered or settled")
                        }
                    default:
                        counters.acknowledged.add(slice.count, ordering: .relaxed)
                    }
                } catch {
                    Self.log("\(error); \(slice.count) entries stay pending and will be delivered again")
                    counters.leftPending.add(slice.count, ordering: .relaxed)
                }
            }
        }
    }

    /// Waits for IDs to acknowledge; empty once finished and nothing is left.
    private func nextAcknowledgements() async -> [String] {
        while true {
            let taken = state.withLock { s -> [String] in
                defer { s.ackQueue.removeAll(keepingCapacity: true) }
                s.acknowledging = s.ackQueue
                return s.ackQueue
            }
            if !taken.isEmpty { return taken }
            if finished.load(ordering: .acquiring) {
                let last = state.withLock { s -> [String] in
                    defer { s.ackQueue.removeAll() }
                    s.acknowledging = s.ackQueue
                    return s.ackQueue
                }
                return last
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if !s.ackQueue.isEmpty || finished.load(ordering: .acquiring) { return true }
                    s.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Starts the task that sends `XACK`s; it retries a lost connection until the run is abandoned.
    func startAcknowledging(abandoned: @escaping @Sendable () -> Bool) {
        let task = Task {
            await acknowledge(giveUpAfter: { [self] in
                let deadline = self.giveUpAt.load(ordering: .relaxed)
                return abandoned() || (deadline != 0 && Clock.nanoseconds() > deadline)
            })
        }
        acknowledging.withLock { $0 = task }
    }

    /// Every unit is settled (the pipeline has drained): acknowledge what is queued, then stop. A server that
    /// stays unreachable for `timeoutSeconds` leaves the rest pending (delivered again later, never lost).
    func finishAcknowledging(timeoutSeconds: Double) async {
        giveUpAt.store(Clock.nanoseconds() + UInt64(max(0, timeoutSeconds) * 1e9), ordering: .relaxed)
        finished.store(true, ordering: .releasing)
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
        await acknowledging.withLock { $0 }?.value
    }

    // MARK: - Reading

    /// Reads until the pipeline drains, or (with `exitWhenIdleSeconds`) the stream is idle and nothing is
    /// pending. Throws only for errors retrying cannot fix (a wrong password, a key that is not a stream).
    ///
    /// A `NOGROUP` reply (the server restarted without persistence, or someone destroyed the group) does not stop
    /// the run: the group is recreated (`XGROUP CREATE ... start MKSTREAM`, `BUSYGROUP` meaning another instance
    /// was first), a notice says so once, ``RedisSourceStatistics/groupsRecreated`` counts it, and reading goes on.
    func read(into pipeline: Pipeline, tracker: SettlementTracker) async throws(RedisError) {
        let stop: @Sendable () -> Bool = { [shutdownState = pipeline.shutdownState] in shutdownState.isDraining }
        let onRetry: @Sendable (RedisError) -> Void = { error in Self.logRateLimited("\(error); reconnecting with backoff") }
        try await createGroup(stop: stop, onRetry: onRetry)
        var lastRecreation: UInt64 = 0
        while true {
            do throws(RedisError) {
                try await readSession(into: pipeline, tracker: tracker, stop: stop, onRetry: onRetry)
                return
            } catch {
                // Draining: nothing more is read, so a read that failed on its way out (the server went away as
                // we stopped) is no failure, and there is no group to recreate. Settled entries are still
                // acknowledged by the acknowledger, which retries on its own.
                if stop() && (error.isRetryable || error.isNoGroup) { return }
                guard error.isNoGroup else { throw error }
                // A group lost again within a second (someone destroys it in a loop) must not spin: wait a bit.
                if Clock.nanoseconds() &- lastRecreation < 1_000_000_000 { try? await Task.sleep(for: .seconds(1)) }
                lastRecreation = Clock.nanoseconds()
                try await createGroup(stop: stop, onRetry: onRetry)
                counters.groupsRecreated.add(1, ordering: .relaxed)
                ackLossNoticed.store(false, ordering: .relaxed)
                Self.log("consumer group \(configuration.group) on stream \(configuration.stream) is gone (\(error.message)): "
                         + "the server restarted without persistence, or the group was destroyed; recreated it at start "
                         + "\(configuration.start) with MKSTREAM and reading on. Entries read before and not yet acknowledged "
                         + "cannot be acknowledged any more: their events are delivered or settled as usual (counted as not acknowledgeable)")
            }
        }
    }

    /// `XGROUP CREATE stream group start MKSTREAM`; `BUSYGROUP` (the group exists) is success.
    private func createGroup(stop: @escaping @Sendable () -> Bool, onRetry: @escaping @Sendable (RedisError) -> Void) async throws(RedisError) {
        let c = configuration
        let created = try await reader.executeRetrying(
            [RedisCommand("XGROUP", ["CREATE", c.stream, c.group, c.start, "MKSTREAM"])], shouldStop: stop, onRetry: onRetry)
        if case .error(let message) = created[0], !message.hasPrefix("BUSYGROUP") {
            throw RedisError(.server, "XGROUP CREATE \(c.stream) \(c.group): \(message)")
        }
    }

    /// One session of reading against one incarnation of the group; throws a `NOGROUP` error when the group vanishes.
    private func readSession(into pipeline: Pipeline, tracker: SettlementTracker, stop: @escaping @Sendable () -> Bool,
                             onRetry: @escaping @Sendable (RedisError) -> Void) async throws(RedisError) {
        let c = configuration
        let field = Array(c.field.utf8)
        // Own pending entries first: a restarted consumer finishes what it had read.
        var cursor = "0"
        while !stop() {
            let entries = try await reader.readStreamRetrying(readGroup(from: cursor, block: nil), field: field,
                                                              shouldStop: stop, onRetry: onRetry).batch(field: c.field)
            guard let last = entries.ids.last else { break }
            cursor = last
            counters.reread.add(entries.count, ordering: .relaxed)
            guard await ingest(entries, extraInvalid: [], ids: entries.ids, pipeline: pipeline, tracker: tracker) else { return }
        }

        let claimEveryNs = UInt64(max(100, min(c.claimIdleMs / 2, 5_000))) * 1_000_000
        var lastClaim: UInt64 = 0
        var lastNewEntry = Clock.nanoseconds()
        var block = c.blockMs
        if let idle = c.exitWhenIdleSeconds { block = max(1, min(block, Int(idle * 1000 / 4))) }
        let readNew = readGroup(from: ">", block: block)
        let reader = self.reader
        // While a batch is decoded, the next one is already being read and parsed (on the client's own queue):
        // the round trip and RESP parsing overlap decoding instead of following it.
        var prefetch: Task<Result<RedisStreamRead, RedisError>, Never>?
        defer { prefetch?.cancel() }
        func startPrefetch() {
            prefetch = Task { [block] () async -> Result<RedisStreamRead, RedisError> in
                do throws(RedisError) {
                    return .success(try await reader.readStreamRetrying(readNew, field: field, extraTimeoutMs: block,
                                                                        shouldStop: stop, onRetry: onRetry))
                } catch {
                    return .failure(error)
                }
            }
        }
        while !stop() {
            let now = Clock.nanoseconds()
            if prefetch == nil, now &- lastClaim >= claimEveryNs {
                lastClaim = now
                guard try await claimIdleEntries(pipeline: pipeline, tracker: tracker, stop: stop, onRetry: onRetry) else { return }
            }
            let reply: RedisStreamRead
            if let pending = prefetch {
                prefetch = nil
                reply = try await pending.value.get()
            } else {
                reply = try await reader.readStreamRetrying(readNew, field: field, extraTimeoutMs: block, shouldStop: stop, onRetry: onRetry)
            }
            let entries = try reply.batch(field: c.field)
            if !entries.isEmpty {
                lastNewEntry = Clock.nanoseconds()
                // A full batch means more are likely waiting; and no claim is due, which uses the same connection.
                if entries.count >= c.batch, Clock.nanoseconds() &- lastClaim < claimEveryNs { startPrefetch() }
                guard await ingest(entries, extraInvalid: [], ids: entries.ids, pipeline: pipeline, tracker: tracker) else {
                    // Entries a prefetch read but nobody ingested stay pending on this consumer: read again at its
                    // next start, or claimed by another instance. Never acknowledged unseen.
                    return
                }
            } else if let idle = c.exitWhenIdleSeconds, Double(Clock.nanoseconds() &- lastNewEntry) / 1e9 >= idle {
                let pending = try await reader.executeRetrying([RedisCommand("XPENDING", [c.stream, c.group])],
                                                               shouldStop: stop, onRetry: onRetry)
                if try PendingEntry.count(pending[0]) == 0 { return }
            }
        }
    }

    private func readGroup(from id: String, block: Int?) -> RedisCommand {
        let c = configuration
        var arguments = ["GROUP", c.group, c.consumer, "COUNT", String(c.batch)]
        if let block { arguments += ["BLOCK", String(block)] }
        return RedisCommand("XREADGROUP", arguments + ["STREAMS", c.stream, id])
    }

    /// Dead-letters entries over the delivery limit, then claims the other idle ones. Returns false when the
    /// pipeline refused input (draining).
    private func claimIdleEntries(pipeline: Pipeline, tracker: SettlementTracker, stop: @escaping @Sendable () -> Bool,
                                  onRetry: @escaping @Sendable (RedisError) -> Void) async throws(RedisError) -> Bool {
        let c = configuration
        let idleMs = String(c.claimIdleMs)
        // Delivery counts come from XPENDING (XAUTOCLAIM does not return them).
        let pendingReply = try await reader.executeRetrying(
            [RedisCommand("XPENDING", [c.stream, c.group, "IDLE", idleMs, "-", "+", String(c.batch)])],
            shouldStop: stop, onRetry: onRetry)
        let inFlight = inFlightIDs()
        let idle = try PendingEntry.list(pendingReply[0]).filter { !inFlight.contains($0.id) }
        let exhausted = idle.filter { $0.deliveries >= Int64(c.maxDeliveries) }
        if !exhausted.isEmpty {
            // Take them over (so no other instance claims them meanwhile) and read their bodies for the dead letter.
            let claimReply = try await reader.executeRetrying(
                [RedisCommand("XCLAIM", [c.stream, c.group, c.consumer, idleMs] + exhausted.map(\.id))],
                shouldStop: stop, onRetry: onRetry)
            var bodies: [String: [UInt8]] = [:]
            for item in claimReply[0].elements ?? [] {
                if let entry = try? StreamEntry.entry(item, field: c.field, command: "XCLAIM"), let body = entry.body {
                    bodies[entry.id] = body
                }
            }
            let records = exhausted.map { entry in
                InvalidInput(line: 1, reason: "stream entry \(entry.id) was delivered \(entry.deliveries) times without being settled (maxDeliveries \(c.maxDeliveries)); dead-lettered and acknowledged",
                             raw: bodies[entry.id] ?? [])
            }
            counters.overDeliveryLimit.add(exhausted.count, ordering: .relaxed)
            guard await ingest(StreamEntryBatch(), extraInvalid: records, ids: exhausted.map(\.id), pipeline: pipeline, tracker: tracker) else {
                return false
            }
        }
        var cursor = "0-0"
        for _ in 0..<16 where !stop() {
            let reply = try await reader.executeRetrying(
                [RedisCommand("XAUTOCLAIM", [c.stream, c.group, c.consumer, idleMs, cursor, "COUNT", String(c.batch)])],
                shouldStop: stop, onRetry: onRetry)
            let (next, claimed, deleted) = try StreamEntry.fromAutoClaim(reply[0], field: c.field)
            let ownEntries = inFlightIDs()
            let entries = claimed.filter { !ownEntries.contains($0.id) }
            if !entries.isEmpty || !deleted.isEmpty {
                counters.claimed.add(entries.count, ordering: .relaxed)
                counters.trimmed.add(deleted.count, ordering: .relaxed)
                let records = deleted.map {
                    InvalidInput(line: 1, reason: "stream entry \($0) was deleted from the stream (trimmed, e.g. by MAXLEN) before it was acknowledged", raw: [])
                }
                guard await ingest(StreamEntryBatch(entries), extraInvalid: records, ids: entries.map(\.id) + deleted,
                                   pipeline: pipeline, tracker: tracker) else { return false }
            }
            cursor = next
            if cursor == "0-0" { break }
        }
        return true
    }

    /// The IDs read and not yet acknowledged: not settled, or settled with their `XACK` queued or on its way.
    /// Once per claim round: O(entries in flight), a few thousand at most.
    private func inFlightIDs() -> Set<String> {
        state.withLock { s in
            var ids = Set<String>(minimumCapacity: s.idsByUnit.values.reduce(0) { $0 + $1.count } + s.ackQueue.count + s.acknowledging.count)
            for unit in s.idsByUnit.values { ids.formUnion(unit) }
            ids.formUnion(s.ackQueue)
            ids.formUnion(s.acknowledging)
            return ids
        }
    }

    /// Hands a batch to the pipeline as one unit whose IDs are acknowledged when it settles. False when the
    /// pipeline is draining and took nothing (the entries stay pending).
    private func ingest(_ entries: StreamEntryBatch, extraInvalid: [InvalidInput], ids: [String], pipeline: Pipeline,
                        tracker: SettlementTracker) async -> Bool {
        guard pipeline.gate.enter() else { return false }
        defer { pipeline.gate.leave() }
        counters.entriesRead.add(entries.count, ordering: .relaxed)
        // Only shared de-duplication reads where each event came from (its claim values).
        let origins = pipeline.sharedDedupeEndpoint != nil
        _ = await pipeline.ingestor.ingest(entries: entries, field: configuration.field, extraInvalid: extraInvalid,
                                           recordingOrigins: origins) { events in
            // Register the IDs before the unit begins: a unit with no events settles inside `begin`.
            let sequence = state.withLock { s -> UInt64 in
                let n = s.nextSequence
                s.nextSequence += 1
                s.idsByUnit[n] = ids
                return n
            }
            return tracker.begin(sequence: sequence, events: events)
        }
        return true
    }

    // MARK: - Logging

    private static let lastLog = Mutex<UInt64>(0)

    static func log(_ message: String) {
        FileHandle.standardError.write(Data("sluice: redis: \(message)\n".utf8))
    }

    /// At most one line a second: a server that is down for a minute must not print thousands.
    static func logRateLimited(_ message: String) {
        let now = Clock.nanoseconds()
        let print = lastLog.withLock { last -> Bool in
            guard now &- last >= 1_000_000_000 else { return false }
            last = now
            return true
        }
        if print { log(message) }
    }
}
