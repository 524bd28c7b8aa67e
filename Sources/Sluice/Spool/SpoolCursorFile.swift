import Foundation

/// One destination's ledger on disk: `cursor-NAME.json`, holding what the destination has settled.
///
/// ```json
/// {"version": 1, "destination": "segment", "frontier": 1041, "settled": [[1043, 1050], [1052, 1052]]}
/// ```
/// It is replaced atomically (``SpoolDirectory/writeAtomically(_:_:)``) each time it changes, at most once per
/// `syncIntervalMs`, so a crash leaves the previous or the new ledger, never half of one.
enum SpoolCursorFile {
    static let version = 1

    /// The file name for a destination. Names are user-chosen, so anything outside `[A-Za-z0-9._-]` is
    /// written as `%XX` (a name can never escape the directory or collide with the spool's other files).
    static func name(for destination: String) -> String {
        var encoded = ""
        for byte in destination.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: ".") where !encoded.isEmpty:
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return "cursor-" + encoded + ".json"
    }

    static func isCursorFile(_ name: String) -> Bool { name.hasPrefix("cursor-") && name.hasSuffix(".json") }

    /// The file's bytes: keys in sorted order, one line. Written by hand rather than with `JSONSerialization`:
    /// this runs on every cursor write (up to a thousand a second), where Foundation's serializer cost about 2%
    /// of a spooled run's CPU.
    static func encode(destination: String, settled: SettledSequences) -> [UInt8] {
        var w = JSONWriter(capacity: 80 + destination.utf8.count + 24 * settled.ranges.count)
        w.appendRaw("{\"destination\":")
        w.appendString(destination)
        w.appendRaw(",\"frontier\":")
        appendDecimal(settled.frontier, to: &w)
        w.appendRaw(",\"settled\":[")
        for (i, range) in settled.ranges.enumerated() {
            w.appendRaw(i == 0 ? "[" : ",[")
            appendDecimal(range.lowerBound, to: &w)
            w.appendByte(UInt8(ascii: ","))
            appendDecimal(range.upperBound, to: &w)
            w.appendByte(UInt8(ascii: "]"))
        }
        w.appendRaw("],\"version\":")
        w.appendInt(Int64(version))
        w.appendRaw("}\n")
        return w.bytes
    }

    private static func appendDecimal(_ value: UInt64, to w: inout JSONWriter) {
        var digits = String(value)
        digits.withUTF8 { w.appendRaw(UnsafeRawBufferPointer($0)) }
    }

    /// The destination name and settled set in a cursor file; a clear error for anything else.
    static func decode(_ bytes: [UInt8], file: String) throws -> (destination: String, settled: SettledSequences) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw SpoolError("spool: \(file) is not a cursor file (not a JSON object)")
        }
        guard let version = object["version"] as? Int else { throw SpoolError("spool: \(file) has no format version") }
        guard version == Self.version else {
            throw SpoolError("spool: \(file) has format version \(version); this Sluice reads version \(Self.version)", isUnknownVersion: true)
        }
        guard let destination = object["destination"] as? String,
              let frontier = (object["frontier"] as? NSNumber).flatMap({ UInt64(exactly: $0.doubleValue) }) else {
            throw SpoolError("spool: \(file) lacks \"destination\" or a valid \"frontier\"")
        }
        var ranges: [ClosedRange<UInt64>] = []
        for pair in object["settled"] as? [[NSNumber]] ?? [] {
            guard pair.count == 2, let low = UInt64(exactly: pair[0].doubleValue), let high = UInt64(exactly: pair[1].doubleValue),
                  low <= high else {
                throw SpoolError("spool: \(file) has an invalid settled range \(pair)")
            }
            ranges.append(low...high)
        }
        return (destination, SettledSequences(frontier: frontier, ranges: ranges))
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
