import Foundation

/// One HTTP request as a destination builds it: everything a transport needs, nothing tied to a client library.
///
/// Headers are an ordered list rather than a dictionary so a destination controls order and may repeat a name.
/// `description`, `debugDescription` and `dump` never show header values, because destinations put secrets
/// (`Authorization`, `STATSIG-API-KEY`) there and requests end up in logs.
public struct HTTPRequest: Sendable {
    /// The request method, e.g. `POST`.
    public var method: String
    /// The absolute `http` or `https` URL.
    public var url: URL
    /// Header fields in the order they are sent; names are case-insensitive on the wire.
    public var headers: [(name: String, value: String)]
    /// The encoded body (already compressed if the destination sets `Content-Encoding`).
    public var body: [UInt8]

    /// Creates a request; `method` defaults to `POST` because every Sluice destination posts batches.
    public init(method: String = "POST", url: URL, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// The value of the first header named `name` (case-insensitive), if any.
    public func headerValue(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

extension HTTPRequest: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// A log-safe summary: method, URL without query, header names only, body size.
    public var description: String {
        var shown = url
        if var parts = URLComponents(url: url, resolvingAgainstBaseURL: false) {
            // Query strings sometimes carry keys too; the path is enough to identify the endpoint.
            parts.query = nil
            parts.user = nil
            parts.password = nil
            shown = parts.url ?? url
        }
        let names = headers.map(\.name).joined(separator: ", ")
        return "\(method) \(shown.absoluteString) [headers: \(names)] (\(body.count) bytes)"
    }

    /// Same as ``description``: a debug print must not leak header values either.
    public var debugDescription: String { description }

    /// Keeps `dump(request)` from printing header values.
    public var customMirror: Mirror {
        Mirror(self, children: ["summary": description], displayStyle: .struct)
    }
}

/// The answer to an ``HTTPRequest``.
public struct HTTPResponse: Sendable, Equatable {
    /// The status code, e.g. 200.
    public var status: Int
    /// Header fields keyed by lower-cased name, so lookups need not care how the server spelled them.
    public var headers: [String: String]
    /// The response body bytes.
    public var body: [UInt8]

    /// Creates a response; header names are lower-cased here so every transport gives the same keys.
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        var lowered: [String: String] = [:]
        lowered.reserveCapacity(headers.count)
        for (name, value) in headers { lowered[name.lowercased()] = value }
        self.headers = lowered
        self.body = body
    }
}

/// Something that can send one ``HTTPRequest`` and return its response: URLSession in production, anything in
/// embeddings that bring their own client.
///
/// A transport sends exactly once; retries belong to ``HTTPDelivery``. Non-2xx statuses are responses, not errors:
/// a transport throws only when there is no response at all (network failure, timeout, cancellation).
public protocol HTTPTransport: Sendable {
    /// Sends `request` and waits at most `timeout` for the whole response.
    /// - Throws: ``HTTPTransportError`` (or any error) when no response arrived; `CancellationError` semantics
    ///   are reported as ``HTTPTransportError/cancelled``.
    func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse
}

/// Why a transport produced no response. Descriptions never contain the URL or headers, so they are safe to
/// put into failure reasons and dead letters.
public enum HTTPTransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No complete response within the timeout.
    case timedOut
    /// The calling task was cancelled.
    case cancelled
    /// The connection could not be made, or broke before the whole response arrived; the text says what
    /// happened in a few words ("connection refused", "connection reset by peer", "incomplete response: ...",
    /// "DNS failure: ...") and is the whole ``description``.
    case connectionFailed(String)
    /// Something answered, but not with HTTP.
    case invalidResponse

    /// A short, secret-free sentence fragment such as "timed out" or "connection refused".
    public var description: String {
        switch self {
        case .timedOut: "timed out"
        case .cancelled: "cancelled"
        case .connectionFailed(let detail): detail
        case .invalidResponse: "invalid response"
        }
    }
}
