import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import Testing

/// The real `sluice` binary that `swift test` built next to the test bundle, and a way to run it.
enum SluiceExecutable {
    /// `.build/<configuration>/sluice`, found from the running test binary's directory.
    static var url: URL {
        ignoreBrokenPipes()  // every test that starts `sluice` asks for its URL first
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        // The test binary may sit inside a bundle (`SluicePackageTests.xctest/Contents/MacOS/` on macOS).
        for _ in 0..<4 where !FileManager.default.fileExists(atPath: directory.appendingPathComponent("sluice").path) {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("sluice")
    }

    /// A started `sluice` process with pipes on all three standard streams.
    struct Running {
        let process: Process
        let stdin: FileHandle
        let stdout: Pipe
        let stderr: Pipe
    }

    /// Writing to the stdin of a child that has exited must be an error for that test, not a SIGPIPE that
    /// kills the whole test process (and every test running in parallel with it).
    static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// `shellPrelude` (e.g. `ulimit -f 64`) runs the binary through bash with that prelude applied to it alone.
    static func start(_ arguments: [String], environment: [String: String]? = nil, shellPrelude: String? = nil) throws -> Running {
        ignoreBrokenPipes()
        let process = Process()
        if let shellPrelude {
            let quoted = ([url.path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-c", shellPrelude + "; exec " + quoted.joined(separator: " ")]
        } else {
            process.executableURL = url
            process.arguments = arguments
        }
        if let environment { process.environment = environment }
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        return Running(process: process, stdin: input.fileHandleForWriting, stdout: output, stderr: error)
    }

    /// Runs to completion with `input` on stdin; returns exit status, stdout and stderr.
    static func run(_ arguments: [String], input: [UInt8] = [], environment: [String: String]? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let running = try start(arguments, environment: environment)
        // Read both outputs concurrently with writing, so large outputs cannot fill a pipe and deadlock.
        let outputs = OutputCollector(running)
        // EPIPE here means the child exited without reading everything, which its status and output then show.
        try? running.stdin.write(contentsOf: Data(input))
        try? running.stdin.close()
        // A child that never exits fails its test instead of hanging the whole suite.
        let deadline = Date().addingTimeInterval(300)
        while running.process.isRunning && Date() < deadline { usleep(5_000) }
        if running.process.isRunning {
            Issue.record("sluice \(arguments.joined(separator: " ")) did not exit within 300 s; killed")
            kill(running.process.processIdentifier, SIGKILL)
        }
        running.process.waitUntilExit()
        let (out, err) = outputs.finish()
        return (running.process.terminationStatus, out, err)
    }
}

/// Drains a process's stdout and stderr on background threads, so a full pipe can never stall the child.
final class OutputCollector: Sendable {
    private let out = LockedData()
    private let err = LockedData()
    private let done = DispatchSemaphore(value: 0)

    init(_ running: SluiceExecutable.Running) {
        Self.drain(running.stdout.fileHandleForReading, into: out, done: done)
        Self.drain(running.stderr.fileHandleForReading, into: err, done: done)
    }

    private static func drain(_ handle: FileHandle, into buffer: LockedData, done: DispatchSemaphore) {
        Thread {
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                buffer.value.withLock { $0.append(data) }
            }
            done.signal()
        }.start()
    }

    /// Lines written to stdout so far.
    var stdoutLineCount: Int { out.value.withLock { $0.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } } }

    /// What stdout held so far (the stream is still open).
    var stdoutSoFar: String { String(decoding: out.value.withLock { $0 }, as: UTF8.self) }

    /// Waits for both streams to end and returns them.
    func finish() -> (String, String) {
        done.wait()
        done.wait()
        return (String(decoding: out.value.withLock { $0 }, as: UTF8.self), String(decoding: err.value.withLock { $0 }, as: UTF8.self))
    }
}

/// Bytes shared between a reader thread and the test.
final class LockedData: Sendable {
    let value = Mutex(Data())
}

extension SluiceExecutable {
    /// Runs blocking work (waiting for a child process, a blocking read) on a thread of its own and awaits it, so
    /// a test never holds one of the few cooperative threads that every other test running in parallel needs.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
        }
    }
}
