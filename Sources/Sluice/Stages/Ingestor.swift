#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Stage 1: turns bytes into chunks of events.
///
/// Frames NDJSON lines, decodes each with the byte-level reader, and sends full chunks downstream, suspending
/// when the next stage is behind (that is how a slow destination slows the reading of standard input). Invalid
/// lines are counted, reported and dead-lettered here, and never stop the stream.
actor Ingestor {
    let options: DecoderOptions
    let chunkSize: Int
    let maxLineBytes: Int
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
    ///
    /// With a `tracker`, each read block is one unit of input (the lines that end in it): its chunks are cut at
    /// the block's end so that no chunk spans two units.
    func run(blocks: BoundedChannel<[UInt8]>, tracker: SettlementTracker? = nil, shouldStop: @Sendable () -> Bool) async {
        var framer = LineFramer(maxLineBytes: maxLineBytes)
        var decoder = InputDecoder(options: options)
        var spare = InputDecoder(options: options)  // the second half's, for large blocks (Ingestor+SplitDecode)
        var chunk = newChunk()
        var invalid: [InvalidInput] = []
        var iterator = blocks.makeAsyncIterator()
        while let block = await iterator.next() {
            var pending: [EventChunk] = []
            if block.count >= Self.splitDecodeBytes {
                await decodeSplit(block, framer: &framer, decoder: &decoder, spare: &spare, chunk: &chunk,
                                  pending: &pending, invalid: &invalid)
            } else {
                block.withUnsafeBytes { raw in
                    framer.consume(raw) { piece in
                        handle(piece, decoder: &decoder, chunk: &chunk, invalid: &invalid)
                        if chunk.events.count >= chunkSize {
                            pending.append(chunk)
                            chunk = newChunk()
                        }
                    }
                }
            }
            if let tracker {
                if !chunk.events.isEmpty {
                    pending.append(chunk)
                    chunk = newChunk()
                }
                Self.tag(&pending, tracker.begin(events: pending.reduce(0) { $0 + $1.events.count }))
            }
            // Taken out of `pending` before sending: a chunk still referenced here when the next stage removes
            // its duplicates would make that stage copy the chunk's events (copy-on-write).
            pending.reverse()
            while let full = pending.popLast() { await emit(full, invalid: &invalid) }
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
        if let tracker, !chunk.events.isEmpty {
            chunk.unit = tracker.begin(events: chunk.events.count)
        }
        await emit(chunk, invalid: &invalid)
        if let incomplete {
            accounting.recordIncomplete(1)
            invalidSink.keepIncomplete(incomplete)
        }
    }

    /// Why the last line read before a drain is invalid.
    static let cutOffReason = "incomplete line: input stopped (shutdown) before its newline arrived"

    /// Marks every chunk as coming from `unit`.
    private static func tag(_ chunks: inout [EventChunk], _ unit: UnitTag) {
        for i in chunks.indices { chunks[i].unit = unit }
    }

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
            invalid.append(.overlongLine(number, prefix: prefix, maxLineBytes: maxLineBytes))
        }
    }

    /// Counts and sends a chunk (and reports the invalid input gathered with it); shared by the stream and `ingest`.
    nonisolated func emit(_ chunk: EventChunk, invalid: inout [InvalidInput]) async {
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
            chunk.settleEverywhere(chunk.events.count, as: .dropped)
        }
    }

    /// Decodes a request body (any input shape, one document or NDJSON) outside the actor, so concurrent
    /// `ingest` calls decode in parallel, then sends its chunks downstream (suspending under backpressure).
    ///
    /// `unit` is called once with the body's event count (before any chunk is sent) and returns the tag of the
    /// unit of input the body is (typically `{ tracker.begin(events: $0, ...) }`), or nil for untracked input.
    /// `firstLine` numbers the body's first line (a spool record replayed keeps its input's line numbers).
    nonisolated func ingest(_ body: [UInt8], context: IngestContext? = nil, firstLine: Int = 1,
                            unit: (_ events: Int) -> UnitTag? = { _ in nil }) async -> (accepted: Int, invalid: [InvalidInput]) {
        await ingest(body[...], context: context, firstLine: firstLine, unit: unit)
    }

    /// ``ingest(_:context:firstLine:unit:)`` of a slice (a spool record cut from a read block, not copied).
    ///
    /// `framing` ``IngestFraming/lines`` decodes the bytes as the stream path does (NDJSON lines, nothing
    /// else): a spool record cut from stdin or `--input` must decode exactly as it would without a spool.
    nonisolated func ingest(_ body: ArraySlice<UInt8>, context: IngestContext? = nil, firstLine: Int = 1,
                            framing: IngestFraming = .body,
                            unit: (_ events: Int) -> UnitTag? = { _ in nil }) async -> (accepted: Int, invalid: [InvalidInput]) {
        var body = body
        if framing == .body, Gzip.hasMagic(body) {  // a gzipped body (magic bytes): see Ingestor+Gzip.swift
            var whole = Array(body)
            if let refused = Self.gunzipBody(&whole) {
                var reported = refused
                _ = unit(0)  // a unit of no events, settled at once (as for a body with no valid event)
                await emit(EventChunk(), invalid: &reported)
                return (0, refused)
            }
            body = whole[...]
        }
        var (chunks, invalid) = body.withUnsafeBytes { decodeBody($0, context: context, firstLine: firstLine, framing: framing) }
        if let tag = unit(chunks.reduce(0) { $0 + $1.events.count }) { Self.tag(&chunks, tag) }
        var unreported = invalid
        if chunks.isEmpty { await emit(EventChunk(), invalid: &unreported) }
        for chunk in chunks { await emit(chunk, invalid: &unreported) }
        return (chunks.reduce(0) { $0 + $1.events.count }, invalid)
    }

    private nonisolated func decodeBody(_ body: UnsafeRawBufferPointer, context: IngestContext?, firstLine: Int,
                                        framing: IngestFraming) -> ([EventChunk], [InvalidInput]) {
        var decoder = InputDecoder(options: options)
        decoder.ingestContext = context
        var chunks: [EventChunk] = []
        var chunk = EventChunk(reservingEvents: 16, bytes: body.count)
        var invalid: [InvalidInput] = []
        // One line (what SDKs send): NDJSON framing would yield exactly this line, and a whole document is the
        // same decode, so decode it at once; the decoder's own parse is the only one (no validity probe first).
        if Self.isSingleLine(body, maxLineBytes: maxLineBytes) {
            decoder.decode(body, line: firstLine, into: &chunk, invalid: &invalid)
            return (chunk.events.isEmpty ? [] : [chunk], invalid)
        }
        // Several lines: one JSON document pretty-printed over them, or NDJSON (only NDJSON for stream lines).
        var probe = JSONReader(maxDepth: options.maxDepth)
        if framing == .body, (try? probe.parse(body)) != nil {
            // Values are copied verbatim into NDJSON output, so a pretty-printed body's line breaks must go.
            // Outside strings they are whitespace, and JSON forbids raw ones inside strings: spaces are safe.
            if Self.hasLineBreak(body) {
                let flat = Self.flattened(body)
                flat.withUnsafeBytes { _ = decoder.decode($0, line: firstLine, into: &chunk, invalid: &invalid) }
            } else {
                decoder.decode(body, line: firstLine, into: &chunk, invalid: &invalid)
            }
            return (chunk.events.isEmpty ? [] : [chunk], invalid)
        }
        var framer = LineFramer(maxLineBytes: maxLineBytes, firstLine: firstLine)
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

    /// `body` with CR and LF replaced by spaces: one copy, then memchr to the few line breaks.
    static func flattened(_ body: UnsafeRawBufferPointer) -> [UInt8] {
        var flat = [UInt8](body)
        flat.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            for byte in [UInt8(0x0A), 0x0D] {
                var start = 0
                while start < raw.count, let found = memchr(base + start, Int32(byte), raw.count - start) {
                    let at = UnsafeMutableRawPointer(found) - base
                    raw[at] = 0x20
                    start = at + 1
                }
            }
        }
        return flat
    }

    /// True when `body` is one non-blank line the framer would pass whole: no CR or LF, within `maxLineBytes`.
    static func isSingleLine(_ body: UnsafeRawBufferPointer, maxLineBytes: Int) -> Bool {
        guard body.count > 0, body.count <= maxLineBytes, !hasLineBreak(body) else { return false }
        return body.contains { $0 != 0x20 && $0 != 0x09 }
    }

    /// True when `body` holds a CR or LF.
    static func hasLineBreak(_ body: UnsafeRawBufferPointer) -> Bool {
        guard let base = body.baseAddress, body.count > 0 else { return false }
        return memchr(base, 0x0A, body.count) != nil || memchr(base, 0x0D, body.count) != nil
    }
}

