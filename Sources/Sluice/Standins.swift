// Stand-ins for pieces being written on other branches; each is removed when the real one is merged.

public enum EventCategory: String, Sendable, CaseIterable {
    case custom, gateExposure = "gate_exposure", configExposure = "config_exposure", experimentExposure = "experiment_exposure", layerExposure = "layer_exposure", initialize, `internal`
    static func of(eventName bytes: UnsafeRawBufferPointer) -> EventCategory {
        let s = String(decoding: bytes, as: UTF8.self)
        switch s {
        case "statsig::gate_exposure": return .gateExposure
        case "statsig::config_exposure": return .configExposure
        case "statsig::experiment_exposure": return .experimentExposure
        case "statsig::layer_exposure": return .layerExposure
        case "statsig::initialize": return .initialize
        default: return s.hasPrefix("statsig::") ? .internal : .custom
        }
    }
}

struct EventNamePattern {
    let text: String
    init(_ text: String) { self.text = text }
    func matches(_ name: UnsafeRawBufferPointer) -> Bool { text == "*" || text == String(decoding: name, as: UTF8.self) }
}

enum ISO8601 {
    static func parseMilliseconds(_ bytes: UnsafeRawBufferPointer) -> Int64? { nil }
    static func appendTimestamp(milliseconds: Int64, to buffer: inout [UInt8]) {}
    static func string(milliseconds: Int64) -> String { "" }
}

extension InputDecoder {
    func decodeSegmentBatch(_ view: JSONView, root: Int, batch: Int, _ context: DocumentContext, into chunk: inout EventChunk, invalid: inout [InvalidInput]) {
        invalid.append(InvalidInput(line: context.line, reason: "Segment input not yet supported", raw: view.bytes))
    }
    func decodeSegmentMessage(_ view: JSONView, _ node: Int, batchRoot: Int?, _ context: DocumentContext, into chunk: inout EventChunk) -> String? {
        "Segment input not yet supported"
    }
}
