import Foundation
import Synchronization

/// The relay's request handling: routing, authentication, body decoding, ingest and the answers SDKs expect.
final class RelayRoutes: Sendable {
    let pipeline: Pipeline
    let configuration: ServeConfiguration
    let statsig: KeyPolicy
    let segment: KeyPolicy
    let trustedProxies: [IPNetwork]
    let endpoints: RelayServer.Endpoints
    let stats: HTTPServerStats
    /// Set when shutdown begins: health turns 503 and ingest answers 503 while in-flight requests finish.
    let draining = Atomic<Bool>(false)

    init(pipeline: Pipeline, configuration: ServeConfiguration, statsig: KeyPolicy, segment: KeyPolicy,
         trustedProxies: [IPNetwork], endpoints: RelayServer.Endpoints, stats: HTTPServerStats) {
        self.pipeline = pipeline
        self.configuration = configuration
        self.statsig = statsig
        self.segment = segment
        self.trustedProxies = trustedProxies
        self.endpoints = endpoints
        self.stats = stats
    }

    static let segmentTypes: [String: String] = [
        "/v1/track": "track", "/v1/page": "page", "/v1/screen": "screen", "/v1/identify": "identify",
        "/v1/group": "group", "/v1/alias": "alias",
    ]

    private var isDraining: Bool { draining.load(ordering: .acquiring) || pipeline.isRefusingInput }

    func handle(_ request: HTTPServerRequest, client: HTTPClientInfo) async -> HTTPServerResponse {
        var path = request.path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        var response: HTTPServerResponse
        let route: String
        let ingestRoutes = endpoints == .all
        if path == "/healthz" || path == "/health" {
            route = "healthz"
            response = method(request, ["GET", "HEAD"]) ?? health()
        } else if path == "/metrics" {
            route = "metrics"
            response = method(request, ["GET", "HEAD"]) ?? metrics()
        } else if ingestRoutes && (path == "/v1/log_event" || path == "/v1/rgstr") {
            route = path == "/v1/log_event" ? "log_event" : "rgstr"
            if request.method == "OPTIONS" {
                response = preflight(request)
            } else if let wrong = method(request, ["POST", "OPTIONS"]) {
                response = wrong
            } else {
                response = await statsigIngest(request, client: client)
            }
            response.headers += cors(request)
        } else if ingestRoutes && (path == "/v1/batch" || path == "/v1/import" || Self.segmentTypes[path] != nil) {
            route = String(path.dropFirst(4))
            if request.method == "OPTIONS" {
                response = preflight(request)
            } else if let wrong = method(request, ["POST", "OPTIONS"]) {
                response = wrong
            } else {
                response = await segmentIngest(request, client: client, type: Self.segmentTypes[path])
            }
            response.headers += cors(request)
        } else {
            route = "other"
            response = .error(404, "no such endpoint: \(path.prefix(200))")
        }
        if request.method == "HEAD" { response.body = [] }
        response.route = route
        return response
    }

    private func method(_ request: HTTPServerRequest, _ allowed: [String]) -> HTTPServerResponse? {
        guard !allowed.contains(request.method) else { return nil }
        return .error(405, "method \(request.method.prefix(20)) not allowed (use \(allowed.joined(separator: " or ")))",
                      headers: [("Allow", allowed.joined(separator: ", "))])
    }

    // MARK: - Health and metrics

    private func health() -> HTTPServerResponse {
        if isDraining { return .json(503, "{\"status\":\"draining\"}", headers: [("Retry-After", "5")]) }
        return .json(200, "{\"status\":\"ok\"}")
    }

    private func metrics() -> HTTPServerResponse {
        let text = PrometheusExposition.render(pipeline.metrics, server: stats.snapshot)
        return HTTPServerResponse(status: 200, headers: [("Content-Type", PrometheusExposition.contentType)], body: Array(text.utf8))
    }

    // MARK: - CORS (browser SDKs: the Statsig JS client's rgstr, analytics.js)

