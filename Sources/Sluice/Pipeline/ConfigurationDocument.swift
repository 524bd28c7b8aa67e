import Foundation

/// A configuration file read with the project's strict ``JSONReader`` (RFC 8259: no trailing commas, no comments,
/// no duplicate keys), turned into the plain tree ``ConfigurationLoader`` decodes: `[String: Any]`, `[Any]`,
/// `String`, `Bool`, ``ConfigurationNumber`` and `NSNull`.
///
/// Foundation's `JSONSerialization` accepted `{"a": 1,}` and kept the last of two equal keys, so a typo could
/// change a setting unseen; a rejection here names the line, column and byte offset.
enum ConfigurationDocument {
    /// Configuration files are small; this bounds what a mistaken `--config /dev/zero`-like file can cost.
    static let maxBytes = 16 << 20

    /// Parses `data` into the tree, or says where and why it is not JSON.
    static func parse(_ data: Data) throws(ConfigurationError) -> Any {
        var bytes = [UInt8](data)
        // Editors on some systems start UTF-8 files with a byte order mark; it is not part of the document.
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let skipped = bytes.starts(with: bom) ? bom.count : 0
        if skipped > 0 { bytes.removeFirst(skipped) }
        var reader = JSONReader(maxDepth: 64, maxBytes: maxBytes)
        do {
            try reader.parse(bytes)
        } catch {
            let offset = error.offset + skipped
            throw ConfigurationError(keyPath: "", message: "not valid JSON at \(location(of: offset, in: [UInt8](data))): \(error.reasonText)")
        }
        let result: Result<Any, ConfigurationError> = bytes.withUnsafeBytes { raw in
            reader.withView(of: raw) { view in
                do throws(ConfigurationError) { return .success(try tree(view, 0, path: "")) } catch { return .failure(error) }
            }
        }
        return try result.get()
    }

    /// `line L, column C (byte N)`, counting from 1 as editors do (the byte offset from 0, as ``JSONError``).
    static func location(of offset: Int, in bytes: [UInt8]) -> String {
        var line = 1
        var lineStart = 0
        for index in 0..<min(offset, bytes.count) where bytes[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        return "line \(line), column \(offset - lineStart + 1) (byte \(offset))"
    }

    private static func tree(_ view: JSONView, _ node: Int, path: String) throws(ConfigurationError) -> Any {
        switch view.kind(node) {
        case .object:
            var values: [String: Any] = [:]
            var failure: ConfigurationError?
            view.forEachMember(of: node) { key, value in
                guard failure == nil else { return }
                let name = view.unescapedString(key)
                let memberPath = path.isEmpty ? name : "\(path).\(name)"
                guard values[name] == nil else {
                    failure = ConfigurationError(keyPath: memberPath, message: "duplicate key (each key may appear once)")
                    return
                }
                do throws(ConfigurationError) { values[name] = try tree(view, value, path: memberPath) } catch { failure = error }
            }
            if let failure { throw failure }
            return values
        case .array:
            var elements: [Any] = []
            var failure: ConfigurationError?
            var index = 0
            view.forEachElement(of: node) { element in
                guard failure == nil else { return }
                do throws(ConfigurationError) { elements.append(try tree(view, element, path: "\(path)[\(index)]")) } catch { failure = error }
                index += 1
            }
            if let failure { throw failure }
            return elements
        case .string: return view.unescapedString(node)
        case .number: return ConfigurationNumber(view, node)
        case .true: return true
        case .false: return false
        case .null: return NSNull()
        }
    }
}

/// A JSON number from a configuration file, kept exactly: integers beyond 2^53 stay integers, and a number
/// outside the range of a `Double` (`1e400`) is not silently infinity.
struct ConfigurationNumber {
    /// The number as written.
    let text: String
    /// The value when it is an integer in `Int`'s range (`12`, `1.2e3`); nil otherwise.
    let integer: Int?
    /// The value as a finite `Double`; nil when it is beyond a double's range.
    let double: Double?

    init(_ view: JSONView, _ node: Int) {
        text = String(decoding: view.raw(node), as: UTF8.self)
        integer = view.int64(node).flatMap { Int(exactly: $0) }
        double = view.double(node).flatMap { $0.isFinite ? $0 : nil }
    }
}
