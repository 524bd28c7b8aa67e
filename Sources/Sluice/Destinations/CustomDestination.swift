/// A destination written in code: a message queue, a database, another service.
///
/// It receives batches cut by the same Batcher as the built-in destinations (its `batch` limits), behind the same
/// bounded queue (its `overflow` policy), and its outcomes are accounted the same way. Each event is handed
/// over in Statsig's export format.
public protocol Destination: Sendable {
    /// Delivers one batch. Throwing marks the whole batch failed: it is retried according to the
    /// registration's `retry` settings when the error is ``DestinationError/retryable(_:)``, and dead-lettered
    /// otherwise (or once attempts run out).
    func send(_ batch: EventBatch) async throws
}

/// Errors a ``Destination`` can throw to steer retries.
public enum DestinationError: Error, Sendable {
    /// A temporary failure: try again after a backoff.
    case retryable(String)
    /// A permanent failure: dead-letter the batch without retrying.
    case permanent(String)
}

/// A batch handed to a custom ``Destination``.
public struct EventBatch: Sendable {
    /// The events, each one JSON object in Statsig's export format.
    public let events: [ExportedEvent]
}

/// One event as a custom destination sees it.
public struct ExportedEvent: Sendable {
    /// The event as a JSON object in Statsig's export format (UTF-8).
    public let json: [UInt8]
    /// The event name.
    public let eventName: String
    /// The event's category.
    public let category: EventCategory
    /// The de-duplication key, in canonical text form.
    public let timeUUID: String
    /// When the event happened, in milliseconds since the Unix epoch.
    public let timestamp: Int64
}

/// Registers a custom ``Destination`` with a pipeline, with the same settings a configured one takes.
public struct CustomDestinationRegistration: Sendable {
    /// The destination's name in summaries and metrics (unique among all destinations).
    public var name: String
    /// The code that delivers batches.
    public var destination: any Destination
    /// Which events it receives.
    public var events: EventSelection
    /// Batch limits.
    public var batch: BatchConfiguration
    /// Retry settings for ``DestinationError/retryable(_:)`` failures.
    public var retry: RetryConfiguration
    /// Batches in flight at once.
    public var concurrency: Int
    /// What to do when its queue is full.
    public var overflow: OverflowPolicy

    /// Creates a registration; defaults: every non-internal event, 500 events or 1 MB or 200 ms per batch,
    /// default retries, one batch at a time, and blocking backpressure.
    public init(name: String, destination: any Destination, events: EventSelection = EventSelection(),
                batch: BatchConfiguration = BatchConfiguration(maxEvents: 500, maxBytes: 1_000_000, maxDelayMs: 200),
                retry: RetryConfiguration = RetryConfiguration(), concurrency: Int = 1, overflow: OverflowPolicy = .block) {
        self.name = name
        self.destination = destination
        self.events = events
        self.batch = batch
        self.retry = retry
        self.concurrency = concurrency
        self.overflow = overflow
    }
}
