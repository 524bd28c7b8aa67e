/// Stage 1: turns bytes into chunks of events.
///
/// Frames NDJSON lines, decodes each with the byte-level reader, and sends full chunks downstream, suspending
/// when the next stage is behind (that is how a slow destination slows the reading of standard input). Invalid
/// lines are counted, reported and dead-lettered here, and never stop the stream.
actor Ingestor {
    private let options: DecoderOptions
    private let chunkSize: Int
    private let maxLineBytes: Int
    private let output: BoundedChannel<EventChunk>
    private let accounting: Accounting
    private let invalidSink: InvalidSink

    init(options: DecoderOptions, chunkSize: Int, maxLineBytes: Int, output: BoundedChannel<EventChunk>,
         accounting: Accounting, invalidSink: InvalidSink) {
        self.options = options
        self.chunkSize = max(1, chunkSize)
        self.maxLineBytes = maxLineBytes
        self.output = output
        self.accounting = accounting
        self.invalidSink = invalidSink
    }

    /// Reads `blocks` until they end, then sends the last partial chunk. Does not finish `output`: the pipeline
    /// does, once every producer (this and `ingest` calls) is done.
    ///
    /// A drain (`shouldStop`) ends the blocks at the source (``ByteSource`` stops reading and finishes the
    /// channel), never here: every block already read is decoded and counted, so no byte that left the input is
    /// in no count. A line cut off by the stop is not bad input (its producer was interrupted, e.g. Ctrl-C on
    /// `generate | sluice`), so it is not invalid either: it is counted as incomplete and its bytes are kept in
    /// the dead-letter file.
    func run(blocks: BoundedChannel<[UInt8]>, shouldStop: @Sendable () -> Bool) async {
        var framer = LineFramer(maxLineBytes: maxLineBytes)
        var decoder = InputDecoder(options: options)
        var chunk = newChunk()
        var invalid: [InvalidInput] = []
        var iterator = blocks.makeAsyncIterator()
        while let block = await iterator.next() {
            var pending: [EventChunk] = []
            block.withUnsafeBytes { raw in
                framer.consume(raw) { piece in
                    handle(piece, decoder: &decoder, chunk: &chunk, invalid: &invalid)
                    if chunk.events.count >= chunkSize {
                        pending.append(chunk)
                        chunk = newChunk()
                    }
                }
            }
            for full in pending { await emit(full, invalid: &invalid) }
            // When no more input is waiting (a trickle, an interactive producer), send the partial chunk on
            // now: events must not sit here until 512 more arrive. At full speed blocks queue up and chunks fill.
            if blocks.count == 0 && (!chunk.events.isEmpty || !invalid.isEmpty) {
                let partial = chunk
                chunk = newChunk()
                await emit(partial, invalid: &invalid)
            }
        }
        // At end of input a last line without a newline is still a line. When reading stopped early (a drain),
        // the partial line is input that was never finished: read, so counted and kept, but not invalid.
        let stopped = shouldStop()
        var incomplete: InvalidInput?
        framer.finish { piece in
            if stopped, case .line(let line, let number) = piece {
                incomplete = InvalidInput(line: number, reason: Self.cutOffReason, raw: Array(line))
            } else {
                handle(piece, decoder: &decoder, chunk: &chunk, invalid: &invalid)
            }
        }
        await emit(chunk, invalid: &invalid)
        if let incomplete {
            accounting.recordIncomplete(1)
            invalidSink.keepIncomplete(incomplete)
        }
    }

    /// Why the last line read before a drain is invalid.
    static let cutOffReason = "incomplete line: input stopped (shutdown) before its newline arrived"

    private func newChunk() -> EventChunk {
        EventChunk(reservingEvents: chunkSize, bytes: chunkSize * 512)
    }

    /// Decodes one framed line into `chunk`, or records an overlong one; shared by the stream and `ingest`.
    private nonisolated func handle(_ piece: LineFramer.Piece, decoder: inout InputDecoder, chunk: inout EventChunk,
                                    invalid: inout [InvalidInput]) {
        switch piece {
        case .line(let line, let number):
            if chunk.events.isEmpty { chunk.createdAt = Clock.nanoseconds() }
            decoder.decode(line, line: number, into: &chunk, invalid: &invalid)
        case .overlong(let number, let prefix):
            invalid.append(InvalidInput(line: number, reason: "line longer than \(maxLineBytes) bytes (input.maxLineBytes)", raw: prefix))
        }
    }

    /// Counts and sends a chunk (and reports the invalid input gathered with it); shared by the stream and `ingest`.
    private nonisolated func emit(_ chunk: EventChunk, invalid: inout [InvalidInput]) async {
        accounting.recordIngested(chunk.events.count, invalid: invalid.count)
        if !invalid.isEmpty {
            invalidSink.report(invalid)
            invalid.removeAll(keepingCapacity: true)
        }
        guard !chunk.events.isEmpty else { return }
        if await !output.send(chunk) {
            // The channel only refuses after the pipeline gave up on its input (hard cancellation): these events
            // were counted as ingested, so account for them as dropped everywhere rather than lose them.
            accounting.recordDroppedEverywhere(chunk.events.count)
        }
    }

    /// Decodes a request body (any input shape, one document or NDJSON) outside the actor, so concurrent
    /// `ingest` calls decode in parallel, then sends its chunks downstream (suspending under backpressure).
    nonisolated func ingest(_ body: [UInt8], context: IngestContext? = nil) async -> (accepted: Int, invalid: [InvalidInput]) {
        let (chunks, invalid) = body.withUnsafeBytes { decodeBody($0, context: context) }
        var unreported = invalid
        if chunks.isEmpty { await emit(EventChunk(), invalid: &unreported) }
        for chunk in chunks { await emit(chunk, invalid: &unreported) }
        return (chunks.reduce(0) { $0 + $1.events.count }, invalid)
    }

    private nonisolated func decodeBody(_ body: UnsafeRawBufferPointer, context: IngestContext?) -> ([EventChunk], [InvalidInput]) {
        var decoder = InputDecoder(options: options)
        decoder.ingestContext = context
        var chunks: [EventChunk] = []
        var chunk = EventChunk(reservingEvents: 16, bytes: body.count)
        var invalid: [InvalidInput] = []
        // A body is one JSON document (possibly pretty-printed over several lines) or NDJSON.
        var probe = JSONReader(maxDepth: options.maxDepth)
        if (try? probe.parse(body)) != nil {
            // Values are copied verbatim into NDJSON output, so a pretty-printed body's line breaks must go.
            // Outside strings they are whitespace, and JSON forbids raw ones inside strings: spaces are safe.
            if body.contains(0x0A) || body.contains(0x0D) {
                let flat = body.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
                flat.withUnsafeBytes { _ = decoder.decode($0, line: 1, into: &chunk, invalid: &invalid) }
            } else {
                decoder.decode(body, line: 1, into: &chunk, invalid: &invalid)
            }
            return (chunk.events.isEmpty ? [] : [chunk], invalid)
        }
        var framer = LineFramer(maxLineBytes: maxLineBytes)
        let handle = { (piece: LineFramer.Piece) in
            self.handle(piece, decoder: &decoder, chunk: &chunk, invalid: &invalid)
            if chunk.events.count >= self.chunkSize {
                chunks.append(chunk)
                chunk = EventChunk(reservingEvents: 16, bytes: 0)
            }
        }
        framer.consume(body, handle)
        framer.finish(handle)
        if !chunk.events.isEmpty { chunks.append(chunk) }
        return (chunks, invalid)
    }
}
