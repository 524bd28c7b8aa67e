#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP address or CIDR block (`10.0.0.0/8`, `192.168.1.7`, `::1`, `fd00::/8`): which peers are trusted
/// proxies whose `X-Forwarded-For` is believed.
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    let bytes: [UInt8]
    /// Leading bits that must match.
    let prefixLength: Int
    /// As written.
    public let description: String

    /// Parses an address or `ADDRESS/PREFIX`; nil when it is neither.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPNetwork.parse(String(parts[0])) else { return nil }
        let maximum = address.count * 8
        if parts.count == 2 {
            guard let prefix = Int(parts[1]), prefix >= 0, prefix <= maximum else { return nil }
            prefixLength = prefix
        } else {
            prefixLength = maximum
        }
        bytes = address
        description = text
    }

    /// True when `address` (numeric) lies in this network.
    public func contains(_ address: String) -> Bool {
        guard let other = IPNetwork.parse(address), other.count == bytes.count else { return false }
        var remaining = prefixLength
        for index in 0..<bytes.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if bytes[index] & mask != other[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// The address's bytes (4 or 16), or nil when it is not a numeric IP address.
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let raw = withUnsafeBytes(of: &v6) { Array($0) }
            // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is that IPv4 address.
            if raw[0..<10].allSatisfy({ $0 == 0 }) && raw[10] == 0xFF && raw[11] == 0xFF { return Array(raw[12...]) }
            return raw
        }
        return nil
    }

    /// The client behind a request from `peer`: without trusted proxies, the peer itself; when the peer is a
    /// trusted proxy, the right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries to the
    /// left of it were written by the client and cannot be believed).
    static func clientAddress(peer: String, forwardedFor: String?, trusted: [IPNetwork]) -> String {
        guard let forwardedFor, !trusted.isEmpty, trusted.contains(where: { $0.contains(peer) }) else { return peer }
        let hops = forwardedFor.split(separator: ",").map { String($0.trimmingSpaces) }.filter { !$0.isEmpty }
        for hop in hops.reversed() {
            guard IPNetwork.parse(hop) != nil else { return peer }  // garbage: believe nothing
            if !trusted.contains(where: { $0.contains(hop) }) { return hop }
        }
        return hops.first ?? peer
    }
}
