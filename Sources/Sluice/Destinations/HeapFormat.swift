/// Statsig events as Heap server-side track events (seed 000):
/// `{"identity":ID,"event":NAME,"timestamp":ISO,"idempotency_key":TIMEUUID,"properties":{"value":..,"metadata.gate":..}}`,
/// in bulk bodies `{"app_id":..,"events":[...]}` for the HTTP API or as NDJSON lines (no app_id) for stdout and file.
///
/// - `identity` comes from the destination's "Map Identifiers" (`identifiers.identity`, userID by default). One
///   longer than 255 characters, or an event name longer than 1024, is refused and dead-lettered with the reason:
///   Heap would reject the whole request.
/// - Properties are flattened (see ``HeapProperties``): `value`, then `metadata.*`.
/// - `idempotency_key` is the timeUUID, so a retried request does not create the event twice.
///
/// Client SDK initialize records (category ``EventCategory/initialize``) carry a user's assignments and become two
/// Heap events, as Statsig's Heap integration sends on initialize. The record is a Statsig event:
/// ```json
/// {"eventName":"statsig::initialize","user":{"userID":"u1"},"time":1714564800000,
///  "metadata":{"gates":{"new_checkout":true,"dark_mode":false},"experiments":{"pricing_test":"Control"}}}
/// ```
/// - "Statsig Feature Gates": one property per gate, `"true"` / `"false"`;
/// - "Statsig Experiments": one property per experiment, its group name.
/// Either is left out when its object is absent; a record with neither is refused. Their idempotency keys are
/// derived from the record's timeUUID (one per event), so a retried record still de-duplicates at Heap.
///
/// Note for batching: an initialize record writes two Heap events; ``itemCount(_:)`` tells the Batcher, which
/// counts items against `batch.maxEvents` so a request never exceeds Heap's 1000 events.
struct HeapFormat: EventEncoder {
    /// Heap's limit on `identity`.
    static let maxIdentityCharacters = 255
    /// Heap's limit on `event`.
    static let maxEventNameCharacters = 1024

    let prefix: [UInt8]
    let separator: [UInt8]
    let suffix: [UInt8]
    /// Where properties left out for an overlong name are counted (`propertyNamesTooLong`).
    let counters: DestinationCounters?
    /// Send the identity as Heap's numeric `user_id` instead of `identity` (`identifiers.userId`).
    let numericUserID: Bool

    /// A bulk track body for `appID`, or NDJSON lines when `appID` is nil.
    init(appID: String?, counters: DestinationCounters? = nil, numericUserID: Bool = false) {
        self.counters = counters
        self.numericUserID = numericUserID
        if let appID {
            var prefix = Array("{\"app_id\":".utf8)
            prefix.withJSONWriter { $0.appendString(appID) }
            prefix.appendLiteral(",\"events\":[")
            (self.prefix, separator, suffix) = (prefix, [UInt8(ascii: ",")], Array("]}".utf8))
        } else {
            (prefix, separator, suffix) = ([], [0x0A], [0x0A])
        }
    }

    func itemCount(_ event: Event) -> Int { event.category == .initialize ? 2 : 1 }

    func encode(_ event: Event, identity: ResolvedIdentity, arena: UnsafeRawBufferPointer, into out: inout [UInt8]) -> String? {
        guard identity.primary.isPresent else { return "no Heap identity" }
        let id = UnsafeRawBufferPointer(rebasing: arena[identity.primary.range])
        if numericUserID, !Self.isNumericID(id) {
            return "Heap user_id must be a number (identifiers.userId names an ID that is not one)"
        }
        if !numericUserID, id.count - 2 > Self.maxIdentityCharacters, HeapProperties.characters(ofRawString: id) > Self.maxIdentityCharacters {
            return "Heap identity longer than \(Self.maxIdentityCharacters) characters"
        }
        if event.category == .initialize {
            return appendInitialize(event, identity: id, arena: arena, to: &out)
        }
        let name = UnsafeRawBufferPointer(rebasing: arena[event.eventName.range])
        if name.count - 2 > Self.maxEventNameCharacters, HeapProperties.characters(ofRawString: name) > Self.maxEventNameCharacters {
            return "Heap event name longer than \(Self.maxEventNameCharacters) characters"
        }
        appendHeader(identity: id, name: name, timestamp: event.timestamp, key: event.timeUUID, to: &out)
        var first = true
        var dropped = 0
        if event.value.isPresent {
            first = HeapProperties.appendMembers(named: "value", value: event.value.range, in: arena, first: first, dropped: &dropped, to: &out)
        }
        if event.metadata.isPresent {
            HeapProperties.appendMembers(named: "metadata", value: event.metadata.range, in: arena, first: first, dropped: &dropped, to: &out)
        }
        out.appendLiteral("}}")
        counters?.add(HeapProperties.tooLongCounter, dropped)
        return nil
    }

