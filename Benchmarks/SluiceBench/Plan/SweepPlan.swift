/// One knob and the values a sweep gives it.
struct SweepAxis: Sendable, Equatable {
    var knob: String
    var values: [String]

    /// Parses `name=v1,v2,...`; `nil` with a reason when the knob or a value is unknown.
    static func parse(_ text: String) -> Result<SweepAxis, BenchUsageError> {
        guard let eq = text.firstIndex(of: "=") else { return .failure(BenchUsageError("--sweep wants knob=v1,v2,...: \(text)")) }
        let name = String(text[..<eq])
        guard let knob = Knob.named(name) else { return .failure(BenchUsageError("unknown knob \"\(name)\" (see --help)")) }
        let values = text[text.index(after: eq)...].split(separator: ",").map(String.init)
        guard !values.isEmpty else { return .failure(BenchUsageError("--sweep \(name): no values")) }
        var probe = BenchSettings()
        for value in values where !knob.set(&probe, value) {
            return .failure(BenchUsageError("--sweep \(name): bad value \"\(value)\" (\(knob.help))"))
        }
        return .success(SweepAxis(knob: knob.name, values: values))
    }
}

/// What to run: a list of configurations (the cartesian product of `--sweep`s over a baseline, or the default
/// one-knob-at-a-time plan).
enum SweepPlan {
    /// Every combination of the axes' values applied to `base`, first axis varying slowest; `[base]` without axes.
    static func cartesian(base: BenchSettings, axes: [SweepAxis]) -> [BenchSettings] {
        var configurations = [base]
        for axis in axes {
            guard let knob = Knob.named(axis.knob) else { continue }
            configurations = configurations.flatMap { partial in
                axis.values.map { value -> BenchSettings in
                    var next = partial
                    _ = knob.set(&next, value)
                    return next
                }
            }
        }
        return deduplicated(configurations)
    }

    /// The default plan: the baseline, then each knob varied alone around it. A full cartesian product of the same
    /// values would take hours; one knob at a time shows which knob matters and in which direction in about a
    /// minute, and `--sweep` can then cross the knobs that do.
    static func oneAtATime(base: BenchSettings, axes: [SweepAxis]) -> [BenchSettings] {
        var configurations = [base]
        for axis in axes {
            guard let knob = Knob.named(axis.knob) else { continue }
            for value in axis.values {
                var next = base
                _ = knob.set(&next, value)
                configurations.append(next)
            }
        }
        return deduplicated(configurations)
    }

    /// The axes of the default run: the engine's tuning knobs around their defaults, on the CLI's own path
    /// (stdout encoding to /dev/null), plus the custom-destination hand-off for comparison.
    static let defaultAxes: [SweepAxis] = [
        SweepAxis(knob: "chunkSize", values: ["64", "128", "256", "1024", "2048", "4096"]),
        SweepAxis(knob: "queueCapacity", values: ["1", "2", "32"]),
        SweepAxis(knob: "maxEvents", values: ["64", "2048"]),
        SweepAxis(knob: "concurrency", values: ["2", "4"]),
        SweepAxis(knob: "dedupe", values: ["off"]),
        SweepAxis(knob: "destination", values: ["null"]),
    ]

    private static func deduplicated(_ list: [BenchSettings]) -> [BenchSettings] {
        var seen = Set<BenchSettings>()
        return list.filter { seen.insert($0).inserted }
    }
}

/// A command-line mistake, reported with the usage hint and exit status 2.
struct BenchUsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
