#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Writes whole byte blocks to a file descriptor, one writer at a time, so output from several destinations
/// sharing standard output (a stdout destination and dry-run requests) never interleaves mid-line.
///
/// A failed write is reported (the first time, through ``Notices``) and its batch dead-lettered by the caller.
/// `EPIPE` means the reader is gone for good (`sluice | head -1`): from then on every write fails at once without
/// touching the descriptor, and the notice makes the pipeline stop reading input. A batch that failed part-way
/// is dead-lettered whole, so a replay may repeat its first lines (duplicates carry the same timeUUID).
final class FileDescriptorSink: Sendable {
    private let fd: Int32
    private let closeOnDeinit: Bool
    /// What the output is called in reasons and notices: "standard output" or the file's path.
    let name: String
    private let notices: Notices
    private let lock = Mutex(())
    private let readerGone = Atomic<Bool>(false)

    init(fd: Int32, name: String = "standard output", closeOnDeinit: Bool = false, notices: Notices = Notices()) {
        self.fd = fd
        self.name = name
        self.closeOnDeinit = closeOnDeinit
        self.notices = notices
    }

    /// Opens `path` (created if missing) for appending, or emptied first when `mode` is truncate.
    convenience init(path: String, mode: FileWriteMode = .append, notices: Notices = Notices()) throws(SinkError) {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (mode == .truncate ? O_TRUNC : O_APPEND)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw SinkError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        self.init(fd: fd, name: path, closeOnDeinit: true, notices: notices)
    }

    deinit {
        if closeOnDeinit { close(fd) }
    }

    struct SinkError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    private let inUse = Atomic<Bool>(false)

    /// A destination writes here (so a reader going away matters to the run).
    func markInUse() { inUse.store(true, ordering: .relaxed) }

    /// Whether a destination writes here.
    var isInUse: Bool { inUse.load(ordering: .relaxed) }

    /// Notices a pipe or socket whose reader has gone although nothing was written lately (`yes | sluice | head -1`
    /// writes one line, then every later event is a duplicate: no write would ever see the EPIPE). `poll` reports
    /// POLLERR (pipe) or POLLHUP (socket) on the write end once the reader is gone; a regular file or a terminal
    /// never does. Returns whether the reader is gone, posting the same notice as an EPIPE the first time.
    @discardableResult
    func checkReaderGone() -> Bool {
        if readerGone.load(ordering: .relaxed) { return true }
        var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&descriptor, 1, 0) == 1, descriptor.revents & Int16(POLLERR | POLLHUP) != 0 else { return false }
        readerGone.store(true, ordering: .relaxed)
        notices.post(.outputClosed(output: name), once: "closed\u{0}\(name)")
        return true
    }

    /// The reason given for batches not written because the reader closed the output.
    var closedReason: String { "\(name) closed by its reader (broken pipe): not written" }

    /// Writes all of `bytes`, retrying partial writes and interruptions. Returns nil, or the reason it failed.
    func write(_ bytes: [UInt8]) -> String? {
        if readerGone.load(ordering: .relaxed) { return closedReason }
        let failure: Int32? = lock.withLock { _ in
            bytes.withUnsafeBytes { raw -> Int32? in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR || errno == EAGAIN { continue }
                        return errno
                    }
                    offset += n
                }
                return nil
            }
        }
        guard let failure else { return nil }
        if failure == EPIPE {
            readerGone.store(true, ordering: .relaxed)
            notices.post(.outputClosed(output: name), once: "closed\u{0}\(name)")
            return closedReason
        }
        let error = String(cString: strerror(failure))
        notices.post(.outputWriteFailed(output: name, error: error), once: "write\u{0}\(name)")
        return "write to \(name) failed: \(error)"
    }
}

/// Sends batches to standard output or a file.
struct FileDescriptorSender: BatchSender {
    let sink: FileDescriptorSink

    func send(_ batch: Batch, abandon: @escaping @Sendable () -> Bool) async -> SendOutcome {
        if let error = sink.write(batch.body) { return .writeFailed(reason: error) }
        return .delivered(attempts: 1)
    }
}
