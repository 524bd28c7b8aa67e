import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Sluice

/// The real `sluice` with standard input held open by the test (so it can never see end of input) and raw pipes
/// the test controls byte by byte: a SIGTERM must account for every byte the process read, and a reader of
/// standard output that goes away must end the run, like any Unix filter.
@Suite("Stopping input: SIGTERM and a closed standard output")
struct CLIStopTests {
    typealias T = HTTPTestSupport

    /// A `sluice` process on two pipes made here (close-on-exec, so the child holds only its own ends).
    final class Child {
        let process = Process()
        let stdinWrite: Int32, stdinRead: Int32
        let stdoutRead: Int32
        let stderrPath = T.temporaryPath("stderr")
        private(set) var written: [UInt8] = []

        init(_ arguments: [String]) throws {
            SluiceExecutable.ignoreBrokenPipes()
            var input: [Int32] = [0, 0], output: [Int32] = [0, 0]
            guard pipe(&input) == 0, pipe(&output) == 0 else { throw POSIXError(.EMFILE) }
            for fd in input + output { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            (stdinRead, stdinWrite, stdoutRead) = (input[0], input[1], output[0])
            _ = fcntl(stdinWrite, F_SETFL, fcntl(stdinWrite, F_GETFL) | O_NONBLOCK)
            _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
            process.executableURL = SluiceExecutable.url
            process.arguments = arguments
            process.standardInput = FileHandle(fileDescriptor: input[0], closeOnDealloc: false)
            process.standardOutput = FileHandle(fileDescriptor: output[1], closeOnDealloc: false)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
            try process.run()
            close(output[1])  // only the child writes standard output now
        }

        /// Writes as much of `bytes` as the pipe takes without blocking; returns how much that was.
        @discardableResult
        func write(_ bytes: [UInt8]) -> Int {
            let n = bytes.withUnsafeBytes { Glibc.write(stdinWrite, $0.baseAddress, $0.count) }
            guard n > 0 else { return 0 }
            written += bytes[..<n]
            return n
        }

        /// Bytes still in the input pipe, i.e. never read by the child (call after it exited).
        func unreadInput() -> Int {
            _ = fcntl(stdinRead, F_SETFL, fcntl(stdinRead, F_GETFL) | O_NONBLOCK)
            var total = 0
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(stdinRead, $0.baseAddress, $0.count) }
                if n <= 0 { return total }
                total += n
            }
        }

        /// Reads `fd` (the child's standard output) until its first newline; blocks, so call it off the pool.
        static func readFirstLine(_ fd: Int32) -> String {
            var line: [UInt8] = []
            var byte: UInt8 = 0
            while read(fd, &byte, 1) == 1 {
                if byte == 0x0A { break }
                line.append(byte)
            }
            return String(decoding: line, as: UTF8.self)
        }

