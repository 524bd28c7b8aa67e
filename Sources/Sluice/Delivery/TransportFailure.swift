/// The words every transport uses for a request that got no (complete) response, so reasons read the same
/// whichever transport sent them and can be grouped.
enum TransportFailure {
    /// Nothing listens on the port (ECONNREFUSED).
    static let refused = "connection refused"
    /// The peer reset the connection (ECONNRESET).
    static let reset = "connection reset by peer"
    /// The connection closed before any byte of a response arrived.
    static let nothing = "server closed the connection without a response"
    /// The connection closed after part of the response (a short body, a cut header).
    static let incomplete = "incomplete response: the connection closed before the whole response arrived"
    /// The host name did not resolve.
    static let dns = "DNS failure: cannot resolve host"
    /// No route to the host or network.
    static let unreachable = "network unreachable"
    /// The TLS handshake failed or the server's certificate was not trusted.
    static let tls = "TLS failure: handshake failed or certificate not trusted"
    /// The TCP connection could not be made for another reason.
    static let connect = "could not connect"

    /// One of the phrases above for a libcurl error message, or nil when it names none of them. libcurl's
    /// messages embed host names, so they are matched, never copied.
    static func classify(curlMessage message: String) -> String? {
        let text = message.lowercased()
        if text.contains("transfer closed with") || text.contains("end of response with")
            || text.contains("partial file") || text.contains("chunked") { return incomplete }
        if text.contains("connection reset") { return reset }
        if text.contains("connection refused") { return refused }
        if text.contains("empty reply") { return nothing }
        if text.contains("resolve") { return dns }
        if text.contains("ssl") || text.contains("tls") || text.contains("certificate") { return tls }
        if text.contains("unreachable") { return unreachable }
        if text.contains("failed to connect") || text.contains("couldn't connect") { return connect }
        return nil
    }
}
