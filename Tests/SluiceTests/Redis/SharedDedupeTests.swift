import Foundation
import Synchronization
import Testing
@testable import Sluice

/// Notices a pipeline posted.
final class NoticeLog: Sendable {
    private let posted = Mutex<[PipelineNotice]>([])
    func append(_ notice: PipelineNotice) { posted.withLock { $0.append(notice) } }
    var notices: [PipelineNotice] { posted.withLock { $0 } }
}

enum SharedDedupeFixtures {
    static func configuration(_ url: String, password: String? = nil, prefix: String = "sluice:seen:") -> PipelineConfiguration {
        var configuration = PipelineConfiguration(destinations: [])
        configuration.dedupe.shared = SharedDedupeConfiguration(url: url, keyPrefix: prefix, password: password)
        return configuration
    }

    /// A pipeline reading `input` into `destination`, with shared de-duplication at `url`.
    static func pipeline(_ url: String, input: InputSource, destination: CollectingDestination, password: String? = nil,
                         notices: NoticeLog? = nil) throws -> Pipeline {
        var options = PipelineOptions(input: input,
                                      customDestinations: [CustomDestinationRegistration(name: "collect", destination: destination)])
        if let notices { options.onNotice = { notices.append($0) } }
        return try Pipeline(configuration: configuration(url, password: password), options: options)
    }

    static func uuid(_ n: Int) -> String { String(format: "%08x-0000-11ee-8000-%012x", n, n) }
}

@Suite("Shared de-duplication through Redis (against a real redis-server)")
struct SharedDedupeTests {
    @Test("Two instances in one consumer group, every event twice with the copies far apart: each unique event is delivered exactly once across both")
    func twoInstancesOneGroupExactlyOnce() async throws {
        guard let server = try RedisTestServer.start() else { return }
        let unique = 1500
        // Copy k of event n sits at n + k * unique: the two copies are 1500 entries apart, so with two consumers
        // reading 32-entry batches they land on different instances most of the time.
        let bodies = (0..<2 * unique).map { RedisStreamFixtures.event($0 % unique, user: "user-\($0 % 37)") }
        try RedisStreamFixtures.add(server, stream: "events", bodies: bodies)
        let destinations = [CollectingDestination(), CollectingDestination()]
        let pipelines = try (0..<2).map { k in
            var source = RedisStreamFixtures.source(server, consumer: "c\(k)", idle: 0.5)
            source.batch = 32
            return try SharedDedupeFixtures.pipeline(server.url, input: InputSource.redisStream(source), destination: destinations[k])
        }
        let summaries = try await withThrowingTaskGroup(of: Summary.self) { group in
            for pipeline in pipelines { group.addTask { try await pipeline.run() } }
            return try await group.reduce(into: [Summary]()) { $0.append($1) }
        }
        let delivered = destinations.flatMap { $0.events.map { $0.timeUUID } }
        #expect(delivered.count == unique, "\(delivered.count) deliveries for \(unique) unique events")
        #expect(Set(delivered) == Set((0..<unique).map(SharedDedupeFixtures.uuid)))
        #expect(summaries.reduce(0) { $0 + $1.duplicates } == unique)
        // Both instances dropped copies the other one had claimed: the duplicates really were spread.
        let stats = pipelines.map { $0.sharedDedupeStatistics! }
        #expect(stats.allSatisfy { $0.duplicates > 0 }, "\(stats.map(\.duplicates))")
        #expect(stats.reduce(0) { $0 + $1.checked } == 2 * unique)
        #expect(stats.reduce(0) { $0 + $1.unchecked } == 0)
        #expect(try RedisStreamFixtures.pendingCount(server, stream: "events", group: "g") == 0)
    }

