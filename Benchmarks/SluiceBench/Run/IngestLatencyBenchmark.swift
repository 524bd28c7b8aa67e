import Foundation
import Sluice

/// How long `Pipeline.ingest` takes for 100-event bodies with a disk spool in each sync mode: the latency a
/// relay adds before it can answer its client. `always` waits for the record's fsync (concurrent calls share
/// one); `interval` and `none` return after the write. Bodies go to a null destination, one caller at a time
/// and then four at once.
struct IngestLatencyBenchmark {
    let bodies: Int
    let progress: @Sendable (String) -> Void
    static let eventsPerBody = 100

    func run() async throws -> String {
        var lines = ["ingest latency, \(Self.eventsPerBody)-event bodies (\(bodies) per run), null destination:",
                     "mode       callers   p50 ms   p99 ms   max ms   bodies/s"]
        for mode in ["off", "none", "interval", "always"] {
            for callers in [1, 4] {
                progress("ingest latency: spool \(mode), \(callers) caller(s)")
                let (sorted, seconds) = try await measure(mode: mode, callers: callers)
                func quantile(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] * 1000 }
                lines.append(mode.padding(toLength: 10, withPad: " ", startingAt: 0)
                             + String(format: " %7d %8.3f %8.3f %8.3f %10.0f", callers, quantile(0.5), quantile(0.99),
                                      (sorted.last ?? 0) * 1000, Double(sorted.count) / seconds))
            }
        }
        return lines.joined(separator: "\n")
    }

    private func measure(mode: String, callers: Int) async throws -> ([Double], Double) {
        var configuration = PipelineConfiguration()
        configuration.destinations = []
        let spoolPath = PipelineRunner.freshSpoolDirectory()
        if let sync = SpoolConfiguration.SyncMode(rawValue: mode) { configuration.spool = SpoolConfiguration(path: spoolPath, sync: sync) }
        defer { try? FileManager.default.removeItem(atPath: spoolPath) }
        let pipeline = try Pipeline(configuration: configuration, options: PipelineOptions(
            customDestinations: [CustomDestinationRegistration(name: "null", destination: NullDestination())]))
        let run = Task { try await pipeline.run() }
        let perCaller = max(1, bodies / callers)
        let start = ContinuousClock.now
        let latencies = await withTaskGroup(of: [Double].self) { group in
            for caller in 0..<callers {
                group.addTask {
                    var measured: [Double] = []
                    measured.reserveCapacity(perCaller)
                    for index in 0..<perCaller {
                        let body = Self.body(caller: caller, index: index)
                        let before = ContinuousClock.now
                        _ = await pipeline.ingest(body)
                        let (s, atto) = (ContinuousClock.now - before).components
                        measured.append(Double(s) + Double(atto) * 1e-18)
                    }
                    return measured
                }
            }
            var all: [Double] = []
            for await part in group { all += part }
            return all
        }
        let (s, atto) = (ContinuousClock.now - start).components
        pipeline.finish()
        _ = try await run.value
        return (latencies.sorted(), Double(s) + Double(atto) * 1e-18)
    }

    /// NDJSON of 100 distinct Statsig events (distinct users and times, so none is a duplicate).
    static func body(caller: Int, index: Int) -> [UInt8] {
        var text = ""
        for n in 0..<eventsPerBody {
            let id = (caller * 1_000_000 + index) * eventsPerBody + n
            text += #"{"eventName":"checkout","user":{"userID":"u\#(id % 5000)"},"time":\#(1_714_564_800_000 + id),"value":\#(n)}"# + "\n"
        }
        return Array(text.utf8)
    }
}
