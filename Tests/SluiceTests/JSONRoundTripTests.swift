import Foundation
import Testing
@testable import Sluice

/// A JSON value as the test means it, to write with ``JSONWriter`` and compare with what Foundation decodes.
private indirect enum Model {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string([UInt8])  // raw UTF-8, possibly ill-formed: the writer must repair it
    case array([Model])
    case object([([UInt8], Model)])

    func write(to w: inout JSONWriter) {
        switch self {
        case .null: w.appendNull()
        case .bool(let b): w.appendBool(b)
        case .int(let v): w.appendInt(v)
        case .double(let v): w.appendDouble(v)
        case .string(let bytes): bytes.withUnsafeBytes { w.appendString(utf8: $0) }
        case .array(let elements):
            w.appendByte(UInt8(ascii: "["))
            for (k, e) in elements.enumerated() {
                if k > 0 { w.appendByte(UInt8(ascii: ",")) }
                e.write(to: &w)
            }
            w.appendByte(UInt8(ascii: "]"))
        case .object(let members):
            w.appendByte(UInt8(ascii: "{"))
            for (k, (key, value)) in members.enumerated() {
                if k > 0 { w.appendByte(UInt8(ascii: ",")) }
                key.withUnsafeBytes { w.appendString(utf8: $0) }
                w.appendByte(UInt8(ascii: ":"))
                value.write(to: &w)
            }
            w.appendByte(UInt8(ascii: "}"))
        }
    }

    /// Why Foundation's decoding of the written text differs from this value, or nil when it matches.
    func mismatch(_ decoded: Any) -> String? {
        switch self {
        case .null:
            return decoded is NSNull ? nil : "expected null, got \(decoded)"
        case .bool(let b):
            guard let n = decoded as? NSNumber, String(cString: n.objCType) == "c", n.boolValue == b else { return "expected \(b), got \(decoded)" }
            return nil
        case .int(let v):
            guard let n = decoded as? NSNumber else { return "expected \(v), got \(decoded)" }
            // Foundation hands Int64.min back as an NSDecimalNumber: read its exact text.
            let exact = (n as? NSDecimalNumber).map { Int64($0.stringValue) } ?? (String(cString: n.objCType) == "d" ? nil : n.int64Value)
            return exact == v ? nil : "expected \(v), got \(n) (\(String(cString: n.objCType)))"
        case .double(let v):
            guard let n = decoded as? NSNumber, let d = foundationDouble(n) else { return "expected \(v), got \(decoded)" }
            return d == v && d.sign == v.sign ? nil : "expected \(v), got \(d)"
        case .string(let bytes):
            let expected = String(decoding: bytes, as: UTF8.self)
            guard let s = decoded as? String, s.utf8.elementsEqual(expected.utf8) else {
                return "expected string \(expected.debugDescription), got \(decoded)"
            }
            return nil
        case .array(let elements):
            guard let a = decoded as? [Any], a.count == elements.count else { return "expected \(elements.count) elements, got \(decoded)" }
            for (e, d) in zip(elements, a) { if let why = e.mismatch(d) { return why } }
            return nil
        case .object(let members):
            guard let o = decoded as? [String: Any], o.count == members.count else { return "expected \(members.count) members, got \(decoded)" }
            for (key, value) in members {
                guard let d = o[String(decoding: key, as: UTF8.self)] else { return "missing key \(key)" }
                if let why = value.mismatch(d) { return why }
            }
            return nil
        }
    }
}

/// Generates hostile-but-representable values from a seeded generator.
private struct ModelGenerator {
    var rng: SplitMix64

