import Foundation
import Synchronization
@testable import Sluice
#if canImport(Glibc)
import Glibc
#endif

/// A loopback proxy in front of a real ``RedisTestServer`` that answers the commands named in `answers` itself
/// (with the raw RESP reply given) and forwards every other command to the server, reply for reply.
///
/// For replies a real Redis 7 never sends but other servers and versions may: Redis 7.0 answers `XACK` on a
/// vanished group with `0`, never `-NOGROUP`, so the source's `NOGROUP` branch can only be reached through here.
/// Everything else (the group, the stream, pending lists, blocking reads) is the real server's.
final class RedisReplyRewritingProxy: @unchecked Sendable {
    // @unchecked: `listener` is written once in init; the threads share only `rewritten` (a Mutex) and `closed`
    // (an Atomic).
    let port: Int
    private let listener: Int32
    private let upstream: RedisEndpoint
    private let answers: [String: [UInt8]]
    private let rewrittenCount = Mutex<[String: Int]>([:])
    private let closed = Atomic<Bool>(false)

    /// How many times each answered command was answered by the proxy.
    var rewritten: [String: Int] { rewrittenCount.withLock { $0 } }

    var endpoint: RedisEndpoint { RedisEndpoint(host: "127.0.0.1", port: port) }

    init(upstream server: RedisTestServer, answers: [String: String]) throws {
        upstream = server.endpoint
        self.answers = answers.mapValues { Array($0.utf8) }
        port = try RedisTestServer.freePort()
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            Glibc.close(listener)
            throw RedisTestServer.Unavailable(description: "proxy cannot listen on port \(port)")
        }
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { close() }

    func close() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    private func acceptLoop() {
        while !closed.load(ordering: .relaxed) {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                return
            }
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    /// One client connection: commands in, one reply out for each, in order.
    private func serve(_ client: Int32) {
        defer { Glibc.close(client) }
        guard let server = try? RedisConnection(endpoint: upstream, connectTimeoutMs: 2000) else { return }
        var parser = RESPParser()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !closed.load(ordering: .relaxed) {
            let received = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard received > 0 else { return }
            parser.append(Array(buffer[0..<received]))
            while let command = try? parser.next() {
                guard let parts = command.elements, let name = parts.first?.string?.uppercased() else { return }
                let reply: [UInt8]
                if let answer = answers[name] {
                    rewrittenCount.withLock { $0[name, default: 0] += 1 }
                    reply = answer
                } else {
                    let arguments = parts.dropFirst().map { ArraySlice($0.bytes ?? []) }
                    guard let replies = try? server.execute([RedisCommand(name, byteArguments: Array(arguments))], timeoutMs: 30_000)
                    else { return }
                    reply = Self.encode(replies[0])
                }
                guard reply.withUnsafeBytes({ send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == reply.count else { return }
            }
        }
    }

    /// RESP2 encoding of a reply (all a RESP2 connection receives).
    static func encode(_ value: RESPValue) -> [UInt8] {
        switch value {
        case .simpleString(let text): return Array("+\(text)\r\n".utf8)
        case .error(let text): return Array("-\(text)\r\n".utf8)
        case .integer(let number): return Array(":\(number)\r\n".utf8)
        case .bulkString(nil): return Array("$-1\r\n".utf8)
        case .bulkString(let bytes?): return Array("$\(bytes.count)\r\n".utf8) + bytes + [13, 10]
        case .array(nil), .null: return Array("*-1\r\n".utf8)
        case .array(let values?): return Array("*\(values.count)\r\n".utf8) + values.flatMap(encode)
        default: return Array("-ERR proxy cannot forward \(value.summary)\r\n".utf8)
        }
    }
}
