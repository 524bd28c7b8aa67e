#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One TCP connection to a Redis server, used synchronously from one thread at a time (``RedisClient`` owns it
/// on a serial queue).
///
/// The socket is non-blocking and every wait goes through `poll(2)` with a deadline, so a server that stops
/// answering costs at most the timeout, never a hung thread. Commands are pipelined: ``execute(_:timeout:)``
/// writes all of them in one go and then reads one reply per command. After a connection or protocol error the
/// connection is closed and must be replaced; an error *reply* (`-ERR`) is returned as a value and leaves it usable.
final class RedisConnection {
    let endpoint: RedisEndpoint
    private var fd: Int32
    private var parser: RESPParser
    private var scratch: [UInt8]

    /// Connects, then authenticates (`AUTH`, when a password is set) and selects the database.
    init(endpoint: RedisEndpoint, connectTimeoutMs: Int, limits: RESPParser.Limits = .init()) throws(RedisError) {
        self.endpoint = endpoint
        self.parser = RESPParser(limits: limits)
        self.scratch = [UInt8](repeating: 0, count: 256 * 1024)
        self.fd = try Self.connect(host: endpoint.host, port: endpoint.port, timeoutMs: connectTimeoutMs)
        do throws(RedisError) {
            var setup: [RedisCommand] = []
            if let password = endpoint.password {
                setup.append(RedisCommand("AUTH", endpoint.username.map { [$0, password] } ?? [password]))
            }
            if endpoint.database != 0 { setup.append(RedisCommand("SELECT", [String(endpoint.database)])) }
            guard !setup.isEmpty else { return }
            let replies = try execute(setup, timeoutMs: connectTimeoutMs)
            for (command, reply) in zip(setup, replies) {
                if case .error(let message) = reply {
                    if command.name == "AUTH" || message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS") {
                        throw RedisError(.authentication, "\(Self.firstWord(message)) (AUTH for \(endpoint.username ?? "the default user") at \(endpoint))")
                    }
                    throw RedisError(.server, "\(command.name) failed: \(message)")
                }
            }
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    var isOpen: Bool { fd >= 0 }

    func close() {
        if fd >= 0 {
            closeSocket(fd)
            fd = -1
        }
    }

    /// Sends every command, then reads one reply per command. `timeoutMs` bounds each wait for the socket.
    func execute(_ commands: [RedisCommand], timeoutMs: Int) throws(RedisError) -> [RESPValue] {
        if commands.count == 1 { return try execute(encoded: commands[0].encoded, replies: 1, timeoutMs: timeoutMs) }
        var joined: [UInt8] = []
        joined.reserveCapacity(commands.reduce(0) { $0 + $1.encoded.count })
        for command in commands { joined.append(contentsOf: command.encoded) }
        return try execute(encoded: joined, replies: commands.count, timeoutMs: timeoutMs)
    }

    /// Sends commands already encoded back to back (``RedisPipeline``), then reads `replies` replies.
    func execute(encoded: [UInt8], replies count: Int, timeoutMs: Int) throws(RedisError) -> [RESPValue] {
        guard fd >= 0 else { throw RedisError(.connection, "not connected") }
        do {
            try write(encoded, timeoutMs: timeoutMs)
            var replies: [RESPValue] = []
            replies.reserveCapacity(count)
            while replies.count < count {
                let reply = try readReply(timeoutMs: timeoutMs)
                if case .push = reply { continue }  // out-of-band (RESP3 client tracking): not an answer
                replies.append(reply)
            }
            return replies
        } catch {
            close()
            throw error
        }
    }

    /// Sends one stream read (`XREADGROUP`) and reads its reply through the parser's fast path: the entries
    /// without a reply tree when the reply has the usual shape, else the reply as a value (an error, a null
    /// after a `BLOCK` timeout, another shape), which the caller reads as usual.
    func executeStreamRead(_ command: RedisCommand, field: [UInt8], timeoutMs: Int) throws(RedisError) -> RedisStreamRead {
        guard fd >= 0 else { throw RedisError(.connection, "not connected") }
        do {
            try write(command.encoded, timeoutMs: timeoutMs)
            while true {
                switch parser.nextStreamRead(field: field) {
                case .entries(let batch):
                    return .entries(batch)
                case .other:
                    let reply = try readReply(timeoutMs: timeoutMs)
                    if case .push = reply { continue }  // out-of-band (RESP3 client tracking): not an answer
                    return .reply(reply)
                case .needMore:
                    try receive(timeoutMs: timeoutMs)
                }
            }
        } catch {
            close()
            throw error
        }
    }

    private func readReply(timeoutMs: Int) throws(RedisError) -> RESPValue {
        while true {
            do {
                if let value = try parser.next() { return value }
            } catch {
                throw RedisError(.protocolViolation, error.description)
            }
            try receive(timeoutMs: timeoutMs)
        }
    }

    /// Waits for bytes and hands what arrives to the parser.
    private func receive(timeoutMs: Int) throws(RedisError) {
        try waitFor(Int16(POLLIN), timeoutMs: timeoutMs, doing: "waiting for a reply")
        let received = scratch.withUnsafeMutableBytes { buffer in
            recv(fd, buffer.baseAddress, buffer.count, 0)
        }
        if received > 0 {
            scratch.withUnsafeBytes { parser.append(UnsafeRawBufferPointer(rebasing: $0[0..<received])) }
        } else if received == 0 {
            throw RedisError(.connection, "\(endpoint) closed the connection")
        } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
            throw RedisError(.connection, "reading from \(endpoint): \(String(cString: strerror(errno)))")
        }
    }

