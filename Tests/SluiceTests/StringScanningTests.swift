import Testing
@testable import Sluice

/// The word-at-a-time (SWAR) string scanner against a byte-by-byte reference, at every start and end offset
/// relative to eight-byte boundaries, with the buffer at every alignment, and with bytes right outside the scanned
/// range that would change the answer if a shifted or overlapping load let them in.
@Suite("StringScanning: the SWAR scanner matches the byte-by-byte one")
struct StringScanningTests {
    /// Bytes that stop a string scan, and their neighbours, which must not.
    static let stringSpecials: [UInt8] = [0x22, 0x5C, 0x00, 0x01, 0x1F, 0x80, 0xBF, 0xC3, 0xE2, 0xF0, 0xFF]
    static let stringNeighbours: [UInt8] = [0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7E, 0x7F, 0x61]

    /// Runs `check(base, start, end)` for a buffer holding `content` at each alignment, every start in
    /// `0...content.count`, with `outside` filling the bytes before `start` and after the end.
    static func forEachPlacement(_ content: [UInt8], outside: UInt8,
                                 _ check: (UnsafeRawPointer, Int, Int) -> Void) {
        let n = content.count
        let storage = UnsafeMutableRawPointer.allocate(byteCount: n + 32, alignment: 8)
        defer { storage.deallocate() }
        for alignment in 0..<8 {
            let base = storage + 8 + alignment
            for start in 0...n {
                storage.initializeMemory(as: UInt8.self, repeating: outside, count: n + 32)
                for k in start..<n { base.storeBytes(of: content[k], toByteOffset: k, as: UInt8.self) }
                check(UnsafeRawPointer(base), start, n)
            }
        }
    }

    /// The byte-by-byte reference: the first quote, backslash, control or non-ASCII byte at or after `start`, or `end`.
    static func firstSpecialByte(_ base: UnsafeRawPointer, from start: Int, end: Int) -> Int {
        var i = start
        while i < end {
            let c = base.load(fromByteOffset: i, as: UInt8.self)
            if c < 0x20 || c >= 0x80 || c == 0x22 || c == 0x5C { return i }
            i += 1
        }
        return end
    }

