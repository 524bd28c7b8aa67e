/// CRC-32C (Castagnoli, the iSCSI polynomial `0x1EDC6F41`, reflected `0x82F63B78`), in software.
///
/// Every spool record carries one, so a torn or corrupt record is detected on open. Slicing-by-8: eight
/// 256-entry tables let the loop fold eight input bytes per step instead of one (about 1.5 GB/s in a release
/// build here, so checking a 1 MiB record costs well under a millisecond). CRC-32C rather than zlib's CRC-32:
/// it detects more error patterns in the record sizes the spool writes, and it is what iSCSI, ext4 and Kafka use.
public enum CRC32C {
    /// The checksum of `bytes`, continuing from `crc` (pass the result of an earlier call to checksum data that
    /// arrives in pieces; start with 0).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var c = ~crc
        guard var p = bytes.baseAddress, bytes.count > 0 else { return crc }
        var remaining = bytes.count
        Tables.shared.withUnsafeBufferPointer { t in
            // Byte steps until the pointer is 8-byte aligned, then 8 bytes per step.
            while remaining > 0 && Int(bitPattern: p) & 7 != 0 {
                c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                p += 1
                remaining -= 1
            }
            while remaining >= 8 {
                let word = UInt64(littleEndian: p.load(as: UInt64.self))
                let low = UInt32(truncatingIfNeeded: word) ^ c
                let high = UInt32(truncatingIfNeeded: word >> 32)
                c = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                p += 8
                remaining -= 8
            }
            while remaining > 0 {
                c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                p += 1
                remaining -= 1
            }
        }
        return ~c
    }

    /// The checksum of `bytes`, continuing from `crc`.
    public static func checksum(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: crc) }
    }

    /// Table `k` maps a byte to its CRC contribution `k` bytes further along; table 0 is the classic one.
    private enum Tables {
        static let shared: [UInt32] = {
            var tables = [UInt32](repeating: 0, count: 8 * 256)
            for n in 0..<256 {
                var c = UInt32(n)
                for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
                tables[n] = c
            }
            for n in 0..<256 {
                var c = tables[n]
                for k in 1..<8 {
                    c = tables[Int(c & 0xFF)] ^ (c >> 8)
                    tables[k * 256 + n] = c
                }
            }
            return tables
        }()
    }
}
