import Foundation
import Sluice

/// Runs a parsed command: configurations, micro-benchmarks, reports.
struct BenchDriver {
    var command: BenchCommand
    /// Where tables go (stdout in the tool; captured in tests).
    var output: @Sendable (String) -> Void = { print($0) }
    /// Where progress goes (stderr in the tool).
    var progress: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(("sluice-bench: " + $0 + "\n").utf8)) }

    /// The report of the run (also what `--json` writes).
    func run() async throws -> BenchReport {
        let store = try WorkloadStore(inputFile: command.inputFile)
        defer { store.removeAll() }
        var results: [ConfigResult] = []
        if command.runPipelines {
            results = try await runConfigurations(store)
            output(ResultTable.render(results, baseline: command.baseline))
            output(ResultTable.describeBaseline(command.baseline))
            output(notes(results))
        }
        var micro: [MicroResult] = []
        if command.runMicro {
            var suite = command.micro
            suite.progress = progress
            micro = await suite.run(workloads: store)
            output("")
            output(MicroResult.render(micro))
        }
        let report = BenchReport(version: SluiceVersion.string, command: Array(CommandLine.arguments.dropFirst()),
                                 baseline: command.baseline, results: results, micro: micro)
        if let path = command.jsonPath {
            try report.write(to: path)
            progress("wrote \(path)")
        }
        if let path = command.comparePath {
            let baseline = try BenchReport.read(from: path)
            output("")
            output(Comparison.render(current: report, baseline: baseline, baselinePath: path))
        }
        return report
    }

    private func runConfigurations(_ store: WorkloadStore) async throws -> [ConfigResult] {
        let configurations = command.configurations
        let executable = command.inProcess ? nil : ConfigExecutor.currentExecutable()
        progress("\(configurations.count) configurations x (\(command.warmups) warm-up + \(command.repetitions) timed) runs, "
            + (executable == nil ? "in this process" : "each in a child process"))
        var servers: [Int: LoopbackHTTPServer] = [:]
        defer { servers.values.forEach { $0.stop() } }
        var results: [ConfigResult] = []
        for (index, settings) in configurations.enumerated() {
            let label = ResultTable.label(settings, baseline: command.baseline)
            if settings.destination == .http && servers[settings.latencyMs] == nil {
                servers[settings.latencyMs] = try LoopbackHTTPServer(latencyMs: settings.latencyMs)
            }
            let input = try store.input(for: settings)
            progress("[\(index + 1)/\(configurations.count)] \(label) (\(input.counts.events) events)")
            let task = ChildTask(settings: settings, inputPath: input.path, counts: input.counts,
                                 httpPort: servers[settings.latencyMs]?.port, warmups: command.warmups,
                                 repetitions: command.repetitions)
            var result: ConfigResult
            if let executable {
                do {
                    result = try ConfigExecutor.measureInChild(task, executable: executable)
                } catch {
                    result = ConfigResult(settings: settings, input: input.counts, warmups: command.warmups, repetitions: [],
                                          peakRSSBytes: nil, rssScope: "child process", error: "\(error)")
                }
            } else {
                result = await ConfigExecutor.measure(task, scope: "shared process")
            }
            if let error = result.error {
                progress("    skipped: \(error)")
            } else if let rate = result.eventsPerSecond {
                progress("    \(TextFormat.rate(rate.median)) events/s" + (result.problems.isEmpty ? "" : "  CHECK: \(result.problems.joined(separator: ", "))"))
            }
            results.append(result)
        }
        return results
    }

    /// How to read the table.
    private func notes(_ results: [ConfigResult]) -> String {
        var lines = [
            "events/s and MB/s: input events (duplicates and invalid lines included) and input bytes per wall second, median of the timed runs.",
            "latency: ingest-to-delivery p50/p99 (median over runs) and max (over runs). CPU s: user+system, all threads; cores = CPU / wall.",
            "ev/CPU-s: input events per CPU second, the efficiency figure; on a shared machine it moves far less than events/s, which other processes' load pulls down.",
        ]
        if let scope = results.first?.rssScope {
            lines.append(scope == "child process" ? "RSS: peak resident set (VmHWM) of the child process that ran only this configuration."
                : "RSS: peak resident set since this configuration started, in a process shared with the others (upper bound).")
        }
        let flagged = results.filter { $0.error == nil && !$0.problems.isEmpty }.count
        if flagged > 0 {
            lines.append("CHECK: \(flagged) configuration(s) did not deliver exactly the expected events; their speed is not comparable.")
        }
        return lines.joined(separator: "\n")
    }
}
