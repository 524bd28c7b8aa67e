#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Appends undeliverable events and invalid input to an NDJSON file, one record per line.
///
/// Records: `{"time","kind":"invalid","reason","line","index"?,"raw"}` for input that could not be decoded (the
/// raw bytes as a JSON string), and `{"time","kind":"undeliverable","destination","reason","attempts","line",
/// "event"}` for events a destination could not take (the event in Statsig export format; an ID-list audience
/// change also carries `"eventKind":"audience_change"`, so a replay brings it back as a change, not an event).
///
/// Redaction is structural: configured secrets are masked in the `reason`, the one field Sluice writes from its
/// own requests and their answers (a server may echo the key it rejected). `event` and `raw` are the user's data
/// and stay byte-exact, so the file can be replayed; only `privateAttributes` is removed from them, because it
/// must never leave the engine. A plain substring replace over the whole record would turn a short key such as
/// `test` into `pricing_page_[REDACTED]` inside an experiment name, or `k` into `"[REDACTED]ind"`.
///
/// A failed write (a full disk, a file size limit, an I/O error) is never silent: the first one is announced
/// with the path and the system's error text, every record that could not be written is counted in
/// ``failures`` (the summary's `deadLetterWriteFailures`, exit status 3), and a record cut off part-way is
/// trimmed from the end of a regular file, so the file holds only whole records.
public final class DeadLetterWriter: Sendable {
    /// The file descriptor, -1 once closed.
    private let descriptor: Mutex<Int32>
    /// The path the records go to.
    public let path: String
    private let redactor: Redactor
    private let notices: Notices
    private let written = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)

    /// Opens (creating or appending to) `path`.
    /// - Throws: ``PipelineError`` naming the path and the system's reason when it cannot be opened.
    public convenience init(path: String, redactor: Redactor) throws {
        try self.init(path: path, redactor: redactor, notices: Notices())
    }

    init(path: String, redactor: Redactor, notices: Notices) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw PipelineError("dead-letter file \(path): cannot open: \(String(cString: strerror(errno)))")
        }
        self.descriptor = Mutex(fd)
        self.path = path
        self.redactor = redactor
        self.notices = notices
    }

    /// Records written so far.
    public var count: Int { written.load(ordering: .relaxed) }

    /// Records that could not be written so far.
    public var failures: Int { failed.load(ordering: .relaxed) }

    /// Writes one record per invalid input (`kind` "incomplete" for the cut-off last line of a stopped stream).
    func writeInvalid(_ records: [InvalidInput], kind: String = "invalid") {
        guard !records.isEmpty else { return }
        var out: [UInt8] = []
        let now = Self.now()
        for record in records {
            var w = JSONWriter(appendingTo: out)
            w.appendRaw("{\"time\":"); w.appendString(now)
            w.appendRaw(",\"kind\":"); w.appendString(kind)
            w.appendRaw(",\"reason\":"); w.appendString(redactor.redact(record.reason))
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
                if event.kind == .audienceMembership { w.appendRaw(",\"eventKind\":"); w.appendString(DeadLetterRecord.audienceChange) }
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

    /// Appends `bytes` (`records` whole lines). On failure, counts the records that did not get out whole and
    /// trims a torn last record from a regular file.
    private func write(_ bytes: [UInt8], records: Int) {
        guard records > 0 else { return }
        let failure: (errno: Int32, unwritten: Int)? = descriptor.withLock { fd in
            guard fd >= 0 else { return (EBADF, records) }
            return bytes.withUnsafeBytes { raw -> (errno: Int32, unwritten: Int)? in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 {
                        let code = n < 0 ? errno : EIO
                        return (code, records - Self.trimTornRecord(fd: fd, written: raw[..<offset]))
                    }
                    offset += n
                }
                return nil
            }
        }
        guard let failure else {
            written.add(records, ordering: .relaxed)
            return
        }
        written.add(records - failure.unwritten, ordering: .relaxed)
        failed.add(failure.unwritten, ordering: .relaxed)
        notices.post(.deadLetterWriteFailed(path: path, error: String(cString: strerror(failure.errno))), once: "dead-letter")
    }

    /// The number of whole records in `written`; a partial last record is cut off the end of a regular file so a
    /// replay never meets half a line.
    private static func trimTornRecord(fd: Int32, written: Slice<UnsafeRawBufferPointer>) -> Int {
        var whole = 0
        var lastNewline = -1
        for (i, byte) in zip(written.indices, written) where byte == 0x0A {
            whole += 1
            lastNewline = i
        }
        let torn = written.count - (lastNewline + 1 - written.startIndex)
        var info = stat()
        if torn > 0, fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size >= torn {
            _ = ftruncate(fd, info.st_size - off_t(torn))
        }
        return whole
    }

    /// Flushes and closes the file.
    public func close() {
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            _ = fsync(fd)
            _ = Glibc.close(fd)
            fd = -1
        }
    }

    private static func now() -> String {
        ISO8601.string(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
    }
}
