import Foundation
@testable import Sluice
#if canImport(Glibc)
import Glibc
#endif

/// A real `redis-server` for one test: a free loopback port, a temporary directory, no persistence.
///
/// No mock stands in for Redis. When `redis-server` is missing or cannot start, ``start(password:)`` throws a
/// clear error under CI (`CI=true`) and returns nil elsewhere, after printing why the test is skipped.
final class RedisTestServer: @unchecked Sendable {
    // @unchecked: `process` is replaced only by `restart()`/`stop()`, which a test calls from its own task,
    // never concurrently with another use of the same server.
    let port: Int
    let password: String?
    let directory: URL
    private var process: Process?

    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    var endpoint: RedisEndpoint {
        RedisEndpoint(host: "127.0.0.1", port: port, password: password)
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    static var executable: String? {
        let candidates = ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/opt/homebrew/bin/redis-server"]
            + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/redis-server" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts a server, or explains why not: throws under CI, returns nil (printing the reason) elsewhere.
    static func start(password: String? = nil, extraArguments: [String] = [], function: String = #function) throws -> RedisTestServer? {
        do {
            return try RedisTestServer(password: password, extraArguments: extraArguments)
        } catch {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                throw Unavailable(description: "CI=true and redis-server could not be started: \(error) (run .ci/redis-setup.sh, or apt-get install -y redis-server)")
            }
            print("skipping \(function): \(error)")
            return nil
        }
    }

    private let extraArguments: [String]

    private init(password: String?, extraArguments: [String]) throws {
        guard Self.executable != nil else { throw Unavailable(description: "redis-server is not installed") }
        self.password = password
        self.extraArguments = extraArguments
        self.port = try Self.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try launch()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Stops the server (SIGKILL, then waits); data is gone, as with any restart without persistence.
    /// SIGKILL, not SIGTERM: a test process may hand its children a blocked SIGTERM (signal-handling tests
    /// block it for dispatch sources), and a crash is the case worth testing anyway.
    func stop() {
        guard let process else { return }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        self.process = nil
    }

    /// Stops and starts the server again on the same port.
    func restart() throws {
        stop()
        try launch()
    }

    private func launch() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable!)
        var arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                         "--dir", directory.path, "--daemonize", "no", "--loglevel", "warning"]
        if let password { arguments += ["--requirepass", password] }
        process.arguments = arguments + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // Ready when a PING is answered; a server that has not bound its port after 10 s is broken.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if !process.isRunning { throw Unavailable(description: "redis-server exited with status \(process.terminationStatus) at start") }
            if let connection = try? RedisConnection(endpoint: endpoint, connectTimeoutMs: 200),
               let reply = try? connection.execute([RedisCommand("PING")], timeoutMs: 1000), reply.first == .simpleString("PONG") {
                return
            }
            usleep(20_000)
        }
        throw Unavailable(description: "redis-server did not answer PING within 10 s on port \(port)")
    }

    /// A synchronous connection for test set-up and checks.
    func connection() throws -> RedisConnection {
        try RedisConnection(endpoint: endpoint, connectTimeoutMs: 2000)
    }

    /// Runs one command and returns its reply.
    @discardableResult
    func command(_ name: String, _ arguments: String...) throws -> RESPValue {
        try connection().execute([RedisCommand(name, arguments)], timeoutMs: 5000)[0]
    }

    /// A port nothing listens on right now (bind to port 0 and read what the kernel chose).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Unavailable(description: "socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Unavailable(description: "bind failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
