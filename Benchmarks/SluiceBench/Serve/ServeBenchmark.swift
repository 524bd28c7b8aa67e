import Foundation
import Sluice
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `sluice-bench --serve [--serve-seconds S] [--serve-connections C]`: the real `sluice serve` (the `sluice`
/// binary next to this one) driven over loopback by a built-in keep-alive client, the same load as
/// `Benchmarks/serve/run.sh` runs with wrk:
///
/// 1. throughput: C connections POST 100-event gzip `log_event` bodies (64 distinct ones, rotating) for S
///    seconds; events/s, request latency p50/p99 and the server's peak RSS;
/// 2. memory: 200 connections POST plain bodies just under 4 MB for S seconds; answers by status and peak RSS
///    (bounded by `serve.maxInFlightBodyBytes`: the bodies that do not fit get 503 with `Retry-After`).
///
/// The client runs in this process on the same machine, so it takes CPU from the server as wrk does.
enum ServeBenchmark {
    static func run(_ arguments: [String]) -> Int32 {
        var seconds = 10.0
        var connections = 32
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--serve": break
            case "--serve-seconds":
                index += 1
                guard index < arguments.count, let s = Double(arguments[index]), s > 0, s <= 3600 else { return usage() }
                seconds = s
            case "--serve-connections":
                index += 1
                guard index < arguments.count, let c = Int(arguments[index]), c > 0, c <= 1000 else { return usage() }
                connections = c
            default: return usage()
            }
            index += 1
        }
        let executable = ConfigExecutor.currentExecutable() ?? CommandLine.arguments[0]
        let sluice = URL(fileURLWithPath: executable).deletingLastPathComponent().path + "/sluice"
        guard FileManager.default.isExecutableFile(atPath: sluice) else {
            report("\(sluice) is missing: build it first with `swift build -c release --product sluice`")
            return 2
        }
        do {
            // Throughput: 64 distinct 100-event bodies, as one-line JSON (what SDKs send), gzip.
            var generated: [UInt8] = []
            _ = EventGenerator(options: EventGenerator.Options(events: 6400, seed: 7)).write { generated.append(contentsOf: $0) }
            let lines = generated.split(separator: 0x0A)
            var requests: [[UInt8]] = []
            for start in stride(from: 0, to: lines.count, by: 100) {
                let events = lines[start..<min(start + 100, lines.count)].map { String(decoding: $0, as: UTF8.self) }
                let body = Array(#"{"events":[\#(events.joined(separator: ","))],"statsigMetadata":{"sdkType":"py-server","sdkVersion":"0.72.1"}}"#.utf8)
                requests.append(request(Gzip.compress(body), gzip: true))
            }
            let server = try ServeProcess(sluice: sluice)
            let load = LoadResult.drive(port: server.port, requests: requests, connections: connections, seconds: seconds)
            let peak = server.peakRSSKilobytes()
            server.stop()
            print(String(format: "serve throughput: %d connections, %.0f s, 100-event gzip log_event bodies: %.0f requests/s = %.0f events/s; latency p50 %.2f ms, p99 %.2f ms; %@; peak RSS %d MB",
                         connections, seconds, load.requestsPerSecond, load.requestsPerSecond * 100, load.percentile(0.5) * 1000,
                         load.percentile(0.99) * 1000, load.statusText, peak / 1024))

            // Memory: 200 clients with ~4 MB plain bodies.
            var big = Array(#"{"events":["#.utf8)
            var generatedBig: [UInt8] = []
            _ = EventGenerator(options: EventGenerator.Options(events: 20_000, seed: 9)).write { generatedBig.append(contentsOf: $0) }
            var first = true
            for line in generatedBig.split(separator: 0x0A) {
                if big.count + line.count + 3 > 4_000_000 { break }
                if !first { big.append(UInt8(ascii: ",")) }
                first = false
                big.append(contentsOf: line)
            }
            big.append(contentsOf: Array("]}".utf8))
            let memoryServer = try ServeProcess(sluice: sluice)
            let memory = LoadResult.drive(port: memoryServer.port, requests: [request(big, gzip: false)], connections: 200, seconds: seconds)
            let memoryPeak = memoryServer.peakRSSKilobytes()
            memoryServer.stop()
            print(String(format: "serve memory: 200 connections, %.0f s, %d-byte plain bodies: %@; peak RSS %d MB",
                         seconds, big.count, memory.statusText, memoryPeak / 1024))
            return 0
        } catch {
            report("\(error)")
            return 1
        }
    }

    static func request(_ body: [UInt8], gzip: Bool) -> [UInt8] {
        var head = "POST /v1/log_event HTTP/1.1\r\nHost: 127.0.0.1\r\nSTATSIG-API-KEY: secret-bench\r\nContent-Type: application/json\r\n"
        if gzip { head += "Content-Encoding: gzip\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }

    static func usage() -> Int32 {
        report("usage: sluice-bench --serve [--serve-seconds S] [--serve-connections C]")
        return 2
    }

    static func report(_ message: String) {
        FileHandle.standardError.write(Data("sluice-bench: \(message)\n".utf8))
    }
}

/// A `sluice serve --listen 127.0.0.1:0 --no-dedupe --quiet` process writing to /dev/null.
private final class ServeProcess {
    let process = Process()
    let port: Int
    let directory: URL

    init(sluice: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-serve-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("serve.json")
        try Data(#"{"serve": {"statsigKeys": ["secret-bench"], "maxBodyBytes": 4194304}}"#.utf8).write(to: config)
        let errors = directory.appendingPathComponent("serve.err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: sluice)
        // --no-dedupe: the client repeats its bodies, which de-duplication would drop before the destination.
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--no-dedupe", "--quiet", "--config", config.path]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        var found: Int?
        while found == nil && Date() < deadline && process.isRunning {
            let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            if let range = text.range(of: "listening on http://127.0.0.1:") {
                found = Int(text[range.upperBound...].prefix { $0.isNumber })
            }
            if found == nil { usleep(20_000) }
        }
        guard let found else {
            throw BenchError("sluice serve did not start: \((try? String(contentsOf: errors, encoding: .utf8)) ?? "")")
        }
        port = found
    }

    /// VmHWM of the server, in kB.
    func peakRSSKilobytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What the client threads measured.
private struct LoadResult {
    var latencies: [Double] = []
    var statuses: [Int: Int] = [:]
    var failures = 0
    var elapsed = 0.0

    var requestsPerSecond: Double { Double(statuses[200] ?? 0) / max(elapsed, 0.001) }

    var statusText: String {
        let answers = statuses.keys.sorted().map { "\(statuses[$0]!) x \($0)" }.joined(separator: ", ")
        return "answers: " + (answers.isEmpty ? "none" : answers) + (failures > 0 ? ", \(failures) connection failures" : "")
    }

    func percentile(_ p: Double) -> Double {
        guard !latencies.isEmpty else { return 0 }
        let sorted = latencies.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    /// `connections` threads, each with one keep-alive connection (reopened when the server closes it),
    /// sending `requests` in turn until `seconds` pass.
    static func drive(port: Int, requests: [[UInt8]], connections: Int, seconds: Double) -> LoadResult {
        let results = Mutex<LoadResult>(LoadResult())
        let group = DispatchGroup()
        let start = Date()
        let deadline = start.addingTimeInterval(seconds)
        for client in 0..<connections {
            group.enter()
            let thread = Thread {
                var local = LoadResult()
                var connection: Int32 = -1
                var next = client % requests.count
                while Date() < deadline {
                    if connection < 0 {
                        connection = connect(port: port)
                        if connection < 0 {
                            local.failures += 1
                            usleep(10_000)
                            continue
                        }
                    }
                    let sent = Date()
                    guard sendAll(connection, requests[next]), let (status, close) = readResponse(connection) else {
                        Glibc.close(connection)
                        connection = -1
                        if Date() < deadline { local.failures += 1 }
                        continue
                    }
                    local.latencies.append(Date().timeIntervalSince(sent))
                    local.statuses[status, default: 0] += 1
                    next = (next + 1) % requests.count
                    if close {
                        Glibc.close(connection)
                        connection = -1
                    }
                }
                if connection >= 0 { Glibc.close(connection) }
                results.withLock {
                    $0.latencies += local.latencies
                    $0.failures += local.failures
                    for (status, count) in local.statuses { $0.statuses[status, default: 0] += count }
                }
                group.leave()
            }
            thread.start()
        }
        group.wait()
        var result = results.withLock { $0 }
        result.elapsed = Date().timeIntervalSince(start)
        return result
    }

    private static func connect(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            Glibc.close(fd)
            return -1
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if sent <= 0 {
                    if sent < 0 && errno == EINTR { continue }
                    return false
                }
                offset += sent
            }
            return true
        }
    }

    /// Reads one response (head and Content-Length body); returns its status and whether the server closes.
    private static func readResponse(_ fd: Int32) -> (Int, Bool)? {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = find(buffer, [13, 10, 13, 10]) {
                let head = String(decoding: buffer[..<end], as: UTF8.self).lowercased()
                let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
                var length = 0
                var close = false
                for line in head.split(separator: "\r\n") {
                    if line.hasPrefix("content-length:") { length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0 }
                    if line.hasPrefix("connection:") && line.contains("close") { close = true }
                }
                while buffer.count < end + 4 + length {
                    let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    guard count > 0 else { return nil }
                    buffer.append(contentsOf: chunk[..<count])
                }
                return (status, close)
            }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    private static func find(_ buffer: [UInt8], _ pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for i in 0...(buffer.count - pattern.count) where buffer[i] == pattern[0] && Array(buffer[i..<(i + pattern.count)]) == pattern {
            return i
        }
        return nil
    }
}
