#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Writes batches to Redis Streams: one `XADD` per event, all of a batch's commands pipelined in one round
/// trip, each event to the partition its key hashes to.
///
/// Retries a lost connection with backoff until the drain deadline (a batch partly written before the
/// connection broke is written again: at-least-once, and the copies share their timeUUID, which downstream
/// de-duplication removes). An error reply (wrong type, out of memory) fails the batch, which is dead-lettered.
struct RedisStreamSender: BatchSender {
    let destination: RedisStreamDestination
    let client: RedisClient
    let encoder: any EventEncoder
    let name: String
    /// Per partition: its `XADD` prefix, encoded once (``prefix(key:destination:)``).
    private let prefixes: [[UInt8]]

    init(destination: RedisStreamDestination, endpoint: RedisEndpoint, encoder: any EventEncoder, name: String) {
        self.destination = destination
        self.client = RedisClient(endpoint: endpoint, label: "sink.\(name)")
        self.encoder = encoder
        self.name = name
        prefixes = (0..<destination.partitions).map { Self.prefix(key: destination.streamKey(partition: $0), destination: destination) }
    }

    func send(_ batch: Batch, abandon: @escaping @Sendable () -> Bool) async -> SendOutcome {
        let pipeline = self.pipeline(for: batch)
        let retries = Atomic<Int>(0)
        do {
            let replies = try await client.executeRetrying(pipeline, shouldStop: abandon,
                                                           onRetry: { _ in retries.add(1, ordering: .relaxed) })
            let attempts = 1 + retries.load(ordering: .relaxed)
            for reply in replies {
                if case .error(let message) = reply {
                    return .failed(reason: "redis-stream \(name): XADD failed: \(message.prefix(200))", attempts: attempts)
                }
            }
            return .delivered(attempts: attempts)
        } catch {
            return .failed(reason: "redis-stream \(name): \(error)", attempts: 1 + retries.load(ordering: .relaxed))
        }
    }

    /// One `XADD` per encoded item, encoded straight into one request; the body's lines follow the batch's
    /// events in order. Each partition's command prefix (`XADD key [MAXLEN ~ n] * field`) is encoded once.
    func pipeline(for batch: Batch) -> RedisPipeline {
        var pipeline = RedisPipeline()
        pipeline.encoded.reserveCapacity(batch.body.count + batch.eventCount * (prefixes[0].count + 16))
        batch.body.withUnsafeBytes { body in
            guard let base = body.baseAddress else { return }
            var lineStart = 0
            for member in batch.members {
                member.chunk.arena.withUnsafeBytes { arena in
                    for index in member.indices {
                        let event = member.chunk.events[Int(index)]
                        let prefix = prefixes[partition(of: event, arena: arena)]
                        for _ in 0..<encoder.itemCount(event) {
                            guard lineStart < body.count else { return }
                            let end = memchr(base + lineStart, 0x0A, body.count - lineStart)
                                .map { UnsafeRawPointer($0) - base } ?? body.count
                            pipeline.encoded.append(contentsOf: prefix)
                            RedisCommand.appendBulk(UnsafeRawBufferPointer(rebasing: body[lineStart..<end]), to: &pipeline.encoded)
                            pipeline.count += 1
                            lineStart = end + 1
                        }
                    }
                }
            }
        }
        return pipeline
    }

    /// `*N $4 XADD $k key [MAXLEN ~ n] $1 * $f field` for one partition's key: everything but the value.
    static func prefix(key: String, destination: RedisStreamDestination) -> [UInt8] {
        var arguments = [key]
        if let maxLen = destination.maxLen { arguments += ["MAXLEN", "~", String(maxLen)] }
        arguments += ["*", destination.field]
        var encoded: [UInt8] = []
        RedisCommand.appendHeader(count: 2 + arguments.count, to: &encoded)
        RedisCommand.appendBulk("XADD".utf8, to: &encoded)
        for argument in arguments { RedisCommand.appendBulk(argument.utf8, to: &encoded) }
        return encoded
    }

    /// A stable partition: FNV-1a of the key's bytes (a string's content without quotes; the timeUUID's 16
    /// bytes), modulo the partition count. Stable across runs, machines and versions: it is part of the layout.
    func partition(of event: Event, arena: UnsafeRawBufferPointer) -> Int {
        guard destination.partitions > 1 else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        switch destination.partitionBy {
        case .timeUUID:
            withUnsafeBytes(of: event.timeUUID) { for byte in $0 { mix(byte) } }
        case .userID, .unitID:
            let span = destination.partitionBy == .userID ? event.userID : event.unitID
            if span.count > 0 {
                var start = Int(span.start), end = Int(span.start) + Int(span.count)
                if end - start >= 2 && arena[start] == UInt8(ascii: "\"") && arena[end - 1] == UInt8(ascii: "\"") {
                    start += 1
                    end -= 1
                }
                for offset in start..<end { mix(arena[offset]) }
            }
        }
        return Int(hash % UInt64(destination.partitions))
    }
}
