// libFuzzer entry for the JSON reader and writer. Built by Fuzz/build.sh together with Sources/Sluice/JSON/*.swift
// into one module (no `import Sluice`), so internal helpers are visible. SwiftPM ignores this directory.
//
// Invariants checked on every input (a violation traps, which libFuzzer reports as a crash with the input):
// 1. parse either succeeds or throws a JSONError whose offset lies inside the input;
// 2. an accepted document's tape is well formed: ranges nested inside the input, `next` links within the tape,
//    the root spanning to the end of the tape;
// 3. an accepted document re-serialized through JSONView + JSONWriter is accepted again, and re-serializing that
//    gives the same bytes (writing is a fixed point after one round);
// 4. the input as arbitrary bytes, written as a JSON string, is accepted and unescapes to
//    `String(decoding:as: UTF8.self)` of the input, and `stringEquals` agrees with it.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    var reader = JSONReader(maxDepth: 64)
    do {
        try reader.parse(input)
        checkTape(reader, input)
        let once = rewrite(reader, input)
        var again = JSONReader(maxDepth: 64)
        let twice: [UInt8] = once.withUnsafeBytes { raw in
            do { try again.parse(raw) } catch { fatalError("re-serialized document rejected: \(error)") }
            return rewrite(again, raw)
        }
        precondition(once == twice, "re-serialization is not a fixed point")
    } catch {
        precondition(error.offset >= 0 && error.offset <= size, "error offset \(error.offset) outside \(size) bytes")
        precondition(reader.nodeCount == 0, "failed parse left a tape")
    }
    checkStringWriting(input)
    return 0
}

private func checkTape(_ reader: JSONReader, _ input: UnsafeRawBufferPointer) {
    reader.withView(of: input) { view in
        let count = view.nodes.count
        precondition(count >= 1 && Int(view.nodes[0].next) == count, "root does not span the tape")
        for i in 0..<count {
            let node = view.nodes[i]
            precondition(node.start >= 0 && node.start < node.end && Int(node.end) <= input.count, "node \(i) range")
            precondition(Int(node.next) > i && Int(node.next) <= count, "node \(i) next")
            if node.kind == .object || node.kind == .array {
                // Children lie inside the container's byte range.
                var child = i + 1
                while child < Int(node.next) {
                    precondition(view.nodes[child].start > node.start && view.nodes[child].end < node.end, "child outside container")
                    child = Int(view.nodes[child].next)
                }
                precondition(child == Int(node.next), "children overrun the container")
            }
        }
    }
}

private func rewrite(_ reader: JSONReader, _ input: UnsafeRawBufferPointer) -> [UInt8] {
    var writer = JSONWriter(capacity: input.count + 16)
    reader.withView(of: input) { write($0, 0, &writer) }
    return writer.bytes
}

private func write(_ view: JSONView, _ node: Int, _ w: inout JSONWriter) {
    switch view.kind(node) {
    case .object:
        w.appendByte(UInt8(ascii: "{"))
        var first = true
        view.forEachMember(of: node) { key, value in
            if !first { w.appendByte(UInt8(ascii: ",")) }
            first = false
            write(view, key, &w)
            w.appendByte(UInt8(ascii: ":"))
            write(view, value, &w)
        }
        w.appendByte(UInt8(ascii: "}"))
    case .array:
        w.appendByte(UInt8(ascii: "["))
        var first = true
        view.forEachElement(of: node) { element in
            if !first { w.appendByte(UInt8(ascii: ",")) }
            first = false
            write(view, element, &w)
        }
        w.appendByte(UInt8(ascii: "]"))
    case .string:
        var text: [UInt8] = []
        view.appendUnescaped(node, to: &text)
        // The reader validated the UTF-8, so the unescaped text is valid and the writer must not repair it.
        precondition(String(validating: text, as: UTF8.self) != nil, "unescaped string is not valid UTF-8")
        precondition(text.withUnsafeBytes { view.stringEquals(node, bytes: $0) }, "stringEquals disagrees with unescaping")
        text.withUnsafeBytes { w.appendString(utf8: $0) }
    case .number:
        _ = view.int64(node)  // must not trap on any valid number
        w.appendRaw(view.raw(node))
    case .true, .false, .null:
        w.appendRaw(view.raw(node))
    }
}

private func checkStringWriting(_ input: UnsafeRawBufferPointer) {
    var w = JSONWriter(capacity: input.count * 2 + 2)
    w.appendString(utf8: input)
    var reader = JSONReader()
    w.bytes.withUnsafeBytes { raw in
        do { try reader.parse(raw) } catch { fatalError("writer produced an invalid string: \(error)") }
        reader.withView(of: raw) { view in
            precondition(view.kind(0) == .string, "writer output is not a string")
            let expected = String(decoding: input, as: UTF8.self)
            precondition(view.unescapedString(0).utf8.elementsEqual(expected.utf8), "writer changed the text")
            var bytes = Array(expected.utf8)
            precondition(bytes.withUnsafeMutableBytes { view.stringEquals(0, bytes: UnsafeRawBufferPointer($0)) }, "stringEquals")
        }
    }
}
