import Testing
@testable import Sluice

/// The documented semantics written as plainly as possible (a Set plus a FIFO array), to check the table against.
private struct ReferenceDedupe {
    let capacity: Int
    let window: Int64
    var remembered = Set<DedupeKey>()
    var fifo: [(key: DedupeKey, time: Int64)] = []
    var head = 0
    var watermark = Int64.min
    var capacityEvictions = 0
    var windowEvictions = 0

    var count: Int { remembered.count }

    mutating func insert(_ key: DedupeKey, time: Int64) -> Bool {
        watermark = max(watermark, time)
        if window > 0 {
            let cutoff = watermark - window
            while head < fifo.count, fifo[head].time < cutoff {
                remembered.remove(fifo[head].key)
                head += 1
                windowEvictions += 1
            }
        }
        if remembered.contains(key) { return false }
        if remembered.count == capacity {
            remembered.remove(fifo[head].key)
            head += 1
            capacityEvictions += 1
        }
        remembered.insert(key)
        fifo.append((key, time))
        return true
    }
}

/// A timeUUID-shaped key: `sequence` goes into time_low (the top 32 bits of `high`), the host into `low`.
private func timeKey(_ sequence: UInt64, host: UInt64 = 0x8F3A_0242_AC11_0002) -> DedupeKey {
    DedupeKey(high: (sequence & 0xFFFF_FFFF) << 32 | 0x1DD2_11EF, low: host)
}

/// Inserts each (key, event time) in order and returns the table's answers (`true` = new).
private func answers(_ table: inout DedupeTable, _ operations: [(DedupeKey, Int64)]) -> [Bool] {
    operations.map { table.insert($0.0, eventTimeMilliseconds: $0.1) }
}

@Suite("DedupeTable")
struct DedupeTableTests {
    @Test("a repeated key is reported as a duplicate and not counted twice")
    func detectsDuplicates() {
        var table = DedupeTable(capacity: 100, windowMilliseconds: 0)
        let got = answers(&table, [(timeKey(1), 0), (timeKey(2), 0), (timeKey(1), 0), (timeKey(2), 5)])
        #expect(got == [true, true, false, false])
        #expect(table.count == 2)
        #expect(table.capacityEvictions == 0)
        #expect(table.windowEvictions == 0)
    }

    @Test("a full table forgets its oldest insertion, counts it, and treats that key as new afterwards")
    func capacityEviction() {
        var table = DedupeTable(capacity: 3, windowMilliseconds: 0)
        let filled = answers(&table, [(timeKey(1), 0), (timeKey(2), 0), (timeKey(3), 0), (timeKey(4), 0)])
        #expect(filled == [true, true, true, true])  // the 4th evicts 1
        #expect(table.count == 3)
        #expect(table.capacityEvictions == 1)
        let again = answers(&table, [(timeKey(1), 0)])  // new again; evicts 2
        #expect(again == [true])
        #expect(table.capacityEvictions == 2)
        let rest = answers(&table, [(timeKey(3), 0), (timeKey(4), 0), (timeKey(2), 0)])
        #expect(rest == [false, false, true])
        #expect(table.windowEvictions == 0)
    }

    @Test("a duplicate does not refresh its key's place in the eviction order")
    func duplicateDoesNotRefresh() {
        var table = DedupeTable(capacity: 2, windowMilliseconds: 0)
        // The third key evicts 1, the oldest insertion, even though 1 was seen again more recently than 2.
        let got = answers(
            &table, [(timeKey(1), 0), (timeKey(2), 0), (timeKey(1), 0), (timeKey(3), 0), (timeKey(1), 0), (timeKey(3), 0)])
        #expect(got == [true, true, false, true, true, false])
    }

