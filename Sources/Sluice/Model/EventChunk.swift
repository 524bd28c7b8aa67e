import Dispatch

/// The unit that moves between pipeline stages: hundreds of events and the bytes they point into.
///
/// Moving events in chunks is what makes the stage hops affordable (about 0.3 us per chunk per hop instead of
/// per event). The arena holds a copy of each input document plus any bytes the decoder synthesised (a user
/// object without `privateAttributes`, a Segment-derived event name), so an event is a handful of spans and a
/// chunk is two arrays. Fan-out to several destinations shares one arena copy-on-write.
public struct EventChunk: Sendable {
    /// The bytes every span of every event points into.
    public internal(set) var arena: [UInt8]
    /// The events, in input order.
    public internal(set) var events: [Event]
    /// When the first event of the chunk was decoded (uptime nanoseconds), for ingest-to-delivery latency.
    public internal(set) var createdAt: UInt64
    /// The unit of input the events came from, when its source tracks acknowledgements (nil otherwise: then no
    /// stage does any acknowledgement work for the chunk). A chunk never spans two units.
    var unit: UnitTag?
    /// Where each event came from (stream entry and position), when the input is a Redis stream: what shared
    /// de-duplication stores as a claim's value. Only the de-duplication stage reads it, and it clears it.
    var origins: EventOrigins? = nil

    /// An empty chunk with room for `events` events and `bytes` bytes.
    public init(reservingEvents events: Int = 0, bytes: Int = 0) {
        self.arena = []
        self.events = []
        self.arena.reserveCapacity(bytes)
        self.events.reserveCapacity(events)
        self.createdAt = DispatchTime.now().uptimeNanoseconds
        self.unit = nil
    }

    /// Appends bytes to the arena and returns their span.
    @inline(__always)
    mutating func appendToArena(_ bytes: UnsafeRawBufferPointer) -> ByteSpan {
        let start = arena.count
        arena.append(contentsOf: bytes)
        return ByteSpan(start: start, count: bytes.count)
    }

    /// Appends bytes to the arena and returns their span.
    mutating func appendToArena(_ bytes: [UInt8]) -> ByteSpan {
        bytes.withUnsafeBytes { appendToArena($0) }
    }

    /// Removes the events at `positions` (ascending), copying the rest once into a new array.
    ///
    /// Stages decide which events to drop first and call this only when there are some: the stage before often
    /// still holds a reference to the same events for a moment after handing the chunk on, so removing in
    /// place (`removeAll(where:)`) would first copy every event (copy-on-write), then move the survivors.
    mutating func removeEvents(at positions: [Int]) {
        guard !positions.isEmpty else { return }
        var kept: [Event] = []
        kept.reserveCapacity(events.count - positions.count)
        var start = 0
        for position in positions {
            kept.append(contentsOf: events[start..<position])
            start = position + 1
        }
        kept.append(contentsOf: events[start...])
        events = kept
    }

    /// Calls `body` with the arena's bytes.
    @inline(__always)
    public func withArena<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try arena.withUnsafeBytes(body)
    }

    /// The raw JSON text of a span (for tests, diagnostics and custom destinations; the hot path copies bytes).
    public func text(_ span: ByteSpan) -> String? {
        guard span.isPresent else { return nil }
        return String(decoding: arena[span.range], as: UTF8.self)
    }

    /// The unescaped value of a span holding a JSON string, or the raw text of any other value.
    public func string(_ span: ByteSpan) -> String? {
        guard span.isPresent else { return nil }
        return arena.withUnsafeBytes { arena in
            let raw = UnsafeRawBufferPointer(rebasing: arena[span.range])
            guard raw.first == UInt8(ascii: "\""), raw.count >= 2 else { return String(decoding: raw, as: UTF8.self) }
            var reader = JSONReader(maxDepth: 1)
            guard (try? reader.parse(raw)) != nil else { return nil }
            return reader.withView(of: raw) { $0.unescapedString(0) }
        }
    }
}
