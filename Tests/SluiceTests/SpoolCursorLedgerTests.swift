import Foundation
import Synchronization
import Testing
@testable import Sluice

/// The ledger each destination keeps in the spool, and the commit after every batch that bounds what a crash
/// re-sends (issue #11: batches in flight, not however far the cursor thread fell behind).
@Suite("Spool: cursor ledgers and the commit after each batch")
struct SpoolCursorLedgerTests {
    /// Sends nothing: records the order of sends, for the commit between them.
    struct RecordingSender: BatchSender {
        let log: Log

        func send(_ batch: Batch, abandon: @escaping @Sendable () -> Bool) async -> SendOutcome {
            log.entries.withLock { $0.append("send " + String(decoding: batch.body, as: UTF8.self)) }
            return .delivered(attempts: 1)
        }
    }

    final class Log: Sendable {
        let entries = Mutex<[String]>([])
    }

    @Test("a sender's worker commits after settling each batch and before it takes the next one")
    func senderCommitsBetweenBatches() async {
        let log = Log()
        let recorder = DeliveryRecorder(destination: "d", accounting: Accounting(destinations: ["d"]), deadLetters: nil,
                                        latency: LatencyHistogram())
        let sender = Sender(sender: RecordingSender(log: log), recorder: recorder, workers: 1, shutdown: ShutdownState(),
                            commit: { log.entries.withLock { $0.append("commit") } })
        let batches = BoundedChannel<Batch>(capacity: 8)
        for n in 1...3 {
            _ = await batches.send(Batch(body: Array("\(n)".utf8), eventCount: 1, members: [], oldestCreatedAt: 0, key: nil))
        }
        batches.finish()
        await sender.run(input: batches, inFlight: InFlightCounter())
        #expect(log.entries.withLock { $0 } == ["send 1", "commit", "send 2", "commit", "send 3", "commit"])
    }

    @Test("commitCursor puts what was settled in the cursor file at once, without waiting for the cursor thread")
    func commitWritesTheLedgerAtOnce() async throws {
        let path = freshSpoolPath()
        let spool = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        defer { spool.close() }
        for n in 1...100 { _ = try await spool.append(Array("\(n)\n".utf8)) }
        // Out of order, as concurrent batches settle: the ranges beyond the frontier are in the file too.
        for n in Array(stride(from: 2, through: 100, by: 2)) + Array(stride(from: 1, through: 99, by: 2)) {
            spool.settle(destination: 0, UInt64(n)...UInt64(n))
            spool.commitCursor(destination: 0)
            let bytes = try #require(FileManager.default.contents(atPath: path + "/cursor-a.json"))
            let (_, settled) = try SpoolCursorFile.decode(Array(bytes), file: "cursor-a.json")
            #expect(settled.contains(UInt64(n)), "record \(n) settled and committed, but not in the file")
        }
    }

    @Test("a ledger torn in its slot (a power cut mid-write) leaves the previous ledger in the other slot")
    func tornSlotFallsBackToTheOtherSlot() throws {
        var bytes = SpoolCursorFile.image(destination: "a", settled: SettledSequences(frontier: 5))
        let newer = SpoolCursorFile.line(destination: "a", settled: SettledSequences(frontier: 9, ranges: [11...12]), generation: 2)
        let offset = SpoolCursorFile.slotOffset(generation: 2)
        bytes.replaceSubrange(offset..<offset + newer.count, with: newer)
        let whole = try SpoolCursorFile.decodeLedger(bytes, file: "cursor-a.json")
        #expect(whole.generation == 2 && whole.settled == SettledSequences(frontier: 9, ranges: [11...12]))
        // A digit of the newer ledger changed: its CRC fails, the older one (generation 1) is read.
        let digit = try #require(newer.firstIndex(of: UInt8(ascii: "9")))
        bytes[offset + digit] = UInt8(ascii: "7")
        let torn = try SpoolCursorFile.decodeLedger(bytes, file: "cursor-a.json")
        #expect(torn.generation == 1 && torn.settled == SettledSequences(frontier: 5))
        // Both slots bad: a clear error (the spool then replays everything to that destination).
        bytes.replaceSubrange(0..<SpoolCursorFile.slotSize, with: [UInt8](repeating: 0x20, count: SpoolCursorFile.slotSize))
        bytes[SpoolCursorFile.slotSize + 20] ^= 0x01
        #expect(throws: SpoolError.self) { try SpoolCursorFile.decodeLedger(bytes, file: "cursor-a.json") }
    }

    @Test("a version-1 cursor file (one JSON object) is read, then rewritten as a two-slot ledger")
    func versionOneCursorIsMigrated() async throws {
        let path = freshSpoolPath()
        let spool = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        for n in 1...10 { _ = try await spool.append(Array("\(n)\n".utf8)) }
        spool.close()
        try Data(#"{"version":1,"destination":"a","frontier":4,"settled":[[6,7]]}"#.utf8)
            .write(to: URL(fileURLWithPath: path + "/cursor-a.json"))
        let reopened = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        #expect(try replayAll(reopened).map(\.0) == [5, 8, 9, 10])
        let bytes = try #require(FileManager.default.contents(atPath: path + "/cursor-a.json"))
        #expect(bytes.count == 2 * SpoolCursorFile.slotSize)
        let ledger = try SpoolCursorFile.decodeLedger(Array(bytes), file: "cursor-a.json")
        #expect(ledger.settled == SettledSequences(frontier: 4, ranges: [6...7]))
        // Later ledgers go in place into that file.
        reopened.settle(destination: 0, 5...5)
        reopened.commitCursor(destination: 0)
        reopened.close()
        let after = try #require(FileManager.default.contents(atPath: path + "/cursor-a.json"))
        #expect(after.count == 2 * SpoolCursorFile.slotSize)
        #expect(try SpoolCursorFile.decodeLedger(Array(after), file: "cursor-a.json").settled == SettledSequences(frontier: 7))
    }

    @Test("a destination name that needs escaping round-trips through the ledger's JSON")
    func escapedNameRoundTrips() throws {
        let name = "we\"ird\\name\u{01}é"
        let bytes = SpoolCursorFile.image(destination: name, settled: SettledSequences(frontier: 3))
        #expect(try SpoolCursorFile.decodeLedger(bytes, file: "x").destination == name)
    }
}
