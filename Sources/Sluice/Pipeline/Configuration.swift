import Foundation

/// Everything that shapes a pipeline run: dedupe, filtering, input limits and where events go.
///
/// Every property has a default, so `PipelineConfiguration()` is the contract's no-options behaviour: dedupe on,
/// internal events dropped, everything else written to standard output in the Statsig export format. Build one in
/// code, or read the `--config` JSON with ``ConfigurationLoader``; call ``validate()`` on a hand-built value.
public struct PipelineConfiguration: Sendable, Equatable {
    /// Duplicate suppression.
    public var dedupe: DedupeConfiguration
    /// The global filter, applied before fan-out. Its default drops ``EventCategory/internal`` events.
    public var filter: EventSelection
    /// How Segment messages are turned into Statsig events.
    public var segmentInbound: SegmentInboundConfiguration
    /// Line limits and the size of the chunks events travel in.
    public var input: InputConfiguration
    /// How long a shutdown waits for stages to drain and batches to flush before giving up.
    public var drainTimeoutSeconds: Double
    /// Where events go. Never empty in a valid configuration; the default is one stdout destination.
    public var destinations: [DestinationConfiguration]
    /// How config exposures of experiments are recognised and named (`statsigSpecs`, `experiments`).
    public var experimentNaming = ExperimentNamingConfiguration()
    /// The disk spool (`--spool DIR`); nil runs without one (input is then only in memory until delivered).
    public var spool: SpoolConfiguration?
    /// The `sluice serve` relay: listen address, accepted keys and limits (unused by other runs).
    public var serve = ServeConfiguration()

    /// Creates a configuration; every argument defaults to the contract's no-options behaviour.
    public init(
        dedupe: DedupeConfiguration = .init(),
        filter: EventSelection = .init(),
        segmentInbound: SegmentInboundConfiguration = .init(),
        input: InputConfiguration = .init(),
        drainTimeoutSeconds: Double = 30,
        destinations: [DestinationConfiguration] = DestinationConfiguration.defaultDestinations()
    ) {
        self.dedupe = dedupe
        self.filter = filter
        self.segmentInbound = segmentInbound
        self.input = input
        self.drainTimeoutSeconds = drainTimeoutSeconds
        self.destinations = destinations
    }

    /// Every credential in the configuration (write keys, app IDs, API keys, webhook header values),
    /// deduplicated and longest first so that redacting them in order never leaves part of a longer secret
    /// that contains a shorter one. Logs, dry-run output and dead letters replace each with a placeholder.
    public var secrets: [String] {
        var found = Set<String>()
        for destination in destinations {
            switch destination.kind {
            case .stdout, .file: break
            case .segment(_, let writeKey): found.insert(writeKey)
            case .heap(_, let appID): found.insert(appID)
            case .statsig(_, let apiKey), .statsigIDLists(_, let apiKey): found.insert(apiKey)
            case .webhook(_, let headers): found.formUnion(headers.values)
            case .redisStream(let redis): if let password = redis.password { found.insert(password) }
            }
        }
        if let password = input.redis?.password { found.insert(password) }
        if let password = dedupe.shared?.password { found.insert(password) }
        if case .remote(let serverSecret, _, _, _) = experimentNaming.specs { found.insert(serverSecret) }
        found.formUnion(serve.statsigKeys + serve.segmentWriteKeys)  // inbound keys are secrets too
        found.remove("")
        return found.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }
}

/// Duplicate suppression by `timeUUID`.
public struct DedupeConfiguration: Sendable, Equatable {
    /// Whether duplicates are dropped at all (`--no-dedupe` turns this off).
    public var enabled: Bool
    /// How many recent event IDs are remembered; bounds memory (16 bytes of key per entry plus table overhead).
    public var capacity: Int
    /// How long an event ID is remembered; a replay older than this passes as new.
    public var windowSeconds: Int
    /// De-duplication across instances through Redis (`dedupe.shared`); nil keeps it per process.
    public var shared: SharedDedupeConfiguration? = nil

