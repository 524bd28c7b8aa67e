/// Facts about a request body that are not in the body: who sent it and when, by the receiver's clock.
///
/// A relay such as `sluice serve` passes one with each body to ``Pipeline/ingest(_:context:)``:
/// - `clientIP` becomes the event's IP (`user.ip`, which Segment messages fill from `context.ip`) when the
///   body has none, so events geolocate to the client rather than to the relay;
/// - the client clock's offset corrects event times the way Segment and Statsig do it: Segment messages get
///   `timestamp = receivedAt - (sentAt - timestamp)` from the body's `sentAt`; Statsig events are shifted by
///   `receivedAt - clientTime` from the SDK's `STATSIG-CLIENT-TIME`. De-duplication keys derived from event
///   times use the client's uncorrected time, so a retried body (sent later, with another offset) still
///   de-duplicates.
public struct IngestContext: Sendable, Equatable {
    /// The client's address (after trusted-proxy `X-Forwarded-For` handling); nil leaves IPs alone.
    public var clientIP: String?
    /// When the body arrived, by this machine's clock, in milliseconds since the Unix epoch.
    public var receivedAtMilliseconds: Int64
    /// The client's clock when it sent the body (Statsig's `STATSIG-CLIENT-TIME` header), in milliseconds;
    /// nil: no Statsig correction.
    public var clientTimeMilliseconds: Int64?
    /// Apply Segment's `sentAt` rule to Segment messages that carry a `sentAt` (theirs or their batch's).
    public var correctsSegmentSentAt: Bool

    /// Creates a context.
    public init(clientIP: String? = nil, receivedAtMilliseconds: Int64, clientTimeMilliseconds: Int64? = nil,
                correctsSegmentSentAt: Bool = true) {
        self.clientIP = clientIP
        self.receivedAtMilliseconds = receivedAtMilliseconds
        self.clientTimeMilliseconds = clientTimeMilliseconds
        self.correctsSegmentSentAt = correctsSegmentSentAt
    }

    /// Milliseconds to add to a Statsig event's time: the receiver's clock minus the client's.
    var statsigClockOffset: Int64 {
        clientTimeMilliseconds.map { receivedAtMilliseconds &- $0 } ?? 0
    }
}
