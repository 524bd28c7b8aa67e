import Foundation
import Sluice

/// Timings of one throughput measurement, over several repetitions of the same input.
struct JSONThroughput: Sendable {
    /// What was measured, e.g. `"JSONReader parse + fields"`.
    var name: String
    /// Bytes processed per repetition (input bytes for reads, output bytes for writes).
    var bytes: Int
    /// Events (lines) processed per repetition.
    var events: Int
    /// Wall time of each repetition, in seconds.
    var seconds: [Double]
    /// CPU time of the measuring thread in each repetition, in seconds. On a shared machine this is steadier than
    /// wall time (it excludes time spent waiting for a core), so the report shows both.
    var cpuSeconds: [Double]

    /// The median repetition: the headline figure, less flattered by a lucky run than the best one.
    var medianSeconds: Double {
        let sorted = seconds.sorted()
        return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
    }
    /// The fastest repetition.
    var bestSeconds: Double { seconds.min() ?? .nan }
    /// The median repetition's thread CPU time.
    var medianCPUSeconds: Double {
        let sorted = cpuSeconds.sorted()
        return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
    }
    /// Megabytes per second of thread CPU time at the median repetition.
    var megabytesPerCPUSecond: Double { Double(bytes) / medianCPUSeconds / 1e6 }
    /// Megabytes (10^6 bytes) per second at the median repetition.
    var megabytesPerSecond: Double { Double(bytes) / medianSeconds / 1e6 }
    /// Events per second at the median repetition.
    var eventsPerSecond: Double { Double(events) / medianSeconds }
}

/// The JSON micro-benchmark's figures: this package's reader and writer against Foundation's JSONSerialization.
struct JSONBenchmarkResult: Sendable {
    /// `JSONReader.parse` plus the tape walk that pulls out the fields the decoder needs.
    var readerRead: JSONThroughput
    /// `JSONSerialization.jsonObject` plus the same field lookups.
    var foundationRead: JSONThroughput
    /// `JSONWriter` writing one small Segment-like object per event.
    var writerWrite: JSONThroughput
    /// `JSONSerialization.data(withJSONObject:)` writing the same object.
    var foundationWrite: JSONThroughput
    /// Sum of extracted field lengths and values, so the optimiser cannot drop the work; equal between the two
    /// read paths when both saw the same fields.
    var readerChecksum: Int
    /// The same checksum computed from Foundation's objects.
    var foundationChecksum: Int

    /// How many times faster the reader path is than Foundation's (median over median).
    var readSpeedup: Double { foundationRead.medianSeconds / readerRead.medianSeconds }
    /// How many times faster the writer is than Foundation's.
    var writeSpeedup: Double { foundationWrite.medianSeconds / writerWrite.medianSeconds }

    /// A human-readable table.
    var report: String {
        func row(_ t: JSONThroughput) -> String {
            let name = t.name.padding(toLength: 38, withPad: " ", startingAt: 0)
            return "\(name) \(fmt(t.megabytesPerSecond, 8, 1)) MB/s  \(fmt(t.eventsPerSecond / 1e6, 7, 3)) M events/s"
                + "  (median \(fmt(t.medianSeconds * 1e3, 8, 2)) ms, best \(fmt(t.bestSeconds * 1e3, 8, 2)) ms;"
                + " CPU \(fmt(t.megabytesPerCPUSecond, 7, 1)) MB/s; \(t.events) events, \(t.bytes) bytes)"
        }
        return [
            row(readerRead), row(foundationRead),
            "read speedup (reader / JSONSerialization): \(fmt(readSpeedup, 0, 1))x wall, \(fmt(foundationRead.medianCPUSeconds / readerRead.medianCPUSeconds, 0, 1))x CPU"
                + (readerChecksum == foundationChecksum ? "  [field checksums agree]" : "  [FIELD CHECKSUMS DIFFER: \(readerChecksum) vs \(foundationChecksum)]"),
            row(writerWrite), row(foundationWrite),
            "write speedup (JSONWriter / JSONSerialization): \(fmt(writeSpeedup, 0, 1))x wall, \(fmt(foundationWrite.medianCPUSeconds / writerWrite.medianCPUSeconds, 0, 1))x CPU",
        ].joined(separator: "\n")
    }
}

private func fmt(_ value: Double, _ width: Int, _ decimals: Int) -> String {
    let text = String(format: "%.\(decimals)f", value)
    return String(repeating: " ", count: max(0, width - text.count)) + text
}

