import Foundation

/// Where a Redis server is and how to log in: parsed from a `redis://HOST:PORT[/DB]` URL, with the
/// credentials supplied separately (configuration or `REDIS_PASSWORD`), never in the URL, where `ps` and logs
/// would show them.
public struct RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// Host name or address.
    public var host: String
    /// TCP port (default 6379).
    public var port: Int
    /// Database number (`SELECT`), the URL's path; 0 by default.
    public var database: Int
    /// ACL user name for `AUTH user password`; nil uses the default user.
    public var username: String?
    /// Password for `AUTH`; nil sends no `AUTH`. Never printed.
    public var password: String?

    /// Creates an endpoint.
    public init(host: String, port: Int = 6379, database: Int = 0, username: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
    }

    /// `redis://host:port/db`, without credentials: safe to print.
    public var description: String { "redis://\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" }

    /// The highest database number accepted (Redis's own limit is its `databases` setting, 16 by default).
    public static let maxDatabase = 1_000_000
}

/// A `redis://` URL taken apart: the endpoint and the query parameters, in order.
struct RedisURL: Sendable, Equatable {
    var endpoint: RedisEndpoint
    var parameters: [(name: String, value: String)]

    static func == (lhs: RedisURL, rhs: RedisURL) -> Bool {
        lhs.endpoint == rhs.endpoint && lhs.parameters.map(\.name) == rhs.parameters.map(\.name)
            && lhs.parameters.map(\.value) == rhs.parameters.map(\.value)
    }

    /// Whether `text` looks like a Redis URL at all (the CLI uses this to tell `--input FILE` from a URL).
    static func isRedisURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("redis://") || lower.hasPrefix("rediss://")
    }

    /// Parses `redis://HOST[:PORT][/DB][?name=value&...]`. The messages never quote the URL: a URL built from
    /// environment variables may carry a secret.
    static func parse(_ text: String) throws(RedisConfigurationError) -> RedisURL {
        let lower = text.lowercased()
        if lower.hasPrefix("rediss://") {
            throw RedisConfigurationError(
                "rediss:// (Redis over TLS) is not supported: Sluice has no TLS client without a package dependency; "
                    + "use redis:// on a trusted network, or a local TLS tunnel (stunnel, spiped) to the server")
        }
        guard lower.hasPrefix("redis://") else { throw RedisConfigurationError("must be a redis:// URL") }
        guard let components = URLComponents(string: text) else { throw RedisConfigurationError("is not a valid URL") }
        if components.user != nil || components.password != nil {
            throw RedisConfigurationError(
                "must not carry a user name or password (ps and logs would show them): put \"username\"/\"password\" "
                    + "in the configuration (\"${REDIS_PASSWORD}\") or set REDIS_PASSWORD")
        }
        guard let host = components.host, !host.isEmpty else { throw RedisConfigurationError("has no host") }
        let port = components.port ?? 6379
        guard (1...65_535).contains(port) else { throw RedisConfigurationError("port must be 1...65535") }
        var database = 0
        let path = components.path
        if !path.isEmpty && path != "/" {
            let digits = path.dropFirst()
            guard path.hasPrefix("/"), let number = Int(digits), number >= 0, number <= RedisEndpoint.maxDatabase,
                  digits.allSatisfy(\.isNumber)
            else {
                throw RedisConfigurationError("path must be a database number 0...\(RedisEndpoint.maxDatabase) (redis://HOST:PORT/DB)")
            }
            database = number
        }
        if components.fragment != nil { throw RedisConfigurationError("must not have a #fragment") }
        let parameters = (components.queryItems ?? []).map { (name: $0.name, value: $0.value ?? "") }
        return RedisURL(endpoint: RedisEndpoint(host: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")),
                                                port: port, database: database),
                        parameters: parameters)
    }
}

/// A Redis URL or setting that cannot be used; the message says what to change.
public struct RedisConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
