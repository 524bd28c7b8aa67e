/// The final account of a run: how many events came in and where each one ended, per destination.
///
/// For every destination, `delivered + filtered + deadLettered + dropped + alreadySettled + leftUnsettled ==
/// ingested - duplicates - filtered` (the last two are zero without a spool).
/// ``jsonBytes()`` renders the command line's `--summary` schema (with extra keys).
public struct Summary: Sendable, Equatable {
    /// One destination's outcome.
    public struct DestinationSummary: Sendable, Equatable {
        /// Events the destination accepted (HTTP 2xx, or written to stdout/file).
        public var delivered: Int
        /// Events the destination's selection or identity rules left out on purpose.
        public var filtered: Int
        /// Events that could not be delivered and were written to the dead-letter output.
        public var deadLettered: Int
        /// Events discarded by the destination's overflow policy.
        public var dropped: Int
        /// Filtered events per reason.
        public var filteredByReason: [String: Int]
        /// Requests (or writes) sent, retries among them, and requests that failed.
        public var requests: Int, retries: Int, failedRequests: Int
        /// Named counts beside the accounting: `propertyNamesTooLong` (Heap properties left out because the
        /// name is over Heap's 1024 characters), `pacedBatches` and `pacedMilliseconds` (`rateLimit` waits).
        public var counters: [String: Int] = [:]
        /// Dead-lettered events per reason class, e.g. `"HTTP 401 Unauthorized"` (details such as the response
        /// body are in each dead-letter record); at most 32 classes, then `"other reasons"`.
        public var deadLetteredByReason: [String: Int] = [:]
        /// Events a stdout or file destination could not write (a full disk, a closed pipe). They are also in
        /// ``deadLettered``; any makes the exit status 3.
        public var writeFailures = 0
        /// Replayed events this destination had already settled in an earlier run, so they were not sent again.
        public var alreadySettled = 0
        /// Events that missed the drain deadline and were kept by the source (a spool) for the next run instead
        /// of being dead-lettered.
        public var leftUnsettled = 0
        /// Events taken from the spool at start that this destination was still owed (with a spool).
        public var replayed = 0
    }

    /// The disk spool's part of the account (with `--spool`).
    public struct SpoolSummary: Sendable, Equatable {
        /// Torn or corrupt records found (cut off a segment's tail on open, or skipped on replay).
        public var corruptRecords = 0
        /// Records replayed at start.
        public var replayedRecords = 0
        /// Records some destination has not settled at the end of the run: the next run replays them.
        public var recordsLeft = 0
        /// Bytes the spool holds at the end of the run (segments and dedupe key files: what counts toward
        /// `maxBytes`), and its segment files.
        public var bytes = 0, segments = 0
        /// Appends that failed (a full disk, an I/O error); input stopped at the first.
        public var writeFailures = 0
        /// Cursor writes that failed (a full disk, an I/O error); each is retried as the destination settles more.
        public var cursorWriteFailures = 0
        /// Destinations whose cursor could still not be written at the end of the run: the next run re-sends what
        /// they settled after their last written cursor. Nonzero makes the exit status 3.
        public var cursorsNotWritten = 0
        /// Dedupe keys of earlier runs restored at start (settled events still within the dedupe window).
        public var restoredDedupeKeys = 0
        /// Dedupe key journal writes that failed: those keys did not survive the run.
        public var dedupeKeyWriteFailures = 0
    }

    /// The spool's figures; nil without a spool.
    public var spool: SpoolSummary?

    /// Events decoded (a batch line counts its events).
    public var ingested: Int
    /// Invalid lines or events.
    public var invalid: Int
    /// Events dropped as duplicates of an earlier timeUUID.
    public var duplicates: Int
    /// Events removed by the global filter (and Segment calls that have no Statsig counterpart).
    public var filtered: Int
    /// Globally filtered events per reason.
    public var filteredByReason: [String: Int]
    /// Per-destination outcomes, by destination name.
    public var destinations: [String: DestinationSummary]
    /// Wall-clock duration of the run.
    public var elapsedSeconds: Double
    /// True when HTTP destinations only printed their requests (`--dry-run`): their "delivered" events were
    /// written to standard output, not sent.
    public var dryRun = false

    /// Ingest-to-delivery latency of delivered events (nil when nothing was delivered).
    public var latency: LatencySummary?

    /// Partial last lines left when a drain stopped a stream mid-line (0 or 1): read, so counted, and kept in
    /// the dead-letter file as `"kind":"incomplete"`, but not invalid: the producer was interrupted.
    public var incompleteLines = 0

    /// Dead-letter records (undeliverable events and invalid lines) that could not be written to the dead-letter
    /// file; any makes the exit status 3.
    public var deadLetterWriteFailures = 0

