extension Pipeline {
    /// The pipeline's progress right now: counts per stage and destination, queue depths, requests in flight,
    /// dedupe table, rates and latency.
    ///
    /// Cheap enough to read several times a second from any task (a few lock acquisitions, no stage is paused),
    /// so a service can expose it on a health or metrics endpoint. The counts come from one consistent reading;
    /// the queue depths are read just after.
    public var metrics: MetricsSnapshot {
        let counts = accounting.snapshot
        let dedupe = dedupeStats.snapshot
        let start = startTime.withLock { $0 }
        let finish = progress.finishTime

        let phase: MetricsSnapshot.Phase
        if finish != nil {
            phase = .finished
        } else if start == nil {
            phase = .notStarted
        } else if shutdownState.isDraining || progress.isInputClosed {
            phase = .draining
        } else {
            phase = .running
        }

        let expected = counts.ingested - counts.duplicates - counts.filtered
        var destinations: [String: MetricsSnapshot.DestinationMetrics] = [:]
        for branch in branches {
            let d = counts.destinations[branch.name] ?? Accounting.DestinationCounts()
            let settled = d.delivered + d.filtered + d.deadLettered + d.dropped + d.alreadySettled + d.leftUnsettled
            destinations[branch.name] = MetricsSnapshot.DestinationMetrics(
                delivered: d.delivered, filtered: d.filtered, deadLettered: d.deadLettered, dropped: d.dropped,
                requests: d.requests, retries: d.retries, failedRequests: d.failedRequests,
                inFlight: branch.inFlight.current, queuedChunks: branch.queue.count,
                queuedForBatcher: branch.batcherQueue.count, queuedBatches: branch.batchQueue.count,
                pending: max(0, expected - settled), writeFailures: d.writeFailures)
            destinations[branch.name]?.counters = branch.counters.snapshot
        }

        let elapsed = start.map { Double((finish ?? Clock.nanoseconds()) &- $0) / 1e9 } ?? 0
        var latencySummary: Summary.LatencySummary?
        if let p50 = latency.quantile(0.5), let p99 = latency.quantile(0.99) {
            latencySummary = Summary.LatencySummary(p50: p50, p99: p99, max: latency.max)
        }
        var snapshot = MetricsSnapshot(
            phase: phase, ingested: counts.ingested, invalid: counts.invalid, duplicates: counts.duplicates,
            filtered: counts.filtered, queuedChunks: ingestQueue.count, destinations: destinations,
            dedupe: MetricsSnapshot.DedupeMetrics(size: dedupe.size, capacityEvictions: dedupe.capacityEvictions,
                                                  windowEvictions: dedupe.windowEvictions, memoryBytes: dedupe.memoryBytes),
            elapsedSeconds: elapsed, eventsPerSecond: elapsed > 0 ? Double(counts.ingested) / elapsed : 0,
            latency: latencySummary, deadLetterWriteFailures: deadLetters?.failures ?? 0)
        if let spool = spooled?.spool {
            let stats = spool.stats
            snapshot.spool = MetricsSnapshot.SpoolMetrics(bytes: stats.bytes, segments: stats.segments,
                                                          oldestUnsettledAgeSeconds: stats.oldestUnsettledAgeSeconds,
                                                          corruptRecords: stats.corruptRecords,
                                                          cursorWriteFailures: stats.cursorWriteFailures, cursorsBehind: stats.cursorsBehind)
        }
        snapshot.redisSource = redisSourceStatistics
        snapshot.sharedDedupe = sharedDedupeStatistics
        return snapshot
    }
}
