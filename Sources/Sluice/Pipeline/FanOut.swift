/// Hands every chunk to every destination's queue, applying each destination's overflow policy.
///
/// `block` (the default) waits for room, so a slow destination slows everything upstream (backpressure);
/// `drop_newest` discards the incoming chunk for that destination only, and `drop_oldest` discards the oldest
/// queued one. Discarded events are counted as dropped for that destination. Chunks are shared copy-on-write,
/// so fan-out copies no event data.
struct FanOut: Sendable {
    struct Branch: Sendable {
        let name: String
        let queue: BoundedChannel<EventChunk>
        let overflow: OverflowPolicy
    }

    let branches: [Branch]
    let accounting: Accounting

    func send(_ chunk: EventChunk) async {
        for branch in branches {
            switch branch.overflow {
            case .block:
                if await !branch.queue.send(chunk) { drop(chunk.events.count, branch) }
            case .dropNewest:
                if branch.queue.trySend(chunk) != .enqueued { drop(chunk.events.count, branch) }
            case .dropOldest:
                switch branch.queue.sendEvictingOldest(chunk) {
                case .enqueued(let evicted): if let evicted { drop(evicted.events.count, branch) }
                case .finished: drop(chunk.events.count, branch)
                }
            }
        }
    }

    private func drop(_ n: Int, _ branch: Branch) {
        accounting.update(branch.name) { $0.dropped += n }
    }

    func finish() {
        for branch in branches { branch.queue.finish() }
    }
}
