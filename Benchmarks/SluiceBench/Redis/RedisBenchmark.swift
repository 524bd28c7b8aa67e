import Foundation
import Sluice
#if canImport(Glibc)
import Glibc
#endif

/// `sluice-bench --redis [--redis-events N] [--redis-url redis://HOST:PORT]`: the Redis Streams sink's and
/// source's throughput against a real `redis-server` (started on a free loopback port unless a URL is given).
///
/// 1. sink: N generated events from memory to a `redis-stream` destination (XADD pipelined per batch);
/// 2. source: the same N entries read by one instance through a consumer group (XREADGROUP, XACK on
///    settlement) to a stdout destination writing to /dev/null. Timed until the last event is delivered,
///    so the idle wait before exiting is not counted;
/// 3. shared de-duplication's cost per event (``sharedDedupeCost(generated:url:null:)``).
enum RedisBenchmark {
    static func run(_ arguments: [String]) async -> Int32 {
        var events = 300_000
        var url: String?
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--redis": break
            case "--redis-events":
                index += 1
                guard index < arguments.count, let n = Int(arguments[index]), n > 0 else { return usage() }
                events = n
            case "--redis-url":
                index += 1
                guard index < arguments.count else { return usage() }
                url = arguments[index]
            default: return usage()
            }
            index += 1
        }
        var server: Process?
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-redis-\(getpid())")
        defer {
            if let server { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
            try? FileManager.default.removeItem(at: directory)
        }
        if url == nil {
            do {
                let (process, port) = try startServer(directory: directory)
                server = process
                url = "redis://127.0.0.1:\(port)"
            } catch {
                report("cannot start redis-server: \(error)")
                return 2
            }
        }
        guard let url else { return 2 }
        do {
            var generated: [UInt8] = []
            _ = EventGenerator(options: EventGenerator.Options(events: events)).write { generated.append(contentsOf: $0) }
            let stream = "bench-\(getpid())"

            // Sink.
            let sink = PipelineConfiguration(
                dedupe: DedupeConfiguration(enabled: false),
                destinations: [DestinationConfiguration(name: "redis", kind: .redisStream(RedisStreamDestination(url: url, stream: stream)))])
            let serverPID = server?.processIdentifier
            var cpu = CPUSpent(server: serverPID)
            let sinkStart = Date()
            let sinkSummary = try await Pipeline(configuration: sink, options: PipelineOptions(input: .bytes(generated))).run()
            let sinkSeconds = Date().timeIntervalSince(sinkStart)
            let written = sinkSummary.destinations["redis"]?.delivered ?? 0
            print(String(format: "redis sink:   %d events XADDed in %.3f s: %.0f events/s; %@", written, sinkSeconds,
                         Double(written) / sinkSeconds, cpu.report(events: written)))

            // Source -> stdout (/dev/null).
            let endpoint = RedisEndpoint(host: "127.0.0.1", port: Int(url.split(separator: ":").last ?? "6379") ?? 6379)
            let source = RedisSourceConfiguration(endpoint: endpoint, stream: stream, group: "bench", consumer: "c1",
                                                  batch: 1024, exitWhenIdleSeconds: 0.5)
            let null = open("/dev/null", O_WRONLY)
            defer { close(null) }
            let pipeline = try Pipeline(configuration: PipelineConfiguration(),
                                        options: PipelineOptions(input: .redisStream(source), standardOutput: null))
            cpu = CPUSpent(server: serverPID)
            let sourceStart = Date()
            let running = Task { try await pipeline.run() }
            // Timed until every entry's event is settled (delivered, or dropped as one of the input's repeats).
            var lastDelivered = Date()
            var delivered = 0
            var settledSoFar = 0
            while settledSoFar < written {
                try await Task.sleep(for: .milliseconds(2))
                let metrics = pipeline.metrics
                delivered = metrics.destinations["stdout"]?.delivered ?? 0
                let now = delivered + (metrics.destinations["stdout"]?.filtered ?? 0) + metrics.duplicates + metrics.filtered
                if now != settledSoFar { settledSoFar = now; lastDelivered = Date() }
                if Date().timeIntervalSince(lastDelivered) > 10 { break }
            }
            let sourceSeconds = lastDelivered.timeIntervalSince(sourceStart)
            let cpuReport = cpu.report(events: written)
            let summary = try await running.value
            let stats = pipeline.redisSourceStatistics
            // Entries (= events: one per entry) read, decoded and settled per second; `delivered` is fewer by the
            // input's 5% repeats, which de-duplication drops.
            print(String(format: "redis source: %d entries read (%d events delivered to stdout, the rest duplicates) in %.3f s: %.0f events/s (%d acknowledged); %@",
                         written, delivered, sourceSeconds, Double(written) / sourceSeconds, stats?.acknowledged ?? 0, cpuReport))
            // The generated input repeats 5% of its events, which the source's de-duplication drops: every entry is
            // accounted for when each was ingested and every entry acknowledged.
            let settled = (summary.destinations["stdout"]?.delivered ?? 0) + (summary.destinations["stdout"]?.filtered ?? 0)
                + summary.duplicates + summary.filtered
            if summary.ingested != written || settled != written || stats?.acknowledged != written {
                report("source ingested \(summary.ingested), settled \(settled) of \(written) events, acknowledged \(stats?.acknowledged ?? 0)")
                return 1
            }
            return try await sharedDedupeCost(generated: generated, url: url, null: null)
        } catch {
            report("\(error)")
            return 1
        }
    }

    /// 3. shared dedupe: the same N events from memory to stdout (/dev/null), once with the local table and once
    ///    with `dedupe.shared` on this Redis (every key new: one `SET NX PX GET` each); the difference per event
    ///    is the shared check's cost.
    static func sharedDedupeCost(generated: [UInt8], url: String, null: Int32) async throws -> Int32 {
        func timed(_ configuration: PipelineConfiguration) async throws -> (Double, Summary, Pipeline) {
            let pipeline = try Pipeline(configuration: configuration, options: PipelineOptions(input: .bytes(generated), standardOutput: null))
            let start = Date()
            let summary = try await pipeline.run()
            return (Date().timeIntervalSince(start), summary, pipeline)
        }
        let (localSeconds, localSummary, _) = try await timed(PipelineConfiguration())
        var shared = PipelineConfiguration()
        shared.dedupe.shared = SharedDedupeConfiguration(url: url, keyPrefix: "bench-\(getpid()):")
        let (sharedSeconds, sharedSummary, pipeline) = try await timed(shared)
        let events = Double(localSummary.ingested)
        let checked = pipeline.sharedDedupeStatistics?.checked ?? 0
        print(String(format: "dedupe local:  %d events in %.3f s: %.0f events/s", localSummary.ingested, localSeconds, events / localSeconds))
        print(String(format: "dedupe shared: %d events in %.3f s: %.0f events/s (%d checked in Redis, %d duplicates); cost %.2f µs per event",
                     sharedSummary.ingested, sharedSeconds, events / sharedSeconds, checked, sharedSummary.duplicates,
                     (sharedSeconds - localSeconds) / events * 1e6))
        if sharedSummary.duplicates != localSummary.duplicates || checked != sharedSummary.ingested {
            report("shared dedupe found \(sharedSummary.duplicates) duplicates (local \(localSummary.duplicates)), checked \(checked)")
            return 1
        }
        return 0
    }

    /// CPU seconds spent since it was made by this process and by the redis-server it started (read from
    /// `/proc/PID/stat`; absent with `--redis-url`). Under a shared machine wall time varies with the load, CPU
    /// per event much less.
    struct CPUSpent {
        let server: Int32?
        let ownStart: Double
        let serverStart: Double?

        init(server: Int32?) {
            self.server = server
            ownStart = ResourceUsage.cpuSeconds()
            serverStart = server.flatMap(Self.processCPUSeconds)
        }

        func report(events: Int) -> String {
            let own = ResourceUsage.cpuSeconds() - ownStart
            var text = String(format: "CPU: sluice %.2f s (%.0f events per CPU-second)", own, Double(events) / own)
            if let server, let start = serverStart, let now = Self.processCPUSeconds(server) {
                text += String(format: ", redis-server %.2f s (%.0f events per CPU-second of both)", now - start,
                               Double(events) / (own + now - start))
            }
            return text
        }

        /// utime + stime of a process, from `/proc/PID/stat` (fields 14 and 15, in clock ticks).
        static func processCPUSeconds(_ pid: Int32) -> Double? {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = text.lastIndex(of: ")") else { return nil }
            // Fields after the command name (which may contain spaces) start at field 3.
            let fields = text[text.index(after: close)...].split(separator: " ")
            guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
            return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
    }

    static func startServer(directory: URL) throws -> (Process, Int) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let port = Int.random(in: 40_000...60_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", directory.path, "--loglevel", "warning"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Ready once the port accepts a connection.
        for _ in 0..<200 {
            if canConnect(port: port) { return (process, port) }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGKILL)
        throw BenchRunError("redis-server did not start on port \(port)")
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    static func usage() -> Int32 {
        report("usage: sluice-bench --redis [--redis-events N] [--redis-url redis://HOST:PORT]")
        return 2
    }

    static func report(_ message: String) {
        FileHandle.standardError.write(Data("sluice-bench: \(message)\n".utf8))
    }
}
