/// Groups dead-letter reasons into a few stable classes for `deadLetteredByReason`, the way `filteredByReason`
/// groups filter reasons: a 401 from every request is one class, "HTTP 401 Unauthorized", not one entry per
/// response body or request ID.
///
/// The full reason still goes into each dead-letter record and, the first time its class appears, onto standard
/// error; the class only has to say *why* at a glance and keep the summary small.
enum DeadLetterReason {
    /// At most this many classes per destination; further ones are counted under ``otherClass``.
    static let maxClasses = 32
    /// Where reasons beyond ``maxClasses`` are counted.
    static let otherClass = "other reasons"
    /// Longest class text kept.
    static let maxLength = 160

    /// The class of `reason`:
    /// - a reason naming an HTTP status becomes `HTTP <status> <phrase>` (the response body, attempt counts and
    ///   timings are detail), prefixed with `abandoned: ` when the delivery was given up at a drain deadline;
    /// - any other reason is kept as written, with quoted values shortened to `"…"` and digit runs to `N`, so
    ///   batch keys, sizes and durations do not make each reason unique.
    static func classify(_ reason: String) -> String {
        let bytes = Array(reason.utf8)
        if let status = httpStatus(in: bytes) {
            let phrase = reasonPhrase(status).map { " " + $0 } ?? ""
            let prefix = reason.hasPrefix("abandoned") ? "abandoned: " : ""
            return "\(prefix)HTTP \(status)\(phrase)"
        }
        var out: [UInt8] = []
        out.reserveCapacity(min(bytes.count, maxLength))
        var i = 0
        while i < bytes.count && out.count < maxLength {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                // Skip to the closing quote (honouring escapes): the quoted value is data, not the reason.
                var j = i + 1
                while j < bytes.count && bytes[j] != UInt8(ascii: "\"") { j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1 }
                out.append(contentsOf: Array("\"…\"".utf8))
                i = j + 1
            } else if isDigit(byte) {
                while i < bytes.count && isDigit(bytes[i]) { i += 1 }
                out.append(UInt8(ascii: "N"))
            } else {
                out.append(byte)
                i += 1
            }
        }
        var text = String(decoding: out, as: UTF8.self)
        // "after 1 attempt" and "after 5 attempts" are one class (and "after N attempt" would read wrong).
        text = text.replacingOccurrences(of: "N attempt", with: "N attempts").replacingOccurrences(of: "N attemptss", with: "N attempts")
        if i < bytes.count { text += "…" }
        return text
    }

    /// The first `HTTP ddd` in `bytes` (three digits, not followed by another digit).
    static func httpStatus(in bytes: [UInt8]) -> Int? {
        let marker = Array("HTTP ".utf8)
        guard bytes.count >= marker.count + 3 else { return nil }
        for start in 0...(bytes.count - marker.count - 3) where bytes[start] == marker[0] {
            guard bytes[start..<start + marker.count].elementsEqual(marker) else { continue }
            let digits = bytes[(start + marker.count)..<(start + marker.count + 3)]
            guard digits.allSatisfy(isDigit) else { continue }
            let after = start + marker.count + 3
            if after < bytes.count && isDigit(bytes[after]) { continue }
            return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        return nil
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// The standard phrase of the statuses APIs answer with (RFC 9110), nil for others.
    static func reasonPhrase(_ status: Int) -> String? {
        switch status {
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 402: return "Payment Required"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 422: return "Unprocessable Content"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return nil
        }
    }
}

extension Accounting.DestinationCounts {
    /// Counts `n` dead-lettered events under `reasonClass` (or ``DeadLetterReason/otherClass`` once the map holds
    /// ``DeadLetterReason/maxClasses`` classes). Returns the class used and whether it is new in this run.
    mutating func countDeadLettered(_ n: Int, reasonClass: String) -> (reasonClass: String, isNew: Bool) {
        deadLettered += n
        var key = reasonClass
        if deadLetteredByReason[key] == nil && deadLetteredByReason.count >= DeadLetterReason.maxClasses {
            key = DeadLetterReason.otherClass
        }
        let isNew = deadLetteredByReason[key] == nil
        deadLetteredByReason[key, default: 0] += n
        return (key, isNew)
    }
}
