import Foundation

/// Which ``HTTPTransport`` an HTTP destination gets when the embedder supplies none.
///
/// ``CurlTransport`` where libcurl can be loaded (it waits for slow endpoints without burning CPU), otherwise
/// ``URLSessionTransport``. The environment variable `SLUICE_HTTP_TRANSPORT` (`curl` or `urlsession`) picks
/// one explicitly, e.g. to compare them or to work around a problem in one.
public enum DefaultHTTPTransport {
    /// The transports that can be chosen.
    public enum Kind: String, Sendable, CaseIterable {
        /// ``CurlTransport``: libcurl's multi interface on a thread of its own.
        case curl
        /// ``URLSessionTransport``: Foundation's URLSession.
        case urlsession
    }

    /// The kind `SLUICE_HTTP_TRANSPORT` asks for (nil when unset or not a known kind: the default applies).
    public static var requested: Kind? {
        ProcessInfo.processInfo.environment["SLUICE_HTTP_TRANSPORT"].flatMap { Kind(rawValue: $0.lowercased()) }
    }

    /// A new transport of `kind` (default: ``requested``, else curl when available), with `maxConnectionsPerHost`
    /// connections per host, and what to call at shutdown (URLSession's sessions must be invalidated; the curl
    /// transport stops its thread by itself when released).
    static func make(_ kind: Kind? = requested, maxConnectionsPerHost: Int) -> (any HTTPTransport, shutdown: @Sendable () -> Void) {
        #if canImport(CCurlShim) && canImport(Glibc)
        if kind != .urlsession, let curl = CurlTransport(maxConnectionsPerHost: maxConnectionsPerHost) {
            return (curl, {})
        }
        #endif
        let session = URLSessionTransport(maxConnectionsPerHost: maxConnectionsPerHost)
        return (session, { session.invalidate() })
    }
}
