/// The entries of one read (`XREADGROUP`, `XAUTOCLAIM`) as the ingestor decodes them: every body in one byte
/// buffer, and per entry only its ID and where its body is.
///
/// Why not an array of ``StreamEntry``: at hundreds of thousands of entries a second, one array per body (and
/// the reply tree it was cut from) is most of the per-entry cost. The fast path (``RESPParser/nextStreamRead(field:)``)
/// copies a whole `XREADGROUP` reply once into ``storage`` and records ranges into it; the decoder then reads
/// each body in place. IDs stay `String`s (what `XACK` sends): Redis IDs are at most 15 bytes in practice
/// (`1700000000000-12`), which Swift stores inline, without an allocation.
struct StreamEntryBatch: Sendable, Equatable {
    /// Where one entry's body is.
    enum Body: Sendable, Equatable {
        /// The body field's value: these bytes of ``storage``.
        case bytes(Range<Int>)
        /// The entry has no such field.
        case missingField
        /// The entry no longer exists in the stream (trimmed or deleted while pending): Redis returned its ID
        /// with no fields.
        case deleted
    }

    /// The bytes every ``Body/bytes(_:)`` range points into.
    private(set) var storage: [UInt8]
    /// The entry IDs, in stream order.
    private(set) var ids: [String]
    /// Per entry (same index as ``ids``): its body.
    private(set) var bodies: [Body]

    /// An empty batch.
    init() {
        storage = []
        ids = []
        bodies = []
    }

    /// A batch whose bodies are ranges of `storage` (the fast reply parser's result).
    init(storage: [UInt8], ids: [String], bodies: [Body]) {
        precondition(ids.count == bodies.count)
        self.storage = storage
        self.ids = ids
        self.bodies = bodies
    }

    /// The same entries, each body copied into one buffer (replies that took the general parser).
    init(_ entries: [StreamEntry]) {
        self.init()
        storage.reserveCapacity(entries.reduce(0) { $0 + ($1.body?.count ?? 0) })
        ids.reserveCapacity(entries.count)
        bodies.reserveCapacity(entries.count)
        for entry in entries {
            ids.append(entry.id)
            if let body = entry.body {
                let start = storage.count
                storage.append(contentsOf: body)
                bodies.append(.bytes(start..<storage.count))
            } else {
                bodies.append(entry.isDeleted ? .deleted : .missingField)
            }
        }
    }

    /// How many entries.
    var count: Int { ids.count }
    /// No entries (a `BLOCK` that timed out).
    var isEmpty: Bool { ids.isEmpty }

    /// Bytes of all bodies together (to size the chunk they are decoded into).
    var bodyBytes: Int {
        bodies.reduce(0) { total, body in
            if case .bytes(let range) = body { total + range.count } else { total }
        }
    }

    /// The entries as ``StreamEntry`` values (tests and diagnostics; the hot path reads ``storage`` in place).
    var entries: [StreamEntry] {
        zip(ids, bodies).map { id, body in
            switch body {
            case .bytes(let range): StreamEntry(id: id, body: Array(storage[range]), isDeleted: false)
            case .missingField: StreamEntry(id: id, body: nil, isDeleted: false)
            case .deleted: StreamEntry(id: id, body: nil, isDeleted: true)
            }
        }
    }
}
