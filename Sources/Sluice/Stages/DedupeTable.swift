/// A 128-bit de-duplication key (a timeUUID's 16 bytes as two big-endian UInt64 halves).
///
/// Sixteen bytes instead of the 36-character string keep the table small and the comparison to two integer
/// compares.
public struct DedupeKey: Hashable, Sendable {
    /// Bytes 0–7 of the UUID read big-endian: time_low, time_mid and time_hi_and_version. Changes with every
    /// event, fastest in its top 32 bits (time_low).
    public var high: UInt64
    /// Bytes 8–15 of the UUID read big-endian: clock sequence and node. Usually identical for all events from one
    /// host.
    public var low: UInt64

    /// Creates a key from the two big-endian halves of a UUID.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }
}

/// A memory-bounded set of recently seen ``DedupeKey``s that answers "have I seen this event before?".
///
/// Semantics:
/// - Keys are remembered in insertion order (a FIFO ring); a duplicate does not refresh its key's position.
/// - At most `capacity` keys are remembered. Inserting a new key into a full table first forgets the oldest
///   insertion (counted in ``capacityEvictions``).
/// - The time window is measured in event time, not wall-clock time, so replaying old data behaves like the
///   original run. The watermark is the largest event time passed to ``insert(_:eventTimeMilliseconds:)`` so far
///   (duplicates included). Before each lookup, keys are forgotten from the FIFO head while the head's event time
///   is earlier than `watermark - window` (counted in ``windowEvictions``). A key that arrives late is still
///   remembered and ages out when it reaches the head. A window `<= 0` disables the time limit.
/// - Both limits apply; whichever is reached first evicts. A forgotten key is new again when it reappears.
///
/// Implementation: open addressing with linear probing over a flat `[UInt64]` of slots, each holding 32 bits
/// of the key's hash (a cheap filter before touching the key, and enough to recompute the home bucket) and the
/// key's ring position. Deletions shift later entries back instead of leaving tombstones, so constant eviction
/// does not lengthen probe chains. The ring and the slot array start small and double as keys arrive, so a large
/// `capacity` costs memory only once it is used; the slot array stays at most 70% full.
struct DedupeTable {
    /// One remembered key, in FIFO order in `ring`.
    private struct Entry {
        var high: UInt64
        var low: UInt64
        var eventTime: Int64
    }

    /// The most keys remembered at once.
    let capacity: Int
    /// The event-time window in milliseconds; `<= 0` means no window.
    let windowMilliseconds: Int64

    /// FIFO of remembered keys; its length is the current ring capacity (grows up to `capacity`).
    private var ring: [Entry]
    private var head = 0
    /// The number of keys remembered now.
    private(set) var count = 0

    /// Hash slots: 0 is empty, otherwise `hash32 << 32 | (ring index + 1)`. The length is a power of two.
    private var slots: [UInt64]
    private var mask: Int

    private var watermark = Int64.min
    /// Sum of the loads ``grow()`` issues ahead of its inserts; kept only so those loads are not optimised away.
    private var growthLoads: UInt64 = 0

    /// Keys forgotten because the table was full.
    private(set) var capacityEvictions = 0
    /// Keys forgotten because they fell out of the event-time window.
    private(set) var windowEvictions = 0

    private static let initialRingCapacity = 64
    private static let positionMask: UInt64 = 0xFFFF_FFFF

    /// Creates an empty table.
    ///
    /// - Parameters:
    ///   - capacity: the most keys remembered at once; at least 1 and below 2^31.
    ///   - windowMilliseconds: how far behind the newest event time a key is still remembered; `<= 0` for no
    ///     time limit.
    init(capacity: Int, windowMilliseconds: Int64) {
        precondition(capacity >= 1, "DedupeTable capacity must be at least 1, got \(capacity)")
        precondition(capacity < 1 << 31, "DedupeTable capacity must be below 2^31, got \(capacity)")
        self.capacity = capacity
        self.windowMilliseconds = windowMilliseconds
        let ringCapacity = Swift.min(capacity, Self.initialRingCapacity)
        self.ring = Array(repeating: Entry(high: 0, low: 0, eventTime: 0), count: ringCapacity)
        let slotCount = Self.slotCount(forRingCapacity: ringCapacity)
        self.slots = Array(repeating: 0, count: slotCount)
        self.mask = slotCount - 1
    }

