/// Why a request could not be read; the connection answers with `status` and closes, because after a framing
/// error nothing on the connection can be trusted to start where the next request starts.
struct HTTPParseError: Error, Equatable, CustomStringConvertible {
    /// 400 malformed, 413 body over the limit, 414 request line too long, 431 header too large or too many,
    /// 501 unsupported transfer coding, 505 unsupported HTTP version.
    var status: Int
    /// What was wrong, for the client and the operator.
    var reason: String

    var description: String { "\(status): \(reason)" }
}

/// Bounds every request must respect; exceeding one is an error, never a larger buffer.
struct HTTPParserLimits: Sendable, Equatable {
    /// Request line plus header fields (and chunked trailers), in bytes.
    var maxHeaderBytes = 16 * 1024
    /// Header fields per request.
    var maxHeaderCount = 100
    /// The body as received (Content-Length, or the sum of the chunks).
    var maxBodyBytes = 4 * 1024 * 1024
    /// A chunk-size line (hex digits and extensions).
    var maxChunkLineBytes = 1024
}

/// An incremental HTTP/1.0 and 1.1 request parser: feed it bytes as they arrive, take requests out.
///
/// A small state machine (request line -> header fields -> body by Content-Length or chunks -> trailers) over one
/// buffer it owns. It reports the head as soon as it is complete (so the server can refuse an oversized body or
/// send `100 Continue` before the body is sent), then the whole request. Framing is strict where leniency lets
/// requests be smuggled past a proxy in front: Content-Length together with Transfer-Encoding, differing
/// Content-Length values, a transfer coding other than `chunked`, whitespace before a header's colon and
/// obsolete line folding are errors. Bare LF line endings are accepted, as nginx does.
struct HTTPRequestParser {
    /// What the parser produced from the bytes it has.
    enum Event {
        /// The head is complete (the body is still to come); `body` is empty.
        case head(HTTPServerRequest)
        /// A whole request.
        case request(HTTPServerRequest)
    }

    private enum State {
        case requestLine
        case headers
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
    }

    let limits: HTTPParserLimits
    private var state = State.requestLine
    private var buffer: [UInt8] = []
    private var position = 0
    private var request = HTTPServerRequest(method: "", path: "")
    private var headerBytes = 0

    init(limits: HTTPParserLimits) {
        self.limits = limits
    }

    /// True when no part of a request has been received: a connection closing now loses nothing.
    var isIdle: Bool {
        if case .requestLine = state { return position == buffer.count || buffer[position...].allSatisfy { $0 == 0x0D || $0 == 0x0A } }
        return false
    }

    /// The body bytes the request being read will hold: the whole Content-Length once the head is read; for a
    /// chunked body, what arrived plus the rest of the current chunk. 0 between requests and while reading a head.
    var bodyBytesNeeded: Int {
        switch state {
        case .requestLine, .headers: 0
        case .fixedBody(let remaining), .chunkData(let remaining): request.body.count + remaining
        case .chunkSize, .chunkDataEnd, .trailers: request.body.count
        }
    }

