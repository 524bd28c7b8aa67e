import Synchronization

/// Makes a server's `Retry-After` hold for a whole destination, not just the request that received it.
///
/// ``HTTPDelivery`` already waits before retrying the rejected request, but a destination runs `concurrency`
/// workers: without a shared pause the others would keep sending into the rate limit and collect 429s (and use
/// up their attempts) for the whole window. This transport remembers the latest `Retry-After` of a 429 or 503
/// and makes every attempt wait until it has passed.
///
/// The wait happens inside ``HTTPTransport/send(_:timeout:)``, so it does not eat into the attempt's timeout,
/// and ``HTTPDelivery`` cancels it like any attempt when the drain deadline passes.
struct RetryAfterGateTransport: HTTPTransport {
    /// Sends each attempt once the pause is over.
    let base: any HTTPTransport
    /// The pause shared by the destination's workers.
    let gate: RetryAfterGate
    /// The longest pause one header can impose (``RetryPolicy/maxRetryAfter``).
    let maxPause: Duration

    func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        if let until = gate.pausedUntil, until > ContinuousClock.now {
            do {
                try await Task.sleep(until: until, clock: .continuous)
            } catch {
                throw HTTPTransportError.cancelled
            }
        }
        let response = try await base.send(request, timeout: timeout)
        if response.status == 429 || response.status == 503, let header = response.headers["retry-after"],
           let asked = RetryPolicy.parseRetryAfter(header), asked > .zero {
            gate.pause(until: ContinuousClock.now.advanced(by: min(asked, maxPause)))
        }
        return response
    }
}

/// The instant before which a destination sends nothing; only ever moves later.
final class RetryAfterGate: Sendable {
    private let until = Mutex<ContinuousClock.Instant?>(nil)

    /// When the current pause ends, if one was ever set.
    var pausedUntil: ContinuousClock.Instant? { until.withLock { $0 } }

    /// Extends the pause to `instant` (an earlier instant than the current one changes nothing).
    func pause(until instant: ContinuousClock.Instant) {
        until.withLock { current in
            if current.map({ $0 < instant }) ?? true { current = instant }
        }
    }
}
