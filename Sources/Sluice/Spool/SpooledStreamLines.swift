/// Marks a spool record cut from a byte stream (stdin, `--input`): its payload is NDJSON lines, decoded live
/// and on replay as the stream path decodes them (``IngestFraming/lines``), so a spool never changes what a
/// line means (a pretty-printed document spread over lines stays invalid lines, as it is without a spool).
///
/// Records without the mark are ``Pipeline/ingest(_:)`` bodies, and records of spools written before the mark
/// existed, which were decoded as bodies live too: both replay as bodies.
enum SpooledStreamLines {
    /// Set in a record's first-line field when its payload is stream lines (bit 63 is ``SpooledIngestContext/flag``).
    static let flag: UInt64 = 1 << 62
}
