// Stand-ins for pieces being written on other branches; each is removed when the real one is merged.

extension InputDecoder {
    func decodeSegmentBatch(_ view: JSONView, root: Int, batch: Int, _ context: DocumentContext, into chunk: inout EventChunk, invalid: inout [InvalidInput]) {
        invalid.append(InvalidInput(line: context.line, reason: "Segment input not yet supported", raw: view.bytes))
    }
    func decodeSegmentMessage(_ view: JSONView, _ node: Int, batchRoot: Int?, _ context: DocumentContext, into chunk: inout EventChunk) -> String? {
        "Segment input not yet supported"
    }
}
