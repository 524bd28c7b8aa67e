#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
@testable import Sluice

/// A loopback Segment endpoint that fails a seeded share of requests and records every messageId it accepted
/// (answered 200), duplicates included, with the run that sent it.
///
/// Each run of the crash test posts to its own path (`/run-N/v1/batch`: the endpoint is the only thing that changes
/// between runs, and a spool replays input, not requests), so a request is attributed to the process that sent
/// it even when the server reads it after that process was killed.
final class AcceptingSegmentEndpoint: Sendable {
    /// One accepted request: the run that sent it and the messageIds of its batch.
    struct Acceptance: Sendable {
        var run: Int
        var ids: [String]
    }

    final class Accepted: Sendable {
        let requests = Mutex<[Acceptance]>([])
    }

    let server: TestHTTPServer
    private let accepted = Accepted()

    init(failing fraction: Double, seed: UInt64) throws {
        let decide = TestHTTPServer.failingFraction(fraction, seed: seed)
        let accepted = self.accepted
        server = try TestHTTPServer(maxLifetime: .seconds(3600)) { request, index in
            let action = decide(request, index)
            if case .respond(let status, _, _) = action, status == 200 {
                let acceptance = Acceptance(run: Self.run(of: request.path), ids: Self.messageIds(request.body))
                accepted.requests.withLock { $0.append(acceptance) }
            }
            return action
        }
    }

    static func messageIds(_ body: [UInt8]) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let batch = object["batch"] as? [[String: Any]] else { return [] }
        return batch.compactMap { $0["messageId"] as? String }
    }

    /// `N` of a `/run-N/...` path, -1 for any other.
    static func run(of path: String) -> Int {
        guard path.hasPrefix("/run-") else { return -1 }
        return Int(path.dropFirst(5).prefix { $0.isNumber }) ?? -1
    }

    var acceptedIds: [String] { accepted.requests.withLock { $0.flatMap(\.ids) } }
    var acceptances: [Acceptance] { accepted.requests.withLock { $0 } }

    func configuration(maxEvents: Int, concurrency: Int, drainTimeout: Double = 5, run: Int = 0) -> String {
        """
        {"drainTimeoutSeconds": \(drainTimeout),
         "destinations": [{"name": "segment", "type": "segment", "endpoint": "http://127.0.0.1:\(server.port)/run-\(run)",
           "writeKey": "crash-test-key", "batch": {"maxEvents": \(maxEvents), "maxDelayMs": 20},
           "concurrency": \(concurrency), "retry": {"maxAttempts": 100, "initialBackoffMs": 1, "maxBackoffMs": 50}}]}
        """
    }
}

/// Duplicates at the endpoint, each attributed to its cause.
///
/// A duplicate is an acceptance of a messageId the endpoint had already accepted. When the previous acceptance
/// came from an earlier run L, the duplicate is the cost of the kill that ended run L: run L's acceptance was not
/// in the spool's cursor when it died, so a later run sent it again (the runs in between may have died before
/// reaching it; it is still kill L's cost, counted once). When the previous acceptance came from the same run,
/// it is a re-send within one process (an answer lost on the way back), which no kill caused.
struct DuplicateAttribution: Equatable {
    /// Duplicates caused by the kill that ended each run, by run number.
    var perKill: [Int: Int] = [:]
    /// Duplicates re-sent within one run, by run number.
    var withinRun: [Int: Int] = [:]

    var total: Int { perKill.values.reduce(0, +) + withinRun.values.reduce(0, +) }

    init(_ acceptances: [AcceptingSegmentEndpoint.Acceptance]) {
        var lastRun: [String: Int] = [:]
        // Runs in order (a killed run's last request may reach the server after the next run began); within a
        // run, in the order the server accepted them.
        for acceptance in acceptances.enumerated().sorted(by: { ($0.element.run, $0.offset) < ($1.element.run, $1.offset) }).map(\.element) {
            for id in acceptance.ids {
                if let previous = lastRun[id] {
                    if previous == acceptance.run {
                        withinRun[previous, default: 0] += 1
                    } else {
                        perKill[previous, default: 0] += 1
                    }
                }
                lastRun[id] = acceptance.run
            }
        }
    }
}

