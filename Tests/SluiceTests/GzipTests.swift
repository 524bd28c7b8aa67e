import Testing
@testable import Sluice

@Suite struct GzipTests {
    @Test func compressThenDecompressGivesTheSameBytes() throws {
        var bytes: [UInt8] = []
        for i in 0..<200_000 { bytes.append(UInt8(truncatingIfNeeded: i &* 31 &+ i / 7)) }
        let packed = Gzip.compress(bytes)
        #expect(Gzip.hasMagic(packed))
        #expect(try Gzip.decompress(packed, limit: bytes.count) == bytes)
    }

    @Test func emptyInputRoundTrips() throws {
        #expect(try Gzip.decompress(Gzip.compress([]), limit: 0) == [])
    }

    @Test func concatenatedMembersDecompressAsOneStream() throws {
        let a = Array("{\"eventName\":\"a\"}\n".utf8), b = Array("{\"eventName\":\"b\"}\n".utf8)
        #expect(try Gzip.decompress(Gzip.compress(a) + Gzip.compress(b), limit: 1000) == a + b)
    }

    @Test func outputBeyondTheLimitIsRefusedNotBuffered() {
        let bomb = Gzip.compress([UInt8](repeating: 0x20, count: 10_000_000))
        #expect(bomb.count < 20_000)
        #expect(throws: Gzip.Failure.tooLarge(limit: 1_000_000)) { try Gzip.decompress(bomb, limit: 1_000_000) }
    }

    @Test func truncatedStreamIsCorrupt() {
        let packed = Gzip.compress(Array(repeating: 0x41, count: 5000) + Array(0...255))
        #expect(throws: Gzip.Failure.corrupt("truncated stream")) { try Gzip.decompress(Array(packed.dropLast(12)), limit: 100_000) }
    }

    @Test func flippedByteIsReportedNotCrashed() {
        var packed = Gzip.compress(Array("hello hello hello hello".utf8))
        packed[12] ^= 0xFF
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(packed, limit: 100_000) }
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(Array("not gzip at all".utf8), limit: 100) }
    }

    @Test("a trailer whose size field lies is refused as corrupt, smaller or larger, never trusted for the output")
    func lyingSizeFieldIsCorrupt() {
        let bytes = Array(String(repeating: "sluice ", count: 3000).utf8)
        for delta in [-1, 1, 5000] {
            var packed = Gzip.compress(bytes)
            let size = UInt32(bytes.count + delta)
            for i in 0..<4 { packed[packed.count - 4 + i] = UInt8(truncatingIfNeeded: size >> (8 * UInt32(i))) }
            #expect(throws: Gzip.Failure.self, "size field off by \(delta)") { try Gzip.decompress(packed, limit: 100_000) }
        }
    }

    @Test("zero padding after the member is tolerated, and a body exactly at the limit passes")
    func paddingAndExactLimit() throws {
        let bytes = Array(String(repeating: "{\"eventName\":\"a\"}", count: 500).utf8)
        #expect(try Gzip.decompress(Gzip.compress(bytes) + [0, 0, 0, 0], limit: bytes.count) == bytes)
        #expect(throws: Gzip.Failure.tooLarge(limit: bytes.count - 1)) { try Gzip.decompress(Gzip.compress(bytes), limit: bytes.count - 1) }
    }
}
