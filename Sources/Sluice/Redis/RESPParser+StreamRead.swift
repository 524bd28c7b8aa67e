/// How far the scan for the end of the reply at the front of the parser's buffer got. Stream offsets (not
/// buffer indices), so compaction does not invalidate them; the scan resumes here when more bytes arrive
/// instead of starting the reply over.
struct ReplyScan {
    /// Stream offset of the reply being scanned; -1 when none.
    var replyStart = -1
    /// Stream offset of the next element header to read.
    var position = 0
    /// Elements still to read before the reply is complete.
    var pending = 0
}

/// What ``RESPParser/nextStreamRead(field:)`` found at the front of the buffer.
enum StreamReadParse {
    /// The reply has not fully arrived.
    case needMore
    /// A one-stream RESP2 `XREADGROUP` reply, now consumed.
    case entries(StreamEntryBatch)
    /// Another reply (an error such as `NOGROUP`, the null of a `BLOCK` that timed out, RESP3 types, several
    /// streams, anything unusual or malformed): not consumed; ``RESPParser/next()`` reads it (or reports it).
    case other
}

extension RESPParser {
    /// The fast path for the source's hot loop: when the next reply has the shape of a RESP2 `XREADGROUP` reply
    /// for one stream (`[[stream, [[id, [field, value, ...]] ...]]]`), returns its entries without building a
    /// ``RESPValue`` tree: the reply's bytes are copied once, and each entry is an ID and the range of its
    /// `field` value. That removes five allocations and a body copy per entry.
    ///
    /// The reply is first scanned to its end (headers only; bulk strings are skipped by their length), resuming
    /// where the last call stopped, and nothing is consumed until it is complete. Every bound of ``Limits`` that
    /// the general parser enforces is either enforced here or makes the reply `.other`, so the general parser
    /// meets it and reports it; the same goes for any byte that is not plain RESP2.
    mutating func nextStreamRead(field: [UInt8]) -> StreamReadParse {
        guard !hasOpenAggregate else { return .other }
        switch scanReplyEnd() {
        case .incomplete: return .needMore
        case .unusual: return .other
        case .complete(let end):
            let start = offset
            let shape = buffer.withUnsafeBufferPointer { all in
                StreamReplyShape.parse(UnsafeBufferPointer(rebasing: all[start..<end]), field: field)
            }
            guard let shape else { return .other }
            let batch = StreamEntryBatch(storage: Array(buffer[start..<end]), ids: shape.ids, bodies: shape.bodies)
            offset = end
            replyScan = ReplyScan()
            return .entries(batch)
        }
    }

    private enum ScanResult {
        case complete(end: Int)
        case incomplete
        case unusual
    }

    /// Finds where the reply at `offset` ends (a buffer index), counting the elements still owed: a scalar pays
    /// one, an aggregate of n owes n more. Only RESP2 types; anything else is `.unusual`.
    private mutating func scanReplyEnd() -> ScanResult {
        let replyStart = consumedBefore + offset
        if replyScan.replyStart != replyStart {
            replyScan = ReplyScan(replyStart: replyStart, position: replyStart, pending: 1)
        }
        var index = replyScan.position - consumedBefore
        var pending = replyScan.pending
        let (start, limits) = (offset, limits)
        let result = buffer.withUnsafeBufferPointer { bytes in
            Self.scan(bytes, replyStart: start, index: &index, pending: &pending, limits: limits)
        }
        replyScan.position = consumedBefore + index
        replyScan.pending = pending
        return result
    }

