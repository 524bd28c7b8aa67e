/// `ingest` accepts gzipped bodies, recognised by the gzip magic bytes (1f 8b), whatever the caller's headers
/// said: no JSON document starts with them.
extension Ingestor {
    /// The most a gzipped body may expand to: a bound against compression bombs, far above any real request.
    static let maxDecompressedBody = 256 << 20

    /// Replaces a gzipped `body` with its contents; returns the invalid record (with the body's first bytes)
    /// when it cannot be decompressed.
    static func gunzipBody(_ body: inout [UInt8]) -> [InvalidInput]? {
        guard Gzip.hasMagic(body) else { return nil }
        do {
            body = try Gzip.decompress(body, limit: maxDecompressedBody)
            return nil
        } catch {
            return [InvalidInput(line: 1, reason: "gzip body: \(error)", raw: Array(body.prefix(64)))]
        }
    }
}
