/// Hands batches to a custom ``Destination`` with retries for ``DestinationError/retryable(_:)`` failures.
///
/// Each attempt runs beside a watcher of the drain deadline: once the deadline passes the attempt's task is
/// cancelled, so a destination stuck on a dead connection cannot hold shutdown open (if it honours
/// cancellation). The batch is then dead-lettered; it may have been partly accepted, which is why
/// ``ExportedEvent/timeUUID`` is offered as an idempotency key.
struct CustomDestinationSender: BatchSender {
    let destination: any Destination
    let retry: RetryConfiguration

    /// How often a running attempt checks the drain deadline: bounds how late a stuck attempt is cancelled.
    static let abandonCheck = Duration.milliseconds(50)

    private enum Attempt: Sendable {
        case delivered
        case retryable(String)
        case failed(String)
        case abandoned
    }

    func send(_ batch: Batch, abandon: @escaping @Sendable () -> Bool) async -> SendOutcome {
        let events = EventBatch(batch)
        var attempt = 0
        var backoff = max(1, retry.initialBackoffMs)
        while true {
            attempt += 1
            switch await Self.attempt(events, destination: destination, abandon: abandon) {
            case .delivered:
                return .delivered(attempts: attempt)
            case .abandoned:
                return .failed(reason: "abandoned: drain deadline passed while the batch was being sent", attempts: attempt)
            case .failed(let reason):
                return .failed(reason: reason, attempts: attempt)
            case .retryable(let message):
                if attempt >= max(1, retry.maxAttempts) || abandon() {
                    return .failed(reason: "custom destination failed after \(attempt) attempts: \(message)", attempts: attempt)
                }
            }
            // Full jitter, bounded by maxBackoffMs; waits in short steps so a passed drain deadline stops it.
            var remaining = Int.random(in: max(1, retry.initialBackoffMs)...max(max(1, retry.initialBackoffMs), backoff))
            while remaining > 0 && !abandon() {
                let step = min(remaining, 50)
                try? await Task.sleep(for: .milliseconds(step))
                remaining -= step
            }
            if abandon() { return .failed(reason: "abandoned: drain deadline passed", attempts: attempt) }
            backoff = min(max(1, retry.maxBackoffMs), backoff * 2)
        }
    }

    /// One call of the destination, raced against the drain deadline.
    private static func attempt(_ batch: EventBatch, destination: any Destination,
                                abandon: @escaping @Sendable () -> Bool) async -> Attempt {
        await withTaskGroup(of: Attempt?.self) { group in
            group.addTask {
                do {
                    try await destination.send(batch)
                    return .delivered
                } catch DestinationError.retryable(let message) {
                    return .retryable(message)
                } catch DestinationError.permanent(let message) {
                    return .failed("custom destination refused the batch: \(message)")
                } catch {
                    return abandon() ? .abandoned : .failed("custom destination failed: \(error)")
                }
            }
            group.addTask {
                while !abandon() {
                    do { try await Task.sleep(for: abandonCheck) } catch { return nil }  // the attempt finished first
                }
                return .abandoned
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .abandoned
        }
    }
}
