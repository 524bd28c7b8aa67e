/// Hands every chunk to every destination's queue, applying each destination's overflow policy.
///
/// `block` (the default) waits for room, so a slow destination slows everything upstream (backpressure);
/// `drop_newest` discards the incoming chunk for that destination only, and `drop_oldest` discards the oldest
/// queued one. Discarded events are counted as dropped for that destination. Chunks are shared copy-on-write,
/// so fan-out copies no event data.
///
/// A chunk of a replayed unit skips the destinations that settled it in an earlier run (`UnitTag.alreadySettled`):
/// its events are booked as already settled for them instead of being sent twice.
struct FanOut: Sendable {
    struct Branch: Sendable {
        let name: String
        /// The destination's position in the pipeline's destination list (its index in settlement trackers).
        let index: Int
        let queue: BoundedChannel<EventChunk>
        let overflow: OverflowPolicy
    }

    let branches: [Branch]
    let accounting: Accounting

    func send(_ chunk: EventChunk) async {
        for branch in branches {
            if let unit = chunk.unit, unit.alreadySettled.contains(branch.index) {
                skipAlreadySettled(chunk, branch)
                continue
            }
            switch branch.overflow {
            case .block:
                if await !branch.queue.send(chunk) { drop(chunk, branch) }
            case .dropNewest:
                if branch.queue.trySend(chunk) != .enqueued { drop(chunk, branch) }
            case .dropOldest:
                switch branch.queue.sendEvictingOldest(chunk) {
                case .enqueued(let evicted): if let evicted { drop(evicted, branch) }
                case .finished: drop(chunk, branch)
                }
            }
        }
    }

    private func drop(_ chunk: EventChunk, _ branch: Branch) {
        accounting.update(branch.name) { $0.dropped += chunk.events.count }
        chunk.settle(chunk.events.count, destination: branch.index, as: .dropped)
    }

    private func skipAlreadySettled(_ chunk: EventChunk, _ branch: Branch) {
        accounting.update(branch.name) { $0.alreadySettled += chunk.events.count }
        chunk.settle(chunk.events.count, destination: branch.index, as: .alreadySettled)
    }

    func finish() {
        for branch in branches { branch.queue.finish() }
    }
}
