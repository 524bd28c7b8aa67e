#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Synchronization

/// A minimal HTTP/1.1 server on 127.0.0.1 that answers every request with `200 {"success":true}`, at once or after
/// a set delay: the far end of `http` benchmark runs, so they measure Sluice and not a network.
///
/// One thread per connection (HTTP/1.1 keep-alive: a connection carries one request at a time, so a destination
/// with concurrency N opens N connections and the delay applies to each independently, like a real API).
/// It understands `Content-Length` and chunked bodies, which is all an HTTP client sends.
final class LoopbackHTTPServer: Sendable {
    /// The port it listens on (chosen by the kernel).
    let port: Int
    /// How long each response is held back.
    let latencyMs: Int
    private let listener: Int32
    private let stopped = Atomic<Bool>(false)
    private let requestCount = Atomic<Int>(0)
    private let bodyBytes = Atomic<Int>(0)

    /// Requests answered so far.
    var requests: Int { requestCount.load(ordering: .relaxed) }
    /// Request body bytes received so far.
    var receivedBodyBytes: Int { bodyBytes.load(ordering: .relaxed) }

    /// Binds 127.0.0.1 on a free port and starts accepting.
    init(latencyMs: Int = 0) throws {
        self.latencyMs = latencyMs
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchRunError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw BenchRunError("bind/listen 127.0.0.1: \(message)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Stops accepting; open connections end when their clients close them.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    deinit { stop() }

    private func acceptLoop() {
        while !stopped.load(ordering: .acquiring) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            var one: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var buffer: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: 64 * 1024)
        let response = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"success\":true}".utf8)
        while true {
            guard let request = readRequest(fd, &buffer, &scratch) else { return }
            requestCount.add(1, ordering: .relaxed)
            bodyBytes.add(request, ordering: .relaxed)
            if latencyMs > 0 { usleep(UInt32(latencyMs) * 1000) }
            guard writeAll(fd, response) else { return }
        }
    }

    /// Reads one request from the connection; returns its body length, or nil when the connection ended.
    private func readRequest(_ fd: Int32, _ buffer: inout [UInt8], _ scratch: inout [UInt8]) -> Int? {
        // Headers.
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = Self.find([13, 10, 13, 10], in: buffer, from: 0)
            if headerEnd == nil { guard fill(fd, &buffer, &scratch) else { return nil } }
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self).lowercased()
        buffer.removeFirst(headerEnd! + 4)
        var contentLength = 0
        var chunked = false
        for line in head.split(separator: "\r\n") {
            if line.hasPrefix("content-length:") { contentLength = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0 }
            if line.hasPrefix("transfer-encoding:") && line.contains("chunked") { chunked = true }
        }
        if !chunked {
            while buffer.count < contentLength { guard fill(fd, &buffer, &scratch) else { return nil } }
            buffer.removeFirst(contentLength)
            return contentLength
        }
        // Chunked: size line, data, CRLF, until a zero-size chunk and the final CRLF.
        var total = 0
        while true {
            var lineEnd = Self.find([13, 10], in: buffer, from: 0)
            while lineEnd == nil { guard fill(fd, &buffer, &scratch) else { return nil }; lineEnd = Self.find([13, 10], in: buffer, from: 0) }
            let sizeText = String(decoding: buffer[..<lineEnd!], as: UTF8.self).split(separator: ";").first ?? ""
            let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) ?? 0
            buffer.removeFirst(lineEnd! + 2)
            while buffer.count < size + 2 { guard fill(fd, &buffer, &scratch) else { return nil } }
            buffer.removeFirst(size + 2)
            total += size
            if size == 0 { return total }
        }
    }

    private func fill(_ fd: Int32, _ buffer: inout [UInt8], _ scratch: inout [UInt8]) -> Bool {
        while true {
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 { buffer.append(contentsOf: scratch[..<n]); return true }
            if n < 0 && errno == EINTR { continue }
            return false
        }
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EINTR { continue }; return false }
            offset += n
        }
        return true
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = start
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
