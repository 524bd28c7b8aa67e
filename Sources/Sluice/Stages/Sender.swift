/// How a destination hands over one batch. HTTP destinations retry inside `send`; stdout and file write once.
protocol BatchSender: Sendable {
    /// Delivers `batch`, or says why it could not. `abandon` turns true once the drain deadline has passed:
    /// stop retrying and report failure (the batch is then dead-lettered, never lost).
    func send(_ batch: Batch, abandon: @escaping @Sendable () -> Bool) async -> SendOutcome
}

/// The result of handing over one batch.
enum SendOutcome: Sendable, Equatable {
    case delivered(attempts: Int)
    case failed(reason: String, attempts: Int)
    /// A local write (stdout, a file) failed: Sluice could not put the events where it was told to.
    case writeFailed(reason: String)
    /// The endpoint refused the whole batch (after `attempts` requests) in a way that one part of it may cause,
    /// so it was split and each part settled on its own (see `HTTPBatchSender`).
    case split(attempts: Int, parts: [SettledPart])
}

/// A part of a split batch and what became of it.
struct SettledPart: Sendable, Equatable {
    let batch: Batch
    let outcome: SendOutcome

    static func == (lhs: SettledPart, rhs: SettledPart) -> Bool {
        lhs.batch.body == rhs.batch.body && lhs.outcome == rhs.outcome
    }
}

/// Stage 6 (per destination): `concurrency` workers take batches from the queue and send them.
///
/// With one worker (stdout, file, and the default for ordered delivery) batches leave in order; with more,
/// requests overlap and may complete out of order. Once the drain deadline has passed, remaining batches are
/// dead-lettered instead of sent (or left unsettled for the next run, see ``DrainDeadlinePolicy``).
actor Sender {
    private let sender: any BatchSender
    private let recorder: DeliveryRecorder
    private let workers: Int
    private let shutdown: ShutdownState
    private let commit: (@Sendable () -> Void)?

    /// - Parameter commit: run by a worker after it settled a batch and before it takes the next one: a source
    ///   that records settlement durably (the spool's cursor files) records what the batch settled. Each worker
    ///   then has at most one batch the endpoint may hold and the source does not know of, which is what bounds
    ///   a crash's re-sends.
    init(sender: any BatchSender, recorder: DeliveryRecorder, workers: Int, shutdown: ShutdownState,
         commit: (@Sendable () -> Void)? = nil) {
        self.sender = sender
        self.recorder = recorder
        self.workers = max(1, workers)
        self.shutdown = shutdown
        self.commit = commit
    }

    func run(input: BoundedChannel<Batch>, inFlight: InFlightCounter) async {
        let sender = self.sender, recorder = self.recorder, shutdown = self.shutdown, commit = self.commit
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    for await batch in input {
                        if shutdown.isAbandoned {
                            recorder.missedDeadline(batch, reason: "drain deadline passed before the batch was sent", attempts: 0)
                            continue
                        }
                        inFlight.add(1)
                        let outcome = await sender.send(batch, abandon: { shutdown.isAbandoned })
                        inFlight.add(-1)
                        Self.settle(batch, outcome, recorder, abandoned: shutdown.isAbandoned)
                        commit?()
                    }
                }
            }
        }
    }

    /// Books `outcome` for `batch`; a split batch's events are settled part by part, each exactly once.
    /// A failure once the drain deadline has passed (`abandoned`) is given up for the deadline: the drain-deadline
    /// policy decides whether it is dead-lettered or left unsettled for the source (a spool) to deliver next run.
    private static func settle(_ batch: Batch, _ outcome: SendOutcome, _ recorder: DeliveryRecorder, abandoned: Bool) {
        switch outcome {
        case .delivered(let attempts): recorder.delivered(batch, attempts: attempts)
        case .failed(let reason, let attempts) where abandoned:
            recorder.missedDeadline(batch, reason: reason, attempts: attempts)
        case .failed(let reason, let attempts): recorder.deadLetter(batch, reason: reason, attempts: attempts)
        case .writeFailed(let reason): recorder.writeFailed(batch, reason: reason)
        case .split(let attempts, let parts):
            recorder.refusedWhole(attempts: attempts)
            for part in parts { settle(part.batch, part.outcome, recorder, abandoned: abandoned) }
        }
    }
}
