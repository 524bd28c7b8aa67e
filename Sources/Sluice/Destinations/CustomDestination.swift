/// A destination written in code: a message queue, a database, another service.
///
/// It receives batches cut by the same Batcher as the built-in destinations (its `batch` limits), behind the same
/// bounded queue (its `overflow` policy), and its outcomes are accounted the same way. Each event is handed
/// over in Statsig's export format. While `send` is suspended the destination's queue fills and, with the
/// default `.block` overflow policy, ``Pipeline/ingest(_:)`` callers wait: a slow sink slows its producers
/// instead of growing memory.
///
/// ```swift
/// struct QueueDestination: Destination {
///     let producer: MyQueueProducer
///     func send(_ batch: EventBatch) async throws {
///         do { try await producer.publish(batch.ndjson) }
///         catch { throw DestinationError.retryable("\(error)") }
///     }
/// }
/// ```
public protocol Destination: Sendable {
    /// Delivers one batch. Returning means every event in it was accepted.
    ///
    /// Throwing marks the whole batch failed: it is retried according to the registration's `retry` settings
    /// when the error is ``DestinationError/retryable(_:)``, and dead-lettered otherwise (or once attempts run
    /// out). Once a shutdown's grace period has passed the call's task is cancelled: honour cancellation
    /// (most async APIs do) so that ``Pipeline/shutdown(gracePeriod:)`` stays bounded; the batch is then
    /// dead-lettered.
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
///
/// ``ndjson`` is the batch exactly as the built-in `statsig` file format writes it, at no extra cost; ``events``
/// splits it into one value per event (with its name, category and key) and is built each time it is read.
public struct EventBatch: Sendable {
    /// The events in Statsig's export format, one JSON object per line, each line ending in a newline.
    public let ndjson: [UInt8]
    /// The number of events in the batch.
    public let count: Int
    private let source: Source

    private enum Source: Sendable {
        case members([BatchMember])
        case events([ExportedEvent])
    }

    /// Creates a batch from events, for testing a destination without a pipeline.
    public init(events: [ExportedEvent]) {
        var ndjson: [UInt8] = []
        for event in events {
            ndjson.append(contentsOf: event.json)
            ndjson.append(0x0A)
        }
        self.ndjson = ndjson
        self.count = events.count
        self.source = .events(events)
    }

    init(_ batch: Batch) {
        ndjson = batch.body
        count = batch.eventCount
        source = .members(batch.members)
    }

    /// The events one by one, in batch order.
    public var events: [ExportedEvent] {
        switch source {
        case .events(let events):
            return events
        case .members(let members):
            var events: [ExportedEvent] = []
            events.reserveCapacity(count)
            for member in members {
                member.chunk.withArena { arena in
                    for index in member.indices {
                        let event = member.chunk.events[Int(index)]
                        var json: [UInt8] = []
                        StatsigExportFormat.append(event, arena: arena, to: &json)
                        events.append(ExportedEvent(
                            json: json, eventName: member.chunk.string(event.eventName) ?? "",
                            category: event.category, timeUUID: event.timeUUID.description, timestamp: event.timestamp))
                    }
                }
            }
            return events
        }
    }
}

/// One event as a custom destination sees it.
public struct ExportedEvent: Sendable, Equatable {
    /// The event as a JSON object in Statsig's export format (UTF-8).
    public let json: [UInt8]
    /// The event name.
    public let eventName: String
    /// The event's category.
    public let category: EventCategory
    /// The de-duplication key, in canonical text form: use it as an idempotency key when the sink supports one,
    /// since a retried batch may already have been partly accepted.
    public let timeUUID: String
    /// When the event happened, in milliseconds since the Unix epoch.
    public let timestamp: Int64

    /// Creates an event, for testing a destination without a pipeline.
    public init(json: [UInt8], eventName: String, category: EventCategory, timeUUID: String, timestamp: Int64) {
        self.json = json
        self.eventName = eventName
        self.category = category
        self.timeUUID = timeUUID
        self.timestamp = timestamp
    }
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
