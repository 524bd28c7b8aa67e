#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Sluice

/// Builds the pipeline a ``BenchSettings`` describes (through the public API only) and times runs of it.
struct PipelineRunner: Sendable {
    let settings: BenchSettings
    let inputPath: String
    let counts: InputCounts
    /// Port of the loopback server answering with `settings.latencyMs` delay (`http` mode only).
    let httpPort: Int?

    /// Name prefix of the select-nothing stdout destination that `null` runs need (see ``makePipeline()``).
    static let helperPrefix = "unmeasured-"

    /// The /dev/null descriptor `devnull` destinations write to, opened once per process.
    static let devNull: Int32 = open("/dev/null", O_WRONLY | O_CLOEXEC)

    /// The configuration and options for one run.
    func makePipeline() throws -> Pipeline {
        var configuration = PipelineConfiguration()
        configuration.dedupe = DedupeConfiguration(enabled: settings.dedupe, capacity: settings.dedupeCapacity)
        configuration.input = InputConfiguration(chunkSize: settings.chunkSize, queueCapacity: settings.queueCapacity)
        configuration.drainTimeoutSeconds = 120
        let overflow = OverflowPolicy(rawValue: settings.overflow) ?? .block
        let format = OutputFormat(rawValue: settings.format) ?? .statsig
        var options = PipelineOptions(input: .file(inputPath), standardOutput: Self.devNull)

        switch settings.destination {
        case .null:
            let defaults = CustomDestinationRegistration(name: "", destination: NullDestination())
            options.customDestinations = (0..<settings.destinations).map { index in
                CustomDestinationRegistration(
                    name: "null\(index)", destination: NullDestination(), batch: batch(defaults.batch),
                    concurrency: settings.concurrency ?? defaults.concurrency, overflow: overflow)
            }
            // A configuration must name at least one destination, even when all of them are custom; this one
            // selects no event, so it costs a filter check per event and writes nothing.
            configuration.destinations = [DestinationConfiguration(
                name: Self.helperPrefix + "stdout", kind: .stdout(format: .statsig), events: EventSelection(include: []))]
        case .selectNone:
            configuration.destinations = (0..<settings.destinations).map { index in
                var destination = DestinationConfiguration(name: "none\(index)", kind: .stdout(format: format),
                                                           events: EventSelection(include: []), overflow: overflow)
                destination.batch = batch(destination.batch)
                if let concurrency = settings.concurrency { destination.concurrency = concurrency }
                return destination
            }
        case .devnull, .http:
            let kind: DestinationConfiguration.Kind
            if settings.destination == .devnull {
                kind = .stdout(format: format)
            } else {
                let endpoint = "http://127.0.0.1:\(httpPort ?? 0)"
                switch format {
                case .segment: kind = .segment(endpoint: endpoint, writeKey: "bench-write-key")
                case .heap: kind = .heap(endpoint: endpoint, appID: "bench-app-id")
                case .statsig: kind = .statsig(endpoint: endpoint, apiKey: "secret-bench-key")
                }
            }
            configuration.destinations = (0..<settings.destinations).map { index in
                var destination = DestinationConfiguration(name: "\(settings.destination.rawValue)\(index)", kind: kind,
                                                           overflow: overflow)
                destination.batch = batch(destination.batch)
                if let concurrency = settings.concurrency { destination.concurrency = concurrency }
                return destination
            }
        }
        if let sync = SpoolConfiguration.SyncMode(rawValue: settings.spool) {
            configuration.spool = SpoolConfiguration(path: Self.freshSpoolDirectory(), sync: sync)
        }
        return try Pipeline(configuration: configuration, options: options)
    }

