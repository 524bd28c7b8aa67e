#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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

    /// Creates a node.
    @inline(__always)
    public init(kind: JSONKind, hasEscapes: Bool, start: Int32, end: Int32, next: Int32) {
        self.kind = kind
        self.hasEscapes = hasEscapes
        self.start = start
        self.end = end
        self.next = next
    }
}

/// A strict RFC 8259 JSON reader over bytes that records a flat tape instead of building values.
///
/// `parse` validates the whole document (UTF-8, escapes and surrogate pairs, number grammar, nesting, trailing
/// content) and fills the tape; callers then walk it with ``withView(of:_:)`` to pick the fields they need and
/// copy any value's raw bytes verbatim. Nothing is allocated per document once the tape has grown to fit: reuse
/// one reader for many documents. Nesting is tracked on an explicit stack, so hostile input like `[[[[...`
/// cannot overflow the call stack; it is rejected at `maxDepth`. Work is linear in the document's size.
///
/// Copies of a reader are independent (the tape is copy-on-write, and a parse into a shared tape starts a fresh
/// one), so a reader can be handed to another task like any value.
public struct JSONReader: Sendable {
    /// Deepest nesting of arrays and objects accepted.
    public var maxDepth: Int
    /// Largest document accepted, in bytes. Offsets on the tape are 32-bit, so documents of 2 GiB or more are
    /// rejected whatever this says.
    public var maxBytes: Int
    @usableFromInline var storage: JSONTapeStorage
    @usableFromInline var count = 0

    /// The tape of the last successfully parsed document (node 0 is the root); empty after a failed parse.
    ///
    /// This is a copy, meant for inspection and tests: hot paths walk the tape in place with ``withView(of:_:)``.
    public var nodes: [JSONNode] { Array(UnsafeBufferPointer(start: storage.nodes, count: count)) }

    /// Number of nodes on the tape of the last successfully parsed document (0 after a failed parse).
    public var nodeCount: Int { count }

    /// Whether the last parsed document has a number written with an exponent or with more than 300 integer
    /// digits: only such a number can lie beyond a `Double`'s range (`1e400`). Costs the parser nothing on the
    /// common path, so callers check ``JSONView/double(_:)`` of each number only when this is set.
    public var hasWideNumbers: Bool { count > 0 && storage.sawWideNumber }

    /// Creates a reader with the given limits.
    public init(maxDepth: Int = 256, maxBytes: Int = 64 << 20) {
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
        self.storage = JSONTapeStorage(nodeCapacity: 64, stackCapacity: 16)
    }