/// Crash tests on the real `sluice` binary: SIGKILL at seeded moments (while reading, while batches retry
/// against an endpoint failing 30% of requests, while cursors are rewritten), restart until a run completes.
///
/// `swift test` runs a handful of kill points; `SLUICE_CRASH_POINTS=200 SLUICE_CRASH_EVENTS=300000 swift test
/// --filter SpoolCrashTests` runs more (enough events that the runs do not finish before the kills run out) and
/// reports the figures. The `sluice` binary next to the test binary is the one run: to crash-test a release
/// build, copy the test bundle and `.build/release/sluice` into one directory and run the copy.
@Suite("Spool: crash and restart on the real binary", .serialized)
struct SpoolCrashTests {
    static let maxEvents = 100
    static let concurrency = 2
    /// What one kill may make the next runs send again (issue #11): the batches in flight, the batches settled
    /// ahead of a retrying one, and one batch of cursor lag.
    static let boundPerKill = 2 * concurrency * maxEvents + maxEvents

    struct Outcome {
        var kills = 0
        var runs = 0
        var acceptedTotal = 0
        var unique = 0
        var expected = 0
        /// Events accepted before the last (uninterrupted) run: the kills landed mid-delivery.
        var acceptedBeforeFinal = 0
        var duplicates = DuplicateAttribution([])
        /// The run numbers that were killed.
        var killedRuns: [Int] = []
        /// The most duplicates one kill caused, and the kill (run number) that did.
        var worstPerKill: (run: Int, duplicates: Int) { duplicates.perKill.max { $0.value < $1.value }.map { ($0.key, $0.value) } ?? (-1, 0) }
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
        /// Each run posts to its own path, so every accepted request names the run (process) that sent it.
        func configure(run: Int) throws {
            try endpoint.configuration(maxEvents: maxEvents, concurrency: concurrency, run: run)
                .write(toFile: config, atomically: true, encoding: .utf8)
        }
        try configure(run: 0)

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
        let debug = ProcessInfo.processInfo.environment["SLUICE_CRASH_DEBUG"] != nil
        func report(run: Int) {
            guard debug else { return }
            let cursor = (try? String(contentsOfFile: spool + "/cursor-segment.json", encoding: .utf8)) ?? "-"
            let summary = (try? String(contentsOfFile: directory + "/summary.json", encoding: .utf8)) ?? "-"
            let sent = endpoint.acceptances.filter { $0.run == run }.reduce(0) { $0 + $1.ids.count }
            print("run \(run): accepted \(sent); cursor \(cursor.prefix(300)); summary \(summary.prefix(600))")
            try? FileManager.default.removeItem(atPath: directory + "/summary.json")
        }
        for _ in 0..<kills {
            let run = outcome.runs
            try configure(run: run)
            let running = try SluiceExecutable.start(arguments)
            let outputs = OutputCollector(running)
            try? running.stdin.close()
            // 30 ms to 600 ms: some kills land while the file is read, most while batches retry, all while cursors
            // are being rewritten (they change with every settled record).
            usleep(useconds_t(30_000 + Int(generator.next() % 570_000)))
            kill(running.process.processIdentifier, SIGKILL)
            running.process.waitUntilExit()
            _ = outputs.finish()
            report(run: run)
            outcome.runs += 1
            guard running.process.terminationReason == .uncaughtSignal else {
                // It finished before the kill: nothing left to crash.
                break
            }
            outcome.kills += 1
            outcome.killedRuns.append(run)
        }
        outcome.acceptedBeforeFinal = endpoint.acceptedIds.count
        // Restart until a run completes (it must, within a few).
        var finished = false
        for _ in 0..<8 where !finished {
            let run = outcome.runs
            try configure(run: run)
            let result = try SluiceExecutable.run(arguments)
            report(run: run)
            outcome.runs += 1
            #expect(result.status == 0, "final run: \(result.stderr)")
            finished = result.status == 0
        }
        // A run after everything was delivered sends nothing and exits 0.
        let before = endpoint.acceptedIds.count
        try configure(run: outcome.runs)
        let again = try SluiceExecutable.run(arguments)
        #expect(again.status == 0)
        #expect(endpoint.acceptedIds.count == before)

