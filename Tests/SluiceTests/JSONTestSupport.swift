import Foundation
@testable import Sluice

/// Shared fixtures and helpers of the JSON tests.
enum JSONFixtures {
    /// The package root, found from this file so tests work wherever the clone is.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/SluiceTests/Fixtures`, beside this file: the test data the repository owns (a clone needs nothing
    /// outside itself). JSONTestSuite keeps its MIT licence beside it.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// `Fixtures/JSONTestSuite/test_parsing`: Nicolas Seriot's parsing cases.
    static let testParsing = directory.appendingPathComponent("JSONTestSuite/test_parsing")

    /// `Fixtures/samples/statsig-export-1k.ndjson`: 1000 Statsig export events, ~5% duplicates, ~1% broken lines.
    static let statsigSample = directory.appendingPathComponent("samples/statsig-export-1k.ndjson")

    /// `Fixtures/samples/input-shapes.ndjson`: one line of each input shape (and one broken line).
    static let inputShapesSample = directory.appendingPathComponent("samples/input-shapes.ndjson")

    /// Names of the JSONTestSuite parsing files starting with `prefix` (`y_`, `n_`, `i_`), sorted; empty when the
    /// fixtures are missing (a separate test insists they are there).
    static func suiteFiles(_ prefix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: testParsing.path)) ?? []
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }.sorted()
    }

    /// The bytes of one JSONTestSuite file.
    static func suiteBytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: testParsing.appendingPathComponent(name)))
    }

    /// The non-empty lines of the Statsig export sample, as bytes.
    static func sampleLines() throws -> [[UInt8]] {
        let data = try Data(contentsOf: statsigSample)
        return data.split(separator: UInt8(ascii: "\n")).filter { !$0.isEmpty }.map { Array($0) }
    }
}

/// Writes tape node `node` back out through ``JSONWriter``: strings are unescaped and re-escaped (exercising both
/// directions), numbers and literals are copied verbatim. Recursion is bounded by the reader's depth limit.
func reserialize(_ view: JSONView, _ node: Int, into writer: inout JSONWriter) {
    switch view.kind(node) {
    case .object:
        writer.appendByte(UInt8(ascii: "{"))
        var first = true
        view.forEachMember(of: node) { key, value in
            if !first { writer.appendByte(UInt8(ascii: ",")) }
            first = false
            reserialize(view, key, into: &writer)
            writer.appendByte(UInt8(ascii: ":"))
            reserialize(view, value, into: &writer)
        }
        writer.appendByte(UInt8(ascii: "}"))
    case .array:
        writer.appendByte(UInt8(ascii: "["))
        var first = true
        view.forEachElement(of: node) { element in
            if !first { writer.appendByte(UInt8(ascii: ",")) }
            first = false
            reserialize(view, element, into: &writer)
        }
        writer.appendByte(UInt8(ascii: "]"))
    case .string:
        var text: [UInt8] = []
        view.appendUnescaped(node, to: &text)
        text.withUnsafeBytes { writer.appendString(utf8: $0) }
    case .number, .true, .false, .null:
        writer.appendRaw(view.raw(node))
    }
}

/// Parses `bytes` and re-serializes the whole document; nil when the reader rejects it.
func reserialized(_ bytes: [UInt8], reader: inout JSONReader) -> [UInt8]? {
    do { try reader.parse(bytes) } catch { return nil }
    var writer = JSONWriter(capacity: bytes.count + 16)
    bytes.withUnsafeBytes { raw in
        reader.withView(of: raw) { reserialize($0, 0, into: &writer) }
    }
    return writer.bytes
}

/// Decodes with Foundation, allowing top-level scalars as RFC 8259 does; nil when Foundation rejects the bytes.
func foundationDecode(_ bytes: [UInt8]) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)
}

/// A number Foundation produced, as a Double. Linux Foundation returns `NSDecimalNumber` for some inputs (17
/// significant digits, integers beyond Int64), and its `doubleValue` is not correctly rounded
/// (`0.30000000000000004` comes back as `0.3000000000000001`), so decimals go through their exact text.
func foundationDouble(_ number: NSNumber) -> Double? {
    if let decimal = number as? NSDecimalNumber { return Double(decimal.stringValue) }
    return number.doubleValue
}

/// Deep equality of two Foundation-decoded JSON values; strings compare by UTF-8 bytes (not canonical
/// equivalence), numbers by value.
func foundationEqual(_ a: Any, _ b: Any) -> Bool {
    switch (a, b) {
    case (is NSNull, is NSNull):
        return true
    case let (x as String, y as String):
        return x.utf8.elementsEqual(y.utf8)
    case let (x as [Any], y as [Any]):
        return x.count == y.count && zip(x, y).allSatisfy { foundationEqual($0, $1) }
    case let (x as [String: Any], y as [String: Any]):
        return x.count == y.count && x.allSatisfy { key, value in y[key].map { foundationEqual(value, $0) } ?? false }
    case let (x as NSNumber, y as NSNumber):
        if x.isEqual(y) { return true }
        guard let dx = foundationDouble(x), let dy = foundationDouble(y) else { return false }
        return dx == dy
    default:
        return false
    }
}
