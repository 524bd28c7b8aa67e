import Foundation
import Testing
@testable import Sluice
#if canImport(Glibc)
import Glibc
#endif

/// Several real `sluice` processes behind Redis Streams, one SIGKILLed mid-run.
///
/// Entry count: both tests run the issue's full size, 100,000 entries with 5% duplicates;
/// `SLUICE_REDIS_MULTI_ENTRIES` overrides it (`SLUICE_REDIS_MULTI_ENTRIES=20000 swift test --no-parallel --filter
/// RedisMultiInstance` for a quicker loop). Timings are in Benchmarks/README.md, not here.
@Suite("Redis Streams: several instances (real processes, real redis-server)")
struct RedisMultiInstanceTests {
    static func entryCount(default count: Int) -> Int {
        ProcessInfo.processInfo.environment["SLUICE_REDIS_MULTI_ENTRIES"].flatMap(Int.init) ?? count
    }

    /// Lines of `count` entries of which 5% repeat an earlier event exactly (same timeUUID).
    static func lines(count: Int) -> (lines: [String], unique: Set<String>) {
        var generator = SplitMix64(seed: 42)
        var lines: [String] = []
        var unique: Set<String> = []
        lines.reserveCapacity(count)
        for n in 0..<count {
            if n > 10 && generator.next() % 100 < 5 {
                lines.append(lines[Int(generator.next() % UInt64(lines.count))])
            } else {
                lines.append(RedisStreamFixtures.event(n, user: "user-\(n % 997)"))
                unique.insert(String(format: "%08x-0000-11ee-8000-%012x", n, n))
            }
        }
        return (lines, unique)
    }

    /// The timeUUIDs of every event the webhook server received, in arrival order.
    static func deliveredUUIDs(_ server: TestHTTPServer, path: String? = nil) throws -> [String] {
        try server.requests.filter { path == nil || $0.path == path }.flatMap { request -> [String] in
            let object = try JSONSerialization.jsonObject(with: Data(request.body)) as! [String: Any]
            return (object["data"] as! [[String: Any]]).map { $0["timeUUID"] as! String }
        }
    }

