import Synchronization

/// The pipeline's lifecycle flags, readable from any stage without suspending.
///
/// `draining`: stop reading input; every stage finishes what it holds. `abandoned`: the drain deadline has
/// passed; senders stop retrying and dead-letter what is left, so shutdown is bounded but nothing is lost.
final class ShutdownState: Sendable {
    private let draining = Atomic<Bool>(false)
    private let abandoned = Atomic<Bool>(false)

    var isDraining: Bool { draining.load(ordering: .acquiring) }
    var isAbandoned: Bool { abandoned.load(ordering: .acquiring) }

    /// Returns true the first time it is called.
    @discardableResult
    func beginDrain() -> Bool {
        !draining.exchange(true, ordering: .acquiringAndReleasing)
    }

    func abandon() {
        draining.store(true, ordering: .releasing)
        abandoned.store(true, ordering: .releasing)
    }
}

/// Requests in flight across a destination's workers, for metrics.
final class InFlightCounter: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ n: Int) { value.add(n, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}
