import Foundation
import Testing
@testable import Sluice

/// `serve.maxInFlightBodyBytes`: all connections together hold a bounded number of body bytes.
@Suite("sluice serve: the in-flight body budget")
struct ServeBodyBudgetTests {
    typealias E = ServeEndToEndTests

    /// A log_event body of exactly `size` bytes (padded with spaces inside the object).
    static func body(size: Int, tag: String) -> [UInt8] {
        var body = E.logEventBody(3, tag: tag)
        body.removeLast()
        body += Array(repeating: 0x20, count: size - body.count - 1) + [UInt8(ascii: "}")]
        return body
    }

    @Test("a body that does not fit the budget waits, then gets 503 with Retry-After unread; a later one fits; nothing accepted is lost")
    func overBudgetAnswers503() throws {
        let serve = try ServeProcess(config: #"{"serve":{"maxBodyBytes":1048576,"maxInFlightBodyBytes":1048576,"queueWaitMs":300}}"#)
        // A holds 900 kB of the 1 MiB budget: its head declares the body, and only part of it is sent.
        let holder = try RawHTTPClient(port: serve.port)
        let big = Self.body(size: 900_000, tag: "holder")
        let request = RawHTTPClient.request("POST", "/v1/log_event", body: big)
        let split = request.count - 400_000
        holder.send(Array(request[..<split]))
        usleep(200_000)
        // B declares 300 kB: it cannot fit while A holds its bytes, so it is refused without its body being read.
        let refused = try RawHTTPClient(port: serve.port)
        let t0 = Date()
        refused.send(Array("POST /v1/log_event HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\nExpect: 100-continue\r\n\r\n".utf8))
        let answer = refused.readResponse(timeout: 10)
        let waited = Date().timeIntervalSince(t0)
        #expect(answer?.status == 503, "\(answer?.text ?? "no answer")")
        #expect(answer?.header("Retry-After") == "1")
        #expect(answer?.text.contains("serve.maxInFlightBodyBytes") == true)
        #expect(waited >= 0.25 && waited < 5, "answered after \(waited) s (queueWaitMs is 300)")
        #expect(refused.isClosedByServer())
        // A finishes and is accepted; its bytes go back, so the next large body fits.
        holder.send(Array(request[split...]))
        #expect(holder.readResponse(timeout: 20)?.status == 200)
        let after = try RawHTTPClient(port: serve.port)
        #expect(after.exchange("POST", "/v1/log_event", body: Self.body(size: 300_000, tag: "after"))?.status == 200)
        let metrics = after.exchange("GET", "/metrics")?.text ?? ""
        #expect(metrics.contains(#"sluice_http_requests_total{route="over_budget",status="503"} 1"#), "\(metrics)")
        #expect(serve.terminate() == 0)
        // The two bodies answered 200 hold 3 events each, and both arrived.
        let summary = try serve.summary()
        #expect(summary["ingested"] as? Int == 6, "\(summary)")
        #expect(summary["invalid"] as? Int == 0)
    }

    @Test("a chunked body is counted as it grows: past the budget it gets 503 before the rest is read")
    func chunkedBodyCountsAsItGrows() throws {
        let serve = try ServeProcess(config: #"{"serve":{"maxBodyBytes":4194304,"maxInFlightBodyBytes":4194304,"queueWaitMs":200}}"#)
        var holder: RawHTTPClient? = try RawHTTPClient(port: serve.port)
        holder?.send(Array("POST /v1/log_event HTTP/1.1\r\nHost: x\r\nContent-Length: 3500000\r\n\r\n{".utf8))
        usleep(200_000)
        let chunked = try RawHTTPClient(port: serve.port)
        chunked.send(Array("POST /v1/log_event HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        let chunk = [UInt8](repeating: 0x20, count: 200_000)
        var answer: RawHTTPClient.Response?
        for _ in 0..<10 where answer == nil {
            chunked.send(Array("30d40\r\n".utf8) + chunk + Array("\r\n".utf8))
            answer = chunked.readResponse(timeout: 0.5)
        }
        #expect(answer?.status == 503, "\(answer?.text ?? "no answer")")
        #expect(answer?.header("Retry-After") == "1")
        holder = nil  // closed: shutdown need not wait for its unfinished request
        _ = holder
        #expect(serve.terminate() == 0)
    }

    @Test("the budget: reservations up to the limit, a lone oversize one, release makes room")
    func budgetArithmetic() {
        let budget = BodyBudget(limit: 100)
        #expect(budget.tryReserve(60))
        #expect(!budget.tryReserve(50))
        #expect(budget.tryReserve(40))
        #expect(budget.inUse == 100)
        budget.release(60)
        #expect(budget.tryReserve(50))
        budget.release(90)
        #expect(budget.inUse == 0)
        #expect(budget.tryReserve(150), "alone, a body larger than the budget is still served")
        #expect(!budget.tryReserve(1))
    }

    @Test("serve.maxInFlightBodyBytes parses, defaults to 256 MiB, and is range-checked against maxBodyBytes")
    func configuration() throws {
        #expect(ServeConfiguration().maxInFlightBodyBytes == 256 << 20)
        let parsed = try ConfigurationLoader.parse(#"{"serve":{"maxInFlightBodyBytes":67108864}}"#, environment: [:])
        #expect(parsed.serve.maxInFlightBodyBytes == 64 << 20)
        #expect(ServeConfiguration(maxInFlightBodyBytes: 1000).validationErrors().map(\.keyPath) == ["serve.maxInFlightBodyBytes"])
        let smaller = ServeConfiguration(maxBodyBytes: 8 << 20, maxInFlightBodyBytes: 4 << 20).validationErrors()
        #expect(smaller.map(\.keyPath) == ["serve.maxInFlightBodyBytes"])
        #expect(smaller.first?.message.contains("serve.maxBodyBytes") == true)
        #expect(ServeConfiguration(maxInFlightBodyBytes: 4 << 20).validationErrors().isEmpty)
    }
}
