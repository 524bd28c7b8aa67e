/// What a record in the pipeline stands for.
public enum EventKind: UInt8, Sendable {
    /// A Statsig event (custom, exposure, internal or initialize), from any input shape.
    case event
    /// A Segment Engage/Personas audience change: add (`value` is `true`) or remove (`false`) the user's ID in
    /// the Statsig ID list named by `eventName`.
    case audienceMembership
}

/// One event in the canonical Statsig export shape, as byte spans into its chunk's arena.
///
/// Fields hold raw JSON (strings keep their quotes and escapes), so unchanged values are copied to every output
/// verbatim and nothing is decoded that no destination needs. `user` never contains `privateAttributes`: the
/// decoder strips it before the event exists.
public struct Event: Sendable {
    /// The event name, a raw JSON string.
    public var eventName: ByteSpan
    /// The StatsigUser object, raw, without `privateAttributes`.
    public var user: ByteSpan
    /// The user's ID, a raw JSON string (may be `""`, which identity rules treat as absent).
    public var userID: ByteSpan
    /// `user.customIDs`, a raw JSON object.
    public var customIDs: ByteSpan
    /// `user.customIDs.stableID`, a raw JSON string.
    public var stableID: ByteSpan
    /// `user.email`, a raw JSON string.
    public var email: ByteSpan
    /// The event's value: raw JSON (string, number or null).
    public var value: ByteSpan
    /// The event's metadata object, raw.
    public var metadata: ByteSpan
    /// The SDK's statsigMetadata object, raw.
    public var statsigMetadata: ByteSpan
    /// SDK exposures' secondaryExposures array, raw, when present.
    public var secondaryExposures: ByteSpan
    /// The unit the event is counted for, a raw JSON string.
    public var unitID: ByteSpan
    /// The de-duplication key; derived from time and content when the input had none.
    public var timeUUID: TimeUUID
    /// When the event happened, in milliseconds since the Unix epoch.
    public var timestamp: Int64
    /// The input line the event came from (1-based).
    public var line: UInt32
    /// The event's category, for filtering.
    public var category: EventCategory
    /// Event or audience change.
    public var kind: EventKind
    /// Set by the decoder for records that are accounted as ingested but are never delivered (a Segment group
    /// call, an unselected Segment event): the Filter stage counts them as filtered with this reason.
    public var filterReason: FilterReason?

    /// An event with every optional field absent.
    public init(eventName: ByteSpan, timeUUID: TimeUUID, timestamp: Int64, line: Int, category: EventCategory, kind: EventKind = .event) {
        self.eventName = eventName
        self.user = .absent
        self.userID = .absent
        self.customIDs = .absent
        self.stableID = .absent
        self.email = .absent
        self.value = .absent
        self.metadata = .absent
        self.statsigMetadata = .absent
        self.secondaryExposures = .absent
        self.unitID = .absent
        self.timeUUID = timeUUID
        self.timestamp = timestamp
        self.line = UInt32(truncatingIfNeeded: line)
        self.category = category
        self.kind = kind
        self.filterReason = nil
    }
}
