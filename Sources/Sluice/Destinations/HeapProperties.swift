#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Heap property values are flat: strings or numbers of fewer than 1024 characters. This writes a Statsig
/// `value` and `metadata` as such properties, without a parser or a heap allocation in the common case.
///
/// - Nested objects flatten into dotted keys (`metadata.gate`, `metadata.context.page`), up to
///   ``maxDepth`` levels; anything deeper is kept as its JSON text under the last key.
/// - Arrays are joined with `,` (strings without quotes, other values as JSON text).
/// - Booleans become `"true"` / `"false"` (Heap takes no booleans); nulls are left out.
/// - Strings are cut to ``maxCharacters`` UTF-16 code units (what Heap's JavaScript backend counts), never
///   inside a character.
///
/// Input spans are JSON the engine already validated (or wrote), so scanning needs no error handling.
enum HeapProperties {
    /// Heap wants property values of fewer than 1024 characters.
    static let maxCharacters = 1023
    /// Levels of nesting flattened into dotted keys.
    static let maxDepth = 16
    /// Heap's limit on a property name. A longer (flattened, dotted) name makes Heap reject the whole request,
    /// so such a property is left out and counted (``DestinationCounters``: `propertyNamesTooLong`); the
    /// event and the rest of its properties still go.
    static let maxNameCharacters = 1024
    /// The counter name for properties left out for an overlong name.
    static let tooLongCounter = "propertyNamesTooLong"

    /// Appends `"<name>":<value>` members (each preceded by a comma unless `first`) for the JSON value in
    /// `bytes[range]` under key path `name`; objects expand into one member per leaf. Returns whether it
    /// wrote nothing (so `first` stays true for the caller).
    @discardableResult
    static func appendMembers(named name: StaticString, value range: Range<Int>, in bytes: UnsafeRawBufferPointer,
                              first: Bool, to out: inout [UInt8]) -> Bool {
        var dropped = 0
        return appendMembers(named: name, value: range, in: bytes, first: first, dropped: &dropped, to: &out)
    }

