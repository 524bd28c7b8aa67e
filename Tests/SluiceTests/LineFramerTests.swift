import Testing
@testable import Sluice

@Suite("LineFramer")
struct LineFramerTests {
    enum Piece: Equatable { case line(String, Int), overlong(Int, prefixCount: Int) }

    /// Frames `input` fed in blocks of `blockSize` bytes.
    func frame(_ input: [UInt8], blockSize: Int, limit: Int = 64) -> [Piece] {
        var framer = LineFramer(maxLineBytes: limit)
        var pieces: [Piece] = []
        let collect = { (piece: LineFramer.Piece) in
            switch piece {
            case .line(let bytes, let number): pieces.append(.line(String(decoding: bytes, as: UTF8.self), number))
            case .overlong(let number, let prefix): pieces.append(.overlong(number, prefixCount: prefix.count))
            }
        }
        var offset = 0
        while offset < input.count {
            let end = min(input.count, offset + blockSize)
            Array(input[offset..<end]).withUnsafeBytes { framer.consume($0, collect) }
            offset = end
        }
        framer.finish(collect)
        return pieces
    }

    @Test("lines come out whole and numbered whatever the block boundaries; CRLF and blank lines handled")
    func everySplitPoint() {
        let input = Array("{\"a\":1}\r\n\n  \n{\"b\":22}\n{\"c\":333}".utf8)
        let expected: [Piece] = [.line("{\"a\":1}", 1), .line("{\"b\":22}", 4), .line("{\"c\":333}", 5)]
        for blockSize in 1...input.count {
            #expect(frame(input, blockSize: blockSize) == expected, "block size \(blockSize)")
        }
    }

    @Test("a line over the limit is reported with its number and skipped; the next line still comes out")
    func overlongLines() {
        let long = String(repeating: "x", count: 200)
        let input = Array("{\"a\":1}\n\(long)\n{\"b\":2}\n\(long)".utf8)
        for blockSize in [1, 7, 64, 100, 1000] {
            let pieces = frame(input, blockSize: blockSize)
            #expect(pieces.count == 4, "block size \(blockSize)")
            #expect(pieces.first == .line("{\"a\":1}", 1))
            #expect(pieces.dropFirst(2).first == .line("{\"b\":2}", 3))
            guard case .overlong(2, let prefix) = pieces[1], case .overlong(4, _) = pieces[3] else {
                Issue.record("expected overlong lines 2 and 4, got \(pieces)")
                continue
            }
            #expect(prefix > 0 && prefix <= 256)
        }
    }

    @Test("a 10 MB line fed in 64 KB blocks is rejected without being buffered whole")
    func hugeLineIsNotBuffered() {
        var framer = LineFramer(maxLineBytes: 1024)
        let block = [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10)
        var reports: [Int] = []
        for _ in 0..<160 {
            block.withUnsafeBytes { framer.consume($0) { if case .overlong(let n, _) = $0 { reports.append(n) } } }
            #expect(framer.bufferedBytes <= 1024 + 256, "held \(framer.bufferedBytes) bytes of an overlong line")
        }
        Array("\n{\"ok\":1}\n".utf8).withUnsafeBytes { raw in
            framer.consume(raw) { piece in
                switch piece {
                case .overlong(let n, _): reports.append(n)
                case .line(let bytes, let n): #expect(String(decoding: bytes, as: UTF8.self) == "{\"ok\":1}" && n == 2)
                }
            }
        }
        #expect(reports == [1])
        #expect(framer.bufferedBytes == 0)
    }
}
