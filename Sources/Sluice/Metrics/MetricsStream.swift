extension Pipeline {
    /// Snapshots of ``metrics`` every `interval`, for a progress display, a log line or a metrics exporter.
    ///
    /// The sequence starts counting when it is iterated (the first snapshot comes one interval after the first
    /// `next()`), fills in ``MetricsSnapshot/intervalEventsPerSecond``, and ends after yielding one final snapshot
    /// (phase ``MetricsSnapshot/Phase/finished``) once the pipeline has finished, so `for await` loops end with
    /// the run and their last value holds the final counts. It also ends when the iterating task is cancelled.
    /// A slow consumer skips ticks rather than building a backlog. Intervals shorter than 10 ms are raised to it.
    public func metrics(every interval: Duration) -> some AsyncSequence<MetricsSnapshot, Never> {
        MetricsStream(pipeline: self, interval: max(interval, .milliseconds(10)))
    }
}

/// The sequence behind ``Pipeline/metrics(every:)``: each iterator polls the pipeline on its own schedule, so
/// there is no producer task to leak and any number of observers can watch one pipeline.
struct MetricsStream: AsyncSequence, Sendable {
    typealias Element = MetricsSnapshot
    typealias Failure = Never

    let pipeline: Pipeline
    let interval: Duration

    func makeAsyncIterator() -> Iterator {
        Iterator(pipeline: pipeline, interval: interval)
    }

    struct Iterator: AsyncIteratorProtocol, Sendable {
        typealias Element = MetricsSnapshot
        typealias Failure = Never

        /// How often a waiting iterator looks for the end of the run: bounds how late the final snapshot comes.
        private static let finishCheck = Duration.milliseconds(50)

        let pipeline: Pipeline
        let interval: Duration
        private var nextTick: ContinuousClock.Instant?
        private var previous: MetricsSnapshot?
        private var done = false

        init(pipeline: Pipeline, interval: Duration) {
            self.pipeline = pipeline
            self.interval = interval
        }

        mutating func next() async -> MetricsSnapshot? {
            guard !done else { return nil }
            let clock = ContinuousClock()
            let deadline = nextTick ?? clock.now.advanced(by: interval)
            // Sleep in short steps so the final snapshot follows the end of the run closely, not a whole interval later.
            while pipeline.progress.finishTime == nil {
                let now = clock.now
                if now >= deadline { break }
                do {
                    try await Task.sleep(until: Swift.min(deadline, now.advanced(by: Self.finishCheck)), clock: clock)
                } catch {
                    done = true
                    return nil
                }
            }
            var snapshot = pipeline.metrics
            if snapshot.phase == .finished { done = true }
            if let previous { snapshot.intervalEventsPerSecond = snapshot.eventsPerSecond(since: previous) }
            previous = snapshot
            // Next tick on the original grid; if the consumer fell behind, skip ahead instead of bursting.
            var following = deadline.advanced(by: interval)
            let now = clock.now
            if following <= now { following = now.advanced(by: interval) }
            nextTick = following
            return snapshot
        }

        mutating func next(isolation actor: isolated (any Actor)?) async -> MetricsSnapshot? {
            await next()
        }
    }
}
