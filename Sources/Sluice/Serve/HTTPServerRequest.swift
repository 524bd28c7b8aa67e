/// One HTTP/1.x request as the relay's parser read it: the head, and the whole body (chunked bodies joined).
public struct HTTPServerRequest: Sendable {
    /// The method token as sent (`POST`, `GET`, `OPTIONS`, ...).
    public var method: String
    /// The path of the request target, without the query (percent-escapes kept).
    public var path: String
    /// The query string after `?`, without it; empty when there is none.
    public var query: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    /// Header fields in the order received; names as sent (look them up with ``header(_:)``).
    public var headers: [(name: String, value: String)]
    /// The body bytes as received (still compressed when the client compressed it).
    public var body: [UInt8]

    /// Creates a request; the parser builds these, tests and embedders may too.
    public init(method: String, path: String, query: String = "", minorVersion: Int = 1,
                headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.minorVersion = minorVersion
        self.headers = headers
        self.body = body
    }

    /// The first value of header `name` (case-insensitive), or nil.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.utf8.count == name.utf8.count && $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The first value of query parameter `name`, percent-decoded (`+` is a space), or nil.
    public func queryParameter(_ name: String) -> String? {
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if HTTPServerRequest.percentDecoded(parts[0]) == name {
                return parts.count > 1 ? HTTPServerRequest.percentDecoded(parts[1]) : ""
            }
        }
        return nil
    }

    /// Whether the connection may carry another request after this one (HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`).
    public var keepAlive: Bool {
        let tokens = (header("Connection") ?? "").lowercased().split(separator: ",").map { $0.trimmingSpaces }
        if tokens.contains("close") { return false }
        return minorVersion >= 1 || tokens.contains("keep-alive")
    }

    static func percentDecoded(_ text: Substring) -> String {
        guard text.contains(where: { $0 == "%" || $0 == "+" }) else { return String(text) }
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), utf8.count >= 2,
                      let high = HTTPServerRequest.hexValue(utf8[utf8.startIndex]),
                      let low = HTTPServerRequest.hexValue(utf8[utf8.startIndex + 1]) {
                bytes.append(high << 4 | low)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    var trimmingSpaces: Substring {
        var s = self
        while let first = s.first, first == " " || first == "\t" { s = s.dropFirst() }
        while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
        return s
    }
}

/// An answer the relay writes back.
public struct HTTPServerResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Header fields besides `Content-Length`, `Connection` and `Date`, which the server writes itself.
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: [UInt8]
    /// The route it answered, for the request metrics (`log_event`, `batch`, ...); `other` when none matched.
    public var route: String = "other"
    /// Close the connection after this response even if the client asked for keep-alive.
    public var closeConnection = false

    /// Creates a response.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response.
    public static func json(_ status: Int, _ body: String, headers: [(name: String, value: String)] = []) -> HTTPServerResponse {
        HTTPServerResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(body.utf8))
    }

    /// A JSON error response `{"success":false,"error":MESSAGE}`.
    public static func error(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) -> HTTPServerResponse {
        var writer = JSONWriter(capacity: message.utf8.count + 32)
        writer.appendRaw("{\"success\":false,\"error\":")
        writer.appendString(message)
        writer.appendByte(UInt8(ascii: "}"))
        return HTTPServerResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: writer.bytes)
    }

    /// The head and body as bytes on the wire.
    func serialized(keepAlive: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(HTTPServerResponse.reason(status))\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n"
        head += keepAlive ? "" : "Connection: close\r\n"
        head += "\r\n"
        var bytes = Array(head.utf8)
        bytes.append(contentsOf: body)
        return bytes
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }
}