    /// String fragments chosen to hit every branch of the writer's escaping and UTF-8 repair.
    static let pieces: [[UInt8]] = [
        Array("plain ascii text".utf8), Array("eventName".utf8), [0x22], [0x5C], [0x2F], [0x7F],
        [0x00], [0x01], [0x08], [0x09], [0x0A], [0x0C], [0x0D], [0x1F],
        Array("\u{2028}\u{2029}".utf8), Array("😀".utf8), Array("é".utf8), Array("e\u{301}".utf8), Array("日本語".utf8),
        Array("\u{FFFF}\u{10FFFF}".utf8),
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],          // UTF-8-encoded lone surrogates (ill-formed)
        [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xF8, 0x88, 0x80, 0x80, 0x80],  // overlong / out of range
        [0x80], [0xBF], [0xFE], [0xFF], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xF4, 0x90, 0x80, 0x80],
        Array("\\u0041 \\\" looks escaped".utf8),
    ]

    static let specialDoubles: [Double] = [
        -0.0, 0.0, 0.1 + 0.2, 1e308, -1e308, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
        .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, Double.leastNormalMagnitude.nextDown,
        1e15, 1e15 - 1, 999_999_999_999_999.9, 1e-7, 123.456, 9_007_199_254_740_994, 0.5, 1e21, 1e22,
    ]
    static let specialInts: [Int64] = [.min, .max, .min + 1, .max - 1, 0, -1, 1, 1 << 53, (1 << 53) + 1, 1_795_331_233_000]

    mutating func int(_ upper: Int) -> Int { Int(rng.next() % UInt64(upper)) }

    mutating func string() -> [UInt8] {
        var s: [UInt8] = []
        for _ in 0..<int(6) {
            if int(4) == 0 {
                s.append(UInt8(truncatingIfNeeded: rng.next()))  // any byte at all
            } else {
                s += Self.pieces[int(Self.pieces.count)]
            }
        }
        return s
    }

    mutating func double() -> Double {
        switch int(4) {
        case 0: return Self.specialDoubles[int(Self.specialDoubles.count)]
        case 1:
            // Subnormals: any bit pattern with a zero exponent.
            return Double(bitPattern: rng.next() & 0x800F_FFFF_FFFF_FFFF)
        case 2:
            let d = Double(bitPattern: rng.next())
            return d.isFinite ? d : 1.5
        default:
            return Double(Int64(truncatingIfNeeded: rng.next()) % 1_000_000) / 1000
        }
    }

    mutating func value(depth: Int) -> Model {
        let kind = depth >= 4 ? int(5) : int(7)
        switch kind {
        case 0: return int(4) == 0 ? .null : .bool(int(2) == 0)
        case 1: return .int(int(3) == 0 ? Self.specialInts[int(Self.specialInts.count)] : Int64(bitPattern: rng.next()))
        case 2: return .double(double())
        case 3, 4: return .string(string())
        case 5: return .array((0..<int(5)).map { _ in value(depth: depth + 1) })
        default:
            var members: [([UInt8], Model)] = []
            var seen = Set<String>()  // Foundation keys are Strings: keys equal as Strings would collapse
            for _ in 0..<int(5) {
                let key = string()
                if seen.insert(String(decoding: key, as: UTF8.self)).inserted { members.append((key, value(depth: depth + 1))) }
            }
            return .object(members)
        }
    }
}

