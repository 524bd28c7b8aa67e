#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import Sluice

@Suite("CRC-32C")
struct CRC32CTests {
    @Test("matches the RFC 3720 (iSCSI) test vectors and the standard check value")
    func rfc3720Vectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test("the sliced loop agrees with the bytewise one at every length and alignment, and pieces chain")
    func slicingAgreesWithBytewise() {
        var generator = SplitMix64(seed: 7)
        let data = (0..<300).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        func bytewise(_ bytes: ArraySlice<UInt8>) -> UInt32 {
            var c: UInt32 = ~0
            for b in bytes {
                c ^= UInt32(b)
                for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            }
            return ~c
        }
        for start in 0..<9 {
            for end in stride(from: start, through: data.count, by: 7) {
                let slice = data[start..<end]
                #expect(slice.withUnsafeBytes { CRC32C.checksum($0) } == bytewise(slice))
            }
        }
        let whole = CRC32C.checksum(data)
        let split = CRC32C.checksum(Array(data[100...]), continuing: CRC32C.checksum(Array(data[..<100])))
        #expect(whole == split)
    }

    @Test("the braided loop agrees with the bitwise definition on random lengths, alignments and split points")
    func braidedAgreesOnRandomInput() {
        var generator = SplitMix64(seed: 11)
        let data = (0..<70_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        func bitwise(_ bytes: ArraySlice<UInt8>, from crc: UInt32 = 0) -> UInt32 {
            var c = ~crc
            for b in bytes {
                c ^= UInt32(b)
                for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            }
            return ~c
        }
        // Lengths around the braid block (40 bytes) and its two-block minimum, and long random ones.
        var lengths = Array(70..<90) + [0, 1, 7, 8, 39, 40, 41, 79, 80, 81, 119, 120, 121, 4096, 65_537]
        for _ in 0..<40 { lengths.append(Int(generator.next() % 20_000)) }
        for length in lengths {
            let start = Int(generator.next() % 64)
            let slice = data[start..<(start + length)]
            #expect(slice.withUnsafeBytes { CRC32C.checksum($0) } == bitwise(slice), "length \(length) at offset \(start)")
            let cut = length == 0 ? start : start + Int(generator.next() % UInt64(length))
            let chained = data[cut..<(start + length)].withUnsafeBytes {
                CRC32C.checksum($0, continuing: data[start..<cut].withUnsafeBytes { CRC32C.checksum($0) })
            }
            #expect(chained == bitwise(slice), "length \(length) split at \(cut - start)")
        }
    }
}

@Suite("Settled sequences")
struct SettledSequencesTests {
    @Test("out-of-order settlement keeps ranges beyond the frontier and merges them when the gap closes")
    func rangesMergeIntoTheFrontier() {
        var settled = SettledSequences()
        settled.insert(3)
        settled.insert(5...6)
        #expect(settled.frontier == 0)
        #expect(settled.ranges == [3...3, 5...6])
        #expect(settled.contains(5) && !settled.contains(4) && !settled.contains(1))
        settled.insert(1...2)
        #expect(settled.frontier == 3)
        settled.insert(4)
        #expect(settled.frontier == 6)
        #expect(settled.ranges.isEmpty)
    }

    @Test("the ranges kept beyond the frontier are bounded; forgetting the highest only re-sends them")
    func rangesAreBounded() {
        var settled = SettledSequences()
        for n in stride(from: UInt64(2), to: 2000, by: 2) { settled.insert(n) }
        #expect(settled.ranges.count == SettledSequences.maxRanges)
        #expect(settled.contains(2) && !settled.contains(1))
        #expect(!settled.contains(1998))
    }

    @Test("advancing the frontier past deleted records absorbs the ranges it reaches")
    func advanceFrontier() {
        var settled = SettledSequences(frontier: 0, ranges: [11...20, 30...31])
        settled.advanceFrontier(to: 10)
        #expect(settled.frontier == 20)
        #expect(settled.ranges == [30...31])
    }
}

/// A fresh spool directory (not created: the spool creates it 0700).
func freshSpoolPath() -> String {
    PipelineTestSupport.temporaryPath("spool")
}

func spoolFiles(_ path: String, prefix: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasPrefix(prefix) }.sorted()
}

