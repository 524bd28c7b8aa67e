import Foundation

/// `spool.json`: the destinations that have a ledger in this spool, and the input file being spooled.
///
/// The list of destinations is what tells "a cursor file that was deleted" (the destination is listed: it
/// replays everything the spool still holds, so nothing unsettled is lost) from "a destination added to the
/// configuration" (not listed: it starts at the spool's head). The input file's identity and how far it was
/// spooled make `--input FILE --spool DIR` resume where the last run stopped.
struct SpoolManifest: Sendable, Equatable {
    static let fileName = "spool.json"
    static let version = 1

    var destinations: [String] = []
    var input: FileInputIdentity?

    func encode() -> [UInt8] {
        var object: [String: Any] = ["version": Self.version, "destinations": destinations]
        if let input { object["input"] = input.jsonObject }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Array(data) + [0x0A]
    }

    static func decode(_ bytes: [UInt8], file: String) throws -> SpoolManifest {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw SpoolError("spool: \(file) is not a spool manifest (not a JSON object)")
        }
        guard let version = object["version"] as? Int else { throw SpoolError("spool: \(file) has no format version") }
        guard version == Self.version else {
            throw SpoolError("spool: \(file) has format version \(version); this Sluice reads version \(Self.version)")
        }
        var manifest = SpoolManifest()
        manifest.destinations = object["destinations"] as? [String] ?? []
        if let input = object["input"] as? [String: Any] {
            manifest.input = FileInputIdentity(jsonObject: input)
        }
        return manifest
    }
}
