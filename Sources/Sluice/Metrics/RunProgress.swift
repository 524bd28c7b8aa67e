import Synchronization

/// Milestones of a run that metrics report but the stages do not need: when the input closed and when the run
/// finished. Set by the pipeline, read lock-free by ``Pipeline/metrics``.
final class RunProgress: Sendable {
    private let inputClosed = Atomic<Bool>(false)
    /// Monotonic nanoseconds at which the run finished; 0 while it has not.
    private let finishedAt = Atomic<UInt64>(0)

    /// No more events can enter: end of input, ``Pipeline/finish()``, shutdown or cancellation.
    func markInputClosed() { inputClosed.store(true, ordering: .releasing) }

    /// Every stage has drained and the books are final.
    func markFinished() { finishedAt.store(max(1, Clock.nanoseconds()), ordering: .releasing) }

    var isInputClosed: Bool { inputClosed.load(ordering: .acquiring) }

    /// When the run finished, or nil while it is running (or has not started).
    var finishTime: UInt64? {
        let t = finishedAt.load(ordering: .acquiring)
        return t == 0 ? nil : t
    }
}
