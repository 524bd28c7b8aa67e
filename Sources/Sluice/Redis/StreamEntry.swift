/// One stream entry as the source sees it: its ID and the body field's bytes.
struct StreamEntry: Sendable, Equatable {
    /// The entry ID (`1700000000000-0`).
    let id: String
    /// The body field's value; nil when the entry has no such field, or was deleted (then ``isDeleted``).
    let body: [UInt8]?
    /// The entry no longer exists in the stream (trimmed or deleted while pending): Redis returns its ID
    /// with no fields.
    let isDeleted: Bool

    /// Reads the entries of an `XREADGROUP` reply for one stream: RESP2 `[[stream, [entry...]]]` or a RESP3
    /// map `{stream: [entry...]}`; a null reply (the `BLOCK` timed out) is no entries.
    static func fromReadGroup(_ reply: RESPValue, field: String) throws(RedisError) -> [StreamEntry] {
        if reply.isNull { return [] }
        if case .error(let message) = reply { throw RedisError(.server, "XREADGROUP: \(message)") }
        let streams: [(RESPValue, RESPValue)]
        if case .map(let pairs) = reply {
            streams = pairs
        } else if let elements = reply.elements {
            streams = try elements.map { (element) throws(RedisError) -> (RESPValue, RESPValue) in
                guard let pair = element.elements, pair.count == 2 else { throw unexpected("XREADGROUP", element) }
                return (pair[0], pair[1])
            }
        } else {
            throw unexpected("XREADGROUP", reply)
        }
        var entries: [StreamEntry] = []
        for (_, list) in streams {
            guard let items = list.elements else {
                if list.isNull { continue }
                throw unexpected("XREADGROUP", list)
            }
            entries.reserveCapacity(entries.count + items.count)
            for item in items { entries.append(try entry(item, field: field, command: "XREADGROUP")) }
        }
        return entries
    }

    /// Reads one `[id, [field, value, ...]]` (or `[id, nil]` for a deleted entry).
    static func entry(_ item: RESPValue, field: String, command: String) throws(RedisError) -> StreamEntry {
        guard let parts = item.elements, parts.count == 2, let id = parts[0].string else { throw unexpected(command, item) }
        if parts[1].isNull { return StreamEntry(id: id, body: nil, isDeleted: true) }
        guard let fields = parts[1].pairs else { throw unexpected(command, parts[1]) }
        let wanted = Array(field.utf8)
        for (name, value) in fields where name.bytes == wanted {
            return StreamEntry(id: id, body: value.bytes, isDeleted: false)
        }
        return StreamEntry(id: id, body: nil, isDeleted: false)
    }

    /// An `XAUTOCLAIM` reply: `[next-cursor, [entry...], [deleted-id...]]` (Redis 7; Redis 6.2 has no third part).
    static func fromAutoClaim(_ reply: RESPValue, field: String) throws(RedisError)
        -> (cursor: String, entries: [StreamEntry], deleted: [String]) {
        if case .error(let message) = reply { throw RedisError(.server, "XAUTOCLAIM: \(message)") }
        guard let parts = reply.elements, parts.count >= 2, let cursor = parts[0].string, let items = parts[1].elements else {
            throw unexpected("XAUTOCLAIM", reply)
        }
        var entries: [StreamEntry] = []
        var deleted: [String] = []
        for item in items {
            // Redis 6.2 reported deleted entries inline as [id, nil]; Redis 7 lists them separately.
            let entry = try entry(item, field: field, command: "XAUTOCLAIM")
            if entry.isDeleted { deleted.append(entry.id) } else { entries.append(entry) }
        }
        if parts.count >= 3 {
            guard let ids = parts[2].elements else { throw unexpected("XAUTOCLAIM", parts[2]) }
            for id in ids {
                guard let text = id.string else { throw unexpected("XAUTOCLAIM", id) }
                deleted.append(text)
            }
        }
        return (cursor, entries, deleted)
    }

    static func unexpected(_ command: String, _ value: RESPValue) -> RedisError {
        RedisError(.protocolViolation, "\(command) answered with an unexpected \(value.summary)")
    }
}

/// One row of `XPENDING key group [IDLE ms] start end count`: `[id, consumer, idle-ms, deliveries]`.
struct PendingEntry: Sendable, Equatable {
    let id: String
    let consumer: String
    let idleMs: Int64
    let deliveries: Int64

    static func list(_ reply: RESPValue) throws(RedisError) -> [PendingEntry] {
        if case .error(let message) = reply { throw RedisError(.server, "XPENDING: \(message)") }
        guard let rows = reply.elements else { throw StreamEntry.unexpected("XPENDING", reply) }
        return try rows.map { (row) throws(RedisError) -> PendingEntry in
            guard let fields = row.elements, fields.count == 4, let id = fields[0].string, let consumer = fields[1].string,
                  case .integer(let idle) = fields[2], case .integer(let deliveries) = fields[3]
            else { throw StreamEntry.unexpected("XPENDING", row) }
            return PendingEntry(id: id, consumer: consumer, idleMs: idle, deliveries: deliveries)
        }
    }

    /// The count of `XPENDING key group` (the summary form: `[count, min, max, consumers]`).
    static func count(_ reply: RESPValue) throws(RedisError) -> Int64 {
        if case .error(let message) = reply { throw RedisError(.server, "XPENDING: \(message)") }
        guard let parts = reply.elements, let first = parts.first, case .integer(let count) = first else {
            throw StreamEntry.unexpected("XPENDING", reply)
        }
        return count
    }
}
