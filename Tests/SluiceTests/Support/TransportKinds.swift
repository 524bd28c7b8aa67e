import Testing
@testable import Sluice

/// The transports the suites run against: every transport guarantee is checked for both.
enum TransportKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case urlsession
    case curl

    var testDescription: String { rawValue }

    /// A fresh transport of this kind; a curl transport must be available on the machines Sluice supports.
    func make(maxConnectionsPerHost: Int = 8) throws -> any HTTPTransport {
        switch self {
        case .urlsession:
            return URLSessionTransport(maxConnectionsPerHost: maxConnectionsPerHost)
        case .curl:
            return try #require(CurlTransport(maxConnectionsPerHost: maxConnectionsPerHost),
                                "libcurl.so.4 (7.68 or later) could not be loaded")
        }
    }
}
