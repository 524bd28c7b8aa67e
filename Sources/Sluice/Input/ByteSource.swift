#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation

/// Where a pipeline's bytes come from.
public enum InputSource: Sendable {
    /// No stream: events arrive only through ``Pipeline/ingest(_:)``; the run ends at ``Pipeline/finish()``.
    case none
    /// Read a file descriptor to its end (standard input is `.fileDescriptor(0)`).
    case fileDescriptor(Int32)
    /// Read a file to its end.
    case file(String)
    /// Read bytes held in memory (tests, benchmarks).
    case bytes([UInt8])
}

/// Feeds a source's bytes into a bounded channel of blocks.
///
/// File descriptors are read on a dedicated thread, because `read(2)` blocks: on the two-thread cooperative
/// pool a blocked read would stall half the engine, and a signal-initiated drain must not wait for the next
/// line of an idle terminal. The thread hands each block to the channel through an async send, so a full
/// channel (a slow pipeline) stops the reading: backpressure reaches the producer of standard input.
enum ByteSource {
    static let blockSize = 1 << 20

    /// Starts reading; the channel is finished at end of input or on error (the error is returned through `onError`).
    static func start(_ source: InputSource, into channel: BoundedChannel<[UInt8]>,
                      onError: @escaping @Sendable (String) -> Void) {
        switch source {
        case .none:
            break
        case .bytes(let bytes):
            Task {
                var offset = 0
                while offset < bytes.count {
                    let end = min(bytes.count, offset + blockSize)
                    guard await channel.send(Array(bytes[offset..<end])) else { return }
                    offset = end
                }
                channel.finish()
            }
        case .fileDescriptor(let fd):
            startThread(fd: fd, closeWhenDone: false, channel: channel, onError: onError)
        case .file(let path):
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                onError("cannot open \(path): \(String(cString: strerror(errno)))")
                channel.finish()
                return
            }
            startThread(fd: fd, closeWhenDone: true, channel: channel, onError: onError)
        }
    }

    private static func startThread(fd: Int32, closeWhenDone: Bool, channel: BoundedChannel<[UInt8]>,
                                    onError: @escaping @Sendable (String) -> Void) {
        let thread = Thread {
            defer {
                channel.finish()
                if closeWhenDone { close(fd) }
            }
            while true {
                // Read straight into uninitialised capacity: zero-filling 1 MiB per block cost more than the read.
                var failure: Int32 = 0
                let block = [UInt8](unsafeUninitializedCapacity: blockSize) { buffer, initialized in
                    var n = -1
                    repeat { n = read(fd, buffer.baseAddress, blockSize) } while n < 0 && errno == EINTR
                    if n < 0 { failure = errno }
                    initialized = max(0, n)
                }
                if failure != 0 {
                    onError("read failed: \(String(cString: strerror(failure)))")
                    return
                }
                if block.isEmpty { return }
                let accepted = BlockingHandOff.send(block, to: channel)
                if !accepted { return }  // the pipeline stopped reading (drain)
            }
        }
        thread.name = "sluice-input"
        thread.start()
    }
}

/// Lets a plain thread wait for an async channel send.
enum BlockingHandOff {
    static func send(_ block: [UInt8], to channel: BoundedChannel<[UInt8]>) -> Bool {
        let done = DispatchSemaphore(value: 0)
        let result = SendResultBox()
        Task {
            result.set(await channel.send(block))
            done.signal()
        }
        done.wait()
        return result.value
    }
}

import Synchronization

/// The outcome of one hand-off, written by the sending task and read by the waiting thread after the
/// semaphore orders the two.
final class SendResultBox: Sendable {
    private let stored = Atomic<Bool>(false)
    func set(_ value: Bool) { stored.store(value, ordering: .releasing) }
    var value: Bool { stored.load(ordering: .acquiring) }
}