    private func cors(_ request: HTTPServerRequest) -> [(name: String, value: String)] {
        guard let origin = request.header("Origin") else { return [] }
        return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    }

    private func preflight(_ request: HTTPServerRequest) -> HTTPServerResponse {
        let requested = request.header("Access-Control-Request-Headers")
            ?? "content-type, content-encoding, statsig-api-key, statsig-client-time, statsig-sdk-type, statsig-sdk-version, statsig-encoded, authorization"
        var response = HTTPServerResponse(status: 204, headers: [
            ("Access-Control-Allow-Methods", "POST, OPTIONS"), ("Access-Control-Allow-Headers", requested),
            ("Access-Control-Max-Age", "86400"),
        ])
        if request.header("Origin") == nil { response.headers.append(("Access-Control-Allow-Origin", "*")) }
        return response
    }

    // MARK: - Ingest

    private func statsigIngest(_ request: HTTPServerRequest, client: HTTPClientInfo) async -> HTTPServerResponse {
        if isDraining { return unavailable("shutting down") }
        let key = request.header("STATSIG-API-KEY") ?? request.queryParameter("k")
        guard statsig.accepts(key) else {
            return .error(401, statsig == .noKeysConfigured
                ? "no serve.statsigKeys configured on this relay"
                : key == nil ? "missing Statsig key (STATSIG-API-KEY header or k parameter)" : "unknown Statsig key")
        }
        let body: [UInt8]
        switch RequestBody.decoded(request, maxBytes: configuration.maxBodyBytes) {
        case .success(let bytes): body = bytes
        case .failure(let response): return response
        }
        let clientTime = (request.header("STATSIG-CLIENT-TIME") ?? request.queryParameter("t")).flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
        let context = IngestContext(clientIP: clientAddress(request, client), receivedAtMilliseconds: Self.nowMilliseconds(),
                                    clientTimeMilliseconds: clientTime, correctsSegmentSentAt: false)
        return await ingest(body, context: context)
    }

    private func segmentIngest(_ request: HTTPServerRequest, client: HTTPClientInfo, type: String?) async -> HTTPServerResponse {
        if isDraining { return unavailable("shutting down") }
        var body: [UInt8]
        switch RequestBody.decoded(request, maxBytes: configuration.maxBodyBytes) {
        case .success(let bytes): body = bytes
        case .failure(let response): return response
        }
        // Basic auth with the write key as the user name (analytics-python, analytics-node), else `writeKey`
        // in the body (analytics.js in some modes, the HTTP API's documented alternative).
        var key = Self.basicAuthUser(request.header("Authorization"))
        var reader = JSONReader(maxDepth: 128)
        let parsed = (try? reader.parse(body)) != nil
        var hasType = false
        var withoutKey: [UInt8]?
        if parsed {
            body.withUnsafeBytes { raw in
                reader.withView(of: raw) { view in
                    guard view.kind(0) == .object else { return }
                    guard let node = view.member(0, "writeKey") else {
                        hasType = view.member(0, "type") != nil
                        return
                    }
                    if key == nil, view.kind(node) == .string { key = view.unescapedString(node) }
                    hasType = view.member(0, "type") != nil
                    // The engine keeps input byte-exact (an invalid body goes to the dead-letter file as sent), so
                    // the write key leaves the body here, before anything can record it.
                    var writer = JSONWriter(capacity: raw.count)
                    writer.appendByte(UInt8(ascii: "{"))
                    var first = true
                    view.forEachMember(of: 0) { member, value in
                        if view.stringEquals(member, "writeKey") { return }
                        if !first { writer.appendByte(UInt8(ascii: ",")) }
                        first = false
                        writer.appendRaw(view.raw(member))
                        writer.appendByte(UInt8(ascii: ":"))
                        writer.appendRaw(view.raw(value))
                    }
                    writer.appendByte(UInt8(ascii: "}"))
                    withoutKey = writer.bytes
                }
            }
        }
        if let withoutKey { body = withoutKey }
        guard segment.accepts(key) else {
            return .error(401, segment == .noKeysConfigured
                ? "no serve.segmentWriteKeys configured on this relay"
                : key == nil ? "missing write key (Basic auth or writeKey in the body)" : "unknown write key")
        }
        // /v1/track and friends take one message whose type is the path.
        if let type, parsed, !hasType, let brace = body.firstIndex(of: UInt8(ascii: "{")) {
            let next = body[(brace + 1)...].first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
            let member = "\"type\":\"\(type)\"" + (next == UInt8(ascii: "}") ? "" : ",")
            body.insert(contentsOf: Array(member.utf8), at: brace + 1)
        }
        let context = IngestContext(clientIP: clientAddress(request, client), receivedAtMilliseconds: Self.nowMilliseconds(),
                                    correctsSegmentSentAt: true)
        return await ingest(body, context: context)
    }

