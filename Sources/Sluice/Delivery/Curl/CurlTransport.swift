#if canImport(CCurlShim) && canImport(Glibc)
import Foundation

/// ``HTTPTransport`` that drives libcurl (`libcurl.so.4`, loaded at run time) directly: one multi handle and
/// one thread per transport, waiting in `curl_multi_poll`.
///
/// It exists because URLSession on Linux spins while it waits for a response (see ``CurlMultiLoop``): four
/// requests to an endpoint that answers after 2 s cost ~1.5 s of CPU through URLSession and ~0.01 s here. It
/// keeps what ``URLSessionTransport`` guarantees: keep-alive connections reused between requests (up to
/// `maxConnectionsPerHost` per host), HTTPS with the system's CA certificates, the timeout as a hard deadline
/// for the whole exchange, and cancellation of the calling task ending the request at once.
///
/// Create one per destination and share it between that destination's workers; the thread stops and the
/// connections close when the last copy is gone.
public struct CurlTransport: HTTPTransport {
    private let client: CurlClient

    /// Whether libcurl 7.68 or later could be loaded; when false, ``init(maxConnectionsPerHost:)`` returns nil.
    public static var isAvailable: Bool { LibCurl.shared != nil }

    /// Starts a transport, or returns nil when libcurl cannot be loaded.
    /// - Parameter maxConnectionsPerHost: connections kept per host; match it to the destination's
    ///   `concurrency` so every worker can have a connection of its own.
    public init?(maxConnectionsPerHost: Int = 8) {
        guard let curl = LibCurl.shared,
              let loop = CurlMultiLoop(curl: curl, maxConnectionsPerHost: maxConnectionsPerHost) else { return nil }
        client = CurlClient(loop: loop)
    }

    /// Sends `request` once; see ``HTTPTransport/send(_:timeout:)``.
    public func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        let loop = client.loop
        let call = CurlCall()
        let id = loop.nextID()
        let submission = CurlMultiLoop.Submission(id: id, request: request, timeout: timeout,
                                                  deadline: ContinuousClock.now.advanced(by: timeout), call: call)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
                guard call.start(continuation) else { return }
                if !loop.submit(submission) { call.finish(.failure(HTTPTransportError.cancelled)) }
            }
        } onCancel: {
            call.finish(.failure(HTTPTransportError.cancelled))
            loop.cancel(id)
        }
    }
}

/// Stops the loop thread when the last copy of a ``CurlTransport`` goes away.
final class CurlClient: Sendable {
    let loop: CurlMultiLoop

    init(loop: CurlMultiLoop) {
        self.loop = loop
    }

    deinit {
        loop.stop()
    }
}
#endif
