/// A configuration problem, located by the path of the offending key.
///
/// The path uses the configuration file's own spelling (`destinations[2].batch.maxEvents`), so an operator can
/// find the line to fix. Messages never contain the value of a secret (write keys, API keys, header values).
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the problem is, e.g. `destinations[2].batch.maxEvents`; empty for the document as a whole.
    public var keyPath: String
    /// What is wrong and, where it helps, what would be accepted.
    public var message: String

    /// Creates an error for the key at `keyPath`.
    public init(keyPath: String, message: String) {
        self.keyPath = keyPath
        self.message = message
    }

    /// `"<keyPath>: <message>"`, or just the message when the problem concerns the whole document.
    public var description: String { keyPath.isEmpty ? message : "\(keyPath): \(message)" }
}
