import Synchronization

/// Ingest-to-delivery latency of delivered events, in logarithmic buckets (about 19% wide), weighted by
/// event count. Cheap enough to record once per batch.
final class LatencyHistogram: Sendable {
    private static let bucketCount = 128
    private let buckets: Mutex<[Int]> = Mutex(Array(repeating: 0, count: LatencyHistogram.bucketCount))
    private let maximum = Atomic<UInt64>(0)

    /// Bucket b holds values in [2^(b/4), 2^((b+1)/4)) microseconds.
    private static func bucket(_ micros: UInt64) -> Int {
        guard micros > 0 else { return 0 }
        let log2 = 63 - micros.leadingZeroBitCount
        let quarter = log2 >= 2 ? Int((micros >> UInt64(log2 - 2)) & 3) : 0  // next two bits after the leading one
        return min(bucketCount - 1, log2 * 4 + quarter)
    }

    private static func upperBound(_ bucket: Int) -> Double {
        let log2 = bucket / 4, quarter = bucket % 4
        return Double(UInt64(1) << UInt64(log2)) * (1 + Double(quarter + 1) / 4)
    }

    func record(nanoseconds: UInt64, count: Int) {
        let micros = nanoseconds / 1000
        buckets.withLock { $0[Self.bucket(micros)] += count }
        var current = maximum.load(ordering: .relaxed)
        while micros > current {
            let (exchanged, original) = maximum.compareExchange(expected: current, desired: micros, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
    }

    /// The latency below which `fraction` of recorded events fall, in seconds (bucket upper bound), or nil.
    func quantile(_ fraction: Double) -> Double? {
        let counts = buckets.withLock { $0 }
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        let target = Int((Double(total) * fraction).rounded(.up))
        var running = 0
        for (b, n) in counts.enumerated() {
            running += n
            if running >= Swift.max(1, target) { return Swift.min(Self.upperBound(b), Double(maximum.load(ordering: .relaxed))) / 1e6 }
        }
        return Double(maximum.load(ordering: .relaxed)) / 1e6
    }

    /// The largest latency recorded, in seconds.
    var max: Double { Double(maximum.load(ordering: .relaxed)) / 1e6 }
}
