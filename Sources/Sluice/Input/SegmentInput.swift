import Foundation

/// Segment input: messages (`type` = track, page, screen, identify, group, alias) and `{"batch": [...]}` bodies,
/// as Segment's libraries (analytics-node, analytics-python, analytics.js) and Segment's own destinations send
/// them, turned into Statsig events the way Statsig's Segment integration does (seeds 001 and 002).
///
/// Mapping decisions (where the Segment and Statsig documentation are silent):
/// - Event names: track `X` -> `segment_track:X`; page/screen -> `segment_page:X` / `segment_screen:X` where `X` is
///   the call's `name`, else `properties.name` (analytics.js copies the name there), else its `category` (or
///   `properties.category`); a call with none of them is filtered ("segment page or screen without a name")
///   rather than becoming `segment_page:` with an empty name.
/// - `integrations`: a message (or batch) whose `integrations` has `"Statsig": false`, or `"All": false`
///   without `"Statsig": true`, is filtered with the reason, as Segment itself would not deliver it.
/// - `segmentInbound.events` patterns are tested against the Segment name (`Order Completed`) and against the
///   Statsig name (`segment_track:Order Completed`), so both `Order *` and `segment_page:*` select.
/// - The user: `userId` -> `userID` (numbers become strings); `properties.statsigCustomIDs` pairs -> `customIDs`
///   (ID type names must be non-empty strings, values strings or numbers; anything else makes the event invalid);
///   `anonymousId` -> `customIDs[segmentInbound.anonymousIdAs]` unless the pairs already name that type. The
///   merged `context` fills `email` (`context.traits.email`), `ip`, `userAgent`, `locale` and `appVersion`
///   (`context.app.version`): Statsig derives country, browser and OS from them. Empty-string IDs count as absent,
///   and a message with neither `userId` nor `anonymousId` is invalid (the Segment spec requires one).
/// - When: `timestamp`, else `originalTimestamp`, else the message's `sentAt`, the batch's `sentAt`, `receivedAt`,
///   else the time of decoding. A value that is present but not a date-time makes the event invalid.
/// - De-duplication: the timeUUID is derived from the time and a hash of `messageId` (of the whole message when
///   there is none), so a message retried by a Segment library (same `messageId`, same `timestamp`) de-duplicates.
/// - `properties` -> `metadata` (verbatim, without `statsigCustomIDs`); `properties.value` (string or number) ->
///   `value`, the inverse of the Segment output's `properties.value`.
/// - Batch-level `context` merges into each message member by member, the message's members winning.
/// - identify: a Personas/Engage audience change (`context.personas.computation_class == "audience"`,
///   `traits[computation_key]` true or false) becomes an ``EventKind/audienceMembership`` record for the
///   `statsig-idlists` destination, with the user mapped as for any message; the destination's `idType`
///   (default `userID`) picks the member ID, since a Statsig ID list holds one ID type. Other identify calls,
///   group and alias are counted as ingested and filtered with their reason.
extension InputDecoder {
    /// The Segment call types.
    private enum SegmentType {
        case track, page, screen, identify, group, alias
    }

    /// Members of a Segment message, found in one pass.
    private struct SegmentFields {
        var type: Int?, userId: Int?, anonymousId: Int?, event: Int?, name: Int?, properties: Int?, traits: Int?
        var category: Int?, integrations: Int?
        var context: Int?, timestamp: Int?, originalTimestamp: Int?, sentAt: Int?, receivedAt: Int?, messageId: Int?
    }

    /// Members of `properties` the mapping reads.
    private struct PropertyFields {
        var customIDs: Int?, name: Int?, value: Int?, category: Int?
    }

