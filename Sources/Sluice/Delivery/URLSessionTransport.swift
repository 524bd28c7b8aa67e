import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// ``HTTPTransport`` over Foundation's `URLSession` (libcurl on Linux).
///
/// One ephemeral session per transport: no cookies, no cache, no credential store, but connections are kept
/// alive and reused between requests to the same host, which is what matters for batch traffic. Create one
/// transport per destination and share it between that destination's workers.
///
/// The request is bridged from `dataTask(with:completionHandler:)` rather than the async `data(for:)`, so that
/// two guarantees hold on every platform: cancelling the calling task cancels the `URLSessionTask`, and the
/// timeout is a hard deadline for the whole exchange (libcurl's own timeout is also set, as a backstop).
///
/// The deadline also bounds a Linux quirk: when a reused keep-alive connection dies before any answer, libcurl
/// silently re-sends on a fresh connection, but swift-corelibs-foundation cannot rewind a `Data` body, so that
/// hidden re-send stalls without its body. Such an attempt ends as ``HTTPTransportError/timedOut`` and the
/// caller's retry goes out cleanly. (A rewindable body stream would avoid the stall but makes URLSession send
/// `Transfer-Encoding: chunked` next to `Content-Length`, which strict servers reject.)
public struct URLSessionTransport: HTTPTransport {
    /// The underlying session, exposed so embedders can inspect or invalidate it.
    public let session: URLSession

    /// Creates a transport with its own ephemeral session.
    /// - Parameter maxConnectionsPerHost: connections kept per host; match it to the destination's
    ///   `concurrency` so every worker can have a connection of its own.
    public init(maxConnectionsPerHost: Int = 8) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = max(1, maxConnectionsPerHost)
        configuration.httpShouldSetCookies = false
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.urlCredentialStorage = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        self.session = URLSession(configuration: configuration)
    }

    /// Uses a session the caller configured (proxies, TLS settings, ...).
    public init(session: URLSession) {
        self.session = session
    }

    /// Lets requests in flight finish, then releases the session's connections. Call once at shutdown.
    public func invalidate() {
        session.finishTasksAndInvalidate()
    }

    /// Sends `request` once; see ``HTTPTransport/send(_:timeout:)``.
    public func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        let urlRequest = Self.urlRequest(for: request, timeout: timeout)
        let flight = Flight()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
                let task = session.dataTask(with: urlRequest) { data, response, error in
                    flight.finish(Self.result(data: data, response: response, error: error))
                }
                if flight.start(continuation: continuation, task: task) {
                    // A detached sleeper, not a child task: the continuation's closure is synchronous.
                    flight.setDeadline(Task.detached {
                        try? await Task.sleep(for: timeout)
                        if !Task.isCancelled { flight.finish(.failure(HTTPTransportError.timedOut)) }
                    })
                    task.resume()
                }
            }
        } onCancel: {
            flight.finish(.failure(HTTPTransportError.cancelled))
        }
    }

    static func urlRequest(for request: HTTPRequest, timeout: Duration) -> URLRequest {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        // libcurl's timeout is only a backstop, set past our own deadline: swift-corelibs-foundation truncates
        // timeoutInterval to whole seconds, so 0.3 s becomes an immediate timeout and 1.5 s becomes 1 s.
        urlRequest.timeoutInterval = (Self.timeInterval(timeout)).rounded(.up) + 1
        urlRequest.cachePolicy = .reloadIgnoringLocalCacheData
        for header in request.headers {
            urlRequest.addValue(header.value, forHTTPHeaderField: header.name)
        }
        if !request.body.isEmpty || request.method != "GET" {
            urlRequest.httpBody = Data(request.body)
        }
        return urlRequest
    }

    static func timeInterval(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    static func result(data: Data?, response: URLResponse?, error: (any Error)?) -> Result<HTTPResponse, any Error> {
        if let error {
            return .failure(transportError(error))
        }
        guard let http = response as? HTTPURLResponse else {
            return .failure(HTTPTransportError.invalidResponse)
        }
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            guard let name = key as? String else { continue }
            headers[name.lowercased()] = (value as? String) ?? "\(value)"
        }
        return .success(HTTPResponse(status: http.statusCode, headers: headers, body: data.map { [UInt8]($0) } ?? []))
    }

    /// Maps Foundation's errors to short, URL-free descriptions of what happened (URLError's own text embeds
    /// the URL, which can carry keys in its query, and libcurl's embeds the host, so neither is copied).
    static func transportError(_ error: any Error) -> HTTPTransportError {
        guard let urlError = error as? URLError else {
            return .connectionFailed("network error \((error as NSError).code)")
        }
        switch urlError.code {
        case .timedOut: return .timedOut
        case .cancelled: return .cancelled
        // swift-corelibs-foundation reports only ECONNREFUSED as cannotConnectToHost.
        case .cannotConnectToHost: return .connectionFailed(TransportFailure.refused)
        case .cannotFindHost, .dnsLookupFailed: return .connectionFailed(TransportFailure.dns)
        // ... and ECONNRESET while sending or receiving as networkConnectionLost.
        case .networkConnectionLost: return .connectionFailed(TransportFailure.reset)
        // libcurl's CURLE_GOT_NOTHING: the connection closed before any byte of a response.
        case .badServerResponse: return .connectionFailed(TransportFailure.nothing)
        case .notConnectedToInternet: return .connectionFailed(TransportFailure.unreachable)
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot, .clientCertificateRejected:
            return .connectionFailed("TLS failure (URLError \(urlError.code.rawValue))")
        case .unsupportedURL, .badURL: return .connectionFailed("unsupported URL")
        default:
            // Everything else arrives as URLError -1 with libcurl's message as the description: classify that.
            return .connectionFailed(TransportFailure.classify(curlMessage: urlError.localizedDescription)
                ?? "network error (URLError \(urlError.code.rawValue))")
        }
    }
}

