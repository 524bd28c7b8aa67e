/// The kind of a JSON value on the reader's tape.
public enum JSONKind: UInt8, Sendable {
    /// `{...}`
    case object
    /// `[...]`
    case array
    /// `"..."`
    case string
    /// A number in RFC 8259 syntax.
    case number
    /// `true`
    case `true`
    /// `false`
    case `false`
    /// `null`
    case null
}

/// One value on the reader's tape: its kind, its raw byte range, and where the next sibling starts.
///
/// Object members are stored as a key node (a string) immediately followed by its value's nodes, so a
/// container's children are found by hopping `next` from the node after the container.
public struct JSONNode: Sendable {
    /// What the value is.
    public var kind: JSONKind
    /// For strings: the raw text contains at least one backslash escape, so it cannot be compared or
    /// copied as unescaped text without decoding.
    public var hasEscapes: Bool
    /// Offset of the value's first byte (the quote of a string, the brace of an object).
    public var start: Int32
    /// Offset one past the value's last byte.
    public var end: Int32
    /// Tape index of the node that follows this value and all of its descendants.
    public var next: Int32
}

/// A strict RFC 8259 JSON reader over bytes that records a flat tape instead of building values.
///
/// `parse` validates the whole document (UTF-8, escapes and surrogate pairs, number grammar, nesting, trailing
/// content) and fills `nodes`; callers then walk the tape to pick the fields they need and copy any value's raw
/// bytes verbatim. Nothing is allocated per document once the tape has grown to fit: reuse one reader for many
/// documents. Nesting is tracked on an explicit stack, so hostile input like `[[[[...` cannot overflow the
/// call stack; it is rejected at `maxDepth`.
public struct JSONReader: Sendable {
    /// Deepest nesting of arrays and objects accepted.
    public var maxDepth: Int
    /// Largest document accepted, in bytes.
    public var maxBytes: Int
    /// The tape of the last successfully parsed document; node 0 is the root.
    public private(set) var nodes: [JSONNode] = []
    private var stack: [Int32] = []

    /// Creates a reader with the given limits.
    public init(maxDepth: Int = 256, maxBytes: Int = 64 << 20) {
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
        nodes.reserveCapacity(64)
        stack.reserveCapacity(16)
    }