/// Every record a replay yields, as (sequence, payload text, owed).
func replayAll(_ spool: Spool) throws -> [(UInt64, String, [Bool])] {
    let replay = try spool.replay()
    var items: [(UInt64, String, [Bool])] = []
    while let item = try replay.next() { items.append((item.record.sequence, String(decoding: item.record.payload, as: UTF8.self), item.owed)) }
    return items
}

@Suite("Spool storage")
struct SpoolStorageTests {
    @Test("records survive a reopen with their sequence numbers, source offsets and line numbers, in order")
    func appendReopenReplay() async throws {
        let path = freshSpoolPath()
        let spool = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        for n in 1...5 {
            let sequence = try await spool.append(Array("line \(n)\n".utf8), sourceOffset: UInt64(n * 10), firstLine: UInt64(n))
            #expect(sequence == UInt64(n))
        }
        spool.close()
        let reopened = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        defer { reopened.close() }
        let items = try replayAll(reopened)
        #expect(items.map(\.0) == [1, 2, 3, 4, 5])
        #expect(items.map(\.1) == (1...5).map { "line \($0)\n" })
        #expect(items.allSatisfy { $0.2 == [true] })
        let replay = try reopened.replay()
        let third = try #require(try (0..<3).compactMap { _ in try replay.next() }.last)
        #expect(third.record.sourceOffset == 30 && third.record.firstLine == 3)
        // New records continue the numbering.
        #expect(try await reopened.append(Array("next\n".utf8)) == 6)
    }

    @Test("each record is replayed to exactly the destinations that had not settled it, settled ranges included")
    func replayHonoursEachCursor() async throws {
        let path = freshSpoolPath()
        let spool = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a", "b"])
        for n in 1...6 { _ = try await spool.append(Array("\(n)\n".utf8)) }
        spool.settle(destination: 0, 1...4)
        spool.settle(destination: 1, 1...1)
        spool.settle(destination: 1, 3...3)  // beyond b's frontier
        spool.settle(destination: 1, 6...6)
        spool.close()
        let cursor = try #require(FileManager.default.contents(atPath: path + "/cursor-b.json"))
        #expect(String(decoding: cursor, as: UTF8.self).contains("\"settled\":[[3,3],[6,6]]"))
        let reopened = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a", "b"])
        defer { reopened.close() }
        let items = try replayAll(reopened)
        #expect(items.map(\.0) == [2, 4, 5, 6])
        #expect(items.map(\.2) == [[false, true], [false, true], [true, true], [true, false]])
    }

    @Test("a torn tail (a record cut mid-write) is cut off on open, counted once, and the records before it replay")
    func tornTailIsTruncated() async throws {
        let path = freshSpoolPath()
        let spool = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        for n in 1...3 { _ = try await spool.append(Array("record \(n)\n".utf8)) }
        spool.close()
        let segment = path + "/" + spoolFiles(path, prefix: "segment-").last!
        let size = try #require(try FileManager.default.attributesOfItem(atPath: segment)[.size] as? Int)
        #expect(truncate(segment, off_t(size - 5)) == 0)
        let reopened = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        defer { reopened.close() }
        #expect(reopened.recovery.corruptRecords == 1)
        #expect(reopened.recovery.notes.contains { $0.contains("torn record") })
        #expect(try replayAll(reopened).map(\.1) == ["record 1\n", "record 2\n"])
        // The lost record's sequence number is reused by the next append: it never reached any destination.
        #expect(try await reopened.append(Array("again\n".utf8)) == 3)
    }