        /// Reads standard output to its end on a background thread.
        func drainOutput() {
            let fd = stdoutRead
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
            }
        }

        func wait(upTo limit: Duration) async -> Bool {
            await T.wait(upTo: limit) { !process.isRunning }
        }

        var stderr: String { String(decoding: FileManager.default.contents(atPath: stderrPath) ?? Data(), as: UTF8.self) }

        deinit {
            if process.isRunning { process.terminate(); process.waitUntilExit() }
            close(stdinWrite)
            close(stdinRead)
            close(stdoutRead)
            try? FileManager.default.removeItem(atPath: stderrPath)
        }
    }

    static func file(_ name: String, _ text: String) throws -> String {
        let path = T.temporaryPath(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func summary(_ path: String) throws -> [String: Any] {
        try #require(T.object(String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)),
                     "no summary at \(path)")
    }

    @Test("SIGTERM with standard input open: every line read (even those still in the input buffer) is ingested or invalid")
    func sigtermAccountsForEveryByteRead() async throws {
        // Small chunks and queues and an unread stdout: the pipeline backs up early, so blocks already read from
        // stdin are waiting in the input queue when the signal arrives.
        let config = try Self.file("config.json", """
            {"input": {"chunkSize": 8, "queueCapacity": 1},
             "destinations": [{"name": "out", "type": "stdout", "batch": {"maxEvents": 8, "maxDelayMs": 5}}]}
            """)
        let summaryPath = T.temporaryPath("summary.json")
        defer { for path in [config, summaryPath] { try? FileManager.default.removeItem(atPath: path) } }
        let child = try Child(["--config", config, "--summary", summaryPath, "--drain-timeout", "30"])

        // Write in separate small writes, so the child reads many small blocks, until the pipe is full or all is in.
        let lines = T.events(4000).bytes.split(separator: 0x0A).map { Array($0) + [0x0A] }
        for group in stride(from: 0, to: lines.count, by: 25) {
            let bytes = lines[group..<min(lines.count, group + 25)].flatMap { $0 }
            if child.write(bytes) < bytes.count { break }
            try await Task.sleep(for: .milliseconds(3))
        }
        // Wait until the child has stopped reading (its stdout is full and nobody reads it).
        var lastRead = -1, stableFor = 0
        let deadline = ContinuousClock.now + .seconds(20)
        while stableFor < 6 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            let read = child.written.count - Self.pendingInPipe(child.stdinWrite)
            stableFor = read == lastRead ? stableFor + 1 : 0
            lastRead = read
        }
        try #require(stableFor >= 6, "the child never stopped reading")

        kill(child.process.processIdentifier, SIGTERM)
        child.drainOutput()
        try #require(await child.wait(upTo: .seconds(60)), "the drain did not end")
        #expect(child.process.terminationReason == .exit)
        #expect(child.process.terminationStatus == 0, "stderr: \(child.stderr)")

        let consumed = child.written.count - child.unreadInput()
        let prefix = child.written[..<consumed]
        let expected = prefix.count(where: { $0 == 0x0A }) + (prefix.last.map { $0 == 0x0A ? 0 : 1 } ?? 0)
        let summary = try Self.summary(summaryPath)
        let ingested = try #require(summary["ingested"] as? Int), invalid = try #require(summary["invalid"] as? Int)
        let incomplete = try #require(summary["incompleteLines"] as? Int)
        #expect(consumed > 0)
        #expect(ingested + invalid + incomplete == expected,
                "read \(expected) lines (\(consumed) bytes); counted \(ingested) + \(invalid) + \(incomplete) incomplete")
        #expect((summary["destinations"] as? [String: [String: Any]])?["out"]?["delivered"] as? Int == ingested)
    }

    @Test("a line cut off by a drain is counted as incomplete (not invalid) and its bytes are kept in the dead-letter file")
    func cutOffLineIsKept() async throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let deadPath = T.temporaryPath("dead.ndjson")
        defer { try? FileManager.default.removeItem(atPath: deadPath) }
        let sink = RecordingDestination()
        let pipeline = try Pipeline(configuration: PipelineTestSupport.configuration(chunkSize: 1),
                                    options: PipelineOptions(input: .fileDescriptor(fds[0]), deadLetterPath: deadPath,
                                                             customDestinations: [CustomDestinationRegistration(name: "sink", destination: sink)]))
        let run = Task { try await pipeline.run() }
        let partial = #"{"eventName":"b","ti"#
        let text = PipelineTestSupport.eventLine(1) + "\n" + partial
        #expect(text.utf8CString.withUnsafeBytes { Glibc.write(fds[1], $0.baseAddress, $0.count - 1) } == text.utf8.count)
        #expect(await PipelineTestSupport.eventually { pipeline.metrics.ingested == 1 })
        pipeline.finish()
        let summary = try await run.value
        #expect(summary.ingested == 1 && summary.invalid == 0 && summary.incompleteLines == 1)
        let records = T.lines(ofFile: deadPath).compactMap(T.object)
        #expect(records.count == 1)
        #expect(records.first?["kind"] as? String == "incomplete")
        #expect(records.first?["raw"] as? String == partial)
        #expect(records.first?["line"] as? Int == 2)
    }

    /// Bytes in the pipe behind `fd` not yet read (FIONREAD works on either end of a Linux pipe).
    static func pendingInPipe(_ fd: Int32) -> Int {
        var n: Int32 = 0
        return ioctl(fd, UInt(FIONREAD), &n) == 0 ? Int(n) : 0
    }

    @Test("a closed standard output (sluice | head -1) stops reading input, says so in one line, counts the rest, exits 3",
          arguments: [false, true])
    func closedStandardOutput(withFileDestination: Bool) async throws {
        let archive = T.temporaryPath("archive.ndjson")
        let destinationsJSON = withFileDestination
            ? #"[{"name": "out", "type": "stdout"}, {"name": "archive", "type": "file", "path": "\#(archive)"}]"#
            : #"[{"name": "out", "type": "stdout"}]"#
        let config = try Self.file("config.json", #"{"destinations": \#(destinationsJSON)}"#)
        let summaryPath = T.temporaryPath("summary.json")
        defer { for path in [config, summaryPath, archive] { try? FileManager.default.removeItem(atPath: path) } }
        let child = try Child(["--config", config, "--summary", summaryPath])
        // Standard input stays open for the whole test: only the closed output can end this run.
        let (input, _) = T.events(3000)
        var offset = 0
        let writeDeadline = ContinuousClock.now + .seconds(3)
        while offset < input.count && ContinuousClock.now < writeDeadline {
            offset += child.write(Array(input[offset...]))
            try await Task.sleep(for: .milliseconds(2))
        }

        let first = try await SluiceExecutable.offPool { [fd = child.stdoutRead] in Child.readFirstLine(fd) }
        #expect(T.object(first)?["eventName"] != nil, "first line: \(first)")
        close(child.stdoutRead)  // `head -1` exits
        let closed = ContinuousClock.now
        let exited = await child.wait(upTo: .seconds(30))
        #expect(exited, "sluice kept running after its reader went away")
        try #require(exited)
        // Within a second in a release build; the margin covers a debug build on a loaded 2-core machine.
        #expect(ContinuousClock.now - closed < .seconds(10))
        #expect(child.process.terminationReason == .exit, "not killed by SIGPIPE")
        #expect(child.process.terminationStatus == 3, "stderr: \(child.stderr)")
        #expect(child.stderr.components(separatedBy: "standard output: closed by its reader (broken pipe)").count == 2,
                "one line says what happened: \(child.stderr)")

        let summary = try Self.summary(summaryPath)
        let ingested = try #require(summary["ingested"] as? Int)
        let expected = ingested - (summary["duplicates"] as? Int ?? 0) - (summary["filtered"] as? Int ?? 0)
        let destinations = try #require(summary["destinations"] as? [String: [String: Any]])
        let out = try #require(destinations["out"])
        let delivered = try #require(out["delivered"] as? Int), deadLettered = try #require(out["deadLettered"] as? Int)
        #expect(ingested > 0)
        #expect(delivered + deadLettered == expected, "the books balance: \(out)")
        #expect(deadLettered > 0 && out["writeFailures"] as? Int == deadLettered)
        #expect((out["deadLetteredByReason"] as? [String: Int])?["standard output closed by its reader (broken pipe): not written"] != nil)
        if withFileDestination {
            #expect(destinations["archive"]?["delivered"] as? Int == expected, "the other destination drained")
            #expect(T.lines(ofFile: archive).count == expected)
        }
    }

    @Test("a reader that goes away while nothing is written (every later event a duplicate) still stops the run within seconds")
    func closedStandardOutputWithoutWrites() async throws {
        let summaryPath = T.temporaryPath("summary.json")
        defer { try? FileManager.default.removeItem(atPath: summaryPath) }
        let child = try Child(["--summary", summaryPath, "--quiet"])
        // One event, then the same event again and again: only the first is ever written to standard output.
        let line = Array((PipelineTestSupport.eventLine(1) + "\n").utf8)
        _ = child.write(line)
        let first = try await SluiceExecutable.offPool { [fd = child.stdoutRead] in Child.readFirstLine(fd) }
        #expect(T.object(first)?["eventName"] != nil, "first line: \(first)")
        close(child.stdoutRead)  // `head -1` exits
        let closed = ContinuousClock.now
        var exited = false
        while !exited && ContinuousClock.now - closed < .seconds(30) {
            _ = child.write(Array(repeating: line, count: 50).flatMap { $0 })
            exited = await child.wait(upTo: .milliseconds(50))
        }
        #expect(exited, "sluice kept reading duplicates after its reader went away")
        try #require(exited)
        #expect(child.process.terminationReason == .exit, "not killed by SIGPIPE")
        #expect(child.stderr.contains("standard output: closed by its reader (broken pipe)"), "stderr: \(child.stderr)")
        let summary = try Self.summary(summaryPath)
        #expect((summary["duplicates"] as? Int ?? 0) > 0)
        // A write the pipe took only in part can cut a line, so a few lines may be invalid; one event is delivered.
        let destinations = try #require(summary["destinations"] as? [String: [String: Any]])
        #expect(destinations.values.map { $0["delivered"] as? Int } == [1], "\(destinations)")
    }
}