    /// A raw JSON string holding 1 to 19 decimal digits (a Heap user ID fits in an Int64).
    static func isNumericID(_ raw: UnsafeRawBufferPointer) -> Bool {
        raw.count >= 3 && raw.count <= 21 && raw.dropFirst().dropLast().allSatisfy { $0 &- UInt8(ascii: "0") < 10 }
    }

    /// `{"identity":..,"event":..,"timestamp":"..","idempotency_key":"..","properties":{`, or `"user_id":N` in
    /// place of `identity` (Heap takes one of the two, never both).
    private func appendHeader(identity: UnsafeRawBufferPointer, name: UnsafeRawBufferPointer, timestamp: Int64,
                              key: TimeUUID, to out: inout [UInt8]) {
        if numericUserID {
            out.appendLiteral("{\"user_id\":")
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: identity.dropFirst().dropLast()))
        } else {
            out.appendLiteral("{\"identity\":")
            out.append(contentsOf: identity)
        }
        out.appendLiteral(",\"event\":")
        out.append(contentsOf: name)
        out.appendLiteral(",\"timestamp\":\"")
        ISO8601.appendTimestamp(milliseconds: timestamp, to: &out)
        out.appendLiteral("\",\"idempotency_key\":\"")
        key.append(to: &out)
        out.appendLiteral("\",\"properties\":{")
    }

    private func appendInitialize(_ event: Event, identity: UnsafeRawBufferPointer, arena: UnsafeRawBufferPointer,
                                  to out: inout [UInt8]) -> String? {
        let refusal = "a statsig::initialize record needs metadata.gates and/or metadata.experiments objects"
        guard event.metadata.isPresent else { return refusal }
        let object = HeapProperties.Scanner.skipSpace(arena, event.metadata.range.lowerBound)
        let gates = HeapProperties.Scanner.member(arena, object, "gates").flatMap { arena[$0] == UInt8(ascii: "{") ? $0 : nil }
        let experiments = HeapProperties.Scanner.member(arena, object, "experiments").flatMap { arena[$0] == UInt8(ascii: "{") ? $0 : nil }
        guard gates != nil || experiments != nil else { return refusal }
        var dropped = 0
        if let gates {
            appendHeader(identity: identity, name: Self.quoted("\"Statsig Feature Gates\""), timestamp: event.timestamp,
                              key: Self.derivedKey(event, tag: 1), to: &out)
            HeapProperties.appendMembers(ofObject: gates..<event.metadata.range.upperBound, in: arena, first: true, dropped: &dropped, to: &out)
            out.appendLiteral("}}")
        }
        if let experiments {
            if gates != nil { out.append(contentsOf: separator) }
            appendHeader(identity: identity, name: Self.quoted("\"Statsig Experiments\""), timestamp: event.timestamp,
                              key: Self.derivedKey(event, tag: 2), to: &out)
            HeapProperties.appendMembers(ofObject: experiments..<event.metadata.range.upperBound, in: arena, first: true, dropped: &dropped, to: &out)
            out.appendLiteral("}}")
        }
        counters?.add(HeapProperties.tooLongCounter, dropped)
        return nil
    }

    private static func quoted(_ name: StaticString) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
    }

    /// A stable idempotency key per initialize event, distinct from the record's own and from each other.
    static func derivedKey(_ event: Event, tag: UInt64) -> TimeUUID {
        TimeUUID.derived(milliseconds: event.timestamp,
                         contentHash: ContentHash.mix(event.timeUUID.high ^ ContentHash.mix(event.timeUUID.low &+ tag)))
    }
}
