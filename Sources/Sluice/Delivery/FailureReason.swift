/// The sentences a failed delivery leaves in dead letters and summaries.
///
/// Every reason starts with what happened (`HTTP 413 Payload Too Large`, `connection refused`, `timed out`,
/// `abandoned: drain deadline passed`), then how many attempts were made, then details (the first bytes of the
/// response body, the last status seen): the first part is stable, so reasons can be grouped by it.
///
/// - `HTTP 400 Bad Request after 1 attempt (not retried): {"error":"..."}`
/// - `HTTP 503 Service Unavailable after 5 attempts: upstream down`
/// - `connection reset by peer after 3 attempts (last status: HTTP 503 Service Unavailable)`
/// - `timed out (no complete response within 2000 ms) after 2 attempts`
/// - `abandoned: drain deadline passed after 2 attempts (last: HTTP 429 Too Many Requests)`
enum FailureReason {
    /// `HTTP 429 Too Many Requests`; just `HTTP 599` for a status without a registered phrase.
    static func status(_ status: Int) -> String {
        guard let phrase = phrase(status) else { return "HTTP \(status)" }
        return "HTTP \(status) \(phrase)"
    }

    /// `1 attempt`, `3 attempts`.
    static func attempts(_ count: Int) -> String {
        count == 1 ? "1 attempt" : "\(count) attempts"
    }

    /// `<headline> after N attempts[ (note)][: detail]`.
    static func gaveUp(_ headline: String, attempts count: Int, note: String? = nil, detail: String = "") -> String {
        var reason = "\(headline) after \(attempts(count))"
        if let note { reason += " (\(note))" }
        if !detail.isEmpty { reason += ": " + detail }
        return reason
    }

    /// The reason phrases of RFC 9110 (and 429 of RFC 6585) for the statuses an API answers with.
    static func phrase(_ status: Int) -> String? {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 402: "Payment Required"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 407: "Proxy Authentication Required"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Payload Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 425: "Too Early"
        case 426: "Upgrade Required"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 451: "Unavailable For Legal Reasons"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        case 507: "Insufficient Storage"
        case 511: "Network Authentication Required"
        default: nil
        }
    }
}
