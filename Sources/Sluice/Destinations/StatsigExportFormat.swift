/// Writes an event in Statsig's export format, the canonical shape of the engine (format `statsig`):
/// `{"eventName","user","userID","timestamp","value","metadata","statsigMetadata","timeUUID","unitID"}`.
///
/// Every value but the timestamp and the timeUUID is copied verbatim from the input bytes. Absent values are
/// written as `null` (`{}` for the objects), so every line has the same keys. `unitID` is the event's own, or the
/// unit the IdentifierMapper defaulted it to.
enum StatsigExportFormat {
    static func append(_ event: Event, unitID: ByteSpan? = nil, arena: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        @inline(__always) func raw(_ span: ByteSpan, orLiteral literal: StaticString) {
            if span.isPresent {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: arena[span.range]))
            } else {
                out.append(contentsOf: UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
            }
        }
        @inline(__always) func literal(_ s: StaticString) { out.appendLiteral(s) }
        literal("{\"eventName\":")
        raw(event.eventName, orLiteral: "null")
        literal(",\"user\":")
        raw(event.user, orLiteral: "{}")
        literal(",\"userID\":")
        raw(event.userID, orLiteral: "null")
        literal(",\"timestamp\":")
        out.withJSONWriter { $0.appendInt(event.timestamp) }
        literal(",\"value\":")
        raw(event.value, orLiteral: "null")
        literal(",\"metadata\":")
        raw(event.metadata, orLiteral: "{}")
        literal(",\"statsigMetadata\":")
        raw(event.statsigMetadata, orLiteral: "{}")
        if event.secondaryExposures.isPresent {
            literal(",\"secondaryExposures\":")
            raw(event.secondaryExposures, orLiteral: "[]")
        }
        literal(",\"timeUUID\":\"")
        event.timeUUID.append(to: &out)
        literal("\",\"unitID\":")
        raw(unitID ?? event.unitID, orLiteral: "null")
        out.append(UInt8(ascii: "}"))
    }

    /// The event as a standalone JSON object (for dead letters and custom destinations).
    static func bytes(of event: Event, in chunk: EventChunk) -> [UInt8] {
        var out: [UInt8] = []
        chunk.withArena { append(event, arena: $0, to: &out) }
        return out
    }
}
