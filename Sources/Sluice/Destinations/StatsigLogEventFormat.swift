/// Events as a Statsig `log_event` request body (`type: statsig`): the shape Statsig's SDKs send, which is
/// where Segment-inbound events go.
///
/// `{"events":[{"eventName":..,"user":{..},"value":..,"metadata":{..},"time":MS,"statsigMetadata":{..}}, ...],
///   "statsigMetadata":{"sdkType":"sluice","sdkVersion":..}}`
///
/// The export shape's top-level `userID`, `timeUUID` and `unitID` have no place in `log_event`; the user's ID
/// lives in `user.userID`, so an event whose user object lacks it (export events may carry it only at the top
/// level) gets it inserted, and an event without a user gets `{"userID":..}`.
///
/// An experiment exposure goes back to Statsig under the name its SDKs log it with, `statsig::config_exposure`:
/// `statsig::experiment_exposure` is the name Statsig's Segment and Heap integrations give it downstream, and
/// Statsig itself would file an event of that name as a custom event, losing the exposure from experiment results.
/// The metadata (with `experimentGroupName`, when the specs gave one) is kept.
struct StatsigLogEventFormat: EventEncoder {
    let prefix: [UInt8] = Array("{\"events\":[".utf8)
    let separator: [UInt8] = [UInt8(ascii: ",")]
    let suffix: [UInt8] = {
        var bytes = Array("],\"statsigMetadata\":{\"sdkType\":\"sluice\",\"sdkVersion\":".utf8)
        bytes.withJSONWriter { $0.appendString(SluiceVersion.string) }
        bytes.appendLiteral("}}")
        return bytes
    }()

    func encode(_ event: Event, identity: ResolvedIdentity, arena: UnsafeRawBufferPointer, into out: inout [UInt8]) -> String? {
        Self.append(event, arena: arena, to: &out)
        return nil
    }

    static func append(_ event: Event, arena: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        @inline(__always) func raw(_ span: ByteSpan) {
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: arena[span.range]))
        }
        out.appendLiteral("{\"eventName\":")
        if event.category == .experimentExposure { out.appendLiteral("\"statsig::config_exposure\"") } else { raw(event.eventName) }
        out.appendLiteral(",\"user\":")
        appendUser(event, arena: arena, to: &out)
        out.appendLiteral(",\"value\":")
        if event.value.isPresent { raw(event.value) } else { out.appendLiteral("null") }
        out.appendLiteral(",\"metadata\":")
        if event.metadata.isPresent { raw(event.metadata) } else { out.appendLiteral("{}") }
        out.appendLiteral(",\"time\":")
        out.withJSONWriter { $0.appendInt(event.timestamp) }
        if event.statsigMetadata.isPresent {
            out.appendLiteral(",\"statsigMetadata\":")
            raw(event.statsigMetadata)
        }
        if event.secondaryExposures.isPresent {
            out.appendLiteral(",\"secondaryExposures\":")
            raw(event.secondaryExposures)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// The user object, with `userID` added when only the event carries it.
    private static func appendUser(_ event: Event, arena: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let user = event.user.isPresent ? UnsafeRawBufferPointer(rebasing: arena[event.user.range]) : nil
        guard event.userID.isPresent, !(user.map(mentionsUserID) ?? false) else {
            if let user { out.append(contentsOf: user) } else { out.appendLiteral("{}") }
            return
        }
        out.appendLiteral("{\"userID\":")
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: arena[event.userID.range]))
        guard let user else { out.append(UInt8(ascii: "}")); return }
        // `user` is a validated object: after its `{` comes either `}` or the first member.
        let rest = HeapProperties.Scanner.skipSpace(user, 1)
        if user[rest] != UInt8(ascii: "}") { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: user[rest...]))
    }

    /// Whether the user object has a `"userID"` key (a byte search: a value equal to the text `"userID"` would
    /// also match, which only means the ID is not duplicated into the object).
    private static func mentionsUserID(_ user: UnsafeRawBufferPointer) -> Bool {
        let needle: StaticString = "\"userID\""
        let n = needle.utf8CodeUnitCount
        guard user.count >= n else { return false }
        let first = needle.utf8Start[0]
        var i = 0
        while i <= user.count - n {
            if user[i] == first, UnsafeRawBufferPointer(rebasing: user[i..<i + n]).elementsEqual(UnsafeBufferPointer(start: needle.utf8Start, count: n)) {
                return true
            }
            i += 1
        }
        return false
    }
}