        let ids = endpoint.acceptedIds
        outcome.acceptedTotal = ids.count
        outcome.unique = Set(ids).count
        outcome.expected = expected.count
        outcome.duplicates = DuplicateAttribution(endpoint.acceptances)
        // Every unique event was accepted at least once, and nothing else was (messageIds are the same in every run).
        #expect(Set(ids) == expected, "missing \(expected.subtracting(ids).count), unexpected \(Set(ids).subtracting(expected).count)")
        #expect(outcome.duplicates.total == ids.count - outcome.unique)
        // Every kill's cost stays within the bound, and only kills cost anything: a run that was not killed
        // settled everything it sent.
        for (run, duplicates) in outcome.duplicates.perKill.sorted(by: { $0.key < $1.key }) {
            #expect(outcome.killedRuns.contains(run), "run \(run) was not killed, yet \(duplicates) of its events were sent again")
            #expect(duplicates <= boundPerKill, "the kill ending run \(run) made later runs send \(duplicates) events again (bound \(boundPerKill))")
        }
        // Within a run, only a batch whose answer was lost is sent again: at most the batches in flight.
        for (run, duplicates) in outcome.duplicates.withinRun {
            #expect(duplicates <= concurrency * maxEvents, "run \(run) sent \(duplicates) events twice itself")
        }
        return outcome
    }

    @Test("SIGKILL at seeded points while reading and retrying: restarts deliver every event, each kill's duplicates stay within the bound")
    func killsAndRestarts() throws {
        let points = Int(ProcessInfo.processInfo.environment["SLUICE_CRASH_POINTS"] ?? "") ?? 4
        let events = Int(ProcessInfo.processInfo.environment["SLUICE_CRASH_EVENTS"] ?? "") ?? 20_000
        let outcome = try Self.crashAndRestart(events: events, kills: points, seed: 11)
        let worst = outcome.worstPerKill
        let withinRun = outcome.duplicates.withinRun.values.reduce(0, +)
        print("crash test: \(outcome.kills) kills in \(outcome.runs) runs (\(outcome.acceptedBeforeFinal) events accepted before the last run); "
              + "\(outcome.unique) unique of \(outcome.expected) expected accepted, \(outcome.duplicates.total) duplicates in all "
              + "(\(withinRun) within a run), at most \(worst.duplicates) after one kill (run \(worst.run); bound \(Self.boundPerKill) per kill)")
        if ProcessInfo.processInfo.environment["SLUICE_CRASH_DEBUG"] != nil {
            let costs = outcome.killedRuns.map { outcome.duplicates.perKill[$0] ?? 0 }
            print("per-kill duplicates: \(costs.map(String.init).joined(separator: " "))")
        }
        #expect(outcome.kills >= 1)
        #expect(outcome.acceptedBeforeFinal > 0, "the kills must land while batches are being delivered")
    }

    @Test("Duplicates are charged to the kill that lost the earlier acceptance, or to the run that sent twice")
    func duplicateAttribution() {
        let attribution = DuplicateAttribution([
            .init(run: 0, ids: ["a", "b"]),
            .init(run: 2, ids: ["a", "b"]),  // a: lost by kill 0; b: lost by kill 1 (its run-1 copy came later)
            .init(run: 1, ids: ["b"]),        // b: lost by kill 0 (a killed run's request read late)
            .init(run: 2, ids: ["c", "c"]),   // c: twice within run 2
        ])
        #expect(attribution.perKill == [0: 2, 1: 1])
        #expect(attribution.withinRun == [2: 1])
        #expect(attribution.total == 4)
    }
}