    /// The scan itself, over raw bytes (it reads every header of every reply the source receives).
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>, replyStart: Int, index: inout Int, pending: inout Int,
                             limits: Limits) -> ScanResult {
        while pending > 0 {
            guard index < bytes.count else { return .incomplete }
            // The header line: a type byte, then digits or text up to CRLF.
            var lineEnd = index + 1
            let lineLimit = min(bytes.count, index + 1 + limits.maxLineBytes)
            while lineEnd < lineLimit && bytes[lineEnd] != 13 {
                if bytes[lineEnd] == 10 { return .unusual }
                lineEnd += 1
            }
            guard lineEnd < lineLimit else { return bytes.count >= index + 1 + limits.maxLineBytes ? .unusual : .incomplete }
            guard lineEnd + 1 < bytes.count else { return .incomplete }
            guard bytes[lineEnd + 1] == 10 else { return .unusual }
            let next = lineEnd + 2
            switch bytes[index] {
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"):
                index = next
            case UInt8(ascii: "$"):
                guard let length = decimal(bytes, index + 1, lineEnd), length >= -1, length <= limits.maxBulkBytes else {
                    return .unusual
                }
                if length == -1 {
                    index = next
                } else {
                    let end = next + length + 2
                    guard end - replyStart <= limits.maxReplyBytes else { return .unusual }
                    guard end <= bytes.count else { return .incomplete }  // resume at this header
                    index = end
                }
            case UInt8(ascii: "*"):
                guard let count = decimal(bytes, index + 1, lineEnd), count >= -1, count <= limits.maxElements else {
                    return .unusual
                }
                if count > 0 { pending += count }
                index = next
            default:
                return .unusual
            }
            pending -= 1
            guard index - replyStart <= limits.maxReplyBytes else { return .unusual }
        }
        return .complete(end: index)
    }

    /// The integer in `bytes[start..<end]` (optional minus, at most 18 digits), or nil.
    private static func decimal(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int? {
        var at = start
        let negative = at < end && bytes[at] == UInt8(ascii: "-")
        if negative { at += 1 }
        guard at < end, end - at <= 18 else { return nil }
        var value = 0
        while at < end {
            let digit = bytes[at] &- 48
            guard digit <= 9 else { return nil }
            value = value * 10 + Int(digit)
            at += 1
        }
        return negative ? -value : value
    }
}

/// Reads the shape of a complete RESP2 `XREADGROUP` reply for one stream, in place.
enum StreamReplyShape {
    /// The IDs and body ranges (relative to `bytes`) of the entries, or nil when `bytes` is not exactly one such
    /// reply (then the general parser handles it).
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, field: [UInt8]) -> (ids: [String], bodies: [StreamEntryBatch.Body])? {
        var cursor = Cursor(bytes: bytes)
        guard cursor.header(UInt8(ascii: "*")) == 1, cursor.header(UInt8(ascii: "*")) == 2, cursor.bulk() != nil,
              let count = cursor.header(UInt8(ascii: "*")), count >= 0 else { return nil }
        var ids: [String] = []
        var bodies: [StreamEntryBatch.Body] = []
        ids.reserveCapacity(count)
        bodies.reserveCapacity(count)
        for _ in 0..<count {
            guard cursor.header(UInt8(ascii: "*")) == 2, let id = cursor.bulk(), let fields = cursor.header(UInt8(ascii: "*")) else {
                return nil
            }
            var body = StreamEntryBatch.Body.missingField
            if fields == -1 {
                body = .deleted
            } else {
                guard fields >= 0, fields % 2 == 0 else { return nil }
                for _ in 0..<(fields / 2) {
                    guard let name = cursor.bulk(), let value = cursor.bulk() else { return nil }
                    // The first field of that name wins, as in the general path.
                    if body == .missingField, Self.equal(bytes, name, field) { body = .bytes(value) }
                }
            }
            ids.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[id]), as: UTF8.self))
            bodies.append(body)
        }
        guard cursor.index == bytes.count else { return nil }
        return (ids, bodies)
    }

    private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ wanted: [UInt8]) -> Bool {
        guard range.count == wanted.count else { return false }
        var index = 0
        while index < wanted.count {
            guard bytes[range.lowerBound + index] == wanted[index] else { return false }
            index += 1
        }
        return true
    }

    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        /// `<marker><integer>\r\n`: the integer (at most 18 digits, optionally negative), or nil.
        mutating func header(_ marker: UInt8) -> Int? {
            guard index < bytes.count, bytes[index] == marker else { return nil }
            var at = index + 1
            var negative = false
            if at < bytes.count, bytes[at] == UInt8(ascii: "-") {
                negative = true
                at += 1
            }
            var value = 0
            var digits = 0
            while at < bytes.count, bytes[at] >= 48, bytes[at] <= 57 {
                guard digits < 18 else { return nil }
                value = value * 10 + Int(bytes[at] - 48)
                digits += 1
                at += 1
            }
            guard digits > 0, at + 1 < bytes.count, bytes[at] == 13, bytes[at + 1] == 10 else { return nil }
            index = at + 2
            return negative ? -value : value
        }

        /// `$<n>\r\n<n bytes>\r\n`: the range of the bytes, or nil (also for a null bulk string).
        mutating func bulk() -> Range<Int>? {
            let start = index
            guard let length = header(UInt8(ascii: "$")), length >= 0, length <= bytes.count - index - 2,
                  bytes[index + length] == 13, bytes[index + length + 1] == 10 else {
                index = start
                return nil
            }
            let range = index..<(index + length)
            index += length + 2
            return range
        }
    }
}
