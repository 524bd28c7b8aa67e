/// The disk spool (`--spool DIR`, config `"spool"`): input is written to DIR before it enters the pipeline, and
/// a run after a crash delivers what was not settled.
public struct SpoolConfiguration: Sendable, Equatable {
    /// When appended records are flushed to the disk with `fsync`.
    public enum SyncMode: String, Sendable, CaseIterable, Equatable {
        /// fsync before ``Pipeline/ingest(_:)`` returns (concurrent calls share one fsync): an accepted body
        /// survives a power loss.
        case always
        /// Group commit: written to the OS at once (survives a crash of the process), fsynced every
        /// ``SpoolConfiguration/syncIntervalMs`` (a power loss can lose that much).
        case interval
        /// Never fsync: survives a crash of the process, not of the machine.
        case none
    }

    /// The spool directory (created 0700; one process at a time).
    public var path: String
    /// The most the segment files may hold; a full spool holds input back until destinations catch up.
    public var maxBytes: Int
    /// When records are flushed to the disk.
    public var sync: SyncMode
    /// The group-commit interval for `interval`, and how often cursor files are rewritten in every mode.
    public var syncIntervalMs: Int

    /// Creates spool settings; the defaults are 1 GiB, `interval`, 50 ms.
    public init(path: String, maxBytes: Int = 1 << 30, sync: SyncMode = .interval, syncIntervalMs: Int = 50) {
        self.path = path
        self.maxBytes = maxBytes
        self.sync = sync
        self.syncIntervalMs = syncIntervalMs
    }

    /// The accepted range of ``maxBytes``: at least 1 MiB (one input block), at most 1 TiB.
    public static let maxBytesRange = (1 << 20)...(1 << 40)
    /// The accepted range of ``syncIntervalMs``.
    public static let syncIntervalRange = 1...60_000

    /// Range problems, with the key path of each.
    func validationErrors() -> [ConfigurationError] {
        var problems: [ConfigurationError] = []
        if path.isEmpty { problems.append(ConfigurationError(keyPath: "spool.path", message: "must not be empty")) }
        if !Self.maxBytesRange.contains(maxBytes) {
            problems.append(ConfigurationError(keyPath: "spool.maxBytes",
                                               message: "must be between \(Self.maxBytesRange.lowerBound) and \(Self.maxBytesRange.upperBound), got \(maxBytes)"))
        }
        if !Self.syncIntervalRange.contains(syncIntervalMs) {
            problems.append(ConfigurationError(keyPath: "spool.syncIntervalMs",
                                               message: "must be between \(Self.syncIntervalRange.lowerBound) and \(Self.syncIntervalRange.upperBound), got \(syncIntervalMs)"))
        }
        return problems
    }
}
