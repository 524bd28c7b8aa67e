/// Turns events into a destination's request body (or output lines).
///
/// A batch body is `prefix`, the items separated by `separator`, then `suffix`. The Batcher owns the limits
/// (`maxEvents`, `maxBytes`); the encoder owns the shape of one item, and may refuse an event it cannot
/// represent (a Segment message over 32 KB), which is then dead-lettered with the reason.
protocol EventEncoder: Sendable {
    /// Bytes before the first item (for example `{"batch":[`).
    var prefix: [UInt8] { get }
    /// Bytes between items (`,` for JSON arrays, `\n` for NDJSON).
    var separator: [UInt8] { get }
    /// Bytes after the last item (for example `]}` or `\n`).
    var suffix: [UInt8] { get }
    /// Appends the event's item (or items, joined by `separator`) to `out`. Returns nil, or why the event
    /// cannot be sent to this destination; on refusal, whatever was appended is discarded by the caller.
    func encode(_ event: Event, identity: ResolvedIdentity, arena: UnsafeRawBufferPointer, into out: inout [UInt8]) -> String?
    /// For destinations whose request depends on the event (Statsig ID lists: one list and one operation per
    /// request), a key: the Batcher cuts the batch whenever it changes, so a batch holds one key and input order
    /// is kept. nil (the default) batches everything together.
    func batchKey(_ event: Event, arena: UnsafeRawBufferPointer) -> [UInt8]?
    /// How many items the event becomes in a body (Heap writes two events per initialize record): the Batcher
    /// counts items against `maxEvents`, because the destination's limit is on what it receives.
    func itemCount(_ event: Event) -> Int
}

extension EventEncoder {
    func batchKey(_ event: Event, arena: UnsafeRawBufferPointer) -> [UInt8]? { nil }
    func itemCount(_ event: Event) -> Int { 1 }
}

/// Statsig's export format, one event per line (stdout and file destinations, format `statsig`).
struct StatsigExportLinesEncoder: EventEncoder {
    var prefix: [UInt8] { [] }
    var separator: [UInt8] { [0x0A] }
    var suffix: [UInt8] { [0x0A] }

    func encode(_ event: Event, identity: ResolvedIdentity, arena: UnsafeRawBufferPointer, into out: inout [UInt8]) -> String? {
        StatsigExportFormat.append(event, unitID: identity.unitID, arena: arena, to: &out)
        return nil
    }
}
