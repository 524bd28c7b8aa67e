import Sluice

/// The stage micro-benchmarks, run in this process after the pipeline configurations.
struct MicroSuite {
    /// Events in the generated workload the pipeline-based measurements read.
    var events = 100_000
    /// Lines the JSON benchmark parses and writes per repetition.
    var jsonLines = 20_000
    /// Chunks sent through the channels per repetition.
    var channelElements = 100_000
    var repetitions = 3
    /// Prints what is running.
    var progress: @Sendable (String) -> Void = { _ in }

    func run(workloads: WorkloadStore) async -> [MicroResult] {
        var results: [MicroResult] = []
        results += json()
        results += await dedupe(workloads: workloads)
        results += await channel()
        results += await encoding(workloads: workloads)
        return results
    }

    // MARK: JSON

    func json() -> [MicroResult] {
        progress("micro: JSON read/write vs JSONSerialization (\(jsonLines) lines)")
        var options = EventGenerator.Options(events: jsonLines, duplicateRate: 0)
        options.seed = 7
        let bytes = EventGenerator(options: options).generate().bytes
        let lines = bytes.split(separator: UInt8(ascii: "\n")).map { Array($0) }
        let r = runJSONReadBenchmark(lines: lines, repetitions: repetitions)
        func mbps(_ t: JSONThroughput, _ name: String) -> MicroResult {
            let values = t.seconds.map { Double(t.bytes) / 1e6 / $0 }
            return MicroResult(group: "json", name: name, unit: "MB/s", value: t.megabytesPerSecond,
                               min: values.min(), max: values.max(), higherIsBetter: true,
                               note: "\(TextFormat.rate(t.eventsPerSecond)) events/s")
        }
        return [
            mbps(r.readerRead, "read: JSONReader parse + fields"),
            mbps(r.foundationRead, "read: JSONSerialization + fields"),
            MicroResult(group: "json", name: "read speedup vs Foundation", unit: "x", value: r.readSpeedup, higherIsBetter: true,
                        note: r.readerChecksum == r.foundationChecksum ? "field checksums agree" : "FIELD CHECKSUMS DIFFER"),
            mbps(r.writerWrite, "write: JSONWriter message"),
            mbps(r.foundationWrite, "write: JSONSerialization message"),
            MicroResult(group: "json", name: "write speedup vs Foundation", unit: "x", value: r.writeSpeedup, higherIsBetter: true),
        ]
    }

    // MARK: Dedupe

    func dedupe(workloads: WorkloadStore) async -> [MicroResult] {
        progress("micro: dedupe (pipeline with dedupe on vs off, Set<DedupeKey>)")
        var results: [MicroResult] = []
        var on = BenchSettings()
        on.events = events
        var off = on
        off.dedupe = false
        if let measuredOn = await measure(on, workloads), let measuredOff = await measure(off, workloads),
           let cpuOn = measuredOn.cpuSeconds, let cpuOff = measuredOff.cpuSeconds,
           let wallOn = measuredOn.wallSeconds, let wallOff = measuredOff.wallSeconds {
            let n = Double(measuredOn.input.events)
            let cpuNs = (cpuOn.median - cpuOff.median) * 1e9 / n
            let wallNs = (wallOn.median - wallOff.median) * 1e9 / n
            results.append(MicroResult(group: "dedupe", name: "stage cost, CPU (pipeline on - off)", unit: "ns/event",
                                       value: cpuNs, higherIsBetter: false,
                                       note: cpuNs > 0 ? "≈ \(TextFormat.rate(1e9 / cpuNs)) inserts/s incl. one channel hop" : "below the noise"))
            results.append(MicroResult(group: "dedupe", name: "stage cost, wall (pipeline on - off)", unit: "ns/event",
                                       value: wallNs, higherIsBetter: false, note: "runs beside other stages on the 2nd core"))
        }
        let set = DedupeBenchmark.setInserts(count: 1_000_000, repetitions: repetitions)
        if let spread = Spread(set) {
            results.append(MicroResult(group: "dedupe", name: "Set<DedupeKey> insert (1M keys)", unit: "ns/insert",
                                       value: spread.median, min: spread.min, max: spread.max, higherIsBetter: false,
                                       note: "≈ \(TextFormat.rate(1e9 / spread.median)) inserts/s; floor for comparison"))
        }
        return results
    }

