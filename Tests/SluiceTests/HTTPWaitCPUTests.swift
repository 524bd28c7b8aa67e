import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Sluice

/// Issue 10, item 10: waiting for a slow HTTP endpoint must not burn CPU. URLSession on Linux spins while a
/// response is pending (about 1.2 s of CPU for four requests waiting 2 s each); the libcurl transport waits in
/// `poll`. Measured on the real `sluice` binary with `wait4`'s resource usage, which counts that one process
/// only, so tests running in parallel in this process cannot disturb the figure.
@Suite("CPU while waiting for a slow HTTP endpoint")
struct HTTPWaitCPUTests {
    typealias T = HTTPTestSupport

    @Test("four requests each waiting 2 s for their answer cost the whole sluice process well under half a second of CPU")
    func slowEndpointCostsNoCPU() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(.delayed(.seconds(2), TestHTTPServer.ok)))
        defer { server.stop() }
        let directory = T.temporaryPath("cpu")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/config.json", input = directory + "/events.ndjson"
        try Data("""
            {"destinations": [{"name": "statsig", "type": "statsig", "endpoint": "\(T.endpoint(server))",
              "apiKey": "\(T.statsigKey)", "batch": {"maxEvents": 1}, "concurrency": 4}]}
            """.utf8).write(to: URL(fileURLWithPath: config))
        try Data(T.events(4).bytes).write(to: URL(fileURLWithPath: input))

        let start = ContinuousClock.now
        let run = try MeasuredChild.run(SluiceExecutable.url.path, ["--config", config, "--input", input, "--quiet"])
        let elapsed = ContinuousClock.now - start
        #expect(run.exitStatus == 0)
        #expect(server.requests.count == 4)
        #expect(elapsed >= .milliseconds(1900), "the answers really were 2 s away")
        // Expected ~0.03 s (start-up included); URLSession's spin costs ~1.2 s. The bound leaves a 10x margin
        // over the expected figure for a loaded CI machine and still fails the spin.
        #expect(run.cpuSeconds < 0.5, "sluice used \(run.cpuSeconds) s of CPU waiting")
    }
}

/// Runs a program to completion with stdin, stdout and stderr on /dev/null and returns its exit status and
/// CPU time (user + system) from `wait4`: Foundation's `Process` reaps its children itself and does not give
/// their resource usage.
enum MeasuredChild {
    struct Result {
        var exitStatus: Int32
        var cpuSeconds: Double
    }

    static func run(_ path: String, _ arguments: [String]) throws -> Result {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard spawned == 0 else { throw SpawnError(code: spawned) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let seconds = { (time: timeval) in Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        let exit = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -1
        return Result(exitStatus: exit, cpuSeconds: seconds(usage.ru_utime) + seconds(usage.ru_stime))
    }

    struct SpawnError: Error {
        let code: Int32
    }
}
