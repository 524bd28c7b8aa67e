import Synchronization

/// The dedupe table's size and evictions, readable by metrics while the Deduplicator actor owns the table.
final class DedupeStats: Sendable {
    private let size = Atomic<Int>(0)
    private let capacityEvictions = Atomic<Int>(0)
    private let windowEvictions = Atomic<Int>(0)
    private let memoryBytes = Atomic<Int>(0)

    func update(size: Int, capacityEvictions: Int, windowEvictions: Int, memoryBytes: Int) {
        self.size.store(size, ordering: .relaxed)
        self.capacityEvictions.store(capacityEvictions, ordering: .relaxed)
        self.windowEvictions.store(windowEvictions, ordering: .relaxed)
        self.memoryBytes.store(memoryBytes, ordering: .relaxed)
    }

    var snapshot: (size: Int, capacityEvictions: Int, windowEvictions: Int, memoryBytes: Int) {
        (size.load(ordering: .relaxed), capacityEvictions.load(ordering: .relaxed),
         windowEvictions.load(ordering: .relaxed), memoryBytes.load(ordering: .relaxed))
    }
}
