import Sluice

/// A custom destination that accepts every batch and keeps nothing: what is left to measure is the engine and
/// the custom-destination hand-off (each event re-encoded as its own Statsig export object).
struct NullDestination: Destination {
    func send(_ batch: EventBatch) async throws {}
}
