import Synchronization

/// Named counts a destination's encoder and sender keep beside the accounting: Heap properties dropped for a
/// name over Heap's limit, batches paced by `rateLimit` and the time they waited. Reported per destination in
/// the summary (`counters`) and in metrics snapshots.
final class DestinationCounters: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// Adds `n` to `name`.
    func add(_ name: String, _ n: Int) {
        guard n != 0 else { return }
        counts.withLock { $0[name, default: 0] += n }
    }

    /// Every count so far.
    var snapshot: [String: Int] { counts.withLock { $0 } }
}
