import Foundation
import Testing
@testable import Sluice

@Suite("Redis Streams sink (against a real redis-server)")
struct RedisStreamSinkTests {
    /// FNV-1a 64, written out again here so a change to the sender's hash (which would move every user to
    /// another partition of an existing layout) fails this test.
    static func expectedPartition(_ key: String, of partitions: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return Int(hash % UInt64(partitions))
    }

    static func destination(_ server: RedisTestServer, partitions: Int, password: String? = nil, maxLen: Int? = nil) -> DestinationConfiguration {
        DestinationConfiguration(name: "redis", kind: .redisStream(RedisStreamDestination(
            url: server.url, stream: "out", partitions: partitions, partitionBy: .userID, maxLen: maxLen, password: password)))
    }

    /// Every entry of `stream`, in stream order, as (userID, event number).
    static func entries(_ server: RedisTestServer, stream: String) throws -> [(user: String, n: Int)] {
        let reply = try server.command("XRANGE", stream, "-", "+")
        return try (reply.elements ?? []).map { item in
            let entry = try StreamEntry.entry(item, field: "body", command: "XRANGE")
            let object = try JSONSerialization.jsonObject(with: Data(entry.body ?? [])) as! [String: Any]
            let name = object["eventName"] as! String
            return (object["userID"] as! String, Int(name.dropFirst())!)
        }
    }

    @Test("Partitioning by userID is stable (a fixed hash) and keeps each user's events in input order in one partition")
    func partitioning() async throws {
        guard let server = try RedisTestServer.start() else { return }
        let users = (0..<20).map { "user-\($0)" }
        let lines = (0..<1000).map { RedisStreamFixtures.event($0, user: users[$0 % users.count]) }.joined(separator: "\n")
        var configuration = PipelineConfiguration(destinations: [Self.destination(server, partitions: 4)])
        configuration.destinations[0].batch.maxEvents = 37  // many batches, so order across batches is tested too
        let summary = try await Pipeline(configuration: configuration, options: PipelineOptions(input: .bytes(Array(lines.utf8)))).run()
        #expect(summary.destinations["redis"]?.delivered == 1000)
        var seen = 0
        for partition in 0..<4 {
            let entries = try Self.entries(server, stream: "out:\(partition)")
            seen += entries.count
            for user in Set(entries.map(\.user)) {
                #expect(Self.expectedPartition(user, of: 4) == partition, "\(user) in partition \(partition)")
                let numbers = entries.filter { $0.user == user }.map(\.n)
                #expect(numbers == numbers.sorted() && numbers.count == 50, "\(user)")
            }
        }
        #expect(seen == 1000)
    }

    @Test("AUTH: the configured password is used; a wrong one dead-letters the batch with a reason that hides it")
    func authentication() async throws {
        guard let server = try RedisTestServer.start(password: "sink-pass") else { return }
        let lines = Array((0..<10).map { RedisStreamFixtures.event($0) }.joined(separator: "\n").utf8)
        let good = try await Pipeline(configuration: PipelineConfiguration(destinations: [Self.destination(server, partitions: 1, password: "sink-pass")]),
                                      options: PipelineOptions(input: .bytes(lines))).run()
        #expect(good.destinations["redis"]?.delivered == 10)
        #expect(try server.command("XLEN", "out") == .integer(10))
        let deadLetter = server.directory.appendingPathComponent("dead.ndjson").path
        let bad = try await Pipeline(configuration: PipelineConfiguration(destinations: [Self.destination(server, partitions: 1, password: "wrong-pass")]),
                                     options: PipelineOptions(input: .bytes(lines), deadLetterPath: deadLetter)).run()
        #expect(bad.destinations["redis"]?.deadLettered == 10)
        let letters = try String(contentsOfFile: deadLetter, encoding: .utf8)
        #expect(letters.contains("refused the credentials") && !letters.contains("wrong-pass"))
    }

    @Test("The sink reconnects after redis-server restarts and delivers what comes after")
    func reconnect() async throws {
        guard let server = try RedisTestServer.start() else { return }
        var configuration = PipelineConfiguration(destinations: [Self.destination(server, partitions: 1, maxLen: 1000)])
        configuration.destinations[0].batch.maxDelayMs = 1
        let pipeline = try Pipeline(configuration: configuration)
        let run = Task { try await pipeline.run() }
        _ = try await pipeline.ingest(RedisStreamFixtures.event(1)).settlement.wait()
        #expect(try server.command("XLEN", "out") == .integer(1))
        try server.restart()  // data gone: no persistence
        _ = try await pipeline.ingest(RedisStreamFixtures.event(2)).settlement.wait()
        pipeline.finish()
        let summary = try await run.value
        #expect(summary.destinations["redis"]?.delivered == 2)
        #expect(try Self.entries(server, stream: "out").map(\.n) == [2])
    }

    @Test("maxLen trims the stream (MAXLEN ~) as it is written; the newest entries are kept whole and in order")
    func maxLenTrims() async throws {
        guard let server = try RedisTestServer.start() else { return }
        let lines = (0..<3000).map { RedisStreamFixtures.event($0) }.joined(separator: "\n")
        var configuration = PipelineConfiguration(destinations: [Self.destination(server, partitions: 1, maxLen: 100)])
        configuration.destinations[0].batch.maxEvents = 250
        let summary = try await Pipeline(configuration: configuration, options: PipelineOptions(input: .bytes(Array(lines.utf8)))).run()
        #expect(summary.destinations["redis"]?.delivered == 3000)
        // `~` trims whole nodes (100 entries each by default), so somewhat more than 100 may remain, never 3000.
        let kept = try Self.entries(server, stream: "out")
        #expect(kept.count >= 100 && kept.count <= 400, "\(kept.count) entries kept")
        #expect(kept.map(\.n) == Array((3000 - kept.count)..<3000))
    }

    @Test("Destination settings are validated with their key paths")
    func validation() {
        let problems = PipelineConfiguration(destinations: [DestinationConfiguration(name: "r", kind: .redisStream(
            RedisStreamDestination(url: "rediss://h", stream: "", partitions: 0, maxLen: 0)))]).validationErrors()
        let paths = problems.map(\.keyPath)
        #expect(paths.contains("destinations[0].url") && paths.contains("destinations[0].stream")
            && paths.contains("destinations[0].partitions") && paths.contains("destinations[0].maxLen"))
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(#"{"destinations": [{"name": "r", "type": "redis-stream", "url": "redis://h", "stream": "s", "partitionBy": "email"}]}"#)
        }
    }
}
