import Dispatch
import Synchronization

/// An async Redis client for one server: one connection, used by one caller at a time, with reconnection.
///
/// Socket I/O is blocking-with-deadlines (``RedisConnection``) and runs on the client's own serial dispatch
/// queue, never on a Swift concurrency thread: a `BLOCK`ing `XREADGROUP` then occupies one dispatch thread,
/// not one of the two cooperative threads this machine has. Each call is one hop (one continuation resume,
/// ~0.1 µs), paid per pipeline of commands, not per command.
///
/// A broken connection is closed and replaced on the next call; ``executeRetrying(_:extraTimeoutMs:shouldStop:onRetry:)``
/// waits with exponential backoff between attempts, which is how the source and sink ride out a restarting
/// server. Every reconnection is counted (``reconnects``) so that metrics show it.
final class RedisClient: Sendable {
    struct Options: Sendable {
        var connectTimeoutMs = 5_000
        var commandTimeoutMs = 10_000
        var initialBackoffMs = 50
        var maxBackoffMs = 2_000
        var limits = RESPParser.Limits()
    }

    let endpoint: RedisEndpoint
    let options: Options
    private let queue: DispatchQueue
    private struct State {
        var connection: RedisConnection?
        var everConnected = false
    }
    // The connection is a non-Sendable class; the Mutex makes every access exclusive, and all of them happen on
    // `queue` anyway, so the lock is never contended.
    private let state = Mutex(State())
    private let reconnectCount = Atomic<Int>(0)
    private let failureCount = Atomic<Int>(0)
    private let connectedFlag = Atomic<Bool>(false)

    init(endpoint: RedisEndpoint, options: Options = Options(), label: String = "redis") {
        self.endpoint = endpoint
        self.options = options
        self.queue = DispatchQueue(label: "sluice.redis.\(label)")
    }

    /// Connections made after the first (each one follows a lost connection).
    var reconnects: Int { reconnectCount.load(ordering: .relaxed) }
    /// Calls that failed with a connection or protocol error.
    var connectionFailures: Int { failureCount.load(ordering: .relaxed) }
    /// Whether the last call left a working connection.
    var isConnected: Bool { connectedFlag.load(ordering: .relaxed) }

    /// Runs the commands once (pipelined), connecting first if needed. `extraTimeoutMs` lengthens the wait for
    /// replies (a `BLOCK` argument). Error replies come back as `.error` values; a connection that fails is
    /// closed and the error thrown.
    func execute(_ commands: [RedisCommand], extraTimeoutMs: Int = 0) async throws(RedisError) -> [RESPValue] {
        try await onConnection(extraTimeoutMs: extraTimeoutMs) { connection, timeoutMs throws(RedisError) in
            try connection.execute(commands, timeoutMs: timeoutMs)
        }
    }

    /// Runs a pipeline of commands encoded back to back (one reply each), like ``execute(_:extraTimeoutMs:)``.
    func execute(_ pipeline: RedisPipeline) async throws(RedisError) -> [RESPValue] {
        try await onConnection(extraTimeoutMs: 0) { connection, timeoutMs throws(RedisError) in
            try connection.execute(encoded: pipeline.encoded, replies: pipeline.count, timeoutMs: timeoutMs)
        }
    }

    /// ``execute(_:)-(RedisPipeline)``, retried like ``executeRetrying(_:extraTimeoutMs:shouldStop:onRetry:)``.
    func executeRetrying(_ pipeline: RedisPipeline, shouldStop: @Sendable () -> Bool = { false },
                         onRetry: @Sendable (RedisError) -> Void = { _ in }) async throws(RedisError) -> [RESPValue] {
        try await retrying(shouldStop: shouldStop, onRetry: onRetry) { () async throws(RedisError) -> [RESPValue] in
            try await execute(pipeline)
        }
    }

    /// Runs one stream read (`XREADGROUP`) through the parser's fast path (``RedisConnection/executeStreamRead(_:field:timeoutMs:)``).
    func readStream(_ command: RedisCommand, field: [UInt8], extraTimeoutMs: Int = 0) async throws(RedisError) -> RedisStreamRead {
        try await onConnection(extraTimeoutMs: extraTimeoutMs) { connection, timeoutMs throws(RedisError) in
            try connection.executeStreamRead(command, field: field, timeoutMs: timeoutMs)
        }
    }

