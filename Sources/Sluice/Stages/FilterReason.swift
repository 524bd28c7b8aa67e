/// Why an event was deliberately not delivered (globally, or to one destination).
///
/// Filtered events are accounted, never lost: the summary counts them per reason.
public enum FilterReason: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// The global or per-destination `categories` list does not hold the event's category.
    case categoryNotSelected
    /// No `include` pattern matches the event name.
    case notIncluded
    /// An `exclude` pattern matches the event name.
    case excluded
    /// A Segment event whose name `segmentInbound.events` does not select.
    case segmentEventNotSelected
    /// Segment `group` calls have no Statsig counterpart.
    case segmentGroupCall
    /// Segment `alias` calls have no Statsig counterpart.
    case segmentAliasCall
    /// An identify call that is not a Personas/Engage audience change (identify is used only for audiences).
    case identifyNotAudience
    /// The destination needs an identity (Segment userId/anonymousId, Heap identity) the event does not have.
    case noIdentity
    /// Audience changes go only to `statsig-idlists` destinations, and those take nothing else.
    case notForDestination
    /// A Segment message whose `integrations` turns Statsig off (`"Statsig": false`, or `"All": false` without
    /// `"Statsig": true`): Segment would not have sent it to Statsig.
    case segmentIntegrationDisabled
    /// A Segment page or screen call with no `name`, `properties.name` or `category` to name the event.
    case segmentPageWithoutName
    /// A replayed dead-letter record of another destination than `--replay-destination` names.
    case deadLetterOfOtherDestination
    /// While replaying dead letters for one destination (`--replay-destination`), the other destinations take nothing.
    case replayForOtherDestination

    /// The reason as written in summaries and reports.
    public var description: String {
        switch self {
        case .categoryNotSelected: return "category not selected"
        case .notIncluded: return "event name not included"
        case .excluded: return "event name excluded"
        case .segmentEventNotSelected: return "segment event not selected (segmentInbound.events)"
        case .segmentGroupCall: return "segment group call (not supported by Statsig)"
        case .segmentAliasCall: return "segment alias call (not supported by Statsig)"
        case .identifyNotAudience: return "identify without an audience (identify is used only for audiences)"
        case .noIdentity: return "no identity"
        case .notForDestination: return "not for this destination"
        case .segmentIntegrationDisabled: return "segment integrations turn Statsig off"
        case .segmentPageWithoutName: return "segment page or screen without a name"
        case .deadLetterOfOtherDestination: return "dead letter of another destination (--replay-destination)"
        case .replayForOtherDestination: return "replaying another destination's dead letters (--replay-destination)"
        }
    }
}
