import Foundation

/// The Redis Streams source's settings as written in `"input": {"redis": {...}}`: every key a query parameter of
/// the `redis://` URL may also carry, plus the credentials, which only the configuration (or `REDIS_PASSWORD`)
/// may carry.
public struct RedisInputSettings: Sendable, Equatable {
    /// Settings by name (`url`, `stream`, `group`, `consumer`, `field`, `start`, `claimIdleMs`, `maxDeliveries`,
    /// `batch`, `blockMs`), as text; numbers are checked when the source is resolved and by validation.
    public var values: [String: String]
    /// ACL user name for `AUTH`.
    public var username: String?
    /// Password for `AUTH` (typically `"${REDIS_PASSWORD}"`); never printed.
    public var password: String?

    /// Creates settings.
    public init(values: [String: String] = [:], username: String? = nil, password: String? = nil) {
        self.values = values
        self.username = username
        self.password = password
    }

    /// The keys accepted in the configuration object (and, but for `url`, as URL query parameters).
    public static let keys = ["url", "stream", "group", "consumer", "field", "start", "claimIdleMs", "maxDeliveries",
                              "batch", "blockMs"]

    /// Problems with these settings, each located under `path`.
    func validationErrors(at path: String) -> [ConfigurationError] {
        var problems: [ConfigurationError] = []
        if let url = values["url"] {
            do { _ = try RedisURL.parse(url) } catch {
                problems.append(ConfigurationError(keyPath: "\(path).url", message: error.message))
            }
        }
        for (key, message) in RedisSourceConfiguration.rangeProblems(values) {
            problems.append(ConfigurationError(keyPath: "\(path).\(key)", message: message))
        }
        return problems
    }
}

/// Everything the Redis Streams source needs, resolved from the `--input redis://...` URL, the configuration's
/// `input.redis` object and the environment.
public struct RedisSourceConfiguration: Sendable, Equatable {
    /// The server, database and credentials.
    public var endpoint: RedisEndpoint
    /// The stream key.
    public var stream: String
    /// The consumer group, shared by every instance reading the stream.
    public var group: String
    /// This instance's consumer name; it must stay the same across restarts so that a restarted instance
    /// re-reads its own pending entries (default: the host name).
    public var consumer: String
    /// The entry field holding the input body (default `body`).
    public var field: String
    /// Where a group created by this source starts: `0` (the whole stream, default) or `$` (new entries only).
    public var start: String
    /// Entries pending longer than this on any consumer are claimed (`XAUTOCLAIM`); default 30 s.
    public var claimIdleMs: Int
    /// An entry delivered this many times without being acknowledged is dead-lettered and acknowledged.
    public var maxDeliveries: Int
    /// Entries per `XREADGROUP`; each batch is one unit of acknowledgement.
    public var batch: Int
    /// How long one `XREADGROUP` waits for new entries (`BLOCK`).
    public var blockMs: Int
    /// `--exit-when-idle`: stop once no new entry arrived for this long and the group has nothing pending.
    public var exitWhenIdleSeconds: Double?

    /// Creates a configuration; defaults as documented on each property.
    public init(endpoint: RedisEndpoint, stream: String, group: String, consumer: String = ProcessInfo.processInfo.hostName,
                field: String = "body", start: String = "0", claimIdleMs: Int = 30_000, maxDeliveries: Int = 10,
                batch: Int = 512, blockMs: Int = 1000, exitWhenIdleSeconds: Double? = nil) {
        self.endpoint = endpoint
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.field = field
        self.start = start
        self.claimIdleMs = claimIdleMs
        self.maxDeliveries = maxDeliveries
        self.batch = batch
        self.blockMs = blockMs
        self.exitWhenIdleSeconds = exitWhenIdleSeconds
    }

    /// Ranges of the numeric settings.
    static let ranges: [String: ClosedRange<Int>] = [
        "claimIdleMs": 1...86_400_000, "maxDeliveries": 1...1_000_000, "batch": 1...100_000, "blockMs": 1...60_000,
    ]

    static func rangeProblems(_ values: [String: String]) -> [(String, String)] {
        var problems: [(String, String)] = []
        for key in ranges.keys.sorted() {
            guard let text = values[key] else { continue }
            let range = ranges[key]!
            guard let number = Int(text), range.contains(number) else {
                problems.append((key, "must be an integer in \(range.lowerBound)...\(range.upperBound)"))
                continue
            }
        }
        if let start = values["start"], !isStreamID(start) {
            problems.append(("start", "must be 0, $ or a stream entry ID (MS-SEQ)"))
        }
        for key in ["stream", "group", "consumer", "field"] where values[key]?.isEmpty == true {
            problems.append((key, "must not be empty"))
        }
        return problems
    }

    static func isStreamID(_ text: String) -> Bool {
        if text == "$" || text == "0" { return true }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    /// Resolves the source from a URL (`--input`, or the configuration's `url`), the configuration's other keys
    /// and the environment (`REDIS_PASSWORD`, `REDIS_USERNAME` when the configuration names none). Query
    /// parameters override configuration keys of the same name.
    public static func resolve(url: String?, settings: RedisInputSettings?,
                               environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(RedisConfigurationError) -> RedisSourceConfiguration {
        guard let text = url ?? settings?.values["url"] else {
            throw RedisConfigurationError("no Redis URL: pass --input redis://HOST:PORT?stream=S&group=G or set input.redis.url")
        }
        let parsed = try RedisURL.parse(text)
        var values = settings?.values ?? [:]
        values["url"] = nil
        for (name, value) in parsed.parameters {
            guard RedisInputSettings.keys.contains(name), name != "url" else {
                throw RedisConfigurationError("unknown query parameter \"\(name)\" (expected one of \(RedisInputSettings.keys.filter { $0 != "url" }.joined(separator: ", ")))")
            }
            values[name] = value
        }
        if let (key, message) = rangeProblems(values).first { throw RedisConfigurationError("\(key) \(message)") }
        guard let stream = values["stream"] else { throw RedisConfigurationError("stream is required (?stream=NAME)") }
        guard let group = values["group"] else { throw RedisConfigurationError("group is required (?group=NAME)") }
        let endpoint = parsed.endpoint.withCredentials(username: settings?.username, password: settings?.password,
                                                      environment: environment)
        var configuration = RedisSourceConfiguration(endpoint: endpoint, stream: stream, group: group)
        if let consumer = values["consumer"] { configuration.consumer = consumer }
        if let field = values["field"] { configuration.field = field }
        if let start = values["start"] { configuration.start = start }
        if let value = values["claimIdleMs"].flatMap(Int.init) { configuration.claimIdleMs = value }
        if let value = values["maxDeliveries"].flatMap(Int.init) { configuration.maxDeliveries = value }
        if let value = values["batch"].flatMap(Int.init) { configuration.batch = value }
        if let value = values["blockMs"].flatMap(Int.init) { configuration.blockMs = value }
        return configuration
    }
}

extension ConfigurationDecoder {
    /// `"input": {"redis": {...}}`: every source key as a string or an integer, plus `username` / `password`.
    func redisInput(_ object: JSONObject) throws(ConfigurationError) -> RedisInputSettings {
        try object.allowOnly(RedisInputSettings.keys + ["username", "password"])
        var settings = RedisInputSettings()
        for key in RedisInputSettings.keys {
            if object.values[key] is String {
                settings.values[key] = try object.string(key)
            } else if let number = try object.int(key) {
                settings.values[key] = String(number)
            }
        }
        settings.username = try object.string("username")
        settings.password = try object.string("password")
        return settings
    }
}
