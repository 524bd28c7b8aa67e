import Synchronization

/// Delivers a destination's batches over HTTP: builds each batch's request from the destination's
/// ``HTTPRequestTarget`` and sends it with ``HTTPDelivery`` (retries, backoff, `Retry-After`, timeout, abandon).
///
/// A batch that cannot be delivered comes back as `.failed` with the delivery's reason (status and the first
/// bytes of the response, request secrets removed); the ``Sender`` stage then dead-letters its events. A batch
/// refused whole with a status that one part of it can cause (``BatchSplitPolicy/statuses(for:)``: 413, and 400
/// from Segment and Heap) is split in halves, each sent on its own, down to single events, which are then
/// dead-lettered with the status: one bad event does not take the others with it.
struct HTTPBatchSender: BatchSender {
    let target: HTTPRequestTarget
    let delivery: HTTPDelivery
    /// Set for destinations whose requests must not overlap (Statsig ID lists: an add and a later remove of the
    /// same ID must reach the server in that order).
    let serial: SerialGate?
    /// Keeps a transport this sender created alive, and invalidates its session when the last copy goes.
    let owner: TransportOwner?
    /// Final statuses after which a batch is split and its halves are sent again.
    let splitStatuses: Set<Int>

    init(target: HTTPRequestTarget, delivery: HTTPDelivery, serial: SerialGate? = nil, owner: TransportOwner? = nil,
         splitStatuses: Set<Int> = [413]) {
        self.target = target
        self.delivery = delivery
        self.serial = serial
        self.owner = owner
        self.splitStatuses = splitStatuses
    }

    func send(_ batch: Batch, abandon: @escaping @Sendable () -> Bool) async -> SendOutcome {
        // The gate is held through any splitting, so the parts of a batch keep their place in the order too.
        if let serial { await serial.acquire() }
        defer { serial?.release() }
        var budget = BatchSplitPolicy.requestBudget(events: batch.eventCount)
        return await send(batch, isPart: false, budget: &budget, abandon: abandon)
    }

    private func send(_ batch: Batch, isPart: Bool, budget: inout Int,
                      abandon: @escaping @Sendable () -> Bool) async -> SendOutcome {
        let request: HTTPRequest
        switch target.request(for: batch) {
        case .success(let built): request = built
        case .failure(let error): return .failed(reason: error.reason, attempts: 0)
        }
        switch await delivery.deliver(request, abandon: abandon) {
        case .delivered(let attempts, _):
            return .delivered(attempts: attempts)
        case .failed(let reason, let status, let attempts):
            guard let status, splitStatuses.contains(status), !abandon() else {
                return .failed(reason: reason, attempts: attempts)
            }
            guard let (first, second) = batch.halves() else {
                return .failed(reason: isPart ? reason + " (the event alone, after splitting its batch)" : reason,
                               attempts: attempts)
            }
            guard budget >= 2 else {
                return .failed(reason: reason + " (not split further: this batch's split budget is used up)",
                               attempts: attempts)
            }
            budget -= 2
            let firstOutcome = await send(first, isPart: true, budget: &budget, abandon: abandon)
            let secondOutcome = await send(second, isPart: true, budget: &budget, abandon: abandon)
            return .split(attempts: attempts, parts: [SettledPart(batch: first, outcome: firstOutcome),
                                                      SettledPart(batch: second, outcome: secondOutcome)])
        }
    }
}

extension HTTPBatchSender {
    /// The sender for `destination`, sending through `transport` (or a transport of its own when nil, see
    /// ``DefaultHTTPTransport``).
    init(target: HTTPRequestTarget, destination: DestinationConfiguration, transport: (any HTTPTransport)?) {
        let base: any HTTPTransport, owner: TransportOwner?
        if let transport {
            (base, owner) = (transport, nil)
        } else {
            let created = TransportOwner(DefaultHTTPTransport.make(maxConnectionsPerHost: destination.concurrency))
            (base, owner) = (created.transport, created)
        }
        let policy = RetryPolicy(maxAttempts: max(1, destination.retry.maxAttempts),
                                 initialBackoff: .milliseconds(max(0, destination.retry.initialBackoffMs)),
                                 maxBackoff: .milliseconds(max(0, destination.retry.maxBackoffMs)),
                                 maxRetryAfter: .seconds(max(0, destination.retry.maxRetryAfterSeconds)))
        let gated = RetryAfterGateTransport(base: base, gate: RetryAfterGate(),
                                            maxPause: policy.maxRetryAfter)
        var serial: SerialGate?
        if case .statsigIDLists = destination.kind { serial = SerialGate() }
        self.init(target: target,
                  delivery: HTTPDelivery(transport: gated, policy: policy, timeout: .milliseconds(max(1, destination.timeoutMs))),
                  serial: serial, owner: owner, splitStatuses: BatchSplitPolicy.statuses(for: destination.kind))
    }
}

/// Owns a transport created for one destination: when the pipeline (and so every copy of the sender) is gone,
/// it is shut down (a URLSession is invalidated), which releases its connections and lets it be freed.
final class TransportOwner: Sendable {
    let transport: any HTTPTransport
    private let shutdown: @Sendable () -> Void

    init(_ made: (any HTTPTransport, shutdown: @Sendable () -> Void)) {
        self.transport = made.0
        self.shutdown = made.shutdown
    }

    deinit {
        shutdown()
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
