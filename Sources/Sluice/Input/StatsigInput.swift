import Foundation

/// Statsig input: an event object in the SDK shape (`time`, no `timeUUID`) or the export shape (`timestamp`,
/// `userID`, `timeUUID`, `unitID`), inside a document or a batch.
extension InputDecoder {
    /// Fields of a Statsig event object, found in one pass over its members.
    private struct StatsigFields {
        var eventName: Int?, user: Int?, userID: Int?, timestamp: Int?, time: Int?, value: Int?
        var metadata: Int?, statsigMetadata: Int?, timeUUID: Int?, unitID: Int?, secondaryExposures: Int?
    }

    private static func fields(_ view: JSONView, _ object: Int) -> StatsigFields {
        var f = StatsigFields()
        view.forEachMember(of: object) { key, value in
            switch view.rawStringContent(key).count {
            case 4:
                if view.stringEquals(key, "user") { f.user = value } else if view.stringEquals(key, "time") { f.time = value }
            case 5: if view.stringEquals(key, "value") { f.value = value }
            case 6:
                if view.stringEquals(key, "userID") { f.userID = value } else if view.stringEquals(key, "unitID") { f.unitID = value }
            case 8:
                if view.stringEquals(key, "metadata") { f.metadata = value } else if view.stringEquals(key, "timeUUID") { f.timeUUID = value }
            case 9:
                if view.stringEquals(key, "eventName") { f.eventName = value } else if view.stringEquals(key, "timestamp") { f.timestamp = value }
            case 15: if view.stringEquals(key, "statsigMetadata") { f.statsigMetadata = value }
            case 18: if view.stringEquals(key, "secondaryExposures") { f.secondaryExposures = value }
            default: break
            }
        }
        return f
    }

    /// Decodes the Statsig event at `node` into `chunk`. Returns nil on success, or why the event is invalid.
    func decodeStatsigEvent(_ view: JSONView, _ node: Int, _ context: DocumentContext, sharedUser: Int?,
                            sharedStatsigMetadata: Int?, into chunk: inout EventChunk) -> String? {
        let f = Self.fields(view, node)
        guard let nameNode = f.eventName, view.kind(nameNode) == .string, view.nodes[nameNode].end - view.nodes[nameNode].start > 2 else {
            return "eventName must be a non-empty string"
        }
        var userNode = f.user ?? sharedUser
        if let reason = numberBeyondDouble(view, node, f.user == nil ? sharedUser : nil,
                                           f.statsigMetadata == nil ? sharedStatsigMetadata : nil) { return reason }
        if let u = userNode, view.kind(u) == .null { userNode = nil }
        if let u = userNode, view.kind(u) != .object { return "user must be an object" }
        if let m = f.metadata, view.kind(m) != .object && view.kind(m) != .null { return "metadata must be an object" }

        // When: the export shape's `timestamp`, else the SDK's `time` (numbers or numeric strings).
        var timestamp: Int64
        if let t = f.timestamp ?? f.time, view.kind(t) != .null {
            let field = f.timestamp != nil ? "timestamp" : "time"
            guard let ms = Self.milliseconds(view, t) else {
                return "\(field) must be milliseconds since the epoch (a number, a numeric string or an ISO 8601 string)"
            }
            switch options.checksSecondsLikeTimes ? Self.applyingUnit(ms, view, t, options.timestampUnit) : .success(ms) {
            case .success(let adjusted): timestamp = adjusted
            case .failure(let problem): return "\(field) \(problem.message)"
            }
        } else {
            timestamp = Int64(Date().timeIntervalSince1970 * 1000)
        }
        // The client's own time keys the derived timeUUID (a retry carries another clock offset); the event
        // keeps the time corrected by the relay's clock (`STATSIG-CLIENT-TIME`), as Statsig's API does.
        let clientTimestamp = timestamp
        if f.timestamp ?? f.time != nil, let offset = ingestContext?.statsigClockOffset { timestamp &+= offset }

        let uuid: TimeUUID
        if let u = f.timeUUID, view.kind(u) != .null {
            guard view.kind(u) == .string, let parsed = TimeUUID(view.rawStringContent(u)) else {
                return "timeUUID must be a UUID string (8-4-4-4-12 hexadecimal digits)"
            }
            uuid = parsed
        } else {
            // SDKs send no timeUUID and retry whole batches: derive one from the event's own bytes (and the
            // request's shared user, which is part of the event) so a retried batch de-duplicates.
            var hash = ContentHash.hash(view.raw(node))
            if f.user == nil, let shared = sharedUser { hash = ContentHash.combine(hash, view.raw(shared)) }
            uuid = TimeUUID.derived(milliseconds: clientTimestamp, contentHash: hash)
        }

        var category = EventCategory.of(eventName: view.rawStringContent(nameNode))
        var nameSpan = context.span(view, nameNode)
        var renamedMetadata: ByteSpan?
        if let catalog = options.experiments, category == .configExposure || category == .layerExposure {
            let naming = experimentNaming(view, category: category, metadata: f.metadata, catalog: catalog, chunk: &chunk)
            if let renamed = naming.eventName { nameSpan = renamed }
            if let renamed = naming.category { category = renamed }
            renamedMetadata = naming.metadata
        } else if let catalog = options.experiments, category == .initialize {
            renamedMetadata = initializeGroupNames(view, metadata: f.metadata, catalog: catalog, chunk: &chunk)
        }
        var event = Event(eventName: nameSpan, timeUUID: uuid, timestamp: timestamp,
                          line: context.line, category: category)
        if let userNode { decodeUser(view, userNode, context, into: &event, chunk: &chunk) }
        if let id = f.userID {
            switch view.kind(id) {
            case .string: event.userID = context.span(view, id)
            case .number: event.userID = quotedNumber(view, id, chunk: &chunk)
            default: break
            }
        }
        if let v = f.value { event.value = context.span(view, v) }
        if let m = f.metadata, view.kind(m) == .object { event.metadata = renamedMetadata ?? context.span(view, m) }
        if let s = f.statsigMetadata ?? sharedStatsigMetadata, view.kind(s) == .object { event.statsigMetadata = context.span(view, s) }
        if let s = f.secondaryExposures, view.kind(s) == .array { event.secondaryExposures = context.span(view, s) }
        if let u = f.unitID, view.kind(u) == .string { event.unitID = context.span(view, u) }
        chunk.events.append(event)
        return nil
    }

