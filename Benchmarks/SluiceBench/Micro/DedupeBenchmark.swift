import Sluice

/// De-duplication cost. The engine's `DedupeTable` is internal, so its cost is measured where it lives: the
/// same pipeline with dedupe on and off, the CPU-time difference per event being the dedupe stage (table
/// inserts plus one extra channel hop). A `Set<DedupeKey>` insert is measured alongside as the floor a general
/// hash set gives.
enum DedupeBenchmark {
    /// Nanoseconds per insert of `count` distinct keys into a `Set<DedupeKey>` reserved in advance.
    static func setInserts(count: Int, repetitions: Int) -> [Double] {
        // Keys shaped like timeUUIDs from one host: time in the high half, a constant node in the low half.
        var keys: [DedupeKey] = []
        keys.reserveCapacity(count)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            keys.append(DedupeKey(high: z ^ (z >> 31), low: 0x8000_1234_5678_9ABC))
        }
        var samples: [Double] = []
        for _ in 0..<repetitions {
            var set = Set<DedupeKey>(minimumCapacity: count)
            let start = ContinuousClock.now
            var inserted = 0
            for key in keys where set.insert(key).inserted { inserted += 1 }
            samples.append(nanoseconds(ContinuousClock.now - start) / Double(count))
            precondition(inserted == set.count)
        }
        return samples
    }
}
