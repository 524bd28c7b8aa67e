#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Sluice

/// Something that watches a run on standard error and must be stopped after ``Pipeline/run()`` returns.
protocol RunObserver: Sendable {
    /// Waits for the observer's last output (the pipeline's metrics stream ends when the run finishes).
    func stop() async
}

enum RunObservers {
    /// `--stats-interval` asks for JSON lines; otherwise an interactive terminal gets the live progress line.
    /// `--quiet` means neither: nothing on standard error but errors.
    static func start(for pipeline: Pipeline, options: RunOptions) -> (any RunObserver)? {
        guard !options.quiet else { return nil }
        if let seconds = options.statsInterval {
            return StatsReporter(pipeline: pipeline, intervalSeconds: seconds)
        }
        if isatty(2) == 1 {
            return ProgressDisplay(pipeline: pipeline)
        }
        return nil
    }
}

/// `--stats-interval SECONDS`: one JSON line per interval on standard error (a ``MetricsSnapshot``), and a
/// final line with the finished counts, for log shippers and scripts watching a long run.
final class StatsReporter: RunObserver {
    private let task: Task<Void, Never>

    init(pipeline: Pipeline, intervalSeconds: Double) {
        let interval = Duration.milliseconds(Int64((intervalSeconds * 1000).rounded()))
        task = Task {
            for await snapshot in pipeline.metrics(every: interval) {
                StandardError.write(String(decoding: snapshot.jsonBytes(), as: UTF8.self))
            }
        }
    }

    func stop() async { await task.value }
}
