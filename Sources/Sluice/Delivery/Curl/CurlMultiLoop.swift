#if canImport(CCurlShim) && canImport(Glibc)
import Foundation
import Glibc
import Synchronization

/// One libcurl multi handle and the thread that drives it with `curl_multi_poll`.
///
/// Why not URLSession: swift-corelibs-foundation drives its multi handle with Dispatch sources and never drops a
/// socket's write source when libcurl narrows its interest from `CURL_POLL_INOUT` to `CURL_POLL_IN`
/// (`_SocketSources.createSources` only adds sources; they go only on `CURL_POLL_REMOVE`). A connected socket is
/// always writable, so while a response is pending the level-triggered write source fires continuously (~1,500
/// times a second), each time running `curl_multi_socket_action`: a slow endpoint costs a core. Here libcurl
/// waits in its own `poll` with exactly the interest it asks for, so waiting costs nothing.
///
/// Every libcurl call on the multi handle and its easy handles happens on the loop thread; other threads only
/// queue work in the ``Inbox`` and call `curl_multi_wakeup`, which libcurl documents as thread-safe.
final class CurlMultiLoop: Sendable {
    /// One request handed to the loop.
    struct Submission: Sendable {
        let id: UInt64
        let request: HTTPRequest
        let timeout: Duration
        /// When the call fails as timed out whatever libcurl does: `timeout` after `send` was called.
        let deadline: ContinuousClock.Instant
        let call: CurlCall
    }

    /// What other threads leave for the loop thread.
    private struct Pending {
        var submissions: [Submission] = []
        var cancellations: [UInt64] = []
        var stopping = false
        /// Set by the loop thread just before it cleans up the multi handle: wakeups must stop first.
        var closed = false
        var nextID: UInt64 = 0
    }

    private let curl: LibCurl
    /// The multi handle's address. Only the loop thread dereferences it; others pass it to `curl_multi_wakeup`
    /// (thread-safe) under `pending`'s lock while `closed` is false, so never after `curl_multi_cleanup`.
    private let multiAddress: UInt
    private let pending = Mutex(Pending())

    /// Starts the loop thread; nil when the multi handle cannot be created.
    init?(curl: LibCurl, maxConnectionsPerHost: Int) {
        guard let multi = curl.multiInit() else { return nil }
        curl.multiSetopt(multi, .maxHostConnections, max(1, maxConnectionsPerHost))
        // Keep at least one idle connection per possible in-flight request for reuse.
        curl.multiSetopt(multi, .maxConnects, max(4, maxConnectionsPerHost * 2))
        self.curl = curl
        let address = UInt(bitPattern: Int(bitPattern: UnsafeMutableRawPointer(multi)))
        self.multiAddress = address
        // The handle crosses to the thread as its address (OpaquePointer is not Sendable); from here on only
        // that thread uses it.
        let thread = Thread { [self] in
            guard let multi = OpaquePointer(bitPattern: address) else { return }
            var worker = CurlWorker(curl: curl, multi: multi)
            self.run(&worker)
        }
        thread.name = "sluice-curl"
        thread.start()
    }

    /// A fresh request identifier.
    func nextID() -> UInt64 {
        pending.withLock { state in
            state.nextID += 1
            return state.nextID
        }
    }

    /// Queues a request; false when the loop has stopped (the caller fails the call itself).
    func submit(_ submission: Submission) -> Bool {
        pending.withLock { state in
            guard !state.stopping else { return false }
            state.submissions.append(submission)
            wake(state)
            return true
        }
    }

    /// Asks the loop to drop request `id` (cancelled or past its deadline; its call is already finished).
    func cancel(_ id: UInt64) {
        pending.withLock { state in
            guard !state.stopping else { return }
            state.cancellations.append(id)
            wake(state)
        }
    }

    /// Stops the thread: requests in flight fail as cancelled, then the multi handle is cleaned up.
    func stop() {
        pending.withLock { state in
            state.stopping = true
            wake(state)
        }
    }

    private func wake(_ state: borrowing Pending) {
        guard !state.closed, let multi = OpaquePointer(bitPattern: multiAddress) else { return }
        _ = curl.multiWakeup(multi)
    }

