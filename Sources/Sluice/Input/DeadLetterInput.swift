/// Sluice's own dead-letter records as input, so an outage's dead letters can be sent once it is over:
/// `sluice --config pipeline.json --input failed.ndjson [--replay-destination NAME]`.
///
/// - `{"kind":"undeliverable","destination","reason","attempts","line","event":{…}}`: the event, in Statsig export
///   format with its original `timeUUID`, is ingested again, so every destination sees the same messageId /
///   timeUUID as the first time (and de-duplicates a replay of a replay). With `"eventKind":"audience_change"`
///   (an ID-list membership change from a Segment audience identify) it is ingested as that change again: the
///   event name is the audience key and `value` must be `true` (add) or `false` (remove).
/// - `{"kind":"invalid"|…,"reason","line","raw":"…"}`: the original line is decoded again, as if it stood here
///   (it may have been fixed in the file, or the engine may accept it now); still broken, it is invalid again.
///
/// With ``DecoderOptions/replayDestination`` set, a record of another destination is ingested and filtered
/// (`deadLetterOfOtherDestination`), so the counts still say what happened to every line.
extension InputDecoder {
    /// Decodes the document as a dead-letter record; false when it is not one. The original line of an
    /// invalid-input record is handed back in `replay`, for ``decode(_:line:into:invalid:)`` to decode.
    func decodeDeadLetter(_ view: JSONView, _ context: DocumentContext, into chunk: inout EventChunk,
                          invalid: inout [InvalidInput], replay: inout [UInt8]?) -> Bool {
        guard let kind = view.member(0, "kind"), view.kind(kind) == .string,
              let reason = view.member(0, "reason"), view.kind(reason) == .string else { return false }
        let event = view.member(0, "event").flatMap { view.kind($0) == .object ? $0 : nil }
        let raw = view.member(0, "raw").flatMap { view.kind($0) == .string ? $0 : nil }
        if let event {
            let before = chunk.events.count
            if let problem = decodeStatsigEvent(view, event, context, sharedUser: nil, sharedStatsigMetadata: nil, into: &chunk) {
                invalid.append(InvalidInput(line: context.line, reason: "dead-letter record: \(problem)", raw: view.bytes))
                return true
            }
            if let problem = restoreAudienceChange(view, context, chunk: &chunk, from: before) {
                chunk.events.removeSubrange(before...)
                invalid.append(InvalidInput(line: context.line, reason: "dead-letter record: \(problem)", raw: view.bytes))
            } else if let only = options.replayDestination, !isRecord(of: only, view) {
                for index in before..<chunk.events.count { chunk.events[index].filterReason = .deadLetterOfOtherDestination }
            }
            return true
        }
        guard let raw else { return false }
        if decodingReplayedLine {
            // A record inside a record's raw line: replaying once is enough, and bounds the work per line.
            invalid.append(InvalidInput(line: context.line, reason: "dead-letter record inside a replayed line (replayed once only)",
                                        raw: view.bytes))
            return true
        }
        var line: [UInt8] = []
        view.appendUnescaped(raw, to: &line)
        replay = line
        return true
    }

    /// Turns the event(s) decoded from a record marked `"eventKind":"audience_change"` back into audience
    /// changes; returns the problem when the record cannot be one (an unknown kind, or a value not true/false).
    private func restoreAudienceChange(_ view: JSONView, _ context: DocumentContext, chunk: inout EventChunk, from start: Int) -> String? {
        guard let node = view.member(0, "eventKind") else { return nil }
        guard view.kind(node) == .string, view.unescapedString(node) == DeadLetterRecord.audienceChange else {
            return "unknown \"eventKind\" (expected \"\(DeadLetterRecord.audienceChange)\")"
        }
        guard let event = view.member(0, "event"), let value = view.member(event, "value"),
              view.kind(value) == .true || view.kind(value) == .false else {
            return "an audience change needs \"value\": true (add) or false (remove)"
        }
        for index in start..<chunk.events.count { chunk.events[index].kind = .audienceMembership }
        return nil
    }

    /// Whether the record at the root names `destination` as the one it failed for.
    private func isRecord(of destination: String, _ view: JSONView) -> Bool {
        guard let node = view.member(0, "destination"), view.kind(node) == .string else { return false }
        return view.unescapedString(node) == destination
    }
}

/// Names used in dead-letter records, shared by the writer and the replaying reader.
enum DeadLetterRecord {
    /// The `eventKind` of a dead-lettered ID-list audience change.
    static let audienceChange = "audience_change"
}
