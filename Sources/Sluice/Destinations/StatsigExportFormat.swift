/// Writes an event in Statsig's export format, the canonical shape of the engine (format `statsig`):
/// `{"eventName","user","userID","timestamp","value","metadata","statsigMetadata","timeUUID","unitID"}`.
///
/// Every value but the timestamp and the timeUUID is copied verbatim from the input bytes. Absent values are
/// written as `null` (`{}` for the objects), so every line has the same keys. `unitID` is the event's own, or the
/// unit the IdentifierMapper defaulted it to.
enum StatsigExportFormat {
    static func append(_ event: Event, unitID: ByteSpan? = nil, arena: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let unit = unitID ?? event.unitID
        // Literal keys and punctuation (129 bytes with secondaryExposures), the longest fallbacks, a signed
        // 64-bit timestamp (20) and the UUID (36), plus every span copied verbatim.
        let spans = Int(event.eventName.count) + Int(event.user.count) + Int(event.userID.count) + Int(event.value.count)
            + Int(event.metadata.count) + Int(event.statsigMetadata.count) + Int(event.secondaryExposures.count) + Int(unit.count)
        out.appendThroughCursor(maximumCount: spans + 129 + 8 * 4 + 20 + 36) { cursor in
            @inline(__always) func raw(_ span: ByteSpan, orLiteral literal: StaticString) {
                if span.isPresent {
                    cursor.append(UnsafeRawBufferPointer(rebasing: arena[span.range]))
                } else {
                    cursor.append(literal)
                }
            }
            cursor.append("{\"eventName\":")
            raw(event.eventName, orLiteral: "null")
            cursor.append(",\"user\":")
            raw(event.user, orLiteral: "{}")
            cursor.append(",\"userID\":")
            raw(event.userID, orLiteral: "null")
            cursor.append(",\"timestamp\":")
            cursor.appendDecimal(event.timestamp)
            cursor.append(",\"value\":")
            raw(event.value, orLiteral: "null")
            cursor.append(",\"metadata\":")
            raw(event.metadata, orLiteral: "{}")
            cursor.append(",\"statsigMetadata\":")
            raw(event.statsigMetadata, orLiteral: "{}")
            if event.secondaryExposures.isPresent {
                cursor.append(",\"secondaryExposures\":")
                raw(event.secondaryExposures, orLiteral: "[]")
            }
            cursor.append(",\"timeUUID\":\"")
            cursor.appendUUID(event.timeUUID)
            cursor.append("\",\"unitID\":")
            raw(unit, orLiteral: "null")
            cursor.append(UInt8(ascii: "}"))
        }
    }

    /// The event as a standalone JSON object (for dead letters and custom destinations).
    static func bytes(of event: Event, in chunk: EventChunk) -> [UInt8] {
        var out: [UInt8] = []
        chunk.withArena { append(event, arena: $0, to: &out) }
        return out
    }
}
