#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
@testable import Sluice

/// Cursor files on a full disk: written in place into the blocks they have, and when a write fails anyway, said
/// once, counted, retried on the next settle, and in the exit status only if it never succeeds.
@Suite("Spool: cursor writes on a full disk", .serialized)
struct SpoolCursorWriteTests {
    /// The frontier in a destination's cursor file now (nil when unreadable).
    static func frontier(_ spool: String, _ destination: String) -> UInt64? {
        let name = SpoolCursorFile.name(for: destination)
        guard let bytes = FileManager.default.contents(atPath: spool + "/" + name) else { return nil }
        return (try? SpoolCursorFile.decode(Array(bytes), file: name))?.settled.frontier
    }

    /// Waits (up to 10 s: the cursor thread writes within milliseconds) until `condition` holds.
    static func eventually(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if condition() { return true }
            usleep(5000)
        }
        return condition()
    }

    /// Fills the file system holding `path` with one file until a write fails with ENOSPC; returns its path.
    static func fill(_ directory: String) -> String {
        let path = directory + "/filler"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let block = [UInt8](repeating: 0x41, count: 4096)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        // Then byte by byte, so not even a partial block is left.
        var one: UInt8 = 0x41
        while write(fd, &one, 1) > 0 {}
        close(fd)
        return path
    }

    @Test("a 1 MiB tmpfs filled up: cursors are still written (in place, into blocks the file has); a failed write is said once, counted, retried on the next settle, and clears once it succeeds")
    func cursorWritesOnAFullDisk() async throws {
        let directory = PipelineTestSupport.temporaryPath("cursor-full")
        let mountPoint = directory + "/disk"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = try SpoolFullDiskTests.runProgram("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint])
        guard mount.status == 0 else {
            // Mounting needs root (or CAP_SYS_ADMIN), as for SpoolFullDiskTests.realFullDisk.
            print("skipped: cannot mount a tmpfs here (\(mount.stderr.trimmingCharacters(in: .whitespacesAndNewlines)))")
            return
        }
        defer { _ = try? SpoolFullDiskTests.runProgram("/bin/umount", ["-l", mountPoint]) }
        let path = mountPoint + "/spool"
        let notices = Mutex<[String]>([])
        let spool = try Spool(configuration: SpoolConfiguration(path: path, maxBytes: 512 << 10), destinations: ["a", "b"],
                              onProblem: { note in notices.withLock { $0.append(note) } })
        for n in 1...6 { _ = try await spool.append(Array("{\"n\":\(n)}\n".utf8)) }
        #expect(FileManager.default.fileExists(atPath: path + "/" + SpoolManifest.fileName + ".spare"))

        let filler = Self.fill(mountPoint)
        defer { unlink(filler) }
        #expect(open(path + "/probe", O_WRONLY | O_CREAT, 0o600).flatMapWrite() == false, "the disk is full")

        // Ledgers go into the slots the cursor files already have: the full disk stops none of them.
        spool.settle(destination: 0, 1...3)
        spool.commitCursor(destination: 0)
        #expect(Self.frontier(path, "a") == 3)
        spool.settle(destination: 0, 4...4)
        spool.settle(destination: 1, 1...2)
        #expect(Self.eventually { Self.frontier(path, "a") == 4 && Self.frontier(path, "b") == 2 }, "the cursor thread writes them too")
        #expect(spool.stats.cursorWriteFailures == 0)

        // A write that fails (here: b's file opened read-only): said once, counted each time, b marked behind.
        let readOnly = open(path + "/" + SpoolCursorFile.name(for: "b"), O_RDONLY | O_CLOEXEC)
        let writable = spool.swapCursorDescriptor(destination: 1, readOnly)
        spool.settle(destination: 1, 3...3)
        spool.commitCursor(destination: 1)
        spool.settle(destination: 1, 4...4)
        spool.commitCursor(destination: 1)
        #expect(spool.stats.cursorWriteFailures >= 2, "retried on the next settle")
        #expect(spool.stats.cursorsBehind == 1)
        #expect(Self.frontier(path, "b") == 2, "the cursor on disk stayed where it was")
        #expect(notices.withLock { $0.filter { $0.contains("cannot write") && $0.contains("cursor-b.json") }.count } == 1, "\(notices.withLock { $0 })")

        // Writable again: the next settle writes the ledger, with everything settled so far.
        closeDescriptorForTest(spool.swapCursorDescriptor(destination: 1, writable))
        spool.settle(destination: 1, 5...5)
        spool.commitCursor(destination: 1)
        #expect(Self.frontier(path, "b") == 5)
        #expect(spool.stats.cursorsBehind == 0)
        #expect(notices.withLock { $0.contains { $0.contains("\"b\" is written again") } }, "\(notices.withLock { $0 })")
        spool.close()
        #expect(spool.stats.cursorsBehind == 0)
    }

    @Test("SIGKILL while the disk is full and batches are still being delivered: the restart re-sends only what was in flight, not everything settled since the disk filled")
    func killOnAFullDiskResendsOnlyWhatWasInFlight() throws {
        let directory = PipelineTestSupport.temporaryPath("cursor-kill-full")
        let input = try SpoolFullDiskTests.input(in: directory)  // 8,000 events, 2.4 MB
        let mountPoint = directory + "/disk"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = try SpoolFullDiskTests.runProgram("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint])
        guard mount.status == 0 else {
            print("skipped: cannot mount a tmpfs here (\(mount.stderr.trimmingCharacters(in: .whitespacesAndNewlines)))")
            return
        }
        defer { _ = try? SpoolFullDiskTests.runProgram("/bin/umount", ["-l", mountPoint]) }
        // A Segment endpoint answering each batch after 40 ms: delivery of the 80 batches takes seconds.
        let accepted = Mutex<[String]>([])
        let server = try TestHTTPServer(maxLifetime: .seconds(300)) { request, _ in
            let ids = AcceptingSegmentEndpoint.messageIds(request.body)
            accepted.withLock { $0.append(contentsOf: ids) }
            return .delayed(.milliseconds(40), TestHTTPServer.ok)
        }
        defer { server.stop() }
        let spool = mountPoint + "/spool"
        let config = directory + "/pipeline.json"
        try """
        {"drainTimeoutSeconds": 30, "spool": {"path": "\(spool)"},
         "destinations": [{"name": "segment", "type": "segment", "endpoint": "http://127.0.0.1:\(server.port)",
           "writeKey": "full-test-key", "batch": {"maxEvents": 100, "maxDelayMs": 20}, "concurrency": 1}]}
        """.write(toFile: config, atomically: true, encoding: .utf8)

        let running = try SluiceExecutable.start(["--config", config, "--input", input, "--quiet"])
        let outputs = OutputCollector(running)
        try? running.stdin.close()
        // Once delivery is under way, fill the disk (input stops at the next append: what is spooled ahead of
        // the destination is still delivered, a thousand events at least); let part of that be delivered.
        #expect(Self.eventually { Set(accepted.withLock { $0 }).count >= 300 })
        let filler = Self.fill(mountPoint)
        let deliveredBeforeFull = Set(accepted.withLock { $0 }).count
        #expect(Self.eventually { Set(accepted.withLock { $0 }).count >= deliveredBeforeFull + 600 }, "delivery goes on")
        // Give the cursor thread its usual moment (it writes within milliseconds of a settlement), then kill.
        usleep(50_000)
        kill(running.process.processIdentifier, SIGKILL)
        running.process.waitUntilExit()
        _ = outputs.finish()
        let beforeKill = accepted.withLock { $0 }
        unlink(filler)

        let rerun = try SluiceExecutable.run(["--config", config, "--input", input, "--quiet"])
        #expect(rerun.status == 0, "the disk has room again: \(rerun.stderr)")
        let all = accepted.withLock { $0 }
        #expect(Set(all).count == 8000, "every event delivered")
        let resent = all.count - 8000
        // In flight at the kill: the batch being answered, the rest of its records (records are half a batch),
        // and what settled in the cursor thread's last millisecond; before the fix, every settlement after the
        // disk filled (here thousands of events) was sent again.
        print("kill on a full disk: \(beforeKill.count) accepted before the kill (\(deliveredBeforeFull) before the disk filled), \(resent) re-sent")
        #expect(resent <= 300, "re-sent \(resent) (accepted before the kill: \(beforeKill.count), before the disk filled: \(deliveredBeforeFull))")
    }

    @Test("the exit status says a cursor was never written, not that a write failed and was retried")
    func exitStatusOnlyForCursorsNeverWritten() {
        var summary = Summary(ingested: 1, invalid: 0, duplicates: 0, filtered: 0, filteredByReason: [:], destinations: [:], elapsedSeconds: 0)
        summary.spool = Summary.SpoolSummary()
        summary.spool?.cursorWriteFailures = 5
        #expect(summary.exitStatus == 0)
        summary.spool?.cursorsNotWritten = 1
        #expect(summary.exitStatus == 3)
        #expect(String(decoding: summary.jsonBytes(), as: UTF8.self).contains("\"cursorWriteFailures\":5,\"cursorsNotWritten\":1"))
    }

    @Test("a ledger line is the CRC-32C of its JSON, then the JSON (sorted keys), and decodes back")
    func cursorEncoding() throws {
        let settled = SettledSequences(frontier: 1041, ranges: [1043...1050, 1052...1052])
        let line = String(decoding: SpoolCursorFile.line(destination: "segment", settled: settled, generation: 7), as: UTF8.self)
        let json = #"{"destination":"segment","frontier":1041,"generation":7,"settled":[[1043,1050],[1052,1052]],"version":2}"#
        #expect(line == String(CRC32C.checksum(Array(json.utf8)), radix: 16).leftPadded(to: 8) + " " + json + "\n")
        let odd = "a \"quoted\" name\\with/é"
        let decoded = try SpoolCursorFile.decode(SpoolCursorFile.image(destination: odd, settled: settled), file: "x")
        #expect(decoded.destination == odd && decoded.settled == settled)
        let empty = try SpoolCursorFile.decode(SpoolCursorFile.image(destination: "a", settled: SettledSequences()), file: "x")
        #expect(empty.settled == SettledSequences())
    }
}

private func closeDescriptorForTest(_ fd: Int32) {
    _ = close(fd)
}

private extension Int32 {
    /// Writes one byte to this descriptor (then closes it): whether the file system took it.
    func flatMapWrite() -> Bool {
        guard self >= 0 else { return false }
        defer { close(self) }
        var byte: UInt8 = 0x41
        return write(self, &byte, 1) == 1 && fsync(self) == 0
    }
}
