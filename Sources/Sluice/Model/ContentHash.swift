/// A fast 64-bit hash of bytes, eight bytes per step, for deriving UUIDs of events that carry none.
///
/// Not cryptographic: it only has to make accidental collisions between different events improbable. Retried
/// SDK batches repeat events byte for byte, so equal content must (and does) give equal hashes.
enum ContentHash {
    static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> UInt64 {
        var h = seed ^ UInt64(bytes.count) &* 0xFF51_AFD7_ED55_8CCD
        var i = 0
        let n = bytes.count
        guard let base = bytes.baseAddress else { return mix(h) }
        while i + 8 <= n {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ mix(word)) &* 0x9FB2_1C65_1E98_DF25
            h = h << 27 | h >> 37
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
            shift += 8
            i += 1
        }
        h ^= mix(tail ^ 0xA5A5)
        return mix(h)
    }

    /// Combines a running hash with more bytes.
    static func combine(_ h: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        hash(bytes, seed: h)
    }

    /// The splitmix64 finalizer: every input bit affects every output bit.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
