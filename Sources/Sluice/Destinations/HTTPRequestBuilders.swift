import Foundation

/// How one HTTP destination addresses its requests: the URL, method and headers are worked out once at start-up
/// from the configuration, so turning a batch into a request only attaches the body.
///
/// Every request carries `User-Agent: sluice/<version>` (so an API's operators can tell Sluice traffic apart) and
/// `Content-Type: application/json` (every body the encoders write is one JSON document).
///
/// Statsig `log_event` gets the headers Statsig's SDKs send (``StatsigSDKHeaders``): `STATSIG-SDK-TYPE`,
/// `STATSIG-SDK-VERSION` and `STATSIG-CLIENT-TIME`. The clock header is stamped again on every attempt by
/// ``StatsigClientTimeTransport``, so a retry after a long `Retry-After` does not carry a stale clock.
///
/// With `compression: gzip` (the default for Segment and Statsig) the body is gzipped where the request is
/// built, and `Content-Encoding: gzip` is sent.
struct HTTPRequestTarget: Sendable {
    /// Where a batch goes.
    enum Route: Sendable {
        /// Every batch to the same method and URL.
        case fixed(method: String, url: URL)
        /// Statsig ID lists: the batch key names the list and the operation; `base` is the endpoint without a
        /// trailing slash.
        case idLists(base: String)
    }

    /// The destination's name, for reasons and dry-run output.
    let destination: String
    let route: Route
    /// Sent with every request, in this order.
    let headers: [(name: String, value: String)]
    /// How bodies are encoded on the wire.
    var compression: BodyCompression = .none
    /// Whether requests carry `STATSIG-CLIENT-TIME` (Statsig `log_event`).
    var sendsClientTime = false
    /// Whether the body gets a top-level `sentAt` (Segment's batch API, as its libraries send it).
    var appendsSentAt = false

    /// The request for `batch`, or why there can be none (an ID-list batch without a usable key).
    /// `compressingBody: false` (dry runs) keeps the body readable but still shows the `Content-Encoding`.
    func request(for batch: Batch, compressingBody: Bool = true) -> Result<HTTPRequest, RequestError> {
        var headers = self.headers
        if sendsClientTime { headers.append((StatsigSDKHeaders.clientTime, StatsigSDKHeaders.clientTimeValue())) }
        var body = batch.body
        if appendsSentAt { Self.appendSentAt(to: &body) }
        if compression == .gzip {
            headers.append(("Content-Encoding", "gzip"))
            if compressingBody { body = Gzip.compress(body) }
        }
        switch route {
        case .fixed(let method, let url):
            return .success(HTTPRequest(method: method, url: url, headers: headers, body: body))
        case .idLists(let base):
            guard let key = batch.key, let (method, path) = StatsigIDListRoute.route(forKey: key),
                  let url = URL(string: base + path) else {
                return .failure(RequestError(reason: "no ID list and operation for this batch (batch key \(Self.describe(batch.key)))"))
            }
            return .success(HTTPRequest(method: method, url: url, headers: headers, body: body))
        }
    }

    /// Inserts `,"sentAt":"<now, ISO 8601>"` before the closing brace of a JSON object body.
    static func appendSentAt(to body: inout [UInt8], now: Date = Date()) {
        guard body.last == UInt8(ascii: "}") else { return }
        body.removeLast()
        body.appendLiteral(",\"sentAt\":\"")
        ISO8601.appendTimestamp(milliseconds: Int64((now.timeIntervalSince1970 * 1000).rounded(.down)), to: &body)
        body.appendLiteral("\"}")
    }

    /// Why a batch has no request; becomes the dead-letter reason.
    struct RequestError: Error, Sendable {
        let reason: String
    }

    private static func describe(_ key: [UInt8]?) -> String {
        guard let key else { return "missing" }
        return "\"" + String(decoding: key.prefix(80), as: UTF8.self) + "\""
    }
}

extension HTTPRequestTarget {
    /// `sluice/<version>`.
    static let userAgent = "sluice/\(SluiceVersion.string)"

    /// The target of an HTTP destination, or nil for stdout and file.
    /// - Throws: ``PipelineError`` when the configured endpoint or URL does not make a valid URL.
    init?(_ destination: DestinationConfiguration) throws {
        let json = (name: "Content-Type", value: "application/json")
        let agent = (name: "User-Agent", value: Self.userAgent)
        let name = destination.name
        switch destination.kind {
        case .stdout, .file, .redisStream:
            return nil
        case .segment(let endpoint, let writeKey):
            // HTTP Basic with the write key as user name and an empty password, as Segment's libraries send it.
            let credentials = Data("\(writeKey):".utf8).base64EncodedString()
            self.init(destination: name, route: .fixed(method: "POST", url: try Self.url(endpoint, "/v1/batch", name)),
                      headers: [json, ("Authorization", "Basic \(credentials)"), agent])
            appendsSentAt = true
        case .heap(let endpoint, _):
            // Heap authenticates by the app_id inside the body: no auth header.
            self.init(destination: name, route: .fixed(method: "POST", url: try Self.url(endpoint, "/api/track", name)),
                      headers: [json, agent])
        case .statsig(let endpoint, let apiKey):
            self.init(destination: name, route: .fixed(method: "POST", url: try Self.url(endpoint, "/v1/log_event", name)),
                      headers: [json, ("STATSIG-API-KEY", apiKey), agent] + StatsigSDKHeaders.fixed)
            sendsClientTime = true
        case .statsigIDLists(let endpoint, let apiKey):
            _ = try Self.url(endpoint, "/", name)
            self.init(destination: name, route: .idLists(base: Self.trimmed(endpoint)),
                      headers: [json, ("STATSIG-API-KEY", apiKey), agent])
        case .webhook(let url, let configured):
            guard let target = URL(string: url), let scheme = target.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
                throw PipelineError("destinations \"\(name)\": url is not an http or https URL")
            }
            // Configured headers win over ours (a webhook may want its own Content-Type or User-Agent); sorted by
            // name so every run sends them in the same order.
            let names = Set(configured.keys.map { $0.lowercased() })
            var headers: [(name: String, value: String)] = []
            if !names.contains("content-type") { headers.append(json) }
            headers += configured.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
            if !names.contains("user-agent") { headers.append(agent) }
            self.init(destination: name, route: .fixed(method: "POST", url: target), headers: headers)
        }
        compression = destination.effectiveCompression
    }

    /// `endpoint` without trailing slashes: an endpoint may carry a base path (a proxy), which is kept.
    static func trimmed(_ endpoint: String) -> String {
        var base = Substring(endpoint)
        while base.hasSuffix("/") { base = base.dropLast() }
        return String(base)
    }

    static func url(_ endpoint: String, _ path: String, _ name: String) throws -> URL {
        guard let url = URL(string: trimmed(endpoint) + path), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.host != nil else {
            throw PipelineError("destinations \"\(name)\": endpoint is not an http or https URL")
        }
        return url
    }
}

/// Checks an ID-list batch key before ``StatsigIDListFormat/request(for:)`` turns it into a call, which would
/// otherwise read any key as a removal: only `+list` and `-list` with a non-empty list ID are sent.
enum StatsigIDListRoute {
    /// The method and path for `key`, or nil when it names no operation and list.
    static func route(forKey key: [UInt8]) -> (method: String, path: String)? {
        guard key.count > 1, key[0] == StatsigIDListFormat.add || key[0] == StatsigIDListFormat.remove,
              !StatsigIDListFormat.listID(from: key).isEmpty else { return nil }
        return StatsigIDListFormat.request(for: key)
    }
}
