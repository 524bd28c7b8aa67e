/// Numbers beyond a `Double`'s range (`1e400`) are valid JSON but not valid data for the destinations: Sluice
/// copies numbers byte for byte into Segment, Heap and Statsig bodies, where a strict parser rejects the whole
/// batch (or reads infinity). Such an event is invalid at ingest, with the number in the reason, and never
/// takes a batch of good events with it.
extension InputDecoder {
    /// Why the values at `nodes` (an event and the shared parts it inherits) cannot be forwarded, or nil.
    ///
    /// Free on the common path: the reader flags a document only when it holds a number with an exponent or
    /// hundreds of digits, and only then are the subtrees' numbers parsed.
    func numberBeyondDouble(_ view: JSONView, _ nodes: Int?...) -> String? {
        guard reader.hasWideNumbers else { return nil }
        for case let node? in nodes {
            for index in node..<Int(view.nodes[node].next) where view.kind(index) == .number {
                let raw = view.raw(index)
                guard raw.count > 300 || raw.contains(where: { $0 | 0x20 == UInt8(ascii: "e") }) else { continue }
                if let value = view.double(index), value.isFinite { continue }
                let text = String(decoding: raw.prefix(40), as: UTF8.self) + (raw.count > 40 ? "…" : "")
                return "number \(text) is beyond the range of a double (destinations would reject the batch)"
            }
        }
        return nil
    }
}