    static func expectPlainScansAgree(_ content: [UInt8], outside: UInt8) {
        forEachPlacement(content, outside: outside) { base, start, end in
            let expected = Self.firstSpecialByte(base, from: start, end: end)
            // The whole-words scan stops at the same byte, or earlier at the start of the last partial word
            // (fewer than eight bytes before the end), which its callers finish byte by byte.
            let words = StringScanning.skipPlainWords(base, from: start, end: end)
            #expect(words == expected || (words >= start && words < expected && words + 8 > end),
                    "skipPlainWords \(content) from \(start): \(words), bytewise \(expected)")
            if end - start >= 8 && expected - start < (end - start) / 8 * 8 {
                #expect(words == expected, "a hit inside a whole word: \(content) from \(start)")
            }
        }
    }

    @Test("one stopping byte (or a neighbour that must not stop) at every offset of buffers of 0 to 24 bytes")
    func singleSpecialEverywhere() {
        for n in 0...24 {
            for position in 0..<n {
                for byte in Self.stringSpecials + Self.stringNeighbours {
                    var content = [UInt8](repeating: UInt8(ascii: "k"), count: n)
                    content[position] = byte
                    Self.expectPlainScansAgree(content, outside: 0x22)
                }
            }
            Self.expectPlainScansAgree([UInt8](repeating: UInt8(ascii: "k"), count: n), outside: 0x5C)
        }
    }

    @Test("random strings with quotes, backslashes, control bytes, multi-byte and invalid UTF-8")
    func randomStrings() {
        var random = SplitMix64(seed: 0x5EED_0008)
        let multiByte: [[UInt8]] = [[0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80], [0xC3], [0xED, 0xA0, 0x80]]
        for _ in 0..<400 {
            let n = Int(random.next() % 40)
            var content: [UInt8] = []
            while content.count < n {
                switch random.next() % 8 {
                case 0: content.append(Self.stringSpecials[Int(random.next() % UInt64(Self.stringSpecials.count))])
                case 1: content += multiByte[Int(random.next() % UInt64(multiByte.count))]
                default: content.append(UInt8(0x20 + random.next() % 0x5F))
                }
            }
            Self.expectPlainScansAgree(content, outside: [0x22, 0x00, 0xFF][Int(random.next() % 3)])
        }
    }

    /// Pieces of string content and whether each is valid inside a JSON string.
    static let pieces: [(bytes: [UInt8], valid: Bool, escape: Bool)] = [
        (Array("plain".utf8), true, false), (Array("x".utf8), true, false), (Array(" ".utf8), true, false),
        (Array(#"\""#.utf8), true, true), (Array(#"\\"#.utf8), true, true), (Array(#"\n"#.utf8), true, true),
        (Array(#"\u00e9"#.utf8), true, true), (Array(#"\ud83d\ude00"#.utf8), true, true),
        ([0xC3, 0xA9], true, false), ([0xE2, 0x82, 0xAC], true, false), ([0xF0, 0x9F, 0x98, 0x80], true, false),
        ([0x7F], true, false),
        ([0x01], false, false), ([0x1F], false, false), ([0xFF], false, false), ([0xC3], false, false),
        ([0xED, 0xA0, 0x80], false, false), ([0xC0, 0xAF], false, false), ([0x22], false, false),
        (Array(#"\x"#.utf8), false, false), (Array(#"\udc00"#.utf8), false, false),
    ]

    @Test("the reader accepts a string exactly when every piece is valid, at every distance from the document's end")
    func readerStringsNearTheEnd() throws {
        var random = SplitMix64(seed: 0x0E4D_0F00)
        var reader = JSONReader()
        var accepted = 0, rejected = 0
        for _ in 0..<600 {
            var content: [UInt8] = []
            var valid = true, escaped = false
            for _ in 0..<Int(random.next() % 5) {
                let piece = Self.pieces[Int(random.next() % UInt64(Self.pieces.count))]
                content += piece.bytes
                valid = valid && piece.valid
                escaped = escaped || piece.escape
            }
            // 0-9 bytes after the closing quote: as a bare string, in an array, in an object, with spaces.
            for suffix in 0..<10 {
                let padding = [UInt8](repeating: 0x20, count: suffix)
                for (prefix, close) in [([UInt8](), [UInt8]()), (Array("[".utf8), Array("]".utf8)), (Array(#"{"k":"#.utf8), Array("}".utf8))] {
                    let document = prefix + [0x22] + content + [0x22] + close + padding
                    let node = prefix.isEmpty ? 0 : (prefix.count == 1 ? 1 : 2)
                    do {
                        try reader.parse(document)
                        #expect(valid, "accepted \(document)")
                        let string = reader.nodes[node]
                        #expect(string.kind == .string && Int(string.start) == prefix.count
                                && Int(string.end) == prefix.count + content.count + 2 && string.hasEscapes == escaped,
                                "\(document): \(string)")
                        accepted += 1
                    } catch {
                        #expect(!valid, "rejected \(document): \(error)")
                        rejected += 1
                    }
                }
            }
        }
        #expect(accepted > 1000 && rejected > 1000)
    }

    @Test("the reader's numbers: digit runs of every length up to the document's end, and what must follow them")
    func readerNumbersNearTheEnd() throws {
        var reader = JSONReader()
        for length in 1...20 {
            let digits = (0..<length).map { UInt8(ascii: "1") + UInt8($0 % 9) }
            for suffix in 0..<10 {
                let padding = [UInt8](repeating: 0x20, count: suffix)
                for number in [digits, Array("-".utf8) + digits, digits + Array(".5".utf8) + digits,
                               digits + Array("e+".utf8) + digits, Array("0.".utf8) + digits] {
                    try reader.parse(number + padding)
                    #expect(Int(reader.nodes[0].end) == number.count && reader.nodes[0].kind == .number)
                    try reader.parse(Array("[".utf8) + number + Array("]".utf8) + padding)
                    #expect(Int(reader.nodes[1].end) == 1 + number.count)
                }
                for bad in [Array("0".utf8) + digits, digits + Array(".".utf8), digits + Array("e".utf8),
                            digits + [0xB5], digits + Array("x".utf8)] {
                    #expect(throws: JSONError.self, "\(bad)") { try reader.parse(bad + padding) }
                }
            }
        }
    }
}