    /// Creates dedupe settings; the defaults remember a million IDs for an hour.
    public init(enabled: Bool = true, capacity: Int = 1_000_000, windowSeconds: Int = 3600) {
        self.enabled = enabled
        self.capacity = capacity
        self.windowSeconds = windowSeconds
    }
}

/// How Segment messages arriving as input become Statsig events.
public struct SegmentInboundConfiguration: Sendable, Equatable {
    /// Patterns of Segment event names to ingest (Statsig's integration lets operators pick events); others are
    /// filtered. The default `["*"]` ingests all.
    public var events: [String]
    /// The Statsig custom ID type that receives a message's `anonymousId`, unless `statsigCustomIDs` names one.
    public var anonymousIdAs: String

    /// Creates inbound settings; the defaults ingest every event and map `anonymousId` to
    /// `segmentAnonymousId`.
    public init(events: [String] = ["*"], anonymousIdAs: String = "segmentAnonymousId") {
        self.events = events
        self.anonymousIdAs = anonymousIdAs
    }
}

/// Input limits and how events are grouped while they move between stages.
public struct InputConfiguration: Sendable, Equatable {
    /// Longer lines are invalid (counted and dead-lettered) rather than buffered without bound.
    public var maxLineBytes: Int
    /// Events per chunk: stages hand over chunks, not single events, to amortise the cost of each hop.
    public var chunkSize: Int
    /// Chunks buffered between two stages; bounds memory and makes a slow stage push back on input.
    public var queueCapacity: Int
    /// The Redis Streams source's settings (`input.redis`), used with `--input redis://...` or alone.
    public var redis: RedisInputSettings? = nil
    /// How integer timestamps are read (`input.timestampUnit`): milliseconds, or `auto` (small ones are seconds).
    public var timestampUnit: TimestampUnit = .milliseconds

    /// Creates input settings; the defaults are a 1 MiB line limit and 8 chunks of 512 events per queue.
    public init(maxLineBytes: Int = 1_048_576, chunkSize: Int = 512, queueCapacity: Int = 8) {
        self.maxLineBytes = maxLineBytes
        self.chunkSize = chunkSize
        self.queueCapacity = queueCapacity
    }
}

/// The wire shape events are written in by stdout and file destinations.
public enum OutputFormat: String, Sendable, CaseIterable, Equatable {
    /// Statsig's export format, one event object per line: the canonical format.
    case statsig
    /// Segment `track` messages.
    case segment
    /// Heap `track` events.
    case heap
}

/// What a destination does when its queue is full.
public enum OverflowPolicy: String, Sendable, CaseIterable, Equatable {
    /// Wait: back-pressure reaches the input, and no event is lost.
    case block
    /// Drop the event that does not fit (counted as dropped).
    case dropNewest = "drop_newest"
    /// Drop the oldest queued event to make room (counted as dropped); keeps the destination current.
    case dropOldest = "drop_oldest"
}

/// Which Statsig identifiers fill a destination's identity fields ("Map Identifiers").
///
/// Each value is a Statsig ID type: `userID` means the user's `userID`, anything else a custom ID type
/// (`stableID`, `companyID`, …) read from the user's `customIDs`.
public struct IdentifierMapping: Sendable, Equatable {
    /// Segment `userId`.
    public var userId: String
    /// Segment `anonymousId`; `nil` omits it.
    public var anonymousId: String?
    /// Heap `identity`.
    public var identity: String
    /// Heap: the ID type sent as the numeric `user_id` instead of `identity` (`identifiers.userId` on a Heap
    /// destination); nil sends `identity`. Heap takes one or the other, never both.
    public var heapUserId: String? = nil

    /// Creates a mapping; the defaults follow the Segment Statsig Source and the Heap integration.
    public init(userId: String = "userID", anonymousId: String? = "stableID", identity: String = "userID") {
        self.userId = userId
        self.anonymousId = anonymousId
        self.identity = identity
    }
}

/// When a destination sends a batch.
public struct BatchConfiguration: Sendable, Equatable {
    /// Events per batch, at most.
    public var maxEvents: Int
    /// Encoded body bytes per batch, at most.
    public var maxBytes: Int
    /// How long the first event of a batch may wait for company before the batch is sent anyway.
    public var maxDelayMs: Int

