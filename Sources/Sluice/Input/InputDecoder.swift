/// Settings the decoder needs from the pipeline configuration.
public struct DecoderOptions: Sendable {
    /// Custom ID type that receives a Segment message's `anonymousId` (unless `statsigCustomIDs` names one).
    public var segmentAnonymousIdAs: String
    /// Segment event-name patterns to ingest (`segmentInbound.events`); nil ingests every event.
    public var segmentEvents: [String]?
    /// Deepest JSON nesting accepted in an input line.
    public var maxDepth: Int
    /// Experiment specs and patterns that rename config exposures of experiments (nil: none configured).
    var experiments: ExperimentCatalog?
    /// How integer timestamps are read.
    public var timestampUnit: TimestampUnit = .milliseconds
    /// Unit tests of the formats decode hand-written events with tiny times (`"time":1`); they turn the
    /// seconds check off. Never false in a pipeline.
    var checksSecondsLikeTimes = true
    /// Replaying dead letters for this destination only: records of other destinations are filtered.
    public var replayDestination: String?

    /// Creates options; the defaults match the configuration's.
    public init(segmentAnonymousIdAs: String = "segmentAnonymousId", segmentEvents: [String]? = nil, maxDepth: Int = 128) {
        self.segmentAnonymousIdAs = segmentAnonymousIdAs
        self.segmentEvents = segmentEvents
        self.maxDepth = maxDepth
    }
}

/// Turns one input document (one NDJSON line, or one request body) into events, whatever its shape.
///
/// Shapes, detected per document: a Statsig event (has `eventName`), a `log_event` body (`events`, with an
/// optional shared `user` and `statsigMetadata`), a webhook batch (`data`), a Segment batch (`batch`) and a
/// Segment message (`type`). A document that fails JSON validation is one invalid record; inside a batch each
/// bad event is its own invalid record and the good ones still count.
struct InputDecoder {
    var reader: JSONReader
    let options: DecoderOptions
    let segmentEvents: [EventNamePattern]?
    /// What a relay knows about the body being decoded (client IP, clock offset); nil for stream input.
    var ingestContext: IngestContext?
    /// True while decoding the original line of an invalid-input dead-letter record, which is replayed once only.
    var decodingReplayedLine = false

    init(options: DecoderOptions = DecoderOptions()) {
        self.options = options
        self.reader = JSONReader(maxDepth: options.maxDepth)
        self.segmentEvents = options.segmentEvents.map { $0.map(EventNamePattern.init) }
    }

    /// What one document produced.
    struct Outcome {
        var accepted = 0
    }

    /// Decodes `document` (from input line `line`) into `chunk`, appending rejects to `invalid`.
    /// Returns the number of events added to the chunk.
    @discardableResult
    mutating func decode(_ document: UnsafeRawBufferPointer, line: Int, into chunk: inout EventChunk,
                         invalid: inout [InvalidInput]) -> Int {
        do {
            try reader.parse(document)
        } catch {
            invalid.append(InvalidInput(line: line, reason: "invalid JSON: \(error)", raw: document))
            return 0
        }
        let base = chunk.arena.count
        let eventsBefore = chunk.events.count
        chunk.arena.append(contentsOf: document)
        let context = DocumentContext(base: base, line: line)
        var replayedLine: [UInt8]?
        // `reader` stays in place (nothing below parses or reassigns it) until the view is no longer used.
        decodeDocument(reader.unsafeView(of: document), context, into: &chunk, invalid: &invalid, replay: &replayedLine)
        let added = chunk.events.count - eventsBefore
        if added == 0 { chunk.arena.removeSubrange(base...) }  // keep no bytes for a document that yielded nothing
        if let replayedLine {
            // An invalid-input dead-letter record: its original line is decoded as if it stood here (after the
            // record's own view is done with the reader's tape).
            decodingReplayedLine = true
            defer { decodingReplayedLine = false }
            return added + replayedLine.withUnsafeBytes { decode($0, line: line, into: &chunk, invalid: &invalid) }
        }
        return added
    }