    /// Adds received bytes.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if position > 0 && position >= buffer.count / 2 {
            buffer.removeSubrange(0..<position)
            position = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next event the buffered bytes complete, or nil when more bytes are needed.
    mutating func next() throws(HTTPParseError) -> Event? {
        while true {
            switch state {
            case .requestLine:
                // RFC 9112 2.2: ignore empty lines before a request line.
                while position < buffer.count && (buffer[position] == 0x0D || buffer[position] == 0x0A) { position += 1 }
                guard let line = try takeLine(limit: limits.maxHeaderBytes, tooLong: HTTPParseError(status: 414, reason: "request line longer than \(limits.maxHeaderBytes) bytes")) else {
                    // Reject a line that cannot be a request before it ends: the rest of a body longer than its
                    // Content-Length says (`}]}`...) would otherwise wait for the read timeout.
                    if let bad = buffer[position...].firstIndex(where: { !Self.isTokenByte($0) }), buffer[bad] != 0x20 {
                        throw HTTPParseError(status: 400, reason: "malformed request line (expected METHOD SP TARGET SP HTTP/1.1)")
                    }
                    return nil
                }
                headerBytes = line.count + 2
                request = try Self.requestLine(line)
                state = .headers
            case .headers:
                guard let line = try takeLine(limit: limits.maxHeaderBytes - headerBytes, tooLong: headersTooLarge) else { return nil }
                headerBytes += line.count + 2
                if headerBytes > limits.maxHeaderBytes { throw headersTooLarge }
                if line.isEmpty {
                    try startBody()
                    return .head(request)
                }
                guard request.headers.count < limits.maxHeaderCount else {
                    throw HTTPParseError(status: 431, reason: "more than \(limits.maxHeaderCount) header fields")
                }
                request.headers.append(try Self.headerField(line))
            case .fixedBody(let remaining):
                let available = min(remaining, buffer.count - position)
                request.body.append(contentsOf: buffer[position..<position + available])
                position += available
                if available < remaining {
                    state = .fixedBody(remaining: remaining - available)
                    return nil
                }
                return finish()
            case .chunkSize:
                guard let line = try takeLine(limit: limits.maxChunkLineBytes, tooLong: HTTPParseError(status: 400, reason: "chunk-size line longer than \(limits.maxChunkLineBytes) bytes")) else { return nil }
                let size = try Self.chunkSize(line)
                if size == 0 {
                    state = .trailers
                } else {
                    guard size <= limits.maxBodyBytes - request.body.count else { throw bodyTooLarge }
                    request.body.reserveCapacity(request.body.count + size)
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let available = min(remaining, buffer.count - position)
                request.body.append(contentsOf: buffer[position..<position + available])
                position += available
                if available < remaining {
                    state = .chunkData(remaining: remaining - available)
                    return nil
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                guard let line = try takeLine(limit: 2, tooLong: HTTPParseError(status: 400, reason: "chunk data longer than its chunk-size")) else { return nil }
                guard line.isEmpty else { throw HTTPParseError(status: 400, reason: "chunk data longer than its chunk-size") }
                state = .chunkSize
            case .trailers:
                // Trailer fields are read (bounded like the head) and ignored: no endpoint uses them.
                guard let line = try takeLine(limit: limits.maxHeaderBytes - headerBytes, tooLong: headersTooLarge) else { return nil }
                headerBytes += line.count + 2
                if headerBytes > limits.maxHeaderBytes { throw headersTooLarge }
                if line.isEmpty { return finish() }
                _ = try Self.headerField(line)
            }
        }
    }

    private var headersTooLarge: HTTPParseError {
        HTTPParseError(status: 431, reason: "request head larger than \(limits.maxHeaderBytes) bytes")
    }

    private var bodyTooLarge: HTTPParseError {
        HTTPParseError(status: 413, reason: "body larger than \(limits.maxBodyBytes) bytes (serve.maxBodyBytes)")
    }

    private mutating func finish() -> Event {
        let complete = request
        request = HTTPServerRequest(method: "", path: "")
        state = .requestLine
        return .request(complete)
    }

    /// Takes one line (without its CRLF or LF) when a whole one is buffered; throws when more than `limit`
    /// bytes arrive without a line end, so a client cannot make the buffer grow without bound.
    private mutating func takeLine(limit: Int, tooLong: HTTPParseError) throws(HTTPParseError) -> ArraySlice<UInt8>? {
        let searchEnd = min(buffer.count, position + max(0, limit) + 2)
        guard let newline = buffer[position..<searchEnd].firstIndex(of: 0x0A) else {
            if buffer.count - position > max(0, limit) + 1 { throw tooLong }
            return nil
        }
        var end = newline
        if end > position && buffer[end - 1] == 0x0D { end -= 1 }
        let line = buffer[position..<end]
        position = newline + 1
        if line.count > max(0, limit) { throw tooLong }
        if line.contains(0x0D) { throw HTTPParseError(status: 400, reason: "bare CR in the request head") }
        return line
    }

    /// Decides how the body is framed, from the complete head.
    private mutating func startBody() throws(HTTPParseError) {
        var lengths: [Substring] = []
        var codings: [Substring] = []
        for (name, value) in request.headers {
            let lower = name.lowercased()
            if lower == "content-length" {
                lengths += value[...].split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces }
            } else if lower == "transfer-encoding" {
                codings += value.lowercased()[...].split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
            }
        }
        if !codings.isEmpty {
            guard lengths.isEmpty else {
                throw HTTPParseError(status: 400, reason: "both Content-Length and Transfer-Encoding (a request must have one framing)")
            }
            guard request.minorVersion >= 1 else { throw HTTPParseError(status: 400, reason: "Transfer-Encoding in an HTTP/1.0 request") }
            guard codings == ["chunked"] else {
                throw HTTPParseError(status: 501, reason: "unsupported Transfer-Encoding \"\(codings.joined(separator: ", "))\" (only chunked)")
            }
            state = .chunkSize
            return
        }
        guard let first = lengths.first else {
            state = .fixedBody(remaining: 0)
            return
        }
        guard lengths.allSatisfy({ $0 == first }) else { throw HTTPParseError(status: 400, reason: "conflicting Content-Length values") }
        guard !first.isEmpty, first.utf8.count <= 18, first.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(first) else {
            throw HTTPParseError(status: 400, reason: "Content-Length must be a decimal number of bytes")
        }
        guard length <= limits.maxBodyBytes else { throw bodyTooLarge }
        request.body.reserveCapacity(length)
        state = .fixedBody(remaining: length)
    }

    static func requestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPServerRequest {
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, parts[0].allSatisfy(isTokenByte) else {
            throw HTTPParseError(status: 400, reason: "malformed request line (expected METHOD SP TARGET SP HTTP/1.1)")
        }
        let minor: Int
        switch String(decoding: parts[2], as: UTF8.self) {
        case "HTTP/1.1": minor = 1
        case "HTTP/1.0": minor = 0
        case let version where version.hasPrefix("HTTP/") && version.utf8.count == 8:
            throw HTTPParseError(status: 505, reason: "HTTP version \(version.dropFirst(5)) is not supported (HTTP/1.0 and 1.1 are)")
        default:
            throw HTTPParseError(status: 400, reason: "malformed request line (expected METHOD SP TARGET SP HTTP/1.1)")
        }
        guard parts[1].allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else {
            throw HTTPParseError(status: 400, reason: "malformed request target")
        }
        var target = String(decoding: parts[1], as: UTF8.self)
        if target.hasPrefix("http://") || target.hasPrefix("https://") {
            // Absolute form (sent to proxies): keep the path and query.
            let afterScheme = target[target.index(target.firstIndex(of: "/")!, offsetBy: 2)...]
            target = afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? "/"
        }
        guard target.hasPrefix("/") || target == "*" else {
            throw HTTPParseError(status: 400, reason: "malformed request target (expected a path starting with /)")
        }
        let path: Substring, query: Substring
        if let mark = target.firstIndex(of: "?") {
            path = target[..<mark]
            query = target[target.index(after: mark)...]
        } else {
            path = target[...]
            query = ""
        }
        return HTTPServerRequest(method: String(decoding: parts[0], as: UTF8.self), path: String(path), query: String(query),
                           minorVersion: minor)
    }

    static func headerField(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (name: String, value: String) {
        guard let first = line.first, first != 0x20, first != 0x09 else {
            throw HTTPParseError(status: 400, reason: "obsolete header line folding is not accepted")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
              line[line.startIndex..<colon].allSatisfy(isTokenByte) else {
            throw HTTPParseError(status: 400, reason: "malformed header field (expected NAME: VALUE)")
        }
        var value = line[(colon + 1)...]
        while let b = value.first, b == 0x20 || b == 0x09 { value = value.dropFirst() }
        while let b = value.last, b == 0x20 || b == 0x09 { value = value.dropLast() }
        guard value.allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 || $0 >= 0x80 }) else {
            throw HTTPParseError(status: 400, reason: "control character in a header value")
        }
        return (String(decoding: line[line.startIndex..<colon], as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    static func chunkSize(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
        var digits = line
        if let semicolon = line.firstIndex(of: UInt8(ascii: ";")) { digits = line[line.startIndex..<semicolon] }
        while let b = digits.last, b == 0x20 || b == 0x09 { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.count <= 15 else { throw HTTPParseError(status: 400, reason: "malformed chunk size") }
        var size = 0
        for byte in digits {
            guard let value = HTTPServerRequest.hexValue(byte) else { throw HTTPParseError(status: 400, reason: "malformed chunk size") }
            size = size << 4 | Int(value)
        }
        return size
    }

    /// RFC 9110 token characters (method and header names).
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