    @Test("keys older than the newest event time minus the window are forgotten, by event time")
    func windowEvictionByEventTime() {
        var table = DedupeTable(capacity: 1_000, windowMilliseconds: 100)
        let first = answers(&table, [(timeKey(1), 1_000), (timeKey(2), 1_050)])
        #expect(first == [true, true])
        #expect(table.windowEvictions == 0)
        // Watermark 1_150, cutoff 1_050: key 1 (1_000) goes, key 2 (exactly at the cutoff) stays.
        let advanced = answers(&table, [(timeKey(3), 1_150)])
        #expect(advanced == [true])
        #expect(table.windowEvictions == 1)
        #expect(table.count == 2)
        let after = answers(&table, [(timeKey(1), 1_150), (timeKey(2), 1_150)])
        #expect(after == [true, false])
        // A late event is still remembered; it ages out only once it reaches the head of the FIFO.
        let late = answers(&table, [(timeKey(4), 10), (timeKey(4), 10)])
        #expect(late == [true, false])
        // Moving the watermark far ahead forgets everything older than the window.
        let jump = answers(&table, [(timeKey(5), 5_000)])
        #expect(jump == [true])
        #expect(table.count == 1)
        #expect(table.windowEvictions == 5)
        #expect(table.capacityEvictions == 0)
    }

    @Test("a window of zero or less never forgets keys by time")
    func noWindow() {
        for window: Int64 in [0, -5] {
            var table = DedupeTable(capacity: 10, windowMilliseconds: window)
            let far: Int64 = 1_000_000_000_000
            let got = answers(&table, [(timeKey(1), 0), (timeKey(2), far), (timeKey(1), far)])
            #expect(got == [true, true, false])
            #expect(table.windowEvictions == 0)
        }
    }

    @Test("event times at the extremes of Int64 do not overflow the window arithmetic")
    func extremeEventTimes() {
        var table = DedupeTable(capacity: 10, windowMilliseconds: 100)
        let early = answers(&table, [(timeKey(1), .min), (timeKey(1), .min + 50)])
        #expect(early == [true, false])
        let late = answers(&table, [(timeKey(2), .max)])
        #expect(late == [true])
        #expect(table.windowEvictions == 1)
        let again = answers(&table, [(timeKey(1), .max)])
        #expect(again == [true])
    }

    @Test("keys that differ only in the high half or only in the low half are distinct")
    func keysDifferingInOneHalf() {
        var table = DedupeTable(capacity: 10_000, windowMilliseconds: 0)
        var keys: [(DedupeKey, Int64)] = []
        for value: UInt64 in 0..<1_000 {
            keys.append((DedupeKey(high: value, low: 42), 0))
            keys.append((DedupeKey(high: 42, low: value &+ 1 << 63), 0))
        }
        keys.append((DedupeKey(high: 7, low: 9), 0))
        keys.append((DedupeKey(high: 9, low: 7), 0))
        let first = answers(&table, keys)
        #expect(first.filter { $0 }.count == keys.count)
        #expect(table.count == keys.count)
        let second = answers(&table, keys)
        #expect(second.filter { $0 }.isEmpty)
        #expect(table.count == keys.count)
    }

    @Test("a large capacity allocates little for a short run and grows as keys arrive")
    func growsFromSmall() {
        var table = DedupeTable(capacity: 1_000_000, windowMilliseconds: 0)
        let firstTen = answers(&table, (0..<10).map { (timeKey($0), 0) })
        #expect(firstTen.allSatisfy { $0 })
        #expect(table.memoryBytes < 16_384)

        let keys = 200_000
        let more = answers(&table, (10..<UInt64(keys)).map { (timeKey($0), 0) })
        #expect(more.allSatisfy { $0 })
        #expect(table.count == keys)
        #expect(table.capacityEvictions == 0)
        // Every key survived the successive rebuilds.
        let repeated = answers(&table, (0..<UInt64(keys)).map { (timeKey($0), 0) })
        #expect(repeated.filter { $0 }.isEmpty)
        // At least the keys themselves, but far less than a table sized for the full capacity (24 MB of ring alone).
        #expect(table.memoryBytes >= keys * 24)
        #expect(table.memoryBytes < 1_000_000 * 24)
    }

