/// What a running pipeline has done so far and where its work is waiting: one consistent reading of its books
/// plus its queues, taken without pausing any stage.
///
/// Read one with ``Pipeline/metrics`` or receive them periodically from ``Pipeline/metrics(every:)``. Counts
/// follow the same rules as the ``Summary``: for every destination,
/// `delivered + filtered + deadLettered + dropped + pending == ingested - duplicates - filtered`. Queue depths
/// are read a moment apart from the counts, so they are indicative, not part of that equation.
public struct MetricsSnapshot: Sendable, Equatable {
    /// Where the pipeline is in its life; lets a dashboard tell "idle" from "draining" from "done".
    public enum Phase: String, Sendable, Equatable {
        /// ``Pipeline/run()`` has not been called yet.
        case notStarted
        /// Accepting input.
        case running
        /// Input is closed (end of input, ``Pipeline/finish()``, shutdown or cancellation); stages are flushing.
        case draining
        /// ``Pipeline/run()`` is returning: every event is accounted for and the counts are final.
        case finished
    }

    /// One destination's progress and backlog.
    public struct DestinationMetrics: Sendable, Equatable {
        /// Events the destination accepted.
        public var delivered: Int
        /// Events its selection or identity rules left out on purpose.
        public var filtered: Int
        /// Events given up on and written to the dead-letter output.
        public var deadLettered: Int
        /// Events discarded by its overflow policy.
        public var dropped: Int
        /// Requests (or writes) made, retries among them.
        public var requests: Int
        /// Attempts beyond the first; a rising rate means the destination is struggling.
        public var retries: Int
        /// Batches whose last attempt failed.
        public var failedRequests: Int
        /// Events a stdout or file destination could not write (also counted as dead-lettered).
        public var writeFailures: Int
        /// Batches being sent right now (at most the destination's `concurrency`).
        public var inFlight: Int
        /// Event chunks waiting for this destination's identifier mapper (fan-out has handed them over).
        public var queuedChunks: Int
        /// Mapped chunks (and delay ticks) waiting for the batcher.
        public var queuedForBatcher: Int
        /// Finished batches waiting for a free sender.
        public var queuedBatches: Int
        /// Events accepted by the pipeline that this destination has not settled yet (neither delivered,
        /// filtered, dead-lettered nor dropped): its lag, wherever in the pipeline those events are.
        public var pending: Int
        /// Named counts beside the accounting (see ``Summary/DestinationSummary/counters``): Heap properties
        /// left out for an overlong name, and `rateLimit` pacing (`pacedBatches`, `pacedMilliseconds`).
        public var counters: [String: Int] = [:]

        /// Creates a value; for tests and for services that merge metrics from several pipelines.
        public init(delivered: Int = 0, filtered: Int = 0, deadLettered: Int = 0, dropped: Int = 0, requests: Int = 0,
                    retries: Int = 0, failedRequests: Int = 0, inFlight: Int = 0, queuedChunks: Int = 0,
                    queuedForBatcher: Int = 0, queuedBatches: Int = 0, pending: Int = 0, writeFailures: Int = 0) {
            self.delivered = delivered
            self.filtered = filtered
            self.deadLettered = deadLettered
            self.dropped = dropped
            self.requests = requests
            self.retries = retries
            self.failedRequests = failedRequests
            self.writeFailures = writeFailures
            self.inFlight = inFlight
            self.queuedChunks = queuedChunks
            self.queuedForBatcher = queuedForBatcher
            self.queuedBatches = queuedBatches
            self.pending = pending
        }
    }

    /// The de-duplication table: how much it remembers and what it had to forget.
    public struct DedupeMetrics: Sendable, Equatable {
        /// Keys remembered now.
        public var size: Int
        /// Keys forgotten because the table was full: duplicates further apart than this are missed.
        public var capacityEvictions: Int
        /// Keys forgotten because they left the time window.
        public var windowEvictions: Int
        /// Approximate bytes the table holds.
        public var memoryBytes: Int

        /// Creates a value.
        public init(size: Int = 0, capacityEvictions: Int = 0, windowEvictions: Int = 0, memoryBytes: Int = 0) {
            self.size = size
            self.capacityEvictions = capacityEvictions
            self.windowEvictions = windowEvictions
            self.memoryBytes = memoryBytes
        }
    }

