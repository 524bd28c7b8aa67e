import Synchronization

/// Token buckets for a destination's `rateLimit` rules: each rule allows `events` events and/or `requests`
/// requests per `perSeconds`, refilled continuously, starting full (a burst of one window's worth).
///
/// ``reserve(events:)`` debits every bucket at once and says how long the caller must wait before sending;
/// balances may go negative, so concurrent workers queue up behind each other in reservation order instead
/// of racing for tokens, and the long-run rate never exceeds the rule.
final class RateLimiter: Sendable {
    private struct Bucket {
        let capacity: Double
        let perSecond: Double
        let perEvent: Bool
        var balance: Double
    }

    private struct State {
        var buckets: [Bucket]
        var updated: ContinuousClock.Instant
    }

    private let state: Mutex<State>
    /// The rules, as configured.
    let limits: [RateLimit]

    init(_ limits: [RateLimit], now: ContinuousClock.Instant = .now) {
        self.limits = limits
        var buckets: [Bucket] = []
        for limit in limits {
            if let events = limit.events {
                buckets.append(Bucket(capacity: Double(events), perSecond: Double(events) / limit.perSeconds, perEvent: true, balance: Double(events)))
            }
            if let requests = limit.requests {
                buckets.append(Bucket(capacity: Double(requests), perSecond: Double(requests) / limit.perSeconds, perEvent: false, balance: Double(requests)))
            }
        }
        state = Mutex(State(buckets: buckets, updated: now))
    }

    /// Takes one request carrying `events` events from every bucket; returns how long to wait before sending
    /// (zero when the tokens were there).
    func reserve(events: Int, now: ContinuousClock.Instant = .now) -> Duration {
        state.withLock { state in
            let elapsed = now - state.updated
            let seconds = max(0, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            state.updated = max(state.updated, now)
            var wait = 0.0
            for index in state.buckets.indices {
                var bucket = state.buckets[index]
                bucket.balance = min(bucket.capacity, bucket.balance + seconds * bucket.perSecond)
                // A batch larger than a bucket (a misconfiguration validation prevents) must still go eventually.
                bucket.balance -= min(bucket.capacity, bucket.perEvent ? Double(events) : 1)
                if bucket.balance < 0 { wait = max(wait, -bucket.balance / bucket.perSecond) }
                state.buckets[index] = bucket
            }
            return .nanoseconds(Int64((wait * 1e9).rounded(.up)))
        }
    }
}

/// Paces a destination's sends to its ``RateLimiter``: a batch waits for its tokens before it is handed to the
/// real sender. Waiting holds the sender's worker, so the destination's queues fill and backpressure reaches
/// the input (under `overflow: block`) exactly as with a slow destination; nothing is dropped. Waits are
/// counted in the destination's counters (`pacedBatches`, `pacedMilliseconds`), and a wait that the drain
/// deadline cuts short fails the batch (it is dead-lettered, like any batch still pending then).
struct RateLimitedSender: BatchSender {
    let base: any BatchSender
    let limiter: RateLimiter
    let counters: DestinationCounters

    func send(_ batch: Batch, abandon: @escaping @Sendable () -> Bool) async -> SendOutcome {
        let wait = limiter.reserve(events: batch.eventCount)
        if wait > .zero {
            counters.add("pacedBatches", 1)
            counters.add("pacedMilliseconds", Int(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000))
            let until = ContinuousClock.now + wait
            while ContinuousClock.now < until {
                if abandon() { return .failed(reason: "drain deadline passed while the batch was paced (rateLimit)", attempts: 0) }
                try? await Task.sleep(for: min(.milliseconds(50), until - ContinuousClock.now))
            }
        }
        return await base.send(batch, abandon: abandon)
    }
}
