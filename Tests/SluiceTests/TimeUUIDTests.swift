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
}