    /// Runs the commands, retrying connection and protocol errors with exponential backoff (and full jitter)
    /// until they succeed or `shouldStop` returns true. Authentication failures are not retried: a wrong
    /// password stays wrong.
    func executeRetrying(_ commands: [RedisCommand], extraTimeoutMs: Int = 0,
                         shouldStop: @Sendable () -> Bool = { false },
                         onRetry: @Sendable (RedisError) -> Void = { _ in }) async throws(RedisError) -> [RESPValue] {
        try await retrying(shouldStop: shouldStop, onRetry: onRetry) { () async throws(RedisError) -> [RESPValue] in
            try await execute(commands, extraTimeoutMs: extraTimeoutMs)
        }
    }

    /// ``readStream(_:field:extraTimeoutMs:)``, retried like ``executeRetrying(_:extraTimeoutMs:shouldStop:onRetry:)``.
    func readStreamRetrying(_ command: RedisCommand, field: [UInt8], extraTimeoutMs: Int = 0,
                            shouldStop: @Sendable () -> Bool = { false },
                            onRetry: @Sendable (RedisError) -> Void = { _ in }) async throws(RedisError) -> RedisStreamRead {
        try await retrying(shouldStop: shouldStop, onRetry: onRetry) { () async throws(RedisError) -> RedisStreamRead in
            try await readStream(command, field: field, extraTimeoutMs: extraTimeoutMs)
        }
    }

    private func retrying<T>(shouldStop: @Sendable () -> Bool, onRetry: @Sendable (RedisError) -> Void,
                             _ attempt: () async throws(RedisError) -> T) async throws(RedisError) -> T {
        var backoff = options.initialBackoffMs
        while true {
            do {
                return try await attempt()
            } catch {
                guard error.isRetryable, !shouldStop() else { throw error }
                onRetry(error)
                let wait = Int.random(in: backoff / 2...max(backoff / 2, backoff))
                try? await Task.sleep(for: .milliseconds(wait))
                if shouldStop() { throw error }
                backoff = min(options.maxBackoffMs, backoff * 2)
            }
        }
    }

    /// Closes the connection; the next call opens a new one.
    func close() {
        queue.sync {
            state.withLock { s in
                s.connection?.close()
                s.connection = nil
            }
            connectedFlag.store(false, ordering: .relaxed)
        }
    }

    /// Runs `body` on the client's queue with a connected connection (connecting first when needed).
    private func onConnection<T: Sendable>(extraTimeoutMs: Int,
                                           _ body: @escaping @Sendable (RedisConnection, Int) throws(RedisError) -> T) async throws(RedisError) -> T {
        let result: Result<T, RedisError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: self.now(extraTimeoutMs: extraTimeoutMs, body))
            }
        }
        return try result.get()
    }

    private func now<T>(extraTimeoutMs: Int, _ body: @Sendable (RedisConnection, Int) throws(RedisError) -> T) -> Result<T, RedisError> {
        state.withLock { s -> Result<T, RedisError> in
            do throws(RedisError) {
                if s.connection == nil || !(s.connection?.isOpen ?? false) {
                    s.connection = nil
                    let connection = try RedisConnection(endpoint: endpoint, connectTimeoutMs: options.connectTimeoutMs,
                                                         limits: options.limits)
                    if s.everConnected { reconnectCount.add(1, ordering: .relaxed) }
                    s.everConnected = true
                    s.connection = connection
                }
                let result = try body(s.connection!, options.commandTimeoutMs + extraTimeoutMs)
                connectedFlag.store(true, ordering: .relaxed)
                return .success(result)
            } catch {
                s.connection?.close()
                s.connection = nil
                connectedFlag.store(false, ordering: .relaxed)
                if error.isRetryable { failureCount.add(1, ordering: .relaxed) }
                return .failure(error)
            }
        }
    }
}

/// What a stream read returned: its entries (the fast path), or the reply as a value for the caller to read.
enum RedisStreamRead: Sendable {
    case entries(StreamEntryBatch)
    case reply(RESPValue)

    /// The entries of an `XREADGROUP` reply either way; an error reply (`NOGROUP`, ...) is thrown as
    /// ``StreamEntry/fromReadGroup(_:field:)`` does.
    func batch(field: String) throws(RedisError) -> StreamEntryBatch {
        switch self {
        case .entries(let batch): batch
        case .reply(let reply): StreamEntryBatch(try StreamEntry.fromReadGroup(reply, field: field))
        }
    }
}