    /// Creates batch limits.
    public init(maxEvents: Int, maxBytes: Int, maxDelayMs: Int) {
        self.maxEvents = maxEvents
        self.maxBytes = maxBytes
        self.maxDelayMs = maxDelayMs
    }

    /// Segment's batch API rejects more than 500 KB per request: the hard limit for `batch.maxBytes`.
    public static let segmentMaxBytes = 500_000
    /// The default: Segment's libraries stop at 475,000 bytes (analytics-python's `BATCH_SIZE_LIMIT`), leaving
    /// room below the 500 KB limit for what is added at send time (`sentAt`).
    public static let segmentDefaultMaxBytes = 475_000
    /// Segment's batch API limit on messages per request.
    public static let segmentMaxEvents = 2500
    /// Heap's bulk track API accepts at most 1000 events per request.
    public static let heapMaxEvents = 1000

    /// The defaults for a kind of destination: each API's own limits for HTTP, small quick batches for local
    /// output so that a tail of the output keeps up.
    public static func defaults(for kind: DestinationConfiguration.Kind) -> BatchConfiguration {
        switch kind {
        case .stdout, .file: BatchConfiguration(maxEvents: 512, maxBytes: 1_048_576, maxDelayMs: 100)
        case .segment: BatchConfiguration(maxEvents: segmentMaxEvents, maxBytes: segmentDefaultMaxBytes, maxDelayMs: 1000)
        case .heap: BatchConfiguration(maxEvents: heapMaxEvents, maxBytes: 1_000_000, maxDelayMs: 1000)
        case .statsig, .statsigIDLists:
            BatchConfiguration(maxEvents: 1000, maxBytes: 1_000_000, maxDelayMs: 1000)
        case .webhook: BatchConfiguration(maxEvents: 500, maxBytes: 1_000_000, maxDelayMs: 1000)
        case .redisStream: BatchConfiguration(maxEvents: 1000, maxBytes: 4_194_304, maxDelayMs: 100)
        }
    }
}

/// How a failed request is retried (exponential backoff with a cap).
public struct RetryConfiguration: Sendable, Equatable {
    /// Attempts in total, including the first; after the last the batch's events are dead-lettered.
    public var maxAttempts: Int
    /// The wait before the first retry; each later wait doubles, up to ``maxBackoffMs``.
    public var initialBackoffMs: Int
    /// The longest wait between attempts.
    public var maxBackoffMs: Int
    /// The longest pause a server's `Retry-After` can impose (a longer one waits this long); 0 ignores the
    /// header. Range 0...3600, default 60.
    public var maxRetryAfterSeconds: Int
    /// What validation accepts for ``maxRetryAfterSeconds``: up to an hour.
    public static let maxRetryAfterSecondsRange = 0...3600

    /// Creates a retry policy; the defaults make 5 attempts waiting 100 ms, 200 ms, 400 ms, 800 ms.
    public init(maxAttempts: Int = 5, initialBackoffMs: Int = 100, maxBackoffMs: Int = 10_000,
                maxRetryAfterSeconds: Int = 60) {
        self.maxAttempts = maxAttempts
        self.initialBackoffMs = initialBackoffMs
        self.maxBackoffMs = maxBackoffMs
        self.maxRetryAfterSeconds = maxRetryAfterSeconds
    }
}

/// One place events are delivered to.
public struct DestinationConfiguration: Sendable, Equatable {
    /// Where and how events are sent.
    public enum Kind: Sendable, Equatable {
        /// Standard output, one JSON object per line.
        case stdout(format: OutputFormat = .statsig)
        /// A file, one JSON object per line; appended to unless ``DestinationConfiguration/fileMode`` says truncate.
        case file(path: String, format: OutputFormat = .statsig)
        /// Segment's HTTP batch API, authenticated by a source write key.
        case segment(endpoint: String = Kind.defaultSegmentEndpoint, writeKey: String)
        /// Heap's server-side track API, addressed by app ID.
        case heap(endpoint: String = Kind.defaultHeapEndpoint, appID: String)
        /// Statsig's event ingestion API (`log_event`), authenticated by a server secret key.
        case statsig(endpoint: String = Kind.defaultStatsigEndpoint, apiKey: String)
        /// Statsig's console API for ID lists (audiences synced from Segment), authenticated by a console key.
        case statsigIDLists(endpoint: String = Kind.defaultStatsigIDListsEndpoint, apiKey: String)
        /// Any HTTP endpoint, receiving Statsig-format batches with the given headers.
        case webhook(url: String, headers: [String: String] = [:])
        /// Redis Streams: `XADD` per event, pipelined per batch, optionally partitioned by a stable hash.
        case redisStream(RedisStreamDestination)

