import Foundation
import Testing
@testable import Sluice

/// What a relay must add to what SDKs send: the client's address and clock-skew correction; and when it may start.
@Suite("sluice serve: client IP, clock skew, key rules, --metrics-listen")
struct ServeRelayFactsTests {
    typealias E = ServeEndToEndTests

    static func user(_ event: [String: Any]) -> [String: Any] { event["user"] as? [String: Any] ?? [:] }

    @Test("the client address becomes user.ip unless the body has one; X-Forwarded-For counts only from trusted proxies")
    func clientAddress() throws {
        let serve = try ServeProcess(config: #"{"serve":{"trustedProxies":["127.0.0.0/8"]}}"#)
        let client = try RawHTTPClient(port: serve.port)
        let plain = Array(#"{"events":[{"eventName":"ip_plain","user":{"userID":"a"}}]}"#.utf8)
        #expect(client.exchange("POST", "/v1/log_event", body: plain)?.status == 200)
        let own = Array(#"{"events":[{"eventName":"ip_own","user":{"userID":"b","ip":"198.51.100.7"}}]}"#.utf8)
        #expect(client.exchange("POST", "/v1/log_event", headers: [("X-Forwarded-For", "203.0.113.1")], body: own)?.status == 200)
        let forwarded = Array(#"{"events":[{"eventName":"ip_forwarded","user":{"userID":"c"}}]}"#.utf8)
        // The client wrote a fake first hop; the proxy appended the real peer: the right-most untrusted one wins.
        #expect(client.exchange("POST", "/v1/log_event", headers: [("X-Forwarded-For", "1.2.3.4, 203.0.113.9")], body: forwarded)?.status == 200)
        let segment = Array(#"{"batch":[{"type":"track","userId":"d","event":"ip_segment","messageId":"m1"},{"type":"track","userId":"e","event":"ip_segment_own","messageId":"m2","context":{"ip":"192.0.2.44"}}]}"#.utf8)
        #expect(client.exchange("POST", "/v1/batch", headers: [("X-Forwarded-For", "203.0.113.10")], body: segment)?.status == 200)
        #expect(serve.terminate() == 0)
        let byName = Dictionary(serve.deliveredEvents().map { ($0["eventName"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        #expect(Self.user(byName["ip_plain"] ?? [:])["ip"] as? String == "127.0.0.1")
        #expect(Self.user(byName["ip_own"] ?? [:])["ip"] as? String == "198.51.100.7")
        #expect(Self.user(byName["ip_forwarded"] ?? [:])["ip"] as? String == "203.0.113.9")
        #expect(Self.user(byName["segment_track:ip_segment"] ?? [:])["ip"] as? String == "203.0.113.10")
        #expect(Self.user(byName["segment_track:ip_segment_own"] ?? [:])["ip"] as? String == "192.0.2.44")
    }

    @Test("X-Forwarded-For from an untrusted peer is ignored")
    func untrustedForwardedFor() throws {
        let serve = try ServeProcess()
        let client = try RawHTTPClient(port: serve.port)
        let body = Array(#"{"events":[{"eventName":"spoof","user":{"userID":"a"}}]}"#.utf8)
        #expect(client.exchange("POST", "/v1/log_event", headers: [("X-Forwarded-For", "203.0.113.1")], body: body)?.status == 200)
        #expect(serve.terminate() == 0)
        #expect(Self.user(serve.deliveredEvents().first ?? [:])["ip"] as? String == "127.0.0.1")
    }

    @Test("clock skew: Statsig times shift by receivedAt - STATSIG-CLIENT-TIME; Segment uses receivedAt - (sentAt - timestamp); retries still de-duplicate")
    func clockSkew() throws {
        let serve = try ServeProcess()
        let client = try RawHTTPClient(port: serve.port)
        // A client whose clock is exactly one day behind.
        let day: Int64 = 86_400_000
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let statsig = Array(#"{"events":[{"eventName":"skewed","user":{"userID":"a"},"time":\#(now - day - 5000)}]}"#.utf8)
        #expect(client.exchange("POST", "/v1/log_event", headers: [("STATSIG-CLIENT-TIME", String(now - day))], body: statsig)?.status == 200)
        // The JS client's beacon carries its time as `t`.
        let beacon = Array(#"{"events":[{"eventName":"skewed_beacon","user":{"userID":"a"},"time":\#(now - day - 7000)}]}"#.utf8)
        #expect(client.exchange("POST", "/v1/rgstr?k=client-x&t=\(now - day)", body: beacon)?.status == 200)
        func segmentBody(sentAt: Int64) -> [UInt8] {
            let iso = { (ms: Int64) in ISO8601DateFormatter.withFractions.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)) }
            return Array(#"{"batch":[{"type":"track","userId":"u","event":"skewed_segment","messageId":"fixed-id","timestamp":"\#(iso(now - day - 3000))"}],"sentAt":"\#(iso(sentAt))"}"#.utf8)
        }
        #expect(client.exchange("POST", "/v1/batch", body: segmentBody(sentAt: now - day))?.status == 200)
        // The library retries the same batch later (new sentAt): same message, so a duplicate.
        #expect(client.exchange("POST", "/v1/batch", body: segmentBody(sentAt: now - day + 60_000))?.status == 200)
        #expect(serve.terminate() == 0)
        let summary = try serve.summary()
        #expect(summary["duplicates"] as? Int == 1)
        let byName = Dictionary(serve.deliveredEvents().map { ($0["eventName"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let received = Int64(Date().timeIntervalSince1970 * 1000)
        func check(_ name: String, _ ago: Int64) {
            let timestamp = byName[name]?["timestamp"] as? Int64 ?? (byName[name]?["timestamp"] as? Int).map(Int64.init) ?? 0
            // Corrected to the relay's clock: `ago` ms before it received the body (a test run takes seconds, not a day).
            #expect(abs(timestamp - (received - ago)) < 60_000, "\(name): \(timestamp) vs \(received - ago)")
        }
        check("skewed", 5000)
        check("skewed_beacon", 7000)
        check("segment_track:skewed_segment", 3000)
    }

    @Test("without keys serve starts only on a loopback address (and says so); with keys it may listen anywhere")
    func keylessOnlyOnLoopback() throws {
        let refused = try ServeProcess(listen: "0.0.0.0:0", expectFailure: true)
        #expect(refused.waitForExit() == 2)
        #expect(refused.stderr.contains("refusing to listen"))
        let local = try ServeProcess()
        #expect(local.stderr.contains("accepting any Statsig key, because 127.0.0.1 is a loopback address"))
        local.terminate()
        let keyed = try ServeProcess(config: #"{"serve":{"statsigKeys":["secret-k1"]}}"#, listen: "0.0.0.0:0", expectFailure: true)
        #expect(keyed.process.isRunning)
        #expect(keyed.stderr.contains("serve: listening on http://0.0.0.0:"))
        #expect(!keyed.stderr.contains("secret-k1"))
        keyed.terminate()
    }

    @Test("--metrics-listen gives a stdin run /healthz and /metrics")
    func metricsListenOnStdinRun() async throws {
        let running = try SluiceExecutable.start(["--metrics-listen", "127.0.0.1:0"])
        let outputs = OutputCollector(running)
        try running.stdin.write(contentsOf: Data(PipelineTestSupport.bytes((0..<10).map { PipelineTestSupport.eventLine($0) })))
        // The port is on stderr; OutputCollector keeps it until the end, so find it through /proc-free means: retry.
        var port: UInt16?
        let deadline = Date().addingTimeInterval(20)
        while port == nil && Date() < deadline {
            port = Self.listeningPort(pid: running.process.processIdentifier)
            if port == nil { usleep(20_000) }
        }
        let metricsPort = try #require(port)
        var text = ""
        #expect(await PipelineTestSupport.eventually {
            text = (try? RawHTTPClient(port: metricsPort).exchange("GET", "/metrics")?.text) ?? ""
            return text.contains("sluice_events_ingested_total 10\n")
        })
        #expect(!text.contains("sluice_http_requests_total{route=\"log_event\""))
        #expect(try RawHTTPClient(port: metricsPort).exchange("GET", "/healthz")?.status == 200)
        #expect(try RawHTTPClient(port: metricsPort).exchange("POST", "/v1/log_event", body: [0x7B, 0x7D])?.status == 404)
        try running.stdin.close()
        running.process.waitUntilExit()
        let (_, stderr) = outputs.finish()
        #expect(running.process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("metrics: listening on http://127.0.0.1:\(metricsPort)/metrics"))
    }

    /// The TCP port process `pid` listens on, from /proc/net/tcp (Linux).
    static func listeningPort(pid: Int32) -> UInt16? {
        guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return nil }
        let inodes = Set(fds.compactMap { fd -> String? in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                  target.hasPrefix("socket:[") else { return nil }
            return String(target.dropFirst(8).dropLast())
        })
        guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return nil }
        for line in table.split(separator: "\n").dropFirst() {
            let columns = line.split(separator: " ")
            guard columns.count > 9, columns[3] == "0A", inodes.contains(String(columns[9])) else { continue }
            return UInt16(columns[1].split(separator: ":")[1], radix: 16)
        }
        return nil
    }
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}

@Suite("serve building blocks")
struct ServeUnitTests {
    @Test("IP networks: CIDR matching for IPv4 and IPv6, mapped addresses, garbage rejected")
    func ipNetworks() throws {
        let v4 = try #require(IPNetwork("10.0.0.0/8"))
        #expect(v4.contains("10.200.3.4"))
        #expect(!v4.contains("11.0.0.1"))
        #expect(v4.contains("::ffff:10.1.2.3"))
        let v6 = try #require(IPNetwork("fd00::/8"))
        #expect(v6.contains("fd12::1"))
        #expect(!v6.contains("fe80::1"))
        #expect(IPNetwork("192.168.1.7")?.contains("192.168.1.7") == true)
        #expect(IPNetwork("192.168.1.7")?.contains("192.168.1.8") == false)
        #expect(IPNetwork("nope") == nil)
        #expect(IPNetwork("10.0.0.0/33") == nil)
        let trusted = [v4]
        #expect(IPNetwork.clientAddress(peer: "10.0.0.2", forwardedFor: "1.1.1.1, 203.0.113.5, 10.0.0.9", trusted: trusted) == "203.0.113.5")
        #expect(IPNetwork.clientAddress(peer: "8.8.8.8", forwardedFor: "203.0.113.5", trusted: trusted) == "8.8.8.8")
        #expect(IPNetwork.clientAddress(peer: "10.0.0.2", forwardedFor: "garbage", trusted: trusted) == "10.0.0.2")
    }

    @Test("serve configuration: keys parse, ranges and addresses are validated, unknown keys named")
    func configuration() throws {
        let parsed = try ConfigurationLoader.parse(#"{"serve":{"listen":"0.0.0.0:9000","maxBodyBytes":1048576,"statsigKeys":["s"],"segmentWriteKeys":["w"],"maxConnections":50,"readTimeoutMs":5000,"idleTimeoutMs":7000,"trustedProxies":["10.0.0.0/8"]}}"#, environment: [:])
        #expect(parsed.serve.listen == "0.0.0.0:9000")
        #expect(parsed.serve.maxConnections == 50)
        #expect(parsed.secrets.contains("s") && parsed.secrets.contains("w"))
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.parse(#"{"serve":{"maxBodyBytes":0}}"#, environment: [:]) }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.parse(#"{"serve":{"listen":"nowhere"}}"#, environment: [:]) }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.parse(#"{"serve":{"trustedProxies":["x"]}}"#, environment: [:]) }
        do {
            _ = try ConfigurationLoader.parse(#"{"serve":{"maxConections":5}}"#, environment: [:])
            Issue.record("an unknown key was accepted")
        } catch {
            #expect(error.keyPath == "serve.maxConections")
        }
        let problems = ServeConfiguration(maxConnections: 0, readTimeoutMs: 1, idleTimeoutMs: 0).validationErrors().map(\.keyPath)
        #expect(problems == ["serve.maxConnections", "serve.readTimeoutMs", "serve.idleTimeoutMs"])
    }

    @Test("Prometheus exposition: HELP/TYPE per family, labelled samples, escaped label values, histogram buckets")
    func prometheus() {
        var metrics = MetricsSnapshot(phase: .running, ingested: 7, destinations: ["a\"b": .init(delivered: 5, pending: 2)])
        metrics.latency = Summary.LatencySummary(p50: 0.01, p99: 0.5, max: 1)
        let stats = HTTPServerStats()
        stats.record(route: "log_event", status: 200, seconds: 0.003)
        stats.record(route: "log_event", status: 200, seconds: 2)
        let text = PrometheusExposition.render(metrics, server: stats.snapshot)
        #expect(text.contains("# TYPE sluice_events_ingested_total counter\nsluice_events_ingested_total 7\n"))
        #expect(text.contains(#"sluice_destination_events_total{destination="a\"b",outcome="delivered"} 5"#))
        #expect(text.contains(#"sluice_delivery_latency_seconds{quantile="0.99"} 0.5"#))
        #expect(text.contains(#"sluice_http_requests_total{route="log_event",status="200"} 2"#))
        #expect(text.contains(#"sluice_http_request_duration_seconds_bucket{le="0.005"} 1"#))
        #expect(text.contains(#"sluice_http_request_duration_seconds_bucket{le="+Inf"} 2"#))
        #expect(text.contains("sluice_up 1\n"))
        // Every sample line is NAME[{labels}] VALUE.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.split(separator: " ").count == 2, "\(line)")
        }
    }

    @Test("Basic auth: the user name is the write key")
    func basicAuth() {
        #expect(RelayRoutes.basicAuthUser("Basic " + Data("wk_123:".utf8).base64EncodedString()) == "wk_123")
        #expect(RelayRoutes.basicAuthUser("Bearer x") == nil)
        #expect(RelayRoutes.basicAuthUser("Basic !!!") == nil)
    }
}
