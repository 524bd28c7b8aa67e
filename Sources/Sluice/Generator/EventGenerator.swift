/// Synthetic Statsig export-format events as NDJSON, for `sluice generate` and the benchmark harness.
///
/// Each valid line has the shape of Statsig's export format (see `Tests/SluiceTests/Fixtures/samples/statsig-export-1k.ndjson`):
/// `eventName`, `user`, `userID`, `timestamp` (ms), `value`, `metadata`, `statsigMetadata`, `timeUUID` (an RFC 4122
/// version-1 UUID whose embedded time is the event's timestamp) and `unitID`.
///
/// Output is a pure function of ``Options``: the same options give byte-identical output regardless of the block
/// size, so benchmark inputs and test fixtures can be regenerated instead of stored. Line counts are exact and
/// known before generating (see ``Options/duplicateCount`` and ``Options/invalidCount``); which lines are
/// duplicates or broken is spread uniformly at random over the output.
public struct EventGenerator: Sendable {
    /// Relative weights of the kinds of distinct events. Only ratios matter; negative weights count as zero, and
    /// if every weight is zero the default mix is used instead.
    public struct Mix: Sendable, Equatable {
        /// `statsig::gate_exposure`.
        public var gateExposure: Double
        /// `statsig::config_exposure`.
        public var configExposure: Double
        /// `statsig::experiment_exposure`.
        public var experimentExposure: Double
        /// `statsig::layer_exposure`.
        public var layerExposure: Double
        /// Custom events (`purchase`, `add_to_cart`, `page_view`, ...), with a value and a few metadata keys.
        public var custom: Double
        /// Internal SDK events (`statsig::diagnostics`, `statsig::non_exposed_checks`) that exports filter out.
        public var `internal`: Double

        /// Creates a mix. The defaults follow the proportions of the 1k-event export sample, internal 2%.
        public init(
            gateExposure: Double = 40,
            configExposure: Double = 19,
            experimentExposure: Double = 9,
            layerExposure: Double = 11,
            custom: Double = 19,
            internal: Double = 2
        ) {
            self.gateExposure = gateExposure
            self.configExposure = configExposure
            self.experimentExposure = experimentExposure
            self.layerExposure = layerExposure
            self.custom = custom
            self.internal = `internal`
        }
    }

    /// What to generate.
    public struct Options: Sendable, Equatable {
        /// Valid event lines to emit: distinct events plus duplicates. Broken lines come on top of these, so a
        /// consumer that processes every event sees exactly this many.
        public var events: Int
        /// Fraction of ``events`` that are exact byte copies of one of the 500 most recent distinct events
        /// (so, with default rates, within about the last 550 lines). Clamped to 0...1; at least one event is
        /// always distinct.
        public var duplicateRate: Double
        /// Fraction of all output lines that are broken: truncated JSON, stray non-UTF-8 bytes, or JSON whose
        /// `eventName` is not a string. Clamped to 0...0.99. They are added to ``events``, not taken from it.
        public var invalidRate: Double
        /// Distinct users the events are spread over (uniformly); at least 1.
        public var users: Int
        /// Bytes of padding added to each custom event's metadata (`"pad":"…"`), for payload-size sweeps.
        public var extraMetadataBytes: Int
        /// Timestamp of the first event; later events advance by 0...5 ms each.
        public var startMilliseconds: Int64
        /// Seed of every random choice.
        public var seed: UInt64
        /// Weights of the kinds of distinct events.
        public var mix: Mix
        /// An exact number of broken lines, instead of the one ``invalidRate`` implies (negative counts as zero).
        /// `sluice generate --events N --invalid-rate R` sets it so that N is the number of lines written:
        /// `round(N × R)` broken lines and the rest events.
        public var exactInvalidLines: Int?

        /// Creates options; the defaults give 1000 events, 5% duplicates, no broken lines, 10,000 users, starting
        /// at 2026-11-22T07:07:13Z (the export sample's first timestamp) so output is deterministic.
        public init(
            events: Int = 1000,
            duplicateRate: Double = 0.05,
            invalidRate: Double = 0,
            users: Int = 10_000,
            extraMetadataBytes: Int = 0,
            startMilliseconds: Int64 = 1_795_331_233_000,
            seed: UInt64 = 1,
            mix: Mix = Mix()
        ) {
            self.events = events
            self.duplicateRate = duplicateRate
            self.invalidRate = invalidRate
            self.users = users
            self.extraMetadataBytes = extraMetadataBytes
            self.startMilliseconds = startMilliseconds
            self.seed = seed
            self.mix = mix
        }