    /// A new, empty spool directory: a run reusing one would resume the input file and read nothing.
    static func freshSpoolDirectory() -> String {
        let base = (ProcessInfo.processInfo.environment["SLUICE_BENCH_SPOOL_DIR"] ?? FileManager.default.temporaryDirectory.path)
        return base + "/sluice-bench-spool-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    }

    /// The destination's default batch limits with the settings' overrides.
    private func batch(_ defaults: BatchConfiguration) -> BatchConfiguration {
        BatchConfiguration(maxEvents: settings.maxEvents ?? defaults.maxEvents,
                           maxBytes: settings.maxBytes ?? defaults.maxBytes,
                           maxDelayMs: settings.maxDelayMs ?? defaults.maxDelayMs)
    }

    /// Builds a pipeline, runs it to the end of the input, and measures wall time, CPU time and the summary.
    /// Building is outside the timed span: it is a one-off cost, not throughput.
    func runOnce() async throws -> RepetitionResult {
        let pipeline = try makePipeline()
        let cpuBefore = ResourceUsage.cpuSeconds()
        let start = ContinuousClock.now
        let summary = try await pipeline.run()
        let elapsed = ContinuousClock.now - start
        if let spool = pipeline.configuration.spool { try? FileManager.default.removeItem(atPath: spool.path) }
        let cpu = ResourceUsage.cpuSeconds() - cpuBefore
        if let failure = pipeline.inputFailure { throw BenchRunError("input: \(failure)") }
        let (seconds, attoseconds) = elapsed.components
        return result(summary: summary, wallSeconds: Double(seconds) + Double(attoseconds) * 1e-18, cpuSeconds: cpu)
    }

    /// Turns a summary into a repetition result and checks that no event went missing.
    func result(summary: Summary, wallSeconds: Double, cpuSeconds: Double) -> RepetitionResult {
        let measured = summary.destinations.filter { !$0.key.hasPrefix(Self.helperPrefix) }.sorted { $0.key < $1.key }
        var result = RepetitionResult(
            wallSeconds: wallSeconds, cpuSeconds: cpuSeconds, ingested: summary.ingested, invalid: summary.invalid,
            duplicates: summary.duplicates, filtered: summary.filtered, delivered: measured.map(\.value.delivered),
            deadLettered: summary.destinations.values.reduce(0) { $0 + $1.deadLettered },
            dropped: summary.destinations.values.reduce(0) { $0 + $1.dropped }, balanced: summary.isBalanced,
            latencyP50: summary.latency?.p50, latencyP99: summary.latency?.p99, latencyMax: summary.latency?.max,
            problems: [])
        result.problems = Self.problems(in: summary, measured: measured.map(\.value), counts: counts, dedupe: settings.dedupe)
        return result
    }

    /// Everything that makes a run's speed meaningless: unbalanced accounts, events lost, dropped or
    /// dead-lettered, input miscounted, duplicates let through.
    static func problems(in summary: Summary, measured: [Summary.DestinationSummary], counts: InputCounts,
                         dedupe: Bool) -> [String] {
        var problems: [String] = []
        if !summary.isBalanced { problems.append("UNBALANCED") }
        let expectedFromSummary = summary.ingested - summary.duplicates - summary.filtered
        for destination in measured where destination.delivered + destination.filtered != expectedFromSummary {
            problems.append("LOST \(expectedFromSummary - destination.delivered - destination.filtered)")
        }
        let dropped = summary.destinations.values.reduce(0) { $0 + $1.dropped }
        let deadLettered = summary.destinations.values.reduce(0) { $0 + $1.deadLettered }
        if dropped > 0 { problems.append("DROPPED \(dropped)") }
        if deadLettered > 0 { problems.append("DEAD-LETTERED \(deadLettered)") }
        guard counts.generated else { return problems }
        if summary.ingested != counts.events { problems.append("INGESTED \(summary.ingested)≠\(counts.events)") }
        if summary.invalid != counts.invalid { problems.append("INVALID \(summary.invalid)≠\(counts.invalid)") }
        if dedupe {
            // The generator's duplicates repeat one of the last 500 distinct events: a smaller table misses some
            // by design, which changes the work done, so it is flagged too.
            if summary.duplicates != counts.duplicates { problems.append("DUPLICATES \(summary.duplicates)≠\(counts.duplicates)") }
            let expected = counts.events - counts.duplicates - counts.internal
            for destination in measured where destination.delivered + destination.filtered != expected {
                problems.append("DELIVERED \(destination.delivered)≠\(expected)")
            }
        } else if summary.duplicates != 0 {
            problems.append("DUPLICATES \(summary.duplicates) with dedupe off")
        }
        var seen = Set<String>()
        return problems.filter { seen.insert($0).inserted }
    }
}

/// A run that could not be measured.
struct BenchRunError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
