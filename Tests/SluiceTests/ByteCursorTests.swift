import Testing
@testable import Sluice

@Suite("ByteCursor: decimal digits")
struct ByteCursorTests {
    private func decimal(_ write: (inout ByteCursor) -> Void) -> String {
        var out: [UInt8] = []
        out.appendThroughCursor(maximumCount: 64, write)
        return String(decoding: out, as: UTF8.self)
    }

    @Test("unsigned and signed values are written as Swift writes them, at every digit count and edge")
    func matchesSwiftsDescription() {
        var values: [UInt64] = [0, 1, 9, 10, 11, 99, 100, 101, 1_795_331_233_000, UInt64.max, UInt64.max - 1]
        var power: UInt64 = 1
        for _ in 0..<19 {
            power *= 10
            values += [power - 1, power, power + 1]
        }
        var random = SplitMix64(seed: 0xD161)
        for _ in 0..<2_000 { values.append(random.next() >> (random.next() % 64)) }
        var wrong = 0
        for value in values where decimal({ $0.appendDecimal(value) }) != String(value) { wrong += 1 }
        for value in [Int64.min, -1, -10, -1_795_331_233_000, Int64.max] where decimal({ $0.appendDecimal(value) }) != String(value) {
            wrong += 1
        }
        #expect(wrong == 0)
    }

    @Test("a fixed width pads with zeros on the left, for odd and even widths")
    func fixedWidthPads() {
        #expect(decimal { $0.appendDecimal(7, width: 6) } == "000007")
        #expect(decimal { $0.appendDecimal(4_321, width: 5) } == "04321")
        #expect(decimal { $0.appendDecimal(0, width: 1) } == "0")
        #expect(decimal { $0.appendDecimal(12, width: 2) } == "12")
    }
}