    @Test("a flipped byte in a record is detected by its CRC: that record is counted and skipped, the rest replays")
    func flippedByteIsSkipped() async throws {
        let path = freshSpoolPath()
        let spool = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        for n in 1...3 { _ = try await spool.append(Array("record \(n)\n".utf8)) }
        spool.close()
        let segment = path + "/" + spoolFiles(path, prefix: "segment-").last!
        var bytes = try #require(FileManager.default.contents(atPath: segment))
        // Second record's payload: header 16 + record 1 (40 + 9) + header 40 + 2.
        let index = 16 + 49 + 40 + 2
        bytes[index] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: segment))
        let reopened = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        defer { reopened.close() }
        #expect(try replayAll(reopened).map(\.1) == ["record 1\n", "record 3\n"])
        #expect(reopened.stats.corruptRecords == 1)
    }

    @Test("a segment or cursor with an unknown format version is a clear error naming the file, not a crash")
    func unknownVersionIsAClearError() async throws {
        let path = freshSpoolPath()
        let spool = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        _ = try await spool.append(Array("x\n".utf8))
        spool.close()
        let segment = path + "/" + spoolFiles(path, prefix: "segment-").last!
        var bytes = try #require(FileManager.default.contents(atPath: segment))
        bytes[8] = 9
        try bytes.write(to: URL(fileURLWithPath: segment))
        #expect {
            try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        } throws: { error in
            "\(error)".contains("format version 9") && "\(error)".contains(segment)
        }
        bytes[8] = UInt8(SpoolFormat.version)
        try bytes.write(to: URL(fileURLWithPath: segment))
        try Data(#"{"version":7,"destination":"a","frontier":0}"#.utf8).write(to: URL(fileURLWithPath: path + "/cursor-a.json"))
        #expect {
            try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        } throws: { error in
            "\(error)".contains("cursor-a.json has format version 7")
        }
        try FileManager.default.removeItem(atPath: path + "/cursor-a.json")
        try Data(repeating: 0x67, count: 64).write(to: URL(fileURLWithPath: segment))
        #expect {
            try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        } throws: { error in
            "\(error)".contains("\(segment) is not a Sluice spool segment")
        }
    }

    @Test("a deleted cursor file replays everything the spool holds to that destination; a new destination starts at the head")
    func deletedCursorVersusNewDestination() async throws {
        let path = freshSpoolPath()
        let spool = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        for n in 1...3 { _ = try await spool.append(Array("\(n)\n".utf8)) }
        spool.settle(destination: 0, 1...2)
        spool.close()
        try FileManager.default.removeItem(atPath: path + "/cursor-a.json")
        let reopened = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a", "new"])
        #expect(reopened.recovery.notes.contains { $0.contains("cursor file of destination \"a\" is missing") })
        let items = try replayAll(reopened)
        // "a" gets all three again (nothing unsettled is lost); "new" starts after record 3 and is owed none.
        #expect(items.map(\.0) == [1, 2, 3])
        #expect(items.allSatisfy { $0.2 == [true, false] })
        reopened.close()
        // A cursor whose destination is gone is reported, and ignored.
        let third = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["new"])
        defer { third.close() }
        #expect(third.recovery.goneDestinations == ["a"])
        #expect(try replayAll(third).isEmpty)
    }

    @Test("segments rotate, and a segment every destination settled is deleted")
    func settledSegmentsAreDeleted() async throws {
        let path = freshSpoolPath()
        // maxBytes 4 MiB: 256 KiB segments.
        let spool = try Spool(configuration: SpoolConfiguration(path: path, maxBytes: 4 << 20, syncIntervalMs: 5), destinations: ["a", "b"])
        defer { spool.close() }
        let payload = [UInt8](repeating: 0x61, count: 100 << 10) + [0x0A]
        for _ in 0..<8 { _ = try await spool.append(payload) }
        #expect(spoolFiles(path, prefix: "segment-").count >= 3)
        spool.settle(destination: 0, 1...8)
        try await Task.sleep(for: .milliseconds(100))
        #expect(spoolFiles(path, prefix: "segment-").count >= 3, "b has not settled: nothing may go")
        spool.settle(destination: 1, 1...8)
        try await waitUntil { spoolFiles(path, prefix: "segment-").count == 1 && spool.stats.segments == 1 }
    }

    @Test("a full spool holds appends back until destinations settle and segments are deleted")
    func fullSpoolAppliesBackpressure() async throws {
        let path = freshSpoolPath()
        let spool = try Spool(configuration: SpoolConfiguration(path: path, maxBytes: 1 << 20, syncIntervalMs: 5), destinations: ["a"])
        defer { spool.close() }
        let payload = [UInt8](repeating: 0x61, count: 60 << 10) + [0x0A]
        var appended: UInt64 = 0
        for _ in 0..<16 { appended = try await spool.append(payload) }
        let blocked = Task { try await spool.append(payload) }
        try await Task.sleep(for: .milliseconds(150))
        #expect(spool.stats.bytes <= 1 << 20)
        #expect(spool.stats.oldestUnsettledAgeSeconds >= 0.1)
        spool.settle(destination: 0, 1...appended)
        let sequence = try await blocked.value
        #expect(sequence == appended + 1)
    }

    @Test("the directory is 0700 and every file in it 0600: the spool holds personal data")
    func permissions() async throws {
        let path = freshSpoolPath()
        let spool = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        _ = try await spool.append(Array("x\n".utf8))
        spool.settle(destination: 0, 1...1)
        spool.close()
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o700)
        let files = try FileManager.default.contentsOfDirectory(atPath: path)
        #expect(files.contains { $0.hasPrefix("cursor-") } && files.contains { $0.hasPrefix("segment-") })
        for file in files {
            #expect(stat(path + "/" + file, &info) == 0 && info.st_mode & 0o777 == 0o600, "\(file)")
        }
        // An existing directory with wider permissions is narrowed.
        #expect(chmod(path, 0o755) == 0)
        let again = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        again.close()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o700)
    }

    @Test("a second opener of the same spool is refused with a clear message while the first holds it")
    func lockIsExclusive() throws {
        let path = freshSpoolPath()
        let first = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        #expect {
            try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        } throws: { error in
            (error as? SpoolError)?.isLocked == true && "\(error)".contains("in use by another sluice process")
        }
        first.close()
    }

    @Test("a lock held by another process (flock(1) on DIR/lock) refuses the spool; it is free again when that process exits")
    func lockHeldByAChildProcess() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/flock") else {
            #expect(ProcessInfo.processInfo.environment["CI"] != "true", "CI needs /usr/bin/flock (util-linux) for this test")
            print("skipped: /usr/bin/flock not installed")
            return
        }
        let path = freshSpoolPath()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [path + "/lock", "sh", "-c", "echo locked; sleep 20"]
        let output = Pipe()
        holder.standardOutput = output
        try holder.run()
        _ = output.fileHandleForReading.readData(ofLength: 7)  // "locked": the child holds the lock now
        #expect {
            try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        } throws: { error in (error as? SpoolError)?.isLocked == true }
        holder.terminate()
        kill(-holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        // flock(1) forks sh; the lock lives as long as any holder of the descriptor, so wait for it to go.
        var opened: Spool?
        for _ in 0..<100 where opened == nil {
            opened = try? Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
            if opened == nil { usleep(50_000) }
        }
        #expect(opened != nil)
        opened?.close()
    }

    @Test("sync always: waitUntilDurable returns once the committer has fsynced the record, woken by the append")
    func alwaysWaitsForTheCommit() async throws {
        let path = freshSpoolPath()
        // A ten-minute interval: only the append's wake-up can commit within the bound below.
        let spool = try Spool(configuration: SpoolConfiguration(path: path, sync: .always, syncIntervalMs: 600_000), destinations: ["a"])
        defer { spool.close() }
        let sequence = try await spool.append(Array("x\n".utf8))
        let started = ContinuousClock.now
        await spool.waitUntilDurable(sequence)
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(spool.syncedSequence >= sequence)
    }

    @Test("a cursor ahead of the records (records lost to a power cut after their cursor was written) never reuses their numbers")
    func cursorAheadOfRecords() async throws {
        let path = freshSpoolPath()
        let spool = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        for n in 1...4 { _ = try await spool.append(Array("\(n)\n".utf8)) }
        spool.settle(destination: 0, 1...4)
        spool.close()
        for segment in spoolFiles(path, prefix: "segment-") { try FileManager.default.removeItem(atPath: path + "/" + segment) }
        let reopened = try Spool(configuration: SpoolConfiguration(path: path), destinations: ["a"])
        defer { reopened.close() }
        #expect(try await reopened.append(Array("5\n".utf8)) == 5)
        #expect(!reopened.isSettled(destination: 0, 5))
    }

    @Test("a backlog of many segments replays across them, in order, record by record")
    func replayStreams() async throws {
        let path = freshSpoolPath()
        let spool = try Spool(configuration: SpoolConfiguration(path: path, maxBytes: 64 << 20), destinations: ["a"])
        let payload = [UInt8](repeating: 0x62, count: 256 << 10)
        for _ in 0..<64 { _ = try await spool.append(payload) }
        spool.close()
        let reopened = try Spool(configuration: SpoolConfiguration(path: path, maxBytes: 64 << 20), destinations: ["a"])
        defer { reopened.close() }
        let replay = try reopened.replay()
        var count = 0
        while let item = try replay.next() {
            #expect(item.record.payload.count == payload.count)
            count += 1
        }
        #expect(count == 64)
        #expect(spoolFiles(path, prefix: "segment-").count > 4, "16 MiB in 4 MiB segments")
    }
}