    /// Approximate bytes held by the table (ring, slots and the struct itself), for metrics.
    var memoryBytes: Int {
        ring.capacity * MemoryLayout<Entry>.stride + slots.capacity * MemoryLayout<UInt64>.stride
            + MemoryLayout<DedupeTable>.size
    }

    /// Remembers `key` unless it is already remembered.
    ///
    /// - Parameters:
    ///   - key: the event's de-duplication key.
    ///   - eventTimeMilliseconds: the event's own timestamp; advances the watermark used by the time window.
    /// - Returns: `true` when the key is new (it is now remembered), `false` when it duplicates a remembered key.
    mutating func insert(_ key: DedupeKey, eventTimeMilliseconds: Int64) -> Bool {
        if eventTimeMilliseconds > watermark { watermark = eventTimeMilliseconds }
        if windowMilliseconds > 0, count > 0 { evictOutsideWindow() }

        let hash32 = Self.hash32(high: key.high, low: key.low)
        let tag = UInt64(hash32) << 32
        var index = Int(hash32) & mask
        while true {
            let slot = slots[index]
            if slot == 0 { break }
            if slot & ~Self.positionMask == tag {
                let entry = ring[Int(slot & Self.positionMask) - 1]
                if entry.high == key.high, entry.low == key.low { return false }
            }
            index = (index + 1) & mask
        }

        if count == capacity {
            evictHead()
            capacityEvictions += 1
            // The backward shift may have opened a hole earlier in this key's probe chain; placing the key after
            // it would make it unreachable, so look for the first empty slot again.
            index = firstEmptySlot(from: Int(hash32) & mask)
        } else if count == ring.count {
            grow()
            index = firstEmptySlot(from: Int(hash32) & mask)
        }

        var tail = head + count
        if tail >= ring.count { tail -= ring.count }
        ring[tail] = Entry(high: key.high, low: key.low, eventTime: eventTimeMilliseconds)
        slots[index] = tag | UInt64(tail + 1)
        count += 1
        return true
    }

    // MARK: Warming

    /// Reads, without changing anything, the slots that inserting `keys` (in order, with these event times) will
    /// probe first, and those of the keys the time window is about to evict; returns a value that depends on
    /// every load so none is optimised away.
    ///
    /// Why: at a million keys the slot array (16 MB) and the ring are far larger than the caches, so each insert
    /// waits for one cache miss on its home slot (~200 ns, a fifth of an event's whole CPU time, measured with
    /// `perf`). Inserts depend on each other, so the processor cannot overlap those misses; these loads do not,
    /// so it issues many at once. Called with a chunk's keys just before inserting them one by one, it turns
    /// hundreds of serial misses into a few overlapped batches, and the inserts then find their slots cached.
    /// Purely a hint: a table that grows meanwhile (new mask) only makes some loads useless.
    func warm(_ events: UnsafeBufferPointer<Event>) -> UInt64 {
        guard count > 0 else { return 0 }
        return slots.withUnsafeBufferPointer { slots in
            var sink: UInt64 = 0
            var newest = watermark
            for event in events {
                let hash32 = Self.hash32(high: event.timeUUID.high, low: event.timeUUID.low)
                sink &+= slots[Int(hash32) & mask]
                if event.timestamp > newest { newest = event.timestamp }
            }
            // The oldest keys that this chunk's newest time pushes out of the window: eviction probes their slots.
            guard windowMilliseconds > 0 else { return sink }
            let (cutoff, overflow) = newest.subtractingReportingOverflow(windowMilliseconds)
            guard !overflow else { return sink }
            return ring.withUnsafeBufferPointer { ring in
                var position = head
                var remaining = Swift.min(count, events.count)
                while remaining > 0, ring[position].eventTime < cutoff {
                    let entry = ring[position]
                    sink &+= slots[Int(Self.hash32(high: entry.high, low: entry.low)) & mask]
                    position += 1
                    if position == ring.count { position = 0 }
                    remaining -= 1
                }
                return sink
            }
        }
    }

    // MARK: Eviction

    private mutating func evictOutsideWindow() {
        let (cutoff, overflow) = watermark.subtractingReportingOverflow(windowMilliseconds)
        // Overflow means the cutoff is below Int64.min: nothing can be older.
        if overflow { return }
        while count > 0, ring[head].eventTime < cutoff {
            evictHead()
            windowEvictions += 1
        }
    }