    private func write(_ bytes: [UInt8], timeoutMs: Int) throws(RedisError) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                send(fd, buffer.baseAddress! + written, buffer.count - written, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                written += n
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try waitFor(Int16(POLLOUT), timeoutMs: timeoutMs, doing: "sending")
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                throw RedisError(.connection, "writing to \(endpoint): \(String(cString: strerror(errno)))")
            }
        }
    }

    private func waitFor(_ events: Int16, timeoutMs: Int, doing what: String) throws(RedisError) {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let ready = poll(&descriptor, 1, Int32(clamping: timeoutMs))
            if ready > 0 { return }  // readable, writable, or hung up: the next call says which
            if ready == 0 { throw RedisError(.connection, "timed out after \(timeoutMs) ms \(what) (\(endpoint))") }
            if errno != EINTR { throw RedisError(.connection, "poll: \(String(cString: strerror(errno)))") }
        }
    }

    private static func connect(host: String, port: Int, timeoutMs: Int) throws(RedisError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw RedisError(.connection, "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | socketCloseOnExec, info.pointee.ai_protocol)
            guard fd >= 0 else {
                lastError = String(cString: strerror(errno))
                continue
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if connectSocket(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            if errno == EINPROGRESS {
                var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                var ready: Int32
                repeat { ready = poll(&descriptor, 1, Int32(clamping: timeoutMs)) } while ready < 0 && errno == EINTR
                if ready > 0 {
                    var socketError: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length)
                    if socketError == 0 { return fd }
                    lastError = String(cString: strerror(socketError))
                } else {
                    lastError = ready == 0 ? "timed out after \(timeoutMs) ms" : String(cString: strerror(errno))
                }
            } else {
                lastError = String(cString: strerror(errno))
            }
            closeSocket(fd)
        }
        throw RedisError(.connection, "cannot connect to \(host):\(port): \(lastError)")
    }

    private static func firstWord(_ message: String) -> String {
        // WRONGPASS/NOAUTH replies describe the failure without echoing the password; keep them short anyway.
        String(message.prefix(160))
    }
}

/// `close(2)`, named apart from the class's own `close()`.
private func closeSocket(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #elseif canImport(Musl)
    _ = Musl.close(fd)
    #elseif canImport(Darwin)
    _ = Darwin.close(fd)
    #endif
}

/// `connect(2)`, named apart from the class's static `connect`.
private func connectSocket(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    #if canImport(Glibc)
    Glibc.connect(fd, address, length)
    #elseif canImport(Musl)
    Musl.connect(fd, address, length)
    #elseif canImport(Darwin)
    Darwin.connect(fd, address, length)
    #endif
}

#if canImport(Darwin)
private let socketCloseOnExec: Int32 = 0
#else
private let socketCloseOnExec = Int32(SOCK_CLOEXEC.rawValue)
#endif
