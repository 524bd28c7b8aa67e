import Synchronization

/// Tracks `ingest` calls so the end of input waits for the ones already running, and refuses new ones.
final class IngestGate: Sendable {
    private struct State {
        var closed = false
        var active = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// Registers a call; false once the gate is closed.
    func enter() -> Bool {
        state.withLock { s in
            guard !s.closed else { return false }
            s.active += 1
            return true
        }
    }

    func leave() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.active -= 1
            guard s.closed && s.active == 0 else { return [] }
            defer { s.waiters = [] }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }

    func close() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.closed = true
            guard s.active == 0 else { return [] }
            defer { s.waiters = [] }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns once the gate is closed and no call is running.
    func waitUntilClosedAndIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.closed && s.active == 0 { return true }
                s.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
