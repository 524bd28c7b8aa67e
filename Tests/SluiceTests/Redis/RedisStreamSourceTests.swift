import Foundation
import Synchronization
import Testing
@testable import Sluice

/// Collects what a pipeline delivered; optionally holds every batch until released.
final class CollectingDestination: Destination {
    let received = Mutex<[ExportedEvent]>([])
    let gate = Mutex<Bool>(true)

    func send(_ batch: EventBatch) async throws {
        while !gate.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        received.withLock { $0.append(contentsOf: batch.events) }
    }

    var events: [ExportedEvent] { received.withLock { $0 } }
}

enum RedisStreamFixtures {
    /// A Statsig export event line for user `user`, number `n`, with a fixed timeUUID derived from `n`.
    static func event(_ n: Int, user: String = "u1") -> String {
        let uuid = String(format: "%08x-0000-11ee-8000-%012x", n, n)
        return #"{"eventName":"e\#(n)","user":{"userID":"\#(user)"},"userID":"\#(user)","timestamp":1700000000000,"timeUUID":"\#(uuid)","metadata":{"n":\#(n)}}"#
    }

    /// Adds entries (field `body`, or the given fields) to `stream`, pipelined.
    static func add(_ server: RedisTestServer, stream: String, bodies: [String]) throws {
        let commands = bodies.map { RedisCommand("XADD", [stream, "*", "body", $0]) }
        let replies = try server.connection().execute(commands, timeoutMs: 10_000)
        #expect(!replies.contains { if case .error = $0 { true } else { false } })
    }

    static func pendingCount(_ server: RedisTestServer, stream: String, group: String) throws -> Int64 {
        try PendingEntry.count(server.command("XPENDING", stream, group))
    }

    static func run(_ source: RedisSourceConfiguration, destination: CollectingDestination,
                    deadLetter: String? = nil) async throws -> (Summary, RedisSourceStatistics, Pipeline) {
        let pipeline = try Pipeline(
            configuration: PipelineConfiguration(destinations: []),
            options: PipelineOptions(input: .redisStream(source), deadLetterPath: deadLetter,
                                     customDestinations: [CustomDestinationRegistration(name: "collect", destination: destination)]))
        let summary = try await pipeline.run()
        return (summary, pipeline.redisSourceStatistics!, pipeline)
    }

    static func source(_ server: RedisTestServer, stream: String = "events", group: String = "g", consumer: String = "c1",
                       idle: Double = 0.3) -> RedisSourceConfiguration {
        RedisSourceConfiguration(endpoint: server.endpoint, stream: stream, group: group, consumer: consumer,
                                 claimIdleMs: 60_000, batch: 64, blockMs: 100, exitWhenIdleSeconds: idle)
    }
}

@Suite("Redis Streams source (against a real redis-server)")
struct RedisStreamSourceTests {
    @Test("Every entry is delivered once and acknowledged; entries without the body field or with bad JSON are invalid with their ID, dead-lettered and acknowledged")
    func deliversAndAcknowledges() async throws {
        guard let server = try RedisTestServer.start() else { return }
        let bodies = (0..<500).map { RedisStreamFixtures.event($0) }
        try RedisStreamFixtures.add(server, stream: "events", bodies: bodies)
        let noBody = try server.command("XADD", "events", "*", "other", "x").string!
        let badJSON = try server.command("XADD", "events", "*", "body", "{not json").string!
        let deadLetter = server.directory.appendingPathComponent("dead.ndjson").path
        let destination = CollectingDestination()
        let (summary, stats, _) = try await RedisStreamFixtures.run(RedisStreamFixtures.source(server), destination: destination,
                                                                    deadLetter: deadLetter)
        #expect(destination.events.map(\.eventName) == (0..<500).map { "e\($0)" })
        #expect(summary.ingested == 500 && summary.invalid == 2)
        #expect(summary.destinations["collect"]?.delivered == 500)
        #expect(stats.entriesRead == 502 && stats.acknowledged == 502)
        #expect(try RedisStreamFixtures.pendingCount(server, stream: "events", group: "g") == 0)
        let letters = try String(contentsOfFile: deadLetter, encoding: .utf8)
        #expect(letters.contains("stream entry \(noBody) has no \\\"body\\\" field"))
        #expect(letters.contains("stream entry \(badJSON): invalid JSON"))
    }