    /// Validates `bytes` as one JSON document (surrounding whitespace allowed) and records its tape.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONError) {
        nodes.removeAll(keepingCapacity: true)
        stack.removeAll(keepingCapacity: true)
        guard bytes.count <= maxBytes else { throw JSONError(offset: maxBytes, reason: .tooLarge(limit: maxBytes)) }
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw JSONError(offset: 0, reason: .empty) }
        try parseTape(base.assumingMemoryBound(to: UInt8.self), count: bytes.count)
    }

    /// Validates a byte array as one JSON document; see ``parse(_:)-(UnsafeRawBufferPointer)``.
    public mutating func parse(_ bytes: [UInt8]) throws(JSONError) {
        let result: Result<Void, JSONError> = bytes.withUnsafeBytes { raw in
            do throws(JSONError) { try parse(raw); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    // MARK: - The parser

    private enum State { case value, objectKeyOrEnd, objectKey, afterValue }

    private mutating func parseTape(_ p: UnsafePointer<UInt8>, count n: Int) throws(JSONError) {
        var i = skipWhitespace(p, n, 0)
        if i == n { throw JSONError(offset: 0, reason: .empty) }
        var state = State.value

        while true {
            switch state {
            case .value:
                i = skipWhitespace(p, n, i)
                guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd) }
                let c = p[i]
                switch c {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    guard stack.count < maxDepth else { throw JSONError(offset: i, reason: .tooDeep(limit: maxDepth)) }
                    stack.append(Int32(nodes.count))
                    nodes.append(JSONNode(kind: c == UInt8(ascii: "{") ? .object : .array, hasEscapes: false,
                                          start: Int32(i), end: 0, next: 0))
                    i += 1
                    if c == UInt8(ascii: "{") {
                        state = .objectKeyOrEnd
                    } else {
                        i = skipWhitespace(p, n, i)
                        if i < n && p[i] == UInt8(ascii: "]") {
                            closeContainer(at: i)
                            i += 1
                            state = .afterValue
                        }
                    }
                    continue
                case UInt8(ascii: "\""):
                    let (end, escaped) = try scanString(p, n, i)
                    nodes.append(JSONNode(kind: .string, hasEscapes: escaped, start: Int32(i), end: Int32(end), next: Int32(nodes.count + 1)))
                    i = end
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    let end = try scanNumber(p, n, i)
                    nodes.append(JSONNode(kind: .number, hasEscapes: false, start: Int32(i), end: Int32(end), next: Int32(nodes.count + 1)))
                    i = end
                case UInt8(ascii: "t"):
                    i = try scanLiteral(p, n, i, "true", .true)
                case UInt8(ascii: "f"):
                    i = try scanLiteral(p, n, i, "false", .false)
                case UInt8(ascii: "n"):
                    i = try scanLiteral(p, n, i, "null", .null)
                default:
                    throw JSONError(offset: i, reason: .unexpectedByte(c, expected: "a JSON value"))
                }
                state = .afterValue

            case .objectKeyOrEnd, .objectKey:
                i = skipWhitespace(p, n, i)
                guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd) }
                let c = p[i]
                if c == UInt8(ascii: "}") && state == .objectKeyOrEnd {
                    closeContainer(at: i)
                    i += 1
                    state = .afterValue
                    continue
                }
                guard c == UInt8(ascii: "\"") else {
                    throw JSONError(offset: i, reason: .unexpectedByte(c, expected: state == .objectKeyOrEnd ? "a string key or '}'" : "a string key"))
                }
                let (end, escaped) = try scanString(p, n, i)
                nodes.append(JSONNode(kind: .string, hasEscapes: escaped, start: Int32(i), end: Int32(end), next: Int32(nodes.count + 1)))
                i = skipWhitespace(p, n, end)
                guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd) }
                guard p[i] == UInt8(ascii: ":") else {
                    throw JSONError(offset: i, reason: .unexpectedByte(p[i], expected: "':' after an object key"))
                }
                i += 1
                state = .value

            case .afterValue:
                guard let top = stack.last else {
                    i = skipWhitespace(p, n, i)
                    if i != n { throw JSONError(offset: i, reason: .trailingContent) }
                    return
                }
                i = skipWhitespace(p, n, i)
                guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd) }
                let c = p[i]
                if nodes[Int(top)].kind == .object {
                    if c == UInt8(ascii: ",") { i += 1; state = .objectKey; continue }
                    if c == UInt8(ascii: "}") { closeContainer(at: i); i += 1; continue }
                    throw JSONError(offset: i, reason: .unexpectedByte(c, expected: "',' or '}' after an object member"))
                } else {
                    if c == UInt8(ascii: ",") { i += 1; state = .value; continue }
                    if c == UInt8(ascii: "]") { closeContainer(at: i); i += 1; continue }
                    throw JSONError(offset: i, reason: .unexpectedByte(c, expected: "',' or ']' after an array element"))
                }
            }
        }
    }

    private mutating func closeContainer(at offset: Int) {
        let top = Int(stack.removeLast())
        nodes[top].end = Int32(offset + 1)
        nodes[top].next = Int32(nodes.count)
    }

    @inline(__always)
    private func skipWhitespace(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int) -> Int {
        var i = start
        while i < n {
            let c = p[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { break }
            i += 1
        }
        return i
    }

    private mutating func scanLiteral(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int, _ word: StaticString, _ kind: JSONKind) throws(JSONError) -> Int {
        let length = word.utf8CodeUnitCount
        let w = word.utf8Start
        for k in 0..<length {
            guard i + k < n else { throw JSONError(offset: i + k, reason: .unexpectedEnd) }
            guard p[i + k] == w[k] else {
                throw JSONError(offset: i + k, reason: .unexpectedByte(p[i + k], expected: "'\(word)'"))
            }
        }
        nodes.append(JSONNode(kind: kind, hasEscapes: false, start: Int32(i), end: Int32(i + length), next: Int32(nodes.count + 1)))
        return i + length
    }

    /// Scans a number starting at `i`; returns the offset after it.
    private func scanNumber(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int) throws(JSONError) -> Int {
        var i = start
        @inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd) }
        if p[i] == UInt8(ascii: "0") {
            i += 1
        } else if isDigit(p[i]) {
            while i < n && isDigit(p[i]) { i += 1 }
        } else {
            throw JSONError(offset: i, reason: .invalidNumber)
        }
        if i < n && p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < n, isDigit(p[i]) else { throw JSONError(offset: i, reason: .invalidNumber) }
            while i < n && isDigit(p[i]) { i += 1 }
        }
        if i < n && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
            i += 1
            if i < n && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < n, isDigit(p[i]) else { throw JSONError(offset: i, reason: .invalidNumber) }
            while i < n && isDigit(p[i]) { i += 1 }
        }
        // A digit right after a complete number means a leading zero ("01").
        if i < n && isDigit(p[i]) { throw JSONError(offset: i, reason: .invalidNumber) }
        return i
    }

    /// Scans a string whose opening quote is at `start`; returns the offset after the closing quote and whether
    /// it contained escapes. Validates escapes, surrogate pairs and UTF-8.
    private func scanString(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int) throws(JSONError) -> (Int, Bool) {
        var i = start + 1
        var escaped = false
        while true {
            // Fast path: eight plain bytes at a time (no quote, backslash, control or non-ASCII byte).
            while i + 8 <= n {
                let x = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101
                let high: UInt64 = 0x8080_8080_8080_8080
                let quote = x ^ (ones &* 0x22)
                let slash = x ^ (ones &* 0x5C)
                let special = ((x &- ones &* 0x20) & ~x)
                    | ((quote &- ones) & ~quote)
                    | ((slash &- ones) & ~slash)
                    | x
                if special & high != 0 { break }
                i += 8
            }
            guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd) }
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                return (i + 1, escaped)
            } else if c == UInt8(ascii: "\\") {
                escaped = true
                i = try scanEscape(p, n, i)
            } else if c < 0x20 {
                throw JSONError(offset: i, reason: .unescapedControlCharacter(c))
            } else if c < 0x80 {
                i += 1
            } else {
                i = try scanUTF8Sequence(p, n, i)
            }
        }
    }

    /// Validates the escape whose backslash is at `i`; returns the offset after it.
    private func scanEscape(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int) throws(JSONError) -> Int {
        guard i + 1 < n else { throw JSONError(offset: i + 1, reason: .unexpectedEnd) }
        switch p[i + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return i + 2
        case UInt8(ascii: "u"):
            let unit = try hex4(p, n, i + 2)
            if unit >= 0xDC00 && unit <= 0xDFFF {
                throw JSONError(offset: i, reason: .invalidUnicodeEscape)  // low surrogate without a high one
            }
            guard unit >= 0xD800 && unit <= 0xDBFF else { return i + 6 }
            // A high surrogate must be followed by an escaped low surrogate.
            guard i + 7 < n, p[i + 6] == UInt8(ascii: "\\"), p[i + 7] == UInt8(ascii: "u") else {
                throw JSONError(offset: i, reason: .invalidUnicodeEscape)
            }
            let low = try hex4(p, n, i + 8)
            guard low >= 0xDC00 && low <= 0xDFFF else { throw JSONError(offset: i + 6, reason: .invalidUnicodeEscape) }
            return i + 12
        default:
            throw JSONError(offset: i, reason: .invalidEscape)
        }
    }

    private func hex4(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int) throws(JSONError) -> UInt32 {
        guard i + 4 <= n else { throw JSONError(offset: n, reason: .unexpectedEnd) }
        var value: UInt32 = 0
        for k in 0..<4 {
            guard let digit = JSONReader.hexValue(p[i + k]) else { throw JSONError(offset: i + k, reason: .invalidUnicodeEscape) }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Validates one multi-byte UTF-8 sequence starting at `i` (Unicode Table 3-7: no overlongs, no encoded
    /// surrogates, nothing above U+10FFFF); returns the offset after it.
    private func scanUTF8Sequence(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int) throws(JSONError) -> Int {
        let c = p[i]
        @inline(__always) func continuation(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) throws(JSONError) {
            guard k < n else { throw JSONError(offset: k, reason: .unexpectedEnd) }
            guard p[k] >= low && p[k] <= high else { throw JSONError(offset: k, reason: .invalidUTF8) }
        }
        switch c {
        case 0xC2...0xDF:
            try continuation(i + 1)
            return i + 2
        case 0xE0:
            try continuation(i + 1, 0xA0, 0xBF); try continuation(i + 2)
            return i + 3
        case 0xE1...0xEC, 0xEE...0xEF:
            try continuation(i + 1); try continuation(i + 2)
            return i + 3
        case 0xED:
            try continuation(i + 1, 0x80, 0x9F); try continuation(i + 2)
            return i + 3
        case 0xF0:
            try continuation(i + 1, 0x90, 0xBF); try continuation(i + 2); try continuation(i + 3)
            return i + 4
        case 0xF1...0xF3:
            try continuation(i + 1); try continuation(i + 2); try continuation(i + 3)
            return i + 4
        case 0xF4:
            try continuation(i + 1, 0x80, 0x8F); try continuation(i + 2); try continuation(i + 3)
            return i + 4
        default:
            throw JSONError(offset: i, reason: .invalidUTF8)
        }
    }
}
