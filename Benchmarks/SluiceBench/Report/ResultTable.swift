/// The human-readable table of pipeline configurations.
enum ResultTable {
    /// One row per configuration, labelled by how it differs from the baseline settings.
    static func render(_ results: [ConfigResult], baseline base: BenchSettings) -> String {
        guard !results.isEmpty else { return "(no configurations)" }
        let header = ["#", "configuration", "events/s", "[min-max]", "MB/s", "p50 ms", "p99 ms", "max ms", "RSS MB",
                      "CPU s", "cores", "ev/CPU-s", "delivered", "dups", "filtered", "status"]
        var rows: [[String]] = []
        for (index, result) in results.enumerated() {
            let label = label(result.settings, baseline: base)
            guard result.error == nil, let rate = result.eventsPerSecond else {
                rows.append(["\(index + 1)", label] + Array(repeating: "", count: 13) + ["SKIPPED: \(result.error ?? "no runs")"])
                continue
            }
            let last = result.repetitions.last
            let cpu = result.cpuSeconds?.median ?? .nan
            let wall = result.wallSeconds?.median ?? .nan
            rows.append([
                "\(index + 1)", label,
                TextFormat.rate(rate.median), "\(TextFormat.rate(rate.min))-\(TextFormat.rate(rate.max))",
                TextFormat.fixed(result.megabytesPerSecond?.median ?? .nan, 0),
                TextFormat.milliseconds(result.latencyP50), TextFormat.milliseconds(result.latencyP99),
                TextFormat.milliseconds(result.latencyMax),
                result.peakRSSBytes.map { TextFormat.fixed(Double($0) / 1_048_576, 0) } ?? "-",
                TextFormat.fixed(cpu, 2), TextFormat.fixed(cpu / wall, 2), TextFormat.rate(Double(result.input.events) / cpu),
                last.map { $0.delivered.map(String.init).joined(separator: "/") } ?? "-",
                last.map { String($0.duplicates) } ?? "-",
                last.map { String($0.filtered) } ?? "-",
                result.problems.isEmpty ? "ok" : "CHECK: " + result.problems.joined(separator: ", "),
            ])
        }
        return TextFormat.table(header: header, rows: rows, rightAligned: [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
    }

    /// How `settings` differs from the baseline, or `baseline`.
    static func label(_ settings: BenchSettings, baseline: BenchSettings) -> String {
        let differences = settings.differences(from: baseline)
        return differences.isEmpty ? "baseline" : differences.joined(separator: " ")
    }

    /// What the baseline is, in full, so the labels above can be read.
    static func describeBaseline(_ settings: BenchSettings) -> String {
        "baseline: " + Knob.all.map { "\($0.name)=\($0.get(settings))" }.joined(separator: " ")
    }
}
