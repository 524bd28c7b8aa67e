#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
@testable import Sluice

/// A loopback Segment endpoint that fails a seeded share of requests and records every messageId it accepted
/// (answered 200), duplicates included.
final class AcceptingSegmentEndpoint: Sendable {
    final class Accepted: Sendable {
        let ids = Mutex<[String]>([])
    }

    let server: TestHTTPServer
    private let accepted = Accepted()

    init(failing fraction: Double, seed: UInt64) throws {
        let decide = TestHTTPServer.failingFraction(fraction, seed: seed)
        let accepted = self.accepted
        server = try TestHTTPServer(maxLifetime: .seconds(600)) { request, index in
            let action = decide(request, index)
            if case .respond(let status, _, _) = action, status == 200 {
                let ids = Self.messageIds(request.body)
                accepted.ids.withLock { $0.append(contentsOf: ids) }
            }
            return action
        }
    }

    static func messageIds(_ body: [UInt8]) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let batch = object["batch"] as? [[String: Any]] else { return [] }
        return batch.compactMap { $0["messageId"] as? String }
    }

    var acceptedIds: [String] { accepted.ids.withLock { $0 } }

    func configuration(maxEvents: Int, concurrency: Int, drainTimeout: Double = 5) -> String {
        """
        {"drainTimeoutSeconds": \(drainTimeout),
         "destinations": [{"name": "segment", "type": "segment", "endpoint": "http://127.0.0.1:\(server.port)",
           "writeKey": "crash-test-key", "batch": {"maxEvents": \(maxEvents), "maxDelayMs": 20},
           "concurrency": \(concurrency), "retry": {"maxAttempts": 100, "initialBackoffMs": 1, "maxBackoffMs": 50}}]}
        """
    }
}

/// Crash tests on the real `sluice` binary: SIGKILL at seeded moments (while reading, while batches retry
/// against an endpoint failing 30% of requests, while cursors are rewritten), restart until a run completes.
///
/// `swift test` runs a handful of kill points; `SLUICE_CRASH_POINTS=200 SLUICE_CRASH_EVENTS=300000 swift test
/// --filter SpoolCrashTests` runs more (enough events that the runs do not finish before the kills run out) and
/// reports the figures.
@Suite("Spool: crash and restart on the real binary", .serialized)
struct SpoolCrashTests {
    static let maxEvents = 100
    static let concurrency = 2

    struct Outcome {
        var kills = 0
        var runs = 0
        var acceptedTotal = 0
        var unique = 0
        var expected = 0
        /// Events accepted before the last (uninterrupted) run: the kills landed mid-delivery.
        var acceptedBeforeFinal = 0
        /// The most duplicates one restart added (a kill's cost shows in the run after it, which replays).
        var worstDuplicatesPerRestart = 0
    }