    @Test("An entry is acknowledged only after its destination settled it: pending while delivery is held")
    func acknowledgesOnlyAfterSettlement() async throws {
        guard let server = try RedisTestServer.start() else { return }
        try RedisStreamFixtures.add(server, stream: "events", bodies: (0..<50).map { RedisStreamFixtures.event($0) })
        let destination = CollectingDestination()
        destination.gate.withLock { $0 = false }
        var source = RedisStreamFixtures.source(server)
        source.exitWhenIdleSeconds = 0.2
        let run = Task { try await RedisStreamFixtures.run(source, destination: destination) }
        // Wait until the source has read everything (the group's pending list holds all 50), then check
        // that nothing is acknowledged while delivery is held.
        var pending: Int64 = 0
        for _ in 0..<400 {
            pending = (try? RedisStreamFixtures.pendingCount(server, stream: "events", group: "g")) ?? 0
            if pending == 50 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(pending == 50)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try RedisStreamFixtures.pendingCount(server, stream: "events", group: "g") == 50)
        #expect(destination.events.isEmpty)
        destination.gate.withLock { $0 = true }
        let (summary, stats, _) = try await run.value
        #expect(summary.destinations["collect"]?.delivered == 50)
        #expect(stats.acknowledged == 50)
        #expect(try RedisStreamFixtures.pendingCount(server, stream: "events", group: "g") == 0)
    }

    @Test("A restarted consumer first re-reads its own pending entries; a group that already exists (BUSYGROUP) is fine")
    func rereadsOwnPending() async throws {
        guard let server = try RedisTestServer.start() else { return }
        try RedisStreamFixtures.add(server, stream: "events", bodies: (0..<30).map { RedisStreamFixtures.event($0) })
        try server.command("XGROUP", "CREATE", "events", "g", "0")
        // A "crashed" run of c1 read 20 entries and acknowledged none.
        _ = try server.command("XREADGROUP", "GROUP", "g", "c1", "COUNT", "20", "STREAMS", "events", ">")
        let destination = CollectingDestination()
        let (summary, stats, _) = try await RedisStreamFixtures.run(RedisStreamFixtures.source(server), destination: destination)
        #expect(stats.reread == 20 && stats.entriesRead == 30)
        #expect(summary.destinations["collect"]?.delivered == 30)
        #expect(Set(destination.events.map(\.eventName)).count == 30)
        #expect(try RedisStreamFixtures.pendingCount(server, stream: "events", group: "g") == 0)
    }

    @Test("Entries idle on a dead consumer are claimed; over maxDeliveries they are dead-lettered; trimmed ones are counted and dead-lettered by ID")
    func claimsDeadLettersAndCountsTrimmed() async throws {
        guard let server = try RedisTestServer.start() else { return }
        try RedisStreamFixtures.add(server, stream: "events", bodies: (0..<10).map { RedisStreamFixtures.event($0) })
        try server.command("XGROUP", "CREATE", "events", "g", "0")
        let read = try server.command("XREADGROUP", "GROUP", "g", "dead", "COUNT", "10", "STREAMS", "events", ">")
        let ids = try StreamEntry.fromReadGroup(read, field: "body").map(\.id)
        // Entry 0 was delivered 3 more times (4 in all); entry 1 was trimmed away while pending.
        for _ in 0..<3 { try server.command("XCLAIM", "events", "g", "dead", "0", ids[0]) }
        try server.command("XDEL", "events", ids[1])
        try await Task.sleep(for: .milliseconds(60))
        var source = RedisStreamFixtures.source(server, consumer: "alive", idle: 0.5)
        source.claimIdleMs = 50
        source.maxDeliveries = 4
        let deadLetter = server.directory.appendingPathComponent("dead.ndjson").path
        let destination = CollectingDestination()
        let (summary, stats, _) = try await RedisStreamFixtures.run(source, destination: destination, deadLetter: deadLetter)
        #expect(Set(destination.events.map(\.eventName)) == Set((2..<10).map { "e\($0)" }))
        #expect(stats.overDeliveryLimit == 1 && stats.trimmed == 1 && stats.claimed == 8)
        #expect(summary.invalid == 2)
        let letters = try String(contentsOfFile: deadLetter, encoding: .utf8)
        #expect(letters.contains("stream entry \(ids[0]) was delivered 4 times"))
        #expect(letters.contains("e0"))  // the body is kept, so the dead letter can be re-ingested
        #expect(letters.contains("stream entry \(ids[1]) was deleted"))
        #expect(try RedisStreamFixtures.pendingCount(server, stream: "events", group: "g") == 0)
    }