        /// Exact number of duplicate lines: `events × duplicateRate`, rounded, leaving at least one distinct event.
        public var duplicateCount: Int {
            let events = max(0, self.events)
            guard events > 0 else { return 0 }
            let rate = duplicateRate.isNaN ? 0 : min(max(duplicateRate, 0), 1)
            return min(events - 1, Int(Double(events) * rate + 0.5))  // round half up; no libm needed
        }

        /// Exact number of broken lines: chosen so that they are `invalidRate` of all lines,
        /// `events × r / (1 − r)`, rounded.
        public var invalidCount: Int {
            if let exact = exactInvalidLines { return max(0, exact) }
            let events = max(0, self.events)
            let rate = invalidRate.isNaN ? 0 : min(max(invalidRate, 0), 0.99)
            return Int(Double(events) * rate / (1 - rate) + 0.5)
        }
    }

    /// The options this generator was created with.
    public let options: Options

    /// Creates a generator; nothing is generated until ``write(blockBytes:to:)`` or ``generate()``.
    public init(options: Options = Options()) {
        self.options = options
    }

    /// Streams NDJSON to `sink` in blocks of about `blockBytes` (each block ends at a line boundary), holding
    /// only one block in memory. The buffer passed to `sink` is valid only during the call.
    public func write(
        blockBytes: Int = 1 << 20,
        to sink: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows -> GeneratedCounts {
        let lines = EventLineWriter(options: options)
        let flushThreshold = max(blockBytes, 1)
        let capacity = flushThreshold + lines.maximumLineBytes
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { storage.deallocate() }

        var cursor = ByteCursor(position: storage)
        var counts = GeneratedCounts()
        var schedule = LineSchedule(options: options)
        while let line = schedule.next() {
            switch line {
            case let .distinct(event):
                if lines.writeEvent(event, to: &cursor) { counts.internal += 1 }
                counts.events += 1
            case let .duplicate(event):
                _ = lines.writeEvent(event, to: &cursor)
                counts.events += 1
                counts.duplicates += 1
            case let .invalid(lineNumber, milliseconds):
                lines.writeInvalid(lineNumber: lineNumber, milliseconds: milliseconds, to: &cursor)
                counts.invalid += 1
            }
            counts.lines += 1
            let used = cursor.position - storage
            assert(used <= capacity, "a generated line exceeded maximumLineBytes")
            if used >= flushThreshold {
                try sink(UnsafeRawBufferPointer(start: storage, count: used))
                counts.bytes += used
                cursor.position = storage
            }
        }
        let used = cursor.position - storage
        if used > 0 {
            try sink(UnsafeRawBufferPointer(start: storage, count: used))
            counts.bytes += used
        }
        return counts
    }

    /// Everything as one buffer, for tests and benchmarks that want the input in memory before timing.
    public func generate() -> (bytes: [UInt8], counts: GeneratedCounts) {
        var bytes: [UInt8] = []
        // Typical lines are ~450-500 bytes; reserving avoids repeated regrowth of a large buffer.
        let lineCount = max(0, options.events) + options.invalidCount
        bytes.reserveCapacity(lineCount * (520 + max(0, options.extraMetadataBytes) / 4))
        let counts = write { block in bytes.append(contentsOf: block) }
        return (bytes, counts)
    }
}

/// What a generator emitted. `lines`, `events`, `duplicates` and `invalid` follow from the options alone;
/// `internal` and `bytes` depend on the random draws.
public struct GeneratedCounts: Sendable, Equatable {
    /// All lines written, valid or not.
    public var lines: Int
    /// Valid event lines: distinct events plus duplicates (equals ``EventGenerator/Options/events``).
    public var events: Int
    /// Lines that exactly repeat an earlier event line.
    public var duplicates: Int
    /// Broken lines.
    public var invalid: Int
    /// Internal (`statsig::diagnostics`, `statsig::non_exposed_checks`) events among the distinct events.
    public var `internal`: Int
    /// Bytes written, newlines included.
    public var bytes: Int

    /// Creates counts, e.g. to compare with what a consumer observed.
    public init(lines: Int = 0, events: Int = 0, duplicates: Int = 0, invalid: Int = 0, internal: Int = 0, bytes: Int = 0) {
        self.lines = lines
        self.events = events
        self.duplicates = duplicates
        self.invalid = invalid
        self.internal = `internal`
        self.bytes = bytes
    }
}
