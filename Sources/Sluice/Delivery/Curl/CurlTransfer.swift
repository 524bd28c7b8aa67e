#if canImport(CCurlShim) && canImport(Glibc)
import Foundation
import Glibc
import Synchronization

/// The outcome of one request, delivered exactly once: by the loop thread (response or error), by the
/// cancellation handler, or by the deadline, whichever comes first; the others find it finished.
final class CurlCall: Sendable {
    private struct State {
        var continuation: CheckedContinuation<HTTPResponse, any Error>?
        /// A result that arrived before the continuation did (the task was cancelled before sending).
        var early: Result<HTTPResponse, any Error>?
        var done = false
    }

    private let state = Mutex(State())

    /// True once a result has been delivered (or stored early).
    var isFinished: Bool { state.withLock { $0.done } }

    /// Registers the continuation; false (after resuming it) when the call already finished.
    func start(_ continuation: CheckedContinuation<HTTPResponse, any Error>) -> Bool {
        let early: Result<HTTPResponse, any Error>? = state.withLock { state in
            if state.done { return state.early ?? .failure(HTTPTransportError.cancelled) }
            state.continuation = continuation
            return nil
        }
        guard let early else { return true }
        continuation.resume(with: early)
        return false
    }

    func finish(_ result: Result<HTTPResponse, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<HTTPResponse, any Error>? in
            if state.done { return nil }
            state.done = true
            if state.continuation == nil { state.early = result }
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(with: result)
    }
}

/// One easy handle and everything libcurl reads from or writes into while it runs. Lives on the loop thread.
final class CurlTransfer {
    /// Responses are kept up to this size; the rest is read and dropped (reasons use the first 200 bytes).
    static let maxResponseBytes = 8 << 20
    /// `SSL_CERT_FILE`, read once.
    static let caBundle: String? = ProcessInfo.processInfo.environment["SSL_CERT_FILE"].flatMap { $0.isEmpty ? nil : $0 }

    let easy: OpaquePointer
    let call: CurlCall
    let deadline: ContinuousClock.Instant
    private let curl: LibCurl
    private let timeoutMilliseconds: Int
    private var headerList: OpaquePointer?
    private let body: UnsafeMutableRawBufferPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var responseBody: [UInt8] = []
    private var responseHeaders: [String: String] = [:]