        /// Segment's default API host.
        public static let defaultSegmentEndpoint = "https://api.segment.io"
        /// Heap's default API host.
        public static let defaultHeapEndpoint = "https://heapanalytics.com"
        /// Statsig's default event ingestion host.
        public static let defaultStatsigEndpoint = "https://events.statsigapi.net"
        /// Statsig's default console API host.
        public static let defaultStatsigIDListsEndpoint = "https://statsigapi.net"

        /// The `type` name used in the configuration file.
        public var typeName: String {
            switch self {
            case .stdout: "stdout"
            case .file: "file"
            case .segment: "segment"
            case .heap: "heap"
            case .statsig: "statsig"
            case .statsigIDLists: "statsig-idlists"
            case .webhook: "webhook"
            case .redisStream: "redis-stream"
            }
        }

        /// The wire shape of the events this destination writes; HTTP destinations other than Segment and
        /// Heap speak Statsig's.
        public var format: OutputFormat {
            switch self {
            case .stdout(let format), .file(_, let format): format
            case .segment: .segment
            case .heap: .heap
            case .statsig, .statsigIDLists, .webhook: .statsig
            case .redisStream(let redis): redis.format
            }
        }

        /// Whether the destination sends over HTTP (and so retries, and is simulated by `--dry-run`).
        public var isHTTP: Bool {
            switch self {
            case .stdout, .file, .redisStream: false
            default: true
            }
        }
    }

    /// Names the destination in the summary, logs and dead letters; unique within a configuration.
    public var name: String
    /// Where and how events are sent.
    public var kind: Kind
    /// Which events this destination receives (after the global filter).
    public var events: EventSelection
    /// When batches are sent.
    public var batch: BatchConfiguration
    /// How failed requests are retried.
    public var retry: RetryConfiguration
    /// Requests (or writes) in flight at once.
    public var concurrency: Int
    /// How long one request may take before it counts as failed.
    public var timeoutMs: Int
    /// What happens when the destination falls behind.
    public var overflow: OverflowPolicy
    /// Which Statsig identifiers fill Segment's or Heap's identity fields; unused by the Statsig format.
    public var identifiers: IdentifierMapping
    /// Whether a file destination appends to an existing file (the default) or truncates it at start; unused
    /// by other kinds.
    public var fileMode: FileWriteMode = .append
    /// Client-side pacing (`rateLimit`): the kind's default (Heap's and Statsig ID lists' documented limits),
    /// off, or explicit rules.
    public var rateLimit: RateLimitSetting = .default
    /// Request body compression (`compression`); nil uses the kind's default (``effectiveCompression``).
    public var compression: BodyCompression? = nil
    /// Statsig ID lists: the ID type the list holds (`idType`; nil is `userID`).
    public var idType: String? = nil

    /// Creates a destination. `batch`, `concurrency` default by kind (``BatchConfiguration/defaults(for:)``;
    /// 4 requests in flight for HTTP, 1 writer for local output); changing `kind` later keeps them as they are.
    public init(
        name: String,
        kind: Kind,
        events: EventSelection = .init(),
        batch: BatchConfiguration? = nil,
        retry: RetryConfiguration = .init(),
        concurrency: Int? = nil,
        timeoutMs: Int = 10_000,
        overflow: OverflowPolicy = .block,
        identifiers: IdentifierMapping = .init()
    ) {
        self.name = name
        self.kind = kind
        self.events = events
        self.batch = batch ?? .defaults(for: kind)
        self.retry = retry
        self.concurrency = concurrency ?? (kind.isHTTP ? 4 : 1)
        self.timeoutMs = timeoutMs
        self.overflow = overflow
        self.identifiers = identifiers
    }

