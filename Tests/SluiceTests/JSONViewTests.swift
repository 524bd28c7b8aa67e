import Foundation
import Testing
@testable import Sluice

@Suite("JSONView navigation and decoding")
struct JSONViewTests {
    /// Parses `text` and runs `body` on its view.
    func withView<R>(_ text: String, _ body: (JSONView) throws -> R) throws -> R {
        var reader = JSONReader()
        let bytes = Array(text.utf8)
        try reader.parse(bytes)
        return try bytes.withUnsafeBytes { raw in try reader.withView(of: raw, body) }
    }

    @Test("escaped keys match their unescaped literal byte for byte; canonically-equivalent but different text does not")
    func escapedKeyComparison() throws {
        try withView(#"{"\u0065ventName":1,"caf\u00e9":2,"cafe\u0301":3,"\ud83d\ude00":4,"a\"b":5,"x\/y":6}"#) { view in
            #expect(view.member(0, "eventName") != nil)
            #expect(view.member(0, "café").flatMap(view.int64) == 2)        // precomposed é only
            #expect(view.member(0, "cafe\u{301}").flatMap(view.int64) == 3) // decomposed only
            #expect(view.member(0, "😀").flatMap(view.int64) == 4)
            #expect(view.member(0, "a\"b").flatMap(view.int64) == 5)
            #expect(view.member(0, "x/y").flatMap(view.int64) == 6)
            #expect(view.member(0, "eventNam") == nil && view.member(0, "eventNamee") == nil)
        }
    }

    @Test("unescaping decodes every escape form, including surrogate pairs and \\u0000")
    func unescaping() throws {
        try withView(#"["a\"\\\/\b\f\n\r\t\u0000\u00e9\u20ac\ud834\udd1e z", "plain"]"#) { view in
            #expect(view.unescapedString(1) == "a\"\\/\u{8}\u{C}\n\r\t\u{0}é€𝄞 z")
            #expect(view.unescapedString(2) == "plain")
            var bytes: [UInt8] = []
            view.appendUnescaped(1, to: &bytes)
            #expect(bytes == Array("a\"\\/\u{8}\u{C}\n\r\t\u{0}é€𝄞 z".utf8))
        }
    }

    @Test("int64 is exact over the whole range and for integral fractions and exponents, and nil otherwise")
    func int64Exactness() throws {
        let cases: [(String, Int64?)] = [
            ("0", 0), ("-0", 0), ("12", 12), ("-5", -5), ("12.0", 12), ("1.2e3", 1200), ("1E+2", 100), ("120e-1", 12),
            ("9223372036854775807", .max), ("-9223372036854775808", .min), ("9223372036854775808", nil),
            ("-9223372036854775809", nil), ("9007199254740993.0", 9_007_199_254_740_993), ("9.223372036854775807e18", .max),
            ("1.5", nil), ("1e-1", nil), ("1e19", nil), ("1e400", nil), ("0.000", 0), ("1795331233000", 1_795_331_233_000),
        ]
        for (text, expected) in cases {
            let value = try withView(text) { $0.int64(0) }
            #expect(value == expected, "\(text)")
        }
        // Numeric strings take the same path; anything but decimal number syntax is refused.
        for (text, expected) in [("1795331233000", Int64(1_795_331_233_000)), ("0x10", nil), ("inf", nil), ("1_000", nil), ("", nil), ("-", nil)] as [(String, Int64?)] {
            let value = Array(text.utf8).withUnsafeBytes { JSONView.parseInt64($0) }
            #expect(value == expected, "\(text)")
        }
    }

    @Test("members, elements and raw ranges follow the tape; the last duplicate key wins")
    func navigation() throws {
        try withView(#" {"a": [1, {"b": null}, "s"], "a": true, "c": {}} "#) { view in
            #expect(view.childCount(of: 0) == 3)
            let a = try #require(view.member(0, "a"))
            #expect(view.kind(a) == .true)
            var kinds: [JSONKind] = []
            view.forEachMember(of: 0) { key, value in
                if view.stringEquals(key, "a"), view.kind(value) == .array { view.forEachElement(of: value) { kinds.append(view.kind($0)) } }
            }
            #expect(kinds == [.number, .object, .string])
            let c = try #require(view.member(0, "c"))
            #expect(String(decoding: view.raw(c), as: UTF8.self) == "{}")
            #expect(view.range(0) == 1..<49)
        }
    }

    @Test("a failed parse leaves an empty tape, not the previous document's")
    func failedParseClearsTape() throws {
        var reader = JSONReader()
        try reader.parse(Array("[1,2]".utf8))
        #expect(reader.nodeCount == 3 && reader.nodes.count == 3)
        #expect(throws: JSONError.self) { try reader.parse(Array("[1,".utf8)) }
        #expect(reader.nodeCount == 0 && reader.nodes.isEmpty)
    }
}
