/// Statsig events as Segment `track` messages, the shape Statsig's Segment source sends (seed 003):
///
/// `{"type":"track","event":NAME,"userId":..,"anonymousId":..,"properties":{"value":..,"metadata":{..}},
///   "context":{"library":{"name":"sluice","version":..},"traits":{"email":..}},"timestamp":ISO,
///   "originalTimestamp":ISO,"messageId":TIMEUUID}`
///
/// - The event name is kept (`statsig::gate_exposure`, custom names as they are).
/// - `userId` / `anonymousId` come from the destination's "Map Identifiers" (resolved by the IdentifierMapper);
///   a key is left out rather than sent as null, since Segment validates both as strings.
/// - The user's email goes in `context.traits.email`: seed 003 lists an email without naming its field, and the
///   Segment spec's place for user traits on a track call is `context.traits`, which destinations read.
/// - `timestamp` and `originalTimestamp` both carry the event time (when it happened, per seed 003); Segment
///   sets `receivedAt` itself. `messageId` is the timeUUID, so Segment's own de-duplication agrees with ours.
/// - The Statsig user's `ip`, `userAgent` and `locale` go to `context.ip`, `context.userAgent` and
///   `context.locale`, and `appVersion` to `context.app.version` (Segment's spec fields, which its destinations
///   read for geo, device and app reporting); strings only, others are left out.
/// - A message over 32 KB (Segment's per-message limit) is refused and dead-lettered: Segment would reject the
///   whole batch with a 400.
/// - Batch bodies get `sentAt` when the request is built (``HTTPRequestTarget``), as Segment's libraries send
///   it; the default `batch.maxBytes` of 475,000 leaves room for it below Segment's 500 KB.
///
/// Every value but the two timestamps and the messageId is copied verbatim from the input bytes.
struct SegmentFormat: EventEncoder {
    /// A `{"batch":[...]}` body for the HTTP API, or NDJSON lines for stdout and file destinations.
    enum Framing: Sendable { case batch, lines }

    /// Segment's limit on one message.
    static let maxMessageBytes = 32 * 1024

    let prefix: [UInt8]
    let separator: [UInt8]
    let suffix: [UInt8]

    init(framing: Framing) {
        switch framing {
        case .batch: (prefix, separator, suffix) = (Array("{\"batch\":[".utf8), [UInt8(ascii: ",")], Array("]}".utf8))
        case .lines: (prefix, separator, suffix) = ([], [0x0A], [0x0A])
        }
    }

    func encode(_ event: Event, identity: ResolvedIdentity, arena: UnsafeRawBufferPointer, into out: inout [UInt8]) -> String? {
        let start = out.count
        Self.append(event, identity: identity, arena: arena, to: &out)
        let size = out.count - start
        if size > Self.maxMessageBytes {
            return "Segment message is \(size) bytes, over Segment's 32 KB limit per message"
        }
        return nil
    }

    /// `,"context":{"library":{"name":"sluice","version":"X"}`, built once.
    private static let library: [UInt8] = {
        var bytes = Array(",\"context\":{\"library\":{\"name\":\"sluice\",\"version\":".utf8)
        bytes.withJSONWriter { $0.appendString(SluiceVersion.string) }
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }()

    /// `,"ip":..,"userAgent":..,"locale":..,"app":{"version":..}` from the Statsig user (non-empty strings only).
    private static func appendUserContext(_ user: ByteSpan, arena: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let start = HeapProperties.Scanner.skipSpace(arena, user.range.lowerBound)
        guard arena[start] == UInt8(ascii: "{") else { return }
        var ip: Range<Int>?, agent: Range<Int>?, locale: Range<Int>?, version: Range<Int>?
        HeapProperties.Scanner.forEachMember(arena, start) { key, value in
            guard arena[value.lowerBound] == UInt8(ascii: "\""), value.count > 2 else { return }
            let name = UnsafeRawBufferPointer(rebasing: arena[key])
            switch key.count {
            case 2: if name.elementsEqual("ip".utf8) { ip = value }
            case 6: if name.elementsEqual("locale".utf8) { locale = value }
            case 9: if name.elementsEqual("userAgent".utf8) { agent = value }
            case 10: if name.elementsEqual("appVersion".utf8) { version = value }
            default: break
            }
        }
        @inline(__always) func member(_ literal: StaticString, _ range: Range<Int>) {
            out.appendLiteral(literal)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: arena[range]))
        }
        if let ip { member(",\"ip\":", ip) }
        if let agent { member(",\"userAgent\":", agent) }
        if let locale { member(",\"locale\":", locale) }
        if let version {
            member(",\"app\":{\"version\":", version)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends one track message.
    static func append(_ event: Event, identity: ResolvedIdentity, arena: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        @inline(__always) func raw(_ span: ByteSpan) {
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: arena[span.range]))
        }
        out.appendLiteral("{\"type\":\"track\",\"event\":")
        raw(event.eventName)
        if identity.primary.isPresent {
            out.appendLiteral(",\"userId\":")
            raw(identity.primary)
        }
        if identity.secondary.isPresent {
            out.appendLiteral(",\"anonymousId\":")
            raw(identity.secondary)
        }
        out.appendLiteral(",\"properties\":{\"value\":")
        if event.value.isPresent { raw(event.value) } else { out.appendLiteral("null") }
        out.appendLiteral(",\"metadata\":")
        if event.metadata.isPresent { raw(event.metadata) } else { out.appendLiteral("{}") }
        out.append(UInt8(ascii: "}"))
        out.append(contentsOf: library)
        if event.email.count > 2 {  // `""` is no email
            out.appendLiteral(",\"traits\":{\"email\":")
            raw(event.email)
            out.append(UInt8(ascii: "}"))
        }
        if event.user.isPresent { appendUserContext(event.user, arena: arena, to: &out) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: ISO8601.timestampLength) { time in
            ISO8601.writeTimestamp(milliseconds: event.timestamp, to: time.baseAddress!)
            out.appendLiteral("},\"timestamp\":\"")
            out.append(contentsOf: UnsafeBufferPointer(time))
            out.appendLiteral("\",\"originalTimestamp\":\"")
            out.append(contentsOf: UnsafeBufferPointer(time))
        }
        out.appendLiteral("\",\"messageId\":\"")
        event.timeUUID.append(to: &out)
        out.appendLiteral("\"}")
    }
}
