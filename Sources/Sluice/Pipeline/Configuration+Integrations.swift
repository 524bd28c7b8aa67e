/// Configuration for the integration rules of issue 13: experiment naming, pacing, compression, ID-list ID types
/// and the input's timestamp unit. Each type validates its own ranges (called from `validationErrors()`).

/// Where the project's Statsig config specs come from.
public enum StatsigSpecsSource: Sendable, Equatable {
    /// A saved `download_config_specs` response (v1 or v2).
    case file(path: String)
    /// Fetched from Statsig with a server secret at start, then every `refreshSeconds`. A failed refresh keeps
    /// the last good specs and is reported; a failed first fetch stops the run unless `required` is false.
    case remote(serverSecret: String, url: String, refreshSeconds: Double, required: Bool)

    /// Statsig's CDN for server SDK config specs; Sluice requests `{url}/{serverSecret}.json`.
    public static let defaultURL = "https://api.statsigcdn.com/v1/download_config_specs"
    /// How often the specs are fetched again by default (the server SDKs' default sync interval is 10 s;
    /// experiment renames change rarely, so a minute is plenty).
    public static let defaultRefreshSeconds = 60.0
}

/// How config exposures of experiments are recognised (`statsigSpecs` and `experiments`).
public struct ExperimentNamingConfiguration: Sendable, Equatable {
    /// The project's config specs, when configured (names experiments and gives their group names).
    public var specs: StatsigSpecsSource?
    /// Experiment name patterns (`*` wildcards) for configurations without specs; no group names then.
    public var patterns: [String]

    /// Creates settings; the default names nothing (config exposures pass as they are).
    public init(specs: StatsigSpecsSource? = nil, patterns: [String] = []) {
        self.specs = specs
        self.patterns = patterns
    }

    /// Whether any renaming is configured.
    public var isEnabled: Bool { specs != nil || !patterns.isEmpty }

    func problems() -> [ConfigurationError] {
        var problems: [ConfigurationError] = []
        switch specs {
        case .file(let path) where path.isEmpty:
            problems.append(ConfigurationError(keyPath: "statsigSpecs.file", message: "must not be empty"))
        case .remote(let secret, let url, let refresh, _):
            if secret.isEmpty { problems.append(ConfigurationError(keyPath: "statsigSpecs.serverSecret", message: "must not be empty")) }
            if !(url.hasPrefix("https://") || url.hasPrefix("http://")) || url.utf8.contains(where: { $0 <= 0x20 }) {
                problems.append(ConfigurationError(keyPath: "statsigSpecs.url", message: "must be an absolute http or https URL"))
            }
            if !(refresh >= 1 && refresh <= 86_400) {
                problems.append(ConfigurationError(keyPath: "statsigSpecs.refreshSeconds", message: "must be between 1 and 86400 seconds"))
            }
        default: break
        }
        for (index, pattern) in patterns.enumerated() where pattern.isEmpty {
            problems.append(ConfigurationError(keyPath: "experiments[\(index)]", message: "must not be empty"))
        }
        return problems
    }
}

/// One pacing rule: at most `events` events and/or `requests` requests per `perSeconds`.
public struct RateLimit: Sendable, Equatable {
    /// Events per window, or nil for no event limit.
    public var events: Int?
    /// Requests per window, or nil for no request limit.
    public var requests: Int?
    /// The window, in seconds.
    public var perSeconds: Double

    /// Creates a rule.
    public init(events: Int? = nil, requests: Int? = nil, perSeconds: Double) {
        self.events = events
        self.requests = requests
        self.perSeconds = perSeconds
    }

    /// The range of `perSeconds` (0.001 s to a day), checked for the rule at key path `at`.
    static func windowProblems(_ perSeconds: Double, at path: String) -> [ConfigurationError] {
        guard !(perSeconds >= 0.001 && perSeconds <= 86_400) else { return [] }
        return [ConfigurationError(keyPath: "\(path).perSeconds", message: "must be between 0.001 and 86400 seconds")]
    }

