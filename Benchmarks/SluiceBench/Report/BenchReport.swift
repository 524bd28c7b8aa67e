import Foundation

/// The `--json` document: every configuration with its raw repetitions and derived figures, and the
/// micro-benchmarks. `--compare` reads it back.
struct BenchReport: Codable, Sendable {
    /// One configuration with the derived figures spelled out for machines.
    struct Entry: Codable, Sendable {
        /// Every knob as `name=value`: how `--compare` matches configurations between runs.
        var key: String
        var label: String
        var eventsPerSecond: Spread?
        var megabytesPerSecond: Spread?
        var cpuSeconds: Spread?
        var latencyP50Seconds: Double?
        var latencyP99Seconds: Double?
        var latencyMaxSeconds: Double?
        var peakRSSBytes: Int?
        var problems: [String]
        var result: ConfigResult
    }

    var tool = "sluice-bench"
    var version: String
    var date: String
    var command: [String]
    var processors: Int
    var configurations: [Entry]
    var micro: [MicroResult]

    init(version: String, command: [String], baseline: BenchSettings, results: [ConfigResult], micro: [MicroResult]) {
        self.version = version
        self.date = ISO8601DateFormatter().string(from: Date())
        self.command = command
        self.processors = ProcessInfo.processInfo.activeProcessorCount
        configurations = results.map { r in
            Entry(key: r.settings.key, label: ResultTable.label(r.settings, baseline: baseline),
                  eventsPerSecond: r.eventsPerSecond, megabytesPerSecond: r.megabytesPerSecond, cpuSeconds: r.cpuSeconds,
                  latencyP50Seconds: r.latencyP50, latencyP99Seconds: r.latencyP99, latencyMaxSeconds: r.latencyMax,
                  peakRSSBytes: r.peakRSSBytes, problems: r.problems, result: r)
        }
        self.micro = micro
    }

    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }

    static func read(from path: String) throws -> BenchReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(BenchReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// `--compare`: this run's figures as ratios to an earlier run's.
enum Comparison {
    static func render(current: BenchReport, baseline: BenchReport, baselinePath: String) -> String {
        var out = ["comparison with \(baselinePath) (\(baseline.date)): ratio = this run / baseline; events/s above 1 is faster, p99/RSS/CPU below 1 is better"]
        let earlier = Dictionary(baseline.configurations.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        var rows: [[String]] = []
        var unmatched = 0
        for entry in current.configurations {
            guard let old = earlier[entry.key] else { unmatched += 1; continue }
            let rate = ratio(entry.eventsPerSecond?.median, old.eventsPerSecond?.median)
            rows.append([
                entry.label,
                entry.eventsPerSecond.map { TextFormat.rate($0.median) } ?? "-",
                old.eventsPerSecond.map { TextFormat.rate($0.median) } ?? "-",
                rate.map { TextFormat.fixed($0, 2) + "x" } ?? "-",
                ratio(entry.latencyP99Seconds, old.latencyP99Seconds).map { TextFormat.fixed($0, 2) } ?? "-",
                ratio(entry.peakRSSBytes.map(Double.init), old.peakRSSBytes.map(Double.init)).map { TextFormat.fixed($0, 2) } ?? "-",
                ratio(entry.cpuSeconds?.median, old.cpuSeconds?.median).map { TextFormat.fixed($0, 2) } ?? "-",
                (entry.problems + old.problems).isEmpty ? "" : "CHECK (now: \(entry.problems.joined(separator: ", ")); then: \(old.problems.joined(separator: ", ")))",
            ])
        }
        if !rows.isEmpty {
            out.append(TextFormat.table(header: ["configuration", "events/s now", "then", "ratio", "p99", "RSS", "CPU", ""],
                                        rows: rows, rightAligned: [1, 2, 3, 4, 5, 6]))
        }
        if unmatched > 0 { out.append("\(unmatched) configuration(s) have no counterpart in the baseline (knobs differ)") }
        let oldMicro = Dictionary(baseline.micro.map { ("\($0.group)/\($0.name)", $0) }, uniquingKeysWith: { first, _ in first })
        let microRows: [[String]] = current.micro.compactMap { m in
            guard let old = oldMicro["\(m.group)/\(m.name)"], let r = ratio(m.value, old.value) else { return nil }
            let better = m.higherIsBetter ? r >= 1 : r <= 1
            return [m.group, m.name, TextFormat.fixed(m.value, 2), TextFormat.fixed(old.value, 2), m.unit,
                    TextFormat.fixed(r, 2) + "x", better ? "better or equal" : "worse"]
        }
        if !microRows.isEmpty {
            out.append(TextFormat.table(header: ["stage", "measurement", "now", "then", "unit", "ratio", ""], rows: microRows,
                                        rightAligned: [2, 3, 5]))
        }
        return out.joined(separator: "\n")
    }

    private static func ratio(_ now: Double?, _ then: Double?) -> Double? {
        guard let now, let then, then != 0, now.isFinite, then.isFinite else { return nil }
        return now / then
    }
}