    /// Forgets the oldest remembered key.
    private mutating func evictHead() {
        let entry = ring[head]
        let position = UInt64(head + 1)
        var index = Int(Self.hash32(high: entry.high, low: entry.low)) & mask
        while slots[index] & Self.positionMask != position {
            index = (index + 1) & mask
        }
        removeSlot(at: index)
        head += 1
        if head == ring.count { head = 0 }
        count -= 1
    }

    /// Backward-shift deletion: every later entry of the run that may legally sit in the hole moves into it, so
    /// lookups never need tombstones.
    private mutating func removeSlot(at index: Int) {
        var hole = index
        var next = index
        while true {
            next = (next + 1) & mask
            let slot = slots[next]
            if slot == 0 { break }
            let home = Int(slot >> 32) & mask
            // The entry may move into the hole only if the hole lies on its probe path, home...next.
            if (next &- home) & mask >= (next &- hole) & mask {
                slots[hole] = slot
                hole = next
            }
        }
        slots[hole] = 0
    }

    private func firstEmptySlot(from start: Int) -> Int {
        var index = start
        while slots[index] != 0 { index = (index + 1) & mask }
        return index
    }

    // MARK: Growth

    /// Doubles the ring (up to `capacity`), lays it out from index 0 and rebuilds the slots to match.
    ///
    /// Growing to a million keys rehashes about two million entries into slot arrays far larger than the caches;
    /// the rebuild goes in blocks of 64 entries whose home slots are read first (independent loads that the
    /// processor overlaps, as in ``warm(_:)``), and the ring is copied in at most two `memcpy`s.
    private mutating func grow() {
        let newRingCapacity = Swift.min(capacity, ring.count * 2)
        let oldRingCount = ring.count, kept = count, oldHead = head
        let newRing = ring.withUnsafeBufferPointer { old in
            [Entry](unsafeUninitializedCapacity: newRingCapacity) { buffer, initialized in
                let base = buffer.baseAddress!
                let first = Swift.min(kept, oldRingCount - oldHead)
                base.initialize(from: old.baseAddress! + oldHead, count: first)
                (base + first).initialize(from: old.baseAddress!, count: kept - first)
                (base + kept).initialize(repeating: Entry(high: 0, low: 0, eventTime: 0), count: newRingCapacity - kept)
                initialized = newRingCapacity
            }
        }
        ring = newRing
        head = 0

        let slotCount = Self.slotCount(forRingCapacity: newRingCapacity)
        slots = Array(repeating: 0, count: slotCount)
        mask = slotCount - 1
        let mask = self.mask, count = self.count
        let sink = ring.withUnsafeBufferPointer { ring in
            slots.withUnsafeMutableBufferPointer { slots in
                withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { hashes in
                    var sink: UInt64 = 0
                    var start = 0
                    while start < count {
                        let end = Swift.min(count, start + 64)
                        for position in start..<end {
                            let hash32 = Self.hash32(high: ring[position].high, low: ring[position].low)
                            hashes[position - start] = hash32
                            sink &+= slots[Int(hash32) & mask]
                        }
                        for position in start..<end {
                            let hash32 = hashes[position - start]
                            var index = Int(hash32) & mask
                            while slots[index] != 0 { index = (index + 1) & mask }
                            slots[index] = UInt64(hash32) << 32 | UInt64(position + 1)
                        }
                        start = end
                    }
                    return sink
                }
            }
        }
        growthLoads &+= sink
    }

    /// The smallest power of two that keeps the slots at most 70% full when the ring is full.
    private static func slotCount(forRingCapacity ringCapacity: Int) -> Int {
        let needed = Swift.max(2, (ringCapacity * 10 + 6) / 7)
        return 1 << (Int.bitWidth - (needed - 1).leadingZeroBitCount)
    }

    // MARK: Hashing

    /// Mixes both halves into 32 well-distributed bits.
    ///
    /// Each half goes through an odd multiplier and the finalizer is invertible, so keys that differ in only one
    /// half — the usual case, as the low half is constant per host — never share a 64-bit hash. The murmur3
    /// 64-bit finalizer spreads the fast-changing top bits of `high` (time_low) into the low 32 bits used here.
    @inline(__always)
    static func hash32(high: UInt64, low: UInt64) -> UInt32 {
        let lowMixed = low &* 0xC2B2_AE3D_27D4_EB4F
        var h = (high &* 0x9E37_79B9_7F4A_7C15) ^ (lowMixed << 32 | lowMixed >> 32)
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return UInt32(truncatingIfNeeded: h)
    }
}
