/// Why a spool could not be opened or written. Every case names the file or the limit involved: a damaged or
/// foreign spool is a clear error, never a crash.
public struct SpoolError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong, for a person (includes the path).
    public let message: String
    /// True when another process holds the spool's lock (the command line exits 2 for it).
    public let isLocked: Bool

    init(_ message: String, isLocked: Bool = false) {
        self.message = message
        self.isLocked = isLocked
    }

    /// The message.
    public var description: String { message }
}