    /// Heap's documented limit for the track API: 15,000 events per minute per app_id.
    public static let heapApp = RateLimit(events: 15_000, perSeconds: 60)
    /// Statsig's documented limits for the ID-list endpoint: 900 requests per 15 minutes, 12 per 10 seconds.
    public static let statsigIDLists = [RateLimit(requests: 900, perSeconds: 900), RateLimit(requests: 12, perSeconds: 10)]
}

/// A destination's `rateLimit`: the kind's default, off (`null`), or explicit rules.
public enum RateLimitSetting: Sendable, Equatable {
    /// Heap: ``RateLimit/heapApp``; Statsig ID lists: ``RateLimit/statsigIDLists``; others: none.
    case `default`
    /// No pacing (`"rateLimit": null`).
    case off
    /// These rules, all of which must allow a batch before it is sent.
    case limits([RateLimit])

    /// The rules in force for a destination of `kind`.
    public func resolved(for kind: DestinationConfiguration.Kind) -> [RateLimit] {
        switch self {
        case .off: return []
        case .limits(let limits): return limits
        case .default:
            switch kind {
            case .heap: return [.heapApp]
            case .statsigIDLists: return RateLimit.statsigIDLists
            default: return []
            }
        }
    }
}

/// How a destination's request bodies are encoded on the wire.
public enum BodyCompression: String, Sendable, Equatable, CaseIterable {
    /// As they are.
    case none
    /// gzip, with `Content-Encoding: gzip`.
    case gzip

    /// The default for `kind`: gzip for Segment and Statsig (both accept it, and the official libraries
    /// compress), none for Heap, ID lists and webhooks (whose receivers may not).
    public static func defaultFor(_ kind: DestinationConfiguration.Kind) -> BodyCompression {
        switch kind {
        case .segment, .statsig: .gzip
        default: .none
        }
    }
}

/// How integer timestamps in the input are read.
public enum TimestampUnit: String, Sendable, Equatable, CaseIterable {
    /// Milliseconds since the epoch; an integer below 10^11 (a date in 1973 or before, which is what a time in
    /// seconds looks like) is invalid, so a producer sending seconds notices.
    case milliseconds
    /// Integers below 10^11 are seconds, larger ones milliseconds.
    case auto

    /// Integers below this are seconds-like (10^11 ms is 1973-03-03; 10^11 s is the year 5138).
    static let secondsBelow: Int64 = 100_000_000_000
}

extension DestinationConfiguration {
    /// The body compression in force (``compression``, else the kind's default).
    public var effectiveCompression: BodyCompression { compression ?? .defaultFor(kind) }

    func integrationProblems(at path: String) -> [ConfigurationError] {
        var problems: [ConfigurationError] = []
        if case .limits(let limits) = rateLimit {
            if limits.isEmpty {
                problems.append(ConfigurationError(keyPath: "\(path).rateLimit", message: "needs at least one rule (use null to turn pacing off)"))
            }
            for (index, limit) in limits.enumerated() {
                let at = limits.count == 1 ? "\(path).rateLimit" : "\(path).rateLimit[\(index)]"
                if limit.events == nil && limit.requests == nil {
                    problems.append(ConfigurationError(keyPath: at, message: "needs \"events\" and/or \"requests\""))
                }
                if let events = limit.events, !(1...100_000_000).contains(events) {
                    problems.append(ConfigurationError(keyPath: "\(at).events", message: "must be between 1 and 100000000 (got \(events))"))
                }
                if let events = limit.events, events < batch.maxEvents {
                    problems.append(ConfigurationError(keyPath: "\(at).events", message: "must be at least batch.maxEvents (\(batch.maxEvents)), or no batch could ever be sent"))
                }
                if let requests = limit.requests, !(1...1_000_000).contains(requests) {
                    problems.append(ConfigurationError(keyPath: "\(at).requests", message: "must be between 1 and 1000000 (got \(requests))"))
                }
                problems += RateLimit.windowProblems(limit.perSeconds, at: at)
            }
        }
        if let idType, idType.isEmpty {
            problems.append(ConfigurationError(keyPath: "\(path).idType", message: "must not be empty"))
        }
        return problems
    }
}
