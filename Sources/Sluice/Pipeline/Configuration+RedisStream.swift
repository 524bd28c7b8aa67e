/// A `redis-stream` destination: events written with `XADD` to one stream, or spread over `partitions`
/// streams by a stable hash of a key so that each user's (or unit's) events stay in order in one partition.
public struct RedisStreamDestination: Sendable, Equatable {
    /// Which event field picks the partition.
    public enum PartitionKey: String, Sendable, Equatable, CaseIterable {
        /// The user's `userID`: each user's events in order in one partition.
        case userID
        /// The event's `unitID`.
        case unitID
        /// The event's `timeUUID`: copies of one event always meet in the same partition, so per-instance
        /// de-duplication behind one consumer per partition is exact.
        case timeUUID
    }

    /// `redis://HOST:PORT[/DB]` (no credentials, no query).
    public var url: String
    /// The stream key, or with partitions the prefix: partition `k` is `STREAM:k`.
    public var stream: String
    /// Number of partition streams; 1 writes to `stream` itself.
    public var partitions: Int
    /// The field whose stable hash picks the partition.
    public var partitionBy: PartitionKey
    /// `XADD ... MAXLEN ~ maxLen`: approximate trimming. Trimming can delete entries no consumer has acknowledged yet.
    public var maxLen: Int?
    /// The wire shape of each entry's `body` field.
    public var format: OutputFormat
    /// The entry field the event is written to (the source's `field`).
    public var field: String
    /// ACL user name for `AUTH`.
    public var username: String?
    /// Password for `AUTH` (`"${REDIS_PASSWORD}"`); never printed.
    public var password: String?

    /// Creates a destination description; one partition, by userID, in the Statsig export format.
    public init(url: String, stream: String, partitions: Int = 1, partitionBy: PartitionKey = .userID, maxLen: Int? = nil,
                format: OutputFormat = .statsig, field: String = "body", username: String? = nil, password: String? = nil) {
        self.url = url
        self.stream = stream
        self.partitions = partitions
        self.partitionBy = partitionBy
        self.maxLen = maxLen
        self.format = format
        self.field = field
        self.username = username
        self.password = password
    }

    /// The stream partition `k` is written to.
    public func streamKey(partition: Int) -> String { partitions == 1 ? stream : "\(stream):\(partition)" }

    /// The largest partition count accepted.
    public static let maxPartitions = 4096

    func validationErrors(at path: String) -> [ConfigurationError] {
        var problems: [ConfigurationError] = []
        do {
            let parsed = try RedisURL.parse(url)
            if !parsed.parameters.isEmpty {
                problems.append(ConfigurationError(keyPath: "\(path).url", message: "takes no query parameters (use the destination's keys)"))
            }
        } catch {
            problems.append(ConfigurationError(keyPath: "\(path).url", message: error.message))
        }
        if stream.isEmpty { problems.append(ConfigurationError(keyPath: "\(path).stream", message: "must not be empty")) }
        if field.isEmpty { problems.append(ConfigurationError(keyPath: "\(path).field", message: "must not be empty")) }
        if !(1...Self.maxPartitions).contains(partitions) {
            problems.append(ConfigurationError(keyPath: "\(path).partitions", message: "must be in 1...\(Self.maxPartitions) (got \(partitions))"))
        }
        if let maxLen, !(1...1_000_000_000_000).contains(maxLen) {
            problems.append(ConfigurationError(keyPath: "\(path).maxLen", message: "must be in 1...1000000000000 (got \(maxLen))"))
        }
        return problems
    }

    /// The endpoint with credentials (from the configuration, else `REDIS_USERNAME`/`REDIS_PASSWORD`).
    func endpoint(environment: [String: String]) throws(RedisConfigurationError) -> RedisEndpoint {
        try RedisURL.parse(url).endpoint.withCredentials(username: username, password: password, environment: environment)
    }
}

extension ConfigurationDecoder {
    static let redisStreamKeys = ["url", "stream", "partitions", "partitionBy", "maxLen", "format", "field", "username", "password"]

    /// `{"type": "redis-stream", "url", "stream", "partitions", "partitionBy", "maxLen", "format", "field"}`.
    func redisStream(_ object: JSONObject) throws(ConfigurationError) -> RedisStreamDestination {
        var destination = RedisStreamDestination(url: try object.required("url", for: "redis-stream"),
                                                 stream: try object.required("stream", for: "redis-stream"))
        destination.partitions = try object.int("partitions") ?? 1
        if let key = try object.string("partitionBy") {
            guard let parsed = RedisStreamDestination.PartitionKey(rawValue: key) else {
                throw ConfigurationError(keyPath: object.path(for: "partitionBy"),
                                         message: "expected one of userID, unitID, timeUUID (got \"\(key)\")")
            }
            destination.partitionBy = parsed
        }
        destination.maxLen = try object.int("maxLen")
        destination.format = try format(object)
        destination.field = try object.string("field") ?? "body"
        destination.username = try object.string("username")
        destination.password = try object.string("password")
        return destination
    }
}