    private func run(_ worker: inout CurlWorker) {
        while true {
            let (submissions, cancellations, stopping) = pending.withLock { state in
                defer { state.submissions.removeAll(); state.cancellations.removeAll() }
                return (state.submissions, state.cancellations, state.stopping)
            }
            if stopping {
                for submission in submissions { submission.call.finish(.failure(HTTPTransportError.cancelled)) }
                worker.failAll(HTTPTransportError.cancelled)
                pending.withLock { $0.closed = true }
                worker.close()
                return
            }
            for submission in submissions { worker.start(submission) }
            for id in cancellations { worker.drop(id) }
            worker.performAndCollect()
            worker.expireOverdue()
            worker.poll(maxWaitMilliseconds: worker.millisecondsToNearestDeadline(cap: 1000))
        }
    }
}

/// The loop thread's side: the multi handle and the transfers in it. Never leaves that thread.
struct CurlWorker {
    private let curl: LibCurl
    private let multi: OpaquePointer
    private var transfers: [UInt64: CurlTransfer] = [:]

    init(curl: LibCurl, multi: OpaquePointer) {
        self.curl = curl
        self.multi = multi
    }

    /// Creates the easy handle for `submission` and adds it to the multi handle (or fails the call at once).
    mutating func start(_ submission: Submission) {
        guard !submission.call.isFinished else { return }
        do {
            let transfer = try CurlTransfer(curl: curl, submission: submission)
            guard curl.multiAdd(multi, transfer.easy) == 0 else {
                transfer.finish(.failure(HTTPTransportError.connectionFailed("could not start the request")))
                return
            }
            transfers[submission.id] = transfer
        } catch {
            submission.call.finish(.failure(error))
        }
    }

    typealias Submission = CurlMultiLoop.Submission

    /// Removes transfer `id` (its call already finished elsewhere: cancelled or timed out).
    mutating func drop(_ id: UInt64) {
        guard let transfer = transfers.removeValue(forKey: id) else { return }
        _ = curl.multiRemove(multi, transfer.easy)
        transfer.finish(.failure(HTTPTransportError.cancelled))
    }

    /// Lets libcurl do what is ready, then finishes every completed transfer.
    mutating func performAndCollect() {
        var running: Int32 = 0
        _ = curl.multiPerform(multi, &running)
        var left: Int32 = 0
        while let message = curl.multiInfoRead(multi, &left) {
            // struct CURLMsg { CURLMSG msg; CURL *easy_handle; union { void *whatever; CURLcode result; } data; }
            let kind = message.load(as: Int32.self)
            let easy = message.load(fromByteOffset: MemoryLayout<Int>.stride, as: OpaquePointer?.self)
            let result = message.load(fromByteOffset: 2 * MemoryLayout<Int>.stride, as: Int32.self)
            guard kind == 1 /* CURLMSG_DONE */, let easy,
                  let id = transfers.first(where: { $0.value.easy == easy })?.key,
                  let transfer = transfers.removeValue(forKey: id) else { continue }
            _ = curl.multiRemove(multi, easy)
            transfer.complete(code: result)
        }
    }

    /// Fails transfers past their hard deadline: libcurl's own timeout should already have ended them, this is
    /// the backstop that makes the deadline hold even if it did not.
    mutating func expireOverdue() {
        let now = ContinuousClock.now
        for (id, transfer) in transfers where transfer.deadline <= now || transfer.call.isFinished {
            transfers.removeValue(forKey: id)
            _ = curl.multiRemove(multi, transfer.easy)
            transfer.finish(.failure(HTTPTransportError.timedOut))
        }
    }

    /// How long the loop may sleep: until the nearest deadline, at most `cap` milliseconds.
    func millisecondsToNearestDeadline(cap: Int32) -> Int32 {
        guard let nearest = transfers.values.map(\.deadline).min() else { return cap }
        let remaining = ContinuousClock.now.duration(to: nearest)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1
        return Int32(min(Int64(cap), milliseconds))
    }

    /// Waits for socket activity, libcurl's next timer, a wakeup, or `maxWaitMilliseconds`.
    func poll(maxWaitMilliseconds: Int32) {
        var ready: Int32 = 0
        _ = curl.multiPoll(multi, nil, 0, maxWaitMilliseconds, &ready)
    }

    mutating func failAll(_ error: any Error) {
        for transfer in transfers.values {
            _ = curl.multiRemove(multi, transfer.easy)
            transfer.finish(.failure(error))
        }
        transfers.removeAll()
    }

    /// Cleans up the multi handle (and with it the connection cache).
    func close() {
        _ = curl.multiCleanup(multi)
    }
}
#endif
