/// How ``Ingestor`` reads the bytes it is handed.
enum IngestFraming: Sendable {
    /// A request body: gzip by its magic bytes, one JSON document (even pretty-printed over lines), or NDJSON.
    case body
    /// Lines of a byte stream (stdin, `--input`), as the stream path frames them: NDJSON only.
    case lines
}