    private func ingest(_ body: [UInt8], context: IngestContext) async -> HTTPServerResponse {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            return .error(400, "empty body (expected a JSON request body)")
        }
        // Wait a moment for room rather than queueing without bound behind a slow destination; past that,
        // tell the SDK to retry later (both SDK families retry 503 with backoff).
        let deadline = ContinuousClock.now + .milliseconds(configuration.queueWaitMs)
        while !pipeline.hasIngestCapacity {
            if ContinuousClock.now >= deadline { return unavailable("pipeline is full") }
            try? await Task.sleep(for: .milliseconds(5))
        }
        let result = await pipeline.ingest(body, context: context)
        // The client learns only which kind of refusal it was; the spool's own error (paths, errno) is logged.
        if result.refused { return unavailable(result.refusalReason ?? "shutting down") }
        if result.invalid.isEmpty { return .json(200, "{\"success\":true}") }
        return Self.invalidAnswer(result)
    }

    private func unavailable(_ why: String) -> HTTPServerResponse {
        .error(503, why, headers: [("Retry-After", why == "pipeline is full" ? "1" : "5")])
    }

    /// 400 naming every invalid event (up to 100) and how many were accepted anyway.
    static func invalidAnswer(_ result: IngestResult) -> HTTPServerResponse {
        var w = JSONWriter(capacity: 256)
        w.appendRaw("{\"success\":false,\"error\":")
        let described = result.invalid.count == 1 && result.invalid[0].index == nil
            ? result.invalid[0].reason
            : "\(result.invalid.count) invalid event\(result.invalid.count == 1 ? "" : "s")"
        w.appendString(described)
        w.appendRaw(",\"accepted\":")
        w.appendInt(Int64(result.accepted))
        w.appendRaw(",\"invalid\":[")
        for (i, invalid) in result.invalid.prefix(100).enumerated() {
            if i > 0 { w.appendByte(UInt8(ascii: ",")) }
            w.appendRaw("{")
            if let index = invalid.index {
                w.appendRaw("\"index\":")
                w.appendInt(Int64(index))
                w.appendByte(UInt8(ascii: ","))
            } else if invalid.line > 1 {
                w.appendRaw("\"line\":")
                w.appendInt(Int64(invalid.line))
                w.appendByte(UInt8(ascii: ","))
            }
            w.appendRaw("\"reason\":")
            w.appendString(invalid.reason)
            w.appendByte(UInt8(ascii: "}"))
        }
        w.appendRaw("]}")
        return HTTPServerResponse(status: 400, headers: [("Content-Type", "application/json")], body: w.bytes)
    }

    private func clientAddress(_ request: HTTPServerRequest, _ client: HTTPClientInfo) -> String {
        IPNetwork.clientAddress(peer: client.address, forwardedFor: request.header("X-Forwarded-For"), trusted: trustedProxies)
    }

    static func basicAuthUser(_ header: String?) -> String? {
        guard let header, header.count > 6, header.prefix(6).lowercased() == "basic " else { return nil }
        guard let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)) else { return nil }
        let credentials = String(decoding: data, as: UTF8.self)
        let user = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return user.isEmpty ? nil : user
    }

    static func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
