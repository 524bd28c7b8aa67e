/// Which of an event's identifiers fills a destination's identity field ("Map Identifiers").
public enum IdentifierSource: Sendable, Equatable {
    /// `user.userID` (or the export shape's top-level `userID`).
    case userID
    /// `user.customIDs.stableID`.
    case stableID
    /// `user.email`.
    case email
    /// The event's `unitID`.
    case unitID
    /// `user.customIDs.<name>`.
    case customID(String)

    /// Parses a configuration value: `userID`, `stableID`, `email`, `unitID`, or any custom ID type name.
    public init(_ name: String) {
        switch name {
        case "userID": self = .userID
        case "stableID": self = .stableID
        case "email": self = .email
        case "unitID": self = .unitID
        default: self = .customID(name)
        }
    }
}

/// The identity rules of a destination.
enum IdentityRule: Sendable {
    /// No identity needed (Statsig and webhook formats).
    case none
    /// Segment: `userId` and/or `anonymousId`; an event with neither is filtered ("no identity").
    case segment(userId: IdentifierSource, anonymousId: IdentifierSource?)
    /// Heap: one `identity`; an event without it is filtered.
    case heap(identity: IdentifierSource)
    /// Statsig ID lists: audience changes only, identified by the user's ID.
    case audience
}

/// Identity spans resolved for one event, pointing into its chunk's arena (absent spans when not found).
struct ResolvedIdentity: Sendable {
    /// Segment `userId`, Heap `identity`, ID-list member ID.
    var primary: ByteSpan = .absent
    /// Segment `anonymousId`.
    var secondary: ByteSpan = .absent
    /// The event's unitID, defaulted to userID, then stableID.
    var unitID: ByteSpan = .absent
}

/// The events of a chunk that one destination takes, with their resolved identities.
struct MappedChunk: Sendable {
    var chunk: EventChunk
    var selected: [Int32] = []
    var identities: [ResolvedIdentity] = []
}

/// Stage 4 (per destination): the destination's event selection and identity rules.
///
/// Runs after fan-out, one per destination, because each destination selects its own categories and maps
/// identifiers its own way (Segment's userId/anonymousId, Heap's identity). Events the destination does not
/// take are counted as filtered for it, with the reason; `unitID` is defaulted here (userID, else stableID).
actor IdentifierMapper {
    private let destination: String
    /// The destination's index, for booking filtered events against their unit of input.
    private let destinationIndex: Int
    private let selection: EventSelection
    private let rule: IdentityRule
    private let accounting: Accounting
    private var reader = JSONReader(maxDepth: 8)

    init(destination: String, destinationIndex: Int = 0, selection: EventSelection, rule: IdentityRule,
         accounting: Accounting) {
        self.destination = destination
        self.destinationIndex = destinationIndex
        self.selection = selection
        self.rule = rule
        self.accounting = accounting
    }

    func run(input: BoundedChannel<EventChunk>, output: BoundedChannel<BatcherInput>) async {
        for await chunk in input {
            let mapped = map(chunk)
            if !mapped.selected.isEmpty, await !output.send(.mapped(mapped)) {
                accounting.update(destination) { $0.dropped += mapped.selected.count }
                chunk.settle(mapped.selected.count, destination: destinationIndex, as: .dropped)
            }
        }
        output.finish()
    }

    func map(_ chunk: EventChunk) -> MappedChunk {
        var mapped = MappedChunk(chunk: chunk)
        mapped.selected.reserveCapacity(chunk.events.count)
        mapped.identities.reserveCapacity(chunk.events.count)
        var reasons: [FilterReason: Int] = [:]
        chunk.withArena { arena in
            for (index, event) in chunk.events.enumerated() {
                var identity = ResolvedIdentity()
                if let reason = rejection(event, arena, &identity) {
                    reasons[reason, default: 0] += 1
                    continue
                }
                mapped.selected.append(Int32(index))
                mapped.identities.append(identity)
            }
        }
        accounting.recordFiltered(destination, reasons)
        chunk.settle(chunk.events.count - mapped.selected.count, destination: destinationIndex, as: .filtered)
        return mapped
    }

    private func rejection(_ event: Event, _ arena: UnsafeRawBufferPointer, _ identity: inout ResolvedIdentity) -> FilterReason? {
        switch (rule, event.kind) {
        case (.audience, .event): return .notForDestination
        case (.audience, .audienceMembership):
            identity.primary = nonEmpty(event.userID)
            return identity.primary.isPresent ? nil : .noIdentity
        case (_, .audienceMembership): return .notForDestination
        default: break
        }
        if let reason = selection.rejection(name: EventNames.content(event.eventName, arena), category: event.category) {
            return reason
        }
        // An empty-string unitID (like an empty userID) names no unit: fall through to the next identifier.
        identity.unitID = nonEmpty(event.unitID).isPresent ? event.unitID : nonEmpty(event.userID).isPresent ? event.userID : nonEmpty(event.stableID)
        switch rule {
        case .none, .audience:
            return nil
        case .segment(let userId, let anonymousId):
            identity.primary = lookup(userId, event, arena)
            if let anonymousId { identity.secondary = lookup(anonymousId, event, arena) }
            return identity.primary.isPresent || identity.secondary.isPresent ? nil : .noIdentity
        case .heap(let source):
            identity.primary = lookup(source, event, arena)
            return identity.primary.isPresent ? nil : .noIdentity
        }
    }

    /// A string span, or absent when it is the empty string `""` (some SDKs send an empty userID).
    @inline(__always)
    private func nonEmpty(_ span: ByteSpan) -> ByteSpan { span.count > 2 ? span : .absent }

    private func lookup(_ source: IdentifierSource, _ event: Event, _ arena: UnsafeRawBufferPointer) -> ByteSpan {
        switch source {
        case .userID: return nonEmpty(event.userID)
        case .stableID: return nonEmpty(event.stableID)
        case .email: return nonEmpty(event.email)
        case .unitID: return nonEmpty(event.unitID)
        case .customID(let name):
            guard event.customIDs.isPresent else { return .absent }
            let object = UnsafeRawBufferPointer(rebasing: arena[event.customIDs.range])
            guard (try? reader.parse(object)) != nil else { return .absent }
            var nameCopy = name
            return nameCopy.withUTF8 { wanted in
                reader.withView(of: object) { view in
                    var found = ByteSpan.absent
                    view.forEachMember(of: 0) { key, value in
                        if view.kind(value) == .string, view.stringEquals(key, bytes: UnsafeRawBufferPointer(wanted)) {
                            found = ByteSpan(start: Int(event.customIDs.start) + Int(view.nodes[value].start),
                                             count: Int(view.nodes[value].end - view.nodes[value].start))
                        }
                    }
                    return nonEmpty(found)
                }
            }
        }
    }
}
