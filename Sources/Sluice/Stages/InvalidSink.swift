/// Where invalid input goes: the dead-letter file (when configured) and the embedder's report handler.
struct InvalidSink: Sendable {
    let deadLetters: DeadLetterWriter?
    let report: (@Sendable (InvalidInput) -> Void)?

    func report(_ records: [InvalidInput]) {
        deadLetters?.writeInvalid(records)
        if let report { records.forEach(report) }
    }

    /// Keeps the partial last line of a stopped stream in the dead-letter file (`"kind":"incomplete"`); it is
    /// not reported as invalid.
    func keepIncomplete(_ record: InvalidInput) {
        deadLetters?.writeInvalid([record], kind: "incomplete")
    }
}