    /// Keys the dedupe table forgot because it was full: duplicates further apart than it remembers are missed.
    public var capacityEvictions = 0
    /// Keys the dedupe table forgot because they fell out of the time window.
    public var windowEvictions = 0
    /// Fetches of remote Statsig config specs (nil when the specs are not fetched).
    public var statsigSpecs: SpecsStatus?

    /// Latency quantiles, in seconds, from decode to the destination's acknowledgement (bucketed: within ~20%).
    public struct LatencySummary: Sendable, Equatable {
        /// Median.
        public var p50: Double
        /// 99th percentile.
        public var p99: Double
        /// Largest seen.
        public var max: Double

        /// Creates a latency summary (seconds).
        public init(p50: Double, p99: Double, max: Double) {
            self.p50 = p50
            self.p99 = p99
            self.max = max
        }
    }

    /// Whether every destination's counts add up to what came in.
    public var isBalanced: Bool {
        let expected = ingested - duplicates - filtered
        return destinations.values.allSatisfy {
            $0.delivered + $0.filtered + $0.deadLettered + $0.dropped + $0.alreadySettled + $0.leftUnsettled == expected
        }
    }

    /// The exit status of the contract: 3 when Sluice could not record what happened to some events (a
    /// dead-letter, stdout or file write failed), else 1 when any event was dead-lettered or dropped, else 0.
    public var exitStatus: Int32 {
        if couldNotRecordEverything { return 3 }
        return destinations.values.contains { $0.deadLettered > 0 || $0.dropped > 0 } ? 1 : 0
    }

    /// Whether a dead-letter, stdout or file write failed during the run.
    public var couldNotRecordEverything: Bool {
        // A spool that could not take input or write a cursor is Sluice failing to write, too.
        deadLetterWriteFailures > 0 || destinations.values.contains { $0.writeFailures > 0 }
            || (spool.map { $0.writeFailures > 0 || $0.cursorsNotWritten > 0 || $0.dedupeKeyWriteFailures > 0 } ?? false)
    }