    // MARK: Channel

    func channel() async -> [MicroResult] {
        progress("micro: channel hop cost (\(channelElements) chunks)")
        var results: [MicroResult] = []
        func add(_ name: String, _ samples: [(wall: Double, cpu: Double)], _ note: String) {
            guard let wall = Spread(samples.map(\.wall)), let cpu = Spread(samples.map(\.cpu)) else { return }
            results.append(MicroResult(group: "channel", name: name + " (wall)", unit: "ns/chunk/hop", value: wall.median,
                                       min: wall.min, max: wall.max, higherIsBetter: false, note: note))
            results.append(MicroResult(group: "channel", name: name + " (CPU)", unit: "ns/chunk/hop", value: cpu.median,
                                       min: cpu.min, max: cpu.max, higherIsBetter: false,
                                       note: "per event at chunkSize 512: \(TextFormat.fixed(cpu.median / 512, 2)) ns"))
        }
        for (hops, capacity) in [(1, 8), (3, 8), (1, 1)] {
            add("BoundedChannel, \(hops) hop\(hops > 1 ? "s" : ""), capacity \(capacity)",
                await ChannelBenchmark.boundedChannel(elements: channelElements, hops: hops, capacity: capacity,
                                                      repetitions: repetitions),
                "wall includes waiting for a core")
        }
        add("AsyncStream (unbounded), 1 hop", await ChannelBenchmark.asyncStream(elements: channelElements, repetitions: repetitions),
            "for scale")
        return results
    }

    // MARK: Encoding

    /// Each format's encoding and writing cost: a devnull destination of the format against a destination that
    /// selects nothing (everything else identical), as CPU nanoseconds per delivered event.
    func encoding(workloads: WorkloadStore) async -> [MicroResult] {
        progress("micro: per-destination encoding (devnull per format vs a select-nothing destination)")
        var base = BenchSettings()
        base.events = events
        base.dedupe = false
        var nothing = base
        nothing.destination = .selectNone
        guard let baseline = await measure(nothing, workloads), let baselineCPU = baseline.cpuSeconds?.median else { return [] }
        var results: [MicroResult] = []
        var candidates: [(String, BenchSettings)] = OutputFormat.allCases.map { format in
            var s = base
            s.format = format.rawValue
            return ("devnull \(format.rawValue)", s)
        }
        var custom = base
        custom.destination = .null
        candidates.append(("custom Destination (null)", custom))
        for (name, settings) in candidates {
            guard let measured = await measure(settings, workloads, quiet: true) else { continue }
            if let error = measured.error {
                results.append(MicroResult(group: "encoding", name: name, unit: "ns/event", value: .nan, higherIsBetter: false,
                                           note: "not measured: \(error)"))
                continue
            }
            guard let cpu = measured.cpuSeconds?.median, let rate = measured.eventsPerSecond,
                  let delivered = measured.repetitions.last?.delivered.first, delivered > 0 else { continue }
            let ns = (cpu - baselineCPU) * 1e9 / Double(delivered)
            results.append(MicroResult(group: "encoding", name: name + ": encode + write", unit: "ns/event", value: ns,
                                       higherIsBetter: false,
                                       note: "≈ \(TextFormat.rate(1e9 / max(ns, 1))) events/s alone; pipeline \(TextFormat.rate(rate.median)) events/s"
                                           + (measured.problems.isEmpty ? "" : " CHECK: \(measured.problems.joined(separator: ", "))")))
        }
        return results
    }

    private func measure(_ settings: BenchSettings, _ workloads: WorkloadStore, quiet: Bool = false) async -> ConfigResult? {
        guard let input = try? workloads.input(for: settings) else { return nil }
        let task = ChildTask(settings: settings, inputPath: input.path, counts: input.counts, httpPort: nil, warmups: 1,
                             repetitions: repetitions)
        let result = await ConfigExecutor.measure(task, scope: "shared process")
        if result.error != nil && !quiet { return nil }
        return result
    }
}
