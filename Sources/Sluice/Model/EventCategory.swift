/// The kind of an event, derived from its name alone.
///
/// Filters select events by category (the contract's `categories` key), so the category must be cheap to
/// compute for every event: ``of(eventName:)-(UnsafeRawBufferPointer)`` looks only at the name's bytes and
/// never allocates.
public enum EventCategory: String, Sendable, CaseIterable, Hashable {
    /// An application's own event: any name that does not start with `statsig::`.
    case custom
    /// `statsig::gate_exposure`: a user was evaluated against a feature gate.
    case gateExposure = "gate_exposure"
    /// `statsig::config_exposure`: a user was evaluated against a dynamic config.
    case configExposure = "config_exposure"
    /// `statsig::experiment_exposure`: a user was assigned to an experiment group.
    case experimentExposure = "experiment_exposure"
    /// `statsig::layer_exposure`: a user was exposed to a parameter of a layer.
    case layerExposure = "layer_exposure"
    /// `statsig::initialize`: a record of a client SDK initialize carrying the user's gate and experiment
    /// assignments (the Heap integration forwards these).
    case initialize
    /// Every other `statsig::` event (diagnostics, SDK bookkeeping). Excluded unless a filter names it,
    /// because destinations outside Statsig have no use for SDK internals.
    case `internal`

    /// The categories a selection admits when it names none: every category except ``internal``.
    public static let defaultSelected: Set<EventCategory> = Set(allCases.filter { $0 != .internal })

    /// Classifies an event by its raw UTF-8 name without allocating; runs once per event.
    public static func of(eventName name: UnsafeRawBufferPointer) -> EventCategory {
        guard hasPrefix(name, "statsig::") else { return .custom }
        let rest = UnsafeRawBufferPointer(rebasing: name[9...])
        // Dispatch on length first so at most one byte comparison runs.
        switch rest.count {
        case 10: if equals(rest, "initialize") { return .initialize }
        case 13: if equals(rest, "gate_exposure") { return .gateExposure }
        case 14: if equals(rest, "layer_exposure") { return .layerExposure }
        case 15: if equals(rest, "config_exposure") { return .configExposure }
        case 19: if equals(rest, "experiment_exposure") { return .experimentExposure }
        default: break
        }
        return .internal
    }

    /// Classifies an event by its name; a convenience for code that already holds a `String`.
    public static func of(eventName name: String) -> EventCategory {
        var name = name
        return name.withUTF8 { of(eventName: UnsafeRawBufferPointer($0)) }
    }

    /// A distinct bit per category, so a set of categories fits in one byte for per-event tests.
    var selectionBit: UInt8 {
        switch self {
        case .custom: 1 << 0
        case .gateExposure: 1 << 1
        case .configExposure: 1 << 2
        case .experimentExposure: 1 << 3
        case .layerExposure: 1 << 4
        case .initialize: 1 << 5
        case .internal: 1 << 6
        }
    }

    @inline(__always)
    private static func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        let expected = literal.utf8Start
        for index in 0..<count where bytes[index] != expected[index] { return false }
        return true
    }

    @inline(__always)
    private static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        bytes.count == literal.utf8CodeUnitCount && hasPrefix(bytes, literal)
    }
}
