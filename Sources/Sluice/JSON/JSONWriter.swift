/// Appends JSON to a byte buffer: escaped strings, exact integers, round-tripping doubles and verbatim raw values.
///
/// The writer never validates raw values handed to ``appendRaw(_:)-(UnsafeRawBufferPointer)``: they must come from
/// ``JSONReader`` (already validated) or be literal JSON. Everything else it writes is valid JSON by construction,
/// including strings built from invalid UTF-8 (each maximal ill-formed subpart becomes one U+FFFD, as in
/// `String(decoding:as:)`).
public struct JSONWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    /// Creates a writer with room for `capacity` bytes before it grows.
    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Wraps existing bytes; appends go after them.
    public init(appendingTo bytes: [UInt8]) { self.bytes = bytes }

    /// Appends already-valid JSON (or JSON punctuation) verbatim.
    @inline(__always)
    public mutating func appendRaw(_ raw: UnsafeRawBufferPointer) { appendBytes(raw) }

    /// Appends a literal fragment such as `{"type":"track","event":` verbatim.
    @inline(__always)
    public mutating func appendRaw(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends raw bytes through a typed buffer: `Array.append(contentsOf:)` copies a typed buffer with one
    /// `memcpy`, but walks an untyped one byte by byte (measured: about 70 instructions per call, the writer's
    /// largest cost).
    @inline(__always)
    mutating func appendBytes(_ raw: UnsafeRawBufferPointer) {
        guard let base = raw.baseAddress, raw.count > 0 else { return }
        base.withMemoryRebound(to: UInt8.self, capacity: raw.count) {
            bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: raw.count))
        }
    }

    /// Appends one byte verbatim (`,`, `}`...).
    @inline(__always)
    public mutating func appendByte(_ byte: UInt8) { bytes.append(byte) }

    /// Appends `null`.
    public mutating func appendNull() { appendRaw("null") }

    /// Appends `true` or `false`.
    public mutating func appendBool(_ value: Bool) { value ? appendRaw("true") : appendRaw("false") }

    /// Appends `value` as a quoted, escaped JSON string.
    public mutating func appendString(_ value: String) {
        var copy = value
        copy.withUTF8 { appendString(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// Appends UTF-8 bytes as a quoted, escaped JSON string; ill-formed UTF-8 becomes U+FFFD.
    public mutating func appendString(utf8 text: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "\""))
        appendEscapedContent(utf8: text)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends the escaped content of a string without its quotes (for building `"prefix:<content>"`).
    public mutating func appendEscapedContent(utf8 text: UnsafeRawBufferPointer) {
        let n = text.count
        guard n > 0, let base = text.baseAddress else { return }
        var i = 0
        var runStart = 0
        while i < n {
            i = StringScanning.skipPlainWords(base, from: i, end: n)
            guard i < n else { break }
            let c = text[i]
            if c >= 0x20 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") && c < 0x80 {
                i += 1
                continue
            }
            if c >= 0x80 {
                let length = JSONWriter.validUTF8Length(text, i)
                if length > 0 { i += length; continue }
                flush(text, runStart, i)
                appendRaw("\u{FFFD}")
                i += JSONWriter.maximalSubpartLength(text, i)
                runStart = i
                continue
            }
            flush(text, runStart, i)
            switch c {
            case UInt8(ascii: "\""): appendRaw("\\\"")
            case UInt8(ascii: "\\"): appendRaw("\\\\")
            case 0x0A: appendRaw("\\n")
            case 0x0D: appendRaw("\\r")
            case 0x09: appendRaw("\\t")
            case 0x08: appendRaw("\\b")
            case 0x0C: appendRaw("\\f")
            default:
                appendRaw("\\u00")
                bytes.append(UInt8(ascii: "0") + (c >> 4))  // c < 0x20: the high digit is 0 or 1
                let low = c & 0xF
                bytes.append(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
            }
            i += 1
            runStart = i
        }
        flush(text, runStart, n)
    }

    @inline(__always)
    private mutating func flush(_ text: UnsafeRawBufferPointer, _ from: Int, _ to: Int) {
        if to > from { appendBytes(UnsafeRawBufferPointer(start: text.baseAddress! + from, count: to - from)) }
    }

    /// Length of the well-formed UTF-8 sequence starting at `i`, or 0 when it is ill-formed.
    static func validUTF8Length(_ s: UnsafeRawBufferPointer, _ i: Int) -> Int {
        let n = s.count
        let c = s[i]
        @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            k < n && s[k] >= lo && s[k] <= hi
        }
        switch c {
        case 0xC2...0xDF: return cont(i + 1) ? 2 : 0
        case 0xE0: return cont(i + 1, 0xA0) && cont(i + 2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return cont(i + 1) && cont(i + 2) ? 3 : 0
        case 0xED: return cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? 3 : 0
        case 0xF0: return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0
        case 0xF1...0xF3: return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0
        case 0xF4: return cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? 4 : 0
        default: return 0
        }
    }

    /// Length of the ill-formed sequence starting at `i` that one U+FFFD replaces: the longest prefix of a
    /// well-formed sequence there, or one byte (Unicode's "maximal subpart" practice, which `String(decoding:as:)`
    /// also follows, so text the writer repairs reads back as the same `String`).
    static func maximalSubpartLength(_ s: UnsafeRawBufferPointer, _ i: Int) -> Int {
        let n = s.count
        let needed: Int, low: UInt8, high: UInt8  // continuation bytes needed; range allowed for the first one
        switch s[i] {
        case 0xC2...0xDF: (needed, low, high) = (1, 0x80, 0xBF)
        case 0xE0: (needed, low, high) = (2, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (needed, low, high) = (2, 0x80, 0xBF)
        case 0xED: (needed, low, high) = (2, 0x80, 0x9F)
        case 0xF0: (needed, low, high) = (3, 0x90, 0xBF)
        case 0xF1...0xF3: (needed, low, high) = (3, 0x80, 0xBF)
        case 0xF4: (needed, low, high) = (3, 0x80, 0x8F)
        default: return 1
        }
        var k = i + 1
        guard k < n, s[k] >= low, s[k] <= high else { return 1 }
        k += 1
        while k - i <= needed, k < n, s[k] & 0xC0 == 0x80 { k += 1 }
        return min(k - i, needed)  // a complete sequence would have been well-formed, so this stays below it
    }

    /// Appends an integer exactly, over the full `Int64` range.
    public mutating func appendInt(_ value: Int64) {
        var magnitude = value.magnitude
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        if magnitude < 10 { bytes.append(UInt8(ascii: "0") + UInt8(magnitude)); return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var k = 20
            while magnitude > 0 {
                k -= 1
                digits[k] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[k..<20]))
        }
    }

    /// Appends a double in its shortest form that reads back as the same value; NaN and infinities (which JSON
    /// cannot represent) are written as `null`.
    public mutating func appendDouble(_ value: Double) {
        guard value.isFinite else { appendNull(); return }
        if value == 0 && value.sign == .minus {
            appendRaw("-0.0")  // keep the sign: "-0" reads back as the integer 0 in some decoders
            return
        }
        if value == value.rounded(), abs(value) < 1e15 {
            appendInt(Int64(value))  // integral values read better without ".0"
            return
        }
        bytes.append(contentsOf: value.description.utf8)
    }
}