/// The state of one exchange, shared by the completion handler, the deadline and the cancellation handler;
/// whichever comes first resumes the continuation, the others find it gone.
private final class Flight: Sendable {
    private struct State {
        var continuation: CheckedContinuation<HTTPResponse, any Error>?
        var task: URLSessionDataTask?
        var deadline: Task<Void, Never>?
        /// Set by the first finisher; one that arrives before `start` (cancellation) leaves its result here.
        var early: Result<HTTPResponse, any Error>?
        var done = false
    }

    private let state = Mutex(State())

    /// Registers the pieces; returns false (and resumes at once) when the exchange already finished, i.e. the
    /// task was cancelled before the request started.
    func start(continuation: CheckedContinuation<HTTPResponse, any Error>, task: URLSessionDataTask) -> Bool {
        let early: Result<HTTPResponse, any Error>? = state.withLock { state in
            if state.done { return state.early ?? .failure(HTTPTransportError.cancelled) }
            state.continuation = continuation
            state.task = task
            return nil
        }
        if let early {
            // Cancel rather than drop the never-started task, so the session does not keep it registered.
            task.cancel()
            continuation.resume(with: early)
            return false
        }
        return true
    }

    /// Keeps the deadline sleeper so finishing first can cancel it (and free it) instead of letting it sleep on.
    func setDeadline(_ deadline: Task<Void, Never>) {
        let finished = state.withLock { state in
            if state.done { return true }
            state.deadline = deadline
            return false
        }
        if finished { deadline.cancel() }
    }

    func finish(_ result: Result<HTTPResponse, any Error>) {
        let taken = state.withLock { state -> (CheckedContinuation<HTTPResponse, any Error>?, URLSessionDataTask?, Task<Void, Never>?)? in
            if state.done { return nil }
            state.done = true
            if state.continuation == nil { state.early = result }
            defer { state.continuation = nil; state.task = nil; state.deadline = nil }
            return (state.continuation, state.task, state.deadline)
        }
        guard let (continuation, task, deadline) = taken else { return }
        deadline?.cancel()
        if case .failure = result { task?.cancel() }
        continuation?.resume(with: result)
    }
}

