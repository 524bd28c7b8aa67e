import Synchronization

/// The bytes of request bodies all connections may hold at once (`serve.maxInFlightBodyBytes`).
///
/// `maxBodyBytes` bounds one body, `maxConnections` the bodies at once, but their product (1,024 x 4 MiB) is
/// far more memory than a relay should take: 200 clients sending 4 MB bodies together held about 1 GB. A
/// connection reserves a body's bytes before it reads them (the declared Content-Length at once, a chunked body
/// as it grows) and gives them back once the request is answered. When the budget is spent the request waits
/// briefly for other requests to finish, then is answered 503 with `Retry-After` (SDKs retry it), never read
/// into memory and never dropped silently.
final class BodyBudget: Sendable {
    /// The most bytes held at once.
    let limit: Int
    private let used = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Bytes reserved right now.
    var inUse: Int { used.load(ordering: .relaxed) }

    /// Takes `bytes` from the budget when they fit, and says whether they did.
    func tryReserve(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        var current = used.load(ordering: .relaxed)
        while true {
            // One body larger than the whole budget is still allowed alone, so that no valid request can never
            // be served (validation keeps the budget at least maxBodyBytes anyway).
            guard current == 0 || current + bytes <= limit else { return false }
            let (exchanged, actual) = used.compareExchange(expected: current, desired: current + bytes,
                                                           ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = actual
        }
    }

    /// Gives back bytes taken with ``tryReserve(_:)``.
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.subtract(bytes, ordering: .acquiringAndReleasing)
    }
}
