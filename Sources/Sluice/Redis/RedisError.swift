/// Why a Redis command failed.
struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        /// The server could not be reached, went away or timed out: reconnect and try again.
        case connection
        /// The server sent bytes that are not RESP, or a reply of an unexpected shape: the connection is dropped.
        case protocolViolation
        /// The server answered with an error reply (`-ERR ...`, `-WRONGPASS ...`).
        case server
        /// The credentials were refused: retrying will not help.
        case authentication
    }

    let kind: Kind
    let message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// Worth reconnecting and trying again (the server may come back).
    var isRetryable: Bool { kind == .connection || kind == .protocolViolation }

    /// The server no longer has the consumer group (or the stream): `-NOGROUP ...`, as after a restart without
    /// persistence. The source recreates the group rather than stopping.
    var isNoGroup: Bool { kind == .server && Self.isNoGroup(message) }

    /// Whether an error reply's text (possibly prefixed with the command, `XREADGROUP: NOGROUP ...`) is `NOGROUP`.
    static func isNoGroup(_ message: String) -> Bool {
        message.hasPrefix("NOGROUP") || message.contains(": NOGROUP")
    }

    var description: String {
        switch kind {
        case .connection: "Redis connection failed: \(message)"
        case .protocolViolation: "unexpected reply from Redis: \(message)"
        case .server: "Redis error: \(message)"
        case .authentication: "Redis refused the credentials: \(message)"
        }
    }
}
