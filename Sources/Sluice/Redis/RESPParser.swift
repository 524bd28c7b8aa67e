/// A reply the server sent that does not follow RESP, or breaks one of the parser's limits.
struct RESPProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong, with the byte offset into the connection's reply stream.
    let message: String
    var description: String { "malformed Redis reply: \(message)" }
}

/// Parses RESP2 and RESP3 replies incrementally: feed it bytes as they arrive with ``append(_:)`` and take
/// whole replies with ``next()``.
///
/// A state machine, not a recursive descent: an aggregate whose elements have not all arrived stays on an
/// explicit stack with the elements parsed so far, and parsing resumes at the first element not yet complete,
/// so a large reply arriving in many reads is parsed once, not once per read. Every dimension is bounded (line
/// length, bulk length, element count, nesting depth, bytes per reply) so that a broken or hostile server
/// produces a ``RESPProtocolError`` rather than unbounded memory; after an error the parser (and the
/// connection that owns it) must be discarded.
struct RESPParser {
    /// The bounds the parser enforces.
    struct Limits: Sendable {
        /// Longest header or simple-string line, CRLF excluded.
        var maxLineBytes = 64 * 1024
        /// Longest bulk string (Redis's own `proto-max-bulk-len` default is 512 MB).
        var maxBulkBytes = 512 * 1024 * 1024
        /// Most elements in one aggregate.
        var maxElements = 1 << 24
        /// Deepest nesting of aggregates.
        var maxDepth = 32
        /// Most bytes one reply may span.
        var maxReplyBytes = 1024 * 1024 * 1024
    }

    private enum Aggregate { case array, map, set, push, attribute }

    private struct Frame {
        let kind: Aggregate
        var remaining: Int
        var items: [RESPValue]
    }

    let limits: Limits
    // Internal (not private) for the stream-reply fast path in RESPParser+StreamRead.swift, which reads the
    // buffer in place and consumes whole replies; nothing else touches them.
    var buffer: [UInt8] = []
    var offset = 0
    private var stack: [Frame] = []
    /// Where the reply being parsed started, counted over the whole stream (for the reply-size bound).
    private var replyStart = 0
    /// Bytes discarded from the front of `buffer` so far, so offsets in messages are stream offsets.
    var consumedBefore = 0
    /// How far the fast path's scan for the end of the current reply got (RESPParser+StreamRead.swift).
    var replyScan = ReplyScan()

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Bytes received but not yet part of a returned reply.
    var bufferedByteCount: Int { buffer.count - offset }

    /// True when a reply is partly parsed (some of its elements are complete, others have not arrived).
    var isInsideReply: Bool { !stack.isEmpty || bufferedByteCount > 0 }

    /// True while the general parser holds an aggregate open (then the fast path must not start a reply).
    var hasOpenAggregate: Bool { !stack.isEmpty }

    /// Adds bytes received from the server.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    /// Adds bytes received from the server.
    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete reply, or nil when more bytes are needed. Throws on a protocol violation; the
    /// parser is then unusable.
    mutating func next() throws(RESPProtocolError) -> RESPValue? {
        while true {
            if stack.isEmpty { replyStart = consumedBefore + offset }
            guard let value = try parseScalarOrOpen() else { return nil }
            // `value` is complete: hand it to the innermost open aggregate, closing every aggregate it fills.
            var completed: RESPValue? = value
            while let item = completed {
                guard !stack.isEmpty else { return item }
                stack[stack.count - 1].items.append(item)
                stack[stack.count - 1].remaining -= 1
                completed = nil
                if stack[stack.count - 1].remaining == 0 {
                    let frame = stack.removeLast()
                    if frame.kind == .attribute {
                        // RESP3 attributes annotate the reply that follows; nothing here uses them.
                        if stack.isEmpty { break } else { continue }
                    }
                    completed = Self.close(frame)
                }
            }
        }
    }

    private static func close(_ frame: Frame) -> RESPValue {
        switch frame.kind {
        case .array: return .array(frame.items)
        case .set: return .set(frame.items)
        case .push: return .push(frame.items)
        case .map, .attribute:
            var pairs: [(RESPValue, RESPValue)] = []
            pairs.reserveCapacity(frame.items.count / 2)
            var index = 0
            while index + 1 < frame.items.count {
                pairs.append((frame.items[index], frame.items[index + 1]))
                index += 2
            }
            return .map(pairs)
        }
    }