    init(curl: LibCurl, submission: CurlMultiLoop.Submission) throws {
        guard let easy = curl.easyInit() else { throw HTTPTransportError.connectionFailed("could not start the request") }
        self.easy = easy
        self.curl = curl
        self.call = submission.call
        self.deadline = submission.deadline
        let (seconds, attoseconds) = submission.timeout.components
        self.timeoutMilliseconds = max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
        let request = submission.request
        body = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, request.body.count), alignment: 1)
        if !request.body.isEmpty { body.copyBytes(from: request.body) }
        errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 256)
        errorBuffer.initialize(repeating: 0, count: 256)
        configure(request)
    }

    deinit {
        curl.easyCleanup(easy)
        if let headerList { curl.slistFreeAll(headerList) }
        body.deallocate()
        errorBuffer.deallocate()
    }

    private func configure(_ request: HTTPRequest) {
        let me = UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())
        curl.setopt(easy, .noSignal, 1)
        // HTTP and HTTPS only, for the request and for any redirect (CURLPROTO_HTTP | CURLPROTO_HTTPS).
        curl.setopt(easy, .protocols, 3)
        curl.setopt(easy, .redirectProtocols, 3)
        curl.setopt(easy, .tcpKeepAlive, 1)
        curl.setopt(easy, .timeoutMs, timeoutMilliseconds)
        curl.setopt(easy, .errorBuffer, UnsafeRawPointer(errorBuffer))
        // HTTPS trusts libcurl's CA bundle; SSL_CERT_FILE (OpenSSL's and curl's convention) names another, e.g. a
        // company CA. libcurl copies the string.
        if let bundle = Self.caBundle {
            _ = bundle.withCString { curl.setopt(easy, .caInfo, UnsafeRawPointer($0)) }
        }
        _ = request.url.absoluteString.withCString { curl.setopt(easy, .url, UnsafeRawPointer($0)) }
        curl.setopt(easy, .writeFunction, unsafeBitCast(Self.onBody, to: UnsafeRawPointer.self))
        curl.setopt(easy, .writeData, me)
        curl.setopt(easy, .headerFunction, unsafeBitCast(Self.onHeader, to: UnsafeRawPointer.self))
        curl.setopt(easy, .headerData, me)

        let method = request.method.uppercased()
        switch method {
        case "GET" where request.body.isEmpty:
            curl.setopt(easy, .httpGet, 1)
        case "HEAD":
            curl.setopt(easy, .noBody, 1)
        default:
            // The body is sent from our buffer, which lives as long as the transfer (libcurl does not copy it,
            // and may re-send it on a fresh connection when a reused one turns out dead).
            curl.setopt(easy, .postFieldSizeLarge, offset: Int64(request.body.count))
            curl.setopt(easy, .postFields, UnsafeRawPointer(body.baseAddress))
            if method != "POST" { _ = method.withCString { curl.setopt(easy, .customRequest, UnsafeRawPointer($0)) } }
        }

        var lines = request.headers.map { header in
            // A CR or LF in a value would start a new header line: never send one.
            let value = header.value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
            return "\(header.name): \(value)"
        }
        // No `Expect: 100-continue` round trip for large bodies (URLSession does not send one either).
        if request.headerValue("Expect") == nil { lines.append("Expect:") }
        for line in lines {
            headerList = line.withCString { curl.slistAppend(headerList, $0) }
        }
        curl.setopt(easy, .httpHeader, headerList.map { UnsafeRawPointer($0) })
    }

    /// Ends the call with libcurl's result for this transfer.
    func complete(code: Int32) {
        guard code == LibCurl.Code.ok else {
            let message = String(cString: errorBuffer)
            finish(.failure(Self.error(code: code, osErrno: Int32(truncatingIfNeeded: curl.info(easy, .osErrno)),
                                       message: message, curl: curl)))
            return
        }
        let status = curl.info(easy, .responseCode)
        guard status >= 100 else {
            finish(.failure(HTTPTransportError.invalidResponse))
            return
        }
        finish(.success(HTTPResponse(status: status, headers: responseHeaders, body: responseBody)))
    }

    func finish(_ result: Result<HTTPResponse, any Error>) {
        call.finish(result)
    }

    /// What a failed transfer says: the words of ``TransportFailure``, never libcurl's message itself (it names
    /// the host), except for TLS and other rare failures, where libcurl's fixed text for the code is used.
    static func error(code: Int32, osErrno: Int32, message: String, curl: LibCurl?) -> HTTPTransportError {
        typealias Code = LibCurl.Code
        func described() -> String { curl?.describe(code) ?? "libcurl error \(code)" }
        switch code {
        case Code.operationTimedOut:
            return .timedOut
        case Code.abortedByCallback:
            return .cancelled
        case Code.couldntResolveHost:
            return .connectionFailed(TransportFailure.dns)
        case Code.couldntResolveProxy:
            return .connectionFailed("DNS failure: cannot resolve proxy")
        case Code.couldntConnect:
            switch osErrno {
            case ECONNREFUSED: return .connectionFailed(TransportFailure.refused)
            case ENETUNREACH, EHOSTUNREACH: return .connectionFailed(TransportFailure.unreachable)
            case ETIMEDOUT: return .timedOut
            case 0: return .connectionFailed(TransportFailure.classify(curlMessage: message) ?? TransportFailure.connect)
            default: return .connectionFailed("\(TransportFailure.connect): \(String(cString: strerror(osErrno)))")
            }
        case Code.gotNothing:
            return .connectionFailed(TransportFailure.nothing)
        case Code.partialFile:
            return .connectionFailed(TransportFailure.incomplete)
        case Code.recvError, Code.sendError:
            if osErrno == ECONNRESET || osErrno == EPIPE { return .connectionFailed(TransportFailure.reset) }
            if let known = TransportFailure.classify(curlMessage: message) { return .connectionFailed(known) }
            let direction = code == Code.recvError ? "receive" : "send"
            return .connectionFailed(osErrno == 0 ? "\(direction) failure"
                                     : "\(direction) failure: \(String(cString: strerror(osErrno)))")
        case Code.weirdServerReply:
            return .invalidResponse
        case Code.unsupportedProtocol, Code.urlMalformat:
            return .connectionFailed("unsupported URL")
        case Code.sslConnectError, Code.sslCertProblem, Code.sslCipher, Code.peerFailedVerification,
             Code.sslCACertBadFile, Code.sslShutdownFailed, Code.sslCRLBadFile, Code.sslIssuerError, Code.sslClientCert:
            return .connectionFailed("TLS failure: \(described())")
        case Code.http2, Code.http2Stream:
            return .connectionFailed("HTTP/2 error: \(described())")
        default:
            return .connectionFailed("network error: \(described())")
        }
    }

    // libcurl's callbacks; `userdata` is the transfer (unretained: the worker keeps it alive while it runs).

    private static var onBody: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int { {
        data, size, count, userdata in
        let length = size * count
        guard let data, let userdata else { return length }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
        let room = CurlTransfer.maxResponseBytes - transfer.responseBody.count
        if room > 0 {
            transfer.responseBody.append(contentsOf: UnsafeRawBufferPointer(start: data, count: min(room, length)))
        }
        return length
    } }

    private static var onHeader: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int { {
        data, size, count, userdata in
        let length = size * count
        guard let data, let userdata else { return length }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            // A new status line (after a 100 Continue or a redirect): the headers so far belonged to another one.
            transfer.responseHeaders.removeAll()
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            if !name.isEmpty {
                // Repeated fields are combined as RFC 9110 §5.3 allows.
                if let existing = transfer.responseHeaders[name] {
                    transfer.responseHeaders[name] = existing + ", " + value
                } else {
                    transfer.responseHeaders[name] = value
                }
            }
        }
        return length
    } }
}
#endif