    @Test(
        "matches a Set + FIFO reference model on every answer and count over thousands of random operations",
        arguments: [(1, 0), (7, 0), (100, 0), (1_000, 0), (100, 40), (5_000, 25), (50_000, 200)] as [(Int, Int64)]
    )
    func matchesReferenceModel(capacity: Int, window: Int64) {
        var random = SplitMix64(seed: 0x5EED_0000 &+ UInt64(capacity) &* 31 &+ UInt64(window))
        var table = DedupeTable(capacity: capacity, windowMilliseconds: window)
        var model = ReferenceDedupe(capacity: capacity, window: window)
        let hosts: [UInt64] = [0x8F3A_0242_AC11_0002, 0x8F3A_0242_AC11_0003, 0x1]
        var time: Int64 = 1_700_000_000_000
        var mismatches = 0
        for operation in 0..<30_000 {
            // Mostly advancing event time with jitter, occasionally a late event.
            time += Int64(random.next() % 3)
            let eventTime = random.next() % 50 == 0 ? time - Int64(random.next() % 500) : time
            // A small key space so duplicates, evictions and re-insertions are all frequent; keys collide in
            // the low half (shared host) and sometimes in the high half (same sequence, other host).
            let sequence = random.next() % 4_000
            let key = timeKey(sequence, host: hosts[Int(random.next() % UInt64(hosts.count))])
            let expected = model.insert(key, time: eventTime)
            let actual = table.insert(key, eventTimeMilliseconds: eventTime)
            if expected != actual || model.count != table.count {
                mismatches += 1
                if mismatches <= 5 {
                    Issue.record(
                        "operation \(operation): expected \(expected)/count \(model.count), got \(actual)/count \(table.count)")
                }
            }
        }
        #expect(mismatches == 0)
        #expect(table.count == model.count)
        #expect(table.capacityEvictions == model.capacityEvictions)
        #expect(table.windowEvictions == model.windowEvictions)
        #expect(table.capacityEvictions + table.windowEvictions > 0)
    }

    @Test("warming the slots of a chunk's keys before inserting them changes no answer, count or eviction")
    func warmingChangesNothing() {
        var random = SplitMix64(seed: 0x3A2A)
        var warmed = DedupeTable(capacity: 3_000, windowMilliseconds: 300)
        var plain = DedupeTable(capacity: 3_000, windowMilliseconds: 300)
        var model = ReferenceDedupe(capacity: 3_000, window: 300)
        var time: Int64 = 1_700_000_000_000
        var sums: Set<UInt64> = []
        for _ in 0..<200 {
            var events: [Event] = []
            for _ in 0..<64 {
                time += Int64(random.next() % 4)
                let key = timeKey(random.next() % 5_000)
                events.append(Event(eventName: .absent, timeUUID: TimeUUID(high: key.high, low: key.low),
                                    timestamp: time, line: 1, category: .custom))
            }
            sums.insert(events.withUnsafeBufferPointer { warmed.warm($0) })
            for event in events {
                let key = DedupeKey(high: event.timeUUID.high, low: event.timeUUID.low)
                let expected = model.insert(key, time: event.timestamp)
                #expect(warmed.insert(key, eventTimeMilliseconds: event.timestamp) == expected)
                #expect(plain.insert(key, eventTimeMilliseconds: event.timestamp) == expected)
            }
        }
        #expect(warmed.count == model.count && plain.count == model.count)
        #expect(warmed.windowEvictions == model.windowEvictions && warmed.windowEvictions > 0)
        #expect(warmed.capacityEvictions == model.capacityEvictions)
        // The loads really read the slots (a table of remembered keys has non-zero slots to sum).
        #expect(sums.count > 1)
    }
}