    /// Validates `bytes` as one JSON document (surrounding whitespace allowed) and records its tape.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONError) {
        count = 0
        let limit = min(maxBytes, Int(Int32.max) - 1)
        guard bytes.count <= limit else { throw JSONError(offset: limit, reason: .tooLarge(limit: limit)) }
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw JSONError(offset: 0, reason: .empty) }
        if !isKnownUniquelyReferenced(&storage) {
            // A copy of this reader still views the old tape; leave it to that copy.
            storage = JSONTapeStorage(nodeCapacity: storage.nodeCapacity, stackCapacity: storage.stackCapacity)
        }
        count = try JSONReader.parseTape(base.assumingMemoryBound(to: UInt8.self), bytes.count, storage,
                                         maxDepth: max(0, maxDepth))
    }

    /// Validates a byte array as one JSON document; see ``parse(_:)-(UnsafeRawBufferPointer)``.
    public mutating func parse(_ bytes: [UInt8]) throws(JSONError) {
        let result: Result<Void, JSONError> = bytes.withUnsafeBytes { raw in
            do throws(JSONError) { try parse(raw); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Calls `body` with a view of the last parsed document over `bytes` (the same bytes given to `parse`).
    ///
    /// After a failed parse the view has no nodes. Inlinable so callers in other modules walk the tape without
    /// going through an unspecialized generic.
    @inlinable
    public func withView<R>(of bytes: UnsafeRawBufferPointer, _ body: (JSONView) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) {
            try body(JSONView(bytes: bytes, nodes: UnsafeBufferPointer(start: storage.nodes, count: count)))
        }
    }

    /// A view of the last parsed document over `bytes`, without a closure; for the decoder's hot path.
    ///
    /// The view points into this reader's tape: it is valid only while this reader value is alive and neither
    /// parses again nor is assigned to. ``withView(of:_:)`` guarantees that by construction; a caller of this
    /// one guarantees it by keeping the reader in place (a stored property that is not mutated meanwhile). It
    /// exists because the closure form made the decoder copy itself (options, patterns, the reader) for every
    /// line: ~4% of a run's CPU.
    func unsafeView(of bytes: UnsafeRawBufferPointer) -> JSONView {
        JSONView(bytes: bytes, nodes: UnsafeBufferPointer(start: storage.nodes, count: count))
    }

    // MARK: - The parser

    private enum State { case value, firstKey, key, afterValue }

    // Byte constants, named for reading the state machine (computed, so no lazy-global check on the hot path).
    private static var quote: UInt8 { 0x22 }
    private static var backslash: UInt8 { 0x5C }
    private static var comma: UInt8 { 0x2C }
    private static var colon: UInt8 { 0x3A }
    private static var openBrace: UInt8 { 0x7B }
    private static var closeBrace: UInt8 { 0x7D }
    private static var openBracket: UInt8 { 0x5B }
    private static var closeBracket: UInt8 { 0x5D }

    /// Parses `p[0..<n]` onto `storage`'s tape; returns the number of nodes. `n` is below `Int32.max`, so offsets
    /// convert to `Int32` without checks.
    private static func parseTape(_ p: UnsafePointer<UInt8>, _ n: Int, _ storage: JSONTapeStorage,
                                  maxDepth: Int) throws(JSONError) -> Int {
        var tape = storage.nodes
        var capacity = storage.nodeCapacity
        var used = 0
        var stack = storage.stack
        var stackCapacity = storage.stackCapacity
        var depth = 0
        var inObject = false
        var wide = false
        defer { storage.sawWideNumber = wide }

        @inline(__always) func emit(_ kind: JSONKind, _ escaped: Bool, _ start: Int, _ end: Int) {
            if used == capacity {
                storage.growNodes(keeping: used)
                tape = storage.nodes
                capacity = storage.nodeCapacity
            }
            (tape + used).initialize(to: JSONNode(kind: kind, hasEscapes: escaped, start: Int32(truncatingIfNeeded: start),
                                  end: Int32(truncatingIfNeeded: end), next: Int32(truncatingIfNeeded: used + 1)))
            used += 1
        }

        @inline(__always) func close(_ offset: Int) {
            depth -= 1
            let top = Int(stack[depth])
            tape[top].end = Int32(truncatingIfNeeded: offset + 1)
            tape[top].next = Int32(truncatingIfNeeded: used)
            // Raw values, not `==`: the enum's `==` showed up as a protocol witness call in profiles here.
            inObject = depth > 0 && tape[Int(stack[depth - 1])].kind.rawValue == JSONKind.object.rawValue
        }

        var i = skipWhitespace(p, n, 0)
        if i == n { throw JSONError(offset: 0, reason: .empty) }
        var state = State.value

        while true {
            switch state {
            case .value:
                i = skipWhitespace(p, n, i)
                guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd) }
                let c = p[i]
                if c == quote {
                    let (end, escaped) = try scanString(p, n, i)
                    emit(.string, escaped, i, end)
                    i = end
                } else if c &- UInt8(ascii: "0") < 10 || c == UInt8(ascii: "-") {
                    let end = try scanNumber(p, n, i, wide: &wide)
                    emit(.number, false, i, end)
                    i = end
                } else if c == openBrace || c == openBracket {
                    guard depth < maxDepth else { throw JSONError(offset: i, reason: .tooDeep(limit: maxDepth)) }
                    if depth == stackCapacity {
                        storage.growStack(keeping: depth)
                        stack = storage.stack
                        stackCapacity = storage.stackCapacity
                    }
                    (stack + depth).initialize(to: Int32(truncatingIfNeeded: used))
                    depth += 1
                    inObject = c == openBrace
                    emit(inObject ? .object : .array, false, i, 0)
                    i = skipWhitespace(p, n, i + 1)
                    if i < n && p[i] == (inObject ? closeBrace : closeBracket) {
                        close(i)
                        i += 1
                    } else {
                        state = inObject ? .firstKey : .value
                        continue
                    }
                } else if c == UInt8(ascii: "t") {
                    i = try scanLiteral(p, n, i, "true")
                    emit(.true, false, i - 4, i)
                } else if c == UInt8(ascii: "f") {
                    i = try scanLiteral(p, n, i, "false")
                    emit(.false, false, i - 5, i)
                } else if c == UInt8(ascii: "n") {
                    i = try scanLiteral(p, n, i, "null")
                    emit(.null, false, i - 4, i)
                } else {
                    throw JSONError(offset: i, reason: .unexpectedByte(c, expected: "a JSON value"))
                }
                state = .afterValue

            case .firstKey, .key:
                i = skipWhitespace(p, n, i)
                guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd) }
                guard p[i] == quote else {
                    throw JSONError(offset: i, reason: .unexpectedByte(p[i], expected: state == .firstKey ? "a string key or '}'" : "a string key"))
                }
                let (end, escaped) = try scanString(p, n, i)
                emit(.string, escaped, i, end)
                i = skipWhitespace(p, n, end)
                guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd) }
                guard p[i] == colon else {
                    throw JSONError(offset: i, reason: .unexpectedByte(p[i], expected: "':' after an object key"))
                }
                i += 1
                state = .value

            case .afterValue:
                i = skipWhitespace(p, n, i)
                guard depth > 0 else {
                    if i != n { throw JSONError(offset: i, reason: .trailingContent) }
                    return used
                }
                guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd) }
                let c = p[i]
                if c == comma {
                    i += 1
                    state = inObject ? .key : .value
                } else if c == (inObject ? closeBrace : closeBracket) {
                    close(i)
                    i += 1
                } else {
                    throw JSONError(offset: i, reason: .unexpectedByte(c, expected: inObject
                        ? "',' or '}' after an object member" : "',' or ']' after an array element"))
                }
            }
        }
    }

    @inline(__always)
    private static func skipWhitespace(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int) -> Int {
        // Compact JSON has no whitespace: one comparison settles the common case, and the loop stays out of line.
        if start < n && p[start] > 0x20 { return start }
        return skipWhitespaceSlow(p, n, start)
    }

    private static func skipWhitespaceSlow(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int) -> Int {
        var i = start
        while i < n {
            let c = p[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { break }
            i += 1
        }
        return i
    }

    /// Checks the literal `word` at `i`; returns the offset after it.
    @inline(__always)
    private static func scanLiteral(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int, _ word: StaticString) throws(JSONError) -> Int {
        let length = word.utf8CodeUnitCount
        let w = word.utf8Start
        if i + length <= n && memcmp(p + i, w, length) == 0 { return i + length }
        for k in 0..<length {
            guard i + k < n else { throw JSONError(offset: i + k, reason: .unexpectedEnd) }
            guard p[i + k] == w[k] else {
                throw JSONError(offset: i + k, reason: .unexpectedByte(p[i + k], expected: "'\(word)'"))
            }
        }
        return i + length
    }

    /// Scans a number starting at `start`; returns the offset after it. Sets `wide` for an exponent or a very
    /// long integer part (see ``hasWideNumbers``).
    @inline(__always)
    private static func scanNumber(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int, wide: inout Bool) throws(JSONError) -> Int {
        var i = start
        @inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd) }
        if p[i] == UInt8(ascii: "0") {
            i += 1
        } else if isDigit(p[i]) {
            i += 1
            while i < n && isDigit(p[i]) { i += 1 }
            if i - start > 300 { wide = true }
        } else {
            throw JSONError(offset: i, reason: .invalidNumber)
        }
        guard i < n else { return i }
        if p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < n, isDigit(p[i]) else { throw JSONError(offset: i, reason: .invalidNumber) }
            while i < n && isDigit(p[i]) { i += 1 }
            guard i < n else { return i }
        }
        if p[i] | 0x20 == UInt8(ascii: "e") {
            wide = true
            i += 1
            if i < n && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < n, isDigit(p[i]) else { throw JSONError(offset: i, reason: .invalidNumber) }
            while i < n && isDigit(p[i]) { i += 1 }
            return i
        }
        // A digit right after a complete number means a leading zero ("01").
        if isDigit(p[i]) { throw JSONError(offset: i, reason: .invalidNumber) }
        return i
    }

    /// Scans a string whose opening quote is at `start`; returns the offset after the closing quote and whether
    /// it contained escapes. Validates escapes, surrogate pairs and UTF-8.
    @inline(__always)
    private static func scanString(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int) throws(JSONError) -> (Int, Bool) {
        var i = start + 1
        var escaped = false
        while true {
            i = StringScanning.skipPlainWords(UnsafeRawPointer(p), from: i, end: n)
            guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd) }
            let c = p[i]
            if c == quote {
                return (i + 1, escaped)
            } else if c == backslash {
                escaped = true
                i = try scanEscape(p, n, i)
            } else if c < 0x20 {
                throw JSONError(offset: i, reason: .unescapedControlCharacter(c))
            } else if c < 0x80 {
                i += 1  // only in the last seven bytes of the input
            } else {
                i = try scanUTF8Sequence(p, n, i)
            }
        }
    }

    /// Validates the escape whose backslash is at `i`; returns the offset after it.
    private static func scanEscape(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int) throws(JSONError) -> Int {
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

    private static func hex4(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int) throws(JSONError) -> UInt32 {
        var value: UInt32 = 0
        for k in 0..<4 {
            guard i + k < n else { throw JSONError(offset: i + k, reason: .unexpectedEnd) }
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
    private static func scanUTF8Sequence(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int) throws(JSONError) -> Int {
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

/// The reader's tape and nesting stack, kept across documents so parsing allocates nothing once they fit.
///
/// Safety of `@unchecked Sendable`: the buffers are written only by `JSONReader.parse`, a `mutating` method
/// that first checks `isKnownUniquelyReferenced` and starts a fresh storage when another reader value shares
/// this one. So storage reachable from more than one value (or task) is only ever read, which is the same
/// copy-on-write argument that makes `Array` Sendable.
///
/// `@exclusivity(unchecked)`: these class properties would otherwise pay a runtime exclusivity check on every
/// parse and view (about 8% of parsing an event line). They are only ever accessed in short, non-overlapping
/// reads and in the grow methods, never across a call that could re-enter, so no access can conflict.
@usableFromInline
final class JSONTapeStorage: @unchecked Sendable {
    @exclusivity(unchecked) @usableFromInline private(set) var nodes: UnsafeMutablePointer<JSONNode>
    @exclusivity(unchecked) private(set) var nodeCapacity: Int
    @exclusivity(unchecked) private(set) var stack: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) private(set) var stackCapacity: Int
    /// Set by the last parse: it saw a number that may be beyond a `Double`'s range (``JSONReader/hasWideNumbers``).
    @exclusivity(unchecked) var sawWideNumber = false

    init(nodeCapacity: Int, stackCapacity: Int) {
        self.nodeCapacity = max(nodeCapacity, 16)
        self.stackCapacity = max(stackCapacity, 16)
        nodes = .allocate(capacity: self.nodeCapacity)
        stack = .allocate(capacity: self.stackCapacity)
    }

    deinit {
        nodes.deallocate()
        stack.deallocate()
    }

    /// Doubles the tape, keeping its first `used` nodes.
    func growNodes(keeping used: Int) {
        let bigger = UnsafeMutablePointer<JSONNode>.allocate(capacity: nodeCapacity * 2)
        bigger.initialize(from: nodes, count: used)
        nodes.deallocate()
        nodes = bigger
        nodeCapacity *= 2
    }

    /// Doubles the nesting stack, keeping its first `depth` entries.
    func growStack(keeping depth: Int) {
        let bigger = UnsafeMutablePointer<Int32>.allocate(capacity: stackCapacity * 2)
        bigger.initialize(from: stack, count: depth)
        stack.deallocate()
        stack = bigger
        stackCapacity *= 2
    }
}