    /// Generates `events` events, runs `sluice --spool` against a 30%-failing endpoint, SIGKILLs it `kills`
    /// times at seeded delays, then lets a last run finish.
    static func crashAndRestart(events: Int, kills: Int, seed: UInt64) throws -> Outcome {
        let directory = PipelineTestSupport.temporaryPath("crash")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let input = directory + "/events.ndjson"
        let generated = try SluiceExecutable.run(["generate", "--events", "\(events)", "--seed", "\(seed)", "--output", input])
        #expect(generated.status == 0, "generate: \(generated.stderr)")

        let endpoint = try AcceptingSegmentEndpoint(failing: 0.3, seed: seed)
        defer { endpoint.server.stop() }
        let config = directory + "/pipeline.json"
        try endpoint.configuration(maxEvents: maxEvents, concurrency: concurrency).write(toFile: config, atomically: true, encoding: .utf8)

        // What a clean run delivers: the dry run prints every request's body.
        let dry = try SluiceExecutable.run(["--config", config, "--input", input, "--dry-run", "--quiet"])
        let expected = Set(dry.stdout.split(separator: "\n").flatMap { line -> [String] in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let body = object["body"] as? [String: Any], let batch = body["batch"] as? [[String: Any]] else { return [] }
            return batch.compactMap { $0["messageId"] as? String }
        })
        #expect(expected.count > events / 2)

        var outcome = Outcome()
        var generator = SplitMix64(seed: seed)
        let spool = directory + "/spool"
        let arguments = ["--config", config, "--input", input, "--spool", spool, "--quiet", "--summary", directory + "/summary.json"]
        var duplicatesSoFar = 0
        func countDuplicates() {
            let ids = endpoint.acceptedIds
            let duplicates = ids.count - Set(ids).count
            outcome.worstDuplicatesPerRestart = max(outcome.worstDuplicatesPerRestart, duplicates - duplicatesSoFar)
            if ProcessInfo.processInfo.environment["SLUICE_CRASH_DEBUG"] != nil {
                let cursor = (try? String(contentsOfFile: spool + "/cursor-segment.json", encoding: .utf8)) ?? "-"
                let summary = (try? String(contentsOfFile: directory + "/summary.json", encoding: .utf8)) ?? "-"
                print("run: accepted \(ids.count), unique \(Set(ids).count), +dups \(duplicates - duplicatesSoFar); cursor \(cursor.prefix(300)); summary \(summary.prefix(600))")
                try? FileManager.default.removeItem(atPath: directory + "/summary.json")
            }
            duplicatesSoFar = duplicates
        }
        for _ in 0..<kills {
            let running = try SluiceExecutable.start(arguments)
            let outputs = OutputCollector(running)
            try? running.stdin.close()
            // 30 ms to 600 ms: some kills land while the file is read, most while batches retry, all while cursors
            // are being rewritten (they change with every settled record).
            usleep(useconds_t(30_000 + Int(generator.next() % 570_000)))
            kill(running.process.processIdentifier, SIGKILL)
            running.process.waitUntilExit()
            _ = outputs.finish()
            countDuplicates()
            outcome.runs += 1
            guard running.process.terminationReason == .uncaughtSignal else {
                // It finished before the kill: nothing left to crash.
                break
            }
            outcome.kills += 1
        }
        outcome.acceptedBeforeFinal = endpoint.acceptedIds.count
        // Restart until a run completes (it must, within a few).
        var finished = false
        for _ in 0..<8 where !finished {
            let result = try SluiceExecutable.run(arguments)
            countDuplicates()
            outcome.runs += 1
            #expect(result.status == 0, "final run: \(result.stderr)")
            finished = result.status == 0
        }
        let ids = endpoint.acceptedIds
        outcome.acceptedTotal = ids.count
        outcome.unique = Set(ids).count
        outcome.expected = expected.count
        // Every unique event was accepted at least once, and nothing else was (messageIds are the same in every run).
        #expect(Set(ids) == expected, "missing \(expected.subtracting(ids).count), unexpected \(Set(ids).subtracting(expected).count)")
        let bound = 2 * concurrency * maxEvents + maxEvents
        #expect(ids.count - outcome.unique <= max(1, outcome.kills) * bound,
                "\(ids.count - outcome.unique) duplicates after \(outcome.kills) kills (bound \(bound) per kill)")
        // A run after everything was delivered sends nothing and exits 0.
        let before = endpoint.acceptedIds.count
        let again = try SluiceExecutable.run(arguments)
        #expect(again.status == 0)
        #expect(endpoint.acceptedIds.count == before)
        return outcome
    }

    @Test("SIGKILL at seeded points while reading and retrying: restarts deliver every event, duplicates stay within the bound")
    func killsAndRestarts() throws {
        let points = Int(ProcessInfo.processInfo.environment["SLUICE_CRASH_POINTS"] ?? "") ?? 4
        let events = Int(ProcessInfo.processInfo.environment["SLUICE_CRASH_EVENTS"] ?? "") ?? 20_000
        let outcome = try Self.crashAndRestart(events: events, kills: points, seed: 11)
        print("crash test: \(outcome.kills) kills in \(outcome.runs) runs (\(outcome.acceptedBeforeFinal) events accepted before the last run); \(outcome.unique) unique of \(outcome.expected) expected accepted, "
              + "\(outcome.acceptedTotal - outcome.unique) duplicates in all, at most \(outcome.worstDuplicatesPerRestart) "
              + "after one kill (bound \(2 * Self.concurrency * Self.maxEvents + Self.maxEvents) per kill)")
        #expect(outcome.kills >= 1)
        #expect(outcome.acceptedBeforeFinal > 0, "the kills must land while batches are being delivered")
    }
}