    private static func segmentFields(_ view: JSONView, _ object: Int) -> SegmentFields {
        var f = SegmentFields()
        view.forEachMember(of: object) { key, value in
            switch view.rawStringContent(key).count {
            case 4:
                if view.stringEquals(key, "type") { f.type = value } else if view.stringEquals(key, "name") { f.name = value }
            case 5: if view.stringEquals(key, "event") { f.event = value }
            case 6:
                if view.stringEquals(key, "userId") { f.userId = value }
                else if view.stringEquals(key, "traits") { f.traits = value }
                else if view.stringEquals(key, "sentAt") { f.sentAt = value }
            case 7: if view.stringEquals(key, "context") { f.context = value }
            case 8: if view.stringEquals(key, "category") { f.category = value }
            case 12: if view.stringEquals(key, "integrations") { f.integrations = value }
            case 9:
                if view.stringEquals(key, "timestamp") { f.timestamp = value }
                else if view.stringEquals(key, "messageId") { f.messageId = value }
            case 10:
                if view.stringEquals(key, "properties") { f.properties = value }
                else if view.stringEquals(key, "receivedAt") { f.receivedAt = value }
            case 11: if view.stringEquals(key, "anonymousId") { f.anonymousId = value }
            case 17: if view.stringEquals(key, "originalTimestamp") { f.originalTimestamp = value }
            default: break
            }
        }
        return f
    }

    private static func segmentType(_ view: JSONView, _ node: Int) -> SegmentType? {
        if view.stringEquals(node, "track") { return .track }
        if view.stringEquals(node, "page") { return .page }
        if view.stringEquals(node, "screen") { return .screen }
        if view.stringEquals(node, "identify") { return .identify }
        if view.stringEquals(node, "group") { return .group }
        if view.stringEquals(node, "alias") { return .alias }
        return nil
    }

    /// Decodes a Segment batch body `{"batch": [...], "context"?, "integrations"?, "sentAt"?}`: each message is
    /// its own event or its own invalid record.
    func decodeSegmentBatch(_ view: JSONView, root: Int, batch: Int, _ context: DocumentContext,
                            into chunk: inout EventChunk, invalid: inout [InvalidInput]) {
        guard view.kind(batch) == .array else {
            invalid.append(InvalidInput(line: context.line, reason: "\"batch\" must be an array of Segment messages", raw: view.bytes))
            return
        }
        if let shared = view.member(root, "context"), view.kind(shared) != .object, view.kind(shared) != .null {
            invalid.append(InvalidInput(line: context.line, reason: "the batch's \"context\" must be an object", raw: view.bytes))
            return
        }
        var index = 0
        view.forEachElement(of: batch) { element in
            defer { index += 1 }
            let reason = view.kind(element) == .object
                ? decodeSegmentMessage(view, element, batchRoot: root, context, into: &chunk)
                : "a Segment message must be a JSON object"
            if let reason {
                invalid.append(InvalidInput(line: context.line, index: index, reason: reason, raw: view.raw(element)))
            }
        }
    }

