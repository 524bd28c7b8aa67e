/// ID-list membership changes for Statsig's console API (`type: statsig-idlists`): Segment Personas/Engage
/// audiences synced to ID-list segments (seed 002: the audience key is the ID list's ID).
///
/// A batch holds one list and one operation (``batchKey(_:arena:)``), and its body is `{"ids":[...]}` of the
/// members' IDs. ``request(for:)`` turns a batch's key into the call:
/// - add: `PATCH /console/v1/segments/{id}/id_list` with `{"ids":[...]}`;
/// - remove: `DELETE /console/v1/segments/{id}/id_list` with the same body.
/// Statsig's console API reference documents PATCH for adding (not POST), a console key in `STATSIG-API-KEY`,
/// up to 100,000 IDs per call, and a rate limit of 12 requests per 10 s, which the default batches (1000 IDs,
/// 1 s) respect for a steady stream of changes.
struct StatsigIDListFormat: EventEncoder {
    let prefix: [UInt8] = Array("{\"ids\":[".utf8)
    let separator: [UInt8] = [UInt8(ascii: ",")]
    let suffix: [UInt8] = Array("]}".utf8)

    /// First byte of a batch key: add the IDs to the list.
    static let add = UInt8(ascii: "+")
    /// First byte of a batch key: remove the IDs from the list.
    static let remove = UInt8(ascii: "-")

    func encode(_ event: Event, identity: ResolvedIdentity, arena: UnsafeRawBufferPointer, into out: inout [UInt8]) -> String? {
        guard event.kind == .audienceMembership else { return "not an audience change" }
        guard identity.primary.isPresent else { return "no member ID" }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: arena[identity.primary.range]))
        return nil
    }

    /// `+` or `-`, then the list ID as written in the event (the bytes between the audience key's quotes).
    func batchKey(_ event: Event, arena: UnsafeRawBufferPointer) -> [UInt8]? {
        var key: [UInt8] = [Self.isAdd(event, arena) ? Self.add : Self.remove]
        key.append(contentsOf: EventNames.content(event.eventName, arena))
        return key
    }

    /// An audience change adds when its value is `true`.
    static func isAdd(_ event: Event, _ arena: UnsafeRawBufferPointer) -> Bool {
        event.value.isPresent && arena[Int(event.value.start)] == UInt8(ascii: "t")
    }

    /// The HTTP method and path (below the endpoint) for a batch with key `key`.
    static func request(for key: [UInt8]) -> (method: String, path: String) {
        let method = key.first == add ? "PATCH" : "DELETE"
        return (method, "/console/v1/segments/\(percentEncoded(listID(from: key)))/id_list")
    }

    /// The list ID of a batch key, unescaped.
    static func listID(from key: [UInt8]) -> String {
        var quoted: [UInt8] = [UInt8(ascii: "\"")]
        quoted.append(contentsOf: key.dropFirst())
        quoted.append(UInt8(ascii: "\""))
        return quoted.withUnsafeBytes { raw in
            var text: [UInt8] = []
            HeapProperties.Scanner.appendUnescaped(raw, 0..<raw.count, to: &text)
            return String(decoding: text, as: UTF8.self)
        }
    }

    /// Escapes everything but RFC 3986 unreserved characters, so a list ID cannot change the path.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
            }
        }
        return out
    }
}
