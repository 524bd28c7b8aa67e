import Foundation
import Synchronization
import Testing
@testable import Sluice

/// `sluice serve` as a real process on 127.0.0.1, driven over raw TCP.
@Suite("sluice serve: endpoints, auth and answers")
struct ServeEndToEndTests {
    static func logEventBody(_ count: Int, tag: String, time: Int64 = 1_795_331_233_000) -> [UInt8] {
        let events = (0..<count).map { #"{"eventName":"e_\#(tag)_\#($0)","user":{"userID":"u_\#($0)"},"time":\#(time + Int64($0))}"# }
        return Array(#"{"events":[\#(events.joined(separator: ","))],"statsigMetadata":{"sdkType":"py-server"}}"#.utf8)
    }

    static func basic(_ key: String) -> (String, String) {
        ("Authorization", "Basic " + Data("\(key):".utf8).base64EncodedString())
    }

    static func segmentMessage(_ type: String, _ tag: String) -> String {
        switch type {
        case "track": #"{"type":"track","userId":"u1","event":"Order Completed \#(tag)","properties":{"revenue":3},"messageId":"m-\#(tag)"}"#
        case "page": #"{"type":"page","userId":"u1","name":"Home \#(tag)","messageId":"m-\#(tag)"}"#
        case "screen": #"{"type":"screen","userId":"u1","name":"Main \#(tag)","messageId":"m-\#(tag)"}"#
        case "identify": #"{"type":"identify","userId":"u1","traits":{"plan":"pro"},"messageId":"m-\#(tag)"}"#
        case "group": #"{"type":"group","userId":"u1","groupId":"g1","messageId":"m-\#(tag)"}"#
        default: #"{"type":"alias","userId":"u1","previousId":"anon-1","messageId":"m-\#(tag)"}"#
        }
    }

    @Test("every endpoint takes plain and gzip bodies (header, gz=1 or magic bytes) and answers {\"success\":true}")
    func everyEndpointPlainAndGzip() throws {
        let serve = try ServeProcess()
        let client = try RawHTTPClient(port: serve.port)
        var sent = 0
        func expectSuccess(_ response: RawHTTPClient.Response?, _ what: String) {
            #expect(response?.status == 200, "\(what): \(response?.text ?? "no answer")")
            #expect(response?.text == #"{"success":true}"#, "\(what)")
        }
        for gzip in [false, true] {
            let tag = gzip ? "gz" : "plain"
            let body = Self.logEventBody(3, tag: "log_\(tag)")
            expectSuccess(client.exchange("POST", "/v1/log_event", headers: [("STATSIG-API-KEY", "secret-any"), ("Content-Type", "application/json")]
                + (gzip ? [("Content-Encoding", "gzip")] : []), body: gzip ? Gzip.compress(body) : body), "log_event \(tag)")
            sent += 3
            // The JS client: key and compression in the query, no Content-Encoding, text/plain.
            let rgstr = Self.logEventBody(2, tag: "rgstr_\(tag)")
            expectSuccess(client.exchange("POST", "/v1/rgstr?k=client-key&st=javascript-client" + (gzip ? "&gz=1" : ""),
                                          headers: [("Content-Type", "text/plain")], body: gzip ? Gzip.compress(rgstr) : rgstr), "rgstr \(tag)")
            sent += 2
            let track = Self.segmentMessage("track", "b1" + tag), page = Self.segmentMessage("page", "b2" + tag)
            let batch = Array(#"{"batch":[\#(track),\#(page)]}"#.utf8)
            expectSuccess(client.exchange("POST", "/v1/batch", headers: [Self.basic("wk")] + (gzip ? [("Content-Encoding", "gzip")] : []),
                                          body: gzip ? Gzip.compress(batch) : batch), "batch \(tag)")
            sent += 2
            for type in ["track", "page", "screen", "identify", "group", "alias"] {
                // The single-message endpoints: type implied by the path, key in the body.
                var message = Self.segmentMessage(type, type + tag)
                message = message.replacingOccurrences(of: #""type":"\#(type)","#, with: #""writeKey":"wk","#)
                let bytes = Array(message.utf8)
                expectSuccess(client.exchange("POST", "/v1/\(type)", headers: gzip ? [("Content-Encoding", "gzip")] : [],
                                              body: gzip ? Gzip.compress(bytes) : bytes), "\(type) \(tag)")
                sent += 1
            }
        }
        // A beacon: no headers at all beyond the framing, gzip recognised by its magic bytes.
        let beacon = Gzip.compress(Self.logEventBody(1, tag: "beacon"))
        client.send(Array("POST /v1/rgstr?k=client-key HTTP/1.1\r\nContent-Length: \(beacon.count)\r\n\r\n".utf8) + beacon)
        expectSuccess(client.readResponse(), "beacon")
        sent += 1
        let health = client.exchange("GET", "/healthz")
        #expect(health?.status == 200)
        #expect(serve.terminate() == 0, "\(serve.stderr)")
        let summary = try serve.summary()
        #expect(summary["ingested"] as? Int == sent)
        #expect(summary["invalid"] as? Int == 0)
        let names = Set(serve.deliveredEvents().compactMap { $0["eventName"] as? String })
        for expected in ["e_log_plain_0", "e_log_gz_2", "e_rgstr_plain_1", "e_rgstr_gz_0", "e_beacon_0", "segment_track:Order Completed b1gz",
                         "segment_track:Order Completed trackplain"] {
            #expect(names.contains(expected), "\(expected) missing from \(names.sorted())")
        }
    }

    @Test("keys: configured Statsig keys (header or k) and Segment write keys (Basic or body) are required; 401 otherwise; keys never printed")
    func authentication() throws {
        let config = #"{"serve":{"statsigKeys":["secret-statsig-key-1","client-statsig-key-2"],"segmentWriteKeys":["segment-write-key-3"]}}"#
        let serve = try ServeProcess(config: config)
        let client = try RawHTTPClient(port: serve.port)
        let body = Self.logEventBody(1, tag: "auth")
        #expect(client.exchange("POST", "/v1/log_event", headers: [("STATSIG-API-KEY", "secret-statsig-key-1")], body: body)?.status == 200)
        #expect(client.exchange("POST", "/v1/rgstr?k=client-statsig-key-2", body: Self.logEventBody(1, tag: "auth2"))?.status == 200)
        let wrong = client.exchange("POST", "/v1/log_event", headers: [("STATSIG-API-KEY", "not-a-key")], body: body)
        #expect(wrong?.status == 401)
        #expect(wrong?.text.contains("not-a-key") == false)
        #expect(client.exchange("POST", "/v1/log_event", body: body)?.status == 401)
        let batch = #"{"batch":[\#(Self.segmentMessage("track", "a1"))]}"#
        #expect(client.exchange("POST", "/v1/batch", headers: [Self.basic("segment-write-key-3")], body: Array(batch.utf8))?.status == 200)
        #expect(client.exchange("POST", "/v1/batch", headers: [Self.basic("segment-wrong")], body: Array(batch.utf8))?.status == 401)
        let inBody = #"{"writeKey":"segment-write-key-3","batch":[\#(Self.segmentMessage("track", "a2"))]}"#
        #expect(client.exchange("POST", "/v1/batch", body: Array(inBody.utf8))?.status == 200)
        #expect(client.exchange("POST", "/v1/batch", body: Array(batch.utf8))?.status == 401)
        // An invalid batch that carries its write key goes to the dead-letter file: the key must not.
        let badWithKey = #"{"writeKey":"segment-write-key-3","batch":"not an array"}"#
        #expect(client.exchange("POST", "/v1/batch", body: Array(badWithKey.utf8))?.status == 400)
        #expect(serve.terminate() == 0)
        let summary = try serve.summary()
        #expect(summary["ingested"] as? Int == 4)
        let everything = serve.stderr + serve.stdout + ((try? String(contentsOfFile: serve.deadLetterPath, encoding: .utf8)) ?? "")
        for secret in ["secret-statsig-key-1", "client-statsig-key-2", "segment-write-key-3"] {
            #expect(!everything.contains(secret), "\(secret) leaked")
        }
        #expect(everything.contains("not an array") || everything.contains("must be an array"))
    }

    @Test("error answers: 400 with reasons and invalid event indexes, 404, 405, 413 on the wire and after gunzip, 415")
    func errorStatuses() throws {
        let serve = try ServeProcess(config: #"{"serve":{"maxBodyBytes":4096}}"#)
        let client = try RawHTTPClient(port: serve.port)
        let notJSON = client.exchange("POST", "/v1/log_event", body: Array("{nope".utf8))
        #expect(notJSON?.status == 400)
        #expect(notJSON?.json?["error"] as? String != nil)
        let mixed = Array(#"{"events":[{"eventName":"ok"},{"eventName":""},{"eventName":"ok2"},7]}"#.utf8)
        let partly = client.exchange("POST", "/v1/log_event", body: mixed)
        #expect(partly?.status == 400)
        #expect(partly?.json?["accepted"] as? Int == 2)
        let invalid = partly?.json?["invalid"] as? [[String: Any]] ?? []
        #expect(invalid.compactMap { $0["index"] as? Int } == [1, 3])
        #expect(client.exchange("POST", "/v1/log_event", body: [])?.status == 400)
        #expect(client.exchange("GET", "/v1/nothing")?.status == 404)
        let wrongMethod = client.exchange("GET", "/v1/log_event")
        #expect(wrongMethod?.status == 405)
        #expect(wrongMethod?.header("Allow")?.contains("POST") == true)
        #expect(client.exchange("POST", "/v1/log_event", headers: [("Content-Encoding", "br")], body: Array("{}".utf8))?.status == 415)
        // Over the limit as sent: answered before the body is read, then the connection closes.
        let big = client.exchange("POST", "/v1/log_event", body: [UInt8](repeating: 0x20, count: 5000))
        #expect(big?.status == 413)
        // Under the limit compressed, over it decompressed (a small bomb).
        let bomb = Gzip.compress(Array(#"{"events":[{"eventName":"x","metadata":{"pad":""#.utf8) + [UInt8](repeating: 0x61, count: 100_000) + Array(#""}}]}"#.utf8))
        #expect(bomb.count < 4096)
        let second = try RawHTTPClient(port: serve.port)
        let bombed = second.exchange("POST", "/v1/log_event", headers: [("Content-Encoding", "gzip")], body: bomb)
        #expect(bombed?.status == 413)
        #expect(bombed?.text.contains("decompressed") == true)
        #expect(serve.terminate() == 0)
        let summary = try serve.summary()
        #expect(summary["ingested"] as? Int == 2)
    }

    @Test("keep-alive: many requests on one connection, one connection in /metrics, Prometheus counters per route")
    func keepAliveAndMetrics() throws {
        let serve = try ServeProcess()
        let client = try RawHTTPClient(port: serve.port)
        for i in 0..<3 {
            let response = client.exchange("POST", "/v1/log_event", body: Self.logEventBody(2, tag: "ka\(i)"))
            #expect(response?.status == 200)
            #expect(response?.header("Connection") == nil)
        }
        let metrics = client.exchange("GET", "/metrics")
        #expect(metrics?.status == 200)
        #expect(metrics?.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = metrics?.text ?? ""
        #expect(text.contains("sluice_http_connections_accepted_total 1\n"), "\(text)")
        #expect(text.contains(#"sluice_http_requests_total{route="log_event",status="200"} 3"#))
        #expect(text.contains("sluice_events_ingested_total 6\n"))
        #expect(text.contains(#"sluice_destination_events_total{destination="stdout",outcome="delivered"}"#))
        #expect(text.contains("# TYPE sluice_http_request_duration_seconds histogram"))
        // Connection: close is honoured.
        let last = client.exchange("GET", "/healthz", headers: [("Connection", "close")])
        #expect(last?.status == 200)
        #expect(last?.header("Connection") == "close")
        #expect(client.isClosedByServer())
        #expect(serve.terminate() == 0)
    }

    @Test("OPTIONS preflight gets CORS headers; answers to browsers carry Access-Control-Allow-Origin")
    func cors() throws {
        let serve = try ServeProcess()
        let client = try RawHTTPClient(port: serve.port)
        let preflight = client.exchange("OPTIONS", "/v1/rgstr", headers: [("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "statsig-api-key,statsig-client-time,content-type")])
        #expect(preflight?.status == 204)
        #expect(preflight?.header("Access-Control-Allow-Origin") == "https://app.example")
        #expect(preflight?.header("Access-Control-Allow-Headers")?.contains("statsig-api-key") == true)
        #expect(preflight?.header("Access-Control-Allow-Methods")?.contains("POST") == true)
        let post = client.exchange("POST", "/v1/rgstr?k=client-x", headers: [("Origin", "https://app.example")], body: Self.logEventBody(1, tag: "cors"))
        #expect(post?.status == 200)
        #expect(post?.header("Access-Control-Allow-Origin") == "https://app.example")
        #expect(serve.terminate() == 0)
    }
}
