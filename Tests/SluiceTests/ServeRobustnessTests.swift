import Foundation
import Synchronization
import Testing
@testable import Sluice

/// `sluice serve` under hostile or heavy clients, and its shutdown.
@Suite("sluice serve: malformed requests, slow clients, load and shutdown")
struct ServeRobustnessTests {
    typealias E = ServeEndToEndTests

    @Test("malformed requests get 400 (or 431) and the connection is closed; the server keeps serving")
    func malformedRequests() throws {
        let serve = try ServeProcess()
        let body = Array(#"{"events":[{"eventName":"x"}]}"#.utf8)
        let truncatedGzip = Array(Gzip.compress(E.logEventBody(50, tag: "t")).dropLast(12))
        let cases: [(String, [UInt8], Int)] = [
            ("bad request line", Array("HELLO THERE\r\n\r\n".utf8), 400),
            ("bad Content-Length", Array("POST /v1/log_event HTTP/1.1\r\nContent-Length: 12x\r\n\r\n".utf8), 400),
            ("Content-Length with Transfer-Encoding", Array("POST /v1/log_event HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".utf8), 400),
            ("truncated gzip", RawHTTPClient.request("POST", "/v1/log_event", headers: [("Content-Encoding", "gzip")], body: truncatedGzip), 400),
            ("body larger than declared", Array("POST /v1/log_event HTTP/1.1\r\nContent-Length: 10\r\n\r\n".utf8) + body, 400),
            ("oversized header", Array("GET /healthz HTTP/1.1\r\nX-Big: \(String(repeating: "a", count: 20_000))\r\n\r\n".utf8), 431),
        ]
        for (name, bytes, status) in cases {
            let client = try RawHTTPClient(port: serve.port)
            client.send(bytes)
            var response = client.readResponse(timeout: 10)
            // The over-long body is first read as a request (a 400 for its events), then its rest as a broken
            // next request line: the connection must end with a 400 and close.
            if name == "body larger than declared", response?.status == 400, response?.header("Connection") != "close" {
                response = client.readResponse(timeout: 10)
            }
            #expect(response?.status == status, "\(name): \(response?.text ?? "no answer")")
            #expect(response?.header("Connection") == "close", "\(name)")
            #expect(client.isClosedByServer(), "\(name): connection left open")
        }
        let after = try RawHTTPClient(port: serve.port)
        #expect(after.exchange("GET", "/healthz")?.status == 200)
        #expect(serve.terminate() == 0)
    }

    @Test("a slow-loris client gets 408 and is dropped at readTimeoutMs while other clients are served at once")
    func slowLoris() async throws {
        let serve = try ServeProcess(config: #"{"serve":{"readTimeoutMs":1000}}"#)
        let slow = try RawHTTPClient(port: serve.port)
        let head = Array("POST /v1/log_event HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n".utf8)
        let started = Date()
        var sentBytes = 0
        // One byte every 100 ms: never idle long enough for a per-read timeout, never finished.
        var closedAt: Date?
        while Date().timeIntervalSince(started) < 15 {
            slow.send([head[sentBytes % head.count]])
            sentBytes += 1
            if sentBytes == 3 {
                // Meanwhile a normal client is answered promptly.
                let other = try RawHTTPClient(port: serve.port)
                let t0 = Date()
                #expect(other.exchange("POST", "/v1/log_event", body: E.logEventBody(1, tag: "fast"))?.status == 200)
                #expect(Date().timeIntervalSince(t0) < 5)
            }
            if slow.isClosedByServer(timeout: 0.1) {
                closedAt = Date()
                break
            }
        }
        let elapsed = closedAt.map { $0.timeIntervalSince(started) } ?? 99
        #expect(elapsed >= 0.9 && elapsed < 10, "closed after \(elapsed) s")
        let metrics = try RawHTTPClient(port: serve.port).exchange("GET", "/metrics")?.text ?? ""
        #expect(metrics.contains(#"sluice_http_requests_total{route="timeout",status="408"} 1"#), "\(metrics)")
        #expect(serve.terminate() == 0)
    }

    @Test("200 concurrent connections are open at once and every one is answered")
    func twoHundredConcurrentConnections() throws {
        let serve = try ServeProcess()
        let clients = try (0..<200).map { _ in try RawHTTPClient(port: serve.port) }
        // All 200 are open (idle) before any sends: the server must hold them all.
        let probe = try RawHTTPClient(port: serve.port)
        var open = 0
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let text = probe.exchange("GET", "/metrics")?.text ?? ""
            open = text.split(separator: "\n").first { $0.hasPrefix("sluice_http_connections ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
            if open >= 201 { break }
            usleep(50_000)
        }
        #expect(open == 201)
        for (i, client) in clients.enumerated() {
            client.send(RawHTTPClient.request("POST", "/v1/log_event", body: E.logEventBody(5, tag: "c\(i)")))
        }
        var answered = 0
        for client in clients where client.readResponse()?.status == 200 { answered += 1 }
        #expect(answered == 200)
        #expect(serve.terminate() == 0)
        #expect(try serve.summary()["ingested"] as? Int == 1000)
    }

    @Test("SIGTERM under load: stops accepting, finishes requests in flight, and every event answered 200 is delivered")
    func sigtermDuringLoad() async throws {
        let serve = try ServeProcess(arguments: ["--no-dedupe"])
        let acknowledged = Atomic<Int>(0)
        let requests = Atomic<Int>(0)
        let port = serve.port
        let workers = (0..<8).map { worker in
            Thread {
                guard let client = try? RawHTTPClient(port: port) else { return }
                var i = 0
                while true {
                    client.send(RawHTTPClient.request("POST", "/v1/log_event", body: E.logEventBody(20, tag: "w\(worker)_\(i)")))
                    guard let response = client.readResponse(timeout: 30) else { return }
                    requests.add(1, ordering: .relaxed)
                    if response.status == 200 { acknowledged.add(20, ordering: .relaxed) }
                    if response.header("Connection") == "close" { return }
                    i += 1
                }
            }
        }
        for worker in workers { worker.start() }
        #expect(await PipelineTestSupport.eventually { requests.load(ordering: .relaxed) >= 50 })
        kill(serve.process.processIdentifier, SIGTERM)
        let status = serve.waitForExit()
        #expect(status == 0, "\(serve.stderr)")
        let summary = try serve.summary()
        let delivered = (summary["destinations"] as? [String: [String: Any]])?["stdout"]?["delivered"] as? Int
        let deadLettered = (summary["destinations"] as? [String: [String: Any]])?["stdout"]?["deadLettered"] as? Int
        let acked = acknowledged.load(ordering: .relaxed)
        #expect(acked > 0)
        #expect(summary["ingested"] as? Int == acked)
        #expect((delivered ?? 0) + (deadLettered ?? 0) == acked)
        #expect(serve.stdoutLines.count == delivered)
    }

    @Test("while draining, /healthz (on --metrics-listen) answers 503, and a request finishing then gets 503 with Retry-After")
    func drainingAnswers() async throws {
        let serve = try ServeProcess(metricsListen: true)
        let metricsPort = try #require(serve.metricsPort)
        #expect(try RawHTTPClient(port: metricsPort).exchange("GET", "/healthz")?.status == 200)
        // A request in flight: head sent, body not yet.
        let inFlight = try RawHTTPClient(port: serve.port)
        let body = E.logEventBody(1, tag: "late")
        inFlight.send(Array("POST /v1/log_event HTTP/1.1\r\nContent-Length: \(body.count)\r\n\r\n".utf8))
        usleep(200_000)
        kill(serve.process.processIdentifier, SIGTERM)
        var health: Int?
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            health = try? RawHTTPClient(port: metricsPort).exchange("GET", "/healthz")?.status
            if health == 503 { break }
            usleep(50_000)
        }
        #expect(health == 503)
        inFlight.send(body)
        let response = inFlight.readResponse()
        #expect(response?.status == 503)
        #expect(response?.header("Retry-After") != nil)
        #expect(serve.waitForExit() == 0)
    }

    @Test("503 with Retry-After when the pipeline stays full; every 200 is accounted delivered or dead-lettered")
    func pipelineFull() async throws {
        let slow = try TestHTTPServer(script: TestHTTPServer.always(.delayed(.seconds(30), .status(200))))
        defer { slow.stop() }
        let config = #"""
        {"serve":{"queueWaitMs":200},"input":{"chunkSize":1,"queueCapacity":1},
         "destinations":[{"name":"hook","type":"webhook","url":"\#(slow.url("/hook"))","batch":{"maxEvents":1},
                          "concurrency":1,"timeoutMs":60000,"retry":{"maxAttempts":1}}]}
        """#
        let serve = try ServeProcess(config: config, arguments: ["--drain-timeout", "1"])
        let client = try RawHTTPClient(port: serve.port)
        var accepted = 0
        var busy: RawHTTPClient.Response?
        for i in 0..<40 {
            guard let response = client.exchange("POST", "/v1/log_event", body: E.logEventBody(1, tag: "full\(i)")) else { break }
            if response.status == 200 { accepted += 1 }
            if response.status == 503 { busy = response; break }
        }
        #expect(busy?.status == 503)
        #expect(busy?.header("Retry-After") == "1")
        #expect(busy?.text.contains("full") == true)
        let status = serve.terminate()
        #expect(status == 1)  // what could not be delivered in the drain timeout is dead-lettered
        let hook = (try serve.summary()["destinations"] as? [String: [String: Any]])?["hook"]
        #expect((hook?["delivered"] as? Int ?? 0) + (hook?["deadLettered"] as? Int ?? 0) == accepted)
        #expect(try serve.summary()["ingested"] as? Int == accepted)
    }
}
