/// Hands batches to a custom ``Destination`` with retries for ``DestinationError/retryable(_:)`` failures.
///
/// The batch body is the Statsig export lines the Batcher encoded; it is split back into one JSON object per
/// event for the destination.
struct CustomDestinationSender: BatchSender {
    let destination: any Destination
    let retry: RetryConfiguration

    func send(_ batch: Batch, abandon: @escaping @Sendable () -> Bool) async -> SendOutcome {
        let events = Self.exportedEvents(batch)
        var attempt = 0
        var backoff = max(1, retry.initialBackoffMs)
        while true {
            attempt += 1
            do {
                try await destination.send(EventBatch(events: events))
                return .delivered(attempts: attempt)
            } catch DestinationError.retryable(let message) {
                if attempt >= max(1, retry.maxAttempts) || abandon() {
                    return .failed(reason: "custom destination failed after \(attempt) attempts: \(message)", attempts: attempt)
                }
            } catch DestinationError.permanent(let message) {
                return .failed(reason: "custom destination refused the batch: \(message)", attempts: attempt)
            } catch {
                return .failed(reason: "custom destination failed: \(error)", attempts: attempt)
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

    static func exportedEvents(_ batch: Batch) -> [ExportedEvent] {
        var events: [ExportedEvent] = []
        events.reserveCapacity(batch.eventCount)
        for member in batch.members {
            member.chunk.withArena { arena in
                for index in member.indices {
                    let event = member.chunk.events[Int(index)]
                    var json: [UInt8] = []
                    StatsigExportFormat.append(event, arena: arena, to: &json)
                    events.append(ExportedEvent(
                        json: json, eventName: member.chunk.string(event.eventName) ?? "",
                        category: event.category, timeUUID: event.timeUUID.description, timestamp: event.timestamp))
                }
            }
        }
        return events
    }
}
