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
final class FileDescriptorSink: Sendable {
    private let fd: Int32
    private let closeOnDeinit: Bool
    private let lock = Mutex(())

    init(fd: Int32, closeOnDeinit: Bool = false) {
        self.fd = fd
        self.closeOnDeinit = closeOnDeinit
    }

    /// Opens `path` (created if missing) for appending, or emptied first when `mode` is truncate.
    convenience init(path: String, mode: FileWriteMode) throws(SinkError) {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (mode == .truncate ? O_TRUNC : O_APPEND)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw SinkError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        self.init(fd: fd, closeOnDeinit: true)
    }

    deinit {
        if closeOnDeinit { close(fd) }
    }

    struct SinkError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// Writes all of `bytes`, retrying partial writes and interruptions. Returns nil, or the error text.
    func write(_ bytes: [UInt8]) -> String? {
        lock.withLock { _ in
            bytes.withUnsafeBytes { raw -> String? in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR || errno == EAGAIN { continue }
                        return "write failed: \(String(cString: strerror(errno)))"
                    }
                    offset += n
                }
                return nil
            }
        }
    }
}

/// Sends batches to standard output or a file.
struct FileDescriptorSender: BatchSender {
    let sink: FileDescriptorSink

    func send(_ batch: Batch, abandon: @escaping @Sendable () -> Bool) async -> SendOutcome {
        if let error = sink.write(batch.body) { return .failed(reason: error, attempts: 1) }
        return .delivered(attempts: 1)
    }
}
