import Foundation
import Testing
@testable import Sluice

@Suite("TimeUUID")
struct TimeUUIDTests {
    @Test("parsing and formatting round-trip for random values and agree with Foundation's UUID")
    func roundTrip() throws {
        var rng = SplitMix64(seed: 0x7117)
        for _ in 0..<2_000 {
            let uuid = TimeUUID(high: rng.next(), low: rng.next())
            let text = uuid.description
            #expect(text.count == 36)
            #expect(TimeUUID(text) == uuid)
            #expect(TimeUUID(text.uppercased()) == uuid)
            let foundation = try #require(UUID(uuidString: text))
            #expect(foundation.uuidString.lowercased() == text)
        }
    }

    @Test("malformed text is rejected", arguments: [
        "", "5779e680-e643-11f1-8cbb-0242ac12000", "5779e680-e643-11f1-8cbb-0242ac1200021",
        "5779e680e643-11f1-8cbb-0242ac120002-", "5779e680-e643-11f1-8cbb_0242ac120002",
        "5779e68g-e643-11f1-8cbb-0242ac120002", "5779e680-e643-11f1-8cbb-0242ac12000:", "{779e680-e643-11f1-8cbb-0242ac120002",
    ])
    func rejectsMalformed(_ text: String) {
        #expect(TimeUUID(text) == nil)
    }

    @Test("a version-1 UUID's embedded time is read back in milliseconds")
    func embeddedTime() throws {
        let uuid = try #require(TimeUUID("5779e680-e643-11f1-8cbb-0242ac120002"))
        #expect(uuid.version == 1)
        #expect(uuid.milliseconds == 1_795_331_233_000)
    }

    @Test("derived UUIDs are version 1, RFC 4122 variant, multicast node, carry the time, and differ by content")
    func derived() {
        let a = TimeUUID.derived(milliseconds: 1_795_331_233_123, contentHash: 0xDEAD_BEEF_0000_1111)
        let b = TimeUUID.derived(milliseconds: 1_795_331_233_123, contentHash: 0xDEAD_BEEF_0000_1112)
        #expect(a.version == 1)
        #expect(a.milliseconds == 1_795_331_233_123)
        #expect(a.low >> 62 == 0b10)
        #expect(a.low & 0x0100_0000_0000 != 0)
        #expect(a != b)
        #expect(TimeUUID.derived(milliseconds: 1_795_331_233_123, contentHash: 0xDEAD_BEEF_0000_1111) == a)
    }

    @Test("each of the 32 digit positions accepts exactly the 22 hex digits (either case) and reads their value")
    func everyByteAtEveryDigitPosition() {
        let base = Array("00000000-0000-0000-0000-000000000000".utf8)
        let digitPositions = (0..<36).filter { base[$0] != UInt8(ascii: "-") }
        #expect(digitPositions.count == 32)
        var wrong = 0
        for (nibble, position) in digitPositions.enumerated() {
            for byte in 0...255 {
                var text = base
                text[position] = UInt8(byte)
                let parsed = text.withUnsafeBytes { TimeUUID($0) }
                let value: UInt64? = switch UInt8(byte) {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt64(byte) - 0x30
                case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt64(byte) - 0x61 + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt64(byte) - 0x41 + 10
                default: nil
                }
                let expected = value.map { v in
                    nibble < 16 ? TimeUUID(high: v << (4 * (15 - nibble)), low: 0)
                        : TimeUUID(high: 0, low: v << (4 * (31 - nibble)))
                }
                if parsed != expected {
                    wrong += 1
                    if wrong <= 5 { Issue.record("byte \(byte) at \(position): got \(String(describing: parsed)), expected \(String(describing: expected))") }
                }
            }
        }
        #expect(wrong == 0)
    }
}