    static func config(webhook: URL, directory: URL, sharedDedupe: String? = nil, name: String = "instance") throws -> String {
        let path = directory.appendingPathComponent("\(name).json").path
        let dedupe = sharedDedupe.map { #""dedupe": {"shared": "\#($0)"}, "# } ?? ""
        let json = #"{\#(dedupe)"destinations": [{"name": "hook", "type": "webhook", "url": "\#(webhook.absoluteString)", "batch": {"maxEvents": 200, "maxDelayMs": 20}}]}"#
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("Partitioned streams (partitionBy timeUUID), one consumer per partition, one instance SIGKILLed and restarted: every unique event delivered, duplicates only within the killed instance's in-flight window, nothing pending")
    func partitionedWithKill() async throws {
        guard let redis = try RedisTestServer.start() else { return }
        let count = Self.entryCount(default: 100_000)
        let (lines, unique) = Self.lines(count: count)
        // The front tier: the sink writes the 3 partitions.
        let sink = PipelineConfiguration(dedupe: DedupeConfiguration(enabled: false), destinations: [DestinationConfiguration(
            name: "front", kind: .redisStream(RedisStreamDestination(url: redis.url, stream: "events", partitions: 3, partitionBy: .timeUUID)))])
        let written = try await Pipeline(configuration: sink, options: PipelineOptions(input: .bytes(Array(lines.joined(separator: "\n").utf8)))).run()
        #expect(written.destinations["front"]?.delivered == count)

        let http = try TestHTTPServer(script: TestHTTPServer.always(.status(200)))
        defer { http.stop() }
        let configPath = try Self.config(webhook: http.url("/hook"), directory: redis.directory)
        func start(_ k: Int) throws -> SluiceExecutable.Running {
            try SluiceExecutable.start(["--config", configPath, "--quiet", "--exit-when-idle", "1",
                                        "--input", "\(redis.url)?stream=events:\(k)&group=g&consumer=c\(k)&batch=200&claimIdleMs=60000"])
        }
        var instances = try (0..<3).map(start)
        // Kill instance 0 once deliveries are under way, then start it again under the same consumer name.
        let deadline = Date().addingTimeInterval(60)
        while http.requests.count < 10 && Date() < deadline { try await Task.sleep(for: .milliseconds(5)) }
        kill(instances[0].process.processIdentifier, SIGKILL)
        instances[0].process.waitUntilExit()
        #expect(instances[0].process.terminationReason == .uncaughtSignal)
        instances[0] = try start(0)
        for instance in instances {
            let outputs = OutputCollector(instance)
            try instance.stdin.close()
            instance.process.waitUntilExit()
            let (_, err) = outputs.finish()
            #expect(instance.process.terminationStatus == 0, "\(err)")
        }
        let delivered = try Self.deliveredUUIDs(http)
        #expect(Set(delivered) == unique, "missing \(unique.subtracting(delivered).count)")
        // Only the killed instance can repeat events: those it delivered but had not acknowledged. Its
        // in-flight window is bounded by its queues (8 chunks per stage, 200-entry units).
        let repeats = delivered.count - Set(delivered).count
        #expect(repeats <= 20 * 512, "\(repeats) repeated deliveries")
        for k in 0..<3 {
            #expect(try RedisStreamFixtures.pendingCount(redis, stream: "events:\(k)", group: "g") == 0)
        }
    }

    @Test("One stream, three instances in one group sharing de-duplication (dedupe.shared), one SIGKILLed: the living claim its pending entries; every unique event delivered, none twice by the living instances, XPENDING empty")
    func oneGroupWithKill() async throws {
        guard let redis = try RedisTestServer.start() else { return }
        let count = Self.entryCount(default: 100_000)
        let (lines, unique) = Self.lines(count: count)
        for start in stride(from: 0, to: lines.count, by: 5000) {
            try RedisStreamFixtures.add(redis, stream: "events", bodies: Array(lines[start..<min(lines.count, start + 5000)]))
        }
        let http = try TestHTTPServer(script: TestHTTPServer.always(.status(200)))
        defer { http.stop() }
        // One webhook path per instance, so that what the living delivered can be told from what the dead one did.
        // claimIdleMs exceeds how long an entry waits inside a busy instance (seconds here, with a 100k backlog on a
        // loaded machine): a living instance's entries are never claimed by the other, only the dead one's are.
        var instances = try (0..<3).map { k in
            let configPath = try Self.config(webhook: http.url("/hook/\(k)"), directory: redis.directory, sharedDedupe: redis.url, name: "c\(k)")
            return try SluiceExecutable.start(["--config", configPath, "--quiet", "--exit-when-idle", "2",
                                               "--input", "\(redis.url)?stream=events&group=g&consumer=c\(k)&batch=200&claimIdleMs=10000"])
        }
        let deadline = Date().addingTimeInterval(60)
        while http.requests.count < 10 && Date() < deadline { try await Task.sleep(for: .milliseconds(5)) }
        kill(instances[0].process.processIdentifier, SIGKILL)
        instances[0].process.waitUntilExit()
        instances.removeFirst()
        for instance in instances {
            let outputs = OutputCollector(instance)
            try instance.stdin.close()
            instance.process.waitUntilExit()
            let (_, err) = outputs.finish()
            #expect(instance.process.terminationStatus == 0, "\(err)")
        }
        let delivered = try Self.deliveredUUIDs(http)
        #expect(Set(delivered) == unique, "missing \(unique.subtracting(delivered).count)")
        // The 5% repeats are spread over all three instances; shared de-duplication drops every copy but one. Only
        // what the killed instance delivered without acknowledging is delivered again (by whoever claimed it).
        let living = try Self.deliveredUUIDs(http, path: "/hook/1") + Self.deliveredUUIDs(http, path: "/hook/2")
        #expect(living.count == Set(living).count, "\(living.count - Set(living).count) events delivered twice by the living instances")
        #expect(delivered.count - Set(delivered).count <= 20 * 512, "\(delivered.count - Set(delivered).count) repeated deliveries")
        #expect(try RedisStreamFixtures.pendingCount(redis, stream: "events", group: "g") == 0)
    }
}
