#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Catches SIGINT and SIGTERM from the first line of `main` so that none is ever lost, and hands each to the
/// run's handler on a thread of its own.
///
/// Why not `DispatchSource.makeSignalSource` alone: it needs the signal set to `SIG_IGN` first, and on Linux a
/// signal that reaches a thread libdispatch has not blocked it in is then discarded. A SIGTERM sent in that
/// window (a deploy stopping a relay right after it said "listening") was lost, and the process never drained.
/// Here a C handler (async-signal-safe: it only calls `write(2)`) puts the signal number into a pipe, whatever
/// thread it lands on; a waiter thread reads the pipe. Until a run registers a handler, signals wait in the
/// pipe when ``holdUntilHandled()`` was called (the run command: the pipeline may already hold accepted input),
/// or end the process the default way (every other command).
enum SignalWaiter {
    /// The signals a run drains on.
    static let signals: [Int32] = [SIGINT, SIGTERM]

    private struct State {
        var handler: (@Sendable (Int32) -> Void)?
        var holding = false
        var held: [Int32] = []
    }
    private static let state = Mutex(State())

    /// Installs the C handlers and starts the waiter thread. Call once, first thing in `main`.
    static func start() {
        let descriptors = signalPipe  // created here, before any handler can run
        var action = sigaction()
        #if canImport(Darwin)
        action.__sigaction_u.__sa_handler = signalPipeHandler
        #else
        action.__sigaction_handler.sa_handler = signalPipeHandler
        #endif
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        for number in signals { sigaction(number, &action, nil) }
        Thread.detachNewThread {
            var number: Int32 = 0
            while true {
                let n = withUnsafeMutableBytes(of: &number) { read(descriptors.read, $0.baseAddress, 4) }
                if n == 4 { deliver(number) } else if n < 0 && errno != EINTR { return }
            }
        }
    }

    /// Signals from now on wait for ``install(_:)`` instead of ending the process.
    static func holdUntilHandled() {
        state.withLock { $0.holding = true }
    }

    /// Sends every signal (and those held so far) to `handler`, on the waiter thread.
    static func install(_ handler: @escaping @Sendable (Int32) -> Void) {
        let held = state.withLock { s -> [Int32] in
            s.handler = handler
            defer { s.held = [] }
            return s.held
        }
        for number in held { handler(number) }
    }

    /// The run has drained: later signals are ignored while it writes its summary and exits (as they were with
    /// the drain handler's second signal, there is nothing left to give up on).
    static func ignoreFromNowOn() {
        state.withLock { $0.handler = { _ in } }
    }

    private static func deliver(_ number: Int32) {
        enum Action { case handle(@Sendable (Int32) -> Void), hold, die }
        let action = state.withLock { s -> Action in
            if let handler = s.handler { return .handle(handler) }
            if s.holding { s.held.append(number); return .hold }
            return .die
        }
        switch action {
        case .handle(let handler): handler(number)
        case .hold: break
        case .die:
            // What the signal would have done without Sluice's handler: end the process, status "killed by it".
            signal(number, SIG_DFL)
            kill(getpid(), number)
        }
    }
}

/// The pipe the C handler writes signal numbers into. A global `let`, initialised by `SignalWaiter.start()` before
/// the handler is installed, so the handler only reads an initialised constant.
private let signalPipe: (read: Int32, write: Int32) = {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { fatalError("sluice: cannot create the signal pipe: \(String(cString: strerror(errno)))") }
    _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
    return (fds[0], fds[1])
}()

/// The C signal handler: one `write(2)` of the signal number (async-signal-safe), errno kept.
private func signalPipeHandler(_ number: Int32) {
    let saved = errno
    var value = number
    _ = withUnsafeBytes(of: &value) { write(signalPipe.write, $0.baseAddress, 4) }
    errno = saved
}
