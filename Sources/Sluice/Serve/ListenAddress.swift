#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A `HOST:PORT` to listen on (`127.0.0.1:8080`, `[::1]:8080`, `0.0.0.0:8080`, `localhost:8080`; port 0 picks a
/// free port), resolved to a socket address.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The host as written (without brackets).
    public var host: String
    /// The port (0: the kernel picks one when binding).
    public var port: UInt16
    /// The resolved numeric address.
    public var numericHost: String
    /// AF_INET or AF_INET6.
    var family: Int32

    /// Parses and resolves `text`; throws a message naming what is wrong.
    public init(_ text: String) throws(ServeError) {
        var hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ServeError("listen address \"\(text)\": expected [IPv6]:PORT")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ServeError("listen address \"\(text)\": expected HOST:PORT (e.g. 127.0.0.1:8080)")
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { throw ServeError("listen address \"\(text)\": write an IPv6 address in brackets, [::1]:8080") }
        }
        if hostPart.isEmpty { hostPart = "0.0.0.0" }
        guard let port = UInt16(portPart) else {
            throw ServeError("listen address \"\(text)\": the port must be a number from 0 to 65535")
        }
        self.host = String(hostPart)
        self.port = port
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &result)
        guard status == 0, let first = result else {
            throw ServeError("listen address \"\(text)\": cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        // Prefer IPv4 for names like localhost that resolve to both.
        var chosen = first
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if entry.pointee.ai_family == AF_INET { chosen = entry; break }
            cursor = entry.pointee.ai_next
        }
        family = chosen.pointee.ai_family
        numericHost = Self.numericHost(chosen.pointee.ai_addr) ?? host
    }

    /// `HOST:PORT`, IPv6 in brackets.
    public var description: String { family == AF_INET6 ? "[\(numericHost)]:\(port)" : "\(numericHost):\(port)" }

    /// True for 127.0.0.0/8 and ::1: only this machine can connect.
    public var isLoopback: Bool {
        if family == AF_INET6 { return numericHost == "::1" }
        return numericHost.hasPrefix("127.")
    }

    private static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func numericHost(_ address: UnsafePointer<sockaddr>?) -> String? {
        guard let address else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                var addr = v4.pointee.sin_addr
                return inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count)).map { _ in Self.string(buffer) }
            }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                var addr = v6.pointee.sin6_addr
                return inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count)).map { _ in Self.string(buffer) }
            }
        default:
            return nil
        }
    }
}

/// A problem starting or configuring the relay, for a person.
public struct ServeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public let message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