    /// Reads the user object: identifiers for the identity rules, and a copy without `privateAttributes`.
    private func decodeUser(_ view: JSONView, _ user: Int, _ context: DocumentContext, into event: inout Event,
                            chunk: inout EventChunk) {
        var hasPrivateAttributes = false
        var hasIP = false
        view.forEachMember(of: user) { key, value in
            switch view.rawStringContent(key).count {
            case 2:
                if view.stringEquals(key, "ip"), view.kind(value) != .null { hasIP = true }
            case 5:
                if view.stringEquals(key, "email"), view.kind(value) == .string { event.email = context.span(view, value) }
            case 6:
                if view.stringEquals(key, "userID") {
                    if view.kind(value) == .string { event.userID = context.span(view, value) }
                    if view.kind(value) == .number { event.userID = quotedNumber(view, value, chunk: &chunk) }
                }
            case 9:
                if view.stringEquals(key, "customIDs"), view.kind(value) == .object {
                    event.customIDs = context.span(view, value)
                    if let stable = view.member(value, "stableID"), view.kind(stable) == .string {
                        event.stableID = context.span(view, stable)
                    }
                }
            case 17:
                if view.stringEquals(key, "privateAttributes") { hasPrivateAttributes = true }
            default: break
            }
        }
        // A relay adds the client's address when the user has none, so the event geolocates to the client.
        let addedIP = hasIP ? nil : ingestContext?.clientIP
        guard hasPrivateAttributes || addedIP != nil else {
            event.user = context.span(view, user)
            return
        }
        // privateAttributes must never leave the engine: keep a copy of the user without it.
        var writer = JSONWriter(capacity: Int(view.nodes[user].end - view.nodes[user].start) + 48)
        writer.appendByte(UInt8(ascii: "{"))
        var first = true
        view.forEachMember(of: user) { key, value in
            if view.stringEquals(key, "privateAttributes") { return }
            if view.stringEquals(key, "ip"), addedIP != nil { return }  // an explicit null
            if !first { writer.appendByte(UInt8(ascii: ",")) }
            first = false
            writer.appendRaw(view.raw(key))
            writer.appendByte(UInt8(ascii: ":"))
            writer.appendRaw(view.raw(value))
        }
        if let addedIP {
            if !first { writer.appendByte(UInt8(ascii: ",")) }
            writer.appendRaw("\"ip\":")
            writer.appendString(addedIP)
        }
        writer.appendByte(UInt8(ascii: "}"))
        event.user = chunk.appendToArena(writer.bytes)
    }

    /// A numeric ID (some SDKs send `"userID": 123`) as the JSON string `"123"`.
    private func quotedNumber(_ view: JSONView, _ node: Int, chunk: inout EventChunk) -> ByteSpan {
        var writer = JSONWriter(capacity: 24)
        writer.appendString(utf8: view.raw(node))
        return chunk.appendToArena(writer.bytes)
    }

    /// An integer time below 10^11 (before 1973-03-03 in milliseconds) is almost surely in seconds: read it as
    /// seconds with `input.timestampUnit: auto`, else refuse it so the producer notices (a Unix time in seconds
    /// read as milliseconds would reach Segment and Heap as January 1970). ISO 8601 strings are exact.
    static func applyingUnit(_ ms: Int64, _ view: JSONView, _ node: Int, _ unit: TimestampUnit) -> Result<Int64, PipelineError> {
        let isInteger = view.kind(node) == .number
            || (view.kind(node) == .string && JSONView.parseInt64(view.rawStringContent(node)) != nil)
        guard isInteger, ms < TimestampUnit.secondsBelow else { return .success(ms) }
        if unit == .auto, ms > -TimestampUnit.secondsBelow { return .success(ms * 1000) }
        return .failure(PipelineError("\(ms) is below 10^11: it looks like seconds, not milliseconds since the epoch (set input.timestampUnit to \"auto\" to read such values as seconds)"))
    }

    /// Milliseconds from a number, a numeric string, or an ISO 8601 string.
    static func milliseconds(_ view: JSONView, _ node: Int) -> Int64? {
        switch view.kind(node) {
        case .number:
            return view.int64(node)
        case .string:
            let content = view.rawStringContent(node)
            if let first = content.first, first &- UInt8(ascii: "0") < 10 || first == UInt8(ascii: "-"),
               let ms = JSONView.parseInt64(content) {
                return ms
            }
            return ISO8601.parseMilliseconds(content)
        default:
            return nil
        }
    }
}
