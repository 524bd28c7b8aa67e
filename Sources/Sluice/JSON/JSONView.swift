/// A read-only view of a parsed document: the tape plus the bytes it indexes.
///
/// Valid only inside ``JSONReader/withView(of:_:)``, which keeps both alive. Node indices come from the tape:
/// index 0 is the root.
public struct JSONView {
    /// The document's bytes.
    public let bytes: UnsafeRawBufferPointer
    /// The reader's tape.
    public let nodes: UnsafeBufferPointer<JSONNode>

    @usableFromInline
    init(bytes: UnsafeRawBufferPointer, nodes: UnsafeBufferPointer<JSONNode>) {
        self.bytes = bytes
        self.nodes = nodes
    }

    // The accessors below are @inlinable so that code outside the module (the benchmark, embedders) walks the tape
    // as cheaply as the decoder does; they use only public stored properties. Ranges come from a validated tape, so
    // they are built from the base address directly rather than through slicing's range checks.

    /// The kind of node `i`.
    @inlinable @inline(__always) public func kind(_ i: Int) -> JSONKind { nodes[i].kind }

    /// The raw bytes of value `i`, exactly as they appear in the document (strings keep their quotes).
    @inlinable @inline(__always) public func raw(_ i: Int) -> UnsafeRawBufferPointer {
        let node = nodes[i]
        // A view always has bytes (the reader rejects an empty document), so the base address is never nil.
        return UnsafeRawBufferPointer(start: bytes.baseAddress.unsafelyUnwrapped + Int(node.start), count: Int(node.end - node.start))
    }

    /// The byte range of value `i` in the document.
    @inlinable @inline(__always) public func range(_ i: Int) -> Range<Int> { Int(nodes[i].start)..<Int(nodes[i].end) }

    /// The bytes between a string's quotes, still escaped. Only meaningful for strings.
    @inlinable @inline(__always) public func rawStringContent(_ i: Int) -> UnsafeRawBufferPointer {
        let node = nodes[i]
        return UnsafeRawBufferPointer(start: bytes.baseAddress.unsafelyUnwrapped + Int(node.start) + 1, count: Int(node.end - node.start) - 2)
    }

    /// Calls `body` with the tape index of each member's key and value, in document order.
    @inlinable @inline(__always)
    public func forEachMember(of object: Int, _ body: (_ key: Int, _ value: Int) throws -> Void) rethrows {
        var child = object + 1
        let end = Int(nodes[object].next)
        while child < end {
            let value = child + 1
            try body(child, value)
            child = Int(nodes[value].next)
        }
    }

    /// Calls `body` with the tape index of each element of an array, in order.
    @inlinable @inline(__always)
    public func forEachElement(of array: Int, _ body: (_ element: Int) throws -> Void) rethrows {
        var child = array + 1
        let end = Int(nodes[array].next)
        while child < end {
            try body(child)
            child = Int(nodes[child].next)
        }
    }

    /// Number of members of an object or elements of an array.
    public func childCount(of container: Int) -> Int {
        var count = 0
        if kind(container) == .object {
            forEachMember(of: container) { _, _ in count += 1 }
        } else {
            forEachElement(of: container) { _ in count += 1 }
        }
        return count
    }