    @Test("Crash case: keys an instance claimed before dying (value = its entry ID) do not make the instance that claims its pending entries drop them; a key claimed by another copy still does")
    func claimedEntriesOfADeadInstanceAreDelivered() async throws {
        guard let server = try RedisTestServer.start() else { return }
        let count = 200
        try RedisStreamFixtures.add(server, stream: "events", bodies: (0..<count).map { RedisStreamFixtures.event($0) })
        // The dead instance: read every entry (pending on "dead"), claimed every key with its entry's value, then died.
        _ = try server.command("XGROUP", "CREATE", "events", "g", "0")
        let read = try server.command("XREADGROUP", "GROUP", "g", "dead", "COUNT", "1000", "STREAMS", "events", ">")
        let ids = try #require(read.elements?.first?.elements?[1].elements?.compactMap { $0.elements?.first?.string })
        #expect(ids.count == count)
        for (n, id) in ids.enumerated() {
            _ = try server.command("SET", "sluice:seen:\(SharedDedupeFixtures.uuid(n))", n < 10 ? "elsewhere#0" : "\(id)#0", "PX", "60000")
        }
        // The dead instance has been silent for an hour (XCLAIM ... IDLE): a claim idle time of a minute takes all of
        // its entries at once, and none of the living instance's own.
        let idle = try server.connection().execute([RedisCommand("XCLAIM", ["events", "g", "dead", "0"] + ids + ["IDLE", "3600000", "JUSTID"])],
                                                   timeoutMs: 10_000)
        #expect(idle.first?.elements?.count == count)
        var source = RedisStreamFixtures.source(server, consumer: "alive", idle: 0.5)
        source.claimIdleMs = 60_000
        let destination = CollectingDestination()
        let pipeline = try SharedDedupeFixtures.pipeline(server.url, input: InputSource.redisStream(source), destination: destination)
        let summary = try await pipeline.run()
        // The ten keys another copy had claimed are duplicates; the other 190 are the dead instance's own claims.
        #expect(Set(destination.events.map(\.timeUUID)) == Set((10..<count).map(SharedDedupeFixtures.uuid)))
        #expect(destination.events.count == count - 10)
        #expect(summary.duplicates == 10)
        let stats = try #require(pipeline.sharedDedupeStatistics)
        #expect(stats.ownClaimsFound == count - 10)
        #expect(pipeline.redisSourceStatistics?.claimed == count)
        #expect(try RedisStreamFixtures.pendingCount(server, stream: "events", group: "g") == 0)
    }

    @Test("Non-stream input: a second instance drops the events the first one delivered, and its own repeats; keys carry the prefix and expire after the window")
    func nonStreamInputSharesClaims() async throws {
        guard let server = try RedisTestServer.start() else { return }
        let first = CollectingDestination(), second = CollectingDestination()
        let a = (0..<100).map { RedisStreamFixtures.event($0) }
        let b = (50..<150).map { RedisStreamFixtures.event($0) } + [RedisStreamFixtures.event(120)]
        _ = try await SharedDedupeFixtures.pipeline(server.url, input: InputSource.bytes(Array(a.joined(separator: "\n").utf8)), destination: first).run()
        let pipeline = try SharedDedupeFixtures.pipeline(server.url, input: InputSource.bytes(Array(b.joined(separator: "\n").utf8)), destination: second)
        let summary = try await pipeline.run()
        #expect(first.events.count == 100)
        #expect(Set(second.events.map(\.timeUUID)) == Set((100..<150).map(SharedDedupeFixtures.uuid)))
        #expect(second.events.count == 50)
        #expect(summary.duplicates == 51)
        let ttl = try server.command("PTTL", "sluice:seen:\(SharedDedupeFixtures.uuid(0))")
        guard case .integer(let ms) = ttl else { Issue.record("PTTL: \(ttl)"); return }
        #expect(ms > 3_500_000 && ms <= 3_600_000)
    }

    @Test("Redis unreachable: fails open to per-instance de-duplication, counts the events as unchecked and says so once")
    func unreachableFailsOpen() async throws {
        let port = try RedisTestServer.freePort()
        let notices = NoticeLog()
        let destination = CollectingDestination()
        let lines = (0..<300).map { RedisStreamFixtures.event($0 % 200) }
        let pipeline = try SharedDedupeFixtures.pipeline("redis://127.0.0.1:\(port)", input: InputSource.bytes(Array(lines.joined(separator: "\n").utf8)),
                                                         destination: destination, notices: notices)
        let summary = try await pipeline.run()
        #expect(destination.events.count == 200)
        #expect(summary.duplicates == 100)
        let stats = try #require(pipeline.sharedDedupeStatistics)
        #expect(stats.unchecked == 300 && stats.checked == 0 && stats.failures >= 1)
        let messages = notices.notices.filter { if case .sharedDedupe = $0 { true } else { false } }
        #expect(messages.count == 1)
        #expect(messages.first?.description.contains("failing open") == true)
    }

    @Test("After failures in a row the pause before trying Redis again doubles from 1 s up to 30 s")
    func retryPauseDoubles() {
        #expect((1...8).map { SharedDeduplicator.pauseMs(afterFailuresInARow: $0) } == [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000])
    }

