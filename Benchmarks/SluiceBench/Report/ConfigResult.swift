/// What the generator put in an input file, so a run can be checked against it.
struct InputCounts: Codable, Sendable, Equatable {
    var lines: Int
    var events: Int
    var duplicates: Int
    var invalid: Int
    var `internal`: Int
    var bytes: Int
    /// False for a user-supplied `--input` file: only totals seen by the pipeline are known.
    var generated: Bool
}

/// One timed pipeline run.
struct RepetitionResult: Codable, Sendable, Equatable {
    var wallSeconds: Double
    var cpuSeconds: Double
    var ingested: Int
    var invalid: Int
    var duplicates: Int
    var filtered: Int
    /// Delivered by each measured destination (the helper destination of `null` runs excluded).
    var delivered: [Int]
    var deadLettered: Int
    var dropped: Int
    var balanced: Bool
    var latencyP50: Double?
    var latencyP99: Double?
    var latencyMax: Double?
    /// Why this run's counts cannot be trusted as a fast run; empty when every event is where it should be.
    var problems: [String]
}

/// Everything measured for one configuration.
struct ConfigResult: Codable, Sendable {
    var settings: BenchSettings
    var input: InputCounts
    var warmups: Int
    var repetitions: [RepetitionResult]
    /// Peak RSS while this configuration ran (see `rssScope`).
    var peakRSSBytes: Int?
    /// `"child process"` (RSS of this configuration alone) or `"shared process"` (upper bound: see README).
    var rssScope: String
    /// Set when the configuration could not run at all (e.g. a destination not in this build).
    var error: String?

    /// Input events per wall-clock second.
    var eventsPerSecond: Spread? { Spread(repetitions.map { Double(input.events) / $0.wallSeconds }) }
    /// Input megabytes (10^6) per wall-clock second.
    var megabytesPerSecond: Spread? { Spread(repetitions.map { Double(input.bytes) / 1e6 / $0.wallSeconds }) }
    /// CPU seconds per repetition (all threads).
    var cpuSeconds: Spread? { Spread(repetitions.map(\.cpuSeconds)) }
    /// Wall seconds per repetition.
    var wallSeconds: Spread? { Spread(repetitions.map(\.wallSeconds)) }
    /// Median over repetitions of each repetition's latency p50, in seconds.
    var latencyP50: Double? { Spread(repetitions.compactMap(\.latencyP50))?.median }
    /// Median over repetitions of each repetition's latency p99, in seconds.
    var latencyP99: Double? { Spread(repetitions.compactMap(\.latencyP99))?.median }
    /// The largest latency seen in any repetition, in seconds.
    var latencyMax: Double? { repetitions.compactMap(\.latencyMax).max() }
    /// Distinct problems over all repetitions.
    var problems: [String] {
        var seen = Set<String>()
        return repetitions.flatMap(\.problems).filter { seen.insert($0).inserted }
    }
    /// True when the run can be compared on speed: it ran, and no event went missing.
    var isTrustworthy: Bool { error == nil && !repetitions.isEmpty && problems.isEmpty }
}
