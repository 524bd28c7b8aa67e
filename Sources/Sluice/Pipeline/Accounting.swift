import Synchronization

/// Where every event ended up: the engine's books, updated once per chunk or batch by each stage.
///
/// Invariant, checked by tests: for every destination,
/// `delivered + filtered + deadLettered + dropped + inFlight == ingested - duplicates - filtered(global)`,
/// and `inFlight` is zero once the pipeline has drained.
final class Accounting: Sendable {
    struct DestinationCounts: Sendable, Equatable {
        var delivered = 0
        var filtered = 0
        var deadLettered = 0
        var dropped = 0
        var filteredByReason: [FilterReason: Int] = [:]
        /// Dead-lettered events per reason class (``DeadLetterReason``).
        var deadLetteredByReason: [String: Int] = [:]
        /// Events a stdout or file destination could not write (also in `deadLettered`).
        var writeFailures = 0
        var requests = 0
        var retries = 0
        var failedRequests = 0
    }

    struct Counts: Sendable {
        var ingested = 0
        var invalid = 0
        var duplicates = 0
        var filtered = 0
        var filteredByReason: [FilterReason: Int] = [:]
        var destinations: [String: DestinationCounts] = [:]
        var invalidLines = 0
        /// Partial last lines of a stream stopped by a drain (read, so counted, but not invalid).
        var incomplete = 0
    }

    private let state: Mutex<Counts>
    let destinationNames: [String]

    init(destinations: [String]) {
        destinationNames = destinations
        var counts = Counts()
        for name in destinations { counts.destinations[name] = DestinationCounts() }
        state = Mutex(counts)
    }

    var snapshot: Counts { state.withLock { $0 } }

    func recordIngested(_ n: Int, invalid: Int) {
        guard n != 0 || invalid != 0 else { return }
        state.withLock { $0.ingested += n; $0.invalid += invalid }
    }

    /// Events that were ingested but could no longer enter the pipeline (it was torn down): dropped for every
    /// destination, so the books still balance.
    func recordDroppedEverywhere(_ n: Int) {
        state.withLock { counts in
            for name in destinationNames { counts.destinations[name, default: DestinationCounts()].dropped += n }
        }
    }

    func recordIncomplete(_ n: Int) {
        state.withLock { $0.incomplete += n }
    }

    func recordDuplicates(_ n: Int) {
        guard n != 0 else { return }
        state.withLock { $0.duplicates += n }
    }

    func recordGloballyFiltered(_ reasons: [FilterReason: Int]) {
        guard !reasons.isEmpty else { return }
        state.withLock { counts in
            for (reason, n) in reasons {
                counts.filtered += n
                counts.filteredByReason[reason, default: 0] += n
            }
        }
    }

    func update(_ destination: String, _ body: (inout DestinationCounts) -> Void) {
        state.withLock { body(&$0.destinations[destination, default: DestinationCounts()]) }
    }

    func recordFiltered(_ destination: String, _ reasons: [FilterReason: Int]) {
        guard !reasons.isEmpty else { return }
        update(destination) { counts in
            for (reason, n) in reasons {
                counts.filtered += n
                counts.filteredByReason[reason, default: 0] += n
            }
        }
    }
}
