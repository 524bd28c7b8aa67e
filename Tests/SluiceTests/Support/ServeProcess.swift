import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import Testing
@testable import Sluice

/// A real `sluice serve` process on 127.0.0.1 (port 0, learnt from its stderr), for end-to-end tests.
final class ServeProcess: Sendable {
    let process: Process
    let port: UInt16
    /// The `--metrics-listen` port, when one was asked for.
    let metricsPort: UInt16?
    let summaryPath: String
    let deadLetterPath: String
    private let out = LockedData()
    private let err = LockedData()
    private let done = DispatchSemaphore(value: 0)

    /// Starts `sluice serve` with `config` (JSON text, may be nil) and `arguments`; waits until it listens.
    init(config: String? = nil, arguments: [String] = [], metricsListen: Bool = false, listen: String = "127.0.0.1:0",
         expectFailure: Bool = false, shellPrelude: String? = nil) throws {
        summaryPath = PipelineTestSupport.temporaryPath("summary.json")
        deadLetterPath = PipelineTestSupport.temporaryPath("dead.ndjson")
        var args = ["serve", "--listen", listen, "--summary", summaryPath, "--dead-letter", deadLetterPath]
        if let config {
            let path = PipelineTestSupport.temporaryPath("serve.json")
            try Data(config.utf8).write(to: URL(fileURLWithPath: path))
            args += ["--config", path]
        }
        if metricsListen { args += ["--metrics-listen", "127.0.0.1:0"] }
        let running = try SluiceExecutable.start(args + arguments, shellPrelude: shellPrelude)
        try running.stdin.close()
        process = running.process
        for (handle, buffer) in [(running.stdout.fileHandleForReading, out), (running.stderr.fileHandleForReading, err)] {
            Thread { [done] in
                while true {
                    let data = handle.availableData
                    if data.isEmpty { break }
                    buffer.value.withLock { $0.append(data) }
                }
                done.signal()
            }.start()
        }
        let deadline = Date().addingTimeInterval(30)
        var port: UInt16?, metricsPort: UInt16?
        while Date() < deadline {
            let exited = !process.isRunning
            if exited { usleep(50_000) }  // let the readers collect the last lines
            let text = String(decoding: err.value.withLock { $0 }, as: UTF8.self)
            port = Self.port(in: text, after: "serve: listening on http://")
            metricsPort = Self.port(in: text, after: "metrics: listening on http://")
            if (port != nil || arguments.contains("--version")) && (!metricsListen || metricsPort != nil) { break }
            if exited { break }
            usleep(10_000)
        }
        self.port = port ?? 0
        self.metricsPort = metricsPort
        if !expectFailure && port == nil {
            throw ServeProcessError.didNotStart(String(decoding: err.value.withLock { $0 }, as: UTF8.self))
        }
    }

    enum ServeProcessError: Error { case didNotStart(String) }

    private static func port(in text: String, after marker: String) -> UInt16? {
        guard let range = text.range(of: marker) else { return nil }
        let address = text[range.upperBound...].prefix { !$0.isWhitespace && $0 != "/" }
        guard let colon = address.lastIndex(of: ":") else { return nil }
        return UInt16(address[address.index(after: colon)...])
    }

    var stderr: String { String(decoding: err.value.withLock { $0 }, as: UTF8.self) }
    var stdout: String { String(decoding: out.value.withLock { $0 }, as: UTF8.self) }

    /// Lines written to stdout so far.
    var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// Sends SIGTERM, waits for exit; returns the exit status.
    @discardableResult
    func terminate() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        return waitForExit()
    }

    /// Waits for the process to exit (and its output to end); returns the exit status.
    func waitForExit() -> Int32 {
        // A process that does not exit is this test's failure, not a hang of the whole suite.
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            Issue.record("sluice serve did not exit within 120 s; killed. stderr: \(stderr.suffix(2000))")
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        done.wait()
        done.wait()
        done.signal()
        done.signal()
        return process.terminationStatus
    }

    /// The `--summary` JSON, after exit.
    func summary() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as? [String: Any] ?? [:]
    }

    /// The events written to stdout (the default stdout destination), parsed.
    func deliveredEvents() -> [[String: Any]] {
        stdoutLines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}

/// A blocking TCP client speaking just enough HTTP/1.1 to test a server byte for byte.
final class RawHTTPClient {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }
    }

    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw ClientError.connect(errno)
        }
    }

    deinit { close(fd) }

    enum ClientError: Error { case connect(Int32) }

    func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if sent <= 0 { return }
                offset += sent
            }
        }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    /// A whole request: method, path, headers, body (Content-Length added unless `chunked`).
    static func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }

    /// Sends a request and reads its response.
    func exchange(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = [], timeout: Double = 20) -> Response? {
        send(Self.request(method, path, headers: headers, body: body))
        return readResponse(timeout: timeout)
    }

    private func fill(deadline: Date) -> Bool {
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return false }
            buffer += chunk[0..<count]
            return true
        }
        return false
    }

    /// Reads one response (Content-Length framed); nil when the connection closed or nothing came in time.
    func readResponse(timeout: Double = 20) -> Response? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let end = find([13, 10, 13, 10]) {
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                var lines = head.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst().split(separator: " ")
                guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
                let headers = lines.compactMap { line -> (String, String)? in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }
                let length = Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0
                while buffer.count < end + 4 + length {
                    if !fill(deadline: deadline) { return nil }
                }
                let body = Array(buffer[(end + 4)..<(end + 4 + length)])
                buffer.removeSubrange(0..<(end + 4 + length))
                if status == 100 { continue }
                return Response(status: status, headers: headers, body: body)
            }
            if !fill(deadline: deadline) { return nil }
        }
    }

    /// True when the server closes the connection within `timeout` (reads nothing more).
    func isClosedByServer(timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return true }
        }
        return false
    }

    private func find(_ pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for i in 0...(buffer.count - pattern.count) where buffer[i] == pattern[0] && Array(buffer[i..<(i + pattern.count)]) == pattern {
            return i
        }
        return nil
    }
}
