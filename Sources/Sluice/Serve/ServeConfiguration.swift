/// The `"serve"` section: where `sluice serve` listens, which keys it accepts and how it protects itself.
public struct ServeConfiguration: Sendable, Equatable {
    /// `HOST:PORT` to listen on (`--listen` overrides it).
    public var listen: String
    /// The largest request body, compressed or decompressed, in bytes.
    public var maxBodyBytes: Int
    /// Statsig server secrets and client keys accepted on `/v1/log_event` and `/v1/rgstr`. Empty: any key,
    /// allowed only when listening on a loopback address.
    public var statsigKeys: [String]
    /// Segment write keys accepted on the Segment endpoints. Empty: any key, only on a loopback address.
    public var segmentWriteKeys: [String]
    /// Connections served at once (one thread each); more wait in the accept queue.
    public var maxConnections: Int
    /// A request must arrive whole within this many milliseconds of its first byte (slow clients get 408).
    public var readTimeoutMs: Int
    /// Idle keep-alive connections close after this many milliseconds.
    public var idleTimeoutMs: Int
    /// Peers (addresses or CIDR blocks) whose `X-Forwarded-For` names the real client; nobody's by default.
    public var trustedProxies: [String]
    /// How long a request waits for room in a full pipeline before it is answered 503 with `Retry-After`.
    public var queueWaitMs: Int
    /// Bytes of request bodies held at once by all connections together (256 MiB by default), so many clients
    /// sending large bodies cannot take unbounded memory; a body that does not fit waits up to `queueWaitMs`,
    /// then is answered 503 with `Retry-After`, unread.
    public var maxInFlightBodyBytes: Int

    /// Creates serve settings; the defaults listen on 127.0.0.1:8080 with 4 MiB bodies.
    public init(listen: String = "127.0.0.1:8080", maxBodyBytes: Int = 4 * 1024 * 1024, statsigKeys: [String] = [],
                segmentWriteKeys: [String] = [], maxConnections: Int = 1024, readTimeoutMs: Int = 30_000,
                idleTimeoutMs: Int = 60_000, trustedProxies: [String] = [], queueWaitMs: Int = 1000,
                maxInFlightBodyBytes: Int = 256 * 1024 * 1024) {
        self.listen = listen
        self.maxBodyBytes = maxBodyBytes
        self.statsigKeys = statsigKeys
        self.segmentWriteKeys = segmentWriteKeys
        self.maxConnections = maxConnections
        self.readTimeoutMs = readTimeoutMs
        self.idleTimeoutMs = idleTimeoutMs
        self.trustedProxies = trustedProxies
        self.queueWaitMs = queueWaitMs
        self.maxInFlightBodyBytes = maxInFlightBodyBytes
    }

    /// Every problem with these settings, located under `serve.`.
    public func validationErrors() -> [ConfigurationError] {
        var problems: [ConfigurationError] = []
        func range(_ value: Int, _ bounds: ClosedRange<Int>, _ key: String) {
            if !bounds.contains(value) {
                problems.append(ConfigurationError(keyPath: "serve.\(key)", message: "must be from \(bounds.lowerBound) to \(bounds.upperBound) (got \(value))"))
            }
        }
        do {
            _ = try ListenAddress(listen)
        } catch {
            problems.append(ConfigurationError(keyPath: "serve.listen", message: error.message))
        }
        range(maxBodyBytes, 1024...(1 << 30), "maxBodyBytes")
        range(maxConnections, 1...10_000, "maxConnections")
        range(readTimeoutMs, 100...3_600_000, "readTimeoutMs")
        range(idleTimeoutMs, 100...3_600_000, "idleTimeoutMs")
        range(queueWaitMs, 0...60_000, "queueWaitMs")
        range(maxInFlightBodyBytes, (1 << 20)...(1 << 40), "maxInFlightBodyBytes")
        if maxInFlightBodyBytes < maxBodyBytes && maxInFlightBodyBytes >= 1 << 20 {
            problems.append(ConfigurationError(keyPath: "serve.maxInFlightBodyBytes", message: "must be at least serve.maxBodyBytes (\(maxBodyBytes)), or no largest body could ever be read (got \(maxInFlightBodyBytes))"))
        }
        for (index, key) in statsigKeys.enumerated() where key.isEmpty {
            problems.append(ConfigurationError(keyPath: "serve.statsigKeys[\(index)]", message: "must not be empty"))
        }
        for (index, key) in segmentWriteKeys.enumerated() where key.isEmpty {
            problems.append(ConfigurationError(keyPath: "serve.segmentWriteKeys[\(index)]", message: "must not be empty"))
        }
        for (index, proxy) in trustedProxies.enumerated() where IPNetwork(proxy) == nil {
            problems.append(ConfigurationError(keyPath: "serve.trustedProxies[\(index)]", message: "expected an IP address or CIDR block such as 10.0.0.0/8 (got \"\(proxy)\")"))
        }
        return problems
    }
}
