/// De-duplication shared by every instance through one Redis server (`"dedupe": {"shared": "redis://HOST:PORT",
/// "keyPrefix": "sluice:seen:"}`): each event's timeUUID is claimed with `SET key value NX PX window GET`, so
/// whichever instance claims a key first delivers the event and every other copy, on any instance, is a duplicate.
///
/// The value stored under a key names the copy that claimed it (the stream entry ID and the event's position in
/// the entry; for other inputs a token of this process and a sequence number). A copy that finds its own value
/// is not a duplicate: an instance that claimed keys and died before delivering leaves its entries pending, and
/// the instance that claims those entries must deliver them rather than drop them as duplicates of themselves.
public struct SharedDedupeConfiguration: Sendable, Equatable {
    /// `redis://HOST:PORT[/DB]` (no credentials, no query; `rediss://` is refused).
    public var url: String
    /// Prepended to the timeUUID to form the key (default `sluice:seen:`).
    public var keyPrefix: String
    /// ACL user name for `AUTH` (else `REDIS_USERNAME`).
    public var username: String?
    /// Password for `AUTH` (typically `"${REDIS_PASSWORD}"`, else `REDIS_PASSWORD`); never printed.
    public var password: String?

    /// The default key prefix.
    public static let defaultKeyPrefix = "sluice:seen:"
    /// The longest key prefix accepted (keys stay short: every event stores one).
    public static let maxKeyPrefixBytes = 256

    /// Creates shared de-duplication settings.
    public init(url: String, keyPrefix: String = SharedDedupeConfiguration.defaultKeyPrefix, username: String? = nil,
                password: String? = nil) {
        self.url = url
        self.keyPrefix = keyPrefix
        self.username = username
        self.password = password
    }

    func validationErrors(at path: String) -> [ConfigurationError] {
        var problems: [ConfigurationError] = []
        do {
            let parsed = try RedisURL.parse(url)
            if !parsed.parameters.isEmpty {
                problems.append(ConfigurationError(keyPath: "\(path).shared", message: "takes no query parameters (use keyPrefix, username, password)"))
            }
        } catch {
            problems.append(ConfigurationError(keyPath: "\(path).shared", message: error.message))
        }
        if keyPrefix.utf8.count > Self.maxKeyPrefixBytes {
            problems.append(ConfigurationError(keyPath: "\(path).keyPrefix", message: "must be at most \(Self.maxKeyPrefixBytes) bytes (got \(keyPrefix.utf8.count))"))
        }
        if keyPrefix.contains(where: { $0.isWhitespace || $0.isNewline }) {
            problems.append(ConfigurationError(keyPath: "\(path).keyPrefix", message: "must not contain spaces or line breaks"))
        }
        return problems
    }

    /// The endpoint with credentials (from the configuration, else `REDIS_USERNAME`/`REDIS_PASSWORD`).
    func endpoint(environment: [String: String]) throws(RedisConfigurationError) -> RedisEndpoint {
        try RedisURL.parse(url).endpoint.withCredentials(username: username, password: password, environment: environment)
    }
}

extension ConfigurationDecoder {
    /// The `dedupe` keys besides `enabled`, `capacity` and `windowSeconds`.
    static let sharedDedupeKeys = ["shared", "keyPrefix", "username", "password"]

    /// `"shared"`, `"keyPrefix"`, `"username"`, `"password"` of the `dedupe` object; nil without `shared`.
    func sharedDedupe(_ object: JSONObject) throws(ConfigurationError) -> SharedDedupeConfiguration? {
        guard let url = try object.string("shared") else {
            for key in Self.sharedDedupeKeys {
                if try object.string(key) != nil {
                    throw ConfigurationError(keyPath: object.path(for: key), message: "only applies with \"shared\": \"redis://HOST:PORT\"")
                }
            }
            return nil
        }
        return SharedDedupeConfiguration(url: url, keyPrefix: try object.string("keyPrefix") ?? SharedDedupeConfiguration.defaultKeyPrefix,
                                         username: try object.string("username"), password: try object.string("password"))
    }
}