    @Test("AUTH: the password from the configuration is used, and a wrong one is reported without being printed")
    func authenticationAndSecrecy() async throws {
        let password = "dedupe-pw-5f2c91"
        guard let server = try RedisTestServer.start(password: password) else { return }
        let lines = Array((0..<50).map { RedisStreamFixtures.event($0) }.joined(separator: "\n").utf8)
        let good = try SharedDedupeFixtures.pipeline(server.url, input: InputSource.bytes(lines), destination: CollectingDestination(), password: password)
        _ = try await good.run()
        #expect(good.sharedDedupeStatistics?.claimed == 50)

        let notices = NoticeLog()
        let wrong = try SharedDedupeFixtures.pipeline(server.url, input: InputSource.bytes(lines), destination: CollectingDestination(),
                                                      password: "not-\(password)", notices: notices)
        let summary = try await wrong.run()
        #expect(wrong.sharedDedupeStatistics?.unchecked == 50)
        let texts = notices.notices.map(\.description) + [summary.humanReadable, wrong.sharedDedupeStatistics!.humanReadable]
        #expect(texts.contains { $0.contains("shared dedupe") })
        #expect(!texts.contains { $0.contains(password) })
        #expect(SharedDedupeFixtures.configuration(server.url, password: password).secrets.contains(password))
    }

    @Test("/metrics carries the Redis source's entry counters and shared de-duplication's results")
    func metricsExposition() async throws {
        guard let server = try RedisTestServer.start() else { return }
        try RedisStreamFixtures.add(server, stream: "events", bodies: (0..<120).map { RedisStreamFixtures.event($0 % 100) })
        let pipeline = try SharedDedupeFixtures.pipeline(server.url, input: InputSource.redisStream(RedisStreamFixtures.source(server)),
                                                         destination: CollectingDestination())
        _ = try await pipeline.run()
        let text = PrometheusExposition.render(pipeline.metrics)
        for line in ["sluice_redis_source_entries_total{outcome=\"read\"} 120", "sluice_redis_source_entries_total{outcome=\"acknowledged\"} 120",
                     "sluice_redis_source_entries_total{outcome=\"claimed\"} 0", "sluice_redis_reconnects_total 0",
                     "sluice_shared_dedupe_events_total{result=\"claimed\"} 100", "sluice_shared_dedupe_events_total{result=\"duplicate\"} 20",
                     "sluice_shared_dedupe_events_total{result=\"unchecked\"} 0", "# TYPE sluice_shared_dedupe_failures_total counter"] {
            #expect(text.contains(line + "\n"), "missing \(line)")
        }
        // Without Redis input or shared dedupe, neither family appears.
        #expect(!PrometheusExposition.render(MetricsSnapshot()).contains("sluice_redis"))
    }

    @Test("Configuration: shared and keyPrefix load, the password comes from the environment, rediss:// and query parameters are refused, keyPrefix needs shared")
    func configuration() throws {
        let loaded = try ConfigurationLoader.parse(#"{"dedupe": {"shared": "redis://10.0.0.5:6380/2", "keyPrefix": "app:seen:", "password": "${REDIS_PASSWORD}"}}"#,
                                                   environment: ["REDIS_PASSWORD": "pw-from-env"])
        #expect(loaded.dedupe.shared == SharedDedupeConfiguration(url: "redis://10.0.0.5:6380/2", keyPrefix: "app:seen:", password: "pw-from-env"))
        #expect(loaded.secrets.contains("pw-from-env"))
        let endpoint = try loaded.dedupe.shared!.endpoint(environment: [:])
        #expect(endpoint.port == 6380 && endpoint.database == 2 && !endpoint.description.contains("pw-from-env"))
        #expect(try ConfigurationLoader.parse(#"{"dedupe": {"shared": "redis://h:1"}}"#).dedupe.shared?.keyPrefix == "sluice:seen:")

        func problems(_ json: String) -> [String] {
            guard case .failure(let found) = ConfigurationLoader.check(Data(json.utf8), environment: [:]) else { return [] }
            return found.errors.map(\.description)
        }
        #expect(problems(#"{"dedupe": {"shared": "rediss://h:6379"}}"#).contains { $0.contains("dedupe.shared") && $0.contains("TLS") })
        #expect(problems(#"{"dedupe": {"shared": "redis://h:6379?stream=x"}}"#).contains { $0.contains("query parameters") })
        #expect(problems(#"{"dedupe": {"shared": "http://h"}}"#).contains { $0.contains("dedupe.shared") })
        #expect(problems(#"{"dedupe": {"keyPrefix": "x:"}}"#).contains { $0.contains("dedupe.keyPrefix") && $0.contains("shared") })
        let long = String(repeating: "p", count: 300)
        #expect(problems(#"{"dedupe": {"shared": "redis://h:1", "keyPrefix": "\#(long)"}}"#).contains { $0.contains("at most 256") })
        #expect(problems(#"{"dedupe": {"shared": "redis://h:1", "keyPrefix": "a b"}}"#).contains { $0.contains("spaces") })
    }
}
