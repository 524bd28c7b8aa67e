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
    /// Read a Redis stream through a consumer group; entries are acknowledged once settled everywhere.
    case redisStream(RedisSourceConfiguration)
}

/// Feeds a source's bytes into a bounded channel of blocks.
///
/// Descriptors are read from a task, not a dedicated thread: measured on this 2-core machine, a reader thread
/// handing blocks to the pipeline left the stages taking turns on one core (0.99 cores, 666k events/s on the
/// same input) where a reader task let them overlap (1.72 cores, 1.24M events/s). A task must never block in
/// `read(2)`, though: on a pipe or terminal that would pin one of the two pool threads until input arrives and
/// stall a signal-initiated drain. So the reader asks `poll(2)` first: when data is ready, `read` returns at
/// once; when not, it suspends until a dispatch read source reports the descriptor readable (or 100 ms pass, to
/// notice a drain). A full channel suspends the send, so a slow pipeline stops the reading: backpressure
/// reaches the producer of standard input.
enum ByteSource {
    static let blockSize = 1 << 20

    /// Starts reading; the channel is finished at end of input, on error (reported through `onError`), or once
    /// `shouldStop` returns true (a drain).
    static func start(_ source: InputSource, into channel: BoundedChannel<[UInt8]>,
                      shouldStop: @escaping @Sendable () -> Bool,
                      onError: @escaping @Sendable (String) -> Void) {
        switch source {
        case .none, .redisStream:
            break
        case .bytes(let bytes):
            Task {
                var offset = 0
                while offset < bytes.count && !shouldStop() {
                    let end = min(bytes.count, offset + blockSize)
                    guard await channel.send(Array(bytes[offset..<end])) else { return }
                    offset = end
                }
                channel.finish()
            }
        case .fileDescriptor(let fd):
            Task { await readLoop(fd: fd, channel: channel, shouldStop: shouldStop, onError: onError) }
        case .file(let path):
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                onError("cannot open \(path): \(String(cString: strerror(errno)))")
                channel.finish()
                return
            }
            Task {
                await readLoop(fd: fd, channel: channel, shouldStop: shouldStop, onError: onError)
                close(fd)
            }
        }
    }

    /// Reads an already open descriptor (a spool-resumed input file, positioned where reading continues) and
    /// closes it once reading ends.
    static func start(owning fd: Int32, into channel: BoundedChannel<[UInt8]>, shouldStop: @escaping @Sendable () -> Bool,
                      onError: @escaping @Sendable (String) -> Void) {
        Task {
            await readLoop(fd: fd, channel: channel, shouldStop: shouldStop, onError: onError)
            close(fd)
        }
    }

    private static func readLoop(fd: Int32, channel: BoundedChannel<[UInt8]>, shouldStop: @Sendable () -> Bool,
                                 onError: @Sendable (String) -> Void) async {
        defer { channel.finish() }
        let waiter = ReadabilityWaiter(fd: fd)
        defer { waiter.cancel() }
        #if os(Linux)
        // A 1 MiB pipe buffer (the unprivileged maximum) instead of 64 KiB: fewer wake-ups on both ends.
        // Failing is harmless (not a pipe, or a lower limit): the default buffer works, just with more wake-ups.
        _ = fcntl(fd, 1031 /* F_SETPIPE_SZ */, Int32(blockSize))
        #endif
        var firstBlock = true
        var gunzip: GzipInput?
        while !shouldStop() {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 0)
            if ready < 0 {
                if errno == EINTR { continue }
                onError("poll failed: \(String(cString: strerror(errno)))")
                return
            }
            if ready == 0 {
                await waiter.waitUntilReadable(timeout: .milliseconds(100))
                continue
            }
            // Readable (or hung up): this read returns at once. Read straight into uninitialised capacity.
            var failure: Int32 = 0
            let block = [UInt8](unsafeUninitializedCapacity: blockSize) { buffer, initialized in
                var n = -1
                repeat { n = read(fd, buffer.baseAddress, blockSize) } while n < 0 && errno == EINTR
                if n < 0 { failure = errno }
                initialized = max(0, n)
            }
            if failure == EAGAIN || failure == EWOULDBLOCK { continue }
            if failure != 0 {
                onError("read failed: \(String(cString: strerror(failure)))")
                return
            }
            if block.isEmpty {  // end of input
                if let gunzip, case .failure(let error) = gunzip.finish() { onError("\(error)") }
                return
            }
            if firstBlock {
                firstBlock = false
                if Gzip.hasMagic(block) { gunzip = GzipInput() }  // a gzipped stream: decompress as it is read
            }
            if let gunzip {
                switch gunzip.decompress(block) {
                case .success(let pieces):
                    for piece in pieces { guard await channel.send(piece) else { return } }
                case .failure(let error):
                    onError("\(error)")
                    return
                }
                continue
            }
            guard await channel.send(block) else { return }  // the pipeline stopped reading
        }
    }
}

/// Suspends a task until a descriptor is readable, without blocking a thread: a dispatch read source (epoll
/// on Linux) resumes the waiting task.
final class ReadabilityWaiter: Sendable {
    private struct State {
        var source: (any DispatchSourceRead)?
        var waiting: CheckedContinuation<Void, Never>?
        var generation = 0
        var armed = false
    }
    // Mutex is Sendable whatever it holds: the source and the continuation are only touched under the lock.
    private let state = Mutex(State())
    private static let queue = DispatchQueue(label: "sluice.input.readiness")

    init(fd: Int32) {
        state.withLock { s in
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: Self.queue)
            source.setEventHandler { [weak self] in self?.fire(generation: nil) }
            s.source = source
        }
    }

    /// Returns when the descriptor is readable, after `timeout`, or once cancelled, whichever is first.
    func waitUntilReadable(timeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let generation = state.withLock { s -> Int in
                s.generation += 1
                s.waiting = continuation
                if let source = s.source, !s.armed {
                    s.armed = true
                    // A dispatch source starts inactive; later waits resume it after `fire` suspended it.
                    if s.generation == 1 { source.activate() } else { source.resume() }
                }
                return s.generation
            }
            let nanoseconds = Int(timeout.components.seconds) * 1_000_000_000 + Int(timeout.components.attoseconds / 1_000_000_000)
            Self.queue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [weak self] in
                self?.fire(generation: generation)
            }
        }
    }

    /// Resumes the waiting task (for a timeout, only if it is still the wait that scheduled it) and disarms the
    /// level-triggered source until the next wait.
    private func fire(generation: Int?) {
        let continuation = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let generation, generation != s.generation { return nil }
            if s.armed, let source = s.source {
                source.suspend()
                s.armed = false
            }
            defer { s.waiting = nil }
            return s.waiting
        }
        continuation?.resume()
    }

    /// Stops watching; a pending wait returns.
    func cancel() {
        let continuation = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let source = s.source {
                if !s.armed && s.generation > 0 { source.resume() }  // a suspended source cannot be cancelled cleanly
                if s.generation == 0 { source.activate() }
                source.cancel()
            }
            s.source = nil
            s.armed = false
            defer { s.waiting = nil }
            return s.waiting
        }
        continuation?.resume()
    }
}

import Synchronization