/// Measures reading (parse + field extraction) and writing of event lines, with this package's JSON code and
/// with Foundation's `JSONSerialization`, over the same `lines`, each measure `repetitions` times.
///
/// The read path mirrors what the input decoder does per Statsig event, through public API only: validate the
/// whole line, copy it into a chunk arena (reset every 512 events, as chunks are), and locate `eventName`,
/// `timeUUID` (parsed into a ``TimeUUID``), `timestamp` (as Int64), `user.userID` and `user.customIDs.stableID`.
/// Foundation gets its input as ready-made `Data` and its write input as ready-made dictionaries, so neither
/// side pays for preparing the other's input.
func runJSONReadBenchmark(lines: [[UInt8]], repetitions: Int) -> JSONBenchmarkResult {
    let repetitions = max(1, repetitions)
    let inputBytes = lines.reduce(0) { $0 + $1.count }

    // (a) this reader.
    var reader = JSONReader(maxDepth: 128)
    var arena: [UInt8] = []
    arena.reserveCapacity(512 * 1024)
    var readerChecksum = 0
    var readerSeconds: [(wall: Double, cpu: Double)] = []
    for _ in 0..<repetitions {
        var checksum = 0
        let watch = Stopwatch()
        var inChunk = 0
        for line in lines {
            line.withUnsafeBytes { raw in
                do { try reader.parse(raw) } catch { return }
                if inChunk == 512 { arena.removeAll(keepingCapacity: true); inChunk = 0 }
                arena.append(contentsOf: raw)
                inChunk += 1
                checksum &+= reader.withView(of: raw) { extractFields($0) }
            }
        }
        readerSeconds.append(watch.elapsed())
        readerChecksum = checksum
    }

    // (b) Foundation.
    let datas = lines.map { Data($0) }
    var foundationChecksum = 0
    var foundationSeconds: [(wall: Double, cpu: Double)] = []
    for _ in 0..<repetitions {
        var checksum = 0
        let watch = Stopwatch()
        for data in datas {
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { continue }
            checksum &+= extractFields(object)
        }
        foundationSeconds.append(watch.elapsed())
        foundationChecksum = checksum
    }

    // Writing: one small Segment-like message per event, from fields extracted up front.
    let messages = lines.compactMap(WriteInput.init)
    let dictionaries: [[String: Any]] = messages.map { m in
        ["type": "track", "event": m.event, "userId": m.userID, "anonymousId": m.stableID,
         "messageId": m.messageID, "timestamp": m.timestamp, "properties": ["note": m.note, "ratio": m.ratio]]
    }
    var writer = JSONWriter(capacity: 512 * 256)
    var writerBytes = 0
    var writerSeconds: [(wall: Double, cpu: Double)] = []
    for _ in 0..<repetitions {
        var total = 0
        var inBatch = 0
        let watch = Stopwatch()
        for m in messages {
            if inBatch == 512 { total += writer.bytes.count; writer.bytes.removeAll(keepingCapacity: true); inBatch = 0 }
            m.write(to: &writer)
            inBatch += 1
        }
        total += writer.bytes.count
        writer.bytes.removeAll(keepingCapacity: true)
        writerSeconds.append(watch.elapsed())
        writerBytes = total
    }
    var foundationBytes = 0
    var foundationWriteSeconds: [(wall: Double, cpu: Double)] = []
    for _ in 0..<min(repetitions, 3) {  // ~100x slower than the rest: three runs give a median
        var total = 0
        let watch = Stopwatch()
        for d in dictionaries {
            total += (try? JSONSerialization.data(withJSONObject: d))?.count ?? 0
        }
        foundationWriteSeconds.append(watch.elapsed())
        foundationBytes = total
    }

    return JSONBenchmarkResult(
        readerRead: JSONThroughput(name: "JSONReader parse + fields", bytes: inputBytes, events: lines.count, seconds: readerSeconds.map(\.wall), cpuSeconds: readerSeconds.map(\.cpu)),
        foundationRead: JSONThroughput(name: "JSONSerialization.jsonObject + fields", bytes: inputBytes, events: lines.count, seconds: foundationSeconds.map(\.wall), cpuSeconds: foundationSeconds.map(\.cpu)),
        writerWrite: JSONThroughput(name: "JSONWriter message", bytes: writerBytes, events: messages.count, seconds: writerSeconds.map(\.wall), cpuSeconds: writerSeconds.map(\.cpu)),
        foundationWrite: JSONThroughput(name: "JSONSerialization.data message", bytes: foundationBytes, events: messages.count, seconds: foundationWriteSeconds.map(\.wall), cpuSeconds: foundationWriteSeconds.map(\.cpu)),
        readerChecksum: readerChecksum, foundationChecksum: foundationChecksum)
}