    /// The summary as one JSON object (keys in a stable order).
    public func jsonBytes() -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.appendRaw("{\"ingested\":"); w.appendInt(Int64(ingested))
        w.appendRaw(",\"invalid\":"); w.appendInt(Int64(invalid))
        w.appendRaw(",\"duplicates\":"); w.appendInt(Int64(duplicates))
        w.appendRaw(",\"filtered\":"); w.appendInt(Int64(filtered))
        w.appendRaw(",\"filteredByReason\":"); Self.appendCounts(filteredByReason, to: &w)
        w.appendRaw(",\"destinations\":{")
        for (i, name) in destinations.keys.sorted().enumerated() {
            let d = destinations[name]!
            if i > 0 { w.appendByte(UInt8(ascii: ",")) }
            w.appendString(name)
            w.appendRaw(":{\"delivered\":"); w.appendInt(Int64(d.delivered))
            w.appendRaw(",\"filtered\":"); w.appendInt(Int64(d.filtered))
            w.appendRaw(",\"deadLettered\":"); w.appendInt(Int64(d.deadLettered))
            w.appendRaw(",\"dropped\":"); w.appendInt(Int64(d.dropped))
            w.appendRaw(",\"filteredByReason\":"); Self.appendCounts(d.filteredByReason, to: &w)
            w.appendRaw(",\"deadLetteredByReason\":"); Self.appendCounts(d.deadLetteredByReason, to: &w)
            w.appendRaw(",\"writeFailures\":"); w.appendInt(Int64(d.writeFailures))
            w.appendRaw(",\"requests\":"); w.appendInt(Int64(d.requests))
            w.appendRaw(",\"retries\":"); w.appendInt(Int64(d.retries))
            w.appendRaw(",\"failedRequests\":"); w.appendInt(Int64(d.failedRequests))
            if spool != nil {
                w.appendRaw(",\"replayed\":"); w.appendInt(Int64(d.replayed))
                w.appendRaw(",\"alreadySettled\":"); w.appendInt(Int64(d.alreadySettled))
                w.appendRaw(",\"leftInSpool\":"); w.appendInt(Int64(d.leftUnsettled))
            }
            if !d.counters.isEmpty { w.appendRaw(",\"counters\":"); Self.appendCounts(d.counters, to: &w) }
            w.appendByte(UInt8(ascii: "}"))
        }
        w.appendRaw("},\"incompleteLines\":"); w.appendInt(Int64(incompleteLines))
        w.appendRaw(",\"deadLetterWriteFailures\":"); w.appendInt(Int64(deadLetterWriteFailures))
        w.appendRaw(",\"dedupeEvictions\":{\"capacity\":"); w.appendInt(Int64(capacityEvictions))
        w.appendRaw(",\"window\":"); w.appendInt(Int64(windowEvictions))
        if let latency {
            w.appendRaw("},\"latencySeconds\":{\"p50\":"); w.appendDouble(latency.p50)
            w.appendRaw(",\"p99\":"); w.appendDouble(latency.p99)
            w.appendRaw(",\"max\":"); w.appendDouble(latency.max)
        }
        if dryRun { w.appendRaw("},\"dryRun\":true") } else { w.appendByte(UInt8(ascii: "}")) }
        if let specs = statsigSpecs {
            w.appendRaw(",\"statsigSpecs\":{\"fetches\":"); w.appendInt(Int64(specs.fetches))
            w.appendRaw(",\"failedFetches\":"); w.appendInt(Int64(specs.failedFetches))
            if let error = specs.lastError { w.appendRaw(",\"lastError\":"); w.appendString(error) }
            w.appendByte(UInt8(ascii: "}"))
        }
        if let spool {
            w.appendRaw(",\"spool\":{\"corruptRecords\":"); w.appendInt(Int64(spool.corruptRecords))
            w.appendRaw(",\"replayedRecords\":"); w.appendInt(Int64(spool.replayedRecords))
            w.appendRaw(",\"recordsLeft\":"); w.appendInt(Int64(spool.recordsLeft))
            w.appendRaw(",\"bytes\":"); w.appendInt(Int64(spool.bytes))
            w.appendRaw(",\"segments\":"); w.appendInt(Int64(spool.segments))
            w.appendRaw(",\"writeFailures\":"); w.appendInt(Int64(spool.writeFailures))
            w.appendRaw(",\"cursorWriteFailures\":"); w.appendInt(Int64(spool.cursorWriteFailures))
            w.appendRaw(",\"cursorsNotWritten\":"); w.appendInt(Int64(spool.cursorsNotWritten))
            w.appendRaw(",\"restoredDedupeKeys\":"); w.appendInt(Int64(spool.restoredDedupeKeys))
            w.appendRaw(",\"dedupeKeyWriteFailures\":"); w.appendInt(Int64(spool.dedupeKeyWriteFailures))
            w.appendByte(UInt8(ascii: "}"))
        }
        w.appendRaw(",\"elapsedSeconds\":"); w.appendDouble((elapsedSeconds * 1000).rounded() / 1000)
        w.appendByte(UInt8(ascii: "}"))
        return w.bytes
    }

    private static func appendCounts(_ counts: [String: Int], to w: inout JSONWriter) {
        w.appendByte(UInt8(ascii: "{"))
        for (i, key) in counts.keys.sorted().enumerated() {
            if i > 0 { w.appendByte(UInt8(ascii: ",")) }
            w.appendString(key)
            w.appendByte(UInt8(ascii: ":"))
            w.appendInt(Int64(counts[key]!))
        }
        w.appendByte(UInt8(ascii: "}"))
    }

    /// A few human lines for standard error.
    public var humanReadable: String {
        var lines = ["sluice: \(ingested) ingested, \(invalid) invalid, \(duplicates) duplicates, \(filtered) filtered in \(String(format: "%.2f", elapsedSeconds)) s"]
        for name in destinations.keys.sorted() {
            let d = destinations[name]!
            let unwritten = d.writeFailures > 0 ? " (\(d.writeFailures) could not be written)" : ""
            var line = "  \(name): \(d.delivered) delivered, \(d.filtered) filtered, \(d.deadLettered) dead-lettered\(unwritten), \(d.dropped) dropped"
            if spool != nil {
                line += ", \(d.replayed) replayed, \(d.alreadySettled) already settled, \(d.leftUnsettled) left in spool"
            }
            lines.append(line)
            for (reason, n) in d.deadLetteredByReason.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
                lines.append("    \(n) dead-lettered: \(reason)")
            }
        }
        if let spool {
            lines.append("  spool: \(spool.replayedRecords) records replayed, \(spool.recordsLeft) left for the next run, "
                         + "\(spool.corruptRecords) corrupt, \(spool.bytes) bytes (\(spool.segments) segments and the dedupe keys), "
                         + "\(spool.restoredDedupeKeys) dedupe keys restored"
                         + (spool.writeFailures > 0 ? ", WRITE FAILED" : "")
                         + (spool.cursorWriteFailures > 0 ? ", \(spool.cursorWriteFailures) cursor writes failed" : "")
                         + (spool.cursorsNotWritten > 0 ? " (\(spool.cursorsNotWritten) CURSORS NOT WRITTEN)" : "")
                         + (spool.dedupeKeyWriteFailures > 0 ? ", DEDUPE KEY WRITE FAILED" : ""))
        }
        if incompleteLines > 0 {
            lines.append("sluice: \(incompleteLines) line cut off by the shutdown before its newline (kept in the dead-letter file, if any)")
        }
        if deadLetterWriteFailures > 0 {
            lines.append("sluice: \(deadLetterWriteFailures) dead-letter records could not be written")
        }
        return lines.joined(separator: "\n")
    }
}

import Foundation