    /// The destinations used when a configuration names none: one stdout destination named `stdout`
    /// (`--format` picks its format).
    public static func defaultDestinations(format: OutputFormat = .statsig) -> [DestinationConfiguration] {
        [DestinationConfiguration(name: "stdout", kind: .stdout(format: format))]
    }
}

// MARK: - Validation

extension PipelineConfiguration {
    /// Throws the first problem ``validationErrors()`` finds; the loader calls it after parsing.
    public func validate() throws(ConfigurationError) {
        if let first = validationErrors().first { throw first }
    }

    /// Every problem in the configuration, in document order, each located by key path; `sluice validate` lists
    /// them all so an operator can fix a file in one pass.
    public func validationErrors() -> [ConfigurationError] {
        var problems = ValidationProblems()
        problems.within(dedupe.capacity, ConfigurationRange.dedupeCapacity, "dedupe.capacity")
        problems.within(dedupe.windowSeconds, ConfigurationRange.dedupeWindowSeconds, "dedupe.windowSeconds")
        problems.errors += dedupe.shared?.validationErrors(at: "dedupe") ?? []
        problems.nonEmpty(segmentInbound.anonymousIdAs, "segmentInbound.anonymousIdAs")
        problems.within(input.maxLineBytes, ConfigurationRange.maxLineBytes, "input.maxLineBytes")
        problems.within(input.chunkSize, ConfigurationRange.chunkSize, "input.chunkSize")
        problems.within(input.queueCapacity, ConfigurationRange.queueCapacity, "input.queueCapacity")
        problems.errors += input.redis?.validationErrors(at: "input.redis") ?? []
        problems.errors += experimentNaming.problems()
        if !ConfigurationRange.drainTimeoutSeconds.contains(drainTimeoutSeconds) {
            let range = ConfigurationRange.drainTimeoutSeconds
            problems.add("drainTimeoutSeconds",
                         "must be between \(Int(range.lowerBound)) and \(Int(range.upperBound)) seconds (got \(drainTimeoutSeconds))")
        }
        // An empty list is valid: the pipeline then uses the default stdout destination, or only the
        // destinations supplied in code (PipelineOptions.customDestinations).
        var firstIndexByName: [String: Int] = [:]
        for (index, destination) in destinations.enumerated() {
            let path = "destinations[\(index)]"
            if destination.name.isEmpty {
                problems.add("\(path).name", "must not be empty")
            } else if let earlier = firstIndexByName[destination.name] {
                problems.add(
                    "\(path).name",
                    "duplicate destination name \"\(destination.name)\" (also destinations[\(earlier)].name)")
            } else {
                firstIndexByName[destination.name] = index
            }
            destination.validate(at: path, into: &problems)
            problems.errors += destination.integrationProblems(at: path)
        }
        return problems.errors + (spool?.validationErrors() ?? []) + serve.validationErrors()
    }
}