/// Measures wall time and the calling thread's CPU time from its creation.
private struct Stopwatch {
    let wall = ContinuousClock.now
    let cpu = Stopwatch.threadCPUTime()

    func elapsed() -> (wall: Double, cpu: Double) {
        let (s, atto) = (ContinuousClock.now - wall).components
        return (Double(s) + Double(atto) * 1e-18, Stopwatch.threadCPUTime() - cpu)
    }

    static func threadCPUTime() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}

/// The decoder's field walk over the tape; returns a checksum of what it found.
@inline(__always)
private func extractFields(_ view: JSONView) -> Int {
    guard view.kind(0) == .object else { return 0 }
    var eventName = -1, timeUUID = -1, timestamp = -1, user = -1
    view.forEachMember(of: 0) { key, value in
        switch view.rawStringContent(key).count {
        case 4: if view.stringEquals(key, "user") { user = value }
        case 8: if view.stringEquals(key, "timeUUID") { timeUUID = value }
        case 9:
            if view.stringEquals(key, "eventName") { eventName = value } else if view.stringEquals(key, "timestamp") { timestamp = value }
        default: break
        }
    }
    var sum = 0
    if eventName >= 0, view.kind(eventName) == .string { sum &+= view.rawStringContent(eventName).count }
    if timeUUID >= 0, view.kind(timeUUID) == .string, let uuid = TimeUUID(view.rawStringContent(timeUUID)) {
        sum &+= Int(truncatingIfNeeded: uuid.low & 0xFFFF)
    }
    if timestamp >= 0, let ms = view.int64(timestamp) { sum &+= Int(ms % 1_000_000) }
    if user >= 0, view.kind(user) == .object {
        view.forEachMember(of: user) { key, value in
            switch view.rawStringContent(key).count {
            case 6:
                if view.stringEquals(key, "userID"), view.kind(value) == .string { sum &+= view.rawStringContent(value).count }
            case 9:
                if view.stringEquals(key, "customIDs"), view.kind(value) == .object,
                   let stable = view.member(value, "stableID"), view.kind(stable) == .string {
                    sum &+= view.rawStringContent(stable).count
                }
            default: break
            }
        }
    }
    return sum
}

/// The same lookups on Foundation's objects; string lengths are UTF-8 byte counts like the reader's.
private func extractFields(_ object: [String: Any]) -> Int {
    var sum = 0
    if let name = object["eventName"] as? String { sum &+= name.utf8.count }
    if let text = object["timeUUID"] as? String, let uuid = TimeUUID(text) { sum &+= Int(truncatingIfNeeded: uuid.low & 0xFFFF) }
    if let ms = (object["timestamp"] as? NSNumber)?.int64Value { sum &+= Int(ms % 1_000_000) }
    if let user = object["user"] as? [String: Any] {
        if let id = user["userID"] as? String { sum &+= id.utf8.count }
        if let ids = user["customIDs"] as? [String: Any], let stable = ids["stableID"] as? String { sum &+= stable.utf8.count }
    }
    return sum
}

/// The fields of one write-benchmark message, extracted from an input line before timing starts.
private struct WriteInput {
    var event: String, userID: String, stableID: String, messageID: String, note: String
    var timestamp: Int64
    var ratio: Double

    init?(_ line: [UInt8]) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
              let event = object["eventName"] as? String else { return nil }
        let user = object["user"] as? [String: Any]
        self.event = event
        self.userID = user?["userID"] as? String ?? ""
        self.stableID = (user?["customIDs"] as? [String: Any])?["stableID"] as? String ?? ""
        self.messageID = object["timeUUID"] as? String ?? ""
        self.timestamp = (object["timestamp"] as? NSNumber)?.int64Value ?? 0
        // A string that needs escaping and a fractional number, so both writers do their slow paths too.
        self.note = "say \"hi\"\n\(event) \u{2713}"
        self.ratio = Double(timestamp % 997) / 7.0
    }

    @inline(__always)
    func write(to w: inout JSONWriter) {
        w.appendRaw(#"{"type":"track","event":"#); w.appendString(event)
        w.appendRaw(#","userId":"#); w.appendString(userID)
        w.appendRaw(#","anonymousId":"#); w.appendString(stableID)
        w.appendRaw(#","messageId":"#); w.appendString(messageID)
        w.appendRaw(#","timestamp":"#); w.appendInt(timestamp)
        w.appendRaw(#","properties":{"note":"#); w.appendString(note)
        w.appendRaw(#","ratio":"#); w.appendDouble(ratio)
        w.appendRaw("}}\n")
    }
}