    /// Whether string node `i` equals `literal`, compared byte for byte as unescaped UTF-8 (so `"\u0061"` equals
    /// `a`, but a decomposed `e\u0301` does not equal a precomposed `é`: keys are matched exactly, as JSON does).
    @inlinable @inline(__always)
    public func stringEquals(_ i: Int, _ literal: StaticString) -> Bool {
        literal.withUTF8Buffer { stringEquals(i, bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Whether string node `i` equals the UTF-8 bytes `other`, compared byte for byte as unescaped text.
    @inlinable @inline(__always)
    public func stringEquals(_ i: Int, bytes other: UnsafeRawBufferPointer) -> Bool {
        let content = rawStringContent(i)
        if nodes[i].hasEscapes { return unescapedEquals(content, other) }
        guard content.count == other.count else { return false }
        guard let a = content.baseAddress, let b = other.baseAddress else { return true }  // both empty
        return JSONView.bytesEqual(a, b, content.count)
    }

    /// Equality of `n` bytes, eight at a time: keys are short, and a call to `memcmp` costs more than comparing them.
    @inlinable @inline(__always)
    static func bytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
        var k = 0
        while k + 8 <= n {
            if a.loadUnaligned(fromByteOffset: k, as: UInt64.self) != b.loadUnaligned(fromByteOffset: k, as: UInt64.self) { return false }
            k += 8
        }
        if k + 4 <= n {
            if a.loadUnaligned(fromByteOffset: k, as: UInt32.self) != b.loadUnaligned(fromByteOffset: k, as: UInt32.self) { return false }
            k += 4
        }
        while k < n {
            if a.load(fromByteOffset: k, as: UInt8.self) != b.load(fromByteOffset: k, as: UInt8.self) { return false }
            k += 1
        }
        return true
    }

    /// Compares escaped string content with unescaped bytes without allocating: decodes one escape at a time.
    @usableFromInline
    func unescapedEquals(_ s: UnsafeRawBufferPointer, _ other: UnsafeRawBufferPointer) -> Bool {
        // Unescaping only shrinks text, so a shorter escaped form cannot match.
        guard s.count >= other.count else { return false }
        var k = 0, j = 0
        let n = s.count
        var scratch: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        while k < n {
            let c = s[k]
            if c != UInt8(ascii: "\\") {
                guard j < other.count, other[j] == c else { return false }
                k += 1; j += 1
                continue
            }
            let length = withUnsafeMutableBytes(of: &scratch) { out in decodeEscape(s, &k, into: out) }
            guard j + length <= other.count else { return false }
            let same = withUnsafeBytes(of: &scratch) { decoded in
                (0..<length).allSatisfy { decoded[$0] == other[j + $0] }
            }
            guard same else { return false }
            j += length
        }
        return j == other.count
    }

    /// Decodes the escape at `s[k]` (the backslash) into `out` as UTF-8, advances `k` past it, and returns the
    /// number of bytes written (1 to 4). The reader has validated the escape, including surrogate pairing.
    @inline(__always)
    private func decodeEscape(_ s: UnsafeRawBufferPointer, _ k: inout Int, into out: UnsafeMutableRawBufferPointer) -> Int {
        let e = s[k + 1]
        k += 2
        switch e {
        case UInt8(ascii: "b"): out[0] = 0x08; return 1
        case UInt8(ascii: "f"): out[0] = 0x0C; return 1
        case UInt8(ascii: "n"): out[0] = 0x0A; return 1
        case UInt8(ascii: "r"): out[0] = 0x0D; return 1
        case UInt8(ascii: "t"): out[0] = 0x09; return 1
        case UInt8(ascii: "u"):
            var scalar = hex4(s, k)
            k += 4
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                // The reader guarantees a following \uDC00-\uDFFF.
                let low = hex4(s, k + 2)
                k += 6
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            return encodeUTF8(scalar, into: out)
        default: out[0] = e; return 1  // \" \\ \/
        }
    }

    /// The value of member `key` of object `object`, if present (the last one wins if a key repeats).
    @inlinable
    public func member(_ object: Int, _ key: StaticString) -> Int? {
        var found: Int?
        forEachMember(of: object) { k, v in if stringEquals(k, key) { found = v } }
        return found
    }

    /// String node `i` as a Swift `String`, escapes decoded.
    public func unescapedString(_ i: Int) -> String {
        if !nodes[i].hasEscapes {
            return String(decoding: rawStringContent(i), as: UTF8.self)
        }
        var decoded: [UInt8] = []
        appendUnescaped(i, to: &decoded)
        return String(decoding: decoded, as: UTF8.self)
    }

    /// Appends string node `i`'s unescaped UTF-8 bytes to `buffer`.
    public func appendUnescaped(_ i: Int, to buffer: inout [UInt8]) {
        let s = rawStringContent(i)
        guard nodes[i].hasEscapes else { buffer.append(contentsOf: s); return }
        var k = 0
        var run = 0
        let n = s.count
        var scratch: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        while k < n {
            guard s[k] == UInt8(ascii: "\\") else { k += 1; continue }
            if k > run { buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: s[run..<k])) }
            let length = withUnsafeMutableBytes(of: &scratch) { out in decodeEscape(s, &k, into: out) }
            withUnsafeBytes(of: &scratch) { buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
            run = k
        }
        if n > run { buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: s[run..<n])) }
    }

    private func hex4(_ s: UnsafeRawBufferPointer, _ k: Int) -> UInt32 {
        var v: UInt32 = 0
        for j in 0..<4 { v = v << 4 | UInt32(JSONReader.hexValue(s[k + j]) ?? 0) }
        return v
    }

    /// Writes `scalar` as UTF-8 into `out` (room for 4 bytes); returns the byte count.
    @inline(__always)
    private func encodeUTF8(_ scalar: UInt32, into out: UnsafeMutableRawBufferPointer) -> Int {
        switch scalar {
        case 0..<0x80:
            out[0] = UInt8(scalar)
            return 1
        case 0x80..<0x800:
            out[0] = UInt8(0xC0 | scalar >> 6); out[1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        case 0x800..<0x10000:
            out[0] = UInt8(0xE0 | scalar >> 12); out[1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            out[2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        default:
            out[0] = UInt8(0xF0 | scalar >> 18); out[1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            out[2] = UInt8(0x80 | scalar >> 6 & 0x3F); out[3] = UInt8(0x80 | scalar & 0x3F)
            return 4
        }
    }

    /// Number node `i` as an exact `Int64` when it is an integer in range (`12`, `-5`; also `12.0` and
    /// `1.2e3`, which are integral), otherwise nil.
    public func int64(_ i: Int) -> Int64? {
        guard kind(i) == .number else { return nil }
        return JSONView.parseInt64(raw(i))
    }

    /// Parses decimal number text (`12`, `-5`, `12.0`, `1.2e3`, `1795331233000`) as an exact `Int64`; nil when it
    /// is not decimal number syntax, has a non-zero fraction, or is out of range. Works on the digits, never through
    /// `Double`, so integral values beyond 2^53 stay exact and nothing is allocated.
    static func parseInt64(_ s: UnsafeRawBufferPointer) -> Int64? {
        let n = s.count
        var k = 0
        @inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }
        let negative = n > 0 && s[0] == UInt8(ascii: "-")
        if negative { k = 1 }
        // Fast path, the common case (timestamps): up to 18 plain digits cannot overflow.
        if n - k <= 18 && n > k {
            var value: Int64 = 0
            var j = k
            while j < n {
                let d = s[j] &- UInt8(ascii: "0")
                guard d < 10 else { break }
                value = value &* 10 &+ Int64(d)
                j += 1
            }
            if j == n { return negative ? -value : value }
        }
        let intStart = k
        while k < n && isDigit(s[k]) { k += 1 }
        let intEnd = k
        guard intEnd > intStart else { return nil }
        var fracStart = k, fracEnd = k
        if k < n && s[k] == UInt8(ascii: ".") {
            k += 1
            fracStart = k
            while k < n && isDigit(s[k]) { k += 1 }
            fracEnd = k
            guard fracEnd > fracStart else { return nil }
        }
        var exponent = 0
        if k < n && s[k] | 0x20 == UInt8(ascii: "e") {
            k += 1
            var negativeExponent = false
            if k < n && (s[k] == UInt8(ascii: "+") || s[k] == UInt8(ascii: "-")) {
                negativeExponent = s[k] == UInt8(ascii: "-")
                k += 1
            }
            let digitsStart = k
            while k < n && isDigit(s[k]) {
                exponent = min(exponent * 10 + Int(s[k] &- UInt8(ascii: "0")), 100_000)  // far beyond any Int64
                k += 1
            }
            guard k > digitsStart else { return nil }
            if negativeExponent { exponent = -exponent }
        }
        guard k == n else { return nil }

        // The significant digits are the integer digits then the fraction digits; value = digits * 10^scale.
        let intCount = intEnd - intStart
        let count = intCount + (fracEnd - fracStart)
        @inline(__always) func digit(_ m: Int) -> UInt64 {
            UInt64(s[m < intCount ? intStart + m : fracStart + m - intCount] &- UInt8(ascii: "0"))
        }
        var first = 0
        while first < count && digit(first) == 0 { first += 1 }
        if first == count { return 0 }
        var last = count
        while digit(last - 1) == 0 { last -= 1 }
        // After dropping trailing zeros the last digit is non-zero, so a negative scale means a fraction.
        let scale = exponent - (fracEnd - fracStart) + (count - last)
        guard scale >= 0, last - first + scale <= 19 else { return nil }
        var magnitude: UInt64 = 0
        for m in first..<last {
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(digit(m))
            if o1 || o2 { return nil }
            magnitude = sum
        }
        for _ in 0..<scale {
            let (times10, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            magnitude = times10
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return Int64(truncatingIfNeeded: 0 &- magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// Number node `i` as a `Double`.
    public func double(_ i: Int) -> Double? {
        guard kind(i) == .number else { return nil }
        return Double(String(decoding: raw(i), as: UTF8.self))
    }
}
