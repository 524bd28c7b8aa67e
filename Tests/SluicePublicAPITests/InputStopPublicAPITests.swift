#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import Sluice

@Suite("Stopping a streamed input (public API)")
struct InputStopPublicAPITests {
    /// A shutdown while a producer is mid-line (SIGINT on `generate | sluice`) frames the unread rest of the
    /// stream's last partial line as a truncated line and counts it invalid: `sluice: invalid input: line N:
    /// invalid JSON: ... unexpected end of input` after every Ctrl-C. That line was never fully read; it is not
    /// bad input.
    @Test("finishing while the input stream is in the middle of a line does not report the unread rest as invalid")
    func partialLineAtShutdownIsNotInvalid() async throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[1]) }
        let sink = RecordingDestination()
        var opts = options(for: sink)
        opts.input = .fileDescriptor(fds[0])
        // Chunks of one event, so the complete line is counted before the shutdown (see the trickle test below).
        let pipeline = try Pipeline(configuration: embeddedConfiguration(chunkSize: 1), options: opts)
        let run = Task { try await pipeline.run() }

        let text = #"{"eventName":"a","time":1700000000000}"# + "\n" + #"{"eventName":"b","ti"#
        let written = text.utf8CString.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count - 1) }
        #expect(written == text.utf8.count)
        #expect(await eventually { pipeline.metrics.ingested == 1 })
        pipeline.finish()
        let summary = try await run.value
        close(fds[0])
        #expect(summary.ingested == 1)
        #expect(summary.invalid == 0)
    }

    /// Events arriving slowly on a live stream (`tail -f log | sluice`) must not wait for a full chunk:
    /// the ingestor sends its partial chunk whenever no more input is waiting.
    @Test("an event on a trickling input stream is delivered without waiting for more input")
    func tricklingInputIsNotHeldBack() async throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let sink = RecordingDestination()
        var opts = options(for: sink, maxDelayMs: 10)
        opts.input = .fileDescriptor(fds[0])
        let pipeline = try Pipeline(configuration: embeddedConfiguration(), options: opts)
        let run = Task { try await pipeline.run() }

        let text = #"{"eventName":"a","time":1700000000000}"# + "\n"
        let written = text.utf8CString.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count - 1) }
        #expect(written == text.utf8.count)
        // 10 ms batch delay; the wait is generous for a loaded machine.
        #expect(await eventually(timeout: .seconds(20)) { sink.uuids.count == 1 })
        close(fds[1])
        let summary = try await run.value
        close(fds[0])
        #expect(summary.destinations["sink"]?.delivered == 1)
    }
}
