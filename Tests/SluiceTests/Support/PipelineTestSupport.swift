import Foundation
import Synchronization
@testable import Sluice

/// A custom destination that records every event it receives, optionally holding batches until released.
final class RecordingDestination: Destination {
    private let received = Mutex<[ExportedEvent]>([])
    private let gate: Gate?

    /// A destination that blocks every `send` until `release()` when `blocking` is true.
    init(blocking: Bool = false) {
        gate = blocking ? Gate() : nil
    }

    func send(_ batch: EventBatch) async throws {
        if let gate { await gate.wait() }
        received.withLock { $0.append(contentsOf: batch.events) }
    }

    var events: [ExportedEvent] { received.withLock { $0 } }
    var timeUUIDs: [String] { events.map(\.timeUUID) }

    func release() { gate?.open() }
}

/// A one-shot latch that async waiters suspend on.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.open { return true }
                s.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }
}

/// A destination that always fails, retryably or not.
struct FailingDestination: Destination {
    let retryable: Bool
    func send(_ batch: EventBatch) async throws {
        throw retryable ? DestinationError.retryable("test outage") : DestinationError.permanent("test refusal")
    }
}

enum PipelineTestSupport {
    /// Export-format event lines with distinct version-1 timeUUIDs derived from `index`.
    static func eventLine(_ index: Int, name: String = "purchase", user: String? = nil, timestamp: Int64 = 1_795_331_233_000) -> String {
        let uuid = TimeUUID.derived(milliseconds: timestamp + Int64(index), contentHash: UInt64(index) &* 0x9E37_79B9_7F4A_7C15 | 1)
        let userID = user ?? "u_\(index % 97)"
        return #"{"eventName":"\#(name)","user":{"userID":"\#(userID)","customIDs":{"stableID":"s-\#(index % 53)"}},"userID":"\#(userID)","timestamp":\#(timestamp + Int64(index)),"value":\#(index),"metadata":{"i":"\#(index)"},"statsigMetadata":{},"timeUUID":"\#(uuid)","unitID":"\#(userID)"}"#
    }

    static func bytes(_ lines: [String]) -> [UInt8] {
        Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// A configuration with only the given destinations (none configured means the custom ones alone).
    static func configuration(chunkSize: Int = 512, queueCapacity: Int = 8, dedupe: DedupeConfiguration = .init(),
                              filter: EventSelection = .init(), destinations: [DestinationConfiguration] = []) -> PipelineConfiguration {
        PipelineConfiguration(dedupe: dedupe, filter: filter,
                              input: InputConfiguration(chunkSize: chunkSize, queueCapacity: queueCapacity),
                              drainTimeoutSeconds: 5, destinations: destinations)
    }

    /// Waits (polling) until `condition` holds or `timeout` passes; returns whether it held.
    static func eventually(timeout: Duration = .seconds(20), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    /// A temporary file path that is removed when the test process ends (best effort).
    static func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }
}
