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

    var description: String {
        switch kind {
        case .connection: "Redis connection failed: \(message)"
        case .protocolViolation: "unexpected reply from Redis: \(message)"
        case .server: "Redis error: \(message)"
        case .authentication: "Redis refused the credentials: \(message)"
        }
    }
}
