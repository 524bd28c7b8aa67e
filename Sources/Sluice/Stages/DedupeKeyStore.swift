/// A key the ``Deduplicator`` remembers, with the event time its window is measured in.
struct RememberedKey: Sendable, Equatable {
    var key: DedupeKey
    var eventTimeMilliseconds: Int64
}

/// Where the ``Deduplicator`` keeps its keys beyond the life of the process, so a duplicate that arrives after
/// a restart is still dropped. A spool's key journal is one (``SpooledDedupeKeys``); without one, keys live in
/// memory only.
protocol DedupeKeyStore: Sendable {
    /// Keys an earlier run remembered that are still within the window and the capacity, oldest first. Called
    /// once, before the first event.
    func restoredKeys() -> [RememberedKey]
    /// Keys first seen in one chunk, in input order, from the unit `unit`. Called before the chunk moves on, so
    /// a key is kept before any destination can settle its event.
    func remember(_ keys: [RememberedKey], unit: UnitTag?)
}
