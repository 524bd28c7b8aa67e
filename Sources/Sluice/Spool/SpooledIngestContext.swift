/// How a spool record keeps the ``IngestContext`` of an ``Pipeline/ingest(_:context:)`` body, so a body
/// replayed after a crash gets the client's IP and clock correction it had when it was accepted.
///
/// Such a record's first-line field has ``flag`` set, and its payload starts with the encoded context:
///
/// ```
/// [length u32][received at i64][flags u8][client time i64, if flags & 1][client IP UTF-8, the rest]
/// ```
///
/// flags: 1 client time present, 2 Segment `sentAt` correction on, 4 client IP present. The body follows.
enum SpooledIngestContext {
    /// Set in a record's first-line field when its payload starts with a context.
    static let flag: UInt64 = 1 << 63

    /// The payload of a record: the encoded context, then the body.
    static func payload(_ body: [UInt8], context: IngestContext) -> [UInt8] {
        var encoded: [UInt8] = []
        SpoolFormat.appendLittleEndian(context.receivedAtMilliseconds, to: &encoded)
        var flags: UInt8 = 0
        if context.clientTimeMilliseconds != nil { flags |= 1 }
        if context.correctsSegmentSentAt { flags |= 2 }
        if context.clientIP != nil { flags |= 4 }
        encoded.append(flags)
        if let time = context.clientTimeMilliseconds { SpoolFormat.appendLittleEndian(time, to: &encoded) }
        if let ip = context.clientIP { encoded.append(contentsOf: ip.utf8) }
        var payload: [UInt8] = []
        payload.reserveCapacity(4 + encoded.count + body.count)
        SpoolFormat.appendLittleEndian(UInt32(encoded.count), to: &payload)
        payload.append(contentsOf: encoded)
        payload.append(contentsOf: body)
        return payload
    }

    /// Splits a flagged record's payload into its context and body; nil when the context is not well formed
    /// (the record is then replayed as a body without context: its events are still delivered).
    static func split(_ payload: [UInt8]) -> (context: IngestContext, body: [UInt8])? {
        guard payload.count >= 4 else { return nil }
        let length = payload.withUnsafeBytes { Int(SpoolFormat.readLittleEndian(UInt32.self, $0, at: 0)) }
        guard length >= 9, payload.count >= 4 + length else { return nil }
        return payload.withUnsafeBytes { raw in
            let received = SpoolFormat.readLittleEndian(Int64.self, raw, at: 4)
            let flags = raw[12]
            var cursor = 13
            var clientTime: Int64?
            if flags & 1 != 0 {
                guard cursor + 8 <= 4 + length else { return nil }
                clientTime = SpoolFormat.readLittleEndian(Int64.self, raw, at: cursor)
                cursor += 8
            }
            let ip = flags & 4 != 0 ? String(decoding: raw[cursor..<(4 + length)], as: UTF8.self) : nil
            let context = IngestContext(clientIP: ip, receivedAtMilliseconds: received, clientTimeMilliseconds: clientTime,
                                        correctsSegmentSentAt: flags & 2 != 0)
            return (context, Array(raw[(4 + length)...]))
        }
    }
}
