/// Why a JSON document was rejected, with the byte offset where the problem was found.
///
/// Every rejection names a place and a reason a person can act on, e.g.
/// `byte 17: expected ',' or '}' after an object member (found 'x')`.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reason a document was rejected.
    public enum Reason: Sendable, Equatable {
        /// The input ended inside a value.
        case unexpectedEnd
        /// A byte that cannot start or continue the current construct.
        case unexpectedByte(UInt8, expected: String)
        /// A second value after the first, complete one.
        case trailingContent
        /// A raw control character (below U+0020) inside a string; JSON requires them escaped.
        case unescapedControlCharacter(UInt8)
        /// A backslash followed by something other than `" \ / b f n r t u`.
        case invalidEscape
        /// A `\u` escape that is not four hexadecimal digits, or a surrogate that is not part of a valid pair.
        case invalidUnicodeEscape
        /// Bytes that are not well-formed UTF-8.
        case invalidUTF8
        /// A number that does not follow RFC 8259's grammar (leading zeros, missing digits, ...).
        case invalidNumber
        /// Arrays and objects nested deeper than the reader's limit.
        case tooDeep(limit: Int)
        /// The document is larger than the reader's limit.
        case tooLarge(limit: Int)
        /// The document is empty or only whitespace.
        case empty
    }

    /// Offset of the offending byte from the start of the document.
    public var offset: Int
    /// What is wrong there.
    public var reason: Reason

    /// Creates an error at `offset`.
    public init(offset: Int, reason: Reason) {
        self.offset = offset
        self.reason = reason
    }

    /// A one-line explanation that names the byte offset.
    public var description: String {
        "byte \(offset): \(reasonText)"
    }

    /// The reason without the offset.
    public var reasonText: String {
        switch reason {
        case .unexpectedEnd: return "unexpected end of input"
        case .unexpectedByte(let byte, let expected): return "expected \(expected) (found \(Self.show(byte)))"
        case .trailingContent: return "unexpected content after the JSON value"
        case .unescapedControlCharacter(let byte): return "unescaped control character \(Self.show(byte)) in string"
        case .invalidEscape: return "invalid escape sequence in string"
        case .invalidUnicodeEscape: return "invalid \\u escape or unpaired surrogate in string"
        case .invalidUTF8: return "invalid UTF-8 in string"
        case .invalidNumber: return "invalid number"
        case .tooDeep(let limit): return "nesting deeper than \(limit) levels"
        case .tooLarge(let limit): return "document larger than \(limit) bytes"
        case .empty: return "empty input (no JSON value)"
        }
    }

    private static func show(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }
}
