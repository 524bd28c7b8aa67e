/// Appends JSON to a byte buffer: escaped strings, exact integers, round-tripping doubles and verbatim raw values.
///
/// The writer never validates raw values handed to ``appendRaw(_:)-(UnsafeRawBufferPointer)``: they must come from
/// ``JSONReader`` (already validated) or be literal JSON. Everything else it writes is valid JSON by construction,
/// including strings built from invalid UTF-8 (each ill-formed sequence becomes U+FFFD).
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
    public mutating func appendRaw(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    /// Appends a literal fragment such as `{"type":"track","event":` verbatim.
    @inline(__always)
    public mutating func appendRaw(_ literal: StaticString) {
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
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
        var i = 0
        var runStart = 0
        while i < n {
            let c = text[i]
            if c >= 0x20 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") && c < 0x80 {
                i += 1
                continue
            }
            if c >= 0x80 {
                let length = JSONWriter.validUTF8Length(text, i)
                if length > 0 { i += length; continue }
                flush(text, runStart, i)
                bytes.append(contentsOf: [0xEF, 0xBF, 0xBD] as [UInt8])  // U+FFFD for one ill-formed byte
                i += 1
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
                bytes.append(JSONWriter.hexDigits[Int(c >> 4)])
                bytes.append(JSONWriter.hexDigits[Int(c & 0xF)])
            }
            i += 1
            runStart = i
        }
        flush(text, runStart, n)
    }

    @inline(__always)
    private mutating func flush(_ text: UnsafeRawBufferPointer, _ from: Int, _ to: Int) {
        if to > from { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[from..<to])) }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

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
        if value == value.rounded(), abs(value) < 1e15 {
            appendInt(Int64(value))  // integral values read better without ".0"
            return
        }
        bytes.append(contentsOf: value.description.utf8)
    }
}
