/// One reply from a Redis server, in RESP2 or RESP3.
///
/// RESP3-only types are kept distinct (a map stays a map) so callers can be strict about what they expect;
/// the accessors below accept both protocol versions' shapes for the same data (a RESP2 flat array of
/// field-value pairs, a RESP3 map) so that a server speaking either works.
enum RESPValue: Sendable, Equatable {
    /// `+OK`
    case simpleString(String)
    /// `-ERR ...`: a command failed; the connection is still usable.
    case error(String)
    /// `:42`
    case integer(Int64)
    /// `$n` bytes; `nil` is RESP2's null bulk string (`$-1`).
    case bulkString([UInt8]?)
    /// `*n` values; `nil` is RESP2's null array (`*-1`).
    case array([RESPValue]?)
    /// RESP3 `_`.
    case null
    /// RESP3 `#t` / `#f`.
    case boolean(Bool)
    /// RESP3 `,` (kept as its text: Redis never needs it as a number here).
    case double(String)
    /// RESP3 `(`.
    case bigNumber(String)
    /// RESP3 `=` (the three-character format prefix is stripped).
    case verbatimString([UInt8])
    /// RESP3 `%`: pairs in server order.
    case map([(RESPValue, RESPValue)])
    /// RESP3 `~`.
    case set([RESPValue])
    /// RESP3 `>`: out-of-band data (client tracking, pub/sub); never a reply to a command.
    case push([RESPValue])

    static func == (lhs: RESPValue, rhs: RESPValue) -> Bool {
        switch (lhs, rhs) {
        case (.simpleString(let a), .simpleString(let b)), (.error(let a), .error(let b)),
             (.double(let a), .double(let b)), (.bigNumber(let a), .bigNumber(let b)):
            a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.bulkString(let a), .bulkString(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.null, .null): true
        case (.boolean(let a), .boolean(let b)): a == b
        case (.verbatimString(let a), .verbatimString(let b)): a == b
        case (.map(let a), .map(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.set(let a), .set(let b)), (.push(let a), .push(let b)): a == b
        default: false
        }
    }

    /// True for every null the two protocol versions have.
    var isNull: Bool {
        switch self {
        case .null, .bulkString(nil), .array(nil): true
        default: false
        }
    }

    /// The bytes of a bulk, simple or verbatim string.
    var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes?): bytes
        case .simpleString(let text): Array(text.utf8)
        case .verbatimString(let bytes): bytes
        default: nil
        }
    }

    /// The text of a bulk, simple or verbatim string.
    var string: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    /// The elements of an array or set (RESP3 sets replace RESP2 arrays in some replies).
    var elements: [RESPValue]? {
        switch self {
        case .array(let values?): values
        case .set(let values): values
        default: nil
        }
    }

    /// Field-value pairs from a RESP3 map or a RESP2 flat array of alternating fields and values.
    var pairs: [(RESPValue, RESPValue)]? {
        switch self {
        case .map(let pairs): return pairs
        case .array(let values?) where values.count % 2 == 0:
            return stride(from: 0, to: values.count, by: 2).map { (values[$0], values[$0 + 1]) }
        default: return nil
        }
    }

    /// A short description for error messages: the type and, for scalars, the start of the value. Never used
    /// on replies that could carry event data in full.
    var summary: String {
        switch self {
        case .simpleString(let text): "simple string \"\(text.prefix(60))\""
        case .error(let text): "error \"\(text.prefix(120))\""
        case .integer(let value): "integer \(value)"
        case .bulkString(nil): "null bulk string"
        case .bulkString(let bytes?): "bulk string of \(bytes.count) bytes"
        case .array(nil): "null array"
        case .array(let values?): "array of \(values.count)"
        case .null: "null"
        case .boolean(let value): "boolean \(value)"
        case .double(let text): "double \(text)"
        case .bigNumber(let text): "big number \(text.prefix(40))"
        case .verbatimString(let bytes): "verbatim string of \(bytes.count) bytes"
        case .map(let pairs): "map of \(pairs.count)"
        case .set(let values): "set of \(values.count)"
        case .push(let values): "push of \(values.count)"
        }
    }
}
