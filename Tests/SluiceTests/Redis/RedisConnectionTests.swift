import Foundation
import Testing
@testable import Sluice
#if canImport(Glibc)
import Glibc
#endif

@Suite("Redis connection (against a real redis-server)")
struct RedisConnectionTests {
    @Test("Pipelined commands get their replies in order")
    func pipelining() throws {
        guard let server = try RedisTestServer.start() else { return }
        let connection = try server.connection()
        let commands = (0..<2000).map { _ in RedisCommand("INCR", ["counter"]) }
        let replies = try connection.execute(commands, timeoutMs: 5000)
        #expect(replies == (1...2000).map { RESPValue.integer(Int64($0)) })
        let binary = [UInt8](0...255)
        let set = RedisCommand("SET", byteArguments: [ArraySlice(Array("bin".utf8)), ArraySlice(binary)])
        let get = RedisCommand("GET", ["bin"])
        let both = try connection.execute([set, get], timeoutMs: 5000)
        #expect(both == [.simpleString("OK"), .bulkString(binary)])
    }

    @Test("AUTH with the right password works; a wrong one is an authentication error that never shows the password")
    func authentication() throws {
        guard let server = try RedisTestServer.start(password: "s3cret-pass") else { return }
        let good = try server.connection()
        #expect(try good.execute([RedisCommand("PING")], timeoutMs: 2000) == [.simpleString("PONG")])

        var wrong = server.endpoint
        wrong.password = "not-the-password"
        #expect {
            _ = try RedisConnection(endpoint: wrong, connectTimeoutMs: 2000)
        } throws: { error in
            let error = error as? RedisError
            return error?.kind == .authentication && error?.isRetryable == false
                && !(error?.description.contains("not-the-password") ?? true) && error?.description.contains("WRONGPASS") == true
        }
        // Without a password, commands answer NOAUTH as an error value.
        var none = server.endpoint
        none.password = nil
        let anonymous = try RedisConnection(endpoint: none, connectTimeoutMs: 2000)
        let reply = try anonymous.execute([RedisCommand("GET", ["k"])], timeoutMs: 2000)[0]
        guard case .error(let message) = reply else { Issue.record("expected NOAUTH, got \(reply)"); return }
        #expect(message.hasPrefix("NOAUTH"))
    }

    @Test("The URL's database number is selected")
    func selectDatabase() throws {
        guard let server = try RedisTestServer.start() else { return }
        var three = server.endpoint
        three.database = 3
        _ = try RedisConnection(endpoint: three, connectTimeoutMs: 2000).execute([RedisCommand("SET", ["k", "in3"])], timeoutMs: 2000)
        #expect(try server.command("GET", "k") == .bulkString(nil))
        #expect(try server.command("SELECT", "3") == .simpleString("OK"))
        let check = try RedisConnection(endpoint: three, connectTimeoutMs: 2000).execute([RedisCommand("GET", ["k"])], timeoutMs: 2000)
        #expect(check == [.bulkString(Array("in3".utf8))])
    }

    @Test("The client reconnects with backoff after the server restarts, and counts the reconnection")
    func reconnectAfterRestart() async throws {
        guard let server = try RedisTestServer.start() else { return }
        let client = RedisClient(endpoint: server.endpoint)
        #expect(try await client.execute([RedisCommand("PING")]) == [.simpleString("PONG")])
        server.stop()
        await #expect(throws: RedisError.self) { try await client.execute([RedisCommand("PING")]) }
        #expect(!client.isConnected)
        let restarted = Task.detached {
            try await Task.sleep(for: .milliseconds(300))
            try server.restart()
        }
        let retries = Counter()
        let reply = try await client.executeRetrying([RedisCommand("PING")], onRetry: { _ in retries.increment() })
        try await restarted.value
        #expect(reply == [.simpleString("PONG")])
        #expect(retries.value >= 1)
        #expect(client.reconnects == 1)
        #expect(client.isConnected)
    }

    @Test("A server that does not speak RESP is a protocol error, not a crash")
    func notRedis() throws {
        let listener = try ByteServer(reply: Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8))
        let connection = try RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: listener.port), connectTimeoutMs: 2000)
        #expect {
            _ = try connection.execute([RedisCommand("PING")], timeoutMs: 2000)
        } throws: { error in
            (error as? RedisError)?.kind == .protocolViolation && "\(error)".contains("unknown type byte")
        }
        #expect(!connection.isOpen)
    }

    @Test("Connecting to a closed port is a retryable connection error naming the address")
    func refused() throws {
        let port = try RedisTestServer.freePort()
        #expect {
            _ = try RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: port), connectTimeoutMs: 2000)
        } throws: { error in
            (error as? RedisError)?.isRetryable == true && "\(error)".contains("127.0.0.1:\(port)")
        }
    }
}

/// Counts from any task.
final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

import Synchronization

/// Accepts one connection on a loopback port and answers whatever arrives with fixed bytes.
final class ByteServer: Sendable {
    let port: Int
    private let fd: Int32

    init(reply: [UInt8]) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(fd, 4)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        let listening = fd
        Thread {
            let client = accept(listening, nil, nil)
            guard client >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = recv(client, &buffer, buffer.count, 0)
            _ = reply.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            usleep(200_000)
            close(client)
        }.start()
    }

    deinit { close(fd) }
}
