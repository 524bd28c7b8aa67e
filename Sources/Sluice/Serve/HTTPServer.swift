#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Limits and timeouts of the HTTP listener.
public struct HTTPServerSettings: Sendable, Equatable {
    /// The largest request body accepted, in bytes.
    public var maxBodyBytes: Int
    /// Connections served at once; further ones wait in the kernel's accept queue until one closes.
    public var maxConnections: Int
    /// A request must arrive whole (head and body) within this many milliseconds of its first byte; a client
    /// that trickles bytes (slow loris) gets 408 and is disconnected.
    public var readTimeoutMs: Int
    /// A keep-alive connection with no request in progress is closed after this many milliseconds.
    public var idleTimeoutMs: Int
    /// Bytes of request line plus header fields.
    public var maxHeaderBytes: Int
    /// Header fields per request.
    public var maxHeaderCount: Int
    /// Bytes of request bodies held by all connections together; a body that does not fit waits up to
    /// `bodyBudgetWaitMs`, then is answered 503 with `Retry-After` without being read.
    public var maxInFlightBodyBytes: Int
    /// How long a request waits for room in `maxInFlightBodyBytes`.
    public var bodyBudgetWaitMs: Int

    /// Creates settings; the defaults match the `serve` configuration's.
    public init(maxBodyBytes: Int = 4 * 1024 * 1024, maxConnections: Int = 1024, readTimeoutMs: Int = 30_000,
                idleTimeoutMs: Int = 60_000, maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100,
                maxInFlightBodyBytes: Int = 256 * 1024 * 1024, bodyBudgetWaitMs: Int = 1000) {
        self.maxBodyBytes = maxBodyBytes
        self.maxConnections = maxConnections
        self.readTimeoutMs = readTimeoutMs
        self.idleTimeoutMs = idleTimeoutMs
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxInFlightBodyBytes = maxInFlightBodyBytes
        self.bodyBudgetWaitMs = bodyBudgetWaitMs
    }
}

/// Who sent a request: the TCP peer (before any `X-Forwarded-For` interpretation).
public struct HTTPClientInfo: Sendable, Equatable {
    /// The peer's numeric address (`127.0.0.1`, `::1`).
    public var address: String
}

/// A small HTTP/1.1 server on POSIX sockets: one thread accepts, one thread per connection reads, parses and
/// writes, and the request handler runs as a Swift task the connection thread waits for.
///
/// Thread-per-connection keeps every connection independent (a slow client stalls only its own thread) and
/// makes timeouts plain `poll` deadlines; `maxConnections` bounds the threads, `maxBodyBytes` one body and
/// `maxInFlightBodyBytes` all bodies held at once (see ``BodyBudget``). Shutdown is graceful: ``beginShutdown()`` stops
/// accepting, closes idle keep-alive connections, lets requests in flight finish (their answers carry
/// `Connection: close`), and ``waitUntilConnectionsClose(timeout:)`` returns once none is left.
public final class HTTPServer: Sendable {
    /// Answers one request.
    public typealias Handler = @Sendable (HTTPServerRequest, HTTPClientInfo) async -> HTTPServerResponse

    /// The address it is bound to (with the real port when 0 was asked for).
    public let boundAddress: ListenAddress
    let settings: HTTPServerSettings
    let handler: Handler
    let listener: Int32
    let stopping = Atomic<Bool>(false)
    let openConnections = Atomic<Int>(0)
    let stats: HTTPServerStats
    let bodyBudget: BodyBudget

    /// Binds and listens on `address`; call ``start()`` to begin accepting.
    public init(address: ListenAddress, settings: HTTPServerSettings, stats: HTTPServerStats = HTTPServerStats(),
                handler: @escaping Handler) throws(ServeError) {
        self.settings = settings
        self.handler = handler
        self.stats = stats
        bodyBudget = BodyBudget(limit: settings.maxInFlightBodyBytes)
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServeError("cannot create a socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var bound = address
        let result: Int32
        if address.family == AF_INET6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = address.port.bigEndian
            inet_pton(AF_INET6, address.numericHost, &addr.sin6_addr)
            result = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = address.port.bigEndian
            inet_pton(AF_INET, address.numericHost, &addr.sin_addr)
            result = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ServeError("cannot listen on \(address): \(reason)")
        }
        guard listen(fd, 1024) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ServeError("cannot listen on \(address): \(reason)")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        bound.port = withUnsafePointer(to: &storage) { pointer in
            if address.family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        boundAddress = bound
        listener = fd
    }

    /// Starts the accept thread.
    public func start() {
        let thread = Thread { [self] in
            Self.blockTerminationSignals()
            acceptLoop()
        }
        thread.name = "sluice-accept"
        thread.start()
    }

    /// Stops accepting and asks every connection to close once its current request (if any) is answered.
    public func beginShutdown() {
        stopping.store(true, ordering: .releasing)
    }

    /// True once ``beginShutdown()`` was called.
    public var isShuttingDown: Bool { stopping.load(ordering: .acquiring) }

    /// Connections open right now.
    public var connectionCount: Int { openConnections.load(ordering: .relaxed) }

    /// Bytes of request bodies the connections hold right now (reserved in the `maxInFlightBodyBytes` budget).
    public var bodyBytesInFlight: Int { bodyBudget.inUse }

    /// Waits until every connection has closed, or `timeout` passed; returns whether all closed.
    @discardableResult
    public func waitUntilConnectionsClose(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while openConnections.load(ordering: .acquiring) > 0 {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// libdispatch reads SIGINT/SIGTERM for the CLI's signal sources (through signalfd on Linux), which only
    /// sees a signal that every thread blocks: one delivered to a thread that does not would meet the ignored
    /// disposition and vanish. So these threads block them, as libdispatch's own workers do.
    static func blockTerminationSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    private func acceptLoop() {
        defer { close(listener) }
        while !isShuttingDown {
            // At the limit, leave new connections in the kernel's queue (they are not refused, only delayed).
            if openConnections.load(ordering: .acquiring) >= settings.maxConnections {
                usleep(2_000)
                continue
            }
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &length) }
            }
            guard fd >= 0 else {
                if errno == EMFILE || errno == ENFILE { usleep(10_000) }
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let peer = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { ListenAddress.numericHost($0) } } ?? "unknown"
            openConnections.add(1, ordering: .acquiringAndReleasing)
            stats.connectionOpened()
            let connection = HTTPConnection(fd: fd, client: HTTPClientInfo(address: peer), server: self)
            let thread = Thread {
                Self.blockTerminationSignals()
                connection.run()
                self.openConnections.subtract(1, ordering: .acquiringAndReleasing)
                self.stats.connectionClosed()
            }
            thread.stackSize = 512 * 1024
            thread.name = "sluice-http"
            thread.start()
        }
    }
}