    @Test("After redis-server restarts without persistence (NOGROUP), the group is recreated and every new entry is delivered; entries read before but not acknowledged are delivered and counted, not retried")
    func recreatesGroupAfterRestartWithoutPersistence() async throws {
        guard let server = try RedisTestServer.start() else { return }
        try RedisStreamFixtures.add(server, stream: "events", bodies: (0..<20).map { RedisStreamFixtures.event($0) })
        let destination = CollectingDestination()
        // Idle 3 s: far longer than any step below, so the run cannot end between them.
        let run = Task { try await RedisStreamFixtures.run(RedisStreamFixtures.source(server, idle: 3), destination: destination) }
        func waitFor(_ what: String, _ condition: () -> Bool) async throws {
            for _ in 0..<1000 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
            #expect(condition(), "timed out waiting for \(what)")
        }
        try await waitFor("the first 20 events") { destination.events.count == 20 }
        try await waitFor("the first 20 acknowledgements") {
            (try? RedisStreamFixtures.pendingCount(server, stream: "events", group: "g")) == 0
        }
        // 10 more are read but held in delivery (so not acknowledged) when the server goes away with the group.
        destination.gate.withLock { $0 = false }
        try RedisStreamFixtures.add(server, stream: "events", bodies: (20..<30).map { RedisStreamFixtures.event($0) })
        try await waitFor("10 entries read and pending") {
            (try? RedisStreamFixtures.pendingCount(server, stream: "events", group: "g")) == 10
        }
        try server.restart()
        #expect(try server.command("EXISTS", "events") == .integer(0), "the restarted server has no stream and no group")
        destination.gate.withLock { $0 = true }
        try RedisStreamFixtures.add(server, stream: "events", bodies: (30..<60).map { RedisStreamFixtures.event($0) })

        let (summary, stats, pipeline) = try await run.value
        #expect(pipeline.inputFailure == nil)
        #expect(Set(destination.events.map(\.eventName)) == Set((0..<60).map { "e\($0)" }))
        #expect(summary.ingested == 60 && summary.destinations["collect"]?.delivered == 60)
        #expect(stats.groupsRecreated == 1)
        #expect(stats.entriesRead == 60)
        // Every entry read is accounted for: acknowledged (20 before, 30 after) or not acknowledgeable (the 10
        // whose group vanished; their events were delivered above).
        #expect(stats.acknowledged == 50 && stats.notAcknowledgeable == 10 && stats.leftPending == 0)
        #expect(stats.acknowledged + stats.notAcknowledgeable + stats.leftPending == stats.entriesRead)
        #expect(stats.reconnects >= 1)
        #expect(try RedisStreamFixtures.pendingCount(server, stream: "events", group: "g") == 0)
        var snapshot = MetricsSnapshot()
        snapshot.redisSource = stats
        let metrics = RedisExposition.render(snapshot)
        #expect(metrics.contains("sluice_redis_source_groups_recreated_total 1"))
        #expect(metrics.contains("sluice_redis_source_entries_total{outcome=\"not_acknowledgeable\"} 10"))
        #expect(stats.humanReadable.contains("1 groups recreated"))
    }

    @Test("An XACK that finds no group (the server restarted while entries were being delivered; Redis 7 answers 0 with or without the stream) neither fails nor loops: the entries are delivered and counted as not acknowledgeable",
          arguments: [false, true])
    func acknowledgementWithoutGroupIsCounted(producerRecreatesStream: Bool) async throws {
        guard let server = try RedisTestServer.start() else { return }
        try RedisStreamFixtures.add(server, stream: "events", bodies: (0..<10).map { RedisStreamFixtures.event($0) })
        let destination = CollectingDestination()
        destination.gate.withLock { $0 = false }
        let pipeline = try Pipeline(
            configuration: PipelineConfiguration(destinations: []),
            options: PipelineOptions(input: .redisStream(RedisStreamFixtures.source(server, idle: 30)),
                                     customDestinations: [CustomDestinationRegistration(name: "collect", destination: destination)]))
        let run = Task { try await pipeline.run() }
        // Read by Redis (pending) and taken in by the source (ingested): XPENDING alone can be 10 before the
        // source has handed the batch to the pipeline, and a finish then leaves it unread.
        for _ in 0..<1000 where (try? RedisStreamFixtures.pendingCount(server, stream: "events", group: "g")) != 10
            || pipeline.redisSourceStatistics?.entriesRead != 10 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(try RedisStreamFixtures.pendingCount(server, stream: "events", group: "g") == 10)
        #expect(pipeline.redisSourceStatistics?.entriesRead == 10)
        // Stop reading (so nobody recreates the group), lose the server's data, then let delivery finish:
        // the acknowledgements go to a server without the group.
        pipeline.finish()
        try await Task.sleep(for: .milliseconds(500))
        try server.restart()
        if producerRecreatesStream { try server.command("XADD", "events", "*", "body", RedisStreamFixtures.event(99)) }
        destination.gate.withLock { $0 = true }
        let summary = try await run.value
        let stats = try #require(pipeline.redisSourceStatistics)
        #expect(pipeline.inputFailure == nil)
        #expect(summary.destinations["collect"]?.delivered == 10)
        #expect(Set(destination.events.map(\.eventName)) == Set((0..<10).map { "e\($0)" }))
        #expect(stats.entriesRead == 10 && stats.notAcknowledgeable == 10 && stats.acknowledged == 0 && stats.leftPending == 0)
        #expect(stats.groupsRecreated == 0)
    }