@Suite("JSON round trips: reader, writer and Foundation agree")
struct JSONRoundTripTests {
    @Test("20,000 random hostile documents: the writer's output is accepted by the reader and by Foundation, decodes to the written values, and re-serializes byte for byte")
    func randomCorpus() {
        var generator = ModelGenerator(rng: SplitMix64(seed: 0x5150_1CE0))
        var reader = JSONReader()
        var writer = JSONWriter(capacity: 4096)
        var failures: [String] = []
        for index in 0..<20_000 {
            let model = generator.value(depth: 0)
            writer.bytes.removeAll(keepingCapacity: true)
            model.write(to: &writer)
            let text = writer.bytes
            guard let again = reserialized(text, reader: &reader) else {
                failures.append("#\(index): reader rejected the writer's output \(String(decoding: text, as: UTF8.self).debugDescription)")
                continue
            }
            if again != text { failures.append("#\(index): re-serialization differs: \(String(decoding: again, as: UTF8.self).debugDescription)") }
            guard let decoded = foundationDecode(text) else {
                failures.append("#\(index): Foundation rejected \(String(decoding: text, as: UTF8.self).debugDescription)")
                continue
            }
            if let why = model.mismatch(decoded) { failures.append("#\(index): \(why)") }
            if failures.count >= 10 { break }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    @Test("every y_ document of JSONTestSuite and every sample event survives read-then-write: Foundation decodes both to equal values, and a second round trip changes nothing")
    func readThenWrite() throws {
        var documents = try JSONFixtures.suiteFiles("y_").map { ($0, try JSONFixtures.suiteBytes($0)) }
        documents += try JSONFixtures.sampleLines().enumerated().map { ("sample line \($0.offset + 1)", $0.element) }
        #expect(documents.count > 1000)
        var reader = JSONReader()
        var checked = 0
        for (name, bytes) in documents {
            guard let once = reserialized(bytes, reader: &reader) else { continue }  // the sample's broken lines
            checked += 1
            let twice = reserialized(once, reader: &reader)
            #expect(twice == once, "\(name): not idempotent")
            guard let original = foundationDecode(bytes) else {
                Issue.record("\(name): Foundation rejects a document the reader accepted")
                continue
            }
            let copy = try #require(foundationDecode(once), "\(name): Foundation rejects the re-serialized document")
            #expect(foundationEqual(original, copy), "\(name): \(String(decoding: once, as: UTF8.self))")
        }
        #expect(checked == documents.count - 6, "every document but the sample's six broken lines round-trips")
    }

    @Test("the writer's edge values read back exactly: Int64 limits, -0.0, subnormals, 1e308, 0.1 + 0.2, non-finite as null")
    func edgeNumbers() throws {
        var w = JSONWriter()
        w.appendByte(UInt8(ascii: "["))
        w.appendInt(.min); w.appendByte(UInt8(ascii: ","))
        w.appendInt(.max); w.appendByte(UInt8(ascii: ","))
        w.appendDouble(-0.0); w.appendByte(UInt8(ascii: ","))
        w.appendDouble(.leastNonzeroMagnitude); w.appendByte(UInt8(ascii: ","))
        w.appendDouble(1e308); w.appendByte(UInt8(ascii: ","))
        w.appendDouble(0.1 + 0.2); w.appendByte(UInt8(ascii: ","))
        w.appendDouble(.nan); w.appendByte(UInt8(ascii: ","))
        w.appendDouble(-.infinity)
        w.appendByte(UInt8(ascii: "]"))
        #expect(String(decoding: w.bytes, as: UTF8.self)
            == "[-9223372036854775808,9223372036854775807,-0.0,5e-324,1e+308,0.30000000000000004,null,null]")

        var reader = JSONReader()
        try reader.parse(w.bytes)
        let values: [Double?] = w.bytes.withUnsafeBytes { raw in
            reader.withView(of: raw) { view in
                var out: [Double?] = []
                view.forEachElement(of: 0) { out.append(view.double($0)) }
                return out
            }
        }
        #expect(values[2]?.sign == .minus && values[2] == 0)
        #expect(values[3] == .leastNonzeroMagnitude)
        #expect(values[4] == 1e308)
        #expect(values[5] == 0.1 + 0.2)
        let exact: [Int64?] = w.bytes.withUnsafeBytes { raw in
            reader.withView(of: raw) { view in [view.int64(1), view.int64(2)] }
        }
        #expect(exact == [.min, .max])
    }

    @Test("ill-formed UTF-8 becomes U+FFFD exactly as String(decoding:as:) repairs it, over 20,000 random byte strings")
    func utf8RepairMatchesSwift() {
        var rng = SplitMix64(seed: 42)
        var reader = JSONReader()
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            // Bytes biased towards UTF-8 lead and continuation bytes so that sequences are often almost valid.
            let bytes: [UInt8] = (0..<Int(rng.next() % 12)).map { _ in
                let r = rng.next()
                switch r % 4 {
                case 0: return UInt8(0x80 | (r >> 8) % 0x40)
                case 1: return UInt8(0xC0 | (r >> 8) % 0x40)
                case 2: return UInt8(0x20 + (r >> 8) % 0x60)
                default: return UInt8(truncatingIfNeeded: r >> 8)
                }
            }
            var w = JSONWriter()
            bytes.withUnsafeBytes { w.appendString(utf8: $0) }
            do { try reader.parse(w.bytes) } catch {
                mismatches.append("rejected \(bytes): \(error)")
                continue
            }
            let decoded: String = w.bytes.withUnsafeBytes { raw in reader.withView(of: raw) { $0.unescapedString(0) } }
            if !decoded.utf8.elementsEqual(String(decoding: bytes, as: UTF8.self).utf8) { mismatches.append("\(bytes)") }
            if mismatches.count >= 10 { break }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test("strings escape exactly the characters JSON requires, with short escapes where they exist; U+2028 and non-ASCII pass through")
    func stringEscaping() {
        var w = JSONWriter()
        let text = "q\" b\\ s/ \u{0} \u{1F} \u{7F} \n\r\t\u{8}\u{C} \u{2028} 😀"
        w.appendString(text)
        #expect(String(decoding: w.bytes, as: UTF8.self) == "\"q\\\" b\\\\ s/ \\u0000 \\u001f \u{7F} \\n\\r\\t\\b\\f \u{2028} 😀\"")
        let decoded = foundationDecode(w.bytes) as? String
        #expect(decoded.map { Array($0.utf8) } == Array(text.utf8))
    }
}
