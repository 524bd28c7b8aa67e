extension Pipeline {
    /// Like ``ingest(_:)-([UInt8])``, with what a relay knows about the request: the client's address fills
    /// events' missing IPs and the client's clock offset corrects event times (see ``IngestContext``).
    /// Everything else (decoding, accounting, backpressure, refusal while finishing) is the same.
    public func ingest(_ body: [UInt8], context: IngestContext) async -> IngestResult {
        guard gate.enter() else { return IngestResult(accepted: 0, invalid: [], refused: true) }
        defer { gate.leave() }
        let (accepted, invalid) = await ingestor.ingest(body, context: context)
        return IngestResult(accepted: accepted, invalid: invalid, refused: false)
    }

    /// True while the first queue has room for another chunk: a relay waits briefly for this before taking a
    /// body, and answers 503 when it stays full (``ingest(_:)-([UInt8])`` itself would wait indefinitely).
    public var hasIngestCapacity: Bool {
        ingestQueue.count < max(1, configuration.input.queueCapacity)
    }

    /// True once the pipeline stopped taking input (finish, shutdown, end of input).
    public var isRefusingInput: Bool { shutdownState.isDraining || progress.isInputClosed }
}
