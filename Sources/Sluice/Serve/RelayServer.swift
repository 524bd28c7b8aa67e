import Foundation

/// `sluice serve`: the HTTP endpoint Statsig and Segment SDKs send to directly, feeding a ``Pipeline``.
///
/// Routes: Statsig `POST /v1/log_event` and `/v1/rgstr` (with CORS preflight), Segment `POST /v1/batch`,
/// `/v1/track`, `/v1/page`, `/v1/screen`, `/v1/identify`, `/v1/group`, `/v1/alias`, and `GET /healthz`,
/// `GET /metrics`. With ``Endpoints/metricsOnly`` it serves only the last two, for runs fed another way
/// (`--metrics-listen`). Keys are checked against the configured lists; with none configured any key is
/// accepted, and only on a loopback address (``init(pipeline:configuration:listen:endpoints:)`` refuses another).
public final class RelayServer: Sendable {
    /// Which routes a server answers.
    public enum Endpoints: Sendable {
        /// The Statsig and Segment ingest endpoints plus `/healthz` and `/metrics`.
        case all
        /// Only `/healthz` and `/metrics`.
        case metricsOnly
    }

    /// The HTTP listener.
    public let http: HTTPServer
    /// Lines for the operator about how keys are checked (printed at start by the CLI; never contain keys).
    public let notices: [String]
    let routes: RelayRoutes

    /// Binds the listener (`listen` overrides `configuration.listen`). Throws when the address is unusable, or
    /// when no keys are configured and the address is not a loopback one.
    public init(pipeline: Pipeline, configuration: ServeConfiguration, listen: String? = nil,
                endpoints: Endpoints = .all) throws(ServeError) {
        let address = try ListenAddress(listen ?? configuration.listen)
        var notices: [String] = []
        let statsig = KeyPolicy(keys: configuration.statsigKeys, loopback: address.isLoopback)
        let segment = KeyPolicy(keys: configuration.segmentWriteKeys, loopback: address.isLoopback)
        if case .all = endpoints {
            if statsig == .noKeysConfigured && segment == .noKeysConfigured {
                throw ServeError("refusing to listen on \(address) without keys: it is not a loopback address, so configure serve.statsigKeys and/or serve.segmentWriteKeys (or listen on 127.0.0.1)")
            }
            for (policy, family, key) in [(statsig, "Statsig", "serve.statsigKeys"), (segment, "Segment", "serve.segmentWriteKeys")] {
                switch policy {
                case .anyKey: notices.append("no \(key) configured: accepting any \(family) key, because \(address.numericHost) is a loopback address")
                case .noKeysConfigured: notices.append("no \(key) configured: \(family) endpoints answer 401")
                case .only(let keys): notices.append("\(family) endpoints accept \(keys.count) configured key\(keys.count == 1 ? "" : "s")")
                }
            }
        }
        let stats = HTTPServerStats()
        let routes = RelayRoutes(pipeline: pipeline, configuration: configuration, statsig: statsig, segment: segment,
                                 trustedProxies: configuration.trustedProxies.compactMap(IPNetwork.init), endpoints: endpoints,
                                 stats: stats)
        self.routes = routes
        let settings = HTTPServerSettings(maxBodyBytes: configuration.maxBodyBytes, maxConnections: configuration.maxConnections,
                                          readTimeoutMs: configuration.readTimeoutMs, idleTimeoutMs: configuration.idleTimeoutMs,
                                          maxInFlightBodyBytes: configuration.maxInFlightBodyBytes,
                                          bodyBudgetWaitMs: configuration.queueWaitMs)
        http = try HTTPServer(address: address, settings: settings, stats: stats) { request, client in
            await routes.handle(request, client: client)
        }
        self.notices = notices
    }

    /// The bound address (`HOST:PORT`, with the real port when 0 was asked for).
    public var address: ListenAddress { http.boundAddress }

    /// Starts accepting connections.
    public func start() { http.start() }

    /// Stops accepting: `/healthz` turns 503, new requests get 503 with `Retry-After`, requests in flight finish.
    public func beginShutdown() {
        routes.draining.store(true, ordering: .releasing)
        http.beginShutdown()
    }

    /// Reports draining on `/healthz` (503) but keeps serving: for the `--metrics-listen` endpoint, which stays up
    /// while the pipeline drains so operators can watch it.
    public func markDraining() {
        routes.draining.store(true, ordering: .releasing)
    }

    /// Waits (up to `timeout`) until every connection has closed; returns whether all did.
    @discardableResult
    public func waitUntilConnectionsClose(timeout: Duration) async -> Bool {
        await http.waitUntilConnectionsClose(timeout: timeout)
    }
}