    /// The disk spool's size and backlog (with `--spool`).
    public struct SpoolMetrics: Sendable, Equatable {
        /// Bytes the spool holds (segment files and dedupe key files: what counts toward `maxBytes`), and how
        /// many segment files there are.
        public var bytes: Int, segments: Int
        /// Seconds since the oldest record some destination has not settled was written (0 when none).
        public var oldestUnsettledAgeSeconds: Double
        /// Torn or corrupt records found so far.
        public var corruptRecords: Int
        /// Cursor writes that failed so far (retried as destinations settle more).
        public var cursorWriteFailures: Int
        /// Destinations whose last cursor write failed (their cursor on disk is behind what they settled).
        public var cursorsBehind: Int

        /// Creates a value.
        public init(bytes: Int = 0, segments: Int = 0, oldestUnsettledAgeSeconds: Double = 0, corruptRecords: Int = 0,
                    cursorWriteFailures: Int = 0, cursorsBehind: Int = 0) {
            self.bytes = bytes
            self.segments = segments
            self.oldestUnsettledAgeSeconds = oldestUnsettledAgeSeconds
            self.corruptRecords = corruptRecords
            self.cursorWriteFailures = cursorWriteFailures
            self.cursorsBehind = cursorsBehind
        }
    }

    /// The spool's figures; nil without a spool.
    public var spool: SpoolMetrics?
    /// The Redis Streams source's counters; nil unless the input is a Redis stream.
    public var redisSource: RedisSourceStatistics? = nil
    /// Shared de-duplication's counters; nil unless `dedupe.shared` is in use.
    public var sharedDedupe: SharedDedupeStatistics? = nil

    /// Where the pipeline is in its life.
    public var phase: Phase
    /// Events decoded so far (a batch body counts its events).
    public var ingested: Int
    /// Invalid lines or events so far.
    public var invalid: Int
    /// Events dropped as repeats of an earlier timeUUID.
    public var duplicates: Int
    /// Events removed by the global filter.
    public var filtered: Int
    /// Event chunks decoded but not yet taken by the de-duplicator (or the filter when dedupe is off).
    public var queuedChunks: Int
    /// Per-destination progress, by destination name.
    public var destinations: [String: DestinationMetrics]
    /// The de-duplication table (all zero when dedupe is disabled).
    public var dedupe: DedupeMetrics
    /// Seconds since ``Pipeline/run()`` started (frozen once it finished; zero before it started).
    public var elapsedSeconds: Double
    /// Ingested events per second over the whole run.
    public var eventsPerSecond: Double
    /// Ingested events per second since the previous snapshot of a ``Pipeline/metrics(every:)`` stream; nil for
    /// a snapshot read on its own (use ``eventsPerSecond(since:)`` to compare two readings).
    public var intervalEventsPerSecond: Double?
    /// Ingest-to-delivery latency of delivered events so far (nil until something was delivered).
    public var latency: Summary.LatencySummary?
    /// Dead-letter records that could not be written to the dead-letter file so far.
    public var deadLetterWriteFailures: Int

    /// Creates a value; for tests and for services that merge metrics from several pipelines.
    public init(phase: Phase = .notStarted, ingested: Int = 0, invalid: Int = 0, duplicates: Int = 0, filtered: Int = 0,
                queuedChunks: Int = 0, destinations: [String: DestinationMetrics] = [:], dedupe: DedupeMetrics = DedupeMetrics(),
                elapsedSeconds: Double = 0, eventsPerSecond: Double = 0, intervalEventsPerSecond: Double? = nil,
                latency: Summary.LatencySummary? = nil, deadLetterWriteFailures: Int = 0) {
        self.phase = phase
        self.ingested = ingested
        self.invalid = invalid
        self.duplicates = duplicates
        self.filtered = filtered
        self.queuedChunks = queuedChunks
        self.destinations = destinations
        self.dedupe = dedupe
        self.elapsedSeconds = elapsedSeconds
        self.eventsPerSecond = eventsPerSecond
        self.intervalEventsPerSecond = intervalEventsPerSecond
        self.latency = latency
        self.deadLetterWriteFailures = deadLetterWriteFailures
    }

    /// Ingested events per second between `previous` and this snapshot (zero when no time passed), so a caller
    /// that polls ``Pipeline/metrics`` itself can show a current rate rather than the run's average.
    public func eventsPerSecond(since previous: MetricsSnapshot) -> Double {
        let seconds = elapsedSeconds - previous.elapsedSeconds
        guard seconds > 0 else { return 0 }
        return Double(ingested - previous.ingested) / seconds
    }

    /// Events still unsettled across all destinations: the number an operator watches fall to zero while
    /// the pipeline drains.
    public var pending: Int { destinations.values.reduce(0) { $0 + $1.pending } }
}
