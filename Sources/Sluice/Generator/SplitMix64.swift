/// Sebastiano Vigna's SplitMix64: a tiny, fast, seedable generator.
///
/// The synthetic-event generator must produce byte-identical output for a seed on every platform and Swift
/// version, which `SystemRandomNumberGenerator` cannot and the standard library's `random(in:using:)` does not
/// promise (its bounded-sampling algorithm is an implementation detail). So bounded values are derived here.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private(set) var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 finaliser on its own: a stateless hash, used to derive per-user attributes from an index so
    /// they need no table and stay identical wherever the user appears.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<upperBound` by Lemire's multiply-high reduction; the bias (at most upperBound / 2^64) is
    /// irrelevant for synthetic data and the method is stable across platforms. `upperBound` must be positive.
    @inline(__always)
    mutating func next(upperBound: UInt64) -> UInt64 {
        upperBound.multipliedFullWidth(by: next()).high
    }

    /// A value in `0..<upperBound` as `Int`.
    @inline(__always)
    mutating func nextInt(_ upperBound: Int) -> Int {
        Int(truncatingIfNeeded: next(upperBound: UInt64(upperBound)))
    }

    /// A uniformly distributed `Double` in `0..<1` with 53 random bits.
    @inline(__always)
    mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}
