import Synchronization

/// Delivers a destination's batches over HTTP: builds each batch's request from the destination's
/// ``HTTPRequestTarget`` and sends it with ``HTTPDelivery`` (retries, backoff, `Retry-After`, timeout, abandon).
///
/// A batch that cannot be delivered comes back as `.failed` with the delivery's reason (status and the first
/// bytes of the response, request secrets removed); the ``Sender`` stage then dead-letters its events.
struct HTTPBatchSender: BatchSender {
    let target: HTTPRequestTarget
    let delivery: HTTPDelivery
    /// Set for destinations whose requests must not overlap (Statsig ID lists: an add and a later remove of the
    /// same ID must reach the server in that order).
    let serial: SerialGate?
    /// Keeps a transport this sender created alive, and invalidates its session when the last copy goes.
    let owner: TransportOwner?

    init(target: HTTPRequestTarget, delivery: HTTPDelivery, serial: SerialGate? = nil, owner: TransportOwner? = nil) {
        self.target = target
        self.delivery = delivery
        self.serial = serial
        self.owner = owner
    }

    func send(_ batch: Batch, abandon: @escaping @Sendable () -> Bool) async -> SendOutcome {
        let request: HTTPRequest
        switch target.request(for: batch) {
        case .success(let built): request = built
        case .failure(let error): return .failed(reason: error.reason, attempts: 0)
        }
        if let serial { await serial.acquire() }
        let outcome = await delivery.deliver(request, abandon: abandon)
        serial?.release()
        switch outcome {
        case .delivered(let attempts, _): return .delivered(attempts: attempts)
        case .failed(let reason, _, let attempts): return .failed(reason: reason, attempts: attempts)
        }
    }
}

extension HTTPBatchSender {
    /// The sender for `destination`, sending through `transport` (or a URLSession transport of its own when nil).
    init(target: HTTPRequestTarget, destination: DestinationConfiguration, transport: (any HTTPTransport)?) {
        let base: any HTTPTransport, owner: TransportOwner?
        if let transport {
            (base, owner) = (transport, nil)
        } else {
            let created = TransportOwner(URLSessionTransport(maxConnectionsPerHost: destination.concurrency))
            (base, owner) = (created.transport, created)
        }
        var policy = RetryPolicy(maxAttempts: max(1, destination.retry.maxAttempts),
                                 initialBackoff: .milliseconds(max(0, destination.retry.initialBackoffMs)),
                                 maxBackoff: .milliseconds(max(0, destination.retry.maxBackoffMs)))
        // Statsig's ID-list API answers 409 while an earlier update to the list is still being applied.
        if case .statsigIDLists = destination.kind { policy.alsoRetried = [409] }
        let stamped: any HTTPTransport = target.sendsClientTime ? StatsigClientTimeTransport(base: base) : base
        let gated = RetryAfterGateTransport(base: stamped, gate: RetryAfterGate(),
                                            maxPause: policy.maxRetryAfter)
        var serial: SerialGate?
        if case .statsigIDLists = destination.kind { serial = SerialGate() }
        self.init(target: target,
                  delivery: HTTPDelivery(transport: gated, policy: policy, timeout: .milliseconds(max(1, destination.timeoutMs))),
                  serial: serial, owner: owner)
    }
}

/// Owns a ``URLSessionTransport`` created for one destination: when the pipeline (and so every copy of the
/// sender) is gone, the session is invalidated, which releases its connections and lets it be freed.
final class TransportOwner: Sendable {
    let transport: URLSessionTransport

    init(_ transport: URLSessionTransport) {
        self.transport = transport
    }

    deinit {
        transport.invalidate()
    }
}

/// An asynchronous lock: one holder at a time, waiters resumed first come, first served.
///
/// Holders are the Sender's workers, which are never cancelled (the pipeline drains instead), so waiting is
/// not cancellable.
final class SerialGate: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var head = 0
    }

    private let state = Mutex(State())

    /// Waits until the gate is free, then holds it.
    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let proceed = state.withLock { state -> Bool in
                if state.held {
                    state.waiters.append(continuation)
                    return false
                }
                state.held = true
                return true
            }
            if proceed { continuation.resume() }
        }
    }

    /// Hands the gate to the longest waiter, or frees it.
    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.head < state.waiters.count else {
                state.held = false
                state.waiters.removeAll(keepingCapacity: true)
                state.head = 0
                return nil
            }
            let next = state.waiters[state.head]
            state.head += 1
            return next
        }
        next?.resume()
    }
}