extension DestinationConfiguration {
    fileprivate func validate(at path: String, into problems: inout ValidationProblems) {
        switch kind {
        case .stdout: break
        case .file(let filePath, _): problems.nonEmpty(filePath, "\(path).path")
        case .segment(let endpoint, let writeKey):
            problems.url(endpoint, "\(path).endpoint")
            problems.nonEmpty(writeKey, "\(path).writeKey")
        case .heap(let endpoint, let appID):
            problems.url(endpoint, "\(path).endpoint")
            problems.nonEmpty(appID, "\(path).appID")
        case .statsig(let endpoint, let apiKey), .statsigIDLists(let endpoint, let apiKey):
            problems.url(endpoint, "\(path).endpoint")
            problems.nonEmpty(apiKey, "\(path).apiKey")
        case .webhook(let url, let headers):
            problems.url(url, "\(path).url")
            for name in headers.keys.sorted() where !Self.isHeaderName(name) {
                problems.add("\(path).headers", "\"\(name)\" is not a valid HTTP header name")
            }
        case .redisStream(let redis): problems.errors += redis.validationErrors(at: path)
        }
        problems.within(batch.maxEvents, ConfigurationRange.batchMaxEvents, "\(path).batch.maxEvents")
        problems.within(batch.maxBytes, ConfigurationRange.batchMaxBytes, "\(path).batch.maxBytes")
        problems.within(batch.maxDelayMs, ConfigurationRange.batchMaxDelayMs, "\(path).batch.maxDelayMs")
        switch kind {
        case .segment:
            problems.atMost(batch.maxEvents, BatchConfiguration.segmentMaxEvents, "\(path).batch.maxEvents", "Segment")
            problems.atMost(batch.maxBytes, BatchConfiguration.segmentMaxBytes, "\(path).batch.maxBytes", "Segment")
        case .heap:
            problems.atMost(batch.maxEvents, BatchConfiguration.heapMaxEvents, "\(path).batch.maxEvents", "Heap")
        default: break
        }
        problems.within(retry.maxAttempts, ConfigurationRange.retryMaxAttempts, "\(path).retry.maxAttempts")
        problems.within(retry.initialBackoffMs, ConfigurationRange.retryBackoffMs, "\(path).retry.initialBackoffMs")
        if ConfigurationRange.retryBackoffMs.contains(retry.initialBackoffMs), retry.maxBackoffMs < retry.initialBackoffMs {
            problems.add("\(path).retry.maxBackoffMs", "must be at least initialBackoffMs (\(retry.initialBackoffMs))")
        } else {
            problems.within(retry.maxBackoffMs, ConfigurationRange.retryBackoffMs, "\(path).retry.maxBackoffMs")
        }
        problems.within(retry.maxRetryAfterSeconds, RetryConfiguration.maxRetryAfterSecondsRange,
                        "\(path).retry.maxRetryAfterSeconds")
        problems.within(concurrency, ConfigurationRange.concurrency, "\(path).concurrency")
        problems.within(timeoutMs, ConfigurationRange.timeoutMs, "\(path).timeoutMs")
        switch kind.format {
        case .segment:
            problems.nonEmpty(identifiers.userId, "\(path).identifiers.userId")
            if let anonymousId = identifiers.anonymousId {
                problems.nonEmpty(anonymousId, "\(path).identifiers.anonymousId")
            }
        case .heap: problems.nonEmpty(identifiers.identity, "\(path).identifiers.identity")
        case .statsig: break
        }
    }

    /// RFC 9110 token characters; anything else would corrupt the request.
    private static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }
}

/// Collects problems in order; the checks never quote a value that could be a secret.
private struct ValidationProblems {
    var errors: [ConfigurationError] = []

    mutating func add(_ keyPath: String, _ message: String) {
        errors.append(ConfigurationError(keyPath: keyPath, message: message))
    }

    mutating func positive(_ value: Int, _ keyPath: String) {
        if value <= 0 { add(keyPath, "must be greater than zero (got \(value))") }
    }

    mutating func notNegative(_ value: Int, _ keyPath: String) {
        if value < 0 { add(keyPath, "must be zero or more (got \(value))") }
    }

    /// The documented range of a number (``ConfigurationRange``).
    mutating func within(_ value: Int, _ range: ClosedRange<Int>, _ keyPath: String) {
        if !range.contains(value) { add(keyPath, "must be between \(range.lowerBound) and \(range.upperBound) (got \(value))") }
    }

    mutating func atMost(_ value: Int, _ limit: Int, _ keyPath: String, _ service: String) {
        if value > limit { add(keyPath, "must be at most \(limit), \(service)'s limit (got \(value))") }
    }

    mutating func nonEmpty(_ value: String, _ keyPath: String) {
        if value.isEmpty { add(keyPath, "must not be empty") }
    }

    /// Only absolute http(s) URLs with a host; the URL itself is not quoted, since one built from environment
    /// variables may carry a token.
    mutating func url(_ value: String, _ keyPath: String) {
        // URLComponents tolerates spaces on some platforms; a request line cannot.
        guard !value.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }),
              let components = URLComponents(string: value),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty
        else {
            add(keyPath, "must be an absolute http or https URL")
            return
        }
    }
}
