extension Ingestor {
    /// Decodes a batch of stream entries (each body any input shape: one document or NDJSON) into chunks of
    /// the usual size and sends them downstream as one unit of acknowledgement.
    ///
    /// An entry that yields no event is invalid with its entry ID in the reason (and so in the dead-letter
    /// file); so is an entry without the body field, or one deleted while pending (`extraInvalid` carries
    /// records the source made itself, such as too many deliveries). `unit` is called once with the batch's
    /// event count before any chunk is sent. `recordingOrigins` keeps each event's entry ID and position in its
    /// chunk (``EventOrigins``), which only shared de-duplication reads.
    nonisolated func ingest(entries: StreamEntryBatch, field: String, extraInvalid: [InvalidInput], recordingOrigins: Bool = true,
                            unit: (_ events: Int) -> UnitTag) async -> (accepted: Int, invalid: [InvalidInput]) {
        var invalid = extraInvalid
        // Decoded in one pass over the batch's one buffer (each body read in place), before any await.
        var chunks = entries.storage.withUnsafeBytes { storage in
            decodeEntries(entries, storage: storage, field: field, recordingOrigins: recordingOrigins, invalid: &invalid)
        }
        let total = chunks.reduce(0) { $0 + $1.events.count }
        let tag = unit(total)
        let reported = invalid
        if chunks.isEmpty { await emit(EventChunk(), invalid: &invalid) }
        // Taken out of `chunks` before sending (as in ``run(blocks:tracker:shouldStop:)``): a chunk still referenced
        // here when the next stage removes its duplicates would make that stage copy its events.
        chunks.reverse()
        while var chunk = chunks.popLast() {
            chunk.unit = tag
            await emit(chunk, invalid: &invalid)
        }
        return (total, reported)
    }

    private nonisolated func decodeEntries(_ entries: StreamEntryBatch, storage: UnsafeRawBufferPointer, field: String,
                                           recordingOrigins: Bool, invalid: inout [InvalidInput]) -> [EventChunk] {
        var decoder = InputDecoder(options: options)
        var chunks: [EventChunk] = []
        var chunk = EventChunk(reservingEvents: min(chunkSize, entries.count * 2), bytes: entries.bodyBytes)
        chunk.createdAt = Clock.nanoseconds()
        var entryInvalid: [InvalidInput] = []
        for index in 0..<entries.count {
            let id = entries.ids[index]
            guard case .bytes(let range) = entries.bodies[index] else {
                let reason = entries.bodies[index] == .deleted
                    ? "stream entry \(id) was deleted (trimmed) before it was acknowledged"
                    : "stream entry \(id) has no \"\(field)\" field"
                invalid.append(InvalidInput(line: index + 1, reason: reason, raw: []))
                continue
            }
            let body = UnsafeRawBufferPointer(rebasing: storage[range])
            entryInvalid.removeAll(keepingCapacity: true)
            let before = chunk.events.count
            decodeEntry(body, decoder: &decoder, chunk: &chunk, invalid: &entryInvalid)
            if recordingOrigins { chunk.recordOrigin(id, events: before..<chunk.events.count) }
            if chunk.events.count == before && entryInvalid.isEmpty {
                entryInvalid.append(InvalidInput(line: 1, reason: "no event in the body", raw: body))
            }
            for var record in entryInvalid {
                record.reason = "stream entry \(id): \(record.reason)"
                invalid.append(record)
            }
            if chunk.events.count >= chunkSize {
                chunks.append(chunk)
                chunk = EventChunk(reservingEvents: chunkSize, bytes: chunkSize * 512)
                chunk.createdAt = Clock.nanoseconds()
            }
        }
        if !chunk.events.isEmpty { chunks.append(chunk) }
        return chunks
    }

    /// One entry's body: a single line (the common case, decoded in place), a pretty-printed document, or NDJSON.
    private nonisolated func decodeEntry(_ body: UnsafeRawBufferPointer, decoder: inout InputDecoder,
                                         chunk: inout EventChunk, invalid: inout [InvalidInput]) {
        // memchr, not a byte loop: this check runs over every body (it was an eighth of the source's CPU).
        guard Self.hasLineBreak(body) else {
            if body.count > maxLineBytes {
                invalid.append(InvalidInput(line: 1, reason: "body longer than \(maxLineBytes) bytes (input.maxLineBytes)", raw: body))
                return
            }
            decoder.decode(body, line: 1, into: &chunk, invalid: &invalid)
            return
        }
        var probe = JSONReader(maxDepth: options.maxDepth)
        if (try? probe.parse(body)) != nil {
            // A pretty-printed document: line breaks outside strings are whitespace; JSON has none inside.
            let flat = body.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
            flat.withUnsafeBytes { _ = decoder.decode($0, line: 1, into: &chunk, invalid: &invalid) }
            return
        }
        var framer = LineFramer(maxLineBytes: maxLineBytes)
        let handle = { (piece: LineFramer.Piece) in
            switch piece {
            case .line(let line, let number): decoder.decode(line, line: number, into: &chunk, invalid: &invalid)
            case .overlong(let number, let prefix):
                invalid.append(.overlongLine(number, prefix: prefix, maxLineBytes: self.maxLineBytes))
            }
        }
        framer.consume(body, handle)
        framer.finish(handle)
    }
}
