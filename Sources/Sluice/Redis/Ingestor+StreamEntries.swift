extension Ingestor {
    /// Decodes a batch of stream entries (each body any input shape: one document or NDJSON) into chunks of
    /// the usual size and sends them downstream as one unit of acknowledgement.
    ///
    /// An entry that yields no event is invalid with its entry ID in the reason (and so in the dead-letter
    /// file); so is an entry without the body field, or one deleted while pending (`extraInvalid` carries
    /// records the source made itself, such as too many deliveries). `unit` is called once with the batch's
    /// event count before any chunk is sent.
    nonisolated func ingest(entries: [StreamEntry], field: String, extraInvalid: [InvalidInput],
                            unit: (_ events: Int) -> UnitTag) async -> (accepted: Int, invalid: [InvalidInput]) {
        var decoder = InputDecoder(options: options)
        var chunks: [EventChunk] = []
        var chunk = EventChunk(reservingEvents: min(chunkSize, entries.count * 2), bytes: entries.reduce(0) { $0 + ($1.body?.count ?? 0) })
        chunk.createdAt = Clock.nanoseconds()
        var invalid = extraInvalid
        var entryInvalid: [InvalidInput] = []
        for (index, entry) in entries.enumerated() {
            guard let body = entry.body else {
                let reason = entry.isDeleted
                    ? "stream entry \(entry.id) was deleted (trimmed) before it was acknowledged"
                    : "stream entry \(entry.id) has no \"\(field)\" field"
                invalid.append(InvalidInput(line: index + 1, reason: reason, raw: []))
                continue
            }
            entryInvalid.removeAll(keepingCapacity: true)
            let before = chunk.events.count
            body.withUnsafeBytes { raw in
                decodeEntry(raw, decoder: &decoder, chunk: &chunk, invalid: &entryInvalid)
            }
            chunk.recordOrigin(entry.id, events: before..<chunk.events.count)
            if chunk.events.count == before && entryInvalid.isEmpty {
                entryInvalid.append(InvalidInput(line: 1, reason: "no event in the body", raw: body))
            }
            for var record in entryInvalid {
                record.reason = "stream entry \(entry.id): \(record.reason)"
                invalid.append(record)
            }
            if chunk.events.count >= chunkSize {
                chunks.append(chunk)
                chunk = EventChunk(reservingEvents: chunkSize, bytes: chunkSize * 512)
                chunk.createdAt = Clock.nanoseconds()
            }
        }
        if !chunk.events.isEmpty { chunks.append(chunk) }
        let total = chunks.reduce(0) { $0 + $1.events.count }
        let tag = unit(total)
        for index in chunks.indices { chunks[index].unit = tag }
        let reported = invalid
        if chunks.isEmpty { await emit(EventChunk(), invalid: &invalid) }
        for chunk in chunks { await emit(chunk, invalid: &invalid) }
        return (total, reported)
    }

    /// One entry's body: a single line (the common case, decoded in place), a pretty-printed document, or NDJSON.
    private nonisolated func decodeEntry(_ body: UnsafeRawBufferPointer, decoder: inout InputDecoder,
                                         chunk: inout EventChunk, invalid: inout [InvalidInput]) {
        guard body.contains(0x0A) || body.contains(0x0D) else {
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
                invalid.append(InvalidInput(line: number, reason: "line longer than \(self.maxLineBytes) bytes (input.maxLineBytes)", raw: prefix))
            }
        }
        framer.consume(body, handle)
        framer.finish(handle)
    }
}
