import Foundation

extension Pipeline {
    /// What shared de-duplication has done so far; nil unless `dedupe.shared` is configured and dedupe is on.
    public var sharedDedupeStatistics: SharedDedupeStatistics? {
        sharedDedupeEndpoint == nil || !dedupeIsEnabled ? nil : sharedDedupeCounters.snapshot
    }

    var dedupeIsEnabled: Bool { configuration.dedupe.enabled && !options.disableDedupe }

    /// The shared de-duplication server with its credentials (from the configuration or the environment).
    static func sharedDedupeEndpoint(_ configuration: PipelineConfiguration) throws -> RedisEndpoint? {
        guard let shared = configuration.dedupe.shared else { return nil }
        do {
            return try shared.endpoint(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw PipelineError("dedupe.shared: \(error)")
        }
    }

    /// The de-duplication stage: shared through Redis when `dedupe.shared` is set, else this process's table.
    func makeDeduplicationStage() -> @Sendable (BoundedChannel<EventChunk>, BoundedChannel<EventChunk>) async -> Void {
        if let endpoint = sharedDedupeEndpoint, let shared = configuration.dedupe.shared {
            let stage = SharedDeduplicator(configuration: configuration.dedupe, shared: shared, endpoint: endpoint,
                                           accounting: accounting, stats: dedupeStats, counters: sharedDedupeCounters,
                                           notices: notices)
            return { await stage.run(input: $0, output: $1) }
        }
        // With a spool, the local table's keys are journalled there and restored by the next run (the shared
        // table needs no journal: its keys live in Redis).
        let stage = Deduplicator(configuration: configuration.dedupe, accounting: accounting, stats: dedupeStats,
                                 keyStore: spooledDedupeKeys)
        return { await stage.run(input: $0, output: $1) }
    }
}