    /// Parses one element at `offset`: returns a complete scalar (or an empty or null aggregate), opens a
    /// frame for a non-empty aggregate and loops, or returns nil when the element has not fully arrived (the
    /// offset then stays where the element starts).
    private mutating func parseScalarOrOpen() throws(RESPProtocolError) -> RESPValue? {
        while true {
            guard offset < buffer.count else { return nil }
            guard let lineEnd = try findLineEnd(from: offset + 1) else { return nil }
            let marker = buffer[offset]
            let lineStart = offset + 1
            let next = lineEnd + 2
            if next - replyStart + consumedBefore > limits.maxReplyBytes {
                throw error("reply longer than \(limits.maxReplyBytes) bytes")
            }
            switch marker {
            case UInt8(ascii: "+"):
                offset = next
                return .simpleString(text(lineStart, lineEnd))
            case UInt8(ascii: "-"):
                offset = next
                return .error(text(lineStart, lineEnd))
            case UInt8(ascii: ":"):
                let value = try integer(lineStart, lineEnd)
                offset = next
                return .integer(value)
            case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
                let length = try integer(lineStart, lineEnd)
                if length == -1 && marker == UInt8(ascii: "$") {
                    offset = next
                    return .bulkString(nil)
                }
                guard length >= 0 else { throw error("negative string length \(length)") }
                guard length <= limits.maxBulkBytes else {
                    throw error("string of \(length) bytes exceeds the \(limits.maxBulkBytes)-byte limit")
                }
                let end = next + Int(length)
                if end + 2 - replyStart + consumedBefore > limits.maxReplyBytes {
                    throw error("reply longer than \(limits.maxReplyBytes) bytes")
                }
                guard end + 2 <= buffer.count else { return nil }
                guard buffer[end] == 13, buffer[end + 1] == 10 else {
                    throw error("string of \(length) bytes not followed by CRLF")
                }
                let bytes = Array(buffer[next..<end])
                offset = end + 2
                switch marker {
                case UInt8(ascii: "$"): return .bulkString(bytes)
                case UInt8(ascii: "!"): return .error(String(decoding: bytes, as: UTF8.self))
                default:
                    // Verbatim strings start with a three-letter format and a colon ("txt:").
                    guard bytes.count >= 4, bytes[3] == UInt8(ascii: ":") else {
                        throw error("verbatim string without its format prefix")
                    }
                    return .verbatimString(Array(bytes[4...]))
                }
            case UInt8(ascii: "*"), UInt8(ascii: "%"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "|"):
                let count = try integer(lineStart, lineEnd)
                offset = next
                if count == -1 && marker == UInt8(ascii: "*") { return .array(nil) }
                guard count >= 0 else { throw error("negative element count \(count)") }
                let isPairs = marker == UInt8(ascii: "%") || marker == UInt8(ascii: "|")
                guard count <= (isPairs ? limits.maxElements / 2 : limits.maxElements) else {
                    throw error("aggregate of \(count) elements exceeds the \(limits.maxElements)-element limit")
                }
                let kind: Aggregate = switch marker {
                case UInt8(ascii: "*"): .array
                case UInt8(ascii: "%"): .map
                case UInt8(ascii: "~"): .set
                case UInt8(ascii: ">"): .push
                default: .attribute
                }
                let elements = Int(count) * (isPairs ? 2 : 1)
                if elements == 0 {
                    if kind == .attribute { continue }
                    return Self.close(Frame(kind: kind, remaining: 0, items: []))
                }
                guard stack.count < limits.maxDepth else { throw error("nesting deeper than \(limits.maxDepth)") }
                // Reserve what the count promises only up to a bound: a count is a claim, the bytes are proof.
                var items: [RESPValue] = []
                items.reserveCapacity(min(elements, 4096))
                stack.append(Frame(kind: kind, remaining: elements, items: items))
            case UInt8(ascii: "_"):
                guard lineEnd == lineStart else { throw error("null with a payload") }
                offset = next
                return .null
            case UInt8(ascii: "#"):
                guard lineEnd == lineStart + 1 else { throw error("boolean must be #t or #f") }
                let value = buffer[lineStart]
                guard value == UInt8(ascii: "t") || value == UInt8(ascii: "f") else {
                    throw error("boolean must be #t or #f")
                }
                offset = next
                return .boolean(value == UInt8(ascii: "t"))
            case UInt8(ascii: ","):
                offset = next
                return .double(text(lineStart, lineEnd))
            case UInt8(ascii: "("):
                let digits = text(lineStart, lineEnd)
                let body = digits.hasPrefix("-") ? digits.dropFirst() : Substring(digits)
                guard !body.isEmpty, body.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                    throw error("big number is not an integer")
                }
                offset = next
                return .bigNumber(digits)
            default:
                throw error("unknown type byte 0x\(String(marker, radix: 16))")
            }
        }
    }

    /// The index of the CR of the CRLF ending the line that starts at `start`, or nil when it has not arrived.
    private func findLineEnd(from start: Int) throws(RESPProtocolError) -> Int? {
        var index = start
        let limit = min(buffer.count, start + limits.maxLineBytes + 1)
        while index < limit {
            if buffer[index] == 13 {
                guard index + 1 < buffer.count else { return nil }
                guard buffer[index + 1] == 10 else { throw error("CR not followed by LF") }
                return index
            }
            if buffer[index] == 10 { throw error("LF without CR") }
            index += 1
        }
        if buffer.count > start + limits.maxLineBytes { throw error("line longer than \(limits.maxLineBytes) bytes") }
        return nil
    }

    private func text(_ start: Int, _ end: Int) -> String {
        String(decoding: buffer[start..<end], as: UTF8.self)
    }

    private func integer(_ start: Int, _ end: Int) throws(RESPProtocolError) -> Int64 {
        var index = start
        var negative = false
        if index < end && buffer[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        } else if index < end && buffer[index] == UInt8(ascii: "+") {
            index += 1
        }
        guard index < end else { throw error("empty integer") }
        var value: Int64 = 0
        while index < end {
            let digit = buffer[index]
            guard digit >= 48 && digit <= 57 else { throw error("integer with a non-digit \"\(text(start, end).prefix(24))\"") }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(digit - 48))
            guard !overflow1 && !overflow2 else { throw error("integer out of range") }
            value = sum
            index += 1
        }
        return negative ? -value : value
    }

    private func error(_ message: String) -> RESPProtocolError {
        RESPProtocolError(message: "\(message) (at byte \(consumedBefore + offset))")
    }

    /// Drops consumed bytes from the front when that is cheap relative to the bytes kept.
    private mutating func compactIfWorthwhile() {
        if offset == buffer.count {
            consumedBefore += offset
            buffer.removeAll(keepingCapacity: true)
            offset = 0
        } else if offset > 65_536 && offset > buffer.count / 2 {
            consumedBefore += offset
            buffer.removeSubrange(0..<offset)
            offset = 0
        }
    }
}
