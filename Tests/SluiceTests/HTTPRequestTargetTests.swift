import Foundation
import Testing
@testable import Sluice

/// Each destination's request, byte for byte, as it reaches a real server: method, path, auth and headers.
@Suite("HTTP destination requests")
struct HTTPRequestTargetTests {
    typealias T = HTTPTestSupport

    static func batch(_ body: String, key: String? = nil) -> Batch {
        Batch(body: Array(body.utf8), eventCount: 1, members: [], oldestCreatedAt: 0, key: key.map { Array($0.utf8) })
    }

    /// Sends one batch through the destination's real sender (URLSession) to `server` and returns what arrived.
    static func sendOne(_ kind: DestinationConfiguration.Kind, body: String = "{\"x\":1}", key: String? = nil,
                        server: TestHTTPServer) async throws -> RecordedRequest {
        let destination = T.destination("d", kind)
        let target = try #require(try HTTPRequestTarget(destination))
        let sender = HTTPBatchSender(target: target, destination: destination, transport: nil)
        let outcome = await sender.send(batch(body, key: key), abandon: { false })
        #expect(outcome == .delivered(attempts: 1))
        #expect(server.requests.count == 1)
        return try #require(server.requests.first)
    }

    @Test("Segment: POST /v1/batch with Basic auth of the write key and an empty password")
    func segment() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let request = try await Self.sendOne(.segment(endpoint: T.endpoint(server) + "/", writeKey: T.writeKey),
                                             body: "{\"batch\":[]}", server: server)
        #expect(request.method == "POST")
        #expect(request.path == "/v1/batch")
        // base64("segment-write-key-ABCDEFGH:")
        #expect(request.header("Authorization") == "Basic c2VnbWVudC13cml0ZS1rZXktQUJDREVGR0g6")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("User-Agent") == "sluice/\(SluiceVersion.string)")
        #expect(request.header("STATSIG-API-KEY") == nil)
        // The batch as built, with sentAt added when the request is: {"batch":[],"sentAt":"<ISO 8601 now>"}.
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(body.hasPrefix(#"{"batch":[],"sentAt":""#) && body.hasSuffix(#"Z"}"#) && body.count == 48)
        let sentAt = try #require(ISO8601.parseMilliseconds(String(body.dropFirst(22).prefix(24))))
        #expect(abs(sentAt - Int64(Date().timeIntervalSince1970 * 1000)) < 60_000)
        // gzip by default: the wire carries the compressed bytes of exactly that body.
        #expect(request.header("Content-Encoding") == "gzip")
        #expect(request.wireBody == Gzip.compress(request.body))
    }

    @Test("Heap: POST /api/track with no auth header (the app id travels in the body)")
    func heap() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let body = "{\"app_id\":\"\(T.heapAppID)\",\"events\":[]}"
        let request = try await Self.sendOne(.heap(endpoint: T.endpoint(server), appID: T.heapAppID), body: body, server: server)
        #expect(request.method == "POST")
        #expect(request.path == "/api/track")
        #expect(request.header("Authorization") == nil)
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("User-Agent") == "sluice/\(SluiceVersion.string)")
        #expect(request.body == Array(body.utf8))
        // Heap is not compressed unless configured.
        #expect(request.header("Content-Encoding") == nil)
        #expect(request.wireBody == Array(body.utf8))
    }

    @Test("Statsig: POST /v1/log_event with STATSIG-API-KEY, the SDK type and version and the client time of the attempt")
    func statsig() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let request = try await Self.sendOne(.statsig(endpoint: T.endpoint(server), apiKey: T.statsigKey), server: server)
        let after = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(request.method == "POST")
        #expect(request.path == "/v1/log_event")
        #expect(request.header("STATSIG-API-KEY") == T.statsigKey)
        #expect(request.header("STATSIG-SDK-TYPE") == "sluice")
        #expect(request.header("STATSIG-SDK-VERSION") == SluiceVersion.string)
        let clientTime = try #require(request.header("STATSIG-CLIENT-TIME").flatMap { Int64($0) })
        #expect(clientTime >= before && clientTime <= after)
        #expect(request.headers.filter { $0.name.lowercased() == "statsig-client-time" }.count == 1)
        #expect(request.header("Content-Encoding") == "gzip")
        #expect(Gzip.hasMagic(request.wireBody))
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("Authorization") == nil)
    }

    @Test("an endpoint with a base path keeps it: proxies in front of an API work")
    func endpointBasePath() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let request = try await Self.sendOne(.statsig(endpoint: T.endpoint(server) + "/proxy/statsig//", apiKey: T.statsigKey),
                                             server: server)
        #expect(request.path == "/proxy/statsig/v1/log_event")
    }

    @Test("Statsig ID lists: the batch key picks the list and the operation (add PATCH, remove DELETE)")
    func idLists() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let kind = DestinationConfiguration.Kind.statsigIDLists(endpoint: T.endpoint(server), apiKey: T.statsigKey)
        let add = try await Self.sendOne(kind, body: "{\"ids\":[\"u1\"]}", key: "+vip_users", server: server)
        #expect(add.method == "PATCH")
        #expect(add.path == "/console/v1/segments/vip_users/id_list")
        #expect(add.header("STATSIG-API-KEY") == T.statsigKey)

        let destination = T.destination("d", kind)
        let target = try #require(try HTTPRequestTarget(destination))
        guard case .success(let remove) = target.request(for: Self.batch("{}", key: "-a b/c")) else {
            Issue.record("expected a request")
            return
        }
        #expect(remove.method == "DELETE")
        #expect(remove.url.absoluteString == T.endpoint(server) + "/console/v1/segments/a%20b%2Fc/id_list")
    }

    @Test("Statsig ID lists: a batch without a usable key fails without sending anything")
    func idListWithoutKey() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let destination = T.destination("d", .statsigIDLists(endpoint: T.endpoint(server), apiKey: T.statsigKey))
        let sender = HTTPBatchSender(target: try #require(try HTTPRequestTarget(destination)), destination: destination, transport: nil)
        for key in [nil, "", "xvip", "+", "-"] as [String?] {
            let outcome = await sender.send(Self.batch("{}", key: key), abandon: { false })
            guard case .failed(let reason, 0) = outcome else {
                Issue.record("expected failure without attempts, got \(outcome)")
                continue
            }
            #expect(reason.hasPrefix("no ID list and operation for this batch"))
        }
        #expect(server.requests.isEmpty)
    }

    @Test("webhook: POST to the URL with the configured headers, which may override ours")
    func webhook() async throws {
        let server = try TestHTTPServer(script: TestHTTPServer.always(TestHTTPServer.ok))
        defer { server.stop() }
        let kind = DestinationConfiguration.Kind.webhook(
            url: T.endpoint(server) + "/hooks/events?source=sluice",
            headers: ["Authorization": "Bearer \(T.hookToken)", "X-Team": "growth", "content-type": "application/x-ndjson"])
        let request = try await Self.sendOne(kind, body: "{\"data\":[]}", server: server)
        #expect(request.method == "POST")
        #expect(request.path == "/hooks/events?source=sluice")
        #expect(request.header("Authorization") == "Bearer \(T.hookToken)")
        #expect(request.header("X-Team") == "growth")
        #expect(request.headers.filter { $0.name.lowercased() == "content-type" }.map(\.value) == ["application/x-ndjson"])
        #expect(request.header("User-Agent") == "sluice/\(SluiceVersion.string)")
    }

    @Test("stdout and file destinations have no HTTP target; a non-HTTP endpoint is refused at start-up")
    func nonHTTP() throws {
        #expect(try HTTPRequestTarget(DestinationConfiguration(name: "o", kind: .stdout())) == nil)
        #expect(throws: PipelineError.self) {
            _ = try HTTPRequestTarget(DestinationConfiguration(name: "s", kind: .statsig(endpoint: "ftp://x", apiKey: "k")))
        }
        #expect(throws: PipelineError.self) {
            _ = try HTTPRequestTarget(DestinationConfiguration(name: "w", kind: .webhook(url: "file:///etc/passwd")))
        }
    }
}
