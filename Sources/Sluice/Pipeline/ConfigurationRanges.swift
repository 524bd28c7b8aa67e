/// The accepted range of every number in a configuration, checked by ``PipelineConfiguration/validationErrors()``
/// and listed in README's configuration table: a configuration that validates never crashes a run or asks for
/// memory or durations no machine has (`dedupe.capacity: 5000000000` trapped in the dedupe table before).
///
/// The bounds are generous for real use and far from the limits of the types they end up in (durations in
/// nanoseconds, table sizes below 2^31).
enum ConfigurationRange {
    /// `dedupe.capacity`: remembered event IDs (each costs ~40 bytes once used; 100 million is ~4 GB).
    static let dedupeCapacity = 1...100_000_000
    /// `dedupe.windowSeconds`: up to one year.
    static let dedupeWindowSeconds = 1...31_536_000
    /// `input.maxLineBytes`: 16 bytes to 256 MiB.
    static let maxLineBytes = 16...268_435_456
    /// `input.chunkSize`: events per chunk.
    static let chunkSize = 1...65_536
    /// `input.queueCapacity`: chunks buffered between two stages.
    static let queueCapacity = 1...4096
    /// `drainTimeoutSeconds`: up to one day.
    static let drainTimeoutSeconds = 0.0...86_400.0
    /// `batch.maxEvents` (the APIs' own limits are checked as well).
    static let batchMaxEvents = 1...100_000
    /// `batch.maxBytes`: up to 64 MiB.
    static let batchMaxBytes = 1...67_108_864
    /// `batch.maxDelayMs`: up to one hour.
    static let batchMaxDelayMs = 0...3_600_000
    /// `retry.maxAttempts`.
    static let retryMaxAttempts = 1...100
    /// `retry.initialBackoffMs` and `retry.maxBackoffMs`: up to one hour.
    static let retryBackoffMs = 0...3_600_000
    /// `concurrency`: requests or writes in flight per destination.
    static let concurrency = 1...256
    /// `timeoutMs`: up to one hour.
    static let timeoutMs = 1...3_600_000
}