    /// ``appendMembers(named:value:in:first:to:)``, counting properties left out for an overlong name.
    @discardableResult
    static func appendMembers(named name: StaticString, value range: Range<Int>, in bytes: UnsafeRawBufferPointer,
                              first: Bool, dropped: inout Int, to out: inout [UInt8]) -> Bool {
        withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: maxDepth) { path in
            var first = first
            let start = Scanner.skipSpace(bytes, range.lowerBound)
            // A span is exactly one value, so its end is the value's end: no need to scan for it.
            flatten(start..<range.upperBound, bytes: bytes, root: name, path: path, depth: 0, first: &first, dropped: &dropped, out: &out)
            return first
        }
    }

    /// Appends members for every member of the object at `bytes[range]`, keyed by the member names alone
    /// (`{"gate_a": true}` -> `"gate_a":"true"`), for Heap's initialize events.
    @discardableResult
    static func appendMembers(ofObject range: Range<Int>, in bytes: UnsafeRawBufferPointer, first: Bool,
                              dropped: inout Int, to out: inout [UInt8]) -> Bool {
        withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: maxDepth) { path in
            var first = first
            let start = Scanner.skipSpace(bytes, range.lowerBound)
            Scanner.forEachMember(bytes, start) { key, value in
                path[0] = key
                flatten(value, bytes: bytes, root: nil, path: path, depth: 1, first: &first, dropped: &dropped, out: &out)
            }
            return first
        }
    }

    /// Writes the value at `value` under `root` + `path[0..<depth]`.
    private static func flatten(_ value: Range<Int>, bytes: UnsafeRawBufferPointer, root: StaticString?,
                                path: UnsafeMutableBufferPointer<Range<Int>>, depth: Int, first: inout Bool,
                                dropped: inout Int, out: inout [UInt8]) {
        let c = bytes[value.lowerBound]
        if c == UInt8(ascii: "{"), depth < path.count {
            Scanner.forEachMember(bytes, value.lowerBound) { key, value in
                path[depth] = key
                flatten(value, bytes: bytes, root: root, path: path, depth: depth + 1, first: &first, dropped: &dropped, out: &out)
            }
            return
        }
        if c == UInt8(ascii: "n") { return }  // null: no property
        if nameIsTooLong(bytes, root: root, path: path, depth: depth) {
            dropped += 1
            return
        }
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        out.append(UInt8(ascii: "\""))
        var dot = false
        if let root {
            out.append(contentsOf: UnsafeRawBufferPointer(start: root.utf8Start, count: root.utf8CodeUnitCount))
            dot = true
        }
        for level in 0..<depth {
            if dot { out.append(UInt8(ascii: ".")) }
            dot = true
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[path[level]]))
        }
        out.appendLiteral("\":")
        appendValue(value, bytes: bytes, to: &out)
    }

    /// Whether the dotted name `root.path[0]...path[depth-1]` has more than ``maxNameCharacters`` characters.
    /// Escaped bytes are never fewer than the characters they encode, so short names need no counting.
    private static func nameIsTooLong(_ bytes: UnsafeRawBufferPointer, root: StaticString?,
                                      path: UnsafeMutableBufferPointer<Range<Int>>, depth: Int) -> Bool {
        var rawLength = (root?.utf8CodeUnitCount ?? -1) + depth
        for level in 0..<depth { rawLength += path[level].count }
        guard rawLength > maxNameCharacters else { return false }
        var name: [UInt8] = [UInt8(ascii: "\"")]
        if let root { name.append(contentsOf: UnsafeRawBufferPointer(start: root.utf8Start, count: root.utf8CodeUnitCount)) }
        for level in 0..<depth {
            if level > 0 || root != nil { name.append(UInt8(ascii: ".")) }
            name.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[path[level]]))
        }
        name.append(UInt8(ascii: "\""))
        return name.withUnsafeBytes { characters(ofRawString: $0) } > maxNameCharacters
    }

    /// Writes one flat value: a number verbatim, anything else as a string of at most ``maxCharacters``.
    static func appendValue(_ value: Range<Int>, bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let (start, end) = (value.lowerBound, value.upperBound)
        switch bytes[start] {
        case UInt8(ascii: "\""):
            // Escaped bytes are never fewer than the characters they encode: short raw strings fit as they are.
            if end - start - 2 <= maxCharacters {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            } else {
                var text: [UInt8] = []
                Scanner.appendUnescaped(bytes, start..<end, to: &text)
                appendCut(text, to: &out)
            }
        case UInt8(ascii: "t"): out.appendLiteral("\"true\"")
        case UInt8(ascii: "f"): out.appendLiteral("\"false\"")
        case UInt8(ascii: "["):
            var text: [UInt8] = []
            var firstElement = true
            Scanner.forEachElement(bytes, start) { element in
                let elementEnd = Scanner.valueEnd(bytes, element)
                if bytes[element] == UInt8(ascii: "n") { return }
                if !firstElement { text.append(UInt8(ascii: ",")) }
                firstElement = false
                if bytes[element] == UInt8(ascii: "\"") {
                    Scanner.appendUnescaped(bytes, element..<elementEnd, to: &text)
                } else {
                    text.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[element..<elementEnd]))
                }
            }
            appendCut(text, to: &out)
        case UInt8(ascii: "{"):
            appendCut(Array(UnsafeRawBufferPointer(rebasing: bytes[start..<end])), to: &out)  // nested too deep
        default:
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))  // a number
        }
    }

    /// Writes UTF-8 `text` as a JSON string, cut to ``maxCharacters`` UTF-16 code units at a character boundary.
    static func appendCut(_ text: [UInt8], to out: inout [UInt8]) {
        var units = 0
        var cut = 0
        var i = 0
        while i < text.count {
            let lead = text[i]
            let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
            let width = length == 4 ? 2 : 1
            if units + width > maxCharacters { break }
            units += width
            i = min(i + length, text.count)
            cut = i
        }
        text.withUnsafeBytes { raw in
            out.withJSONWriter { $0.appendString(utf8: UnsafeRawBufferPointer(rebasing: raw[0..<cut])) }
        }
    }

    /// The length of a raw JSON string's text in UTF-16 code units (Heap's "characters").
    static func characters(ofRawString raw: UnsafeRawBufferPointer) -> Int {
        if raw.count - 2 <= 0 { return 0 }
        var text: [UInt8] = []
        Scanner.appendUnescaped(raw, 0..<raw.count, to: &text)
        return text.reduce(0) { count, byte in
            // Every lead byte starts a character; 4-byte sequences are two UTF-16 units.
            byte & 0xC0 == 0x80 ? count : count + (byte >= 0xF0 ? 2 : 1)
        }
    }

    /// Walks JSON that is known to be valid.
    enum Scanner {
        @inline(__always)
        static func skipSpace(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int {
            var i = i
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
            return i
        }

        /// One past the end of the value starting at `i`.
        static func valueEnd(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int {
            switch b[i] {
            case UInt8(ascii: "\""):
                // memchr to each quote; it ends the string unless an odd run of backslashes escapes it.
                var k = i + 1
                while true {
                    let found = memchr(b.baseAddress! + k, Int32(UInt8(ascii: "\"")), b.count - k)!
                    let q = found - UnsafeMutableRawPointer(mutating: b.baseAddress!)
                    var slashes = 0
                    while b[q - 1 - slashes] == UInt8(ascii: "\\") { slashes += 1 }
                    if slashes % 2 == 0 { return q + 1 }
                    k = q + 1
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                var k = i
                repeat {
                    switch b[k] {
                    case UInt8(ascii: "\""): k = valueEnd(b, k); continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                    default: break
                    }
                    k += 1
                } while depth > 0
                return k
            default:
                var k = i
                while k < b.count {
                    switch b[k] {
                    case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09: return k
                    default: k += 1
                    }
                }
                return k
            }
        }

        /// Calls `body` with each member's key content range (between the quotes, escaped) and value range.
        static func forEachMember(_ b: UnsafeRawBufferPointer, _ object: Int, _ body: (Range<Int>, Range<Int>) -> Void) {
            var i = skipSpace(b, object + 1)
            while b[i] != UInt8(ascii: "}") {
                let keyEnd = valueEnd(b, i)
                let key = (i + 1)..<(keyEnd - 1)
                i = skipSpace(b, keyEnd) + 1  // past ':'
                let value = skipSpace(b, i)
                let end = valueEnd(b, value)
                body(key, value..<end)
                i = skipSpace(b, end)
                if b[i] == UInt8(ascii: ",") { i = skipSpace(b, i + 1) }
            }
        }

        /// Calls `body` with the start of each element of the array at `array`.
        static func forEachElement(_ b: UnsafeRawBufferPointer, _ array: Int, _ body: (Int) -> Void) {
            var i = skipSpace(b, array + 1)
            while b[i] != UInt8(ascii: "]") {
                body(i)
                i = skipSpace(b, valueEnd(b, i))
                if b[i] == UInt8(ascii: ",") { i = skipSpace(b, i + 1) }
            }
        }

        /// The member `key` of the object at `object`: its value start, or nil.
        static func member(_ b: UnsafeRawBufferPointer, _ object: Int, _ key: StaticString) -> Int? {
            var found: Int?
            let wanted = UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
            forEachMember(b, object) { k, v in
                if k.count == wanted.count, UnsafeRawBufferPointer(rebasing: b[k]).elementsEqual(wanted) { found = v.lowerBound }
            }
            return found
        }

        /// Appends the unescaped UTF-8 text of the raw string at `range` (quotes included).
        static func appendUnescaped(_ b: UnsafeRawBufferPointer, _ range: Range<Int>, to out: inout [UInt8]) {
            let raw = UnsafeRawBufferPointer(rebasing: b[range])
            guard raw.contains(UInt8(ascii: "\\")) else {
                out.append(contentsOf: raw.dropFirst().dropLast())
                return
            }
            var reader = JSONReader(maxDepth: 1)
            guard (try? reader.parse(raw)) != nil else { return }
            reader.withView(of: raw) { $0.appendUnescaped(0, to: &out) }
        }
    }
}
