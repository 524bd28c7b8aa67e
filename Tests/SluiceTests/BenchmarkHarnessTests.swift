import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
@testable import Sluice
@testable import SluiceBench

/// The benchmark harness on tiny workloads, so that it cannot rot: it must run, measure, account for every
/// event and write reports. No timing is asserted.
@Suite("Benchmark harness")
struct BenchmarkHarnessTests {
    /// Collects what the harness prints.
    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var text: String { lines.withLock { $0.joined(separator: "\n") } }
    }

    private func tinyCommand(_ arguments: [String]) throws -> BenchCommand {
        var command = try BenchCommand.parse(["--events", "2000", "--warmup", "0", "--repetitions", "1", "--in-process",
                                              "--no-micro"] + arguments)
        command.micro = MicroSuite(events: 1000, jsonLines: 200, channelElements: 200, repetitions: 1)
        return command
    }

    @Test("a swept run measures every configuration in-process and every event is delivered exactly once")
    func sweepRunsAndBalances() async throws {
        let command = try tinyCommand(["--sweep", "chunkSize=64,512", "--sweep", "destination=devnull,null"])
        let out = Lines()
        let report = try await BenchDriver(command: command, output: { out.append($0) }, progress: { _ in }).run()

        #expect(report.configurations.count == 4)
        let expected = EventGenerator.Options(events: 2000).duplicateCount
        for entry in report.configurations {
            let result = entry.result
            #expect(result.error == nil, "\(entry.label): \(result.error ?? "")")
            #expect(result.problems.isEmpty, "\(entry.label): \(result.problems)")
            let run = try #require(result.repetitions.first)
            #expect(run.ingested == 2000)
            #expect(run.duplicates == expected)
            #expect(run.delivered == [2000 - expected - result.input.internal])
            #expect(run.cpuSeconds > 0 && run.wallSeconds > 0)
            #expect((entry.eventsPerSecond?.median ?? 0) > 0)
            #expect(result.rssScope == "shared process")
            #expect((result.peakRSSBytes ?? 0) > 0)
        }
        #expect(Set(report.configurations.map(\.label)) ==
                ["chunkSize=64", "chunkSize=64 destination=null", "baseline", "destination=null"])
        let text = out.text
        #expect(text.contains("events/s"))
        #expect(text.contains("chunkSize=64 destination=null"))
        #expect(!text.contains("CHECK"))
    }

    @Test("--json writes a report that --compare reads back, matching every configuration at ratio 1")
    func jsonAndCompareRoundTrip() async throws {
        let path = NSTemporaryDirectory() + "/sluice-bench-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try tinyCommand(["--sweep", "queueCapacity=1,8", "--json", path])
        _ = try await BenchDriver(command: first, output: { _ in }, progress: { _ in }).run()
        let saved = try BenchReport.read(from: path)
        #expect(saved.configurations.count == 2)
        #expect(saved.configurations.allSatisfy { $0.result.repetitions.count == 1 })

        let comparison = Comparison.render(current: saved, baseline: saved, baselinePath: path)
        #expect(comparison.components(separatedBy: "1.00x").count - 1 == 2)
        #expect(!comparison.contains("no counterpart"))
    }

    @Test("a configuration the build cannot run is reported as skipped, not as fast")
    func unavailableDestinationIsSkipped() async throws {
        // Segment encoding and HTTP sending arrive on other branches; until then these must say why they are missing.
        let command = try tinyCommand(["--sweep", "destination=http", "--set", "format=segment"])
        let out = Lines()
        let report = try await BenchDriver(command: command, output: { out.append($0) }, progress: { _ in }).run()
        let result = try #require(report.configurations.first?.result)
        if result.error != nil {
            #expect(result.repetitions.isEmpty)
            #expect(out.text.contains("SKIPPED"))
        } else {
            // Once HTTP delivery is merged the loopback server must receive every event.
            #expect(result.problems.isEmpty)
        }
    }

    @Test("lost, dropped and unbalanced runs are flagged")
    func problemsAreFlagged() {
        let counts = InputCounts(lines: 100, events: 100, duplicates: 5, invalid: 0, internal: 2, bytes: 1000, generated: true)
        func summary(delivered: Int, dropped: Int = 0, duplicates: Int = 5) -> Summary {
            let destination = Summary.DestinationSummary(delivered: delivered, filtered: 0, deadLettered: 0, dropped: dropped,
                                                         filteredByReason: [:], requests: 1, retries: 0, failedRequests: 0)
            return Summary(ingested: 100, invalid: 0, duplicates: duplicates, filtered: 2, filteredByReason: [:],
                           destinations: ["d": destination], elapsedSeconds: 1)
        }
        func problems(_ s: Summary) -> [String] {
            PipelineRunner.problems(in: s, measured: Array(s.destinations.values), counts: counts, dedupe: true)
        }
        #expect(problems(summary(delivered: 93)).isEmpty)
        #expect(problems(summary(delivered: 90)).contains("UNBALANCED"))
        #expect(problems(summary(delivered: 90)).contains("LOST 3"))
        #expect(problems(summary(delivered: 90, dropped: 3)).contains("DROPPED 3"))
        #expect(problems(summary(delivered: 95, duplicates: 3)).contains("DUPLICATES 3≠5"))
    }

    @Test("sweeps form the cartesian product; the default plan varies one knob at a time")
    func sweepPlans() throws {
        let command = try BenchCommand.parse(["--sweep", "chunkSize=64,256,1k", "--sweep", "concurrency=1,4,16",
                                              "--set", "dupRate=0.1", "--queueCapacity", "4"])
        let configurations = command.configurations
        #expect(configurations.count == 9)
        #expect(Set(configurations.map(\.chunkSize)) == [64, 256, 1000])
        #expect(Set(configurations.map(\.concurrency)) == [1, 4, 16])
        #expect(configurations.allSatisfy { $0.dupRate == 0.1 && $0.queueCapacity == 4 })

        let defaults = try BenchCommand.parse([]).configurations
        let base = BenchSettings()
        #expect(defaults.first == base)
        #expect(defaults.dropFirst().allSatisfy { $0.differences(from: base).count == 1 })
        #expect(defaults.count == 1 + SweepPlan.defaultAxes.reduce(0) { $0 + $1.values.count })
    }

    @Test("unknown knobs and bad values are usage errors")
    func badArguments() {
        #expect(throws: BenchUsageError.self) { try BenchCommand.parse(["--sweep", "chunksz=1,2"]) }
        #expect(throws: BenchUsageError.self) { try BenchCommand.parse(["--sweep", "chunkSize=0"]) }
        #expect(throws: BenchUsageError.self) { try BenchCommand.parse(["--set", "overflow=sometimes"]) }
        #expect(throws: BenchUsageError.self) { try BenchCommand.parse(["--frobnicate"]) }
    }

    @Test("the stage micro-benchmarks produce every figure on a tiny workload")
    func microSuite() async throws {
        let store = try WorkloadStore()
        defer { store.removeAll() }
        let results = await MicroSuite(events: 1000, jsonLines: 200, channelElements: 200, repetitions: 1).run(workloads: store)
        #expect(Set(results.map(\.group)) == ["json", "dedupe", "channel", "encoding"])
        let read = try #require(results.first { $0.name == "read speedup vs Foundation" })
        #expect(read.note == "field checksums agree")
        let statsig = try #require(results.first { $0.name.hasPrefix("devnull statsig") })
        #expect(statsig.value.isFinite)
        #expect(results.filter { $0.group == "channel" }.allSatisfy { $0.value > 0 })
    }

    @Test("the loopback server answers keep-alive requests with Content-Length and chunked bodies")
    func loopbackServer() throws {
        let server = try LoopbackHTTPServer(latencyMs: 1)
        defer { server.stop() }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(server.port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        let requests = "POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            + "POST /v1/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
        _ = Array(requests.utf8).withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, 0) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while String(decoding: received, as: UTF8.self).components(separatedBy: "{\"success\":true}").count < 3 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            try #require(n > 0)
            received += buffer[..<n]
        }
        #expect(String(decoding: received, as: UTF8.self).hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(server.requests == 2)
        #expect(server.receivedBodyBytes == 5 + 7)
    }

    @Test("a configuration measured in a child process reports its own peak RSS")
    func childProcess() throws {
        let directory = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent()
        let executable = directory.appendingPathComponent("sluice-bench").path
        try #require(FileManager.default.isExecutableFile(atPath: executable), "build sluice-bench first")
        let store = try WorkloadStore()
        defer { store.removeAll() }
        var settings = BenchSettings()
        settings.events = 1000
        let input = try store.input(for: settings)
        let task = ChildTask(settings: settings, inputPath: input.path, counts: input.counts, httpPort: nil, warmups: 0,
                             repetitions: 2)
        let result = try ConfigExecutor.measureInChild(task, executable: executable)
        #expect(result.error == nil)
        #expect(result.rssScope == "child process")
        #expect(result.repetitions.count == 2)
        #expect(result.problems.isEmpty)
        #expect((result.peakRSSBytes ?? 0) > 1_000_000)
    }

    @Test("--peers names the missing peer directory and --peers-dir; --peers-dir points elsewhere")
    func peersDirectoryMissingOrGiven() throws {
        let scratch = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("sluice-peers-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").standardizedFileURL.path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let root = scratch + "/clone"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)

        // A clone with nothing beside it: a clear failure naming the directory and the flag.
        guard case .failure(let missing) = PeerComparison.peerDirectory(explicit: nil, packageRoot: root) else {
            Issue.record("a missing peer directory was accepted"); return
        }
        #expect(missing.description.contains(scratch + "/shared/bench does not exist"))
        #expect(missing.description.contains("--peers-dir"))

        // A directory without the orjson peer is named too.
        let peers = scratch + "/peers"
        try FileManager.default.createDirectory(atPath: peers, withIntermediateDirectories: true)
        guard case .failure(let empty) = PeerComparison.peerDirectory(explicit: peers, packageRoot: root) else {
            Issue.record("a directory without orjson_relay.py was accepted"); return
        }
        #expect(empty.description.contains("has no orjson_relay.py"))

        // --peers-dir is parsed and used as given.
        _ = FileManager.default.createFile(atPath: peers + "/orjson_relay.py", contents: Data())
        let command = try BenchCommand.parse(["--peers", "--peers-dir", peers])
        #expect(command.peersDirectory == peers)
        guard case .success(let found) = PeerComparison.peerDirectory(explicit: command.peersDirectory, packageRoot: root) else {
            Issue.record("the given peer directory was rejected"); return
        }
        #expect(found == URL(fileURLWithPath: peers).standardizedFileURL.path)
    }
}
