import Foundation

/// One destination's ledger on disk: `cursor-NAME.json`, holding what the destination has settled.
///
/// The file has two fixed-size slots, each one line: the CRC-32C of the JSON (8 hex digits), a space, the JSON,
/// a newline (the rest of the slot is padding, or the end of an older, longer line).
///
/// ```
/// 6b1c03f2 {"destination":"segment","frontier":1041,"generation":12,"settled":[[1043,1050],[1052,1052]],"version":2}
/// ```
/// A new ledger is written in place (`pwrite`) over the older of the two slots, its `generation` one higher; the
/// reader takes the valid slot with the higher generation. A crash of the process cannot tear a `pwrite` into
/// the page cache, and a power cut that tears one slot leaves the other whole, so a reader always finds a
/// complete ledger: the previous or the new one. Writing in place is what makes a ledger cheap enough to write
/// after every batch (a few microseconds: no file is created and no rename made, where ext4 makes a rename over
/// an existing file cost about a millisecond) and lets it be written on a full disk (the blocks exist).
///
/// A version-1 file (one JSON object, replaced by rename) is still read; the spool rewrites it as version 2.
enum SpoolCursorFile {
    static let version = 2
    /// Bytes per slot: room for ``SettledSequences/maxRanges`` ranges of 20-digit numbers and the name (which
    /// the file name bounds: at most 255 bytes, so its JSON is at most about 1.5 KB).
    static let slotSize = 16 << 10

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

    /// Where in the file the slot for `generation` starts.
    static func slotOffset(generation: UInt64) -> Int { Int(generation % 2) * slotSize }

    /// One slot's line: CRC, space, JSON, newline. Encoded by hand: this runs after every batch.
    static func line(destination: String, settled: SettledSequences, generation: UInt64) -> [UInt8] {
        var json: [UInt8] = []
        json.reserveCapacity(96 + destination.utf8.count + settled.ranges.count * 24)
        json += Array(#"{"destination":"#.utf8)
        appendQuoted(destination, to: &json)
        json += Array(#","frontier":\#(settled.frontier),"generation":\#(generation),"settled":["#.utf8)
        for (index, range) in settled.ranges.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json += Array("[\(range.lowerBound),\(range.upperBound)]".utf8)
        }
        json += Array(#"],"version":\#(version)}"#.utf8)
        var line = Array(String(CRC32C.checksum(json), radix: 16).leftPadded(to: 8).utf8)
        line.append(UInt8(ascii: " "))
        line += json
        line.append(0x0A)
        return line
    }

    /// A whole new file: the ledger in slot 0 (generation 0) and slot 1 (generation 1), each padded to the slot
    /// size, so that later in-place writes never need new blocks.
    static func image(destination: String, settled: SettledSequences) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2 * slotSize)
        for generation in UInt64(0)...1 {
            let line = line(destination: destination, settled: settled, generation: generation)
            bytes += line
            bytes += [UInt8](repeating: UInt8(ascii: " "), count: max(0, slotSize - line.count - 1))
            bytes.append(0x0A)
        }
        return bytes
    }

    /// What a cursor file holds: its destination, the settled set, and the generation of the slot it came from.
    struct Ledger: Equatable {
        var destination: String
        var settled: SettledSequences
        var generation: UInt64
    }

    /// The destination name and settled set in a cursor file (the newer valid slot); a clear error for anything else.
    static func decode(_ bytes: [UInt8], file: String) throws -> (destination: String, settled: SettledSequences) {
        let ledger = try decodeLedger(bytes, file: file)
        return (ledger.destination, ledger.settled)
    }

    static func decodeLedger(_ bytes: [UInt8], file: String) throws -> Ledger {
        // Version 1: the whole file is one JSON object.
        if bytes.first == UInt8(ascii: "{") { return try decodeObject(bytes[...], file: file, expecting: 1) }
        var best: Ledger?
        var firstError: SpoolError?
        for start in stride(from: 0, to: min(bytes.count, 2 * slotSize), by: slotSize) {
            let slot = bytes[start..<min(bytes.count, start + slotSize)]
            do {
                let ledger = try decodeSlot(slot, file: file)
                if best.map({ ledger.generation > $0.generation }) ?? true { best = ledger }
            } catch let error as SpoolError {
                // An unknown version is never a torn slot: say so whatever the other slot holds.
                if error.isUnknownVersion { throw error }
                firstError = firstError ?? error
            }
        }
        if let best { return best }
        throw firstError ?? SpoolError("spool: \(file) is empty (not a cursor file)")
    }

    private static func decodeSlot(_ slot: ArraySlice<UInt8>, file: String) throws -> Ledger {
        guard let newline = slot.firstIndex(of: 0x0A), newline - slot.startIndex > 9,
              slot[slot.startIndex + 8] == UInt8(ascii: " "),
              let crc = UInt32(String(decoding: slot[slot.startIndex..<slot.startIndex + 8], as: UTF8.self), radix: 16) else {
            throw SpoolError("spool: \(file) is not a cursor file (no ledger line)")
        }
        let json = slot[(slot.startIndex + 9)..<newline]
        guard CRC32C.checksum(Array(json)) == crc else {
            throw SpoolError("spool: \(file): a ledger fails its CRC (torn by a power cut, or edited)")
        }
        return try decodeObject(json, file: file, expecting: version)
    }

    private static func decodeObject(_ bytes: ArraySlice<UInt8>, file: String, expecting expected: Int) throws -> Ledger {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw SpoolError("spool: \(file) is not a cursor file (not a JSON object)")
        }
        guard let version = object["version"] as? Int else { throw SpoolError("spool: \(file) has no format version") }
        guard version == expected else {
            throw SpoolError("spool: \(file) has format version \(version); this Sluice reads versions 1 and \(Self.version)",
                             isUnknownVersion: true)
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
        let generation = (object["generation"] as? NSNumber).flatMap { UInt64(exactly: $0.doubleValue) } ?? 0
        return Ledger(destination: destination, settled: SettledSequences(frontier: frontier, ranges: ranges), generation: generation)
    }

    /// `text` as a JSON string literal.
    private static func appendQuoted(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0..<0x20:
                bytes += Array("\\u00".utf8) + Array(String(byte, radix: 16).leftPadded(to: 2).utf8)
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