    @Test("An XACK answered NOGROUP (servers and versions that say so; Redis 7 answers 0, tested above) counts the settled entries as not acknowledgeable, once, without retrying")
    func acknowledgementAnsweredNoGroupIsCounted() async throws {
        guard let server = try RedisTestServer.start() else { return }
        try RedisStreamFixtures.add(server, stream: "events", bodies: (0..<10).map { RedisStreamFixtures.event($0) })
        // The real server keeps the stream, the group and the pending list; only XACK's answer is replaced.
        let proxy = try RedisReplyRewritingProxy(upstream: server, answers: [
            "XACK": "-NOGROUP No such key 'events' or consumer group 'g'\r\n",
        ])
        defer { proxy.close() }
        var source = RedisStreamFixtures.source(server, idle: 30)
        source.endpoint = proxy.endpoint
        let destination = CollectingDestination()
        let pipeline = try Pipeline(
            configuration: PipelineConfiguration(destinations: []),
            options: PipelineOptions(input: .redisStream(source),
                                     customDestinations: [CustomDestinationRegistration(name: "collect", destination: destination)]))
        let run = Task { try await pipeline.run() }
        for _ in 0..<1000 where pipeline.redisSourceStatistics?.notAcknowledgeable != 10 {
            try await Task.sleep(for: .milliseconds(10))
        }
        // Long enough for a retry loop to show (the reader keeps polling every 100 ms meanwhile).
        try await Task.sleep(for: .milliseconds(300))
        pipeline.finish()
        let summary = try await run.value
        let stats = try #require(pipeline.redisSourceStatistics)
        #expect(pipeline.inputFailure == nil)
        #expect(summary.destinations["collect"]?.delivered == 10)
        #expect(stats.entriesRead == 10 && stats.notAcknowledgeable == 10 && stats.acknowledged == 0 && stats.leftPending == 0)
        #expect(proxy.rewritten["XACK"] == 1, "one XACK for the one batch, not retried: \(proxy.rewritten)")
        // Nothing was acknowledged behind the proxy's answer: the real server still has the 10 pending.
        #expect(try RedisStreamFixtures.pendingCount(server, stream: "events", group: "g") == 10)
    }

    @Test("A wrong password stops the source with a clear error that does not show the password")
    func wrongPassword() async throws {
        guard let server = try RedisTestServer.start(password: "right-one") else { return }
        var source = RedisStreamFixtures.source(server)
        source.endpoint.password = "wrong-secret"
        let (summary, _, pipeline) = try await RedisStreamFixtures.run(source, destination: CollectingDestination())
        #expect(summary.ingested == 0)
        let failure = try #require(pipeline.inputFailure)
        #expect(failure.contains("refused the credentials") && !failure.contains("wrong-secret"))
    }

    @Test("Source settings resolve from the URL and the configuration; ranges and unknown parameters are errors")
    func resolveSettings() throws {
        let settings = RedisInputSettings(values: ["batch": "100", "stream": "cfg"], password: "pw")
        let resolved = try RedisSourceConfiguration.resolve(
            url: "redis://h:7000/2?stream=s&group=g&consumer=c&claimIdleMs=5000&maxDeliveries=3&start=$", settings: settings,
            environment: [:])
        #expect(resolved.stream == "s" && resolved.group == "g" && resolved.consumer == "c" && resolved.batch == 100)
        #expect(resolved.claimIdleMs == 5000 && resolved.maxDeliveries == 3 && resolved.start == "$")
        #expect(resolved.endpoint == RedisEndpoint(host: "h", port: 7000, database: 2, password: "pw"))
        let fromEnvironment = try RedisSourceConfiguration.resolve(url: "redis://h?stream=s&group=g", settings: nil,
                                                                   environment: ["REDIS_PASSWORD": "envpw"])
        #expect(fromEnvironment.endpoint.password == "envpw" && fromEnvironment.maxDeliveries == 10 && fromEnvironment.start == "0")
        for (url, expected) in [("redis://h?stream=s&group=g&batch=0", "batch"), ("redis://h?stream=s&group=g&bogus=1", "unknown query parameter"),
                                ("redis://h?group=g", "stream is required"), ("redis://h?stream=s&group=g&start=x", "start")] {
            #expect { try RedisSourceConfiguration.resolve(url: url, settings: nil, environment: [:]) } throws: { "\($0)".contains(expected) }
        }
        let configuration = try ConfigurationLoader.parse(#"{"input": {"redis": {"url": "redis://h", "stream": "s", "group": "g", "batch": 10, "password": "p"}}}"#, environment: [:])
        #expect(configuration.input.redis?.values["batch"] == "10" && configuration.secrets.contains("p"))
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(#"{"input": {"redis": {"maxDeliveries": 0}}}"#, environment: [:])
        }
    }
}