    /// Decodes the Segment message at `node` (inside the batch rooted at `batchRoot`, if any) into `chunk`.
    /// Returns nil on success (including records counted as filtered), or why the message is invalid.
    func decodeSegmentMessage(_ view: JSONView, _ node: Int, batchRoot: Int?, _ context: DocumentContext,
                              into chunk: inout EventChunk) -> String? {
        let f = Self.segmentFields(view, node)
        guard let typeNode = f.type, view.kind(typeNode) == .string else {
            return "type must be a string (track, page, screen, identify, group or alias)"
        }
        guard let type = Self.segmentType(view, typeNode) else {
            return "unsupported Segment type \(String(decoding: view.raw(typeNode).prefix(64), as: UTF8.self)) (expected track, page, screen, identify, group or alias)"
        }
        var batchContext: Int?, batchSentAt: Int?, batchIntegrations: Int?
        if let root = batchRoot {
            view.forEachMember(of: root) { key, value in
                if view.stringEquals(key, "context"), view.kind(value) == .object { batchContext = value }
                else if view.stringEquals(key, "sentAt") { batchSentAt = value }
                else if view.stringEquals(key, "integrations") { batchIntegrations = value }
            }
        }
        if let reason = numberBeyondDouble(view, node, batchContext) { return reason }
        var messageContext = f.context
        if let c = messageContext {
            if view.kind(c) == .null { messageContext = nil } else if view.kind(c) != .object { return "context must be an object" }
        }
        let segmentContext = SegmentContext(message: messageContext, batch: batchContext)

        // Who: one of userId / anonymousId is required by the Segment spec.
        let userId: Int?, anonymousId: Int?
        switch (Self.identifier(view, f.userId), Self.identifier(view, f.anonymousId)) {
        case (.invalid, _): return "userId must be a string"
        case (_, .invalid): return "anonymousId must be a string"
        case (.present(let u), .present(let a)): (userId, anonymousId) = (u, a)
        case (.present(let u), .absent): (userId, anonymousId) = (u, nil)
        case (.absent, .present(let a)): (userId, anonymousId) = (nil, a)
        case (.absent, .absent): return "a Segment message needs a userId or an anonymousId"
        }

        // When.
        var timestamp = Int64(0)
        let when = Self.nonNull(view, f.timestamp) ?? Self.nonNull(view, f.originalTimestamp) ?? Self.nonNull(view, f.sentAt)
            ?? Self.nonNull(view, batchSentAt) ?? Self.nonNull(view, f.receivedAt)
        if let t = when {
            guard let ms = Self.milliseconds(view, t) else {
                return "timestamp must be an ISO 8601 date-time (e.g. 2024-05-01T12:00:00.000Z)"
            }
            switch options.checksSecondsLikeTimes ? Self.applyingUnit(ms, view, t, options.timestampUnit) : .success(ms) {
            case .success(let adjusted): timestamp = adjusted
            case .failure(let problem): return "timestamp \(problem.message)"
            }
        } else {
            timestamp = Int64(Date().timeIntervalSince1970 * 1000)
        }
        // Segment's clock-skew rule, when a relay received the message: timestamp = receivedAt - (sentAt -
        // timestamp), both client times, so the client's clock error cancels out. The derived key below keeps
        // the client's time: a retry (new sentAt) must still de-duplicate.
        let clientTimestamp = timestamp
        if let relay = ingestContext, relay.correctsSegmentSentAt,
           let original = Self.nonNull(view, f.timestamp) ?? Self.nonNull(view, f.originalTimestamp), original == when,
           let sentNode = Self.nonNull(view, f.sentAt) ?? Self.nonNull(view, batchSentAt),
           let sentAt = Self.milliseconds(view, sentNode) {
            timestamp = relay.receivedAtMilliseconds &- (sentAt &- timestamp)
        }
        let hash: UInt64
        if let m = f.messageId, view.kind(m) == .string, view.nodes[m].end - view.nodes[m].start > 2 {
            hash = ContentHash.hash(view.rawStringContent(m))
        } else if let m = f.messageId, view.kind(m) == .number {
            hash = ContentHash.hash(view.raw(m))
        } else {
            hash = ContentHash.hash(view.raw(node))
        }
        let uuid = TimeUUID.derived(milliseconds: clientTimestamp, contentHash: hash)

        var properties = f.properties
        if let p = properties {
            if view.kind(p) == .null { properties = nil } else if view.kind(p) != .object { return "properties must be an object" }
        }
        var p = PropertyFields()
        if let properties {
            view.forEachMember(of: properties) { key, value in
                switch view.rawStringContent(key).count {
                case 4: if view.stringEquals(key, "name") { p.name = value }
                case 5: if view.stringEquals(key, "value") { p.value = value }
                case 8: if view.stringEquals(key, "category") { p.category = value }
                case 16: if view.stringEquals(key, "statsigCustomIDs") { p.customIDs = value }
                default: break
                }
            }
        }
        if let ids = p.customIDs, let problem = Self.customIDsProblem(view, ids) { return problem }

        // What.
        var event: Event
        switch type {
        case .track, .page, .screen:
            let nameNode: Int?
            if type == .track {
                guard let e = f.event, view.kind(e) == .string, view.nodes[e].end - view.nodes[e].start > 2 else {
                    return "a track call needs a non-empty string \"event\""
                }
                nameNode = e
            } else {
                nameNode = Self.nonEmptyString(view, f.name) ?? Self.nonEmptyString(view, p.name)
                    ?? Self.nonEmptyString(view, f.category) ?? Self.nonEmptyString(view, p.category)
            }
            let name = nameNode.map { view.rawStringContent($0) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
            let nameStart = chunk.arena.count
            chunk.arena.append(UInt8(ascii: "\""))
            switch type {
            case .track: chunk.arena.appendLiteral("segment_track:")
            case .page: chunk.arena.appendLiteral("segment_page:")
            default: chunk.arena.appendLiteral("segment_screen:")
            }
            chunk.arena.append(contentsOf: name)  // still escaped: valid inside the new string as it is
            chunk.arena.append(UInt8(ascii: "\""))
            let nameSpan = ByteSpan(start: nameStart, count: chunk.arena.count - nameStart)
            event = Event(eventName: nameSpan, timeUUID: uuid, timestamp: timestamp, line: context.line, category: .custom)
            if nameNode == nil {
                event.filterReason = .segmentPageWithoutName
            } else if let patterns = segmentEvents,
               !chunk.withArena({ selects(patterns, name: name, statsigName: EventNames.content(nameSpan, $0)) }) {
                event.filterReason = .segmentEventNotSelected
            }
        case .identify:
            switch Self.audience(view, f.traits, segmentContext) {
            case .invalid(let reason):
                return reason
            case .notAudience:
                event = Event(eventName: context.span(view, typeNode), timeUUID: uuid, timestamp: timestamp, line: context.line, category: .custom)
                event.filterReason = .identifyNotAudience
            case .change(let key, let member):
                event = Event(eventName: context.span(view, key), timeUUID: uuid, timestamp: timestamp, line: context.line,
                              category: .custom, kind: .audienceMembership)
                event.value = context.span(view, member)
            }
        case .group, .alias:
            event = Event(eventName: context.span(view, typeNode), timeUUID: uuid, timestamp: timestamp, line: context.line, category: .custom)
            event.filterReason = type == .group ? .segmentGroupCall : .segmentAliasCall
        }

        if event.filterReason == nil, Self.turnsStatsigOff(view, f.integrations ?? batchIntegrations) {
            event.filterReason = .segmentIntegrationDisabled
        }

        // An audience member is identified like any Segment user: userId -> userID, anonymousId ->
        // customIDs[anonymousIdAs]; the ID-list destination picks the ID of its list's `idType`.
        appendSegmentUser(view, context, userID: userId, anonymousId: anonymousId, customIDs: p.customIDs,
                          segmentContext: segmentContext, into: &event, chunk: &chunk)
        if let properties {
            if let v = p.value, view.kind(v) == .string || view.kind(v) == .number, event.kind == .event { event.value = context.span(view, v) }
            event.metadata = p.customIDs == nil
                ? context.span(view, properties)
                : Self.appendObject(view, properties, without: "statsigCustomIDs", to: &chunk)
        }
        chunk.events.append(event)
        return nil
    }

    // MARK: - Pieces

    /// Segment's rule for `integrations`: a destination's own key decides; without it, `All` does (default true).
    private static func turnsStatsigOff(_ view: JSONView, _ integrations: Int?) -> Bool {
        guard let integrations, view.kind(integrations) == .object else { return false }
        if let statsig = view.member(integrations, "Statsig") {
            return view.kind(statsig) == .false
        }
        if let all = view.member(integrations, "All") { return view.kind(all) == .false }
        return false
    }

    /// Where to look up a `context` member: the message's own, else the batch's.
    private struct SegmentContext {
        let message: Int?
        let batch: Int?

        func member(_ view: JSONView, _ key: StaticString) -> Int? {
            if let m = message, let v = view.member(m, key) { return v }
            if let b = batch, let v = view.member(b, key) { return v }
            return nil
        }
    }

    private enum Identifier {
        case absent, present(Int), invalid
    }

    /// A userId/anonymousId: a non-empty string or a number; null and `""` are absent.
    private static func identifier(_ view: JSONView, _ node: Int?) -> Identifier {
        guard let node else { return .absent }
        switch view.kind(node) {
        case .null: return .absent
        case .string: return view.nodes[node].end - view.nodes[node].start > 2 ? .present(node) : .absent
        case .number: return .present(node)
        default: return .invalid
        }
    }

    private static func nonEmptyString(_ view: JSONView, _ node: Int?) -> Int? {
        guard let node, view.kind(node) == .string, view.nodes[node].end - view.nodes[node].start > 2 else { return nil }
        return node
    }

    private static func nonNull(_ view: JSONView, _ node: Int?) -> Int? {
        guard let node, view.kind(node) != .null else { return nil }
        return node
    }

    private func selects(_ patterns: [EventNamePattern], name: UnsafeRawBufferPointer, statsigName: UnsafeRawBufferPointer) -> Bool {
        patterns.contains { $0.matches(name) || $0.matches(statsigName) }
    }

    /// Why `statsigCustomIDs` cannot be read as `[idType, value, ...]` pairs, or nil when it can (null counts as absent).
    private static func customIDsProblem(_ view: JSONView, _ node: Int) -> String? {
        if view.kind(node) == .null { return nil }
        guard view.kind(node) == .array else {
            return "properties.statsigCustomIDs must be an array of [idType, value, idType, value, ...]"
        }
        var index = 0
        var problem: String?
        view.forEachElement(of: node) { element in
            defer { index += 1 }
            guard problem == nil else { return }
            if index % 2 == 0 {
                if view.kind(element) != .string || view.nodes[element].end - view.nodes[element].start <= 2 {
                    problem = "properties.statsigCustomIDs[\(index)] must be an ID type name (a non-empty string)"
                }
            } else if view.kind(element) != .string && view.kind(element) != .number {
                problem = "properties.statsigCustomIDs[\(index)] must be the ID value (a string)"
            }
        }
        if problem == nil, index % 2 != 0 {
            problem = "properties.statsigCustomIDs must hold pairs [idType, value, ...]; it has an odd number (\(index)) of elements"
        }
        return problem
    }

    private enum AudienceChange {
        case notAudience
        case change(key: Int, member: Int)
        case invalid(String)
    }

    /// Reads a Personas/Engage audience identify: `context.personas` names the audience, `traits[key]` says in or out.
    private static func audience(_ view: JSONView, _ traits: Int?, _ context: SegmentContext) -> AudienceChange {
        guard let personas = context.member(view, "personas"), view.kind(personas) == .object,
              let computationClass = view.member(personas, "computation_class"), view.kind(computationClass) == .string,
              view.stringEquals(computationClass, "audience")
        else { return .notAudience }
        guard let key = view.member(personas, "computation_key"), view.kind(key) == .string,
              view.nodes[key].end - view.nodes[key].start > 2
        else { return .invalid("a Personas audience identify needs context.personas.computation_key (the audience key)") }
        var member: Int?
        if let traits, view.kind(traits) == .object {
            var wanted: [UInt8] = []
            view.appendUnescaped(key, to: &wanted)
            wanted.withUnsafeBytes { wanted in
                view.forEachMember(of: traits) { k, v in
                    if view.stringEquals(k, bytes: wanted) { member = v }
                }
            }
        }
        guard let member, view.kind(member) == .true || view.kind(member) == .false else {
            return .invalid("a Personas audience identify needs traits[computation_key] set to true or false")
        }
        return .change(key: key, member: member)
    }

    /// Writes the Statsig user for a Segment message into the arena and points the event's identity spans at it.
    private func appendSegmentUser(_ view: JSONView, _ context: DocumentContext, userID: Int?, anonymousId: Int?,
                                   customIDs: Int?, segmentContext: SegmentContext, into event: inout Event,
                                   chunk: inout EventChunk) {
        let start = chunk.arena.count
        var first = true
        func key(_ literal: StaticString, _ chunk: inout EventChunk) {
            chunk.arena.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            chunk.arena.appendLiteral(literal)
        }
        /// Copies a string verbatim, or writes a number as a string; returns its span.
        func id(_ node: Int, _ chunk: inout EventChunk) -> ByteSpan {
            let s = chunk.arena.count
            if view.kind(node) == .number {
                chunk.arena.withJSONWriter { $0.appendString(utf8: view.raw(node)) }
            } else {
                chunk.arena.append(contentsOf: view.raw(node))
            }
            return ByteSpan(start: s, count: chunk.arena.count - s)
        }
        if let userID {
            key("\"userID\":", &chunk)
            event.userID = id(userID, &chunk)
        }
        var anonymousIdNamed = false
        var anonymousIdAs = options.segmentAnonymousIdAs
        let hasPairs = customIDs.map { view.kind($0) == .array && view.childCount(of: $0) > 0 } ?? false
        if hasPairs || anonymousId != nil {
            key("\"customIDs\":{", &chunk)
            let objectStart = chunk.arena.count - 1
            var firstID = true
            if let customIDs, hasPairs {
                var typeNode = 0
                var index = 0
                view.forEachElement(of: customIDs) { element in
                    defer { index += 1 }
                    if index % 2 == 0 { typeNode = element; return }
                    if !firstID { chunk.arena.append(UInt8(ascii: ",")) }
                    firstID = false
                    chunk.arena.append(contentsOf: view.raw(typeNode))
                    chunk.arena.append(UInt8(ascii: ":"))
                    let span = id(element, &chunk)
                    if view.stringEquals(typeNode, "stableID") { event.stableID = span }
                    anonymousIdAs.withUTF8 { wanted in
                        if view.stringEquals(typeNode, bytes: UnsafeRawBufferPointer(wanted)) { anonymousIdNamed = true }
                    }
                }
            }
            if let anonymousId, !anonymousIdNamed {
                if !firstID { chunk.arena.append(UInt8(ascii: ",")) }
                chunk.arena.withJSONWriter { $0.appendString(anonymousIdAs) }
                chunk.arena.append(UInt8(ascii: ":"))
                let span = id(anonymousId, &chunk)
                if anonymousIdAs == "stableID" { event.stableID = span }
            }
            chunk.arena.append(UInt8(ascii: "}"))
            event.customIDs = ByteSpan(start: objectStart, count: chunk.arena.count - objectStart)
        }
        if let traits = segmentContext.member(view, "traits"), view.kind(traits) == .object,
           let email = Self.nonEmptyString(view, view.member(traits, "email")) {
            key("\"email\":", &chunk)
            event.email = id(email, &chunk)
        }
        if let ip = Self.nonEmptyString(view, segmentContext.member(view, "ip")) {
            key("\"ip\":", &chunk)
            chunk.arena.append(contentsOf: view.raw(ip))
        } else if let clientIP = ingestContext?.clientIP {
            // Received by a relay: the client's address, as Segment's API sets context.ip.
            key("\"ip\":", &chunk)
            chunk.arena.withJSONWriter { $0.appendString(clientIP) }
        }
        if let agent = Self.nonEmptyString(view, segmentContext.member(view, "userAgent")) {
            key("\"userAgent\":", &chunk)
            chunk.arena.append(contentsOf: view.raw(agent))
        }
        if let locale = Self.nonEmptyString(view, segmentContext.member(view, "locale")) {
            key("\"locale\":", &chunk)
            chunk.arena.append(contentsOf: view.raw(locale))
        }
        if let app = segmentContext.member(view, "app"), view.kind(app) == .object,
           let version = Self.nonEmptyString(view, view.member(app, "version")) {
            key("\"appVersion\":", &chunk)
            chunk.arena.append(contentsOf: view.raw(version))
        }
        if first { chunk.arena.append(UInt8(ascii: "{")) }
        chunk.arena.append(UInt8(ascii: "}"))
        event.user = ByteSpan(start: start, count: chunk.arena.count - start)
    }

    /// Copies object `node` without member `excluded` into the arena.
    private static func appendObject(_ view: JSONView, _ node: Int, without excluded: StaticString,
                                     to chunk: inout EventChunk) -> ByteSpan {
        let start = chunk.arena.count
        chunk.arena.append(UInt8(ascii: "{"))
        var first = true
        view.forEachMember(of: node) { key, value in
            if view.stringEquals(key, excluded) { return }
            if !first { chunk.arena.append(UInt8(ascii: ",")) }
            first = false
            chunk.arena.append(contentsOf: view.raw(key))
            chunk.arena.append(UInt8(ascii: ":"))
            chunk.arena.append(contentsOf: view.raw(value))
        }
        chunk.arena.append(UInt8(ascii: "}"))
        return ByteSpan(start: start, count: chunk.arena.count - start)
    }
}