    /// Where the current document sits in the arena, and where it came from.
    struct DocumentContext {
        let base: Int
        let line: Int
        @inline(__always) func span(_ view: JSONView, _ node: Int) -> ByteSpan {
            ByteSpan(start: base + Int(view.nodes[node].start), count: Int(view.nodes[node].end - view.nodes[node].start))
        }
    }

    private func decodeDocument(_ view: JSONView, _ context: DocumentContext, into chunk: inout EventChunk,
                                invalid: inout [InvalidInput], replay: inout [UInt8]?) {
        guard view.kind(0) == .object else {
            invalid.append(InvalidInput(line: context.line, reason: "expected a JSON object (a Statsig event, a log_event body, a {\"data\": [...]} batch, or a Segment message or batch)", raw: view.bytes))
            return
        }
        // Any document with an `eventName` member is a Statsig event, and export lines start with it: when the
        // first key says so, the walk over the root's members below could only confirm it, so skip it. (The
        // length check is the walk's own: it matches keys by their raw length, so an escaped key never matches.)
        if view.nodes[0].next > 1 && view.rawStringContent(1).count == 9 && view.stringEquals(1, "eventName") {
            if let reason = decodeStatsigEvent(view, 0, context, sharedUser: nil, sharedStatsigMetadata: nil, into: &chunk) {
                invalid.append(InvalidInput(line: context.line, reason: reason, raw: view.bytes))
            }
            return
        }
        var eventName: Int?, events: Int?, data: Int?, batch: Int?, type: Int?, user: Int?, statsigMetadata: Int?
        view.forEachMember(of: 0) { key, value in
            let k = view.rawStringContent(key)
            switch k.count {
            case 4: if view.stringEquals(key, "data") { data = value } else if view.stringEquals(key, "user") { user = value } else if view.stringEquals(key, "type") { type = value }
            case 5: if view.stringEquals(key, "batch") { batch = value }
            case 6: if view.stringEquals(key, "events") { events = value }
            case 9: if view.stringEquals(key, "eventName") { eventName = value }
            case 15: if view.stringEquals(key, "statsigMetadata") { statsigMetadata = value }
            default: break
            }
        }
        if eventName != nil {
            if let reason = decodeStatsigEvent(view, 0, context, sharedUser: nil, sharedStatsigMetadata: nil, into: &chunk) {
                invalid.append(InvalidInput(line: context.line, reason: reason, raw: view.bytes))
            }
        } else if let list = events ?? data {
            guard view.kind(list) == .array else {
                invalid.append(InvalidInput(line: context.line, reason: "\"\(events != nil ? "events" : "data")\" must be an array of events", raw: view.bytes))
                return
            }
            let sharedUser = user.flatMap { view.kind($0) == .object ? $0 : nil }
            let sharedMetadata = statsigMetadata.flatMap { view.kind($0) == .object ? $0 : nil }
            var index = 0
            view.forEachElement(of: list) { element in
                defer { index += 1 }
                let reason: String?
                if view.kind(element) == .object {
                    reason = decodeStatsigEvent(view, element, context, sharedUser: sharedUser, sharedStatsigMetadata: sharedMetadata, into: &chunk)
                } else {
                    reason = "an event must be a JSON object"
                }
                if let reason {
                    invalid.append(InvalidInput(line: context.line, index: index, reason: reason, raw: view.raw(element)))
                }
            }
        } else if let batch {
            decodeSegmentBatch(view, root: 0, batch: batch, context, into: &chunk, invalid: &invalid)
        } else if type != nil {
            if let reason = decodeSegmentMessage(view, 0, batchRoot: nil, context, into: &chunk) {
                invalid.append(InvalidInput(line: context.line, reason: reason, raw: view.bytes))
            }
        } else if decodeDeadLetter(view, context, into: &chunk, invalid: &invalid, replay: &replay) {
            // One of Sluice's own dead-letter records (see DeadLetterInput.swift).
        } else {
            invalid.append(InvalidInput(line: context.line, reason: "unrecognised input: expected \"eventName\" (Statsig event), \"events\" (log_event body), \"data\" (webhook batch), \"type\" (Segment message), \"batch\" (Segment batch), or a sluice dead-letter record (\"kind\" and \"reason\" with \"event\" or \"raw\")", raw: view.bytes))
        }
    }
}