/// Polls `condition` every 10 ms for up to 10 s.
func waitUntil(_ condition: () -> Bool) async throws {
    for _ in 0..<1000 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("condition not met within 10 s")
}

@Suite("Line-aligned records")
struct LineAlignedBlocksTests {
    @Test("records are whole lines, at most maxLines each, numbered and with their end offset, whatever the block sizes")
    func recordsFromRandomBlocks() {
        var generator = SplitMix64(seed: 5)
        let maxLineBytes = 200
        var input: [UInt8] = []
        var lines: [[UInt8]] = []
        var lineEnds: [UInt64] = []  // the input offset after each line
        for n in 0..<3000 {
            let length = n % 997 == 0 ? 5000 : Int(generator.next() % 120)
            let line = (0..<length).map { _ in UInt8(ascii: "a") + UInt8(generator.next() % 26) }
            input += line + [0x0A]
            lines.append(line)
            lineEnds.append(UInt64(input.count))
        }
        input += Array("last line without a newline".utf8)
        lines.append(Array("last line without a newline".utf8))
        lineEnds.append(UInt64(input.count))

        for maxLines in [1, 7, 512] {
            var aligned = LineAlignedBlocks(maxLineBytes: maxLineBytes, maxLines: maxLines)
            var pieces: [LineAlignedBlocks.Piece] = []
            var offset = 0
            while offset < input.count {
                let size = min(input.count - offset, 1 + Int(generator.next() % 9000))
                pieces += aligned.cut(Array(input[offset..<(offset + size)]))
                offset += size
            }
            if let last = aligned.finish() { pieces.append(last) }
            // Every line comes out whole, or (one too long, cut across blocks) as its first maxLineBytes + 1 bytes.
            let joined = Array(pieces.map(\.bytes).joined())
            let out = joined.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
            #expect(out.count == lines.count && joined.last == 0x0A)
            for (line, original) in zip(out, lines) {
                let cut = original.count > maxLineBytes && line.count == maxLineBytes + 1 && original.starts(with: line)
                #expect(Array(line) == original || cut, "maxLines \(maxLines): a line of \(original.count) bytes came out as \(line.count)")
            }
            var nextLine: UInt64 = 1
            for piece in pieces {
                let lines = piece.bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                #expect(piece.bytes.last == 0x0A)
                #expect(lines >= 1 && lines <= maxLines)
                #expect(piece.firstLine == nextLine)
                nextLine += UInt64(lines)
                #expect(piece.endOffset == lineEnds[Int(nextLine) - 2], "record ending at line \(nextLine - 1)")
            }
            #expect(nextLine - 1 == UInt64(lineEnds.count))
            #expect(aligned.consumed == UInt64(input.count))
        }
    }
}
