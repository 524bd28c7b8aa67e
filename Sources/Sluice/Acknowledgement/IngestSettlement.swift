import Synchronization

/// Waits for one ``Pipeline/ingest(_:)`` body to be settled by every destination.
///
/// `ingest` returns once the body's events are accepted by the pipeline (in memory, or durable in a spool when
/// one is configured). A service that answers its client only after delivery awaits the settlement too:
///
/// ```swift
/// let result = await pipeline.ingest(body)
/// let outcome = try await result.settlement.wait()
/// if outcome.isDelivered { respond(200) } else { respond(503) }
/// ```
///
/// The body is settled when every destination has finished with every one of its events: delivered,
/// filtered, dropped as a duplicate, dead-lettered, or dropped by an overflow policy. The outcome says which,
/// per destination. Every accepted body settles at the latest when the pipeline has drained (``Pipeline/run()``
/// returns); a refused body, or one with no valid events, is settled at once.
public final class IngestSettlement: Sendable, Equatable {
    private struct State {
        var outcome: IngestOutcome?
        var waiters: [Int: CheckedContinuation<IngestOutcome, any Error>] = [:]
        var nextWaiter = 0
    }
    private let state = Mutex(State())

    init() {}

    /// A settlement that is already resolved (a refused body, a body with nothing to deliver).
    init(resolved outcome: IngestOutcome) {
        state.withLock { $0.outcome = outcome }
    }

    /// The outcome, once settled; nil while events of the body are still in the pipeline.
    public var outcome: IngestOutcome? { state.withLock { $0.outcome } }

    /// True once every destination has settled the body.
    public var isSettled: Bool { outcome != nil }

    /// Suspends until every destination has settled the body, and returns what each did with it.
    ///
    /// Throws `CancellationError` when the waiting task is cancelled (a client that hung up); the body stays
    /// in the pipeline and is delivered all the same. Any number of tasks may wait.
    public func wait() async throws -> IngestOutcome {
        if let outcome { return outcome }
        let id = state.withLock { s -> Int in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<IngestOutcome, any Error>) in
                let ready = state.withLock { s -> Result<IngestOutcome, any Error>? in
                    if let outcome = s.outcome { return .success(outcome) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    s.waiters[id] = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Records the outcome and wakes every waiter; only the first call counts.
    func resolve(_ outcome: IngestOutcome) {
        let waiters = state.withLock { s -> [CheckedContinuation<IngestOutcome, any Error>] in
            guard s.outcome == nil else { return [] }
            s.outcome = outcome
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: outcome) }
    }

    /// Two handles are equal when they are the same handle.
    public static func == (lhs: IngestSettlement, rhs: IngestSettlement) -> Bool { lhs === rhs }
}

/// What every destination did with one ingested body.
public struct IngestOutcome: Sendable, Equatable {
    /// Per destination name: how many of the body's events ended which way.
    public var destinations: [String: SettlementCounts]

    /// Creates an outcome.
    public init(destinations: [String: SettlementCounts]) {
        self.destinations = destinations
    }

    init(destinations names: [String], counts: [SettlementCounts]) {
        destinations = Dictionary(uniqueKeysWithValues: zip(names, counts))
    }

    /// True when every destination delivered every event it was meant to take (filtered events and
    /// duplicates aside): nothing was dead-lettered, dropped or left for a later run. False for a refused body
    /// (no destination saw it).
    public var isDelivered: Bool { !destinations.isEmpty && destinations.values.allSatisfy(\.isDelivered) }

    /// True when every destination settled the body (nothing was left unsettled at a drain deadline).
    public var isSettled: Bool { destinations.values.allSatisfy(\.isSettled) }
}
