import Foundation

/// Stage 2 with `dedupe.shared`: drops events whose timeUUID another copy already claimed in Redis, so that
/// duplicates are removed exactly across any number of instances.
///
/// Each chunk is one pipelined round trip of `SET PREFIX+UUID VALUE NX PX WINDOW GET` per event (Redis 7):
/// the reply is nil when this copy claimed the key, or the value stored by the copy that did. The value names
/// the copy (``EventOrigins``: `ENTRY-ID#POSITION` for a stream entry; `TOKEN#SEQUENCE` of this process for other
/// input), and a key holding the event's own value is not a duplicate. That is the crash case: an instance that
/// claimed keys and died before delivering leaves its entries pending; the instance that claims them (or the
/// same consumer restarted) finds its own values and delivers, instead of dropping them as duplicates of
/// themselves.
///
/// Keys expire after `dedupe.windowSeconds` of wall-clock time (`PX`). A key whose event is later dead-lettered
/// stays claimed: a copy arriving afterwards is a duplicate (replay the dead letters to deliver it).
///
/// When Redis cannot be reached, times out or refuses the command, the stage fails open: the chunk is
/// de-duplicated by this instance's own table only, its events are counted as unchecked, a notice says so,
/// and Redis is tried again after ``retryPauseMs``, doubling with each failure in a row up to ``maxRetryPauseMs``
/// (a server that hangs costs one command timeout per pause, not one per chunk). Delivering with per-instance de-duplication costs a few
/// cross-instance duplicates during an outage; failing closed would stop every instance's delivery whenever
/// the de-duplication store is down, making it a single point of failure for the pipeline.
actor SharedDeduplicator {
    /// How long the stage stays on per-instance de-duplication after a failed round trip.
    static let retryPauseMs: UInt64 = 1_000
    /// The longest pause, reached after several failures in a row.
    static let maxRetryPauseMs: UInt64 = 30_000

    private var table: DedupeTable
    private let client: RedisClient
    private let endpointDescription: String
    private let prefix: [UInt8]
    private let windowArgument: [UInt8]
    private let accounting: Accounting
    private let stats: DedupeStats
    private let counters: SharedDedupeCounters
    private let notices: Notices
    /// Identifies this process in claim values of events that have no stream entry.
    private let instanceToken: String
    private var sequence: UInt64 = 0
    private var pausedUntil: UInt64 = 0
    private var unavailable = false
    private var failuresInARow = 0

    init(configuration: DedupeConfiguration, shared: SharedDedupeConfiguration, endpoint: RedisEndpoint,
         accounting: Accounting, stats: DedupeStats, counters: SharedDedupeCounters, notices: Notices) {
        table = DedupeTable(capacity: max(1, configuration.capacity),
                            windowMilliseconds: Int64(configuration.windowSeconds) * 1000)
        var options = RedisClient.Options()
        options.connectTimeoutMs = 1_000
        options.commandTimeoutMs = 5_000
        client = RedisClient(endpoint: endpoint, options: options, label: "dedupe")
        endpointDescription = endpoint.description
        prefix = Array(shared.keyPrefix.utf8)
        windowArgument = Array(String(Int64(configuration.windowSeconds) * 1000).utf8)
        self.accounting = accounting
        self.stats = stats
        self.counters = counters
        self.notices = notices
        instanceToken = "p" + UUID().uuidString.lowercased().prefix(13).replacingOccurrences(of: "-", with: "")
    }

    func run(input: BoundedChannel<EventChunk>, output: BoundedChannel<EventChunk>) async {
        for await var chunk in input {
            let before = chunk.events.count
            let keep = await decide(chunk)
            chunk.origins = nil
            if keep.contains(false) {
                var kept: [Event] = []
                kept.reserveCapacity(before)
                for index in chunk.events.indices where keep[index] { kept.append(chunk.events[index]) }
                chunk.events = kept
            }
            await DedupeHandOff.forward(chunk, duplicates: before - chunk.events.count, table: table,
                                        accounting: accounting, stats: stats, output: output)
        }
        client.close()
        output.finish()
    }

    /// Whether to keep each event of the chunk. Every event also goes into the local table, which is what
    /// decides while Redis is unavailable.
    private func decide(_ chunk: EventChunk) async -> [Bool] {
        var local = [Bool](repeating: true, count: chunk.events.count)
        for (index, event) in chunk.events.enumerated() {
            local[index] = table.insert(DedupeKey(high: event.timeUUID.high, low: event.timeUUID.low),
                                        eventTimeMilliseconds: event.timestamp)
        }
        guard !chunk.events.isEmpty else { return local }
        if Clock.nanoseconds() < pausedUntil {
            counters.unchecked.add(chunk.events.count, ordering: .relaxed)
            return local
        }
        var values: [[UInt8]] = []
        values.reserveCapacity(chunk.events.count)
        var commands: [RedisCommand] = []
        commands.reserveCapacity(chunk.events.count)
        for (index, event) in chunk.events.enumerated() {
            let value: [UInt8]
            if let origins = chunk.origins, index < origins.entryOfEvent.count {
                value = Array(origins.claimValue(of: index).utf8)
            } else {
                sequence += 1
                value = Array("\(instanceToken)#\(sequence)".utf8)
            }
            values.append(value)
            commands.append(claimCommand(event.timeUUID, value: value))
        }
        let replies: [RESPValue]
        do {
            replies = try await client.execute(commands)
        } catch {
            becameUnavailable("\(error)", events: chunk.events.count)
            return local
        }
        var keep = [Bool](repeating: true, count: chunk.events.count)
        var checked = 0, claimed = 0, duplicates = 0, own = 0, refused = 0
        var refusal: String?
        for (index, reply) in replies.enumerated() where index < keep.count {
            switch reply {
            case .null, .bulkString(nil):
                checked += 1; claimed += 1
            case .bulkString(let stored?):
                checked += 1
                if stored == values[index] { own += 1 } else { duplicates += 1; keep[index] = false }
            case .error(let message):
                refused += 1
                refusal = refusal ?? message
                keep[index] = local[index]
            default:
                refused += 1
                refusal = refusal ?? "unexpected reply \(reply.summary)"
                keep[index] = local[index]
            }
        }
        counters.checked.add(checked, ordering: .relaxed)
        counters.claimed.add(claimed, ordering: .relaxed)
        counters.duplicates.add(duplicates, ordering: .relaxed)
        counters.ownClaimsFound.add(own, ordering: .relaxed)
        if let refusal {
            becameUnavailable("Redis refused SET NX GET: \(refusal.prefix(200))", events: refused)
        } else if unavailable {
            unavailable = false
            failuresInARow = 0
            notices.post(.sharedDedupe("shared dedupe \(endpointDescription): Redis answers again; de-duplication is shared across instances again"),
                         once: "sharedDedupe.back")
        }
        return keep
    }

    private func becameUnavailable(_ reason: String, events: Int) {
        counters.unchecked.add(events, ordering: .relaxed)
        counters.failures.add(1, ordering: .relaxed)
        failuresInARow += 1
        pausedUntil = Clock.nanoseconds() + Self.pauseMs(afterFailuresInARow: failuresInARow) * 1_000_000
        unavailable = true
        notices.post(.sharedDedupe("shared dedupe \(endpointDescription): \(reason); failing open: events are de-duplicated "
                                   + "per instance only until Redis answers (counted as unchecked), retrying after \(Self.retryPauseMs) ms, "
                                   + "doubling up to \(Self.maxRetryPauseMs / 1000) s"),
                     once: "sharedDedupe.unavailable")
    }

    /// The pause on per-instance de-duplication after `failures` failed round trips in a row: 1 s, 2 s, 4 s, ...
    /// up to 30 s.
    static func pauseMs(afterFailuresInARow failures: Int) -> UInt64 {
        min(maxRetryPauseMs, retryPauseMs << UInt64(min(max(failures, 1) - 1, 5)))
    }

    /// `SET PREFIX+UUID VALUE NX PX WINDOW GET`, encoded directly (one per event: no intermediate strings).
    private func claimCommand(_ uuid: TimeUUID, value: [UInt8]) -> RedisCommand {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(80 + prefix.count + value.count)
        RedisCommand.appendHeader(count: 7, to: &encoded)
        RedisCommand.appendBulk(Self.set, to: &encoded)
        encoded.append(UInt8(ascii: "$"))
        RedisCommand.appendDecimal(prefix.count + 36, to: &encoded)
        encoded.append(13); encoded.append(10)
        encoded.append(contentsOf: prefix)
        Self.appendCanonical(uuid, to: &encoded)
        encoded.append(13); encoded.append(10)
        RedisCommand.appendBulk(value, to: &encoded)
        RedisCommand.appendBulk(Self.nx, to: &encoded)
        RedisCommand.appendBulk(Self.px, to: &encoded)
        RedisCommand.appendBulk(windowArgument, to: &encoded)
        RedisCommand.appendBulk(Self.get, to: &encoded)
        return RedisCommand(name: "SET", encoded: encoded)
    }

    private static let set = Array("SET".utf8), nx = Array("NX".utf8), px = Array("PX".utf8), get = Array("GET".utf8)
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The UUID's canonical lowercase `8-4-4-4-12` text.
    static func appendCanonical(_ uuid: TimeUUID, to buffer: inout [UInt8]) {
        for (half, value) in [uuid.high, uuid.low].enumerated() {
            for nibble in 0..<16 {
                let position = half * 16 + nibble
                if position == 8 || position == 12 || position == 16 || position == 20 { buffer.append(UInt8(ascii: "-")) }
                buffer.append(hexDigits[Int(value >> UInt64(60 - nibble * 4) & 0xF)])
            }
        }
    }
}
