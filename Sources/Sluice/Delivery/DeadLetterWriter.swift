import Foundation
import Synchronization

/// Appends undeliverable events and invalid input to an NDJSON file, one record per line.
///
/// Records: `{"time","kind":"invalid","reason","line","index"?,"raw"}` for input that could not be decoded (the
/// raw bytes as a JSON string), and `{"time","kind":"undeliverable","destination","reason","attempts","line",
/// "event"}` for events a destination could not take (the event in Statsig export format).
///
/// Redaction is structural: configured secrets are masked in the `reason`, the one field Sluice writes from its
/// own requests and their answers (a server may echo the key it rejected). `event` and `raw` are the user's data
/// and stay byte-exact, so the file can be replayed; only `privateAttributes` is removed from them, because it
/// must never leave the engine. A plain substring replace over the whole record would turn a short key such as
/// `test` into `pricing_page_[REDACTED]` inside an experiment name, or `k` into `"[REDACTED]ind"`.
public final class DeadLetterWriter: Sendable {
    private let handle: Mutex<FileHandle?>
    private let redactor: Redactor
    private let written = Atomic<Int>(0)

    /// Opens (creating or appending to) `path`.
    public init(path: String, redactor: Redactor) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        self.handle = Mutex(handle)
        self.redactor = redactor
    }

    /// Records written so far.
    public var count: Int { written.load(ordering: .relaxed) }

    /// Writes one record per invalid input.
    func writeInvalid(_ records: [InvalidInput]) {
        guard !records.isEmpty else { return }
        var out: [UInt8] = []
        let now = Self.now()
        for record in records {
            var w = JSONWriter(appendingTo: out)
            w.appendRaw("{\"time\":"); w.appendString(now)
            w.appendRaw(",\"kind\":\"invalid\",\"reason\":"); w.appendString(redactor.redact(record.reason))
            w.appendRaw(",\"line\":"); w.appendInt(Int64(record.line))
            if let index = record.index { w.appendRaw(",\"index\":"); w.appendInt(Int64(index)) }
            w.appendRaw(",\"raw\":")
            DeadLetterWriter.withoutPrivateAttributes(record.raw).withUnsafeBytes { w.appendString(utf8: $0) }
            w.appendRaw("}\n")
            out = w.bytes
        }
        write(out, records: records.count)
    }

    /// Writes one record per event of `events` (indices into `chunk`) that `destination` could not take.
    func writeUndeliverable(destination: String, reason: String, attempts: Int, chunk: EventChunk, events: some Sequence<Int>) {
        var out: [UInt8] = []
        let now = Self.now()
        let reason = redactor.redact(reason)
        var count = 0
        chunk.withArena { arena in
            for index in events {
                let event = chunk.events[index]
                var w = JSONWriter(appendingTo: out)
                w.appendRaw("{\"time\":"); w.appendString(now)
                w.appendRaw(",\"kind\":\"undeliverable\",\"destination\":"); w.appendString(destination)
                w.appendRaw(",\"reason\":"); w.appendString(reason)
                w.appendRaw(",\"attempts\":"); w.appendInt(Int64(attempts))
                w.appendRaw(",\"line\":"); w.appendInt(Int64(event.line))
                w.appendRaw(",\"event\":")
                out = w.bytes
                StatsigExportFormat.append(event, arena: arena, to: &out)
                out.append(contentsOf: Array("}\n".utf8))
                count += 1
            }
        }
        write(out, records: count)
    }

    /// An invalid line cannot be parsed, so `privateAttributes` cannot be removed from it structurally; it is
    /// cut at the key instead (the bytes before it still locate the problem), because private attributes must
    /// never leave the engine, not even into a dead-letter file.
    static func withoutPrivateAttributes(_ raw: [UInt8]) -> [UInt8] {
        let key = Array("privateAttributes".utf8)
        guard raw.count >= key.count, let first = key.first else { return raw }
        for i in 0...(raw.count - key.count) where raw[i] == first && raw[i..<i + key.count].elementsEqual(key) {
            return Array(raw[..<i]) + Array("privateAttributes…[removed: private attributes never leave the engine]".utf8)
        }
        return raw
    }

    private func write(_ bytes: [UInt8], records: Int) {
        handle.withLock { handle in
            try? handle?.write(contentsOf: Data(bytes))
        }
        written.add(records, ordering: .relaxed)
    }

    /// Flushes and closes the file.
    public func close() {
        handle.withLock { handle in
            try? handle?.synchronize()
            try? handle?.close()
            handle = nil
        }
    }

    private static func now() -> String {
        ISO8601.string(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
    }
}
