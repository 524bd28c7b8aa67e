extension MetricsSnapshot {
    /// The snapshot as one JSON object on one line, keys in a stable order: what `sluice --stats-interval`
    /// prints, and easy to ship to a log pipeline without a JSON library.
    ///
    /// Shape: `{"phase", "elapsedSeconds", "eventsPerSecond", "intervalEventsPerSecond"?, "ingested", "invalid",
    /// "duplicates", "filtered", "queuedChunks", "pending", "deadLetterWriteFailures", "dedupe": {...}, "latencySeconds"?: {"p50","p99","max"},
    /// "destinations": {NAME: {...}}}`.
    public func jsonBytes() -> [UInt8] {
        var w = JSONWriter(capacity: 256 + destinations.count * 256)
        w.appendRaw("{\"phase\":"); w.appendString(phase.rawValue)
        w.appendRaw(",\"elapsedSeconds\":"); w.appendDouble(Self.rounded(elapsedSeconds))
        w.appendRaw(",\"eventsPerSecond\":"); w.appendDouble(Self.rounded(eventsPerSecond))
        if let intervalEventsPerSecond {
            w.appendRaw(",\"intervalEventsPerSecond\":"); w.appendDouble(Self.rounded(intervalEventsPerSecond))
        }
        w.appendRaw(",\"ingested\":"); w.appendInt(Int64(ingested))
        w.appendRaw(",\"invalid\":"); w.appendInt(Int64(invalid))
        w.appendRaw(",\"duplicates\":"); w.appendInt(Int64(duplicates))
        w.appendRaw(",\"filtered\":"); w.appendInt(Int64(filtered))
        w.appendRaw(",\"queuedChunks\":"); w.appendInt(Int64(queuedChunks))
        w.appendRaw(",\"pending\":"); w.appendInt(Int64(pending))
        w.appendRaw(",\"deadLetterWriteFailures\":"); w.appendInt(Int64(deadLetterWriteFailures))
        w.appendRaw(",\"dedupe\":{\"size\":"); w.appendInt(Int64(dedupe.size))
        w.appendRaw(",\"capacityEvictions\":"); w.appendInt(Int64(dedupe.capacityEvictions))
        w.appendRaw(",\"windowEvictions\":"); w.appendInt(Int64(dedupe.windowEvictions))
        w.appendRaw(",\"memoryBytes\":"); w.appendInt(Int64(dedupe.memoryBytes))
        w.appendByte(UInt8(ascii: "}"))
        if let spool {
            w.appendRaw(",\"spool\":{\"bytes\":"); w.appendInt(Int64(spool.bytes))
            w.appendRaw(",\"segments\":"); w.appendInt(Int64(spool.segments))
            w.appendRaw(",\"oldestUnsettledAgeSeconds\":"); w.appendDouble(Self.rounded(spool.oldestUnsettledAgeSeconds))
            w.appendRaw(",\"corruptRecords\":"); w.appendInt(Int64(spool.corruptRecords))
            w.appendRaw(",\"cursorWriteFailures\":"); w.appendInt(Int64(spool.cursorWriteFailures))
            w.appendRaw(",\"cursorsBehind\":"); w.appendInt(Int64(spool.cursorsBehind))
            w.appendByte(UInt8(ascii: "}"))
        }
        if let latency {
            w.appendRaw(",\"latencySeconds\":{\"p50\":"); w.appendDouble(latency.p50)
            w.appendRaw(",\"p99\":"); w.appendDouble(latency.p99)
            w.appendRaw(",\"max\":"); w.appendDouble(latency.max)
            w.appendByte(UInt8(ascii: "}"))
        }
        w.appendRaw(",\"destinations\":{")
        for (i, name) in destinations.keys.sorted().enumerated() {
            let d = destinations[name]!
            if i > 0 { w.appendByte(UInt8(ascii: ",")) }
            w.appendString(name)
            w.appendRaw(":{\"delivered\":"); w.appendInt(Int64(d.delivered))
            w.appendRaw(",\"filtered\":"); w.appendInt(Int64(d.filtered))
            w.appendRaw(",\"deadLettered\":"); w.appendInt(Int64(d.deadLettered))
            w.appendRaw(",\"dropped\":"); w.appendInt(Int64(d.dropped))
            w.appendRaw(",\"pending\":"); w.appendInt(Int64(d.pending))
            w.appendRaw(",\"requests\":"); w.appendInt(Int64(d.requests))
            w.appendRaw(",\"retries\":"); w.appendInt(Int64(d.retries))
            w.appendRaw(",\"failedRequests\":"); w.appendInt(Int64(d.failedRequests))
            w.appendRaw(",\"writeFailures\":"); w.appendInt(Int64(d.writeFailures))
            w.appendRaw(",\"inFlight\":"); w.appendInt(Int64(d.inFlight))
            w.appendRaw(",\"queuedChunks\":"); w.appendInt(Int64(d.queuedChunks))
            w.appendRaw(",\"queuedForBatcher\":"); w.appendInt(Int64(d.queuedForBatcher))
            w.appendRaw(",\"queuedBatches\":"); w.appendInt(Int64(d.queuedBatches))
            if !d.counters.isEmpty {
                w.appendRaw(",\"counters\":{")
                for (k, key) in d.counters.keys.sorted().enumerated() {
                    if k > 0 { w.appendByte(UInt8(ascii: ",")) }
                    w.appendString(key); w.appendByte(UInt8(ascii: ":")); w.appendInt(Int64(d.counters[key]!))
                }
                w.appendByte(UInt8(ascii: "}"))
            }
            w.appendByte(UInt8(ascii: "}"))
        }
        w.appendRaw("}}")
        return w.bytes
    }

    /// Millisecond (or milli-event) precision: more digits are noise in a progress line.
    private static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
}
