/// An input line, or one event inside a batch line, that could not become an event.
///
/// It is counted as invalid, reported with its line number and reason, and written to the dead-letter file
/// when one is configured; processing goes on.
public struct InvalidInput: Sendable, Equatable {
    /// The 1-based input line number.
    public var line: Int
    /// For an event inside a batch (`events`, `data`, `batch`), its 0-based index there.
    public var index: Int?
    /// Why it was rejected, for a person.
    public var reason: String
    /// The offending bytes (the line, or the event within it), at most ``InvalidInput/maxRawBytes``.
    public var raw: [UInt8]

    /// Invalid lines can be up to the line limit; dead letters keep the first 64 KiB.
    public static let maxRawBytes = 64 << 10

    /// A line the framer skipped for exceeding `input.maxLineBytes`, with its first bytes; one reason text for
    /// every path that frames lines (the stream, `ingest` bodies, Redis entries).
    static func overlongLine(_ number: Int, prefix: [UInt8], maxLineBytes: Int) -> InvalidInput {
        InvalidInput(line: number, reason: "line longer than \(maxLineBytes) bytes (input.maxLineBytes)", raw: prefix)
    }

    /// Creates a record, keeping at most ``maxRawBytes`` of `raw`.
    public init(line: Int, index: Int? = nil, reason: String, raw: UnsafeRawBufferPointer) {
        self.line = line
        self.index = index
        self.reason = reason
        self.raw = Array(raw.prefix(InvalidInput.maxRawBytes))
    }

    /// Creates a record from bytes already in hand.
    public init(line: Int, index: Int? = nil, reason: String, raw: [UInt8]) {
        self.line = line
        self.index = index
        self.reason = reason
        self.raw = Array(raw.prefix(InvalidInput.maxRawBytes))
    }

    /// `line 12: <reason>` or `line 12, event 3: <reason>`.
    public var summary: String {
        if let index { return "line \(line), event \(index): \(reason)" }
        return "line \(line): \(reason)"
    }
}
