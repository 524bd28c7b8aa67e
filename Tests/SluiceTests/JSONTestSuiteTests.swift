import Foundation
import Testing
@testable import Sluice

/// Every parsing case of Nicolas Seriot's JSONTestSuite (`Tests/SluiceTests/Fixtures/JSONTestSuite/test_parsing`, MIT).
@Suite("JSONReader against JSONTestSuite")
struct JSONTestSuiteTests {
    @Test("the JSONTestSuite fixtures are present (95 y_, 188 n_, 35 i_ files)")
    func fixturesPresent() {
        #expect(JSONFixtures.suiteFiles("y_").count == 95)
        #expect(JSONFixtures.suiteFiles("n_").count == 188)
        #expect(JSONFixtures.suiteFiles("i_").count == 35)
    }

    @Test("every y_ document is accepted", arguments: JSONFixtures.suiteFiles("y_"))
    func acceptsValid(name: String) throws {
        let bytes = try JSONFixtures.suiteBytes(name)
        var reader = JSONReader()
        #expect(throws: Never.self, "\(name)") { try reader.parse(bytes) }
        // The tape spans the whole value: the root's range lies within the document and its `next` ends the tape.
        let root = try #require(reader.nodes.first)
        #expect(root.start >= 0 && root.end <= bytes.count && root.start < root.end)
        #expect(Int(root.next) == reader.nodeCount)
    }

    @Test("every n_ document is rejected with an error at an offset inside the document",
          arguments: JSONFixtures.suiteFiles("n_"))
    func rejectsInvalid(name: String) throws {
        let bytes = try JSONFixtures.suiteBytes(name)
        var reader = JSONReader()
        let error = #expect(throws: JSONError.self, "\(name)") { try reader.parse(bytes) }
        if let error {
            #expect(error.offset >= 0 && error.offset <= bytes.count, "\(name): \(error)")
            #expect(error.description.hasPrefix("byte \(error.offset): "))
        }
        #expect(reader.nodeCount == 0, "a failed parse leaves no tape behind")
    }

    /// What this reader answers for each implementation-defined case, so a change of behaviour is a decision
    /// rather than an accident. Accepted: numbers beyond Double's range or precision (RFC 8259 grammar allows them;
    /// they are copied verbatim, never converted). Rejected: anything that is not well-formed UTF-8 (UTF-16 input,
    /// byte order marks, invalid sequences), unpaired surrogate escapes, and nesting beyond 256 levels.
    static let implementationDefined: [String: Bool] = [
        "i_number_double_huge_neg_exp.json": true,
        "i_number_huge_exp.json": true,
        "i_number_neg_int_huge_exp.json": true,
        "i_number_pos_double_huge_exp.json": true,
        "i_number_real_neg_overflow.json": true,
        "i_number_real_pos_overflow.json": true,
        "i_number_real_underflow.json": true,
        "i_number_too_big_neg_int.json": true,
        "i_number_too_big_pos_int.json": true,
        "i_number_very_big_negative_int.json": true,
        "i_object_key_lone_2nd_surrogate.json": false,
        "i_string_1st_surrogate_but_2nd_missing.json": false,
        "i_string_1st_valid_surrogate_2nd_invalid.json": false,
        "i_string_UTF-16LE_with_BOM.json": false,
        "i_string_UTF-8_invalid_sequence.json": false,
        "i_string_UTF8_surrogate_U+D800.json": false,
        "i_string_incomplete_surrogate_and_escape_valid.json": false,
        "i_string_incomplete_surrogate_pair.json": false,
        "i_string_incomplete_surrogates_escape_valid.json": false,
        "i_string_invalid_lonely_surrogate.json": false,
        "i_string_invalid_surrogate.json": false,
        "i_string_invalid_utf-8.json": false,
        "i_string_inverted_surrogates_U+1D11E.json": false,
        "i_string_iso_latin_1.json": false,
        "i_string_lone_second_surrogate.json": false,
        "i_string_lone_utf8_continuation_byte.json": false,
        "i_string_not_in_unicode_range.json": false,
        "i_string_overlong_sequence_2_bytes.json": false,
        "i_string_overlong_sequence_6_bytes.json": false,
        "i_string_overlong_sequence_6_bytes_null.json": false,
        "i_string_truncated-utf-8.json": false,
        "i_string_utf16BE_no_BOM.json": false,
        "i_string_utf16LE_no_BOM.json": false,
        "i_structure_500_nested_arrays.json": false,
        "i_structure_UTF-8_BOM_empty_object.json": false,
    ]

    @Test("every i_ document gets the documented answer, and a rejection names an offset inside the document",
          arguments: JSONFixtures.suiteFiles("i_"))
    func answersImplementationDefined(name: String) throws {
        let bytes = try JSONFixtures.suiteBytes(name)
        var reader = JSONReader()
        let accepted: Bool
        do {
            try reader.parse(bytes)
            accepted = true
        } catch {
            accepted = false
            #expect(error.offset >= 0 && error.offset <= bytes.count, "\(name): \(error)")
        }
        guard let expected = Self.implementationDefined[name] else {
            Issue.record("\(name) has no documented answer")
            return
        }
        #expect(accepted == expected, "\(name): \(accepted ? "accepted" : "rejected")")
    }

    @Test("500 nested arrays are accepted when the depth limit allows them, so the rejection is the limit's doing")
    func deepNestingWithinRaisedLimit() throws {
        let bytes = try JSONFixtures.suiteBytes("i_structure_500_nested_arrays.json")
        var strict = JSONReader()
        #expect(throws: JSONError(offset: 256, reason: .tooDeep(limit: 256))) { try strict.parse(bytes) }
        var relaxed = JSONReader(maxDepth: 500)
        #expect(throws: Never.self) { try relaxed.parse(bytes) }
        #expect(relaxed.nodeCount == 500)
    }
}
